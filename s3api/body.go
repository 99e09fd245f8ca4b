package s3api

import (
	"errors"
	"fmt"
	"github.com/postern/postern/blob"
	"github.com/postern/postern/proto/s3err"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"

	"github.com/postern/postern/proto/awschunked"
	"github.com/postern/postern/proto/checksum"
)

// Size limits from https://docs.aws.amazon.com/AmazonS3/latest/userguide/qfacts.html.
const (
	MaxPutSize      = 5 << 30 // a single PUT or part: 5 GiB
	MinPartSize     = 5 << 20 // every part but the last: 5 MiB
	MaxPartNumber   = 10000
	MaxUserMetadata = 2 << 10 // x-amz-meta-* names and values together: 2 KB
)

// Payload hash modes of x-amz-content-sha256.
const (
	unsignedPayload        = "UNSIGNED-PAYLOAD"
	streamingSigned        = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
	streamingSignedTrailer = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
	streamingUnsignedTrail = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
)

// received describes a request body that was stored and verified.
type received struct {
	size      int64
	etag      string            // hex MD5
	checksums map[string]string // algorithm → base64, verified where the client sent one
}

// checksumRequest works out which checksum algorithm the client asks for and
// the value it sent (in a header now, or in a trailer later).
type checksumRequest struct {
	alg       string
	value     string // from the header; empty if in a trailer or absent
	inTrailer bool
}

func parseChecksumRequest(hdr http.Header) (checksumRequest, error) {
	var cr checksumRequest
	n := 0
	for _, alg := range checksum.Algorithms() {
		if v := hdr.Get(checksum.HeaderName(alg)); v != "" {
			n++
			cr.alg, cr.value = alg, v
		}
	}
	if n > 1 {
		return cr, s3err.InvalidRequest("Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.")
	}
	if t := hdr.Get("x-amz-trailer"); t != "" {
		alg, ok := checksum.Parse(strings.TrimSpace(t))
		if !ok {
			return cr, s3err.InvalidRequest("The value specified in the x-amz-trailer header is not supported")
		}
		if n > 0 && alg != cr.alg {
			return cr, s3err.InvalidRequest("Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.")
		}
		cr.alg, cr.inTrailer = alg, true
	}
	if cr.alg == "" {
		if a := hdr.Get("x-amz-sdk-checksum-algorithm"); a != "" {
			alg, ok := checksum.Parse(a)
			if !ok {
				return cr, s3err.InvalidRequest("Checksum algorithm provided is unsupported. Please try again with any of the valid types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]")
			}
			cr.alg = alg
		}
	}
	if cr.value != "" && !checksum.Valid(cr.alg, cr.value) {
		return cr, s3err.InvalidRequest(fmt.Sprintf("Value for %s header is invalid.", checksum.HeaderName(cr.alg)))
	}
	return cr, nil
}

// receiveBody streams the request body into dst while checking everything the
// client asserted about it: length, x-amz-content-sha256, aws-chunked
// signatures, Content-MD5 and additional checksums. Any failure returns an
// S3 error; the caller then discards what dst received. extraAlg, if set, is
// computed too (e.g. the checksum algorithm of a multipart upload).
func (h *Handler) receiveBody(req *request, newDst func(size int64) (io.Writer, error), extraAlg string) (*received, error) {
	r := req.r
	payload := unsignedPayload
	if req.auth != nil && req.auth.PayloadHash != "" {
		payload = req.auth.PayloadHash
	}
	streaming := strings.HasPrefix(payload, "STREAMING-")
	if te := r.Header.Get("Content-Encoding"); !streaming && strings.Contains(te, "aws-chunked") {
		return nil, s3err.InvalidArgument("aws-chunked Content-Encoding requires a STREAMING-* x-amz-content-sha256 value")
	}

	var size int64
	if streaming {
		v := r.Header.Get("x-amz-decoded-content-length")
		if v == "" {
			return nil, s3err.MissingContentLength()
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return nil, s3err.InvalidArgument("x-amz-decoded-content-length is not a valid length")
		}
		size = n
	} else {
		if r.ContentLength < 0 {
			return nil, s3err.MissingContentLength()
		}
		size = r.ContentLength
	}
	if size > MaxPutSize {
		e := s3err.EntityTooLarge()
		e.Extra = append(e.Extra, kv("ProposedSize", itoa(size)), kv("MaxSizeAllowed", itoa(MaxPutSize)))
		return nil, e
	}

	cr, err := parseChecksumRequest(r.Header)
	if err != nil {
		return nil, err
	}
	if cr.inTrailer && !(payload == streamingSignedTrailer || payload == streamingUnsignedTrail) {
		return nil, s3err.InvalidRequest("x-amz-trailer requires a STREAMING-*-TRAILER x-amz-content-sha256 value")
	}
	algs := []string{}
	if cr.alg != "" {
		algs = append(algs, cr.alg)
	}
	if extraAlg != "" {
		algs = append(algs, extraAlg)
	}
	signedHash := ""
	if !streaming && payload != unsignedPayload {
		signedHash = payload
	}
	md5h, release := h.hashes.Get(size, signedHash != "")
	defer release()
	set, err := checksum.NewSetMD5(md5h, signedHash != "", algs...)
	if err != nil {
		return nil, s3err.InvalidRequest(err.Error())
	}

	// How slowly the body may arrive is bounded by Guard (RequestTimeout).
	var src io.Reader = r.Body
	var chunked *awschunked.Reader
	if streaming {
		var signer *awschunked.Signer
		if payload == streamingSigned || payload == streamingSignedTrailer {
			a := req.auth
			signer = &awschunked.Signer{Key: a.SigningKey[:], AmzDate: a.SignedAt.UTC().Format("20060102T150405Z"), Scope: a.Scope(), Seed: a.Signature}
		}
		chunked = awschunked.NewReader(src, signer, payload != streamingSigned)
		chunked.RequireMinChunkSize(awschunked.MinChunkSize)
		src = chunked
	}
	dst, err := newDst(size)
	if err != nil {
		return nil, err
	}
	// Read at most one byte more than declared, to notice over-long bodies.
	lr := &io.LimitedReader{R: src, N: size + 1}
	// Hash and write in whole blocks of up to 1 MiB rather than in the
	// pieces the socket happens to hold: fewer, larger calls into the
	// hashes (md5-simd pays per call) and into the file.
	body := io.TeeReader(fullReader{lr}, set)
	var n int64
	if bw := directWriter(dst); bw != nil {
		// The body is read straight into the blob's own buffer. What
		// fails that is not the body's read is the store's.
		src := &sourceReader{r: body}
		n, err = bw.ReadFrom(src)
		if err != nil && err != src.err {
			err = &storeError{err}
		}
	} else {
		// Large bodies move in 1 MiB steps: 32× fewer read and write
		// system calls than io.Copy's 32 KiB, for the same hashing work.
		bufp := h.copyBufs.Get().(*[]byte)
		n, err = io.CopyBuffer(storeWriter{dst}, body, *bufp)
		h.copyBufs.Put(bufp)
	}
	req.bytesIn += n
	if err != nil {
		return nil, bodyError(err)
	}
	if n < size {
		return nil, s3err.IncompleteBody()
	}
	if n > size {
		if streaming {
			return nil, s3err.InvalidRequest("The decoded body is longer than x-amz-decoded-content-length.")
		}
		return nil, s3err.IncompleteBody()
	}
	if streaming {
		// Drain the final chunk and trailers so their signatures are checked.
		if _, err := io.Copy(io.Discard, io.LimitReader(chunked, 1)); err != nil {
			return nil, bodyError(err)
		}
	}

	if signedHash != "" {
		if err := set.VerifyContentSHA256(signedHash); err != nil {
			return nil, s3err.XAmzContentSHA256Mismatch()
		}
	}
	if md := r.Header.Get("Content-MD5"); md != "" {
		if err := set.VerifyContentMD5(md); err != nil {
			var me *checksum.MismatchError
			if errors.As(err, &me) {
				return nil, s3err.BadDigest()
			}
			return nil, s3err.InvalidDigest()
		}
	}
	expected := map[string]string{}
	if cr.value != "" {
		expected[cr.alg] = cr.value
	}
	if cr.inTrailer {
		v := chunked.Trailers()[strings.ToLower(checksum.HeaderName(cr.alg))]
		if v == "" {
			return nil, s3err.InvalidRequest("The x-amz-trailer header named a trailing checksum that the body did not carry.")
		}
		expected[cr.alg] = v
	}
	if len(expected) > 0 {
		if err := set.Verify(expected); err != nil {
			var me *checksum.MismatchError
			if errors.As(err, &me) {
				return nil, s3err.New(http.StatusBadRequest, "BadDigest", fmt.Sprintf("The %s you specified did not match the calculated checksum.", me.Algorithm))
			}
			return nil, s3err.InvalidRequest(err.Error())
		}
	}
	sums := map[string]string{}
	if cr.alg != "" {
		sums[cr.alg] = set.Encoded(cr.alg)
	}
	if extraAlg != "" {
		sums[extraAlg] = set.Encoded(extraAlg)
	}
	return &received{size: n, etag: set.ETag(), checksums: sums}, nil
}

// storeWriter marks the failures of the writer a body goes to (a blob
// store), so that they are not mistaken for the client's (hiding the
// destination's ReadFrom, as io.CopyBuffer needs).
type storeWriter struct{ w io.Writer }

func (s storeWriter) Write(p []byte) (int, error) {
	n, err := s.w.Write(p)
	if err != nil {
		err = &storeError{err}
	}
	return n, err
}

// sourceReader remembers the error its reader returned, so that a direct
// writer's failures (the store's) can be told from the body's.
type sourceReader struct {
	r   io.Reader
	err error
}

func (s *sourceReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil {
		s.err = err
	}
	return n, err
}

// storeError is a failure to store a body's bytes.
type storeError struct{ err error }

func (e *storeError) Error() string { return e.err.Error() }
func (e *storeError) Unwrap() error { return e.err }

// bodyError maps a failure while reading a request body to an S3 error.
func bodyError(err error) error {
	var se *storeError
	if errors.As(err, &se) && !errors.Is(err, blob.ErrLeaseLost) {
		// The store failed, not the client: ServiceUnavailable, a full
		// disk or an internal error (toError decides). A swept lease stays
		// below: the client's body stalled for longer than the lease.
		return se.err
	}
	var e *s3err.Error
	if errors.As(err, &e) {
		return e // the aws-chunked decoder's: the answer already
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return s3err.RequestTimeout()
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return s3err.IncompleteBody()
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return s3err.EntityTooLarge()
	}
	if diskFull(err) {
		return s3err.InsufficientStorage()
	}
	var pe *os.PathError
	if errors.As(err, &pe) {
		return err // a local write failure: an internal error, logged
	}
	// Anything else while reading is the client going away or sending garbage.
	return s3err.IncompleteBody()
}

// directWriter returns the blob writer behind dst if it reads bodies into
// its own aligned blocks (O_DIRECT), so that the body can go there without
// a copy in between.
func directWriter(dst io.Writer) blob.Writer {
	if s, ok := dst.(*sink); ok {
		if s.w == nil {
			return nil
		}
		dst = s.w
	}
	if d, ok := dst.(blob.DirectWriter); ok && d.Direct() {
		return d
	}
	return nil
}

// fullReader fills each buffer it is given, unless the stream ends first.
type fullReader struct{ r io.Reader }

func (f fullReader) Read(p []byte) (int, error) {
	n, err := io.ReadFull(f.r, p)
	if err == io.ErrUnexpectedEOF {
		err = nil // a short last piece; the next Read returns io.EOF
	}
	return n, err
}
