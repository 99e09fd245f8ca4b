package sqlite

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/postern/postern/meta"
)

// snapshot returns each file's bytes and mtime in dir.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		fi, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		out[e.Name()] = fi.ModTime().Format(time.RFC3339Nano) + " " + string(b)
	}
	return out
}

// OpenReadOnly reads what a cleanly closed store wrote and changes no file
// of its folder, creates none, and refuses writes.
func TestOpenReadOnly(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "meta.db")
	w, err := Open(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.CreateBucket(ctx, meta.Bucket{Name: "b", Owner: "o", Region: "r", CreatedAt: time.Unix(1, 0)}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.PutObject(ctx, meta.Object{Bucket: "b", Key: "k", Size: 1, ETag: "e", Inline: []byte("x")}, meta.Condition{}); err != nil {
		t.Fatal(err)
	}
	w.Close()
	before := snapshot(t, dir)

	r, err := OpenReadOnly(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	o, err := r.GetObject(ctx, "b", "k")
	if err != nil || string(o.Inline) != "x" {
		t.Fatalf("GetObject = %+v, %v", o, err)
	}
	if err := r.CreateBucket(ctx, meta.Bucket{Name: "c", Owner: "o"}); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("CreateBucket on a read-only store: %v, want ErrReadOnly", err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	after := snapshot(t, dir)
	if len(after) != len(before) {
		t.Fatalf("files before %d, after %d", len(before), len(after))
	}
	for name, v := range before {
		if after[name] != v {
			t.Errorf("%s changed", name)
		}
	}
}

// A -wal file with frames (a killed server) is refused, not half read.
func TestOpenReadOnlyRefusesWAL(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "meta.db")
	w, err := Open(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := w.CreateBucket(ctx, meta.Bucket{Name: "b", Owner: "o", Region: "r"}); err != nil {
		t.Fatal(err)
	}
	_, err = OpenReadOnly(ctx, path, nil)
	if err == nil || !strings.Contains(err.Error(), "not stopped cleanly") {
		t.Fatalf("OpenReadOnly with a live WAL: %v", err)
	}
}
