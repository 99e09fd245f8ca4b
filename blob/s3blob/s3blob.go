// Package s3blob keeps object bytes in any S3 service (AWS S3, Ceph RGW,
// Garage, SeaweedFS, MinIO, another Postern): the blob.Backend behind
// --blobs s3://BUCKET/PREFIX?endpoint=URL&region=R.
//
// A blob is the back-end object PREFIX + xx/ID (xx: the id's first byte in
// hex, as blob.Dir fans out): keys are random ids, never object keys. A
// blob becomes visible in the back end only when its writer commits (one
// PutObject for a small blob, CompleteMultipartUpload for a large one), so
// no node's Sweep can see, let alone delete, another node's in-flight
// blob; a multipart upload left behind by a crashed node is aborted by
// Sweep once older than UploadGrace.
//
// Every back-end call carries the caller's context and a timeout of its
// own; a back end that cannot be reached, answers 5xx or stops answering
// fails the call with an error wrapping blob.ErrUnavailable.
package s3blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"

	"github.com/postern/postern/blob"
)

// Defaults of a Store's tunables.
const (
	// DefaultPartSize is the size of the parts of a multipart upload to
	// the back end, and the largest blob sent in one PutObject.
	DefaultPartSize = 8 << 20
	// DefaultPartsInFlight is how many parts one writer uploads at once,
	// besides the one it is filling. A writer holds at most
	// (DefaultPartsInFlight+1) × DefaultPartSize = 24 MiB of buffers.
	DefaultPartsInFlight = 2
	// DefaultIdleParts is the most idle part buffers a Store keeps for
	// the next parts (32 × 8 MiB = 256 MiB at most, held only after that
	// many were in use at once, and let go after one to two
	// DefaultIdleTrim periods without use).
	DefaultIdleParts = 32
	// DefaultIdleTrim is the period after which part buffers that stayed
	// idle throughout are let go.
	DefaultIdleTrim = 30 * time.Second
	// DefaultUploadGrace is how old a back-end multipart upload must be
	// before Sweep takes it for a crashed writer's and aborts it.
	DefaultUploadGrace = 24 * time.Hour
	// DefaultCallTimeout bounds a back-end call that moves no body (and
	// the wait for a response's headers).
	DefaultCallTimeout = 30 * time.Second
	// DefaultMinRate is the slowest transfer a call moving a body allows
	// (bytes/s) on top of DefaultCallTimeout, and the longest a read of a
	// blob may wait for the next bytes is DefaultCallTimeout.
	DefaultMinRate = 1 << 20
	// maxParts is S3's limit on the parts of one multipart upload.
	maxParts = 10000
	// deleteBatch is the most keys one DeleteObjects call names.
	deleteBatch = 1000
)

// Store is a blob.Backend on an S3 bucket.
type Store struct {
	c      *s3.Client
	bucket string
	prefix string

	// PartSize is the part size of multipart uploads (at least 5 MiB,
	// S3's minimum); zero means DefaultPartSize.
	PartSize int
	// PartsInFlight is how many parts a writer uploads concurrently;
	// zero means DefaultPartsInFlight.
	PartsInFlight int
	// IdleParts is the most idle part buffers kept for the next parts;
	// zero means DefaultIdleParts, negative none.
	IdleParts int
	// UploadGrace: see DefaultUploadGrace; zero means the default.
	UploadGrace time.Duration
	// CallTimeout: see DefaultCallTimeout; zero means the default.
	CallTimeout time.Duration
	// Now is Sweep's clock; nil means time.Now.
	Now func() time.Time

	bufsOnce sync.Once
	bufs     *partPool // full-size part buffers, made at the first use
}

var _ blob.Backend = (*Store)(nil)

// Open builds a Store for l. Credentials (and the region, if l has none)
// come from the standard AWS chain: environment variables, the shared
// config and credentials files, SSO, web identity, container and instance
// roles. Open makes no request; Check does.
func Open(ctx context.Context, l Location) (*Store, error) {
	hc := awshttp.NewBuildableClient().
		WithDialerOptions(func(d *net.Dialer) {
			d.Timeout = 5 * time.Second
			d.KeepAlive = 30 * time.Second
		}).
		WithTransportOptions(func(t *http.Transport) {
			// Every request of every writer and reader goes to one host:
			// keep enough idle connections for them all.
			t.MaxIdleConns = 256
			t.MaxIdleConnsPerHost = 256
			t.ResponseHeaderTimeout = 2 * time.Minute // CompleteMultipartUpload may take a while
			t.ExpectContinueTimeout = time.Second
		})
	opts := []func(*config.LoadOptions) error{
		config.WithHTTPClient(hc),
		config.WithRetryer(func() aws.Retryer {
			// A few quick attempts: a back end that is down must turn
			// into a clear error for our client within seconds.
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = 3
				o.MaxBackoff = 2 * time.Second
			})
		}),
		// The writer's bytes are protected by a CRC32 checksum the back
		// end verifies (cheap), not by hashing them for the signature
		// (see the unsigned payload below).
		config.WithRequestChecksumCalculation(aws.RequestChecksumCalculationWhenSupported),
		config.WithResponseChecksumValidation(aws.ResponseChecksumValidationWhenRequired),
	}
	if l.Region != "" {
		opts = append(opts, config.WithRegion(l.Region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("blob: s3: AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	c := s3.NewFromConfig(cfg, func(o *s3.Options) {
		if l.Endpoint != "" {
			o.BaseEndpoint = aws.String(l.Endpoint)
		}
		o.UsePathStyle = !l.VirtualHost
		// Do not hash every body with SHA-256 for the signature (over
		// plain http the SDK would): the CRC32 checksum already guards
		// the bytes, at a fraction of the CPU. Swapping the signer's
		// payload hashing is not enough: the SDK's checksum middleware
		// would still compute a SHA-256 beside the CRC32 and sign it,
		// unless the payload hash is settled before it runs.
		o.APIOptions = append(o.APIOptions, v4.SwapComputePayloadSHA256ForUnsignedPayloadMiddleware, addUnsignedPayload)
	})
	return New(c, l.Bucket, l.Prefix), nil
}

// addUnsignedPayload settles every request's payload hash as
// UNSIGNED-PAYLOAD at the build step, before the checksum middleware
// (finalize) decides whether to hash the body with SHA-256 as well.
func addUnsignedPayload(stack *middleware.Stack) error {
	return stack.Build.Add(middleware.BuildMiddlewareFunc("PosternUnsignedPayload",
		func(ctx context.Context, in middleware.BuildInput, next middleware.BuildHandler) (middleware.BuildOutput, middleware.Metadata, error) {
			return next.HandleBuild(v4.SetPayloadHash(ctx, unsignedPayload), in)
		}), middleware.After)
}

// unsignedPayload is SigV4's x-amz-content-sha256 for a body not hashed.
const unsignedPayload = "UNSIGNED-PAYLOAD"

// New builds a Store on an S3 client of the caller's.
func New(c *s3.Client, bucket, prefix string) *Store {
	return &Store{c: c, bucket: bucket, prefix: prefix}
}

// Check asks the back end whether the bucket exists and the credentials
// reach it. Its error wraps blob.ErrUnavailable if the back end did not
// answer (the caller may start anyway), and is plain if the back end said
// no (wrong bucket, credentials or permissions).
func (s *Store) Check(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.callTimeout())
	defer cancel()
	_, err := s.c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(s.bucket)})
	if err == nil {
		return nil
	}
	if status := httpStatus(err); status == http.StatusNotFound || status == http.StatusForbidden || status == http.StatusMovedPermanently || status == http.StatusBadRequest {
		return fmt.Errorf("blob: s3: bucket %q answered %d (%s): check the bucket name, the region and the credentials", s.bucket, status, http.StatusText(status))
	}
	return s.fail(ctx, "HeadBucket", err)
}

func (s *Store) partSize() int {
	if s.PartSize >= 5<<20 {
		return s.PartSize
	}
	return DefaultPartSize
}

func (s *Store) partsInFlight() int {
	if s.PartsInFlight > 0 {
		return s.PartsInFlight
	}
	return DefaultPartsInFlight
}

func (s *Store) uploadGrace() time.Duration {
	if s.UploadGrace > 0 {
		return s.UploadGrace
	}
	return DefaultUploadGrace
}

func (s *Store) callTimeout() time.Duration {
	if s.CallTimeout > 0 {
		return s.CallTimeout
	}
	return DefaultCallTimeout
}

// bodyTimeout bounds a call that sends n bytes.
func (s *Store) bodyTimeout(n int) time.Duration {
	return s.callTimeout() + time.Duration(n/DefaultMinRate)*time.Second
}

func (s *Store) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Key is the back-end key of blob id: PREFIX + xx/ID.
func (s *Store) Key(id string) string { return blobKey(s.prefix, id) }

func blobKey(prefix, id string) string { return prefix + id[:2] + "/" + id }

// idOf returns the blob id a back-end key names, if it is one of ours:
// anything else under the prefix (another tool's object) is never touched.
func idOf(prefix, key string) (string, bool) {
	if len(key) != len(prefix)+3+32 || key[:len(prefix)] != prefix {
		return "", false
	}
	rest := key[len(prefix):]
	id := rest[3:]
	if rest[2] != '/' || rest[:2] != id[:2] || !blob.ValidID(id) {
		return "", false
	}
	return id, true
}

// fail turns a back-end error into ours: the caller's own cancellation
// stays what it is; no answer, a timeout or a 5xx (or 429) wraps
// blob.ErrUnavailable; anything else (403, 400) is a plain error, a fault
// of the configuration.
func (s *Store) fail(ctx context.Context, op string, err error) error {
	status := httpStatus(err)
	switch {
	case status >= 500 || status == http.StatusTooManyRequests:
		return fmt.Errorf("blob: s3 %s: %w (%d): %w", op, blob.ErrUnavailable, status, err)
	case status != 0:
		return fmt.Errorf("blob: s3 %s: the back end answered %d: %w", op, status, err)
	case ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded):
		return fmt.Errorf("blob: s3 %s: %w", op, ctx.Err()) // our caller went away
	default:
		return fmt.Errorf("blob: s3 %s: %w: %w", op, blob.ErrUnavailable, err)
	}
}

func httpStatus(err error) int {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// Open returns bytes [offset, offset+length) of a blob, streamed from a
// ranged GET. A read that waits longer than CallTimeout for the back end
// fails (the request is cancelled) rather than hangs.
func (s *Store) Open(ctx context.Context, id string, offset, length int64) (io.ReadCloser, error) {
	if !blob.ValidID(id) || offset < 0 || length < 0 {
		return nil, blob.ErrNotFound
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rng := fmt.Sprintf("bytes=%d-%d", offset, offset+length-1)
	if length == 0 {
		// Ask for one byte: it proves the blob exists (S3 cannot name
		// an empty range), and none of it is returned.
		rng = fmt.Sprintf("bytes=%d-%d", offset, offset)
	}
	rctx, cancel := context.WithCancel(ctx)
	// Until the headers arrive, the call timeout; then the watchdog.
	timer := time.AfterFunc(s.callTimeout(), cancel)
	out, err := s.c.GetObject(rctx, &s3.GetObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(s.Key(id)), Range: aws.String(rng)})
	timer.Stop()
	if err != nil {
		defer cancel()
		if errorCode(err) == "NoSuchKey" || httpStatus(err) == http.StatusNotFound {
			return nil, blob.ErrNotFound
		}
		if httpStatus(err) == http.StatusRequestedRangeNotSatisfiable {
			return emptyBody{}, nil // offset at or past the end: no bytes
		}
		return nil, s.fail(ctx, "GetObject", err)
	}
	if length == 0 {
		out.Body.Close()
		cancel()
		return emptyBody{}, nil
	}
	return &rangeReader{body: out.Body, left: length, cancel: cancel, idle: s.callTimeout(), ctx: ctx, s: s}, nil
}

type emptyBody struct{}

func (emptyBody) Read([]byte) (int, error) { return 0, io.EOF }
func (emptyBody) Close() error             { return nil }

// rangeReader streams a GET's body. Each Read may block on the back end
// for at most idle: a watchdog cancels the request if it does (time the
// caller spends between Reads, sending to a slow client, does not count).
type rangeReader struct {
	body   io.ReadCloser
	left   int64
	cancel context.CancelFunc
	idle   time.Duration
	ctx    context.Context
	s      *Store
	timer  *time.Timer
}

func (r *rangeReader) Read(p []byte) (int, error) {
	if r.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > r.left {
		p = p[:r.left]
	}
	if r.timer == nil {
		r.timer = time.AfterFunc(r.idle, r.cancel)
	} else {
		r.timer.Reset(r.idle)
	}
	n, err := r.body.Read(p)
	stopped := r.timer.Stop()
	r.left -= int64(n)
	if err != nil && err != io.EOF {
		if !stopped && r.ctx.Err() == nil {
			err = fmt.Errorf("blob: s3 GetObject: %w: no bytes for %v: %w", blob.ErrUnavailable, r.idle, err)
		} else {
			err = r.s.fail(r.ctx, "GetObject", err)
		}
	}
	return n, err
}

// getChunk is the piece WriteTo gathers from the back end before writing
// it on: one write to the client per MiB rather than per 32 KiB (io.Copy's
// buffer), and back-end reads as large as the socket has bytes.
const getChunk = 1 << 20

var getBufs = sync.Pool{New: func() any { b := make([]byte, getChunk); return &b }}

// WriteTo copies the rest of the range to w in pieces of getChunk bytes
// (the last may be shorter), each read under Read's watchdog.
func (r *rangeReader) WriteTo(w io.Writer) (int64, error) {
	bp := getBufs.Get().(*[]byte)
	defer getBufs.Put(bp)
	buf := *bp
	var total int64
	for {
		n, empty := 0, 0
		var rerr error
		for n < len(buf) && rerr == nil {
			var k int
			k, rerr = r.Read(buf[n:])
			n += k
			if empty++; k > 0 {
				empty = 0
			} else if empty >= 100 && rerr == nil {
				rerr = io.ErrNoProgress
			}
		}
		if n > 0 {
			m, werr := w.Write(buf[:n])
			total += int64(m)
			if werr != nil {
				return total, werr
			}
			if m < n {
				return total, io.ErrShortWrite
			}
		}
		if rerr == io.EOF {
			return total, nil
		}
		if rerr != nil {
			return total, rerr
		}
	}
}

func (r *rangeReader) Close() error {
	if r.timer != nil {
		r.timer.Stop()
	}
	err := r.body.Close()
	r.cancel()
	return err
}

// Delete removes blobs, at most 1000 per DeleteObjects call; missing and
// malformed ids are ignored.
func (s *Store) Delete(ctx context.Context, ids ...string) error {
	keys := make([]string, 0, len(ids))
	for _, id := range ids {
		if blob.ValidID(id) {
			keys = append(keys, s.Key(id))
		}
	}
	_, err := s.deleteKeys(ctx, keys)
	return err
}

// deleteKeys deletes keys in batches and returns how many went.
func (s *Store) deleteKeys(ctx context.Context, keys []string) (int, error) {
	deleted := 0
	for len(keys) > 0 {
		n := min(len(keys), deleteBatch)
		batch := keys[:n]
		keys = keys[n:]
		objs := make([]types.ObjectIdentifier, len(batch))
		for i, k := range batch {
			objs[i] = types.ObjectIdentifier{Key: aws.String(k)}
		}
		cctx, cancel := context.WithTimeout(ctx, s.callTimeout())
		out, err := s.c.DeleteObjects(cctx, &s3.DeleteObjectsInput{
			Bucket: aws.String(s.bucket),
			Delete: &types.Delete{Objects: objs, Quiet: aws.Bool(true)},
		})
		cancel()
		if err != nil {
			return deleted, s.fail(ctx, "DeleteObjects", err)
		}
		deleted += n - len(out.Errors)
		if len(out.Errors) > 0 {
			e := out.Errors[0]
			return deleted, fmt.Errorf("blob: s3 DeleteObjects: %d of %d keys not deleted, first %s: %s %s", len(out.Errors), n, aws.ToString(e.Key), aws.ToString(e.Code), aws.ToString(e.Message))
		}
	}
	return deleted, nil
}

// Sweep deletes committed blobs written before olderThan (by the back
// end's clock) that referenced says are unused, asking in batches of up to
// 1000 as the listing goes; and it aborts multipart uploads of blob keys
// begun more than UploadGrace ago (a crashed writer's). Keys under the
// prefix that are not blob keys are left alone.
func (s *Store) Sweep(ctx context.Context, olderThan time.Time, referenced blob.Referenced) (int, error) {
	removed := 0
	var batch []string
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		inUse, err := referenced(ctx, batch)
		if err != nil {
			return err
		}
		var keys []string
		for _, id := range batch {
			if !inUse[id] {
				keys = append(keys, s.Key(id))
			}
		}
		batch = batch[:0]
		n, err := s.deleteKeys(ctx, keys)
		removed += n
		return err
	}
	var token *string
	for {
		cctx, cancel := context.WithTimeout(ctx, s.callTimeout())
		out, err := s.c.ListObjectsV2(cctx, &s3.ListObjectsV2Input{Bucket: aws.String(s.bucket), Prefix: aws.String(s.prefix), ContinuationToken: token})
		cancel()
		if err != nil {
			return removed, s.fail(ctx, "ListObjectsV2", err)
		}
		for _, o := range out.Contents {
			id, ok := idOf(s.prefix, aws.ToString(o.Key))
			if !ok || o.LastModified == nil || !o.LastModified.Before(olderThan) {
				continue
			}
			if batch = append(batch, id); len(batch) == deleteBatch {
				if err := flush(); err != nil {
					return removed, err
				}
			}
		}
		if !aws.ToBool(out.IsTruncated) || out.NextContinuationToken == nil {
			break
		}
		token = out.NextContinuationToken
	}
	if err := flush(); err != nil {
		return removed, err
	}
	aborted, err := s.abortStale(ctx)
	return removed + aborted, err
}

// abortStale aborts the multipart uploads of blob keys older than the grace.
func (s *Store) abortStale(ctx context.Context) (int, error) {
	before := s.now().Add(-s.uploadGrace())
	aborted := 0
	var keyMarker, idMarker *string
	for {
		cctx, cancel := context.WithTimeout(ctx, s.callTimeout())
		out, err := s.c.ListMultipartUploads(cctx, &s3.ListMultipartUploadsInput{Bucket: aws.String(s.bucket), Prefix: aws.String(s.prefix), KeyMarker: keyMarker, UploadIdMarker: idMarker})
		cancel()
		if err != nil {
			return aborted, s.fail(ctx, "ListMultipartUploads", err)
		}
		stale := out.Uploads[:0:0]
		for _, u := range out.Uploads {
			if _, ok := idOf(s.prefix, aws.ToString(u.Key)); ok && u.Initiated != nil && u.Initiated.Before(before) {
				stale = append(stale, u)
			}
		}
		sort.Slice(stale, func(i, j int) bool { return aws.ToString(stale[i].Key) < aws.ToString(stale[j].Key) })
		for _, u := range stale {
			if err := s.abortUpload(ctx, aws.ToString(u.Key), aws.ToString(u.UploadId)); err != nil {
				return aborted, err
			}
			aborted++
		}
		if !aws.ToBool(out.IsTruncated) || (out.NextKeyMarker == nil && out.NextUploadIdMarker == nil) {
			return aborted, nil
		}
		keyMarker, idMarker = out.NextKeyMarker, out.NextUploadIdMarker
	}
}

func (s *Store) abortUpload(ctx context.Context, key, uploadID string) error {
	cctx, cancel := context.WithTimeout(ctx, s.callTimeout())
	defer cancel()
	_, err := s.c.AbortMultipartUpload(cctx, &s3.AbortMultipartUploadInput{Bucket: aws.String(s.bucket), Key: aws.String(key), UploadId: aws.String(uploadID)})
	if err != nil && errorCode(err) != "NoSuchUpload" {
		return s.fail(ctx, "AbortMultipartUpload", err)
	}
	return nil
}
