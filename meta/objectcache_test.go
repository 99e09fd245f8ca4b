package meta

import (
	"context"
	"fmt"
	"sync"
	"testing"
)

// objStore is an in-memory Store for GetObject/PutObject/DeleteObject.
type objStore struct {
	Store
	mu   sync.Mutex
	objs map[string]Object
	gets int
	hook func() // runs inside GetObject, between reading and returning
}

func (s *objStore) GetObject(_ context.Context, b, k string) (Object, error) {
	s.mu.Lock()
	s.gets++
	o, ok := s.objs[b+"/"+k]
	s.mu.Unlock()
	if s.hook != nil {
		s.hook()
	}
	if !ok {
		return Object{}, fmt.Errorf("x: %w", ErrNoSuchKey)
	}
	return o, nil
}

func (s *objStore) PutObject(_ context.Context, o Object, _ func(*Object) error) ([]string, error) {
	s.mu.Lock()
	s.objs[o.Bucket+"/"+o.Key] = o
	s.mu.Unlock()
	return nil, nil
}

func (s *objStore) DeleteObject(_ context.Context, b, k string) ([]string, error) {
	s.mu.Lock()
	delete(s.objs, b+"/"+k)
	s.mu.Unlock()
	return nil, nil
}

func TestObjectCacheReadsAndInvalidation(t *testing.T) {
	ctx := context.Background()
	s := &objStore{objs: map[string]Object{}}
	c := NewObjectCache(s, 100, 1<<20)
	c.PutObject(ctx, Object{Bucket: "b", Key: "k", ETag: "v1", Inline: []byte("one")}, nil)
	for i := 0; i < 3; i++ {
		o, err := c.GetObject(ctx, "b", "k")
		if err != nil || o.ETag != "v1" {
			t.Fatalf("get: %v %v", o.ETag, err)
		}
	}
	if s.gets != 1 {
		t.Fatalf("store reads %d, want 1", s.gets)
	}
	c.PutObject(ctx, Object{Bucket: "b", Key: "k", ETag: "v2"}, nil)
	if o, _ := c.GetObject(ctx, "b", "k"); o.ETag != "v2" {
		t.Fatalf("after overwrite: %s", o.ETag)
	}
	c.DeleteObject(ctx, "b", "k")
	if _, err := c.GetObject(ctx, "b", "k"); err == nil {
		t.Fatal("deleted object still served")
	}
}

// A read that began before a write and returns the old version must not
// leave it in the cache.
func TestObjectCacheReadRacingWrite(t *testing.T) {
	ctx := context.Background()
	s := &objStore{objs: map[string]Object{"b/k": {Bucket: "b", Key: "k", ETag: "old"}}}
	c := NewObjectCache(s, 100, 1<<20)
	s.hook = func() {
		s.hook = nil
		// The write lands while the read is between the store and the cache.
		c.PutObject(ctx, Object{Bucket: "b", Key: "k", ETag: "new"}, nil)
	}
	if o, _ := c.GetObject(ctx, "b", "k"); o.ETag != "old" {
		t.Fatalf("racing read got %s", o.ETag)
	}
	if o, _ := c.GetObject(ctx, "b", "k"); o.ETag != "new" {
		t.Fatalf("stale entry cached: %s", o.ETag)
	}
}

func TestObjectCacheBounds(t *testing.T) {
	ctx := context.Background()
	s := &objStore{objs: map[string]Object{}}
	c := NewObjectCache(s, 4, 10)
	for i := 0; i < 10; i++ {
		c.PutObject(ctx, Object{Bucket: "b", Key: fmt.Sprint(i), Inline: []byte("abcd")}, nil)
		c.GetObject(ctx, "b", fmt.Sprint(i))
	}
	if len(c.m) > 4 || c.bytes > 10 {
		t.Fatalf("cache holds %d items, %d bytes", len(c.m), c.bytes)
	}
}
