package metatest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/postern/postern/meta"
)

// testConcurrentWrites hammers shared and private keys from many goroutines,
// with failing requests mixed in, and checks that no error leaks out, that
// every blob ever written is either still referenced or was reported freed
// exactly once, and that the final state matches the last successful writes.
func testConcurrentWrites(t *testing.T, open Opener) {
	s := open(t)
	ctx := context.Background()
	mustBucket(t, s, "b")
	const workers, ops = 16, 60
	var (
		mu      sync.Mutex
		freed   = map[string]int{}
		written []string
		wg      sync.WaitGroup
	)
	addFreed := func(ids []string) {
		mu.Lock()
		for _, id := range ids {
			freed[id]++
		}
		mu.Unlock()
	}
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < ops; i++ {
				key := fmt.Sprintf("shared/%d", i%4)
				if i%3 == 0 {
					key = fmt.Sprintf("own/%d/%d", w, i%5)
				}
				blob := fmt.Sprintf("blob-%d-%d", w, i)
				switch i % 6 {
				case 0, 1, 2, 3:
					f, err := s.PutObject(ctx, obj("b", key, blob, blob+"-2"), meta.Condition{})
					if err != nil {
						t.Errorf("PutObject: %v", err)
						return
					}
					mu.Lock()
					written = append(written, blob, blob+"-2")
					mu.Unlock()
					addFreed(f)
				case 4:
					f, err := s.DeleteObject(ctx, "b", key, meta.Condition{})
					if err != nil {
						t.Errorf("DeleteObject: %v", err)
						return
					}
					addFreed(f)
				case 5:
					// A request that fails among concurrent ones must fail alone.
					_, err := s.PutObject(ctx, obj("b", key, "never"), meta.Condition{IfMatch: "no-such-etag"})
					if !errors.Is(err, meta.ErrPreconditionFail) && !errors.Is(err, meta.ErrNoSuchKey) {
						t.Errorf("failing PutObject = %v", err)
					}
					if _, err := s.PutObject(ctx, obj("nob", key, "never"), meta.Condition{}); !errors.Is(err, meta.ErrNoSuchBucket) {
						t.Errorf("PutObject(missing bucket) = %v", err)
					}
				}
				// Concurrent reads never fail either.
				if _, err := s.GetObject(ctx, "b", key); err != nil && !errors.Is(err, meta.ErrNoSuchKey) {
					t.Errorf("GetObject: %v", err)
				}
				if _, err := s.ListObjects(ctx, "b", meta.ListObjectsOptions{Delimiter: "/", MaxKeys: 10}); err != nil {
					t.Errorf("ListObjects: %v", err)
				}
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	live := liveBlobs(t, s, "b")
	ref, err := s.BlobReferenced(ctx, written)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range written {
		switch {
		case live[id] && freed[id] != 0:
			t.Errorf("live blob %s reported freed", id)
		case !live[id] && freed[id] != 1:
			t.Errorf("dead blob %s freed %d times", id, freed[id])
		}
		if ref[id] != live[id] {
			t.Errorf("BlobReferenced[%s] = %v, live = %v", id, ref[id], live[id])
		}
	}
	if ref, _ := s.BlobReferenced(ctx, []string{"never"}); ref["never"] {
		t.Error("a failed request's blob is referenced")
	}
}

// liveBlobs returns the blobs the bucket's objects refer to, from the objects themselves.
func liveBlobs(t *testing.T, s meta.Store, bucket string) map[string]bool {
	t.Helper()
	ctx := context.Background()
	live := map[string]bool{}
	after := ""
	for {
		res, err := s.ListObjects(ctx, bucket, meta.ListObjectsOptions{MaxKeys: 1000, After: after})
		if err != nil {
			t.Fatal(err)
		}
		for _, lo := range res.Objects {
			o, err := s.GetObject(ctx, bucket, lo.Key)
			if err != nil {
				t.Fatal(err)
			}
			for _, seg := range o.Segments {
				live[seg.BlobID] = true
			}
		}
		if !res.IsTruncated {
			return live
		}
		after = res.NextAfter
	}
}

// testConcurrentOverwrite: N goroutines overwrite one key at once. Exactly
// one version survives, and every replaced blob is reported freed exactly
// once across all callers; none of the survivor's.
func testConcurrentOverwrite(t *testing.T, open Opener) {
	s := open(t)
	ctx := context.Background()
	mustBucket(t, s, "b")
	const n = 32
	var (
		mu    sync.Mutex
		freed = map[string]int{}
		wg    sync.WaitGroup
	)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f, err := s.PutObject(ctx, obj("b", "one", fmt.Sprint("w", i, "-a"), fmt.Sprint("w", i, "-b")), meta.Condition{})
			if err != nil {
				t.Errorf("PutObject: %v", err)
				return
			}
			mu.Lock()
			for _, id := range f {
				freed[id]++
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	o, err := s.GetObject(ctx, "b", "one")
	if err != nil {
		t.Fatal(err)
	}
	if len(o.Segments) != 2 || o.Segments[0].BlobID[:len(o.Segments[0].BlobID)-2] != o.Segments[1].BlobID[:len(o.Segments[1].BlobID)-2] {
		t.Fatalf("surviving version mixes writers: %+v", o.Segments)
	}
	res, err := s.ListObjects(ctx, "b", meta.ListObjectsOptions{MaxKeys: 10})
	if err != nil || len(res.Objects) != 1 {
		t.Fatalf("listing after overwrites = %+v, %v; want one object", res.Objects, err)
	}
	live := map[string]bool{o.Segments[0].BlobID: true, o.Segments[1].BlobID: true}
	var all []string
	for i := 0; i < n; i++ {
		for _, suf := range []string{"-a", "-b"} {
			id := fmt.Sprint("w", i, suf)
			all = append(all, id)
			if want := map[bool]int{true: 0, false: 1}[live[id]]; freed[id] != want {
				t.Errorf("blob %s freed %d times, want %d", id, freed[id], want)
			}
		}
	}
	ref, err := s.BlobReferenced(ctx, all)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range all {
		if ref[id] != live[id] {
			t.Errorf("BlobReferenced[%s] = %v, live %v", id, ref[id], live[id])
		}
	}
}

// testConcurrentCreateBucket: of many concurrent CreateBucket calls for
// one name, exactly one wins; the others get ErrBucketExists.
func testConcurrentCreateBucket(t *testing.T, open Opener) {
	s := open(t)
	ctx := context.Background()
	const n = 24
	var wins atomic.Int64
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := s.CreateBucket(ctx, meta.Bucket{Name: "race", Owner: fmt.Sprint("owner", i), Region: "r"})
			switch {
			case err == nil:
				wins.Add(1)
			case !errors.Is(err, meta.ErrBucketExists):
				t.Errorf("CreateBucket: %v", err)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d CreateBucket calls won, want 1", wins.Load())
	}
	bs, err := s.ListBuckets(ctx, "")
	if err != nil || len(bs) != 1 || bs[0].Name != "race" {
		t.Fatalf("ListBuckets = %+v, %v", bs, err)
	}
}

// testConditionalPutRace: of many concurrent create-if-absent puts on one
// key, exactly one wins, and the losers' blobs are never referenced.
func testConditionalPutRace(t *testing.T, open Opener) {
	s := open(t)
	ctx := context.Background()
	mustBucket(t, s, "b")
	const n = 40
	var wins atomic.Int64
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.PutObject(ctx, obj("b", "once", fmt.Sprint("c", i)), meta.Condition{IfNoneMatch: "*"})
			switch {
			case err == nil:
				wins.Add(1)
			case !errors.Is(err, meta.ErrPreconditionFail):
				t.Errorf("PutObject: %v", err)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d winners", wins.Load())
	}
	o, err := s.GetObject(ctx, "b", "once")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i := 0; i < n; i++ {
		ids = append(ids, fmt.Sprint("c", i))
	}
	ref, _ := s.BlobReferenced(ctx, ids)
	for id, r := range ref {
		if r != (id == o.Segments[0].BlobID) {
			t.Errorf("ref[%s] = %v (winner %s)", id, r, o.Segments[0].BlobID)
		}
	}
}
