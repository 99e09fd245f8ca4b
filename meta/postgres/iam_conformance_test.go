package postgres

import (
	"context"
	"testing"

	"github.com/postern/postern/iam"
	"github.com/postern/postern/iam/iamtest"
	"github.com/postern/postern/internal/pgtest"
)

// openStore returns a Store on a new, empty database, closed when the test
// ends.
func openStore(t testing.TB) (*Store, string) {
	t.Helper()
	dsn := pgtest.DSN(t)
	return openStoreAt(t, dsn), dsn
}

// openStoreAt returns another Store (its own pool) on the database dsn.
func openStoreAt(t testing.TB, dsn string) *Store {
	t.Helper()
	s, err := OpenStore(context.Background(), dsn, Options{})
	if err != nil {
		t.Fatalf("OpenStore: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestIAMConformance(t *testing.T) {
	iamtest.Run(t, func(t *testing.T) iam.Store {
		s, _ := openStore(t)
		return s
	})
}
