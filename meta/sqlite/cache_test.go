package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/postern/postern/meta"
)

func openCached(t *testing.T, opts ...Option) *Store {
	t.Helper()
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "meta.db"), nil, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestCacheTTLAndGeneration(t *testing.T) {
	c := newCache[string, int](time.Second, 10, 0, nil)
	now := time.Unix(1000, 0)
	c.now = func() time.Time { return now }
	_, _, gen, ok := c.lookup("a")
	if ok {
		t.Fatal("hit on an empty cache")
	}
	c.add("a", 1, nil, gen)
	if v, _, _, ok := c.lookup("a"); !ok || v != 1 {
		t.Fatalf("lookup = %d, %v", v, ok)
	}
	now = now.Add(1100 * time.Millisecond)
	if _, _, _, ok := c.lookup("a"); ok {
		t.Fatal("entry served past its TTL")
	}
	// A read that overlapped a write does not cache its (old) result.
	_, _, gen, _ = c.lookup("b")
	c.forgetKey("b")
	c.add("b", 2, nil, gen)
	if _, _, _, ok := c.lookup("b"); ok {
		t.Fatal("result of a read overlapping a write was cached")
	}
	var nilCache *cache[string, int]
	nilCache.add("x", 1, nil, 0)
	nilCache.forgetKey("x")
	if _, _, _, ok := nilCache.lookup("x"); ok {
		t.Fatal("nil cache hit")
	}
}

func TestCacheBounds(t *testing.T) {
	c := newCache[string, []byte](0, 4, 10, func(b []byte) int { return len(b) })
	for i := 0; i < 10; i++ {
		_, _, gen, _ := c.lookup(fmt.Sprint(i))
		c.add(fmt.Sprint(i), []byte("abcd"), nil, gen)
		if len(c.m) > 4 || c.bytes > 10 {
			t.Fatalf("cache holds %d items, %d bytes", len(c.m), c.bytes)
		}
	}
	_, _, gen, _ := c.lookup("big")
	c.add("big", make([]byte, 11), nil, gen)
	if _, _, _, ok := c.lookup("big"); ok {
		t.Fatal("entry larger than the cache was kept")
	}
	c.forget(func(string) bool { return true })
	if len(c.m) != 0 || c.bytes != 0 {
		t.Fatalf("after forgetting all: %d items, %d bytes", len(c.m), c.bytes)
	}
}

// The caches spare the database reads on the hot path: a cached GetBucket
// and GetObject run no query (a closed read pool would make them fail), and
// every write through the Store is seen by the next read.
func TestStoreCachesServeWithoutQueryAndInvalidate(t *testing.T) {
	s := openCached(t, WithBucketCache(time.Hour), WithObjectCache(100, 1<<20))
	ctx := context.Background()
	mustBucket(t, s, "b")
	if _, err := s.PutObject(ctx, meta.Object{Bucket: "b", Key: "k", ETag: "v1", Inline: []byte("one"), Size: 3}, meta.Condition{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetBucket(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetObject(ctx, "b", "k"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetBucket(ctx, "missing"); err == nil {
		t.Fatal("missing bucket found")
	}
	// Statements on the read pool fail from now on: only cached answers work.
	if err := s.stmtGetBucket.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.stmtGetObject.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetBucket(ctx, "b"); err != nil {
		t.Fatalf("cached GetBucket queried the database: %v", err)
	}
	if o, err := s.GetObject(ctx, "b", "k"); err != nil || o.ETag != "v1" {
		t.Fatalf("cached GetObject = %q, %v", o.ETag, err)
	}
	if _, err := s.GetBucket(ctx, "missing"); err == nil {
		t.Fatal("cached absence lost")
	}
	// Writes forget what they change: the next read goes to the (now
	// failing) database rather than serving a stale entry.
	for _, w := range []struct {
		name  string
		write func() error
		read  func() error
	}{
		{"PutObject", func() error {
			_, err := s.PutObject(ctx, meta.Object{Bucket: "b", Key: "k", ETag: "v2"}, meta.Condition{})
			return err
		}, func() error { _, err := s.GetObject(ctx, "b", "k"); return err }},
		{"PutBucketConfig", func() error { return s.PutBucketConfig(ctx, "b", meta.ConfigPolicy, []byte("{}")) },
			func() error { _, err := s.GetBucket(ctx, "b"); return err }},
		{"CreateBucket", func() error { return s.CreateBucket(ctx, meta.Bucket{Name: "missing"}) },
			func() error { _, err := s.GetBucket(ctx, "missing"); return err }},
	} {
		if err := w.write(); err != nil {
			t.Fatalf("%s: %v", w.name, err)
		}
		if err := w.read(); err == nil {
			t.Errorf("after %s the read was served from the cache", w.name)
		}
	}
}

// set (a committed write's value) wins over a read that overlapped it,
// whichever of the two reaches the cache first.
func TestCacheSetWinsOverOverlappingRead(t *testing.T) {
	c := newCache[string, int](0, 10, 0, nil)
	_, _, gen, _ := c.lookup("a") // a read starts (miss)…
	c.set("a", 2)                 // …a write commits 2…
	c.add("a", 1, nil, gen)       // …the read brings back what it saw before
	if v, _, _, ok := c.lookup("a"); !ok || v != 2 {
		t.Fatalf("after set then a stale add: %d, %v; want 2", v, ok)
	}
	_, _, gen, _ = c.lookup("b")
	c.add("b", 1, nil, gen) // the read lands first…
	c.set("b", 2)           // …then the write's value replaces it
	if v, _, _, ok := c.lookup("b"); !ok || v != 2 {
		t.Fatalf("after add then set: %d, %v; want 2", v, ok)
	}
	for i := range 11 { // full: cleared, then the new entry kept
		c.set(fmt.Sprint("k", i), i)
	}
	if v, _, _, ok := c.lookup("k10"); !ok || v != 10 {
		t.Fatalf("newest entry lost when the cache filled: %d, %v", v, ok)
	}
}
