package pgtest

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) { Main(m) }

func connect(t *testing.T, dsn string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// Each DSN is its own empty UTF8 database.
func TestDSNGivesFreshDatabases(t *testing.T) {
	ctx := context.Background()
	a, b := DSN(t), DSN(t)
	if a == b {
		t.Fatalf("two DSNs name the same database: %s", a)
	}
	ca, cb := connect(t, a), connect(t, b)
	var nameA, nameB, enc string
	if err := ca.QueryRow(ctx, `SELECT current_database(), pg_encoding_to_char(encoding) FROM pg_database WHERE datname = current_database()`).Scan(&nameA, &enc); err != nil {
		t.Fatal(err)
	}
	if enc != "UTF8" {
		t.Errorf("encoding = %s, want UTF8", enc)
	}
	if err := cb.QueryRow(ctx, `SELECT current_database()`).Scan(&nameB); err != nil {
		t.Fatal(err)
	}
	if nameA == nameB || !strings.HasPrefix(nameA, "postern_test_") {
		t.Fatalf("databases %q and %q", nameA, nameB)
	}
	var tables int
	if err := ca.QueryRow(ctx, `SELECT count(*) FROM pg_tables WHERE schemaname = 'public'`).Scan(&tables); err != nil {
		t.Fatal(err)
	}
	if tables != 0 {
		t.Fatalf("fresh database has %d tables", tables)
	}
	if _, err := ca.Exec(ctx, `CREATE TABLE only_in_a (x int)`); err != nil {
		t.Fatal(err)
	}
	if err := cb.QueryRow(ctx, `SELECT count(*) FROM pg_tables WHERE tablename = 'only_in_a'`).Scan(&tables); err != nil {
		t.Fatal(err)
	}
	if tables != 0 {
		t.Fatal("a table created in one test database is visible in the other")
	}
}

// The database of a test is dropped when the test ends.
func TestDSNDroppedAfterTest(t *testing.T) {
	var name string
	t.Run("inner", func(t *testing.T) {
		c := connect(t, DSN(t))
		if err := c.QueryRow(context.Background(), `SELECT current_database()`).Scan(&name); err != nil {
			t.Fatal(err)
		}
		// left open on purpose: the drop must end it (WITH (FORCE))
	})
	c := connect(t, admin.String())
	var n int
	if err := c.QueryRow(context.Background(), `SELECT count(*) FROM pg_database WHERE datname = $1`, name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("database %s still exists after its test ended", name)
	}
}

// The throw-away server listens on loopback only and refuses a wrong password.
func TestClusterIsLoopbackWithPassword(t *testing.T) {
	DSN(t)
	if own == nil {
		t.Skipf("%s names a server; nothing to check about the throw-away one", EnvVar)
	}
	c := connect(t, admin.String())
	var listen, fsync string
	if err := c.QueryRow(context.Background(), `SELECT current_setting('listen_addresses'), current_setting('fsync')`).Scan(&listen, &fsync); err != nil {
		t.Fatal(err)
	}
	if listen != "127.0.0.1" || fsync != "off" {
		t.Errorf("listen_addresses=%q fsync=%q", listen, fsync)
	}
	bad := *admin
	bad.User = url.UserPassword("postgres", "not-the-password")
	if conn, err := pgx.Connect(context.Background(), bad.String()); err == nil {
		conn.Close(context.Background())
		t.Fatal("connected with a wrong password")
	}
}

// helperEnv makes the test binary act as a test binary that started a
// cluster and is then killed.
const helperEnv = "PGTEST_KILLED_HELPER"

func TestHelperKilledBinary(t *testing.T) {
	if os.Getenv(helperEnv) != "1" {
		t.Skip("helper for TestKilledBinaryLeavesNoServer")
	}
	DSN(t)
	fmt.Printf("READY %d %s\n", own.pid, own.dir)
	select {} // until killed
}

// A test binary killed with SIGKILL (no TestMain epilogue) leaves no
// postgres running, and the next cluster start removes its folder.
func TestKilledBinaryLeavesNoServer(t *testing.T) {
	if os.Getenv(EnvVar) != "" {
		t.Skipf("%s is set: no throw-away cluster", EnvVar)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperKilledBinary$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperEnv+"=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	var pid int
	var dir string
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 3 && f[0] == "READY" {
			pid, _ = strconv.Atoi(f[1])
			dir = f[2]
			break
		}
	}
	if pid == 0 {
		t.Fatalf("helper did not report a cluster (%v)", sc.Err())
	}
	if !alive(pid) {
		t.Fatalf("postmaster %d not running while its test binary runs", pid)
	}
	port, err := readPort(filepath.Join(dir, "data", "postmaster.pid"))
	if err != nil {
		t.Fatal(err)
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()

	// Wait for the postmaster to go (bounded only so that a failure does
	// not hang the suite).
	deadline := time.Now().Add(hangGuard)
	for alive(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("postmaster %d still running %v after its test binary was killed", pid, hangGuard)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if c, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port))); err == nil {
		c.Close()
		t.Errorf("something still accepts connections on the killed cluster's port %d", port)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("the killed binary's folder is already gone: %v", err)
	}
	removeStale(filepath.Dir(dir))
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("stale folder %s not removed (%v)", dir, err)
	}
}

// readPort reads the port, the fourth line of postmaster.pid.
func readPort(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	lines := strings.Split(string(b), "\n")
	if len(lines) < 4 {
		return 0, fmt.Errorf("%s: short file", path)
	}
	return strconv.Atoi(strings.TrimSpace(lines[3]))
}
