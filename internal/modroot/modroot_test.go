package modroot

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// From this package's directory the root is two levels up and its go.mod
// declares the postern module.
func TestDir(t *testing.T) {
	root := Dir(t)
	wd, _ := os.Getwd()
	if want := filepath.Clean(filepath.Join(wd, "..", "..")); root != want {
		t.Errorf("Dir = %s, want %s", root, want)
	}
	b, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil || !strings.HasPrefix(string(b), "module github.com/postern/postern\n") {
		t.Errorf("go.mod at %s: %v %.40q", root, err, b)
	}
}
