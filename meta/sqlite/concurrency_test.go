package sqlite

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/postern/postern/meta"
)

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
	release := holdWriter(t, s, "slow")
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

// holdWriter starts a write of bucket "b"/key that blocks the writer
// goroutine until the returned channel is closed, and returns once the
// write is running.
func holdWriter(t *testing.T, s *Store, key string) chan struct{} {
	t.Helper()
	release, started := make(chan struct{}), make(chan struct{})
	go s.write(context.Background(), func(tx *wtx) error {
		close(started)
		<-release
		_, err := putObjectTx(context.Background(), tx, ptr(obj("b", key)), nil)
		return err
	})
	<-started
	return release
}

// TestCancelWhileQueued cancels callers stuck behind a slow request: they
// return context errors and their writes never happen.
func TestCancelWhileQueued(t *testing.T) {
	s, _ := newTestStore(t)
	ctx := context.Background()
	mustBucket(t, s, "b")
	release := holdWriter(t, s, "slow")
	cctx, cancel := context.WithCancel(ctx)
	errc := make(chan error)
	go func() {
		_, err := s.PutObject(cctx, obj("b", "canceled"), meta.Condition{})
		errc <- err
	}()
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("queued PutObject after cancel = %v", err)
	}
	close(release)
	// A following write flushes the queue.
	if _, err := s.PutObject(ctx, obj("b", "after"), meta.Condition{}); err != nil {
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
					if _, err := s.PutObject(ctx, obj("b", key, fmt.Sprint("blob-", i)), meta.Condition{}); err != nil {
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
