package robustness

import (
	"bytes"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/postern/postern/internal/s3test"
	"github.com/postern/postern/internal/testserver"
)

// Two servers with data folders of their own and one --blobs directory
// (as nodes sharing CephFS/NFS would): object bytes land in the shared
// directory, each server reads its objects back, and a restart (whose
// start-up sweep must spare the other server's files) loses nothing.
func TestSharedBlobsDirectory(t *testing.T) {
	parent := t.TempDir()
	shared := filepath.Join(parent, "blobs")
	a := testserver.Start(t, testserver.Options{Args: []string{"--blobs", "file://" + shared}})
	b := testserver.Start(t, testserver.Options{Env: []string{"POSTERN_BLOBS=" + shared}})
	ca, cb := newClient(a), newClient(b)
	ca.createBucket(t, "shared-a")
	cb.createBucket(t, "shared-b")
	dataA := genData(1, 3<<20+17)
	dataB := genData(2, 1<<20)
	ca.must(t, http.StatusOK, "PUT", "/shared-a/obj", "", nil, dataA)
	cb.must(t, http.StatusOK, "PUT", "/shared-b/obj", "", nil, dataB)

	if got := blobFiles(t, parent); len(got) != 2 {
		t.Fatalf("shared directory holds %v, want two blobs", got)
	}
	for _, s := range []*testserver.Server{a, b} {
		if _, err := os.Stat(filepath.Join(s.DataDir, "blobs")); !os.IsNotExist(err) {
			t.Fatalf("DATA/blobs exists though --blobs was given: %v", err)
		}
	}
	// Restarting A sweeps the shared directory at start: B's blob, which
	// A's metadata does not know, is young and must stay.
	a.Restart()
	if r := ca.must(t, http.StatusOK, "GET", "/shared-a/obj", "", nil, nil); !bytes.Equal(r.Body, dataA) {
		t.Fatalf("A read back %d bytes, want %d", len(r.Body), len(dataA))
	}
	r := cb.must(t, http.StatusPartialContent, "GET", "/shared-b/obj", "", http.Header{"Range": {"bytes=1000-2999"}}, nil)
	if !bytes.Equal(r.Body, dataB[1000:3000]) {
		t.Fatalf("B's ranged read differs (%d bytes)", len(r.Body))
	}
}

// --blobs with a scheme that names no built back end refuses to start,
// saying so.
func TestBlobsSchemeRefused(t *testing.T) {
	for arg, want := range map[string]string{
		"s3://bucket:9000/prefix": "give the service's address as ?endpoint=",
		"gopher://x/y":            `unknown scheme "gopher"`,
		"file://host/x":           "not on host",
	} {
		cmd := exec.Command(testserver.Binary(t), "server", "--data", t.TempDir(), "--blobs", arg, "--listen", "127.0.0.1:0", "--console-listen", "off")
		cmd.Env = s3test.EnvWithoutAWS()
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), want) {
			t.Errorf("--blobs %s: exit %v, output %q; want a failure saying %q", arg, err, out, want)
		}
	}
}
