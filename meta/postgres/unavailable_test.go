package postgres

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/postern/postern/internal/pgtest"
	"github.com/postern/postern/meta"
)

func query(pool *pgxpool.Pool) error {
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	var n int
	return pool.QueryRow(ctx, `SELECT 1`).Scan(&n)
}

// A database that goes away (stopped, or frozen so that nothing answers)
// gives errors that Unavailable recognises and classify marks
// meta.ErrUnavailable, never a hang; when it is back, the same pool
// serves again (no poisoned connections).
func TestUnavailableAndRecovery(t *testing.T) {
	cl := pgtest.NewCluster(t)
	dsn := cl.DSN(t)
	pool, err := Connect(context.Background(), dsn, Options{OpTimeout: 500 * time.Millisecond, ConnectTimeout: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if err := query(pool); err != nil {
		t.Fatalf("before: %v", err)
	}
	// A real error of the server's is not unavailability.
	_, err = pool.Exec(context.Background(), `SELECT * FROM no_such_table`)
	if err == nil || Unavailable(err) || errors.Is(classify(err), meta.ErrUnavailable) {
		t.Fatalf("a missing table: %v (Unavailable=%v)", err, Unavailable(err))
	}

	check := func(what string) {
		t.Helper()
		err := query(pool)
		if err == nil {
			t.Fatalf("%s: a query succeeded", what)
		}
		if !Unavailable(err) || !errors.Is(classify(err), meta.ErrUnavailable) {
			t.Fatalf("%s: %v (%T) is not classified as unavailable", what, err, err)
		}
	}

	cl.Stop(t)
	// The pooled connection was ended by the shutdown; new ones are refused.
	check("stopped")
	check("stopped, again")
	cl.Start(t)
	if err := query(pool); err != nil {
		// A connection from before the restart may fail once.
		if !Unavailable(err) {
			t.Fatalf("after the restart: %v", err)
		}
		if err := query(pool); err != nil {
			t.Fatalf("after the restart, again: %v", err)
		}
	}

	// Frozen: the kernel accepts, nobody answers. The bounds end the wait.
	cl.Pause(t)
	check("paused")
	cl.Resume(t)
	if err := query(pool); err != nil {
		if !Unavailable(err) {
			t.Fatalf("after resuming: %v", err)
		}
		if err := query(pool); err != nil {
			t.Fatalf("after resuming, again: %v", err)
		}
	}
}

func TestClassify(t *testing.T) {
	if classify(nil) != nil {
		t.Fatal("classify(nil) != nil")
	}
	if err := classify(context.Canceled); errors.Is(err, meta.ErrUnavailable) {
		t.Error("a client that went away is not unavailability")
	}
	err := classify(fmt.Errorf("x: %w", context.DeadlineExceeded))
	if !errors.Is(err, meta.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("deadline: %v", err)
	}
	if other := errors.New("no"); classify(other) != other {
		t.Error("an ordinary error changed")
	}
}
