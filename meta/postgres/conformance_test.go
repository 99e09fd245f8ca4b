package postgres

import (
	"context"
	"testing"

	"github.com/postern/postern/internal/pgtest"
	"github.com/postern/postern/meta"
	"github.com/postern/postern/meta/metatest"
)

// newStore opens a Store on a fresh database (pgtest.DSN).
func newStore(t testing.TB, dsn string) *Store {
	t.Helper()
	s, err := OpenStore(context.Background(), dsn, Options{})
	if err != nil {
		t.Fatalf("OpenStore: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// The meta.Store conformance suite. The PostgreSQL store has one
// configuration: it caches nothing (every node reads the database).
func TestMetaConformance(t *testing.T) {
	metatest.Run(t, func(t *testing.T) meta.Store { return newStore(t, pgtest.DSN(t)) })
}
