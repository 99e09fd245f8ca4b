package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"regexp"
	"strconv"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// The migrations are migrations/NNNN_name.sql, numbered from 0001 without
// gaps; NNNN brings the schema from version NNNN-1 to NNNN. Never edit a
// released migration: add the next one.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

type migration struct {
	version int
	name    string // file name
	sql     string
}

var migrationName = regexp.MustCompile(`^([0-9]{4})_[a-z0-9_]+\.sql$`)

// loadMigrations reads and checks the migrations of fsys's migrations folder.
func loadMigrations(fsys fs.FS) ([]migration, error) {
	entries, err := fs.ReadDir(fsys, "migrations")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range entries { // sorted by name
		m := migrationName.FindStringSubmatch(e.Name())
		if m == nil || e.IsDir() {
			return nil, fmt.Errorf("migration %s: name must be NNNN_lower_case_words.sql", e.Name())
		}
		v, _ := strconv.Atoi(m[1])
		if v != len(ms)+1 {
			return nil, fmt.Errorf("migration %s: expected version %d next (numbered from 0001 without gaps or repeats)", e.Name(), len(ms)+1)
		}
		b, err := fs.ReadFile(fsys, path.Join("migrations", e.Name()))
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: e.Name(), sql: string(b)})
	}
	if len(ms) == 0 {
		return nil, errors.New("no migrations")
	}
	return ms, nil
}

var migrations, migrationsErr = loadMigrations(migrationFiles)

// SchemaVersion is the newest schema version this Postern knows.
func SchemaVersion() int { return len(migrations) }

// ErrSchemaTooNew: the database was migrated by a newer Postern.
var ErrSchemaTooNew = errors.New("meta/postgres: database schema is newer than this Postern knows")

// migrationLock is the advisory lock (pg_advisory_xact_lock) every
// migration transaction takes first, so nodes starting at once apply each
// migration once, in turn: "posternm" in ASCII.
const migrationLock int64 = 0x706f737465726e6d

// Migrate brings the database to SchemaVersion, one migration per
// transaction, each under the advisory lock, and returns the version the
// database is at. A database whose version is newer than SchemaVersion is
// refused with ErrSchemaTooNew. Safe to call from several nodes at once.
func Migrate(ctx context.Context, pool *pgxpool.Pool, logger *slog.Logger) (int, error) {
	if migrationsErr != nil {
		return 0, fmt.Errorf("meta/postgres: built-in migrations: %w", migrationsErr)
	}
	// Waiting for another node's migration (the advisory lock) and
	// applying a long one are slow by design: no per-statement bound
	// (Options.OpTimeout), only ctx's.
	ctx = Unbounded(ctx)
	for {
		version, applied, err := migrateStep(ctx, pool)
		if err != nil {
			return version, err
		}
		if applied == nil {
			return version, nil
		}
		if logger != nil {
			logger.Info("meta/postgres: applied schema migration", "version", applied.version, "file", applied.name)
		}
	}
}

// migrateStep applies the next migration, if any, in one transaction.
// It returns the version the database is at and the migration applied
// (nil when the schema was already current).
func migrateStep(ctx context.Context, pool *pgxpool.Pool) (version int, applied *migration, err error) {
	tx, err := pool.Begin(ctx)
	if err != nil {
		return 0, nil, fmt.Errorf("meta/postgres: migrate: begin: %w", err)
	}
	// Unconditional: a no-op after Commit, and it returns the connection
	// to the pool on every other way out (a panic included).
	defer func() { _ = tx.Rollback(context.Background()) }()
	if _, err = tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, migrationLock); err != nil {
		return 0, nil, fmt.Errorf("meta/postgres: migrate: take the migration lock: %w", err)
	}
	// One row: the schema's version and when it was set.
	if _, err = tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_version (
		singleton  boolean     NOT NULL PRIMARY KEY DEFAULT true CHECK (singleton),
		version    integer     NOT NULL CHECK (version >= 0),
		updated_at timestamptz NOT NULL DEFAULT now()
	)`); err != nil {
		return 0, nil, fmt.Errorf("meta/postgres: migrate: create schema_version: %w", err)
	}
	switch err = tx.QueryRow(ctx, `SELECT version FROM schema_version`).Scan(&version); {
	case errors.Is(err, pgx.ErrNoRows):
		if _, err = tx.Exec(ctx, `INSERT INTO schema_version (version) VALUES (0)`); err != nil {
			return 0, nil, fmt.Errorf("meta/postgres: migrate: initialise schema_version: %w", err)
		}
	case err != nil:
		return 0, nil, fmt.Errorf("meta/postgres: migrate: read schema_version: %w", err)
	}
	known := len(migrations)
	if version > known {
		err = fmt.Errorf("%w: the database is at schema version %d, this Postern knows versions 1 to %d; a newer Postern has migrated it: run that version (or newer) on this node too", ErrSchemaTooNew, version, known)
		return version, nil, err
	}
	if version == known {
		if err = tx.Commit(ctx); err != nil {
			return version, nil, fmt.Errorf("meta/postgres: migrate: commit: %w", err)
		}
		return version, nil, nil
	}
	m := &migrations[version]
	// Without arguments, Exec uses the simple query protocol, which runs
	// the file's several statements.
	if _, err = tx.Exec(ctx, m.sql); err != nil {
		return version, nil, fmt.Errorf("meta/postgres: migrate to version %d (%s): %w", m.version, m.name, err)
	}
	if _, err = tx.Exec(ctx, `UPDATE schema_version SET version = $1, updated_at = now()`, m.version); err != nil {
		return version, nil, fmt.Errorf("meta/postgres: migrate: set version %d: %w", m.version, err)
	}
	if err = tx.Commit(ctx); err != nil {
		return version, nil, fmt.Errorf("meta/postgres: migrate: commit version %d: %w", m.version, err)
	}
	return m.version, m, nil
}
