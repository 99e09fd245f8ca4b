package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"strings"
)

// ErrReadOnly is returned by the write methods of a store opened with
// OpenReadOnly.
var ErrReadOnly = errors.New("meta/sqlite: store opened read-only")

// OpenReadOnly opens the database at path for reading only, changing
// nothing on disk: no schema migration, no write connection, and SQLite's
// immutable mode, which takes no locks and creates no -wal or -shm file.
// (A plain read-only connection to a WAL database still creates or
// writes the -shm index.) Immutable mode reads the database file alone, so
// the database must have been closed cleanly: a -wal file that holds
// frames (a server that was killed) is refused with a message saying so,
// and so is a schema older or newer than this program's. The caller must
// keep writers away (postern migrate holds the data folder's lock).
// Write methods fail with ErrReadOnly.
func OpenReadOnly(ctx context.Context, path string, logger *slog.Logger) (*Store, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if path == "" || strings.ContainsAny(path, "?#%") || strings.HasPrefix(path, "file:") {
		return nil, fmt.Errorf("meta/sqlite: invalid database path %q", path)
	}
	if err := checkNoWAL(path); err != nil {
		return nil, err
	}
	rdb, err := sql.Open("sqlite", "file:"+path+"?mode=ro&immutable=1&_query_only=1")
	if err != nil {
		return nil, fmt.Errorf("meta/sqlite: open %s: %w", path, err)
	}
	rdb.SetMaxOpenConns(4)
	rdb.SetMaxIdleConns(4)
	var version int
	if err := rdb.QueryRowContext(ctx, `SELECT version FROM schema_version`).Scan(&version); err != nil {
		rdb.Close()
		return nil, fmt.Errorf("meta/sqlite: %s is not a Postern metadata database: %w", path, err)
	}
	if version != len(migrations) {
		rdb.Close()
		return nil, fmt.Errorf("meta/sqlite: %s has schema version %d, this program knows %d: start and stop this version's server on it once, then retry", path, version, len(migrations))
	}
	s := &Store{
		logger:   logger,
		rdb:      rdb,
		readOnly: true,
		quit:     make(chan struct{}),
		done:     make(chan struct{}),
		stmts:    map[string]*sql.Stmt{},
		missing:  map[string]bool{},
	}
	close(s.done) // no writer goroutine
	if err := s.prepareReads(ctx); err != nil {
		rdb.Close()
		return nil, err
	}
	return s, nil
}

// checkNoWAL refuses a database whose -wal file holds frames: those may be
// changes that are not in the database file yet, which immutable mode would
// not see.
func checkNoWAL(path string) error {
	fi, err := os.Stat(path + "-wal")
	if errors.Is(err, fs.ErrNotExist) || err == nil && fi.Size() == 0 {
		return nil
	}
	if err != nil {
		return fmt.Errorf("meta/sqlite: %w", err)
	}
	return fmt.Errorf("meta/sqlite: %s-wal holds %d bytes of changes that may not be in %s yet (the server was not stopped cleanly): start the server on this data folder once and stop it with Ctrl-C or SIGTERM, then retry", path, fi.Size(), path)
}
