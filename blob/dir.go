package blob

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/postern/postern/internal/blocking"
)

// Dir keeps blobs as files in a directory: a committed blob is ROOT/xx/ID,
// where xx is the id's first byte in hex, and a blob being written also has
// a lease, ROOT/leases/ID (see lease.go). The directory may be local or
// shared by several nodes (CephFS, NFS): nothing but the files themselves
// is shared, and no node deletes another's in-flight blob.
type Dir struct {
	root string
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

	// Now is the clock of leases; nil means time.Now. Every node sharing
	// a directory must agree on the time to well within LeaseTTL.
	Now func() time.Time
	// LeaseTTL is how long an in-flight blob whose writer has received no
	// bytes stays safe from Sweep; zero means DefaultLeaseTTL.
	LeaseTTL time.Duration

	// Exclusive says that no other process writes the directory (it is
	// under the data folder's lock): a lease older than this Dir belongs
	// to a writer that is gone (a crash), and Sweep takes it at once.
	Exclusive bool

	opened   time.Time   // when OpenDir ran, by the Dir's clock (Exclusive)
	noDirect atomic.Bool // the file system refused O_DIRECT
}

var _ Backend = (*Dir)(nil)

// admitCheck is how often (in bytes written) a writer asks Dir.Admit.
const admitCheck = directBlock

// leasesDir is the subdirectory of a Dir that holds the leases.
const leasesDir = "leases"

// OpenDir prepares the directory root (created if missing) for blobs.
func OpenDir(root string) (*Dir, error) {
	s := &Dir{root: root, opened: time.Now()}
	// Create all fan-out directories up front so that writing a blob never
	// has to create (and fsync) a directory.
	for i := 0; i < 256; i++ {
		d := filepath.Join(root, hex.EncodeToString([]byte{byte(i)}))
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("blob: create %s: %w", d, err)
		}
	}
	if err := os.MkdirAll(filepath.Join(root, leasesDir), 0o700); err != nil {
		return nil, fmt.Errorf("blob: create %s: %w", filepath.Join(root, leasesDir), err)
	}
	return s, nil
}

// Root is the directory the blobs live in.
func (s *Dir) Root() string { return s.root }

func (s *Dir) path(id string) string {
	return filepath.Join(s.root, id[:2], id)
}

// fileWriter is a Dir's blob being written.
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
type fileWriter struct {
	s     *Dir
	f     *os.File
	id    string
	n     int64
	done  bool
	lease lease

	block    *block // direct I/O only: aligned block from blockPool
	fill     int    // bytes of block.buf in use
	buffered bool   // O_DIRECT was turned off after the file system refused a write
	admitted int64  // buffered I/O only: bytes written since Dir.Admit was last asked
}

// admit asks Dir.Admit whether n more bytes may be written.
func (w *fileWriter) admit(n int64) error {
	if w.s.Admit == nil {
		return nil
	}
	if err := w.s.Admit(n); err != nil {
		return fmt.Errorf("blob: write: %w", err)
	}
	return nil
}

// Create starts a new blob: its lease first, then its file.
func (s *Dir) Create(ctx context.Context) (Writer, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	id := NewID()
	l, err := s.takeLease(id)
	if err != nil {
		return nil, err
	}
	path := s.path(id)
	direct := oDirect != 0 && !s.NoDirect && !s.noDirect.Load()
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if direct {
		f, err := os.OpenFile(path, flags|oDirect, 0o600)
		if err == nil {
			s.enter()
			return &fileWriter{s: s, f: f, id: id, lease: l, block: blockPool.Get().(*block)}, nil
		}
		if !errors.Is(err, syscall.EINVAL) {
			l.release()
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
		l.release()
		return nil, fmt.Errorf("blob: create: %w", err)
	}
	s.enter()
	return &fileWriter{s: s, f: f, id: id, lease: l}, nil
}

func (s *Dir) enter() {
	if s.Blocking != nil {
		s.Blocking.Enter()
	}
}

func (s *Dir) leave() {
	if s.Blocking != nil {
		s.Blocking.Leave()
	}
}

func (w *fileWriter) ID() string { return w.id }

// Direct reports whether the blob bypasses the page cache; its ReadFrom then
// reads straight into the aligned block.
func (w *fileWriter) Direct() bool { return w.block != nil }

func (w *fileWriter) Size() int64 { return w.n }

func (w *fileWriter) Write(p []byte) (int, error) {
	if err := w.lease.beat(); err != nil {
		return 0, err
	}
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
// example copy_file_range from another file), a block at a time so that the
// lease is kept and Admit asked as the bytes arrive.
func (w *fileWriter) ReadFrom(r io.Reader) (int64, error) {
	if w.block == nil {
		var total int64
		for {
			if err := w.lease.beat(); err != nil {
				return total, err
			}
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
		if err := w.lease.beat(); err != nil {
			return total, err
		}
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
func (w *fileWriter) writeBlock(n int) error {
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
func (w *fileWriter) flushTail() error {
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

func (w *fileWriter) releaseBlock() {
	if w.block != nil {
		blockPool.Put(w.block)
		w.block = nil
	}
}

// Commit makes the blob durable, then proves that its lease was never
// taken by a sweep (renew, which fails once a sweeper has claimed it), and
// only then gives the lease up: a blob whose lease was lost is removed and
// Commit fails with ErrLeaseLost.
func (w *fileWriter) Commit(ctx context.Context) error {
	if w.done {
		return errors.New("blob: writer already finished")
	}
	w.done = true
	defer w.s.leave()
	name := w.f.Name()
	fail := func(err error) error {
		w.f.Close()
		os.Remove(name)
		w.lease.release()
		return err
	}
	if err := ctx.Err(); err != nil {
		w.releaseBlock()
		return fail(err)
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
		w.lease.release()
		return fmt.Errorf("blob: close: %w", err)
	}
	if !w.s.NoSync {
		if err := syncDir(filepath.Dir(name)); err != nil {
			os.Remove(name)
			w.lease.release()
			return err
		}
	}
	// The fence: a sweeper deletes an in-flight file only after claiming
	// its lease, and a claimed lease cannot be renewed.
	if err := w.lease.renew(); err != nil {
		os.Remove(name)
		return err
	}
	w.lease.release()
	return nil
}

// Abort discards an uncommitted blob.
func (w *fileWriter) Abort() {
	if w.done {
		return
	}
	w.done = true
	defer w.s.leave()
	w.releaseBlock()
	w.f.Close()
	os.Remove(w.f.Name())
	w.lease.release()
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

// Open opens bytes [offset, offset+length) of a committed blob. The reader
// is an io.WriterTo that hands the destination's ReadFrom an
// *io.LimitedReader around the *os.File, which is what net/http's
// connection turns into sendfile(2) (and an *os.File destination into
// copy_file_range(2)): a GET of a blob copies no bytes in user space.
func (s *Dir) Open(ctx context.Context, id string, offset, length int64) (io.ReadCloser, error) {
	if !ValidID(id) || offset < 0 || length < 0 {
		return nil, ErrNotFound
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f, err := os.Open(s.path(id))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("blob: open: %w", err)
	}
	if offset > 0 {
		if _, err := f.Seek(offset, io.SeekStart); err != nil {
			f.Close()
			return nil, fmt.Errorf("blob: seek: %w", err)
		}
	}
	return &fileRange{f: f, lr: io.LimitedReader{R: f, N: length}}, nil
}

// fileRange is a byte range of an open blob file.
type fileRange struct {
	f  *os.File
	lr io.LimitedReader // R is f, positioned at the range's next byte
}

func (r *fileRange) Read(p []byte) (int, error) { return r.lr.Read(p) }

// WriteTo gives a destination that can read from files by itself (a TCP
// connection: sendfile; a file: copy_file_range) the file and the count
// it may read, exactly as the standard library recognises them.
func (r *fileRange) WriteTo(w io.Writer) (int64, error) {
	if rf, ok := w.(io.ReaderFrom); ok {
		return rf.ReadFrom(&r.lr)
	}
	// No ReaderFrom: copy, hiding f's own WriteTo so io.Copy cannot loop.
	return io.Copy(w, struct{ io.Reader }{&r.lr})
}

func (r *fileRange) Close() error { return r.f.Close() }

// Delete removes blobs; missing ones are ignored. Deletion need not be durable:
// a blob that reappears after a crash is an orphan, and the sweeper removes it.
func (s *Dir) Delete(ctx context.Context, ids ...string) error {
	var first error
	for _, id := range ids {
		if !ValidID(id) {
			continue
		}
		if err := os.Remove(s.path(id)); err != nil && !errors.Is(err, fs.ErrNotExist) && first == nil {
			first = fmt.Errorf("blob: delete: %w", err)
		}
	}
	return first
}
