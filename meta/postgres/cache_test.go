package postgres

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/postern/postern/iam"
	"github.com/postern/postern/iam/iamtest"
	"github.com/postern/postern/internal/pgtest"
	"github.com/postern/postern/meta"
	"github.com/postern/postern/meta/metatest"
)

// cachedStore opens a Store on dsn with its own pool (counting its
// statements), a Listener and the node cache, as a --meta node has, and
// waits until the Listener listens.
func cachedStore(t *testing.T, dsn string) (*Store, *Listener, *queryCounter) {
	t.Helper()
	ctx := context.Background()
	cfg, err := ParseURL(dsn)
	if err != nil {
		t.Fatal(err)
	}
	qc := &queryCounter{}
	cfg.ConnConfig.Tracer = qc
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(ctx, pool, nil)
	if err != nil {
		t.Fatal(err)
	}
	l := s.Listen(ListenerOptions{})
	ch := events(t, l)
	s.UseCache(l, CacheOptions{})
	t.Cleanup(func() { s.Close(); l.Close() })
	waitAll(t, ch, "listening")
	return s, l, qc
}

// The conformance suites pass on a cached store: every write is seen by
// the next read on the same node, without waiting for any event.
func TestMetaConformanceCached(t *testing.T) {
	metatest.Run(t, func(t *testing.T) meta.Store {
		s, _, _ := cachedStore(t, pgtest.DSN(t))
		return s
	})
}

func TestIAMConformanceCached(t *testing.T) {
	iamtest.Run(t, func(t *testing.T) iam.Store {
		s, _, _ := cachedStore(t, pgtest.DSN(t))
		return s
	})
}

// served reports whether fn was answered without a statement to the
// database.
func served(qc *queryCounter, fn func()) bool {
	before := qc.n.Load()
	fn()
	return qc.n.Load() == before
}

// waitUntil calls cond until it holds and returns how long that took;
// hangGuard bounds the wait (a lost invalidation fails the test). It is
// not a timing assertion.
func waitUntil(t *testing.T, start time.Time, cond func() bool) time.Duration {
	t.Helper()
	for !cond() {
		if time.Since(start) > hangGuard {
			t.Fatalf("condition not met within %v", hangGuard)
		}
		time.Sleep(100 * time.Microsecond)
	}
	return time.Since(start)
}

func logLatencies(t *testing.T, what string, lat []time.Duration) {
	slices.Sort(lat)
	n := len(lat)
	t.Logf("%s over %d changes: p50 %v, p99 %v, max %v", what, n, lat[n/2], lat[max(n*99/100-1, 0)], lat[n-1])
}

// Two nodes with caches: node B keeps alice's key and policies, and
// refuses the key, through its cache, once node A has revoked it; and B's
// cache does serve (no statement) between changes, so the test is about
// the cache.
func TestCacheRevocationAcrossNodes(t *testing.T) {
	dsn := pgtest.DSN(t)
	a, _, _ := cachedStore(t, dsn)
	b, _, qcB := cachedStore(t, dsn)
	ctx := context.Background()
	key := bytes.Repeat([]byte{7}, iam.ServerKeySize)
	svc := func(s *Store) *iam.Service {
		v, err := iam.NewService(iam.Config{Store: s, ServerKey: key, DefaultAccount: acct})
		if err != nil {
			t.Fatal(err)
		}
		if err := v.Init(ctx); err != nil {
			t.Fatal(err)
		}
		return v
	}
	svcA, svcB := svc(a), svc(b)
	u, err := svcA.CreateUser(ctx, acct, "bob", "/")
	if err != nil {
		t.Fatal(err)
	}
	k, _, err := svcA.CreateAccessKey(ctx, acct, "bob")
	if err != nil {
		t.Fatal(err)
	}
	if err := svcA.PutInlinePolicy(ctx, acct, iam.EntityUser, "bob", "all", allowAll); err != nil {
		t.Fatal(err)
	}
	refused := func() bool {
		_, _, err := svcB.Credentials(ctx, k.ID, "")
		if err != nil && !errors.Is(err, iam.ErrUnknownKey) {
			t.Fatalf("node B's Credentials: %v", err)
		}
		return err != nil
	}
	const n = 40
	var keyLat, polLat []time.Duration
	for i := range n {
		// B reads and keeps the key; the second read is served by the cache.
		if refused() {
			t.Fatalf("change %d: active key refused", i)
		}
		// (Events of earlier changes may still be arriving: each makes B
		// read again.)
		waitUntil(t, time.Now(), func() bool { return served(qcB, func() { refused() }) })
		start := time.Now()
		if err := a.UpdateAccessKey(ctx, acct, "bob", k.ID, iam.StatusInactive); err != nil {
			t.Fatal(err)
		}
		keyLat = append(keyLat, waitUntil(t, start, refused))
		if err := a.UpdateAccessKey(ctx, acct, "bob", k.ID, iam.StatusActive); err != nil {
			t.Fatal(err)
		}
		waitUntil(t, time.Now(), func() bool { return !refused() })

		// Policies: B keeps bob's; A removes them.
		p := &iam.Principal{Kind: iam.KindUser, UserID: u.ID, ARN: u.ARN()}
		count := func() int {
			id, _, err := svcB.Policies(ctx, p)
			if err != nil {
				t.Fatal(err)
			}
			return len(id)
		}
		if count() != 1 {
			t.Fatalf("change %d: bob has no policy", i)
		}
		waitUntil(t, time.Now(), func() bool { return served(qcB, func() { count() }) })
		start = time.Now()
		if err := a.DeleteInlinePolicy(ctx, acct, iam.EntityUser, "bob", "all"); err != nil {
			t.Fatal(err)
		}
		polLat = append(polLat, waitUntil(t, start, func() bool { return count() == 0 }))
		if err := svcA.PutInlinePolicy(ctx, acct, iam.EntityUser, "bob", "all", allowAll); err != nil {
			t.Fatal(err)
		}
		waitUntil(t, time.Now(), func() bool { return count() == 1 })
	}
	logLatencies(t, "key deactivated on A → refused by B's cache", keyLat)
	logLatencies(t, "policy deleted on A → gone from B's cache", polLat)
}

// A bucket's policy, public access block, CORS and the bucket itself:
// node B keeps the bucket, and sees A's changes once their events arrive;
// node A sees its own at once.
func TestCacheBucketsAcrossNodes(t *testing.T) {
	dsn := pgtest.DSN(t)
	a, _, qcA := cachedStore(t, dsn)
	b, _, qcB := cachedStore(t, dsn)
	ctx := context.Background()
	if err := a.CreateBucket(ctx, meta.Bucket{Name: "bk", Owner: acct, CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	get := func(s *Store) meta.Bucket {
		bk, err := s.GetBucket(ctx, "bk")
		if err != nil {
			t.Fatal(err)
		}
		return bk
	}
	var lat []time.Duration
	for i, kind := range []string{meta.ConfigPolicy, meta.ConfigPublicAccessBlock, meta.ConfigCORS} {
		doc := []byte{byte('a' + i)}
		waitUntil(t, time.Now(), func() bool {
			get(a)
			get(b)
			return served(qcB, func() { get(b) }) && served(qcA, func() { get(a) })
		})
		start := time.Now()
		if err := a.PutBucketConfig(ctx, "bk", kind, doc); err != nil {
			t.Fatal(err)
		}
		if got := get(a).Configs[kind]; !bytes.Equal(got, doc) {
			t.Fatalf("%s: node A reads %q after its own write", kind, got)
		}
		lat = append(lat, waitUntil(t, start, func() bool { return bytes.Equal(get(b).Configs[kind], doc) }))
		start = time.Now()
		if err := a.DeleteBucketConfig(ctx, "bk", kind); err != nil {
			t.Fatal(err)
		}
		if get(a).Configs[kind] != nil {
			t.Fatalf("%s: node A still has it after deleting it", kind)
		}
		lat = append(lat, waitUntil(t, start, func() bool { return get(b).Configs[kind] == nil }))
	}
	// A caller's changes to what GetBucket returned do not reach the cache.
	if err := a.PutBucketConfig(ctx, "bk", meta.ConfigPolicy, []byte("p")); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, time.Now(), func() bool { return string(get(b).Configs[meta.ConfigPolicy]) == "p" })
	bk := get(b)
	bk.Configs[meta.ConfigPolicy] = []byte("changed")
	delete(bk.Configs, meta.ConfigPolicy)
	if string(get(b).Configs[meta.ConfigPolicy]) != "p" {
		t.Fatal("a caller's change to a returned bucket reached the cache")
	}
	if err := a.DeleteBucketConfig(ctx, "bk", meta.ConfigPolicy); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := a.DeleteBucket(ctx, "bk"); err != nil {
		t.Fatal(err)
	}
	lat = append(lat, waitUntil(t, start, func() bool {
		_, err := b.GetBucket(ctx, "bk")
		return errors.Is(err, meta.ErrNoSuchBucket)
	}))
	logLatencies(t, "bucket change on A → seen by B's cache", lat)
}

// A change the cache is not told about (a row changed behind the store's
// back stands for a lost notification) is served stale while the
// Listener is trusted — the cache is really used — and no longer once the
// listen connection is lost: the cache is then bypassed and flushed.
func TestCacheBypassedWhenListenerLost(t *testing.T) {
	dsn := pgtest.DSN(t)
	s, l, _ := cachedStore(t, dsn)
	ctx := context.Background()
	ch := events(t, l)
	if err := s.CreateBucket(ctx, meta.Bucket{Name: "bk", Owner: "old", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetBucket(ctx, "bk"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.pool.Exec(ctx, `UPDATE buckets SET owner = 'new' WHERE name = 'bk'`); err != nil {
		t.Fatal(err)
	}
	if bk, _ := s.GetBucket(ctx, "bk"); bk.Owner != "old" {
		t.Fatalf("owner %q: the cache was not used", bk.Owner)
	}
	if _, err := s.pool.Exec(ctx, `SELECT pg_terminate_backend($1)`, l.pid.Load()); err != nil {
		t.Fatal(err)
	}
	waitAll(t, ch, "listen connection lost")
	if bk, _ := s.GetBucket(ctx, "bk"); bk.Owner != "new" {
		t.Fatalf("owner %q after the listen connection was lost", bk.Owner)
	}
}

// A lookup that read the database before an invalidation does not keep
// what it read: the generation it saw has passed.
func TestCacheKeepsNothingReadBeforeAnEvent(t *testing.T) {
	dsn := pgtest.DSN(t)
	s, _, qc := cachedStore(t, dsn)
	ctx := context.Background()
	if err := s.CreateBucket(ctx, meta.Bucket{Name: "bk", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	_, hit, gen, ok := s.cache.bucket("bk")
	if hit || !ok {
		t.Fatalf("hit %v, ok %v on an empty trusted cache", hit, ok)
	}
	bk, err := s.getBucket(ctx, "bk")
	if err != nil {
		t.Fatal(err)
	}
	s.cache.invalidate(Event{Kind: EventBucket, ID: "other"})
	s.cache.keepBucket(bk, gen)
	if served(qc, func() { s.GetBucket(ctx, "bk") }) {
		t.Fatal("a value read before an event was kept")
	}
	if !served(qc, func() { s.GetBucket(ctx, "bk") }) {
		t.Fatal("a value read with no event since was not kept")
	}
}

// A new key whose bytes are inline is one statement; replacing it takes
// the transaction (and its conditions still hold).
func TestPutNewInlineObjectRoundTrips(t *testing.T) {
	dsn := pgtest.DSN(t)
	s, _, qc := cachedStore(t, dsn)
	ctx := context.Background()
	if err := s.CreateBucket(ctx, meta.Bucket{Name: "bk", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	o := meta.Object{Bucket: "bk", Key: "k", Size: 1, ETag: "e1", Inline: []byte("x"), LastModified: time.Now()}
	before := qc.n.Load()
	if _, err := s.PutObject(ctx, o, meta.Condition{}); err != nil {
		t.Fatal(err)
	}
	if n := qc.n.Load() - before; n != 1 {
		t.Errorf("new inline key: %d statements, want 1", n)
	}
	if _, err := s.PutObject(ctx, o, meta.Condition{IfNoneMatch: "*"}); !errors.Is(err, meta.ErrPreconditionFail) {
		t.Errorf("If-None-Match: * on an existing key: %v", err)
	}
	o.ETag = "e2"
	if _, err := s.PutObject(ctx, o, meta.Condition{}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetObject(ctx, "bk", "k"); err != nil || got.ETag != "e2" {
		t.Fatalf("overwrite: %+v, %v", got, err)
	}
	if _, err := s.PutObject(ctx, meta.Object{Bucket: "nob", Key: "k", Inline: []byte{}}, meta.Condition{}); !errors.Is(err, meta.ErrNoSuchBucket) {
		t.Errorf("missing bucket: %v", err)
	}
}

func TestBoundedCache(t *testing.T) {
	b := newBounded[int](CacheOptions{MaxEntries: 3, MaxBytes: 100})
	for i, k := range []string{"a", "b", "c", "d"} {
		b.put(k, i, 10)
	}
	if b.len() != 3 || b.bytes != 30 {
		t.Fatalf("len %d bytes %d; want 3, 30", b.len(), b.bytes)
	}
	b.put("big", 0, 90)
	if b.bytes > 100 {
		t.Fatalf("bytes %d past the bound", b.bytes)
	}
	if _, ok := b.get("big"); !ok {
		t.Fatal("the entry just put was evicted")
	}
	b.put("huge", 0, 101)
	if _, ok := b.get("huge"); ok {
		t.Fatal("an entry larger than the bound was kept")
	}
	b.del("big")
	b.clear()
	if b.len() != 0 || b.bytes != 0 {
		t.Fatalf("after clear: len %d bytes %d", b.len(), b.bytes)
	}
}
