package s3blob

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"sort"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/postern/postern/blob"
)

// writer streams a blob to the back end. The bytes gather in a buffer of
// up to PartSize; a blob that never fills it is one PutObject at Commit.
// Once the buffer fills, a multipart upload begins and each full buffer is
// uploaded as a part while the next one fills, at most PartsInFlight at
// once (a writer then waits for a slot): memory per writer is bounded by
// (PartsInFlight+1) × PartSize. Commit uploads the last part and completes
// the upload; nothing is visible in the back end before.
type writer struct {
	s    *Store
	ctx  context.Context // the parts' context: Create's, cancelled by Abort
	stop context.CancelFunc
	id   string
	key  string
	n    int64
	done bool

	buf []byte // the part being filled
	crc uint32 // CRC32 (IEEE) of buf's bytes, updated as they arrive

	uploadID string
	next     int32         // number of the next part
	slots    chan struct{} // one per part in flight
	wg       sync.WaitGroup
	mu       sync.Mutex
	parts    []types.CompletedPart
	err      error // the first part upload's failure
}

var _ blob.DirectWriter = (*writer)(nil)

// Create starts a new blob. Nothing reaches the back end until PartSize
// bytes have been written (or Commit).
func (s *Store) Create(ctx context.Context) (blob.Writer, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	id := blob.NewID()
	wctx, stop := context.WithCancel(ctx)
	return &writer{s: s, ctx: wctx, stop: stop, id: id, key: s.Key(id), next: 1, slots: make(chan struct{}, s.partsInFlight())}, nil
}

func (w *writer) ID() string    { return w.id }
func (w *writer) Size() int64   { return w.n }
func (w *writer) failed() error { w.mu.Lock(); defer w.mu.Unlock(); return w.err }

// growMax is the largest buffer a blob grows into by doubling; a blob
// that outgrows it moves into a pooled buffer of PartSize. Small blobs
// take little memory; a large one is copied once, at most growMax bytes,
// rather than at every doubling up to PartSize (8 MiB of copies and 16 MiB
// of garbage per blob).
const growMax = 1 << 20

// readChunk is the most ReadFrom asks its source for at once: the caller
// hashes each piece as it is read (s3api's MD5 for the ETag), and a piece
// of this size is still in the CPU's cache when the hash reads it.
const readChunk = 1 << 20

// room makes sure the buffer has free capacity: it grows (doubling, up to
// growMax, then to a pooled PartSize buffer) while the blob is small, and
// is sent as a part once full.
func (w *writer) room() error {
	if w.done {
		return errors.New("blob: writer already finished")
	}
	size := w.s.partSize()
	if len(w.buf) < cap(w.buf) {
		return nil
	}
	if cap(w.buf) < size {
		var nb []byte
		if c := 2 * cap(w.buf); c <= growMax && c < size {
			nb = make([]byte, len(w.buf), max(c, 64<<10))
		} else {
			nb = w.s.getBuf()[:len(w.buf)]
		}
		copy(nb, w.buf)
		w.buf = nb
		return nil
	}
	if err := w.sendPart(); err != nil {
		return err
	}
	w.buf = w.s.getBuf()
	return nil
}

func (w *writer) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		if err := w.room(); err != nil {
			return written, err
		}
		k := copy(w.buf[len(w.buf):cap(w.buf)], p)
		w.crc = crc32.Update(w.crc, crc32.IEEETable, w.buf[len(w.buf):len(w.buf)+k])
		w.buf = w.buf[:len(w.buf)+k]
		w.n += int64(k)
		written += k
		p = p[k:]
	}
	return written, nil
}

// Direct reports true: ReadFrom reads a body straight into the part
// buffer (s3api then hands it the body instead of copying it through a
// buffer of its own).
func (w *writer) Direct() bool { return true }

// ReadFrom reads straight into the part buffer, sparing a copy, at most
// readChunk bytes per Read.
func (w *writer) ReadFrom(r io.Reader) (int64, error) {
	var total int64
	for empty := 0; ; {
		if err := w.room(); err != nil {
			return total, err
		}
		k, err := r.Read(w.buf[len(w.buf):min(cap(w.buf), len(w.buf)+readChunk)])
		w.crc = crc32.Update(w.crc, crc32.IEEETable, w.buf[len(w.buf):len(w.buf)+k])
		w.buf = w.buf[:len(w.buf)+k]
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
			return total, io.ErrNoProgress
		}
	}
}

// sendPart uploads the full buffer as the next part, in the background
// once a slot is free; the first part starts the multipart upload.
func (w *writer) sendPart() error {
	if err := w.failed(); err != nil {
		return err
	}
	if w.uploadID == "" {
		cctx, cancel := context.WithTimeout(w.ctx, w.s.callTimeout())
		out, err := w.s.c.CreateMultipartUpload(cctx, &s3.CreateMultipartUploadInput{
			Bucket: aws.String(w.s.bucket), Key: aws.String(w.key), ChecksumAlgorithm: types.ChecksumAlgorithmCrc32,
		})
		cancel()
		if err != nil {
			return w.s.fail(w.ctx, "CreateMultipartUpload", err)
		}
		w.uploadID = aws.ToString(out.UploadId)
	}
	if w.next > maxParts {
		return fmt.Errorf("blob: s3: a blob of more than %d parts of %d bytes", maxParts, w.s.partSize())
	}
	select {
	case w.slots <- struct{}{}:
	case <-w.ctx.Done():
		return w.s.fail(w.ctx, "UploadPart", w.ctx.Err())
	}
	if err := w.failed(); err != nil { // a part failed while we waited
		<-w.slots
		return err
	}
	num, buf, crc := w.next, w.buf, w.crc
	w.next++
	w.buf, w.crc = nil, 0
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		defer func() { <-w.slots }()
		err := w.uploadPart(num, buf, crc)
		w.s.putBuf(buf)
		if err != nil {
			w.mu.Lock()
			if w.err == nil {
				w.err = err
			}
			w.mu.Unlock()
		}
	}()
	return nil
}

func (w *writer) uploadPart(num int32, buf []byte, crc uint32) error {
	cctx, cancel := context.WithTimeout(w.ctx, w.s.bodyTimeout(len(buf)))
	defer cancel()
	out, err := w.s.c.UploadPart(cctx, &s3.UploadPartInput{
		Bucket: aws.String(w.s.bucket), Key: aws.String(w.key), UploadId: aws.String(w.uploadID),
		PartNumber: aws.Int32(num), Body: bytes.NewReader(buf), ContentLength: aws.Int64(int64(len(buf))),
		ChecksumAlgorithm: types.ChecksumAlgorithmCrc32, ChecksumCRC32: crcHeader(crc),
	})
	if err != nil {
		return w.s.fail(w.ctx, "UploadPart", err)
	}
	w.mu.Lock()
	w.parts = append(w.parts, types.CompletedPart{PartNumber: aws.Int32(num), ETag: out.ETag, ChecksumCRC32: out.ChecksumCRC32})
	w.mu.Unlock()
	return nil
}

// Commit sends what is left and makes the blob visible: one PutObject, or
// the last part and CompleteMultipartUpload. The back end has the bytes
// durably once it answers.
func (w *writer) Commit(ctx context.Context) error {
	if w.done {
		return errors.New("blob: writer already finished")
	}
	if err := ctx.Err(); err != nil {
		w.Abort()
		return err
	}
	if w.uploadID == "" {
		w.done = true
		defer w.stop()
		buf := w.buf
		w.buf = nil
		cctx, cancel := context.WithTimeout(ctx, w.s.bodyTimeout(len(buf)))
		defer cancel()
		_, err := w.s.c.PutObject(cctx, &s3.PutObjectInput{
			Bucket: aws.String(w.s.bucket), Key: aws.String(w.key), Body: bytes.NewReader(buf),
			ContentLength: aws.Int64(int64(len(buf))), ChecksumAlgorithm: types.ChecksumAlgorithmCrc32,
			ChecksumCRC32: crcHeader(w.crc),
		})
		w.s.putBuf(buf)
		if err != nil {
			return w.s.fail(ctx, "PutObject", err)
		}
		return nil
	}
	if len(w.buf) > 0 {
		if err := w.sendPart(); err != nil {
			w.Abort()
			return err
		}
	} else {
		w.s.putBuf(w.buf) // a fresh buffer nothing was written into
		w.buf = nil
	}
	w.wg.Wait()
	if err := w.failed(); err != nil {
		w.Abort()
		return err
	}
	w.done = true
	defer w.stop()
	sort.Slice(w.parts, func(i, j int) bool { return *w.parts[i].PartNumber < *w.parts[j].PartNumber })
	cctx, cancel := context.WithTimeout(ctx, 2*w.s.callTimeout())
	defer cancel()
	_, err := w.s.c.CompleteMultipartUpload(cctx, &s3.CompleteMultipartUploadInput{
		Bucket: aws.String(w.s.bucket), Key: aws.String(w.key), UploadId: aws.String(w.uploadID),
		MultipartUpload: &types.CompletedMultipartUpload{Parts: w.parts},
	})
	if err != nil {
		// Whether it completed is unknown: abort what can be; a blob that
		// did complete is an orphan for Sweep.
		w.s.abortUpload(context.WithoutCancel(ctx), w.key, w.uploadID)
		return w.s.fail(ctx, "CompleteMultipartUpload", err)
	}
	return nil
}

// Abort stops the parts in flight and aborts the multipart upload, if one
// began; a blob that never filled a part left nothing in the back end.
func (w *writer) Abort() {
	if w.done {
		return
	}
	w.done = true
	w.stop()
	w.wg.Wait()
	w.s.putBuf(w.buf)
	w.buf = nil
	if w.uploadID != "" {
		// The request's context may be gone: abort on a context of our
		// own (bounded by the call timeout). Should even that fail, Sweep
		// aborts the upload after UploadGrace.
		w.s.abortUpload(context.WithoutCancel(w.ctx), w.key, w.uploadID)
	}
}

// pool returns the part-buffer pool, made at the first use (PartSize
// and IdleParts are settled by then).
func (s *Store) pool() *partPool {
	s.bufsOnce.Do(func() {
		idle := s.IdleParts
		if idle == 0 {
			idle = DefaultIdleParts
		}
		s.bufs = newPartPool(s.partSize(), max(idle, 0), DefaultIdleTrim)
	})
	return s.bufs
}

// crcHeader is a CRC32 as x-amz-checksum-crc32 carries it: base64 of its
// four big-endian bytes. Given in the input, it spares the SDK a pass of
// its own over the part (which by then has left the CPU's cache).
func crcHeader(crc uint32) *string {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], crc)
	return aws.String(base64.StdEncoding.EncodeToString(b[:]))
}

// getBuf returns an empty buffer of PartSize capacity.
func (s *Store) getBuf() []byte { return s.pool().get() }

// putBuf keeps full-size buffers for the next parts.
func (s *Store) putBuf(b []byte) { s.pool().put(b) }
