// Package blob stores object bytes durably as files under a data directory.
//
// A blob is written to a temporary file, fsynced, and renamed into place, so a
// blob id that a caller has received always names complete, durable bytes.
// Blob ids are random; object keys never reach the file system, so no key can
// name a path outside the data directory.
package blob

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// ErrNotFound is returned by Open for an unknown blob id.
var ErrNotFound = errors.New("blob: not found")

// Store keeps blobs under Dir/blobs/xx/ID, where xx is the id's first byte in hex.
type Store struct {
	blobs string
	// NoSync skips fsync; only for benchmarks that measure everything else.
	NoSync bool
}

// Open prepares the directories under dir.
func Open(dir string) (*Store, error) {
	s := &Store{blobs: filepath.Join(dir, "blobs")}
	// Create all fan-out directories up front so that writing a blob never
	// has to create (and fsync) a directory.
	for i := 0; i < 256; i++ {
		d := filepath.Join(s.blobs, hex.EncodeToString([]byte{byte(i)}))
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("blob: create %s: %w", d, err)
		}
	}
	return s, nil
}

// NewID returns a fresh random blob id (32 hex characters).
func NewID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("blob: crypto/rand failed: " + err.Error()) // never happens on Linux
	}
	return hex.EncodeToString(b[:])
}

func validID(id string) bool {
	if len(id) != 32 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

func (s *Store) path(id string) string {
	return filepath.Join(s.blobs, id[:2], id)
}

// Writer is a blob being written. Write the bytes, then Commit to make them
// durable under ID, or Abort to throw them away. Abort after Commit is a no-op,
// so `defer w.Abort()` is the usual pattern.
//
// The file is written in its final place: until the metadata store refers to
// its id, a blob is invisible, and one left behind by a crash is an orphan
// that Sweep removes. This saves a rename per object.
type Writer struct {
	s    *Store
	f    *os.File
	id   string
	n    int64
	done bool
}

// Create starts a new blob.
func (s *Store) Create() (*Writer, error) {
	id := NewID()
	f, err := os.OpenFile(s.path(id), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("blob: create: %w", err)
	}
	return &Writer{s: s, f: f, id: id}, nil
}

// ID is the id the blob will have once committed.
func (w *Writer) ID() string { return w.id }

// Size is the number of bytes written so far.
func (w *Writer) Size() int64 { return w.n }

func (w *Writer) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.n += int64(n)
	return n, err
}

// ReadFrom lets io.Copy move bytes without an extra buffer where the kernel can.
func (w *Writer) ReadFrom(r io.Reader) (int64, error) {
	n, err := w.f.ReadFrom(r)
	w.n += n
	return n, err
}

// Commit makes the blob durable: after it returns nil, the bytes and the
// directory entry survive a crash or power loss.
func (w *Writer) Commit() error {
	if w.done {
		return errors.New("blob: writer already finished")
	}
	w.done = true
	name := w.f.Name()
	if !w.s.NoSync {
		if err := w.f.Sync(); err != nil {
			w.f.Close()
			os.Remove(name)
			return fmt.Errorf("blob: fsync: %w", err)
		}
	}
	if err := w.f.Close(); err != nil {
		os.Remove(name)
		return fmt.Errorf("blob: close: %w", err)
	}
	if !w.s.NoSync {
		if err := syncDir(filepath.Dir(name)); err != nil {
			os.Remove(name)
			return err
		}
	}
	return nil
}

// Abort discards an uncommitted blob.
func (w *Writer) Abort() {
	if w.done {
		return
	}
	w.done = true
	w.f.Close()
	os.Remove(w.f.Name())
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("blob: open dir: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("blob: fsync dir: %w", err)
	}
	return nil
}

// Open opens a committed blob for reading.
func (s *Store) Open(id string) (*os.File, error) {
	if !validID(id) {
		return nil, ErrNotFound
	}
	f, err := os.Open(s.path(id))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNotFound
	}
	return f, err
}

// Delete removes blobs; missing ones are ignored. Deletion need not be durable:
// a blob that reappears after a crash is an orphan, and the sweeper removes it.
func (s *Store) Delete(ids ...string) error {
	var first error
	for _, id := range ids {
		if !validID(id) {
			continue
		}
		if err := os.Remove(s.path(id)); err != nil && !errors.Is(err, fs.ErrNotExist) && first == nil {
			first = fmt.Errorf("blob: delete: %w", err)
		}
	}
	return first
}

// Sweep removes unreferenced blobs last modified before
// olderThan. referenced reports which of a batch of ids are still in use.
// At start-up pass time.Now() (nothing is in flight); periodically pass a time
// far enough back that no upload can still be between commit and metadata write.
func (s *Store) Sweep(ctx context.Context, olderThan time.Time, referenced func(ctx context.Context, ids []string) (map[string]bool, error)) (removed int, err error) {
	fanouts, err := os.ReadDir(s.blobs)
	if err != nil {
		return removed, fmt.Errorf("blob: read blobs: %w", err)
	}
	const batch = 500
	for _, fo := range fanouts {
		if !fo.IsDir() || len(fo.Name()) != 2 {
			continue
		}
		entries, err := os.ReadDir(filepath.Join(s.blobs, fo.Name()))
		if err != nil {
			return removed, fmt.Errorf("blob: read dir: %w", err)
		}
		var ids []string
		for _, e := range entries {
			name := e.Name()
			if !validID(name) || !strings.HasPrefix(name, fo.Name()) {
				continue
			}
			if info, err := e.Info(); err == nil && info.ModTime().Before(olderThan) {
				ids = append(ids, name)
			}
		}
		for len(ids) > 0 {
			if err := ctx.Err(); err != nil {
				return removed, err
			}
			n := min(batch, len(ids))
			chunk := ids[:n]
			ids = ids[n:]
			refs, err := referenced(ctx, chunk)
			if err != nil {
				return removed, err
			}
			for _, id := range chunk {
				if !refs[id] {
					if os.Remove(s.path(id)) == nil {
						removed++
					}
				}
			}
		}
	}
	return removed, nil
}
