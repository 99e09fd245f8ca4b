package postgres

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/postern/postern/internal/pgtest"
	"github.com/postern/postern/meta"
)

// inlineObj is an inline object whose ETag names its bytes, so that a
// reader can tell a whole version from a mix of two.
func inlineObj(bucket, key, body string) meta.Object {
	return meta.Object{Bucket: bucket, Key: key, Size: int64(len(body)), ETag: "etag-" + body,
		Inline: []byte(body), UserMeta: map[string]string{"v": body}, LastModified: time.Now()}
}

// whole fails the test unless o is one version: metadata and bytes alike.
func whole(t *testing.T, what string, o meta.Object) {
	t.Helper()
	if o.ETag != "etag-"+string(o.Inline) || o.UserMeta["v"] != string(o.Inline) || o.Size != int64(len(o.Inline)) {
		t.Fatalf("%s: a mix of versions: etag %q, meta %q, %d bytes %q", what, o.ETag, o.UserMeta["v"], o.Size, o.Inline)
	}
}

// Two nodes with caches on one database. Node B serves an inline object
// from its cache (no statement), and once node A has replaced it (PUT
// over it, a multipart completion over it) or deleted it, B's GET gives
// the new state: each change waited for (hangGuard bounds the wait; the
// latencies are logged, not asserted), and every answer B gives meanwhile
// is a whole version, the one before or the one after. A's own reads see
// its writes at once. A key created on A is found on B at once (a missing
// key is not cached).
func TestCacheObjectsAcrossNodes(t *testing.T) {
	dsn := pgtest.DSN(t)
	a, _, qcA := cachedStore(t, dsn)
	b, _, qcB := cachedStore(t, dsn)
	ctx := context.Background()
	if err := a.CreateBucket(ctx, meta.Bucket{Name: "bk", Owner: acct, CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	get := func(s *Store) (meta.Object, error) {
		o, err := s.GetObject(ctx, "bk", "k")
		if err == nil {
			whole(t, "GET", o)
		}
		return o, err
	}
	body := func(s *Store) string {
		o, err := get(s)
		if errors.Is(err, meta.ErrNoSuchKey) {
			return "<none>"
		}
		if err != nil {
			t.Fatal(err)
		}
		return string(o.Inline)
	}
	// cached waits until both nodes serve k from their caches.
	cached := func(want string) {
		t.Helper()
		waitUntil(t, time.Now(), func() bool {
			if got := body(b); got != want {
				t.Fatalf("node B serves %q, want %q", got, want)
			}
			return served(qcB, func() { body(b) }) && served(qcA, func() { body(a) })
		})
	}
	var lat []time.Duration
	// seen waits until B serves want, accepting only old meanwhile.
	seen := func(what, old, want string, start time.Time) {
		t.Helper()
		lat = append(lat, waitUntil(t, start, func() bool {
			got := body(b)
			if got != old && got != want {
				t.Fatalf("%s: node B serves %q, neither %q nor %q", what, got, old, want)
			}
			return got == want
		}))
	}
	if _, err := a.PutObject(ctx, inlineObj("bk", "k", "v0"), meta.Condition{}); err != nil {
		t.Fatal(err)
	}
	prev := "v0"
	for i := 1; i <= 10; i++ {
		cached(prev)
		v := fmt.Sprintf("v%d", i)
		start := time.Now()
		if i%2 == 1 {
			if _, err := a.PutObject(ctx, inlineObj("bk", "k", v), meta.Condition{}); err != nil {
				t.Fatal(err)
			}
		} else {
			up := fmt.Sprintf("up%d", i)
			if err := a.CreateUpload(ctx, meta.Upload{ID: up, Bucket: "bk", Key: "k", Initiated: time.Now()}); err != nil {
				t.Fatal(err)
			}
			if _, err := a.CompleteUpload(ctx, "bk", "k", up, inlineObj("bk", "k", v), meta.Condition{}); err != nil {
				t.Fatal(err)
			}
		}
		if got := body(a); got != v {
			t.Fatalf("node A reads %q after writing %q", got, v)
		}
		seen("overwrite on A", prev, v, start)
		prev = v
	}
	cached(prev)
	start := time.Now()
	if _, err := a.DeleteObject(ctx, "bk", "k", meta.Condition{}); err != nil {
		t.Fatal(err)
	}
	if got := body(a); got != "<none>" {
		t.Fatalf("node A reads %q after deleting it", got)
	}
	seen("delete on A", prev, "<none>", start)
	// A new key is not cached as missing anywhere: B finds it at once.
	if _, err := a.PutObject(ctx, inlineObj("bk", "k", "again"), meta.Condition{}); err != nil {
		t.Fatal(err)
	}
	if got := body(b); got != "again" {
		t.Fatalf("node B reads %q right after A created the key", got)
	}
	// An object whose bytes are in blobs is never served from the cache
	// (a stale entry could name a freed blob), and replacing a cached
	// inline object by one does reach B.
	cached("again")
	start = time.Now()
	if _, err := a.PutObject(ctx, objWith("bk", "k", "blob1"), meta.Condition{}); err != nil {
		t.Fatal(err)
	}
	lat = append(lat, waitUntil(t, start, func() bool {
		o, err := b.GetObject(ctx, "bk", "k")
		if err != nil {
			t.Fatal(err)
		}
		if o.Inline != nil {
			whole(t, "GET on B after the blob overwrite", o)
			return false
		}
		return len(o.Segments) == 1 && o.Segments[0].BlobID == "blob1"
	}))
	for range 3 {
		if served(qcB, func() { b.GetObject(ctx, "bk", "k") }) {
			t.Fatal("node B served a blob-backed object from its cache")
		}
	}
	logLatencies(t, "object change on A → seen by B's cache", lat)
}

// Every write that replaces or deletes an existing object announces it
// (EventObject naming the object); creating a key announces nothing, and
// a write that fails announces nothing.
func TestObjectEvents(t *testing.T) {
	a, dsn := openStore(t)
	b := openStoreAt(t, dsn)
	_, ch := listen(t, b)
	ctx := context.Background()
	if err := a.CreateBucket(ctx, meta.Bucket{Name: "bk", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	want := Event{Kind: EventObject, ID: objectID("bk", "k")}
	steps := []struct {
		name  string
		write func() error
		event bool
	}{
		{"create", func() error { _, err := a.PutObject(ctx, inlineObj("bk", "k", "1"), meta.Condition{}); return err }, false},
		{"failed If-None-Match", func() error {
			_, err := a.PutObject(ctx, inlineObj("bk", "k", "2"), meta.Condition{IfNoneMatch: "*"})
			if errors.Is(err, meta.ErrPreconditionFail) {
				return nil
			}
			return fmt.Errorf("If-None-Match: * on an existing key: %v", err)
		}, false},
		{"overwrite", func() error { _, err := a.PutObject(ctx, inlineObj("bk", "k", "3"), meta.Condition{}); return err }, true},
		{"complete over it", func() error {
			if err := a.CreateUpload(ctx, meta.Upload{ID: "u", Bucket: "bk", Key: "k", Initiated: time.Now()}); err != nil {
				return err
			}
			_, err := a.CompleteUpload(ctx, "bk", "k", "u", inlineObj("bk", "k", "4"), meta.Condition{})
			return err
		}, true},
		{"delete", func() error { _, err := a.DeleteObject(ctx, "bk", "k", meta.Condition{}); return err }, true},
		{"delete a missing key", func() error { _, err := a.DeleteObject(ctx, "bk", "k", meta.Condition{}); return err }, false},
		{"create again", func() error { _, err := a.PutObject(ctx, inlineObj("bk", "k", "5"), meta.Condition{}); return err }, false},
		// A change to another bucket's configuration is the marker that
		// the steps before it sent nothing more.
		{"marker", func() error { return a.PutBucketConfig(ctx, "bk", meta.ConfigCORS, []byte("x")) }, false},
	}
	for _, st := range steps {
		if err := st.write(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if st.event {
			if got := next(t, ch); got != want {
				t.Fatalf("%s: event %+v, want %+v", st.name, got, want)
			}
		}
	}
	if got := next(t, ch); got != (Event{Kind: EventBucket, ID: "bk"}) {
		t.Fatalf("after the last object event: %+v, want the marker's bucket event", got)
	}
}

// A change the object cache is not told about (the row changed behind
// the store's back, standing for a lost notification) is served stale
// while the Listener is trusted — the cache is really used — and no
// longer once the listen connection is lost and comes back: the loss
// flushes the cache. After the reconnection the cache is used again.
func TestObjectCacheFlushedWhenListenerLost(t *testing.T) {
	dsn := pgtest.DSN(t)
	s, l, qc := cachedStore(t, dsn)
	ctx := context.Background()
	ch := events(t, l)
	if err := s.CreateBucket(ctx, meta.Bucket{Name: "bk", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutObject(ctx, inlineObj("bk", "k", "old"), meta.Condition{}); err != nil {
		t.Fatal(err)
	}
	get := func() string {
		o, err := s.GetObject(ctx, "bk", "k")
		if err != nil {
			t.Fatal(err)
		}
		whole(t, "GET", o)
		return string(o.Inline)
	}
	get()
	if _, err := s.pool.Exec(ctx, `UPDATE objects SET inline_data = 'new', etag = 'etag-new', size = 3,
		user_meta = '{"v":"new"}' WHERE bucket = 'bk' AND key = 'k'`); err != nil {
		t.Fatal(err)
	}
	if got := get(); got != "old" {
		t.Fatalf("%q: the cache was not used", got)
	}
	if _, err := s.pool.Exec(ctx, `SELECT pg_terminate_backend($1)`, l.pid.Load()); err != nil {
		t.Fatal(err)
	}
	waitAll(t, ch, "listen connection lost")
	if got := get(); got != "new" {
		t.Fatalf("%q after the listen connection was lost", got)
	}
	waitAll(t, ch, "listening")
	waitUntil(t, time.Now(), func() bool { get(); return served(qc, func() { get() }) })
}

// A GET that read the database before an object event does not keep what
// it read; object events do not stop buckets from being kept.
func TestObjectCacheKeepsNothingReadBeforeAnEvent(t *testing.T) {
	dsn := pgtest.DSN(t)
	s, _, qc := cachedStore(t, dsn)
	ctx := context.Background()
	if err := s.CreateBucket(ctx, meta.Bucket{Name: "bk", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutObject(ctx, inlineObj("bk", "k", "x"), meta.Condition{}); err != nil {
		t.Fatal(err)
	}
	id := objectID("bk", "k")
	_, hit, gen, ok := s.cache.object(id, "bk", "k")
	if hit || !ok {
		t.Fatalf("hit %v, ok %v on an empty trusted cache", hit, ok)
	}
	_, _, bgen, _ := s.cache.bucket("bk")
	o, err := s.getObject(ctx, "bk", "k")
	if err != nil {
		t.Fatal(err)
	}
	bk, err := s.getBucket(ctx, "bk")
	if err != nil {
		t.Fatal(err)
	}
	s.cache.invalidate(Event{Kind: EventObject, ID: objectID("bk", "other")})
	s.cache.keepObject(id, o, gen)
	s.cache.keepBucket(bk, bgen)
	if served(qc, func() { s.GetObject(ctx, "bk", "k") }) {
		t.Fatal("an object read before an object event was kept")
	}
	if !served(qc, func() { s.GetObject(ctx, "bk", "k") }) {
		t.Fatal("an object read with no event since was not kept")
	}
	if !served(qc, func() { s.GetBucket(ctx, "bk") }) {
		t.Fatal("an object event kept a bucket read before it from being kept")
	}
	// A caller's changes to what GetObject returned do not reach the cache.
	got, _ := s.GetObject(ctx, "bk", "k")
	got.UserMeta["v"] = "changed"
	if again, _ := s.GetObject(ctx, "bk", "k"); again.UserMeta["v"] != "x" {
		t.Fatal("a caller's change to a returned object reached the cache")
	}
	// A bucket event forgets the bucket's objects.
	s.cache.invalidate(Event{Kind: EventBucket, ID: "bk"})
	if served(qc, func() { s.GetObject(ctx, "bk", "k") }) {
		t.Fatal("an object of a bucket named by an event was still cached")
	}
}

func TestObjectID(t *testing.T) {
	id := objectID("b", "k")
	if len(id) != 32 || id == objectID("b", "k2") || id == objectID("b2", "k") || id != objectID("b", "k") {
		t.Fatalf("objectID: %q", id)
	}
	if ev := parseEvent(Event{Kind: EventObject, ID: id}.payload()); ev != (Event{Kind: EventObject, ID: id}) {
		t.Fatalf("parseEvent of an object event: %+v", ev)
	}
}
