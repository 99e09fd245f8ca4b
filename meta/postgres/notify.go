package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

// Invalidation across nodes (issue 19). A node may keep what it reads
// (credentials, policies, bucket configurations) only if it learns when
// another node changes it. Every write that can take access away sends an
// Event with pg_notify on the channel InvalidationChannel, inside its own
// transaction: PostgreSQL delivers it to every listening session when, and
// only when, the transaction commits. A Listener (one dedicated connection
// per node) receives the events and hands them to its subscribers.
//
// What a subscriber must do with them:
//   - an event names what changed: forget it;
//   - EventAll means "anything may have changed": forget everything. It is
//     sent when the listen connection is (re)established (events sent while
//     it was down are lost), when it is lost, and every Recheck as the
//     safety net;
//   - between a loss and the next EventAll, and whenever Trusted reports
//     false, cached entries must not be used: read the database.

// InvalidationChannel is the LISTEN/NOTIFY channel of invalidations.
const InvalidationChannel = "postern_invalidate"

// EventKind says what an Event is about.
type EventKind string

// The kinds of event; ID is, for each:
const (
	EventAll       EventKind = "all"        // (empty): everything may be stale
	EventAccessKey EventKind = "access-key" // access key id: deactivated, activated or deleted
	EventUser      EventKind = "user"       // user id: deleted, renamed or moved
	EventGroup     EventKind = "group"      // group id: deleted
	EventRole      EventKind = "role"       // role id: deleted, trust policy or settings changed
	EventPolicies  EventKind = "policies"   // user, group or role id: its inline or attached policies or (user) its groups changed
	EventPolicy    EventKind = "policy"     // managed policy id: its default version changed or it was deleted
	EventBucket    EventKind = "bucket"     // bucket name: its policy, public access block or CORS changed, or it was deleted
	EventObject    EventKind = "object"     // objectID(bucket, key): an existing object was replaced or deleted
)

// Event is one invalidation.
type Event struct {
	Kind EventKind
	ID   string
	// Reason says why an EventAll was sent (for logs); empty otherwise.
	Reason string
}

// payload encodes an event as a notification payload: KIND:ID.
func (e Event) payload() string { return string(e.Kind) + ":" + e.ID }

// parseEvent decodes a payload. Anything it does not know becomes EventAll:
// a newer node's event must not be ignored.
func parseEvent(p string) Event {
	kind, id, ok := strings.Cut(p, ":")
	switch k := EventKind(kind); k {
	case EventAccessKey, EventUser, EventGroup, EventRole, EventPolicies, EventPolicy, EventBucket, EventObject:
		if ok && id != "" {
			return Event{Kind: k, ID: id}
		}
	}
	return Event{Kind: EventAll, Reason: "unknown invalidation " + fmt.Sprintf("%.64q", p)}
}

// notify sends ev inside tx: it is delivered if tx commits. Writes of
// bucket configurations (policy, public access block, CORS) and bucket
// deletions call it with EventBucket. (Object writes send EventObject from
// their own statement: sqlUpdateObject, sqlDeleteObject.)
func notify(ctx context.Context, q querier, ev Event) error {
	if _, err := q.Exec(ctx, `SELECT pg_notify($1, $2)`, InvalidationChannel, ev.payload()); err != nil {
		return fmt.Errorf("meta/postgres: notify %s: %w", ev.payload(), err)
	}
	return nil
}

// ListenerOptions tune a Listener. The zero value gives the defaults.
type ListenerOptions struct {
	// Heartbeat: when the listen connection has been quiet this long it is
	// pinged; Trusted turns false when no ping or event has confirmed it for
	// two heartbeats. Default 250 ms.
	Heartbeat time.Duration
	// Recheck is the period of the safety-net EventAll. Default 30 s.
	Recheck time.Duration
	// MaxBackoff bounds the wait between reconnection attempts (doubling
	// from 50 ms). Default 5 s.
	MaxBackoff time.Duration
	Logger     *slog.Logger
}

// Listener receives invalidations on one dedicated connection (LISTEN) and
// calls its subscribers with them, in order, from one goroutine.
type Listener struct {
	cfg  *pgx.ConnConfig
	opts ListenerOptions
	log  *slog.Logger

	mu   sync.Mutex
	subs map[int]func(Event)
	next int

	// trustedUntil is the Unix time (ns) until which the connection is
	// known to have been listening; 0 while it is down.
	trustedUntil atomic.Int64
	pid          atomic.Uint32 // the listen session's backend pid (tests)

	cancel context.CancelFunc
	done   chan struct{}
}

// Listen starts a Listener on a connection of its own, configured as the
// Store's pool's connections are. Close it when done.
func (s *Store) Listen(opts ListenerOptions) *Listener {
	if opts.Heartbeat <= 0 {
		opts.Heartbeat = 250 * time.Millisecond
	}
	if opts.Recheck <= 0 {
		opts.Recheck = 30 * time.Second
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 5 * time.Second
	}
	l := &Listener{
		cfg:  s.pool.Config().ConnConfig.Copy(),
		opts: opts,
		log:  opts.Logger,
		subs: map[int]func(Event){},
		done: make(chan struct{}),
	}
	if l.log == nil {
		l.log = s.logger
	}
	ctx, cancel := context.WithCancel(context.Background())
	l.cancel = cancel
	go l.run(ctx)
	return l
}

// Subscribe adds fn, called with every event from the Listener's goroutine
// (it must not block); the returned function removes it.
func (l *Listener) Subscribe(fn func(Event)) (unsubscribe func()) {
	l.mu.Lock()
	id := l.next
	l.next++
	l.subs[id] = fn
	l.mu.Unlock()
	return func() {
		l.mu.Lock()
		delete(l.subs, id)
		l.mu.Unlock()
	}
}

// Trusted reports whether cached state may be used: the listen connection
// is up and was confirmed alive within the last two heartbeats, so any
// invalidation committed before then has been delivered.
func (l *Listener) Trusted() bool {
	u := l.trustedUntil.Load()
	return u != 0 && time.Now().UnixNano() < u
}

// Close stops the Listener and closes its connection.
func (l *Listener) Close() {
	l.cancel()
	<-l.done
}

func (l *Listener) deliver(ev Event) {
	l.mu.Lock()
	fns := make([]func(Event), 0, len(l.subs))
	for _, fn := range l.subs {
		fns = append(fns, fn)
	}
	l.mu.Unlock()
	for _, fn := range fns {
		fn(ev)
	}
}

func (l *Listener) confirm() {
	l.trustedUntil.Store(time.Now().Add(2 * l.opts.Heartbeat).UnixNano())
}

// run connects, listens and serves until ctx ends, reconnecting with
// backoff.
func (l *Listener) run(ctx context.Context) {
	defer close(l.done)
	backoff := 50 * time.Millisecond
	for ctx.Err() == nil {
		conn, err := l.connect(ctx)
		if err == nil {
			backoff = 50 * time.Millisecond
			l.pid.Store(conn.PgConn().PID())
			l.confirm()
			// Events sent while nobody listened are lost.
			l.deliver(Event{Kind: EventAll, Reason: "listening"})
			err = l.serve(ctx, conn)
			l.trustedUntil.Store(0)
			closeCtx, cancel := context.WithTimeout(context.Background(), time.Second)
			_ = conn.Close(closeCtx)
			cancel()
			if ctx.Err() != nil {
				return
			}
			l.deliver(Event{Kind: EventAll, Reason: "listen connection lost"})
		}
		l.log.Warn("meta/postgres: invalidation listener down; caches bypassed until it is back", "err", err, "retry_in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, l.opts.MaxBackoff)
	}
}

func (l *Listener) connect(ctx context.Context) (*pgx.Conn, error) {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, err := pgx.ConnectConfig(cctx, l.cfg.Copy())
	if err != nil {
		return nil, err
	}
	if _, err := conn.Exec(cctx, `LISTEN `+InvalidationChannel); err != nil {
		_ = conn.Close(context.Background())
		return nil, err
	}
	return conn, nil
}

// serve delivers notifications until the connection fails. A quiet
// connection is pinged every heartbeat: the answer comes after any
// notification committed before the ping, so a successful ping confirms
// that nothing was missed up to then.
func (l *Listener) serve(ctx context.Context, conn *pgx.Conn) error {
	lastRecheck := time.Now()
	for {
		wctx, cancel := context.WithTimeout(ctx, l.opts.Heartbeat)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case err == nil:
			l.confirm()
			l.deliver(parseEvent(n.Payload))
			continue
		case ctx.Err() != nil:
			return ctx.Err()
		case !errors.Is(err, context.DeadlineExceeded) && !conn.PgConn().IsClosed() && !isTimeout(err):
			return err
		case conn.PgConn().IsClosed():
			return err
		}
		pctx, cancel := context.WithTimeout(ctx, l.opts.Heartbeat)
		err = conn.Ping(pctx)
		cancel()
		if err != nil {
			return fmt.Errorf("heartbeat: %w", err)
		}
		l.confirm()
		if time.Since(lastRecheck) >= l.opts.Recheck {
			lastRecheck = time.Now()
			l.deliver(Event{Kind: EventAll, Reason: "periodic re-check"})
		}
	}
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}
