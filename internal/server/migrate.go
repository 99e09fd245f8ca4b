package server

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/postern/postern/blob"
	"github.com/postern/postern/blob/s3blob"
	"github.com/postern/postern/iam"
	"github.com/postern/postern/meta"
	"github.com/postern/postern/meta/postgres"
	"github.com/postern/postern/meta/sqlite"
	"github.com/postern/postern/migrate"
	"github.com/postern/postern/share"
)

// MigrateMain runs `postern migrate --from DATA --meta TARGET [--blobs B]`:
// it copies the embedded deployment in DATA (meta.db and its object files)
// into the target's stores (package migrate) and prints its progress and a
// summary on stderr. DATA is opened read-only and locked against servers
// for the whole run.
func MigrateMain(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("postern migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	from := fs.String("from", "", "the data folder of the deployment to copy (its server must be stopped); it is only read")
	fromBlobs := fs.String("from-blobs", "", "where that deployment's object files are, if its server ran with --blobs (default: FROM/blobs)")
	target := fs.String("meta", "", "where metadata and identities go: postgres://USER@HOST:PORT/DB?sslmode=… (env POSTERN_META), or the directory of a new embedded data folder")
	blobsTo := fs.String("blobs", "", "where object bytes go: a directory, file:///path or s3://BUCKET/PREFIX?endpoint=URL&region=R (credentials from the standard AWS chain) (env POSTERN_BLOBS; default for a data folder target: META/blobs)")
	every := fs.Duration("progress", 2*time.Second, "least time between two progress lines (0: one line per object)")
	serverKey := fs.String("server-key", "", "the server key the deployment ran with, if not FROM/server.key (env POSTERN_SERVER_KEY)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: postern migrate --from DATA_DIR --meta postgres://… --blobs DIR|s3://BUCKET/PREFIX?endpoint=URL\n\nCopies an embedded deployment (SQLite and files in DATA_DIR) into PostgreSQL and shared storage.\nResumable: run it again after an interruption; a run over a migrated target changes nothing.\n\nFlags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	orEnv := func(v *string, env string) {
		if *v == "" {
			*v = os.Getenv(env)
		}
	}
	orEnv(target, "POSTERN_META")
	orEnv(blobsTo, "POSTERN_BLOBS")
	orEnv(serverKey, "POSTERN_SERVER_KEY")
	if *from == "" || *target == "" {
		fs.Usage()
		return errors.New("migrate: --from and --meta are required")
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	return runMigrate(ctx, migrateConfig{from: *from, fromBlobs: *fromBlobs, target: *target, blobs: *blobsTo, serverKey: *serverKey, progress: max(*every, time.Nanosecond)}, stderr)
}

type migrateConfig struct {
	from, fromBlobs, target, blobs, serverKey string
	progress                                  time.Duration
}

func isPostgresURL(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

func runMigrate(ctx context.Context, c migrateConfig, out io.Writer) error {
	logger := slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{Level: slog.LevelWarn}))
	src := filepath.Clean(c.from)
	if fi, err := os.Stat(filepath.Join(src, "meta.db")); err != nil || !fi.Mode().IsRegular() {
		return fmt.Errorf("migrate: %s holds no Postern metadata database (meta.db): give the data folder of a stopped server", src)
	}
	// No server may run on the source meanwhile: take its lock (read-only,
	// so the lock file keeps its bytes) and hold it to the end.
	lock, err := lockSource(src)
	if err != nil {
		return err
	}
	if lock != nil {
		defer lock.Close()
	}
	key, keyFromFile, err := sourceServerKey(src, c.serverKey)
	if err != nil {
		return err
	}
	defer clear(key)
	checker, err := iam.NewSecretChecker(key)
	if err != nil {
		return err
	}

	fromDB, err := sqlite.OpenReadOnly(ctx, filepath.Join(src, "meta.db"), logger)
	if err != nil {
		return fmt.Errorf("migrate: source: %w", err)
	}
	defer fromDB.Close()
	fromBlobDir := c.fromBlobs
	if fromBlobDir == "" {
		fromBlobDir = filepath.Join(src, "blobs")
	}
	if fi, err := os.Stat(fromBlobDir); err != nil || !fi.IsDir() {
		return fmt.Errorf("migrate: the source's object files %s are missing: give --from-blobs if its server ran with --blobs", fromBlobDir)
	}
	fromBlobs, err := blob.OpenDir(fromBlobDir)
	if err != nil {
		return fmt.Errorf("migrate: source: %w", err)
	}

	var toMeta meta.Store
	var toIAM iam.Store
	var toShares share.Store
	var blobsDefault string
	shown := c.target
	if isPostgresURL(c.target) {
		shown = postgres.Redacted(c.target)
		pg, err := postgres.OpenStore(ctx, c.target, postgres.Options{Logger: logger})
		if err != nil {
			return fmt.Errorf("migrate: target: %w", err)
		}
		defer pg.Close()
		var ok bool
		var st any = pg
		if toMeta, ok = st.(meta.Store); !ok {
			return errors.New("migrate: this build's PostgreSQL store does not implement meta.Store yet")
		}
		if toIAM, ok = st.(iam.Store); !ok {
			return errors.New("migrate: this build's PostgreSQL store does not implement iam.Store yet")
		}
		toShares = pg
		if c.blobs == "" {
			return errors.New("migrate: --blobs is required with a PostgreSQL target: the directory (or file:///path), or the s3:// back end, the nodes will share")
		}
	} else {
		dst := filepath.Clean(c.target)
		if same, _ := sameDir(src, dst); same {
			return errors.New("migrate: --meta names the source data folder itself")
		}
		if err := os.MkdirAll(dst, 0o700); err != nil {
			return fmt.Errorf("migrate: target: %w", err)
		}
		tlock, err := lockDataDir(dst) // no server on the target meanwhile
		if err != nil {
			return fmt.Errorf("migrate: target: %w", err)
		}
		defer tlock.Close()
		if err := carryKeyFiles(src, dst, key, keyFromFile); err != nil {
			return err
		}
		db, err := sqlite.Open(ctx, filepath.Join(dst, "meta.db"), logger)
		if err != nil {
			return fmt.Errorf("migrate: target: %w", err)
		}
		defer db.Close()
		toMeta, toIAM, toShares, blobsDefault = db, db, db, filepath.Join(dst, "blobs")
	}
	loc, err := parseBlobs(c.blobs, "")
	if c.blobs == "" {
		loc, err = BlobLocation{Dir: blobsDefault}, nil
	}
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	var toBlobs blob.Backend
	blobsShown := loc.Dir
	if loc.S3 != nil {
		st, err := s3blob.Open(ctx, *loc.S3)
		if err != nil {
			return fmt.Errorf("migrate: target: %w", err)
		}
		if err := st.Check(ctx); err != nil {
			return fmt.Errorf("migrate: target: blobs %s: %w", loc.S3, err)
		}
		toBlobs, blobsShown = st, loc.S3.String()
	} else {
		if same, _ := sameDir(fromBlobDir, loc.Dir); same {
			return errors.New("migrate: --blobs names the source's own object files")
		}
		d, err := blob.OpenDir(loc.Dir)
		if err != nil {
			return fmt.Errorf("migrate: target: %w", err)
		}
		toBlobs = d
	}

	fmt.Fprintf(out, "postern migrate: copying %s (object files in %s) into %s, object files into %s\n", src, fromBlobDir, shown, blobsShown)
	started := time.Now()
	sum, err := migrate.Run(ctx,
		migrate.Stores{Meta: fromDB, IAM: fromDB, Blobs: fromBlobs, Shares: fromDB},
		migrate.Stores{Meta: toMeta, IAM: toIAM, Blobs: toBlobs, Shares: toShares},
		migrate.Options{Progress: out, ProgressEvery: c.progress, Secrets: checker})
	fmt.Fprintf(out, "postern migrate: summary (%s):\n", time.Since(started).Round(time.Millisecond))
	sum.WriteSummary(out)
	if err != nil {
		if errors.Is(err, migrate.ErrFailed) {
			return fmt.Errorf("migrate: %d items were NOT copied (listed above); fix them and run again: what was copied stays", len(sum.Failures))
		}
		if ctx.Err() != nil {
			return errors.New("migrate: interrupted; run the same command again to continue")
		}
		return fmt.Errorf("migrate: %w", err)
	}
	if sum.Copied() == 0 {
		fmt.Fprintf(out, "postern migrate: nothing to do: the target already holds everything in %s\n", src)
	} else {
		fmt.Fprintf(out, "postern migrate: done; %s was left unchanged\n", src)
	}
	fmt.Fprintf(out, "Start the new nodes with the same server key (%s) and root credentials (%s or POSTERN_ROOT_ACCESS_KEY/SECRET_KEY): stored secrets were copied sealed with that key.\n",
		keySource(src, keyFromFile), filepath.Join(src, rootCredentialsFile))
	return nil
}

func keySource(src string, fromFile bool) string {
	if fromFile {
		return filepath.Join(src, iam.ServerKeyFile)
	}
	return "the --server-key given"
}

// lockSource takes the source data folder's lock for the run, refusing
// while a server holds it (the message names its PID). The lock file is
// opened read-only and never written; a folder without one (a server that
// never ran there) is not locked.
func lockSource(dir string) (*os.File, error) {
	path := filepath.Join(dir, lockFileName)
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("migrate: data folder lock: %w", err)
	}
	if err := lockFile(f); err != nil {
		f.Close()
		if !errors.Is(err, errDataLocked) {
			return nil, fmt.Errorf("migrate: data folder lock %s: %w", path, err)
		}
		holder := "another process"
		if pid := readLockPID(path); pid > 0 {
			holder = fmt.Sprintf("a running server (pid %d)", pid)
		}
		return nil, fmt.Errorf("migrate: data folder %s is in use by %s: stop it first (lock file %s)", dir, holder, path)
	}
	return f, nil
}

// sourceServerKey returns the key the source's secrets are sealed with:
// given, or read from DATA/server.key, which is never created here.
func sourceServerKey(src, given string) (key []byte, fromFile bool, err error) {
	if given != "" {
		key, err = iam.ParseServerKey(given)
		return key, false, err
	}
	if _, err := os.Stat(filepath.Join(src, iam.ServerKeyFile)); err != nil {
		return nil, false, fmt.Errorf("migrate: %s: %v; give --server-key, the key the server ran with", filepath.Join(src, iam.ServerKeyFile), err)
	}
	key, _, err = iam.LoadServerKey(src, "")
	return key, true, err
}

// carryKeyFiles gives a new data folder the source's server key file (its
// secrets are sealed with it) and root credentials file, so that `postern
// server --data TARGET` starts as the source did. A target that already
// has another key is refused.
func carryKeyFiles(src, dst string, key []byte, keyFromFile bool) error {
	if keyFromFile {
		path := filepath.Join(dst, iam.ServerKeyFile)
		cur, err := os.ReadFile(path)
		switch {
		case err == nil && !bytes.Equal(cur, key):
			return fmt.Errorf("migrate: %s holds another server key than the source's; secrets copied there would not open", path)
		case errors.Is(err, fs.ErrNotExist):
			if err := writeFileSync(path, key); err != nil {
				return fmt.Errorf("migrate: %w", err)
			}
		case err != nil:
			return fmt.Errorf("migrate: %w", err)
		}
	}
	creds, err := os.ReadFile(filepath.Join(src, rootCredentialsFile))
	if err == nil {
		path := filepath.Join(dst, rootCredentialsFile)
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			if err := writeFileSync(path, creds); err != nil {
				return fmt.Errorf("migrate: %w", err)
			}
		}
	}
	return nil
}

func writeFileSync(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, werr := f.Write(data)
	serr := f.Sync()
	if err := errors.Join(werr, serr, f.Close()); err != nil {
		os.Remove(path)
		return err
	}
	return nil
}

// sameDir reports whether a and b name one existing directory.
func sameDir(a, b string) (bool, error) {
	fa, err := os.Stat(a)
	if err != nil {
		return false, err
	}
	fb, err := os.Stat(b)
	if err != nil {
		return false, err
	}
	return os.SameFile(fa, fb), nil
}
