package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Default bounds on waiting for the database (Options). A node whose
// database hangs (a frozen host, a network that drops packets) must
// answer 503 rather than hold its requests, so no wait is open-ended.
const (
	// DefaultConnectTimeout bounds making one connection (TCP, TLS,
	// authentication), unless the URL sets connect_timeout.
	DefaultConnectTimeout = 5 * time.Second
	// DefaultOpTimeout bounds each statement (from sending it to its
	// last row) and each wait for a connection from the pool.
	DefaultOpTimeout = 10 * time.Second
)

// bounds is a pgx tracer that gives every statement, batch, prepare, copy
// and pool acquisition a deadline of its own: pgx runs the rest of the
// call under the context a Trace*Start returns (pgx.QueryTracer's
// contract), and the matching Trace*End cancels it. A context that
// already has an earlier deadline keeps it. Unbounded lifts the bound for
// waits that are long by design (the migration lock).
type bounds struct{ d time.Duration }

type cancelKey struct{}
type unboundedKey struct{}

// Unbounded returns ctx marked so that statements run under it get no
// deadline from Options.OpTimeout (only ctx's own).
func Unbounded(ctx context.Context) context.Context {
	return context.WithValue(ctx, unboundedKey{}, true)
}

// start returns ctx with a deadline b.d away; end cancels it. Calls nest
// (a pool acquisition pings the connection it hands out): an inner end
// must cancel only its own start's context, so a start that adds no
// deadline hides an outer one's cancel.
func (b bounds) start(ctx context.Context) context.Context {
	if b.d <= 0 || ctx.Value(unboundedKey{}) != nil {
		return ctx
	}
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) <= b.d {
		if ctx.Value(cancelKey{}) != nil {
			return context.WithValue(ctx, cancelKey{}, nil)
		}
		return ctx
	}
	ctx, cancel := context.WithTimeout(ctx, b.d)
	return context.WithValue(ctx, cancelKey{}, cancel)
}

func (b bounds) end(ctx context.Context) {
	if cancel, ok := ctx.Value(cancelKey{}).(context.CancelFunc); ok {
		cancel()
	}
}

func (b bounds) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	return b.start(ctx)
}
func (b bounds) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryEndData) { b.end(ctx) }

func (b bounds) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	return b.start(ctx)
}
func (b bounds) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData)     {}
func (b bounds) TraceBatchEnd(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchEndData) { b.end(ctx) }

func (b bounds) TracePrepareStart(ctx context.Context, _ *pgx.Conn, _ pgx.TracePrepareStartData) context.Context {
	return b.start(ctx)
}
func (b bounds) TracePrepareEnd(ctx context.Context, _ *pgx.Conn, _ pgx.TracePrepareEndData) {
	b.end(ctx)
}

func (b bounds) TraceCopyFromStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceCopyFromStartData) context.Context {
	return b.start(ctx)
}
func (b bounds) TraceCopyFromEnd(ctx context.Context, _ *pgx.Conn, _ pgx.TraceCopyFromEndData) {
	b.end(ctx)
}

func (b bounds) TraceAcquireStart(ctx context.Context, _ *pgxpool.Pool, _ pgxpool.TraceAcquireStartData) context.Context {
	return b.start(ctx)
}
func (b bounds) TraceAcquireEnd(ctx context.Context, _ *pgxpool.Pool, _ pgxpool.TraceAcquireEndData) {
	b.end(ctx)
}

var (
	_ pgx.QueryTracer       = bounds{}
	_ pgx.BatchTracer       = bounds{}
	_ pgx.PrepareTracer     = bounds{}
	_ pgx.CopyFromTracer    = bounds{}
	_ pgxpool.AcquireTracer = bounds{}
)
