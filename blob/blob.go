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
	"sync/atomic"
	"syscall"
	"time"

	"github.com/postern/postern/internal/blocking"
)

// ErrNotFound is returned by Open for an unknown blob id.
var ErrNotFound = errors.New("blob: not found")

// Store keeps blobs under Dir/blobs/xx/ID, where xx is the id's first byte in hex.
type Store struct {
	blobs string
	// NoSync skips fsync; only for benchmarks that measure everything else.
	NoSync bool
	// NoDirect writes through the page cache even where O_DIRECT works.
	NoDirect bool
	// Blocking, if set, is told when a writer starts (Enter) and when it
	// is committed or aborted (Leave): its writes and fsyncs block in the
	// kernel (see package blocking).
	Blocking blocking.Hint

	// Admit, if set, is asked before every admitCheck bytes a writer
	// writes whether that many more may go to disk (package diskspace); its
	// error, wrapping diskspace.ErrFull, fails the write.
	Admit func(n int64) error

	noDirect atomic.Bool // the file system refused O_DIRECT
}

// admitCheck is how often (in bytes written) a writer asks Store.Admit.
const admitCheck = directBlock

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
//
// Where the file system allows it, the bytes bypass the page cache (O_DIRECT):
// they are gathered in an aligned 1 MiB block and written a block at a time.
// A blob is written once and fsynced at the end, so caching its pages on the
// way buys nothing, and on Linux the buffered path (copying into the page
// cache, dirty-page throttling, write-back) costs several times the CPU of
// the direct one. The last, partial block is padded to the alignment and the
// file truncated to its true size.
type Writer struct {
	s    *Store
	f    *os.File
	id   string
	n    int64
	done bool

	block    *block // direct I/O only: aligned block from blockPool
	fill     int    // bytes of block.buf in use
	buffered bool   // O_DIRECT was turned off after the file system refused a write
	admitted int64  // buffered I/O only: bytes written since Store.Admit was last asked
}

// admit asks Store.Admit whether n more bytes may be written.
func (w *Writer) admit(n int64) error {
	if w.s.Admit == nil {
		return nil
	}
	if err := w.s.Admit(n); err != nil {
		return fmt.Errorf("blob: write: %w", err)
	}
	return nil
}

// Create starts a new blob.
func (s *Store) Create() (*Writer, error) {
	id := NewID()
	path := s.path(id)
	direct := oDirect != 0 && !s.NoDirect && !s.noDirect.Load()
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if direct {
		f, err := os.OpenFile(path, flags|oDirect, 0o600)
		if err == nil {
			s.enter()
			return &Writer{s: s, f: f, id: id, block: blockPool.Get().(*block)}, nil
		}
		if !errors.Is(err, syscall.EINVAL) {
			return nil, fmt.Errorf("blob: create: %w", err)
		}
		// This file system refuses O_DIRECT (tmpfs before Linux 6.6, for
		// one): remember that, and write through the page cache. Some
		// create the file before refusing, so remove it.
		s.noDirect.Store(true)
		os.Remove(path)
	}
	f, err := os.OpenFile(path, flags, 0o600)
	if err != nil {
		return nil, fmt.Errorf("blob: create: %w", err)
	}
	s.enter()
	return &Writer{s: s, f: f, id: id}, nil
}

func (s *Store) enter() {
	if s.Blocking != nil {
		s.Blocking.Enter()
	}
}

func (s *Store) leave() {
	if s.Blocking != nil {
		s.Blocking.Leave()
	}
}

// ID is the id the blob will have once committed.
func (w *Writer) ID() string { return w.id }

// Direct reports whether the blob bypasses the page cache; its ReadFrom then
// reads straight into the aligned block.
func (w *Writer) Direct() bool { return w.block != nil }

// Size is the number of bytes written so far.
func (w *Writer) Size() int64 { return w.n }

func (w *Writer) Write(p []byte) (int, error) {
	if w.block == nil {
		if w.admitted += int64(len(p)); w.admitted >= admitCheck {
			if err := w.admit(w.admitted); err != nil {
				return 0, err
			}
			w.admitted = 0
		}
		n, err := w.f.Write(p)
		w.n += int64(n)
		return n, err
	}
	written := 0
	for len(p) > 0 {
		k := copy(w.block.buf[w.fill:], p)
		w.fill += k
		w.n += int64(k)
		written += k
		p = p[k:]
		if w.fill == len(w.block.buf) {
			if err := w.writeBlock(w.fill); err != nil {
				return written, err
			}
		}
	}
	return written, nil
}

// ReadFrom lets io.Copy move bytes without an extra buffer: straight into the
// aligned block for direct I/O, else as the file's ReadFrom allows (for
// example copy_file_range from another file).
func (w *Writer) ReadFrom(r io.Reader) (int64, error) {
	if w.block == nil {
		if w.s.Admit == nil {
			n, err := w.f.ReadFrom(r)
			w.n += n
			return n, err
		}
		// Ask Admit before each admitCheck bytes.
		var total int64
		for {
			if err := w.admit(admitCheck); err != nil {
				return total, err
			}
			n, err := w.f.ReadFrom(io.LimitReader(r, admitCheck))
			w.n += n
			total += n
			if err != nil || n < admitCheck {
				return total, err
			}
		}
	}
	var total int64
	for empty := 0; ; {
		if w.fill == len(w.block.buf) {
			if err := w.writeBlock(w.fill); err != nil {
				return total, err
			}
		}
		k, err := r.Read(w.block.buf[w.fill:])
		w.fill += k
		w.n += int64(k)
		total += int64(k)
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
		if empty++; k > 0 {
			empty = 0
		} else if empty >= 100 {
			return total, io.ErrNoProgress // as bufio: a reader stuck at (0, nil)
		}
	}
}

// writeBlock writes the first n bytes of the block (a multiple of the
// alignment) at the end of the file, and empties the block.
func (w *Writer) writeBlock(n int) error {
	if err := w.admit(int64(n)); err != nil {
		w.fill = 0
		return err
	}
	_, err := w.f.Write(w.block.buf[:n])
	if errors.Is(err, syscall.EINVAL) && !w.buffered {
		// The file system took O_DIRECT at open but refuses the write (a
		// larger alignment, say): nothing was written, so turn O_DIRECT
		// off, write the same bytes through the page cache, and stop
		// trying direct I/O on this store.
		w.s.noDirect.Store(true)
		w.buffered = true
		if err = clearDirect(w.f); err == nil {
			_, err = w.f.Write(w.block.buf[:n])
		}
	}
	w.fill = 0
	if err != nil {
		return fmt.Errorf("blob: write: %w", err)
	}
	return nil
}

// flushTail writes the partial last block, padded with zeros to the
// alignment, and cuts the file back to the bytes actually written.
func (w *Writer) flushTail() error {
	if w.fill == 0 {
		return nil
	}
	padded := (w.fill + directAlign - 1) &^ (directAlign - 1)
	clear(w.block.buf[w.fill:padded])
	if err := w.writeBlock(padded); err != nil {
		return err
	}
	if padded == w.fill {
		return nil
	}
	if err := w.f.Truncate(w.n); err != nil {
		return fmt.Errorf("blob: truncate: %w", err)
	}
	return nil
}

func (w *Writer) releaseBlock() {
	if w.block != nil {
		blockPool.Put(w.block)
		w.block = nil
	}
}

// Commit makes the blob durable: after it returns nil, the bytes and the
// directory entry survive a crash or power loss.
func (w *Writer) Commit() error {
	if w.done {
		return errors.New("blob: writer already finished")
	}
	w.done = true
	defer w.s.leave()
	name := w.f.Name()
	fail := func(err error) error {
		w.f.Close()
		os.Remove(name)
		return err
	}
	err := w.flushTail()
	w.releaseBlock()
	if err != nil {
		return fail(err)
	}
	if !w.s.NoSync {
		if err := w.f.Sync(); err != nil {
			return fail(fmt.Errorf("blob: fsync: %w", err))
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
	defer w.s.leave()
	w.releaseBlock()
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
