package postgres

import (
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"slices"
	"sync"

	"github.com/postern/postern/iam"
	"github.com/postern/postern/meta"
)

// Node-side caches (issue 19). A Store reads the database on every call
// unless UseCache gives it a Listener: then it keeps what every request
// reads — buckets with their configurations (GetBucket), access keys
// (GetAccessKey) and the identity policies in force (PolicyDocuments) —
// and forgets it on the Listener's events. The cache is exact, not timed:
//
//   - Every write that can change a cached value notifies inside its
//     transaction (notify.go); other nodes' Listeners deliver the event
//     after the commit, and this node forgets the value as soon as its own
//     transaction has committed (Store.inTx), without waiting for its own
//     notification.
//   - A lookup that misses remembers the cache's generation before reading
//     the database and keeps what it read only if no event came in the
//     meantime: a value read just before a concurrent revocation committed
//     is never kept past the revocation's event.
//   - While the Listener is not Trusted (its connection is down, or has not
//     been confirmed alive for two heartbeats) the cache is bypassed — read
//     the database, keep nothing — and an EventAll (connection back, lost,
//     or the periodic safety-net re-check) forgets everything.
//
// So a revocation on one node is enforced on every node once its event is
// delivered (milliseconds), or, when the listen connection silently stalls,
// once Trusted turns false: two heartbeats (500 ms by default).
//
// Objects whose bytes are inline (meta.Object.Inline: small objects, up to
// s3api.InlineMax) are cached too, by the same rules, with an event of
// their own (EventObject, naming a hash of bucket and key) sent inside
// every transaction that replaces or deletes an existing row of objects
// (putObjectTx, DeleteObject; CompleteUpload goes through putObjectTx).
// Creating a key that did not exist sends nothing: only found objects are
// kept, and a node's entry for a key deleted since is dropped by the
// delete's own event. An inline entry is one row, metadata and bytes read
// together, so a stale entry (between another node's commit and its
// event's delivery) can only serve the previous version whole, never old
// metadata with new bytes. Objects whose bytes are in blobs are not
// cached: a stale entry could name a blob the overwrite has freed, and
// their GET is dominated by the blob read anyway.
//
// Object events move a generation of their own (objGen), so a busy writer
// of objects does not keep other nodes from caching buckets and keys.

// CacheOptions bound the caches. The zero value gives the defaults.
type CacheOptions struct {
	// MaxEntries bounds each of the three caches (buckets, access keys,
	// policy sets). Default 10,000.
	MaxEntries int
	// MaxBytes bounds each cache's approximate size (keys, documents and
	// a fixed overhead per entry). Default 16 MiB.
	MaxBytes int64
	// ObjectMaxEntries and ObjectMaxBytes bound the object cache (inline
	// objects, bytes included). Defaults 50,000 and 64 MiB, as the SQLite
	// node's object cache. ObjectMaxEntries < 0 turns it off.
	ObjectMaxEntries int
	ObjectMaxBytes   int64
}

// UseCache makes s keep buckets, access keys and identity policies, exact
// through l's events (see above). l must be a Listener of s's database; s
// does not close it. Call it before s serves requests, at most once.
func (s *Store) UseCache(l *Listener, opts CacheOptions) {
	if opts.MaxEntries <= 0 {
		opts.MaxEntries = 10_000
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = 16 << 20
	}
	if opts.ObjectMaxEntries == 0 {
		opts.ObjectMaxEntries = 50_000
	}
	if opts.ObjectMaxBytes <= 0 {
		opts.ObjectMaxBytes = 64 << 20
	}
	c := &nodeCache{
		l:        l,
		buckets:  newBounded[meta.Bucket](opts),
		keys:     newBounded[iam.AccessKey](opts),
		policies: newBounded[[]string](opts),
	}
	if opts.ObjectMaxEntries > 0 {
		c.objects = newBounded[meta.Object](CacheOptions{MaxEntries: opts.ObjectMaxEntries, MaxBytes: opts.ObjectMaxBytes})
	}
	c.unsubscribe = l.Subscribe(c.invalidate)
	s.cache = c
}

// entryOverhead is the size counted for an entry besides its strings.
const entryOverhead = 256

type nodeCache struct {
	l           *Listener
	unsubscribe func()

	mu       sync.Mutex
	gen      uint64 // counts invalidations of buckets, keys and policies
	objGen   uint64 // counts invalidations of objects
	buckets  *bounded[meta.Bucket]
	keys     *bounded[iam.AccessKey]
	policies *bounded[[]string]    // by user or role id
	objects  *bounded[meta.Object] // inline objects by objectID; nil when off
}

// invalidate applies one event: an object event forgets that object, a
// bucket event that bucket and its objects, an access key event that key;
// any other identity event forgets every access key and policy set
// (identity writes are rare: precision is not worth the risk of missing a
// dependency); EventAll forgets everything.
func (c *nodeCache) invalidate(ev Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch ev.Kind {
	case EventObject:
		c.objGen++
		c.objects.del(ev.ID)
		return
	case EventBucket:
		c.buckets.del(ev.ID)
		c.objGen++
		c.objects.delWhere(func(o meta.Object) bool { return o.Bucket == ev.ID })
	case EventAccessKey:
		c.keys.del(ev.ID)
	case EventAll:
		c.buckets.clear()
		c.keys.clear()
		c.policies.clear()
		c.objGen++
		c.objects.clear()
	default:
		c.keys.clear()
		c.policies.clear()
	}
	c.gen++
}

// lookup returns the cached value of k in m if the cache may be used, and
// otherwise the generation a later keep must match (ok false when the
// cache is bypassed: keep nothing).
func lookup[V any](c *nodeCache, m *bounded[V], k string) (v V, hit bool, gen uint64, ok bool) {
	if !c.l.Trusted() {
		return v, false, 0, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if v, hit = m.get(k); hit {
		return v, true, 0, true
	}
	return v, false, c.gen, true
}

// keep stores v under k if no event came since gen was read and the
// Listener is still trusted.
func keep[V any](c *nodeCache, m *bounded[V], k string, v V, size int, gen uint64) {
	if !c.l.Trusted() {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen == gen {
		m.put(k, v, int64(size+len(k)+entryOverhead))
	}
}

func (c *nodeCache) bucket(name string) (meta.Bucket, bool, uint64, bool) {
	b, hit, gen, ok := lookup(c, c.buckets, name)
	if hit {
		b.Configs = maps.Clone(b.Configs)
	}
	return b, hit, gen, ok
}

func (c *nodeCache) keepBucket(b meta.Bucket, gen uint64) {
	size := len(b.Owner) + len(b.Region)
	for k, d := range b.Configs {
		size += len(k) + len(d)
	}
	b.Configs = maps.Clone(b.Configs)
	keep(c, c.buckets, b.Name, b, size, gen)
}

func (c *nodeCache) accessKey(id string) (iam.AccessKey, bool, uint64, bool) {
	k, hit, gen, ok := lookup(c, c.keys, id)
	if hit {
		k.Secret = slices.Clone(k.Secret)
	}
	return k, hit, gen, ok
}

func (c *nodeCache) keepAccessKey(k iam.AccessKey, gen uint64) {
	size := len(k.Secret) + len(k.UserName) + len(k.UserPath) + len(k.UserID) + len(k.AccountID) +
		len(k.LastService) + len(k.LastRegion)
	k.Secret = slices.Clone(k.Secret)
	keep(c, c.keys, k.ID, k, size, gen)
}

func (c *nodeCache) policyDocs(id string) ([]string, bool, uint64, bool) {
	d, hit, gen, ok := lookup(c, c.policies, id)
	return slices.Clone(d), hit, gen, ok
}

func (c *nodeCache) keepPolicyDocs(id string, docs []string, gen uint64) {
	size := 0
	for _, d := range docs {
		size += len(d) + 16
	}
	keep(c, c.policies, id, slices.Clone(docs), size, gen)
}

// objectID names bucket/key in the object cache and in EventObject: a hash
// (hex, 32 digits), so that the notification's payload is short and plain
// text whatever the key (up to 1,024 bytes, any UTF-8). Bucket names hold
// no "/", so the hashed string is unambiguous; a hit is still checked
// against the entry's bucket and key.
func objectID(bucket, key string) string {
	h := sha256.New()
	h.Write([]byte(bucket))
	h.Write([]byte{'/'})
	h.Write([]byte(key))
	var sum [sha256.Size]byte
	return hex.EncodeToString(h.Sum(sum[:0])[:16])
}

// object returns the cached bucket/key if the cache may be used, and
// otherwise the object generation a later keepObject must match (ok false:
// the cache is off or bypassed, keep nothing). A hit's maps are copies;
// its Inline bytes are shared and must not be modified.
func (c *nodeCache) object(id, bucket, key string) (o meta.Object, hit bool, gen uint64, ok bool) {
	if c.objects == nil || !c.l.Trusted() {
		return o, false, 0, false
	}
	c.mu.Lock()
	o, hit = c.objects.get(id)
	gen = c.objGen
	c.mu.Unlock()
	if hit && o.Bucket == bucket && o.Key == key {
		o.UserMeta = maps.Clone(o.UserMeta)
		o.Checksums = maps.Clone(o.Checksums)
		return o, true, 0, true
	}
	return meta.Object{}, false, gen, true
}

// keepObject keeps o, read from the database, if its bytes are inline, no
// object event came since gen was read and the Listener is still trusted.
func (c *nodeCache) keepObject(id string, o meta.Object, gen uint64) {
	if o.Inline == nil || len(o.Segments) > 0 || !c.l.Trusted() {
		return
	}
	size := len(o.Bucket) + len(o.Key) + len(o.ETag) + len(o.ContentType) + len(o.ContentEncoding) +
		len(o.ContentDisposition) + len(o.ContentLanguage) + len(o.CacheControl) + len(o.Expires) +
		len(o.ChecksumType) + len(o.Inline)
	for k, v := range o.UserMeta {
		size += len(k) + len(v) + 32
	}
	for k, v := range o.Checksums {
		size += len(k) + len(v) + 32
	}
	o.UserMeta = maps.Clone(o.UserMeta)
	o.Checksums = maps.Clone(o.Checksums)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.objGen == gen {
		c.objects.put(id, o, int64(size+len(id)+entryOverhead))
	}
}

// forgetObject drops bucket/key after this node wrote it (other nodes
// learn it from the write's event, if any).
func (c *nodeCache) forgetObject(id string) {
	c.invalidate(Event{Kind: EventObject, ID: id})
}

// bounded is a map bounded in entries and bytes; past either bound it
// evicts entries chosen at random (Go's map order). Not safe for
// concurrent use: nodeCache.mu guards it.
type bounded[V any] struct {
	maxEntries int
	maxBytes   int64
	bytes      int64
	m          map[string]sized[V]
}

type sized[V any] struct {
	v    V
	size int64
}

func newBounded[V any](o CacheOptions) *bounded[V] {
	return &bounded[V]{maxEntries: o.MaxEntries, maxBytes: o.MaxBytes, m: map[string]sized[V]{}}
}

func (b *bounded[V]) get(k string) (V, bool) {
	if b == nil {
		var zero V
		return zero, false
	}
	e, ok := b.m[k]
	return e.v, ok
}

func (b *bounded[V]) put(k string, v V, size int64) {
	if size > b.maxBytes {
		return
	}
	b.del(k)
	for len(b.m) > 0 && (len(b.m) >= b.maxEntries || b.bytes+size > b.maxBytes) {
		for old := range b.m {
			b.del(old)
			break
		}
	}
	b.m[k] = sized[V]{v, size}
	b.bytes += size
}

func (b *bounded[V]) del(k string) {
	if b == nil {
		return
	}
	if e, ok := b.m[k]; ok {
		b.bytes -= e.size
		delete(b.m, k)
	}
}

// delWhere deletes the entries whose value match selects.
func (b *bounded[V]) delWhere(match func(V) bool) {
	if b == nil {
		return
	}
	for k, e := range b.m {
		if match(e.v) {
			b.del(k)
		}
	}
}

func (b *bounded[V]) clear() {
	if b == nil {
		return
	}
	clear(b.m)
	b.bytes = 0
}

func (b *bounded[V]) len() int {
	if b == nil {
		return 0
	}
	return len(b.m)
}
