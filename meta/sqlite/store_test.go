package sqlite

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/postern/postern/meta"
)

func newTestStore(t testing.TB) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "meta.db")
	s, err := Open(context.Background(), path, nil)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

func TestOpenRejectsBadPath(t *testing.T) {
	for _, p := range []string{"", "a?b", "file:x.db"} {
		if _, err := Open(context.Background(), p, nil); err == nil {
			t.Errorf("Open(%q) succeeded", p)
		}
	}
}

func TestOpenPragmas(t *testing.T) {
	s, _ := newTestStore(t)
	ctx := context.Background()
	var mode string
	var sync, fk int
	if err := s.wdb.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v", mode, err)
	}
	if err := s.wdb.QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&sync); err != nil || sync != 2 {
		t.Errorf("synchronous = %d, %v; want 2 (FULL)", sync, err)
	}
	if err := s.wdb.QueryRowContext(ctx, `PRAGMA foreign_keys`).Scan(&fk); err != nil || fk != 1 {
		t.Errorf("foreign_keys = %d, %v", fk, err)
	}
	if _, err := s.rdb.ExecContext(ctx, `DELETE FROM buckets`); err == nil {
		t.Error("read pool accepted a write")
	}
	var v int
	if err := s.rdb.QueryRowContext(ctx, `SELECT version FROM schema_version`).Scan(&v); err != nil || v != len(migrations) {
		t.Errorf("schema version = %d, %v", v, err)
	}
}

func TestReopenPreservesEverything(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.db")
	ctx := context.Background()
	s, err := Open(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	mustBucket(t, s, "b")
	s.PutObject(ctx, obj("b", "k", "blob1"), meta.Condition{})
	s.CreateUpload(ctx, meta.Upload{ID: "u", Bucket: "b", Key: "mp", Initiated: time.Unix(5, 0)})
	s.PutPart(ctx, "b", "mp", "u", meta.Part{Number: 1, Segment: meta.Segment{BlobID: "p1", Size: 5}})
	s.PutBucketConfig(ctx, "b", "cors", []byte("<x/>"))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetBucket(ctx, "b"); err == nil {
		t.Error("closed store answered")
	}
	if _, err := s.PutObject(ctx, obj("b", "k2"), meta.Condition{}); !errors.Is(err, ErrClosed) {
		t.Errorf("write after Close = %v", err)
	}
	for i := 0; i < 2; i++ { // reopening twice also re-runs migrate on an up-to-date schema
		s, err = Open(ctx, path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetObject(ctx, "b", "k"); err != nil {
			t.Error(err)
		}
		if _, err := s.GetUpload(ctx, "b", "mp", "u"); err != nil {
			t.Error(err)
		}
		if doc, err := s.GetBucketConfig(ctx, "b", "cors"); err != nil || string(doc) != "<x/>" {
			t.Error(doc, err)
		}
		if ref, err := s.BlobReferenced(ctx, []string{"blob1", "p1"}); err != nil || !ref["blob1"] || !ref["p1"] {
			t.Error(ref, err)
		}
		s.Close()
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	s, path := newTestStore(t)
	if _, err := s.wdb.Exec(`UPDATE schema_version SET version = 999`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if s2, err := Open(context.Background(), path, nil); err == nil {
		s2.Close()
		t.Fatal("opened a database with a newer schema")
	}
}

// blockingCounter counts Enter and Leave calls, checking they pair up.
type blockingCounter struct {
	mu            sync.Mutex
	enter, leave  int
	insideAtEnter bool
}

func (b *blockingCounter) Enter() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.enter != b.leave {
		b.insideAtEnter = true
	}
	b.enter++
}

func (b *blockingCounter) Leave() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.leave++
}

// Every commit is announced to Blocking, once, and ends before the next.
func TestBlockingAroundCommits(t *testing.T) {
	s, _ := newTestStore(t)
	b := &blockingCounter{}
	s.SetBlocking(b)
	before := s.commits.Load()
	mustBucket(t, s, "blk")
	if _, err := s.PutObject(context.Background(), obj("blk", "k"), meta.Condition{}); err != nil {
		t.Fatal(err)
	}
	commits := int(s.commits.Load() - before)
	b.mu.Lock()
	enter, leave, nested := b.enter, b.leave, b.insideAtEnter
	b.mu.Unlock()
	if commits != 2 || enter != commits || leave != commits || nested {
		t.Fatalf("%d commits: Enter %d, Leave %d (nested %v), want one each per commit", commits, enter, leave, nested)
	}
	s.SetBlocking(nil)
	mustBucket(t, s, "blk2")
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.enter != enter {
		t.Fatal("Enter called after SetBlocking(nil)")
	}
}

func mustBucket(t testing.TB, s *Store, name string) {
	t.Helper()
	if err := s.CreateBucket(context.Background(), meta.Bucket{Name: name, Owner: "acct", Region: "us-east-1", CreatedAt: time.Now()}); err != nil {
		t.Fatalf("CreateBucket(%q): %v", name, err)
	}
}

func obj(bucket, key string, blobs ...string) meta.Object {
	o := meta.Object{Bucket: bucket, Key: key, ETag: "etag-" + key, LastModified: time.Unix(1700000000, 123456789).UTC(),
		ContentType: "text/plain"}
	for _, b := range blobs {
		o.Segments = append(o.Segments, meta.Segment{BlobID: b, Size: 10})
		o.Size += 10
	}
	return o
}

// The write connection keeps temporary data, statement journals included,
// in memory.
func TestWriteConnTempStoreMemory(t *testing.T) {
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "meta.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var mode int
	if err := s.wdb.QueryRow(`PRAGMA temp_store`).Scan(&mode); err != nil || mode != 2 {
		t.Fatalf("temp_store = %d, %v; want 2 (memory)", mode, err)
	}
}
