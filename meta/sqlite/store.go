// Package sqlite implements meta.Store on an embedded SQLite database
// (modernc.org/sqlite, pure Go).
//
// Concurrency design: SQLite admits one writer at a time, so all writes go
// through a single connection owned by one writer goroutine, and reads use a
// separate pool of query_only connections. In WAL mode readers see the last
// committed state and never wait for the writer.
//
// Group commit: the writer goroutine takes every write request that is
// already queued (up to maxBatch) and runs them in one transaction, each
// inside its own SAVEPOINT, so that one request failing rolls back only its
// own changes. Callers get their results only after the COMMIT has returned,
// i.e. after the WAL has been fsynced (synchronous=FULL). With concurrent
// writers this amortises the fsync over the whole batch; a lone writer pays
// exactly one transaction, with no added latency (the writer never waits for
// a batch to fill).
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	sqlitedrv "modernc.org/sqlite" // database/sql driver "sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/postern/postern/diskspace"
	"github.com/postern/postern/internal/blocking"
	"github.com/postern/postern/meta"
	"github.com/postern/postern/share"
)

// ErrClosed is returned by methods called after Close.
var ErrClosed = errors.New("meta/sqlite: store closed")

var _ meta.Store = (*Store)(nil)

// Store is a meta.Store backed by an SQLite database file.
type Store struct {
	logger *slog.Logger
	wdb    *sql.DB // the single write connection, used only by the writer goroutine
	rdb    *sql.DB // read-only pool

	maxBatch int
	reqs     chan *writeReq
	quit     chan struct{}
	done     chan struct{}
	// Prepared statements of the write connection, by SQL text, and the
	// statements run unprepared in the current batch. Only the writer
	// goroutine uses them.
	commits atomic.Int64 // committed write transactions, for tests and benchmarks
	// blocking, if set, is told when a commit starts and ends.
	blocking atomic.Pointer[blocking.Hint]
	// space, if set, is told before each write transaction and when one
	// fails for lack of disk space.
	space atomic.Pointer[Space]
	// Prepared statements of the hot read paths, on the read pool.
	stmtGetBucket *sql.Stmt
	stmtGetObject *sql.Stmt
	stmts         map[string]*sql.Stmt
	missing       map[string]bool
	// Read caches (WithBucketCache, WithObjectCache); nil when off. Writes
	// through this Store forget what they change, after their commit.
	buckets *cache[string, meta.Bucket]
	objects *cache[objectKey, meta.Object]
	shares  *cache[string, share.Share] // by access key
	// stmtShareByKey is ShareByAccessKey's read, prepared on the read pool.
	stmtShareByKey *sql.Stmt
	// closeMu makes submission and Close exclusive so that no request can be
	// queued after the writer has stopped draining.
	closeMu   sync.RWMutex
	closed    bool
	readOnly  bool // OpenReadOnly: no writer, no write connection
	closeOnce sync.Once
	closeErr  error
}

type config struct {
	maxBatch  int // 1 disables group commit
	readConns int

	bucketTTL                time.Duration // > 0: cache GetBucket
	objectItems, objectBytes int           // > 0: cache GetObject
	shareItems               int           // > 0: cache ShareByAccessKey
}

// An Option configures Open.
type Option func(*config)

// WithBucketCache keeps GetBucket results (the bucket with its policy,
// public access block and CORS documents, or its absence) in memory for at
// most ttl. Every request reads its bucket, so this spares most of those
// reads. Writes through the Store forget the entry at once, so the cache
// is exact as long as this process is the database's only writer, which
// the embedded store is; ttl only bounds how long an entry is kept.
func WithBucketCache(ttl time.Duration) Option {
	return func(c *config) { c.bucketTTL = ttl }
}

// WithObjectCache keeps recent GetObject results (small objects' bytes
// included) in memory: at most maxItems objects whose inline bytes add up
// to at most maxBytes. Writes through the Store forget what they change,
// so reads stay exact with this process as the only writer.
func WithObjectCache(maxItems, maxBytes int) Option {
	return func(c *config) { c.objectItems, c.objectBytes = maxItems, maxBytes }
}

// WithShareCache keeps up to maxItems shares in memory for
// ShareByAccessKey, which every request made with a share link does. It is
// exact, not merely fresh: each write of a share (create, revoke, a use
// claimed or given back, an audit batch) sets the entry to the row it
// committed, in commit order, before the write returns; this process is
// the database's only writer. A multi-node store must not cache shares
// (a revocation holds on the next request on every node).
func WithShareCache(maxItems int) Option {
	return func(c *config) { c.shareItems = maxItems }
}

// objectKey addresses an object in the object cache.
type objectKey struct{ bucket, key string }

func defaultConfig() config {
	return config{maxBatch: 256, readConns: max(4, runtime.GOMAXPROCS(0))}
}

// Open opens (creating if needed) the SQLite database at path and brings its
// schema up to date. logger may be nil.
func Open(ctx context.Context, path string, logger *slog.Logger, opts ...Option) (*Store, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	return open(ctx, path, logger, cfg)
}

func open(ctx context.Context, path string, logger *slog.Logger, cfg config) (*Store, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if path == "" || strings.ContainsAny(path, "?#") || strings.HasPrefix(path, "file:") {
		return nil, fmt.Errorf("meta/sqlite: invalid database path %q", path)
	}
	if cfg.maxBatch < 1 {
		cfg.maxBatch = 1
	}
	if cfg.readConns < 1 {
		cfg.readConns = 1
	}
	// Write connection: BEGIN IMMEDIATE so a transaction takes the write lock
	// up front, WAL, fsync on every commit, foreign keys enforced, and
	// statement journals (group commit's savepoints, multi-row statements)
	// in memory rather than in a temporary file that SQLite writes once
	// they pass 64 KiB: they hold the pages one transaction changes.
	const common = "_busy_timeout=10000&_foreign_keys=1&_synchronous=FULL"
	wdb, err := sql.Open("sqlite", path+"?_txlock=immediate&_journal_mode=WAL&_pragma=temp_store(memory)&"+common)
	if err != nil {
		return nil, fmt.Errorf("meta/sqlite: open %s: %w", path, err)
	}
	wdb.SetMaxOpenConns(1)
	wdb.SetMaxIdleConns(1)
	wdb.SetConnMaxLifetime(0)
	wdb.SetConnMaxIdleTime(0)
	if err := migrate(ctx, wdb, logger); err != nil {
		wdb.Close()
		return nil, fmt.Errorf("meta/sqlite: %s: %w", path, err)
	}
	var mode string
	if err := wdb.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil || !strings.EqualFold(mode, "wal") {
		wdb.Close()
		return nil, fmt.Errorf("meta/sqlite: %s: cannot enable WAL (journal_mode=%q): %v", path, mode, err)
	}

	rdb, err := sql.Open("sqlite", path+"?_txlock=deferred&_query_only=1&"+common)
	if err != nil {
		wdb.Close()
		return nil, fmt.Errorf("meta/sqlite: open %s: %w", path, err)
	}
	rdb.SetMaxOpenConns(cfg.readConns)
	rdb.SetMaxIdleConns(cfg.readConns)
	rdb.SetConnMaxIdleTime(5 * time.Minute)
	if err := rdb.PingContext(ctx); err != nil {
		wdb.Close()
		rdb.Close()
		return nil, fmt.Errorf("meta/sqlite: open %s: %w", path, err)
	}

	s := &Store{
		logger:   logger,
		wdb:      wdb,
		rdb:      rdb,
		maxBatch: cfg.maxBatch,
		reqs:     make(chan *writeReq, cfg.maxBatch),
		quit:     make(chan struct{}),
		done:     make(chan struct{}),
		stmts:    map[string]*sql.Stmt{},
		missing:  map[string]bool{},
	}
	if cfg.bucketTTL > 0 {
		s.buckets = newCache[string, meta.Bucket](cfg.bucketTTL, bucketCacheMax, 0, nil)
	}
	if cfg.objectItems > 0 && cfg.objectBytes > 0 {
		s.objects = newCache[objectKey](0, cfg.objectItems, cfg.objectBytes, func(o meta.Object) int { return len(o.Inline) })
	}
	if cfg.shareItems > 0 {
		s.shares = newCache[string, share.Share](0, cfg.shareItems, 0, nil)
	}
	if err = s.prepareReads(ctx); err != nil {
		wdb.Close()
		rdb.Close()
		return nil, err
	}
	go s.writer()
	return s, nil
}

// prepareReads prepares the hot reads' statements on the read pool.
func (s *Store) prepareReads(ctx context.Context) error {
	var err error
	if s.stmtGetBucket, err = s.rdb.PrepareContext(ctx, sqlGetBucket); err == nil {
		if s.stmtGetObject, err = s.rdb.PrepareContext(ctx, sqlGetObject); err == nil {
			s.stmtShareByKey, err = s.rdb.PrepareContext(ctx, sqlShareByKey)
		}
	}
	if err != nil {
		return fmt.Errorf("meta/sqlite: prepare: %w", err)
	}
	return nil
}

// bucketCacheMax bounds the bucket cache; when full it is cleared.
const bucketCacheMax = 10000

// forgetObject drops bucket/key from the object cache.
func (s *Store) forgetObject(bucket, key string) {
	s.objects.forgetKey(objectKey{bucket, key})
}

// forgetBucket drops a bucket, and every cached object of it.
func (s *Store) forgetBucket(name string) {
	s.buckets.forgetKey(name)
	s.objects.forget(func(k objectKey) bool { return k.bucket == name })
}

// Close stops the writer (after the requests already queued have been
// served) and closes the database.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.closeMu.Lock()
		s.closed = true
		close(s.quit)
		s.closeMu.Unlock()
		<-s.done
		s.closeErr = s.rdb.Close()
		if s.wdb != nil {
			s.closeErr = errors.Join(s.closeErr, s.wdb.Close())
		}
	})
	return s.closeErr
}

// Request states.
const (
	reqPending int32 = iota
	reqRunning
	reqCanceled
)

type writeReq struct {
	fn    func(tx *wtx) error
	state atomic.Int32
	err   error
	panic any
	// after are fn's afterCommit functions: run in the writer goroutine
	// once the transaction has committed, in commit order, before the
	// caller is answered; dropped when fn fails.
	after []func()
	done  chan struct{}
}

// write runs fn in a write transaction (possibly shared with other requests,
// isolated by a savepoint) and returns its error, or the commit's. fn must
// not use ctx for its statements: an interrupted statement may abort the
// whole shared transaction. ctx only bounds the wait before fn starts; once
// it has started, write waits for the commit so that its result is known.
func (s *Store) write(ctx context.Context, fn func(tx *wtx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r := &writeReq{fn: fn, done: make(chan struct{})}
	if s.readOnly {
		return ErrReadOnly
	}
	s.closeMu.RLock()
	if s.closed {
		s.closeMu.RUnlock()
		return ErrClosed
	}
	select {
	case s.reqs <- r:
		s.closeMu.RUnlock()
	case <-ctx.Done():
		s.closeMu.RUnlock()
		return ctx.Err()
	}
	select {
	case <-r.done:
	case <-ctx.Done():
		if r.state.CompareAndSwap(reqPending, reqCanceled) {
			return ctx.Err()
		}
		<-r.done
	}
	if r.panic != nil {
		panic(r.panic)
	}
	if r.err != nil && isFull(r.err) {
		if sp := s.space.Load(); sp != nil {
			(*sp).MetadataWriteFailed()
		}
		return fmt.Errorf("%w (%w)", diskspace.ErrFull, r.err)
	}
	return r.err
}

// isFull reports whether err is SQLite's "database or disk is full"
// (SQLITE_FULL, which the VFS answers for ENOSPC) or ENOSPC itself.
func isFull(err error) bool {
	var se *sqlitedrv.Error
	if errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_FULL {
		return true
	}
	return errors.Is(err, syscall.ENOSPC)
}

// Space is told about metadata writes and the disk space they need
// (package diskspace).
type Space interface {
	// BeforeMetadataWrite runs before each write transaction, in the
	// writer goroutine: it may release reserved space.
	BeforeMetadataWrite()
	// MetadataWriteFailed is told that a write failed for lack of space.
	MetadataWriteFailed()
}

// SetSpace sets who is told about writes and lack of space; nil for nobody.
func (s *Store) SetSpace(sp Space) {
	if sp == nil {
		s.space.Store(nil)
		return
	}
	s.space.Store(&sp)
}

func (s *Store) writer() {
	defer close(s.done)
	defer func() {
		for _, st := range s.stmts {
			st.Close()
		}
	}()
	batch := make([]*writeReq, 0, s.maxBatch)
	for {
		var r *writeReq
		select {
		case r = <-s.reqs:
		case <-s.quit:
			// Serve what was queued before Close.
			for {
				select {
				case r = <-s.reqs:
					s.runBatch([]*writeReq{r})
				default:
					return
				}
			}
		}
		batch = append(batch[:0], r)
	fill:
		for len(batch) < s.maxBatch {
			select {
			case r = <-s.reqs:
				batch = append(batch, r)
			default:
				break fill
			}
		}
		s.runBatch(batch)
		clear(batch)
	}
}

// SetBlocking sets who is told when a commit starts (Enter) and ends
// (Leave): its fsync blocks in the kernel (see package blocking). nil for
// nobody.
func (s *Store) SetBlocking(b blocking.Hint) {
	if b == nil {
		s.blocking.Store(nil)
		return
	}
	s.blocking.Store(&b)
}

// commit commits the write transaction, telling the blocking hint.
func (s *Store) commit(tx *sql.Tx) error {
	if b := s.blocking.Load(); b != nil {
		(*b).Enter()
		defer (*b).Leave()
	}
	return tx.Commit()
}

// runBatch runs the requests in one transaction, each in a savepoint.
func (s *Store) runBatch(batch []*writeReq) {
	var live []*writeReq
	for _, r := range batch {
		if r.state.CompareAndSwap(reqPending, reqRunning) {
			live = append(live, r)
		}
	}
	if len(live) == 0 {
		return
	}
	if sp := s.space.Load(); sp != nil {
		(*sp).BeforeMetadataWrite()
	}
	ctx := context.Background()
	fail := func(err error) {
		for _, r := range live {
			if r.err == nil && r.panic == nil {
				r.err = err
			}
			close(r.done)
		}
	}
	sqlTx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		s.logger.Error("meta/sqlite: begin write transaction", "err", err)
		fail(fmt.Errorf("meta/sqlite: begin: %w", err))
		return
	}
	tx := &wtx{tx: sqlTx, s: s}
	defer s.prepareMissing()
	single := len(live) == 1
	for _, r := range live {
		if !single {
			if _, err := tx.ExecContext(ctx, `SAVEPOINT req`); err != nil {
				_ = sqlTx.Rollback()
				s.logger.Error("meta/sqlite: savepoint", "err", err)
				fail(fmt.Errorf("meta/sqlite: savepoint: %w", err))
				return
			}
		}
		tx.cur = r
		r.panic, r.err = runFn(r.fn, tx)
		if single {
			break
		}
		if r.err != nil || r.panic != nil {
			r.after = nil
			if _, err := tx.ExecContext(ctx, `ROLLBACK TO SAVEPOINT req`); err != nil {
				_ = sqlTx.Rollback()
				s.logger.Error("meta/sqlite: rollback to savepoint", "err", err)
				fail(fmt.Errorf("meta/sqlite: transaction aborted by a concurrent request: %w", err))
				return
			}
		}
		if _, err := tx.ExecContext(ctx, `RELEASE SAVEPOINT req`); err != nil {
			_ = sqlTx.Rollback()
			s.logger.Error("meta/sqlite: release savepoint", "err", err)
			fail(fmt.Errorf("meta/sqlite: transaction aborted by a concurrent request: %w", err))
			return
		}
	}
	if single && (live[0].err != nil || live[0].panic != nil) {
		_ = sqlTx.Rollback()
		live[0].after = nil
		close(live[0].done)
		return
	}
	if err := s.commit(sqlTx); err != nil {
		if isFull(err) {
			s.logger.Warn("meta/sqlite: commit: no space left on the data volume", "err", err, "batch", len(live))
		} else {
			s.logger.Error("meta/sqlite: commit", "err", err, "batch", len(live))
		}
		fail(fmt.Errorf("meta/sqlite: commit: %w", err))
		return
	}
	s.commits.Add(1)
	for _, r := range live {
		for _, f := range r.after {
			f()
		}
		r.after = nil
		close(r.done)
	}
}

func runFn(fn func(*wtx) error, tx *wtx) (p any, err error) {
	defer func() {
		if v := recover(); v != nil {
			p = v
		}
	}()
	return nil, fn(tx)
}

// maxStmts bounds the write statement cache.
const maxStmts = 128

// wtx is a write transaction that runs statements through the prepared
// statement cache: re-parsing SQL was about half of the writer's CPU time.
// A statement seen for the first time runs unprepared and is prepared on the
// write connection after the batch, when the connection is free again.
type wtx struct {
	tx    *sql.Tx
	s     *Store
	local map[string]*sql.Stmt // cached statements bound to tx
	cur   *writeReq            // the request whose fn runs now
}

// afterCommit runs f in the writer goroutine once this request's changes
// have committed, before its caller is answered; not at all if they roll
// back. Writes run their functions in commit order, so a function may set
// a cache entry to the value the write committed: a later write's
// function always comes after. f must be quick and must not write.
func (w *wtx) afterCommit(f func()) {
	if w.cur == nil { // not through runBatch (never in this package)
		panic("meta/sqlite: afterCommit outside a write")
	}
	w.cur.after = append(w.cur.after, f)
}

func (w *wtx) stmt(ctx context.Context, q string) *sql.Stmt {
	if st := w.local[q]; st != nil {
		return st
	}
	ps := w.s.stmts[q]
	if ps == nil {
		if len(w.s.stmts) < maxStmts {
			w.s.missing[q] = true
		}
		return nil
	}
	st := w.tx.StmtContext(ctx, ps)
	if w.local == nil {
		w.local = map[string]*sql.Stmt{}
	}
	w.local[q] = st
	return st
}

func (w *wtx) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if st := w.stmt(ctx, q); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return w.tx.ExecContext(ctx, q, args...)
}

func (w *wtx) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if st := w.stmt(ctx, q); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return w.tx.QueryContext(ctx, q, args...)
}

func (w *wtx) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	if st := w.stmt(ctx, q); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return w.tx.QueryRowContext(ctx, q, args...)
}

// prepareMissing prepares the statements the last batch ran unprepared.
// It runs in the writer goroutine between transactions.
func (s *Store) prepareMissing() {
	for q := range s.missing {
		if len(s.stmts) >= maxStmts {
			break
		}
		st, err := s.wdb.PrepareContext(context.Background(), q)
		if err != nil {
			s.logger.Warn("meta/sqlite: prepare statement", "err", err)
			continue
		}
		s.stmts[q] = st
	}
	clear(s.missing)
}
