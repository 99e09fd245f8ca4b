package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/postern/postern/internal/pgtest"
	"github.com/postern/postern/meta"
)

// Two Store instances with their own pools on one database are two nodes.
// Both hammer the same keys with overwrites, conditional creates,
// multipart completions and deletes; at the end every blob ever written is
// either referenced by the one version left of its key or was reported
// freed exactly once, by one of the nodes, and both nodes see the same
// state.
func TestTwoNodesSameKeys(t *testing.T) {
	dsn := pgtest.DSN(t)
	nodes := []*Store{newStore(t, dsn), newStore(t, dsn)}
	ctx := context.Background()
	if err := nodes[0].CreateBucket(ctx, meta.Bucket{Name: "b", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	const workers, ops, keys = 6, 40, 3 // per node
	var (
		mu      sync.Mutex
		freed   = map[string]int{}
		written = map[string]bool{}
		created atomic.Int64 // successful If-None-Match: * creations
		wg      sync.WaitGroup
	)
	record := func(blobs []string, f []string) {
		mu.Lock()
		defer mu.Unlock()
		for _, b := range blobs {
			written[b] = true
		}
		for _, id := range f {
			freed[id]++
		}
	}
	for n, s := range nodes {
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range ops {
					key := fmt.Sprintf("k%d", i%keys)
					blob := fmt.Sprintf("n%d-w%d-%d", n, w, i)
					switch i % 5 {
					case 0, 1:
						f, err := s.PutObject(ctx, objWith("b", key, blob, blob+"b"), meta.Condition{})
						if err != nil {
							t.Errorf("PutObject: %v", err)
							return
						}
						record([]string{blob, blob + "b"}, f)
					case 2:
						f, err := s.PutObject(ctx, objWith("b", "once", blob), meta.Condition{IfNoneMatch: "*"})
						switch {
						case err == nil:
							created.Add(1)
							record([]string{blob}, f)
						case !errors.Is(err, meta.ErrPreconditionFail):
							t.Errorf("PutObject(If-None-Match) = %v", err)
							return
						}
					case 3:
						up := "up-" + blob
						if err := s.CreateUpload(ctx, meta.Upload{ID: up, Bucket: "b", Key: key}); err != nil {
							t.Errorf("CreateUpload: %v", err)
							return
						}
						var segs []meta.Segment
						for p := 1; p <= 2; p++ {
							seg := meta.Segment{BlobID: fmt.Sprintf("%s-p%d", blob, p), Size: 10, PartETag: "e"}
							if _, err := s.PutPart(ctx, "b", key, up, meta.Part{Number: p, Segment: seg}); err != nil {
								t.Errorf("PutPart: %v", err)
								return
							}
							segs = append(segs, seg)
						}
						o := objWith("b", key)
						o.Segments, o.Size = segs[:1], 10 // part 2 is left out: freed by the completion
						f, err := s.CompleteUpload(ctx, "b", key, up, o, meta.Condition{})
						if err != nil {
							t.Errorf("CompleteUpload: %v", err)
							return
						}
						record([]string{segs[0].BlobID, segs[1].BlobID}, f)
					case 4:
						f, err := s.DeleteObject(ctx, "b", key, meta.Condition{})
						if err != nil {
							t.Errorf("DeleteObject: %v", err)
							return
						}
						record(nil, f)
					}
				}
			}()
		}
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	if created.Load() != 1 {
		t.Errorf("If-None-Match: * created %q %d times, want once", "once", created.Load())
	}
	live := map[string]bool{}
	for _, key := range []string{"k0", "k1", "k2", "once"} {
		var seen [2]meta.Object
		for n, s := range nodes {
			o, err := s.GetObject(ctx, "b", key)
			if errors.Is(err, meta.ErrNoSuchKey) {
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			seen[n] = o
		}
		if fmt.Sprint(seen[0]) != fmt.Sprint(seen[1]) {
			t.Errorf("%s differs between nodes:\n%+v\n%+v", key, seen[0], seen[1])
		}
		for _, seg := range seen[0].Segments {
			live[seg.BlobID] = true
		}
	}
	for id, c := range freed {
		if c != 1 {
			t.Errorf("blob %s freed %d times", id, c)
		}
		if live[id] {
			t.Errorf("blob %s freed but still referenced", id)
		}
		if !written[id] {
			t.Errorf("blob %s freed but never written", id)
		}
	}
	ids := make([]string, 0, len(written))
	for id := range written {
		ids = append(ids, id)
		if freed[id] == 0 && !live[id] {
			t.Errorf("blob %s leaked: neither referenced nor freed", id)
		}
	}
	ref, err := nodes[1].BlobReferenced(ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	for id, r := range ref {
		if r != live[id] {
			t.Errorf("BlobReferenced(%s) = %v, want %v", id, r, live[id])
		}
	}
}

// CreateBucket of one name on two nodes at once: exactly one wins.
// DeleteBucket on one node racing PutObject into the bucket on the other
// never leaves an object in a deleted bucket.
func TestTwoNodesBuckets(t *testing.T) {
	dsn := pgtest.DSN(t)
	a, b := newStore(t, dsn), newStore(t, dsn)
	ctx := context.Background()
	for i := range 20 {
		name := fmt.Sprintf("race%d", i)
		var wins atomic.Int64
		var wg sync.WaitGroup
		for _, s := range []*Store{a, b, a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := s.CreateBucket(ctx, meta.Bucket{Name: name, CreatedAt: time.Now()})
				switch {
				case err == nil:
					wins.Add(1)
				case !errors.Is(err, meta.ErrBucketExists):
					t.Errorf("CreateBucket = %v", err)
				}
			}()
		}
		wg.Wait()
		if wins.Load() != 1 {
			t.Fatalf("%s created %d times", name, wins.Load())
		}

		var putErr, delErr error
		wg.Add(2)
		go func() {
			defer wg.Done()
			_, putErr = a.PutObject(ctx, objWith(name, "k", "blob"+name), meta.Condition{})
		}()
		go func() { defer wg.Done(); _, delErr = b.DeleteBucket(ctx, name) }()
		wg.Wait()
		_, getErr := b.GetObject(ctx, name, "k")
		switch {
		case delErr == nil:
			if !errors.Is(putErr, meta.ErrNoSuchBucket) || !errors.Is(getErr, meta.ErrNoSuchBucket) {
				t.Fatalf("bucket deleted, yet PutObject = %v, GetObject = %v", putErr, getErr)
			}
		case errors.Is(delErr, meta.ErrBucketNotEmpty):
			if putErr != nil || getErr != nil {
				t.Fatalf("bucket not empty, yet PutObject = %v, GetObject = %v", putErr, getErr)
			}
		default:
			t.Fatalf("DeleteBucket = %v (PutObject = %v)", delErr, putErr)
		}
	}
	var orphans int
	if err := a.pool.QueryRow(ctx, `SELECT count(*) FROM objects o WHERE NOT EXISTS (SELECT 1 FROM buckets WHERE name = o.bucket)`).Scan(&orphans); err != nil || orphans != 0 {
		t.Fatalf("%d objects in deleted buckets (%v)", orphans, err)
	}
}

func objWith(bucket, key string, blobs ...string) meta.Object {
	o := meta.Object{Bucket: bucket, Key: key, ETag: "d41d8cd98f00b204e9800998ecf8427e", LastModified: time.Now()}
	for _, b := range blobs {
		o.Segments = append(o.Segments, meta.Segment{BlobID: b, Size: 10})
		o.Size += 10
	}
	return o
}

// queryCounter counts the statements a pool sends.
type queryCounter struct{ n atomic.Int64 }

func (c *queryCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	c.n.Add(1)
	return ctx
}
func (c *queryCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// A listing page costs one query however many keys its common prefixes
// roll up: 10,000 keys, 1,000 per page.
func TestListObjectsRoundTrips(t *testing.T) {
	dsn := pgtest.DSN(t)
	ctx := context.Background()
	cfg, err := ParseURL(dsn)
	if err != nil {
		t.Fatal(err)
	}
	var qc queryCounter
	cfg.ConnConfig.Tracer = &qc
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(ctx, pool, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.CreateBucket(ctx, meta.Bucket{Name: "b", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	// 8,000 keys under 40 directories of 200, and 2,000 at the top.
	if _, err := pool.Exec(ctx, `INSERT INTO objects (bucket, key, size, etag, last_modified)
		SELECT 'b', convert_to(format('dir%s/%s', lpad((i / 200)::text, 2, '0'), lpad(i::text, 5, '0')), 'UTF8'), 0, 'e', now()
		FROM generate_series(0, 7999) i
		UNION ALL
		SELECT 'b', convert_to(format('top%s', lpad(i::text, 5, '0')), 'UTF8'), 0, 'e', now()
		FROM generate_series(0, 1999) i`); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		delim     string
		pages     int
		objs, cps int
	}{
		{"", 10, 10000, 0},
		{"/", 3, 2000, 40},
	} {
		before := qc.n.Load()
		after, pages, objs, cps := "", 0, 0, 0
		for {
			res, err := s.ListObjects(ctx, "b", meta.ListObjectsOptions{Delimiter: tc.delim, After: after, MaxKeys: 1000})
			if err != nil {
				t.Fatal(err)
			}
			pages++
			objs += len(res.Objects)
			cps += len(res.CommonPrefixes)
			if !res.IsTruncated {
				break
			}
			after = res.NextAfter
		}
		queries := qc.n.Load() - before
		if pages != tc.pages || objs != tc.objs || cps != tc.cps {
			t.Errorf("delimiter %q: %d pages, %d objects, %d prefixes; want %d, %d, %d", tc.delim, pages, objs, cps, tc.pages, tc.objs, tc.cps)
		}
		if queries != int64(pages) {
			t.Errorf("delimiter %q: %d queries for %d pages, want one per page", tc.delim, queries, pages)
		}
	}
}
