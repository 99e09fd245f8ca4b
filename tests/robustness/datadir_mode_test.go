package robustness

import (
	"os"
	"strings"
	"testing"

	"github.com/postern/postern/internal/testserver"
)

// TestDataDirTightened: an existing data folder that other users may read
// is restricted to 0700 at start, and the change is logged.
func TestDataDirTightened(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	srv := testserver.Start(t, testserver.Options{DataDir: dir})
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o700 {
		t.Errorf("data folder mode %04o after start, want 0700", got)
	}
	if !strings.Contains(srv.Logs(), "restricted it to 0700") || !strings.Contains(srv.Logs(), "was=0755") {
		t.Errorf("no log of the change:\n%s", srv.Logs())
	}
}
