// Package modroot finds the module's root directory for tests: the tests
// that read go.mod, build the postern binary or find the shared test
// vectors beside the checkout. It is a test helper (internal/deptest keeps
// it out of the product).
package modroot

import (
	"os"
	"path/filepath"
	"testing"
)

// Dir returns the nearest directory holding go.mod at or above the working
// directory, which for a test is its package's directory. It fails the
// test when there is none.
func Dir(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("modroot: no go.mod at or above the working directory")
		}
		dir = parent
	}
}
