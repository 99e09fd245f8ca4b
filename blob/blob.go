// Package blob stores object bytes: the Backend seam and Dir, its
// implementation on a directory (local, or shared by several nodes).
//
// A blob is written through a Writer and becomes durable at Commit, so a
// blob id that a caller has received always names complete, durable bytes.
// Blob ids are random; object keys never reach a Backend, so no key can name
// a path outside its directory. Bytes are deleted only after the metadata
// that referred to them is gone; whatever is left behind (a crash between a
// blob's commit and its metadata's, or between the metadata's and the
// delete) is an orphan that Sweep removes.
package blob

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"time"
)

// ErrNotFound is returned by Open for an unknown blob id.
var ErrNotFound = errors.New("blob: not found")

// ErrLeaseLost fails a writer whose in-flight blob was swept as abandoned
// (on a shared directory: by another node, after the writer received no
// bytes for longer than the lease lasts). Its bytes are gone; the upload
// must be retried.
var ErrLeaseLost = errors.New("blob: in-flight blob was swept as abandoned")

// ErrUnavailable wraps the failures of a blob store that did not answer:
// unreachable, timed out, or answering 5xx (a remote store such as S3).
// The request that needed it may be retried later (503 ServiceUnavailable).
var ErrUnavailable = errors.New("blob store unavailable")

// Backend holds object bytes. Every method may block on I/O (a disk, a
// network file system, an S3 service) and takes the caller's context.
type Backend interface {
	// Create starts a new blob under a fresh random id.
	Create(ctx context.Context) (Writer, error)
	// Open returns bytes [offset, offset+length) of a committed blob, or
	// ErrNotFound. A blob shorter than offset+length yields fewer bytes.
	Open(ctx context.Context, id string, offset, length int64) (io.ReadCloser, error)
	// Delete removes blobs; missing and malformed ids are ignored.
	Delete(ctx context.Context, ids ...string) error
	// Sweep removes orphans: committed blobs that referenced says are not
	// in use and that were written before olderThan, and in-flight blobs
	// whose writers have stopped (on the Backend's own terms, whatever
	// olderThan says: another node's upload may be in flight).
	Sweep(ctx context.Context, olderThan time.Time, referenced Referenced) (removed int, err error)
}

// Referenced reports which of a batch of blob ids are still in use.
type Referenced func(ctx context.Context, ids []string) (map[string]bool, error)

// Writer is a blob being written. Write the bytes, then Commit to make them
// durable under ID, or Abort to throw them away. Abort after Commit is a
// no-op, so `defer w.Abort()` is the usual pattern. A Writer is used by one
// goroutine.
type Writer interface {
	io.Writer
	io.ReaderFrom
	// ID is the id the blob will have once committed.
	ID() string
	// Size is the number of bytes written so far.
	Size() int64
	// Commit makes the blob durable: after it returns nil, the bytes
	// survive a crash or power loss and Open finds them.
	Commit(ctx context.Context) error
	// Abort discards an uncommitted blob.
	Abort()
}

// DirectWriter is implemented by writers that may read a source straight
// into their own aligned buffers (Dir's O_DIRECT writers): when Direct
// reports true, hand ReadFrom the body rather than copying it through a
// buffer of your own.
type DirectWriter interface {
	Writer
	Direct() bool
}

// NewID returns a fresh random blob id (32 hex characters).
func NewID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("blob: crypto/rand failed: " + err.Error()) // never happens on Linux
	}
	return hex.EncodeToString(b[:])
}

// ValidID reports whether id has the form NewID returns; anything else
// names no blob, and no Backend passes it to a file system or a service.
func ValidID(id string) bool {
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
