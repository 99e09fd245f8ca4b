package meta

import (
	"context"
	"errors"
	"sync"
	"time"
)

// BucketCache wraps a Store and keeps GetBucket results (the bucket and its
// policy, public access block and CORS documents) for at most TTL. Changes
// made through the wrapper invalidate the entry at once, so on a single node
// every change takes effect on the very next request; with several nodes
// sharing a database, another node's change is seen within TTL.
type BucketCache struct {
	Store
	ttl time.Duration
	now func() time.Time

	mu sync.RWMutex
	m  map[string]cachedBucket
}

type cachedBucket struct {
	b    Bucket
	err  error // ErrNoSuchBucket is cached too, for the same TTL
	till time.Time
}

// bucketCacheMax bounds the cache; when full it is cleared.
const bucketCacheMax = 10000

// NewBucketCache wraps s.
func NewBucketCache(s Store, ttl time.Duration) *BucketCache {
	return &BucketCache{Store: s, ttl: ttl, now: time.Now, m: map[string]cachedBucket{}}
}

// GetBucket implements Store.
func (c *BucketCache) GetBucket(ctx context.Context, name string) (Bucket, error) {
	now := c.now()
	c.mu.RLock()
	e, ok := c.m[name]
	c.mu.RUnlock()
	if ok && now.Before(e.till) {
		return e.b, e.err
	}
	b, err := c.Store.GetBucket(ctx, name)
	if err != nil && !errors.Is(err, ErrNoSuchBucket) {
		return b, err
	}
	c.mu.Lock()
	if len(c.m) >= bucketCacheMax {
		clear(c.m)
	}
	c.m[name] = cachedBucket{b: b, err: err, till: now.Add(c.ttl)}
	c.mu.Unlock()
	return b, err
}

// Invalidate forgets what is cached about a bucket.
func (c *BucketCache) Invalidate(name string) {
	c.mu.Lock()
	delete(c.m, name)
	c.mu.Unlock()
}

// CreateBucket implements Store.
func (c *BucketCache) CreateBucket(ctx context.Context, b Bucket) error {
	defer c.Invalidate(b.Name)
	return c.Store.CreateBucket(ctx, b)
}

// DeleteBucket implements Store.
func (c *BucketCache) DeleteBucket(ctx context.Context, name string) ([]string, error) {
	defer c.Invalidate(name)
	return c.Store.DeleteBucket(ctx, name)
}

// PutBucketConfig implements Store.
func (c *BucketCache) PutBucketConfig(ctx context.Context, bucket, kind string, doc []byte) error {
	defer c.Invalidate(bucket)
	return c.Store.PutBucketConfig(ctx, bucket, kind, doc)
}

// DeleteBucketConfig implements Store.
func (c *BucketCache) DeleteBucketConfig(ctx context.Context, bucket, kind string) error {
	defer c.Invalidate(bucket)
	return c.Store.DeleteBucketConfig(ctx, bucket, kind)
}
