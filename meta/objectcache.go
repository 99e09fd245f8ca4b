package meta

import (
	"context"
	"sync"
)

// ObjectCache wraps a Store and keeps recent GetObject results in memory.
// It is for a store that only this process writes to (the embedded SQLite
// store): every write goes through the wrapper, which drops the entries it
// affects, so reads stay strongly consistent. Several nodes sharing a
// database must not use it.
//
// A read that overlapped a write must not put its (possibly old) result in
// the cache after the write has dropped the entry: every write bumps a
// generation counter, and a read caches its result only if the generation
// did not move while it was reading.
type ObjectCache struct {
	Store

	mu       sync.Mutex
	gen      uint64
	m        map[objectKey]Object
	bytes    int
	maxItems int
	maxBytes int
}

type objectKey struct{ bucket, key string }

// NewObjectCache wraps s, keeping at most maxItems objects whose inline
// bytes add up to at most maxBytes.
func NewObjectCache(s Store, maxItems, maxBytes int) *ObjectCache {
	return &ObjectCache{Store: s, m: map[objectKey]Object{}, maxItems: maxItems, maxBytes: maxBytes}
}

// GetObject implements Store.
func (c *ObjectCache) GetObject(ctx context.Context, bucket, key string) (Object, error) {
	k := objectKey{bucket, key}
	c.mu.Lock()
	o, ok := c.m[k]
	gen := c.gen
	c.mu.Unlock()
	if ok {
		return o, nil
	}
	o, err := c.Store.GetObject(ctx, bucket, key)
	if err != nil {
		return o, err
	}
	size := len(o.Inline)
	c.mu.Lock()
	if c.gen == gen && size <= c.maxBytes {
		if len(c.m) >= c.maxItems || c.bytes+size > c.maxBytes {
			clear(c.m)
			c.bytes = 0
		}
		c.m[k] = o
		c.bytes += size
	}
	c.mu.Unlock()
	return o, nil
}

// forget drops one object (or, with key == "", a whole bucket) and moves the generation.
func (c *ObjectCache) forget(bucket, key string) {
	c.mu.Lock()
	c.gen++
	if key != "" {
		if o, ok := c.m[objectKey{bucket, key}]; ok {
			c.bytes -= len(o.Inline)
			delete(c.m, objectKey{bucket, key})
		}
	} else {
		for k, o := range c.m {
			if k.bucket == bucket {
				c.bytes -= len(o.Inline)
				delete(c.m, k)
			}
		}
	}
	c.mu.Unlock()
}

// PutObject implements Store.
func (c *ObjectCache) PutObject(ctx context.Context, o Object, ifMatch func(cur *Object) error) ([]string, error) {
	defer c.forget(o.Bucket, o.Key)
	return c.Store.PutObject(ctx, o, ifMatch)
}

// DeleteObject implements Store.
func (c *ObjectCache) DeleteObject(ctx context.Context, bucket, key string) ([]string, error) {
	defer c.forget(bucket, key)
	return c.Store.DeleteObject(ctx, bucket, key)
}

// CompleteUpload implements Store.
func (c *ObjectCache) CompleteUpload(ctx context.Context, bucket, key, uploadID string, o Object) ([]string, error) {
	defer c.forget(bucket, key)
	return c.Store.CompleteUpload(ctx, bucket, key, uploadID, o)
}

// DeleteBucket implements Store.
func (c *ObjectCache) DeleteBucket(ctx context.Context, name string) ([]string, error) {
	defer c.forget(name, "")
	return c.Store.DeleteBucket(ctx, name)
}
