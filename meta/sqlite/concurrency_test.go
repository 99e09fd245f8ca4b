package sqlite

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/postern/postern/meta"
)

// TestConcurrentWrites hammers shared and private keys from many goroutines,
// with failing requests mixed in, and checks that no error leaks out, that
// every blob ever written is either still referenced or was reported freed
// exactly once, and that the final state matches the last successful writes.
func TestConcurrentWrites(t *testing.T) {
	for _, cfg := range []struct {
		name  string
		batch int
	}{{"group-commit", 256}, {"no-batching", 1}} {
		t.Run(cfg.name, func(t *testing.T) {
			c := defaultConfig()
			c.maxBatch = cfg.batch
			s, err := open(context.Background(), filepath.Join(t.TempDir(), "m.db"), nil, c)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			ctx := context.Background()
			mustBucket(t, s, "b")
			const workers, ops = 16, 60
			var (
				mu       sync.Mutex
				freed    = map[string]int{}
				written  []string
				batchErr atomic.Int64
				wg       sync.WaitGroup
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
							f, err := s.PutObject(ctx, obj("b", key, blob, blob+"-2"), nil)
							if err != nil {
								t.Errorf("PutObject: %v", err)
								return
							}
							mu.Lock()
							written = append(written, blob, blob+"-2")
							mu.Unlock()
							addFreed(f)
						case 4:
							f, err := s.DeleteObject(ctx, "b", key)
							if err != nil {
								t.Errorf("DeleteObject: %v", err)
								return
							}
							addFreed(f)
						case 5:
							// A request that fails inside the batch must fail alone.
							_, err := s.PutObject(ctx, obj("b", key, "never"), func(*meta.Object) error { return meta.ErrPreconditionFail })
							if !errors.Is(err, meta.ErrPreconditionFail) {
								t.Errorf("failing PutObject = %v", err)
							}
							if _, err := s.PutObject(ctx, obj("nob", key, "never"), nil); !errors.Is(err, meta.ErrNoSuchBucket) {
								t.Errorf("PutObject(missing bucket) = %v", err)
							}
							batchErr.Add(1)
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
			// Currently referenced blobs, from the objects themselves.
			res, err := s.ListObjects(ctx, "b", meta.ListObjectsOptions{MaxKeys: 10000})
			if err != nil {
				t.Fatal(err)
			}
			live := map[string]bool{}
			for _, lo := range res.Objects {
				o, err := s.GetObject(ctx, "b", lo.Key)
				if err != nil {
					t.Fatal(err)
				}
				for _, seg := range o.Segments {
					live[seg.BlobID] = true
				}
			}
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
			var n int
			if err := s.rdb.QueryRow(`SELECT COUNT(*) FROM blob_refs`).Scan(&n); err != nil || n != len(live) {
				t.Errorf("blob_refs has %d rows, %d live blobs (%v)", n, len(live), err)
			}
		})
	}
}

// TestBatchIsolation queues three requests behind a blocked writer so they
// run as one batch: the failing one's changes are rolled back, the others
// commit, in a single transaction.
func TestBatchIsolation(t *testing.T) {
	s, _ := newTestStore(t)
	ctx := context.Background()
	mustBucket(t, s, "b")
	mk := func(key string, fail bool) *writeReq {
		r := &writeReq{done: make(chan struct{})}
		r.fn = func(tx *wtx) error {
			if _, err := putObjectTx(context.Background(), tx, ptr(obj("b", key, "blob-"+key)), nil); err != nil {
				return err
			}
			if fail {
				return errors.New("injected")
			}
			return nil
		}
		return r
	}
	release, started := make(chan struct{}), make(chan struct{})
	go s.PutObject(ctx, obj("b", "slow"), func(*meta.Object) error {
		close(started)
		<-release
		return nil
	})
	<-started
	before := s.commits.Load()
	batch := []*writeReq{mk("a", false), mk("b", true), mk("c", false)}
	for _, r := range batch {
		s.reqs <- r
	}
	close(release)
	for i, want := range []bool{true, false, true} {
		<-batch[i].done
		if (batch[i].err == nil) != want {
			t.Errorf("request %d err = %v", i, batch[i].err)
		}
	}
	if n := s.commits.Load() - before; n != 2 {
		t.Errorf("%d commits, want 2 (the slow request, then one batch)", n)
	}
	for key, want := range map[string]bool{"a": true, "b": false, "c": true, "slow": true} {
		_, err := s.GetObject(ctx, "b", key)
		if (err == nil) != want {
			t.Errorf("GetObject(%s) = %v", key, err)
		}
	}
	if ref, _ := s.BlobReferenced(ctx, []string{"blob-a", "blob-b"}); !ref["blob-a"] || ref["blob-b"] {
		t.Errorf("blob refs after batch = %v", ref)
	}
}

func ptr[T any](v T) *T { return &v }

// TestCancelWhileQueued cancels callers stuck behind a slow request: they
// return context errors and their writes never happen.
func TestCancelWhileQueued(t *testing.T) {
	s, _ := newTestStore(t)
	ctx := context.Background()
	mustBucket(t, s, "b")
	release := make(chan struct{})
	started := make(chan struct{})
	go s.PutObject(ctx, obj("b", "slow"), func(*meta.Object) error {
		close(started)
		<-release
		return nil
	})
	<-started
	cctx, cancel := context.WithCancel(ctx)
	errc := make(chan error)
	go func() {
		_, err := s.PutObject(cctx, obj("b", "canceled"), nil)
		errc <- err
	}()
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("queued PutObject after cancel = %v", err)
	}
	close(release)
	// A following write flushes the queue.
	if _, err := s.PutObject(ctx, obj("b", "after"), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetObject(ctx, "b", "canceled"); !errors.Is(err, meta.ErrNoSuchKey) {
		t.Errorf("canceled write happened: %v", err)
	}
	if _, err := s.GetObject(ctx, "b", "slow"); err != nil {
		t.Errorf("slow write lost: %v", err)
	}
}

// BenchmarkPutObjectParallel measures small PutObject transactions from
// many concurrent callers, with group commit and with one transaction (one
// fsync) per call.
func BenchmarkPutObjectParallel(b *testing.B) {
	for _, bc := range []struct {
		name  string
		batch int
	}{{"group-commit", 256}, {"no-batching", 1}} {
		b.Run(bc.name, func(b *testing.B) {
			c := defaultConfig()
			c.maxBatch = bc.batch
			s, err := open(context.Background(), filepath.Join(b.TempDir(), "m.db"), nil, c)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			ctx := context.Background()
			mustBucket(b, s, "b")
			var n atomic.Int64
			b.SetParallelism(16) // 16 callers per CPU, like concurrent HTTP requests
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := n.Add(1)
					key := fmt.Sprintf("obj/%08d", i%5000) // some replacements too
					if _, err := s.PutObject(ctx, obj("b", key, fmt.Sprint("blob-", i)), nil); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "puts/s")
			b.ReportMetric(float64(b.N)/float64(max(1, s.commits.Load())), "puts/commit")
		})
	}
}

// TestConditionalPutRace: of many concurrent create-if-absent puts on one
// key, exactly one wins, and the losers' blobs are never referenced.
func TestConditionalPutRace(t *testing.T) {
	s, _ := newTestStore(t)
	ctx := context.Background()
	mustBucket(t, s, "b")
	const n = 40
	var wins atomic.Int64
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.PutObject(ctx, obj("b", "once", fmt.Sprint("c", i)), func(cur *meta.Object) error {
				if cur != nil {
					return meta.ErrPreconditionFail
				}
				return nil
			})
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
