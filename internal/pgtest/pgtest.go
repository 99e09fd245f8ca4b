// Package pgtest gives tests a fresh, empty PostgreSQL database.
//
// DSN returns a postgres:// URL naming a new database, dropped when the test
// ends. The server behind it is:
//
//   - the one POSTERN_TEST_POSTGRES names (a postgres:// URL of a role with
//     CREATEDB, connecting to a database other than the templates, such as
//     /postgres), when set;
//   - otherwise ONE throw-away cluster per test binary, made from Debian's
//     PostgreSQL (/usr/lib/postgresql/*/bin) in a temporary folder: it
//     listens on a free 127.0.0.1 port and a socket in that folder only,
//     runs as the postgres user when the tests run as root (initdb refuses
//     root), and has a random password. It is stopped and its folder
//     removed when the test binary ends, which is why a package using DSN
//     must call Main from its TestMain. If the test binary is killed, the
//     server gets SIGQUIT from the kernel (parent-death signal) and stops
//     at once; the folder left behind is removed by the next test binary
//     that starts a cluster.
//
// The throw-away cluster trades durability for speed (fsync=off,
// synchronous_commit=off, full_page_writes=off): fine for tests, never for
// data anyone keeps. Its default collation is ICU's root locale
// (linguistic order, like a typical production database created with
// en_US.UTF-8), so a column that should compare bytes and forgets
// COLLATE "C" shows up in tests.
//
// Without PostgreSQL installed the tests fail and say to run
// scripts/deps.sh; they are skipped only when POSTERN_TEST_POSTGRES=skip.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvVar names the variable that points the tests at a server of one's own
// (a postgres:// URL), or skips them ("skip").
const EnvVar = "POSTERN_TEST_POSTGRES"

// hangGuard bounds each administrative step (start, create, drop) so that a
// wedged server fails the test instead of hanging it. It is not a timing
// assertion: every step normally takes a small fraction of it.
const hangGuard = 2 * time.Minute

var (
	mainRunning atomic.Bool

	startOnce sync.Once
	admin     *url.URL // superuser connection to an administrative database
	own       *cluster // the throw-away cluster, nil when EnvVar names a server
	startErr  error
)

// Main runs the tests of a package that uses DSN and then stops the
// throw-away cluster, if one was started, and removes its folder:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
func Main(m *testing.M) {
	mainRunning.Store(true)
	code := m.Run()
	if own != nil {
		if err := own.stop(); err != nil {
			fmt.Fprintf(os.Stderr, "pgtest: stopping the throw-away PostgreSQL: %v\n", err)
			if code == 0 {
				code = 1
			}
		}
	}
	os.Exit(code)
}

// DSN creates an empty database (UTF8) and returns a postgres:// URL that
// connects to it as a superuser (or as the role of POSTERN_TEST_POSTGRES).
// The database is dropped, connections and all, when the test ends.
func DSN(t testing.TB) string {
	t.Helper()
	env := strings.TrimSpace(os.Getenv(EnvVar))
	if env == "skip" {
		t.Skipf("PostgreSQL tests skipped: %s=skip", EnvVar)
	}
	startOnce.Do(func() { admin, own, startErr = start(env) })
	if startErr != nil {
		t.Fatalf("pgtest: %v", startErr)
	}
	return createDatabase(t, admin)
}

// createDatabase creates an empty database on the server adminURL connects
// to, dropped when the test ends, and returns its URL.
func createDatabase(t testing.TB, adminURL *url.URL) string {
	t.Helper()
	adminExec := func(ctx context.Context, sql string) error { return adminExecOn(ctx, adminURL, sql) }
	var b [8]byte
	_, _ = rand.Read(b[:])
	name := "postern_test_" + hex.EncodeToString(b[:])
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	if err := adminExec(ctx, `CREATE DATABASE `+pgx.Identifier{name}.Sanitize()+` TEMPLATE template0 ENCODING 'UTF8'`); err != nil {
		t.Fatalf("pgtest: create database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
		defer cancel()
		if err := adminExec(ctx, `DROP DATABASE IF EXISTS `+pgx.Identifier{name}.Sanitize()+` WITH (FORCE)`); err != nil {
			t.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	u := *adminURL
	u.Path = "/" + name
	u.RawPath = ""
	return u.String()
}

// start finds or starts the server and returns its administrative URL.
func start(env string) (*url.URL, *cluster, error) {
	if env != "" {
		u, err := url.Parse(env)
		if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Host == "" {
			return nil, nil, fmt.Errorf("%s must be a postgres://user:password@host:port/database URL or \"skip\"", EnvVar)
		}
		return u, nil, nil
	}
	if !mainRunning.Load() {
		return nil, nil, errors.New("the package's TestMain must call pgtest.Main(m), which stops the throw-away PostgreSQL when the tests end")
	}
	c, err := startCluster()
	if err != nil {
		return nil, nil, err
	}
	return c.url, c, nil
}

func adminExecOn(ctx context.Context, adminURL *url.URL, sql string) error {
	conn, err := pgx.Connect(ctx, adminURL.String())
	if err != nil {
		return redact(adminURL, err)
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, sql)
	return redact(adminURL, err)
}

// redact keeps the administrative password out of error text.
func redact(adminURL *url.URL, err error) error {
	if err == nil {
		return nil
	}
	if pw, ok := adminURL.User.Password(); ok && pw != "" && strings.Contains(err.Error(), pw) {
		return errors.New(strings.ReplaceAll(err.Error(), pw, "xxxxx"))
	}
	return err
}
