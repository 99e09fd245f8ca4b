package blob

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestWriteCommitOpenDelete(t *testing.T) {
	s, err := OpenDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	w, err := s.create()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("hello ")); err != nil {
		t.Fatal(err)
	}
	if _, err := w.ReadFrom(stringsReader("world")); err != nil {
		t.Fatal(err)
	}
	if w.Size() != 11 {
		t.Fatalf("size %d", w.Size())
	}
	if err := w.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}
	w.Abort() // no-op after commit
	f, err := s.openAll(w.ID())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(f)
	f.Close()
	if string(b) != "hello world" {
		t.Fatalf("read %q", b)
	}
	if err := s.Delete(context.Background(), w.ID()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.openAll(w.ID()); err != ErrNotFound {
		t.Fatalf("after delete: %v", err)
	}
	if err := s.Delete(context.Background(), w.ID(), "not-an-id", "../../etc/passwd"); err != nil {
		t.Fatalf("delete of missing/invalid ids: %v", err)
	}
}

func TestAbortRemovesFile(t *testing.T) {
	dir := t.TempDir()
	s, _ := OpenDir(dir)
	w, _ := s.create()
	w.Write([]byte("partial"))
	w.Abort()
	if _, err := os.Stat(filepath.Join(dir, w.ID()[:2], w.ID())); !os.IsNotExist(err) {
		t.Fatalf("aborted blob still on disk: %v", err)
	}
	if err := w.Commit(context.Background()); err == nil {
		t.Fatal("commit after abort succeeded")
	}
}

func TestOpenRejectsBadIDs(t *testing.T) {
	s, _ := OpenDir(t.TempDir())
	for _, id := range []string{"", "..", "../../../../etc/passwd", "ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ", "0123456789abcdef0123456789abcdeg"} {
		if _, err := s.openAll(id); err != ErrNotFound {
			t.Errorf("Open(%q) = %v, want ErrNotFound", id, err)
		}
	}
}

func TestSweep(t *testing.T) {
	s, _ := OpenDir(t.TempDir())
	var ids []string
	for i := 0; i < 5; i++ {
		w, _ := s.create()
		w.Write([]byte{byte(i)})
		if err := w.Commit(context.Background()); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, w.ID())
	}
	keep := map[string]bool{ids[0]: true, ids[3]: true}
	ref := func(_ context.Context, batch []string) (map[string]bool, error) {
		m := map[string]bool{}
		for _, id := range batch {
			m[id] = keep[id]
		}
		return m, nil
	}
	// Nothing is old enough yet.
	if n, err := s.Sweep(context.Background(), time.Now().Add(-time.Hour), ref); err != nil || n != 0 {
		t.Fatalf("young sweep removed %d, %v", n, err)
	}
	n, err := s.Sweep(context.Background(), time.Now().Add(time.Second), ref)
	if err != nil || n != 3 {
		t.Fatalf("sweep removed %d, %v; want 3", n, err)
	}
	for _, id := range ids {
		_, err := s.openAll(id)
		if keep[id] != (err == nil) {
			t.Errorf("blob %s: keep=%v open err=%v", id, keep[id], err)
		}
	}
}

type sr struct{ s string }

func (r *sr) Read(p []byte) (int, error) {
	if r.s == "" {
		return 0, io.EOF
	}
	n := copy(p, r.s)
	r.s = r.s[n:]
	return n, nil
}

func stringsReader(s string) io.Reader { return &sr{s} }

type blockingCount struct{ n, max int }

func (b *blockingCount) Enter() {
	b.n++
	b.max = max(b.max, b.n)
}
func (b *blockingCount) Leave() { b.n-- }

// Every writer is counted from Create to its Commit or Abort, once.
func TestBlockingCounted(t *testing.T) {
	for _, noDirect := range []bool{false, true} {
		s, err := OpenDir(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		s.NoDirect = noDirect
		var b blockingCount
		s.Blocking = &b
		w1, _ := s.create()
		w2, _ := s.create()
		w1.Write([]byte("data"))
		if b.n != 2 {
			t.Fatalf("%d writers counted, want 2", b.n)
		}
		if err := w1.Commit(context.Background()); err != nil {
			t.Fatal(err)
		}
		w1.Abort() // after Commit: a no-op, not a second Leave
		w2.Abort()
		w2.Abort()
		if b.n != 0 || b.max != 2 {
			t.Fatalf("after Commit and Abort: %d counted (max %d), want 0 (max 2)", b.n, b.max)
		}
	}
}

// TestAdmitStopsWriters checks that a writer asks Store.Admit as bytes
// arrive, and fails with its error once it refuses.
func TestAdmitStopsWriters(t *testing.T) {
	full := errors.New("full")
	for _, noDirect := range []bool{false, true} {
		for _, viaReadFrom := range []bool{false, true} {
			s, err := OpenDir(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			s.NoDirect = noDirect
			var asked int64
			s.Admit = func(n int64) error {
				if asked += n; asked > 2<<20 {
					return full
				}
				return nil
			}
			w, err := s.create()
			if err != nil {
				t.Fatal(err)
			}
			data := bytes.Repeat([]byte{7}, 8<<20)
			if viaReadFrom {
				_, err = w.ReadFrom(bytes.NewReader(data))
			} else {
				for off := 0; off < len(data) && err == nil; off += 64 << 10 {
					_, err = w.Write(data[off : off+64<<10])
				}
			}
			if err == nil {
				err = w.Commit(context.Background())
			}
			w.Abort()
			if !errors.Is(err, full) {
				t.Errorf("noDirect=%v readFrom=%v: got %v, want the Admit error", noDirect, viaReadFrom, err)
			}
			if w.Size() > 4<<20 {
				t.Errorf("noDirect=%v readFrom=%v: %d bytes written past the refusal", noDirect, viaReadFrom, w.Size())
			}
		}
	}
}

// create is Create for tests that look inside the writer.
func (s *Dir) create() (*fileWriter, error) {
	w, err := s.Create(context.Background())
	if err != nil {
		return nil, err
	}
	return w.(*fileWriter), nil
}

// openAll opens a whole blob.
func (s *Dir) openAll(id string) (io.ReadCloser, error) {
	return s.Open(context.Background(), id, 0, 1<<62)
}
