package meta

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// fakeStore counts GetBucket calls; the other methods are not used.
type fakeStore struct {
	Store
	gets    int
	buckets map[string]Bucket
}

func (f *fakeStore) GetBucket(_ context.Context, name string) (Bucket, error) {
	f.gets++
	b, ok := f.buckets[name]
	if !ok {
		return Bucket{}, fmt.Errorf("x: %w", ErrNoSuchBucket)
	}
	return b, nil
}
func (f *fakeStore) PutBucketConfig(_ context.Context, bucket, kind string, doc []byte) error {
	b := f.buckets[bucket]
	b.Configs = map[string][]byte{kind: doc}
	f.buckets[bucket] = b
	return nil
}
func (f *fakeStore) CreateBucket(_ context.Context, b Bucket) error {
	f.buckets[b.Name] = b
	return nil
}

func TestBucketCache(t *testing.T) {
	f := &fakeStore{buckets: map[string]Bucket{"a": {Name: "a"}}}
	c := NewBucketCache(f, time.Second)
	now := time.Unix(1000, 0)
	c.now = func() time.Time { return now }
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		if _, err := c.GetBucket(ctx, "a"); err != nil {
			t.Fatal(err)
		}
	}
	if f.gets != 1 {
		t.Fatalf("gets %d, want 1 (cached)", f.gets)
	}
	// A change through the cache is seen at once.
	c.PutBucketConfig(ctx, "a", ConfigPolicy, []byte("p"))
	b, _ := c.GetBucket(ctx, "a")
	if string(b.Configs[ConfigPolicy]) != "p" || f.gets != 2 {
		t.Fatalf("after put: %q gets %d", b.Configs, f.gets)
	}
	// A change behind its back (another node) is seen after the TTL.
	f.buckets["a"] = Bucket{Name: "a", Owner: "other"}
	if b, _ := c.GetBucket(ctx, "a"); b.Owner != "" {
		t.Fatal("stale entry expected within TTL")
	}
	now = now.Add(1100 * time.Millisecond)
	if b, _ := c.GetBucket(ctx, "a"); b.Owner != "other" {
		t.Fatal("entry not refreshed after TTL")
	}
	// Missing buckets are cached too, and creation invalidates.
	if _, err := c.GetBucket(ctx, "nope"); err == nil {
		t.Fatal("missing bucket found")
	}
	c.CreateBucket(ctx, Bucket{Name: "nope"})
	if _, err := c.GetBucket(ctx, "nope"); err != nil {
		t.Fatalf("created bucket not seen: %v", err)
	}
}
