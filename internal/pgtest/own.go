package pgtest

import (
	"os"
	"strings"
	"sync"
	"testing"
)

// Cluster is a test's own throw-away PostgreSQL (same set-up as the shared
// one: Debian's server, a temporary folder, a loopback port), for tests
// that stop, start or pause the server: the shared cluster of DSN must stay
// up for every other test. It needs a local PostgreSQL even when EnvVar
// names a server (such tests are skipped then if none is installed), and
// costs an initdb (about a second): use it only where the server's
// failures are the subject.
type Cluster struct {
	mu sync.Mutex
	c  *cluster
}

// NewCluster starts a cluster that is stopped, and its folder removed,
// when the test ends. (If the test binary is killed, the server gets
// SIGQUIT like the shared one.)
func NewCluster(t testing.TB) *Cluster {
	t.Helper()
	env := strings.TrimSpace(os.Getenv(EnvVar))
	if env == "skip" {
		t.Skipf("PostgreSQL tests skipped: %s=skip", EnvVar)
	}
	c, err := startCluster()
	if err != nil {
		if env != "" {
			t.Skipf("pgtest: this test needs a PostgreSQL of its own to stop and start, and %s names a server: %v", EnvVar, err)
		}
		t.Fatalf("pgtest: %v", err)
	}
	cl := &Cluster{c: c}
	t.Cleanup(func() {
		cl.mu.Lock()
		defer cl.mu.Unlock()
		if err := cl.c.stop(); err != nil {
			t.Errorf("pgtest: stopping the test's PostgreSQL: %v", err)
		}
	})
	return cl
}

// DSN creates an empty database (UTF8) on the cluster and returns a
// postgres:// URL that connects to it as the superuser. The cluster must be
// running. The URL stays valid across Stop and Start (same port).
func (cl *Cluster) DSN(t testing.TB) string {
	t.Helper()
	cl.mu.Lock()
	u := *cl.c.url
	cl.mu.Unlock()
	return createDatabase(t, &u)
}

// Stop shuts the server down (fast shutdown: open sessions end with
// admin_shutdown, then connections are refused) and returns once it has
// exited.
func (cl *Cluster) Stop(t testing.TB) {
	t.Helper()
	cl.mu.Lock()
	defer cl.mu.Unlock()
	if err := cl.c.halt(); err != nil {
		t.Fatalf("pgtest: stop: %v", err)
	}
}

// Start starts the stopped server again on the same port and returns once
// it accepts connections.
func (cl *Cluster) Start(t testing.TB) {
	t.Helper()
	cl.mu.Lock()
	defer cl.mu.Unlock()
	if err := cl.c.restart(); err != nil {
		t.Fatalf("pgtest: start: %v", err)
	}
}

// Pause freezes the server and its sessions (SIGSTOP to the process
// group): connections are accepted by the kernel but nothing answers, as
// with a hung host or a network that drops packets. Resume undoes it; Stop
// and the end of the test resume it first.
func (cl *Cluster) Pause(t testing.TB) {
	t.Helper()
	cl.mu.Lock()
	defer cl.mu.Unlock()
	if err := cl.c.pause(); err != nil {
		t.Fatalf("pgtest: pause: %v", err)
	}
}

// Resume lets a paused server run again.
func (cl *Cluster) Resume(t testing.TB) {
	t.Helper()
	cl.mu.Lock()
	defer cl.mu.Unlock()
	if err := cl.c.resume(); err != nil {
		t.Fatalf("pgtest: resume: %v", err)
	}
}
