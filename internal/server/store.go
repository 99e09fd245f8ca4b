package server

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/postern/postern/iam"
	"github.com/postern/postern/meta"
	"github.com/postern/postern/meta/postgres"
	"github.com/postern/postern/meta/sqlite"
)

// openStores opens the metadata and identity store the configuration
// names: the embedded SQLite database in the data folder, or (--meta) a
// PostgreSQL database that several nodes may share. ping is the
// readiness check of the database.
func (s *Server) openStores(ctx context.Context) (meta.Store, iam.Store, func(context.Context) error, error) {
	cfg, logger := s.cfg, s.log
	if cfg.Meta != "" {
		shown := postgres.Redacted(cfg.Meta)
		logger.Info("metadata store: PostgreSQL", "url", shown)
		// 16 connections rather than pgx's default (4 on this 2-core
		// machine): a request waits on the database for most of its time,
		// and a pool of 4 left the CPU idle with 32 requests in flight
		// (docs/performance.md). The URL's pool_max_conns wins.
		pg, err := postgres.OpenStore(ctx, cfg.Meta, postgres.Options{Logger: logger, MaxConns: 16})
		if err != nil {
			return nil, nil, nil, fmt.Errorf("metadata store: %w", err)
		}
		s.pg = pg
		// Another node may change any row at any time: no cache is put in
		// front of this store (the caches exact for a single writer are
		// the SQLite store's own). The store's own cache of buckets,
		// access keys, identity policies and small (inline) objects is
		// exact across nodes: it forgets what the database's invalidation
		// events name, and is bypassed while the listener is not
		// confirmed alive.
		s.pgListen = pg.Listen(postgres.ListenerOptions{Logger: logger})
		copts := postgres.CacheOptions{}
		if !cfg.NodeObjectCache {
			copts.ObjectMaxEntries = -1 // --node-object-cache=false: strict read-after-write across nodes
		}
		pg.UseCache(s.pgListen, copts)
		var ms meta.Store = pg
		var is iam.Store = pg
		// The store's errors are the driver's: the front ends ask this
		// classifier which of them mean "unreachable" (503).
		s.unavailable = postgres.Unavailable
		return ms, is, pg.Ping, nil
	}
	// Every request reads its bucket; a short-lived cache spares most of
	// those reads. Recent objects' metadata (and small objects' bytes) are
	// kept in memory too, and share links' rows (read by each request
	// made with one). The embedded store is its database's only writer,
	// so it keeps them exact itself (package meta/sqlite).
	db, err := sqlite.Open(ctx, filepath.Join(cfg.Data, "meta.db"), logger,
		sqlite.WithBucketCache(time.Second), sqlite.WithObjectCache(50_000, 64<<20),
		sqlite.WithShareCache(20_000))
	if err != nil {
		return nil, nil, nil, fmt.Errorf("metadata store: %w", err)
	}
	s.db = db
	db.SetSpace(s.space)
	// The database holds encrypted secrets and every object's metadata:
	// readable by the server's user only, whatever the umask.
	for _, f := range []string{"meta.db", "meta.db-wal", "meta.db-shm"} {
		if err := os.Chmod(filepath.Join(cfg.Data, f), 0o600); err != nil && !errors.Is(err, fs.ErrNotExist) {
			logger.Warn("restricting database permissions", "file", f, "err", err)
		}
	}
	// The database answers: a lookup of a name no bucket can have (the
	// bucket cache never holds it).
	ping := func(ctx context.Context) error {
		_, err := db.GetBucket(ctx, "-")
		if errors.Is(err, meta.ErrNoSuchBucket) {
			return nil
		}
		return err
	}
	return db, db, ping, nil
}

// sharedSettings checks, for a node on a shared database (--meta), that
// what must be the same on every node comes from the configuration rather
// than from files each node's data folder would make up on its own: the
// server key (--server-key, which opens the secrets stored in the
// database) and the root credentials (POSTERN_ROOT_ACCESS_KEY/SECRET_KEY).
func sharedSettings(cfg *Config, getenv func(string) string) error {
	if cfg.ServerKey == "" {
		return errors.New("--meta: every node on a shared database needs the same server key: set --server-key (or POSTERN_SERVER_KEY) to 32 random bytes in hex or base64 (e.g. openssl rand -hex 32), the same on every node; a key file generated in each node's data folder would differ")
	}
	if getenv("POSTERN_ROOT_ACCESS_KEY") == "" || getenv("POSTERN_ROOT_SECRET_KEY") == "" {
		return errors.New("--meta: every node on a shared database needs the same root credentials: set POSTERN_ROOT_ACCESS_KEY and POSTERN_ROOT_SECRET_KEY, the same on every node; credentials generated in each node's data folder would differ")
	}
	return nil
}
