package robustness

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/postern/postern/internal/s3test"
	"github.com/postern/postern/internal/testserver"
)

// startSecond runs `postern server` on dataDir and returns its exit error
// and output once it exits. Should it start serving instead (the data folder
// not locked), it is killed and the test fails.
func startSecond(t *testing.T, dataDir string, env ...string) (error, string) {
	t.Helper()
	cmd := exec.Command(testserver.Binary(t), "server", "--data", dataDir, "--listen", "127.0.0.1:0", "--console-listen", "off")
	cmd.Env = append(s3test.EnvWithoutAWS(), env...)
	out, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = cmd.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		log.WriteString(sc.Text() + "\n")
		if strings.Contains(sc.Text(), "postern listening") {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("a second server started on a data folder in use:\n%s", log.String())
		}
	}
	return cmd.Wait(), log.String()
}

// One server per data folder: a second one refuses at once, naming the
// holder's PID, and changes nothing; once the holder is killed (SIGKILL, no
// clean-up) a new server starts on the folder.
func TestDataFolderLock(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	c := newClient(srv)
	c.createBucket(t, "lock")
	c.must(t, 200, "PUT", "/lock/k", "", nil, []byte("kept"))
	credFile := filepath.Join(srv.DataDir, "root-credentials.json")
	credsBefore, _ := os.ReadFile(credFile)

	err, out := startSecond(t, srv.DataDir,
		"POSTERN_ROOT_ACCESS_KEY=AKIASECONDSERVER0001", "POSTERN_ROOT_SECRET_KEY=second-server-secret")
	if err == nil {
		t.Fatalf("second server exited with status 0:\n%s", out)
	}
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() == 0 {
		t.Fatalf("second server: %v", err)
	}
	if want := fmt.Sprintf("pid %d", srv.PID()); !strings.Contains(out, want) || !strings.Contains(out, srv.DataDir) {
		t.Errorf("refusal does not name the data folder and %q:\n%s", want, out)
	}
	lock, err := os.ReadFile(filepath.Join(srv.DataDir, "postern.lock"))
	if err != nil || strings.TrimSpace(string(lock)) != strconv.Itoa(srv.PID()) {
		t.Errorf("lock file holds %q (%v), want the first server's pid %d", lock, err, srv.PID())
	}
	// The refused server touched nothing: not even the root credentials its
	// (different) variables would have written.
	if after, _ := os.ReadFile(credFile); string(after) != string(credsBefore) {
		t.Errorf("refused server rewrote %s", credFile)
	}
	// The first server is unharmed.
	if r := c.must(t, 200, "GET", "/lock/k", "", nil, nil); string(r.Body) != "kept" {
		t.Errorf("GET after the refused start: %q", r.Body)
	}
	checkHealthy(t, srv)

	// kill -9 leaves the lock file (with a dead pid) behind, but no lock.
	oldPID := srv.PID()
	srv.Restart() // SIGKILL, then a new server on the same folder
	if srv.PID() == oldPID {
		t.Fatal("restart kept the pid")
	}
	lock, _ = os.ReadFile(filepath.Join(srv.DataDir, "postern.lock"))
	if strings.TrimSpace(string(lock)) != strconv.Itoa(srv.PID()) {
		t.Errorf("after the restart the lock file holds %q, want pid %d", lock, srv.PID())
	}
	c = newClient(srv)
	if r := c.must(t, 200, "GET", "/lock/k", "", nil, nil); string(r.Body) != "kept" {
		t.Errorf("GET after the restart: %q", r.Body)
	}
	// And the new holder is named to the next one.
	err, out = startSecond(t, srv.DataDir)
	if err == nil || !strings.Contains(out, fmt.Sprintf("pid %d", srv.PID())) {
		t.Errorf("second server against the restarted one: %v\n%s", err, out)
	}
}
