package postgres

import (
	"context"
	"log/slog"
	"sync"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Store is Postern's metadata (meta.Store) and identity (iam.Store) store on
// PostgreSQL. Every method is one transaction (or one statement) against
// the database, so any number of Store instances, in one process or on
// many nodes, may share a database. Its only state besides the pool is the
// optional node-side cache (UseCache, cache.go), exact through the
// database's invalidation events.
//
// The meta.Store methods are in the meta*.go files, the iam.Store methods
// in iam*.go.
type Store struct {
	pool   *pgxpool.Pool
	logger *slog.Logger
	// cache is nil unless UseCache gave the Store a Listener (cache.go).
	cache *nodeCache

	closeOnce sync.Once
}

// New returns a Store on pool, after bringing the database's schema to the
// version this Postern knows (Migrate). The Store owns the pool from then
// on: Close closes it. logger may be nil.
func New(ctx context.Context, pool *pgxpool.Pool, logger *slog.Logger) (*Store, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if _, err := Migrate(ctx, pool, logger); err != nil {
		return nil, err
	}
	return &Store{pool: pool, logger: logger}, nil
}

// OpenStore connects to the database the URL names (Connect) and returns a
// Store on it (New). Options.Logger receives the migration lines.
func OpenStore(ctx context.Context, rawURL string, opts Options) (*Store, error) {
	pool, err := Connect(ctx, rawURL, opts)
	if err != nil {
		return nil, err
	}
	s, err := New(ctx, pool, opts.Logger)
	if err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the pool, waiting for the connections in use to be
// returned. Calls after the first do nothing.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		if s.cache != nil {
			s.cache.unsubscribe()
		}
		s.pool.Close()
	})
	return nil
}
