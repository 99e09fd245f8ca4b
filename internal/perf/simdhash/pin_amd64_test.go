//go:build amd64 && gc && !purego

package simdhash

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/postern/postern/internal/modroot"
)

// verifiedKernels are the module versions (and go.sum hashes) whose
// unexported kernels kernel_amd64.go reaches with go:linkname, and whose
// signatures, register use and reading bounds were checked by hand
// (docs/design.md, "Hashing uploads"). The linker checks only the symbol's
// name: a new version that changes a kernel's arguments would corrupt
// memory instead of failing to build. Before bumping either module, read the
// new assembly against the declarations in kernel_amd64.go, run this
// package's tests (the unmapped-page guards included) on an AVX-512
// machine, and then update this table.
var verifiedKernels = map[string]struct{ version, sum string }{
	"github.com/minio/md5-simd":    {"v1.1.2", "h1:Gdi1DZK69+ZVMoNHRXJyNcxrMA4dSxoYHZSQbirFg34="},
	"github.com/minio/sha256-simd": {"v1.0.1", "h1:6kaan5IFmwTNynnKKpDHe6FWHohJOHhCPchzK49dzMM="},
}

// TestLinkedKernelVersions fails when the module requires (or replaces) a
// version of md5-simd or sha256-simd other than the one the kernels were
// verified with, as after a go get -u. It reads go.mod and go.sum, which
// decide what the server binary links: a test binary carries no dependency
// list in its build information, so debug.ReadBuildInfo cannot tell here.
func TestLinkedKernelVersions(t *testing.T) {
	root := modroot.Dir(t)
	gomod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	gosum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	required, replaced := parseGoMod(string(gomod))
	for path, want := range verifiedKernels {
		if r, ok := replaced[path]; ok {
			t.Errorf("go.mod replaces %s (%s): kernel_amd64.go links its unexported kernel, which was verified only for %s %s", path, r, path, want.version)
		}
		got, ok := required[path]
		switch {
		case !ok:
			t.Errorf("go.mod does not require %s: kernel_amd64.go links its kernel; verified against %s", path, want.version)
		case got != want.version:
			t.Errorf("go.mod requires %s %s, but kernel_amd64.go's go:linkname was verified against %s: check the kernel's signature in the new version, then update verifiedKernels", path, got, want.version)
		}
		if line := path + " " + want.version + " " + want.sum; !strings.Contains("\n"+string(gosum), "\n"+line+"\n") {
			t.Errorf("go.sum lacks %q: the source of %s %s is not the one the kernels were verified with", line, path, want.version)
		}
	}
}

// parseGoMod returns the versions go.mod requires and the targets of its
// replace directives, by module path.
func parseGoMod(gomod string) (required, replaced map[string]string) {
	required, replaced = map[string]string{}, map[string]string{}
	add := func(verb string, f []string) {
		switch {
		case verb == "require" && len(f) >= 2:
			required[f[0]] = f[1]
		case verb == "replace" && len(f) >= 3:
			replaced[f[0]] = strings.Join(f[1:], " ")
		}
	}
	block := ""
	for _, line := range strings.Split(gomod, "\n") {
		if i := strings.Index(line, "//"); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		switch {
		case len(f) == 0:
		case block != "" && f[0] == ")":
			block = ""
		case block != "":
			add(block, f)
		case len(f) == 2 && f[1] == "(":
			block = f[0]
		default:
			add(f[0], f[1:])
		}
	}
	return required, replaced
}

func TestParseGoMod(t *testing.T) {
	req, rep := parseGoMod(`module m

require (
	github.com/a/b v1.2.3
	github.com/c/d v0.1.0 // indirect
)

require github.com/e/f v2.0.0

replace github.com/a/b => ../b
replace (
	github.com/c/d v0.1.0 => github.com/x/d v0.2.0
)
`)
	if req["github.com/a/b"] != "v1.2.3" || req["github.com/c/d"] != "v0.1.0" || req["github.com/e/f"] != "v2.0.0" || len(req) != 3 {
		t.Errorf("required = %v", req)
	}
	if rep["github.com/a/b"] != "=> ../b" || rep["github.com/c/d"] != "v0.1.0 => github.com/x/d v0.2.0" || len(rep) != 2 {
		t.Errorf("replaced = %v", rep)
	}
}
