// Package deptest enforces the import directions the tree promises: the
// pure AWS wire-format codecs (proto/) and the domain import no front end and
// no performance machinery; the machinery under internal/ imports nothing of
// the domain; only the composition root (cmd/postern, internal/server) wires
// them together.
package deptest

import (
	"go/build"
	"io/fs"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/postern/postern/internal/modroot"
)

const module = "github.com/postern/postern/"

// Rooms of the tree, by import-path prefix (module-relative).
var (
	codecs    = []string{"proto/"}
	domain    = []string{"policy", "iam", "authz", "meta", "blob", "diskspace", "migrate", "share"}
	frontEnds = []string{"s3api", "iamapi", "shareapi", "console"}
	machinery = []string{"internal/perf/", "internal/httpx/", "internal/logx/"}
	helpers   = []string{"internal/testserver", "internal/s3test", "internal/deptest", "internal/modroot", "internal/pgtest"}
	compRoot  = []string{"cmd/", "internal/server"}
	// leaves are tiny stdlib-only packages every room may import: the
	// names the domain and the machinery share (the "about to block" hint,
	// the clock).
	leaves     = []string{"internal/blocking", "internal/clock"}
	everything = [][]string{codecs, domain, frontEnds, machinery, helpers, compRoot, leaves}
	allRooms   = []string{"proto/", "policy", "iam", "authz", "meta", "blob", "diskspace", "share", "s3api", "iamapi", "shareapi", "console", "internal/", "cmd/"}
)

// allowed lists imports that cross a boundary today, each with its reason.
// The list may only shrink.
var allowed = map[[2]string]string{}

func in(path string, room []string) bool {
	for _, p := range room {
		if path == strings.TrimSuffix(p, "/") || strings.HasPrefix(path, p) || strings.HasPrefix(path, p+"/") {
			return true
		}
	}
	return false
}

// packages returns every non-test package of the module (but the
// out-of-process suites under tests/) with its module-relative imports, for
// every GOOS/GOARCH file set that matters here.
func packages(t *testing.T) map[string][]string {
	root := modroot.Dir(t)
	out := map[string][]string{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		name := d.Name()
		if rel != "." && (name == "testdata" || name == "tests" || strings.HasPrefix(name, ".") || name == "node_modules") {
			return filepath.SkipDir
		}
		seen, isPkg := map[string]bool{}, false
		for _, goos := range []string{"linux", "darwin", "windows"} {
			for _, goarch := range []string{"amd64", "arm64"} {
				ctx := build.Default
				ctx.GOOS, ctx.GOARCH = goos, goarch
				p, err := ctx.ImportDir(path, 0)
				if err != nil {
					continue // no Go files for this platform
				}
				for _, imp := range p.Imports {
					if strings.HasPrefix(imp, module) {
						seen[strings.TrimPrefix(imp, module)] = true
					}
				}
				isPkg = true
			}
		}
		if isPkg {
			out[rel] = []string{}
			for imp := range seen {
				out[rel] = append(out[rel], imp)
			}
			sort.Strings(out[rel])
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) < 10 {
		t.Fatalf("found only %d packages under %s", len(out), root)
	}
	return out
}

func TestEveryPackageHasARoom(t *testing.T) {
	for pkg := range packages(t) {
		found := false
		for _, room := range everything {
			found = found || in(pkg, room)
		}
		if !found {
			t.Errorf("package %s is in no room of the tree: add it to a room in deptest (and to docs/design.md)", pkg)
		}
	}
}

func TestImportDirections(t *testing.T) {
	pkgs := packages(t)
	type rule struct {
		from, to []string
		why      string
	}
	rules := []rule{
		{codecs, domain, "the wire-format codecs are pure and know no domain"},
		{codecs, frontEnds, "codecs know no front end"},
		{codecs, machinery, "codecs know no performance machinery"},
		{domain, frontEnds, "the domain knows no front end"},
		{domain, machinery, "the domain receives performance hooks as interfaces from cmd/postern"},
		{domain, compRoot, "nothing imports the composition root"},
		{frontEnds, compRoot, "nothing imports the composition root"},
		{frontEnds, machinery, "front ends receive performance machinery from cmd/postern"},
		{machinery, domain, "the machinery is domain-free"},
		{machinery, frontEnds, "the machinery is domain-free"},
		{machinery, codecs, "the machinery is domain-free"},
		{leaves, allRooms, "leaves import only the standard library"},
	}
	for _, fe := range frontEnds {
		for _, other := range frontEnds {
			if fe != other {
				rules = append(rules, rule{[]string{fe}, []string{other}, "front ends are independent of each other"})
			}
		}
	}
	// The stores' conformance suites are run by the stores' tests only.
	suites := []string{"meta/metatest", "iam/iamtest", "share/sharetest"}
	for pkg, imps := range pkgs {
		for _, imp := range imps {
			if in(imp, helpers) && !in(pkg, helpers) {
				t.Errorf("%s imports %s: test helpers are for tests only", pkg, imp)
			}
			if in(imp, suites) {
				t.Errorf("%s imports %s: the conformance suites are for the stores' tests only", pkg, imp)
			}
			for _, r := range rules {
				if !in(pkg, r.from) || !in(imp, r.to) {
					continue
				}
				if _, ok := allowed[[2]string{pkg, imp}]; ok {
					continue
				}
				t.Errorf("%s imports %s: %s", pkg, imp, r.why)
			}
		}
	}
	// An allowance that is no longer used must go.
	for k := range allowed {
		used := false
		for _, imp := range pkgs[k[0]] {
			used = used || imp == k[1]
		}
		if !used {
			t.Errorf("allowed import %s -> %s is no longer used: remove it from the list", k[0], k[1])
		}
	}
}

// TestCodecsUseOnlyTheStandardLibrary: the proto/ packages, the policy
// language and the leaves stay stdlib-only, so they are easy to read, test
// and fuzz, and importing a leaf drags nothing in.
func TestCodecsUseOnlyTheStandardLibrary(t *testing.T) {
	root := modroot.Dir(t)
	for pkg := range packages(t) {
		if !in(pkg, codecs) && !in(pkg, leaves) && pkg != "policy" {
			continue
		}
		p, err := build.Default.ImportDir(filepath.Join(root, pkg), 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range p.Imports {
			first := strings.SplitN(imp, "/", 2)[0]
			if strings.Contains(first, ".") && !strings.HasPrefix(imp, module) {
				t.Errorf("%s imports %s: codecs use only the standard library", pkg, imp)
			}
		}
	}
}
