// Package s3api serves the S3 REST API: it routes a request to its operation,
// authenticates it, authorizes it with one call, runs the operation against the
// metadata and blob stores, and writes S3's XML responses and errors.
package s3api

import (
	"context"
	"crypto/md5"
	"crypto/rand"
	"errors"
	"hash"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/postern/postern/authz"
	"github.com/postern/postern/blob"
	"github.com/postern/postern/iam"
	"github.com/postern/postern/internal/blocking"
	"github.com/postern/postern/meta"
	"github.com/postern/postern/policy"
	"github.com/postern/postern/proto/s3err"
	"github.com/postern/postern/proto/sigv2"
	"github.com/postern/postern/proto/sigv4"
	"github.com/postern/postern/share"
)

// Deps holds what the handler cannot run without; every field is required
// (unit tests of routing alone may leave the stores nil).
type Deps struct {
	// Region is the region the server answers for (SigV4 scope, bucket
	// locations).
	Region    string
	Meta      meta.Store
	Blobs     blob.Backend
	Directory iam.Directory
}

// Options tune the handler; the zero value of each field is a working
// default.
type Options struct {
	// Domain is the base domain for virtual-host-style requests
	// (bucket.Domain); empty disables them.
	Domain string
	// Authorizer decides every request; nil means an authz.Engine without
	// identity policies (roots and bucket policies grant).
	Authorizer Authorizer
	// Network says how to find a request's source address and VPC (may be nil).
	Network *authz.NetConfig
	// KeyUsed, if set, is told of every access key that authenticated a
	// request (for GetAccessKeyLastUsed); it must be cheap.
	KeyUsed func(accessKey, service, region string)
	// DisableSigV2 refuses Signature Version 2 requests (--sigv2=false).
	DisableSigV2 bool
	// Outpost, if set, makes S3 on Outposts actions, ARNs and condition keys
	// match their S3 counterparts.
	Outpost *policy.Outpost
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Observe, if set, is called once per request after the response is written.
	Observe func(op string, status int, bytesIn, bytesOut int64, d time.Duration)
	// Space, if set, decides whether an upload of n bytes (-1: size
	// unknown) may start; its error (wrapping diskspace.ErrFull) is
	// answered 507 InsufficientStorage. See package diskspace.
	Space interface {
		Admit(n int64) error
	}

	// Blocking, if set, is told when a response body starts (Enter) and
	// stops (Leave) streaming from object files: reads and sendfile block
	// in the kernel (see package blocking).
	Blocking blocking.Hint
	// Hashes, if set, supplies the MD5 digests of request bodies (the
	// composition root hands in a pool that batches large bodies' hashes
	// while the CPUs are saturated); nil means crypto/md5 for each body.
	Hashes Hashes
	// HoldWrites, if set, is called before a small in-memory response is
	// written over HTTP/1.x; the connection may then hold its writes until
	// release is called, so that headers and body leave in one write.
	HoldWrites func(ctx context.Context) (release func() error)
	// Unavailable, if set, reports whether a store's error means that the
	// metadata store cannot be reached (the composition root passes the
	// store's own classifier, e.g. postgres.Unavailable): such errors
	// answer 503 ServiceUnavailable. Errors wrapping meta.ErrUnavailable
	// do so always.
	Unavailable func(error) bool
	// Shares, if set, claims and gives back the uses of limited share
	// links (the metadata store: both implement share.Store).
	Shares share.Store
	// ShareAudit, if set, records every request made with a share's key
	// and is told of share events.
	ShareAudit *share.Recorder
}

// Hashes supplies MD5 digests for request bodies.
type Hashes interface {
	// Get returns an MD5 digest for a body of the given size (-1 if
	// unknown) and a function to call once its sums have been taken. With
	// withSHA256, the digest may also implement checksum.MD5SHA256.
	Get(size int64, withSHA256 bool) (hash.Hash, func())
}

// plainHashes is the Hashes of a handler given none.
type plainHashes struct{}

func (plainHashes) Get(int64, bool) (hash.Hash, func()) { return md5.New(), func() {} }

// Handler serves the S3 API.
type Handler struct {
	deps       Deps
	opts       Options
	verifier   *sigv4.Verifier
	verifierV2 *sigv2.Verifier
	log        *slog.Logger
	now        func() time.Time
	authz      Authorizer
	policies   *policyCache
	hashes     Hashes
	blocking   blocking.Hint
	copyBufs   sync.Pool // *[]byte of 1 MiB, for request bodies
	pabMu      sync.RWMutex
	pabs       map[string]publicAccessBlock // document → parsed; looked up without allocating
}

// MaxSkew is the clock skew S3 tolerates between a request's date and the
// server's clock (RequestTimeTooSkewed beyond it).
const MaxSkew = 15 * time.Minute

// New returns a Handler.
func New(deps Deps, opts Options) *Handler {
	h := &Handler{deps: deps, opts: opts, log: opts.Logger, now: opts.Now, authz: opts.Authorizer, hashes: opts.Hashes, blocking: blocking.Or(opts.Blocking)}
	if h.now == nil {
		h.now = time.Now
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	if h.authz == nil {
		h.authz = &authz.Engine{}
	}
	h.policies = newPolicyCache()
	if h.hashes == nil {
		h.hashes = plainHashes{}
	}
	h.copyBufs.New = func() any { b := make([]byte, 1<<20); return &b }
	h.verifier = sigv4.NewVerifier(sigv4.VerifierConfig{Region: deps.Region, Services: []string{"s3"}, MaxSkew: MaxSkew, Lookup: h.lookupCredentials})
	h.verifierV2 = sigv2.NewVerifier(sigv2.VerifierConfig{Lookup: h.lookupCredentials, MaxSkew: MaxSkew, MaxExpiry: sigv2.DefaultMaxExpiry, Domain: opts.Domain})
	return h
}

// admitUpload asks Options.Space whether an upload of n bytes may start.
func (h *Handler) admitUpload(n int64) error {
	if h.opts.Space == nil {
		return nil
	}
	return h.opts.Space.Admit(n)
}

// lookupCredentials is the verifiers' lookup: it finds the secret, and the
// principal, which the verifier hands back once the signature checks out, so
// each request looks its credentials up once.
func (h *Handler) lookupCredentials(ctx context.Context, accessKey, token string) (sigv4.Secret, error) {
	secret, p, err := h.deps.Directory.Credentials(ctx, accessKey, token)
	if share.IsShareKey(accessKey) {
		noteShare(requestOf(ctx), p, err)
	}
	if errors.Is(err, iam.ErrUnknownKey) {
		return sigv4.Secret{}, sigv4.ErrUnknownAccessKey
	}
	if err != nil {
		return sigv4.Secret{}, credentialError(err)
	}
	return sigv4.Secret{Key: secret, Identity: p}, nil
}

// request carries one request's state through the handler.
type request struct {
	r         *http.Request
	w         *responseWriter
	rw        responseWriter // what w points to: one allocation for both
	id        string
	op        string
	bucket    string
	key       string
	principal *iam.Principal
	auth      *sigv4.Result // nil for anonymous requests
	sigV2     bool          // authenticated with Signature Version 2
	bytesIn   int64
	condCtx   *authz.RequestContext
	authzReq  authz.Request // the last authorization asked for
	q         query
	qParsed   bool
	qBuf      [12]queryParam // room for q without an allocation of its own
	ctx       reqContext     // r's context (see reqContext)

	// A request made with a share's key (nil share otherwise): see share.go.
	share        *share.Share
	shareChecked bool // its use was decided (counted, claimed) once
	shareCounted bool // share.Counted: a 2xx answer uses one of its uses
	shareClaimed bool // a use was claimed in the store
	shareUsedUp  bool // the claimed use was the last one
	// form is set by POST Object, with the form's Content-Type field.
	form            bool
	formContentType string
}

// query returns the parsed query string, parsed once.
func (req *request) query() query {
	if !req.qParsed {
		req.q, req.qParsed = parseQuery(req.qBuf[:0], req.r.URL.RawQuery), true
	}
	return req.q
}

// sigVersion is the s3:signatureversion of the request.
func (req *request) sigVersion() string {
	if req.sigV2 {
		return "AWS"
	}
	return sigv4.Algorithm
}

// newRequestID returns 16 random upper-case hex digits.
func newRequestID() string {
	const digits = "0123456789ABCDEF"
	var b [8]byte
	rand.Read(b[:])
	var s [16]byte
	for i, c := range b {
		s[2*i], s[2*i+1] = digits[c>>4], digits[c&15]
	}
	return string(s[:])
}

// serverHeader is shared by all responses; header values are never modified
// in place.
var serverHeader = []string{"Postern"}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := h.now()
	// Once a request has arrived it runs to completion: a client that
	// half-closes or leaves after sending must not turn an acknowledged write
	// into a half-done one. Reads and writes on the connection still fail
	// when the client is gone.
	req := &request{id: newRequestID()}
	req.ctx = reqContext{Context: context.WithoutCancel(r.Context()), req: req}
	r = r.WithContext(&req.ctx)
	req.r = r
	// Go's server sends "100 Continue" only when the body is read, which a
	// zero-length body never is. Clients that wait for it (botocore) then
	// misread the next response on the connection, so answer it here.
	if r.ContentLength == 0 && strings.EqualFold(r.Header.Get("Expect"), "100-continue") {
		w.WriteHeader(http.StatusContinue)
	}
	req.rw.ResponseWriter = w
	rw := &req.rw
	req.w = rw
	// Canonical keys set directly: no key canonicalisation on every request.
	hd := rw.Header()
	id := []string{req.id}
	hd["X-Amz-Request-Id"] = id
	hd["X-Amz-Id-2"] = id
	hd["Server"] = serverHeader

	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			h.log.Error("panic serving request", "request_id", req.id, "op", req.op, "panic", p)
			if !rw.wroteHeader {
				writeError(rw, r, req.id, r.URL.Path, s3err.InternalError())
			}
		}
		h.finish(req, start)
	}()

	if err := h.serve(req); err != nil {
		e, known := h.toError(err)
		if !known {
			h.log.Error("request failed", "request_id", req.id, "op", req.op, "bucket", req.bucket, "err", err)
		}
		if rw.wroteHeader {
			// The body is already on its way; the client sees a truncated
			// response, which is the only honest signal left.
			h.log.Warn("error after response started", "request_id", req.id, "err", err)
			return
		}
		writeError(rw, r, req.id, resourcePath(req), e)
	}
}

func resourcePath(req *request) string {
	if req.bucket == "" {
		return "/"
	}
	if req.key == "" {
		return "/" + req.bucket
	}
	return "/" + req.bucket + "/" + req.key
}

func (h *Handler) finish(req *request, start time.Time) {
	d := h.now().Sub(start)
	status := req.w.status
	if status == 0 {
		status = http.StatusOK
	}
	ak := ""
	if req.auth != nil {
		ak = req.auth.AccessKey
	}
	if lh := h.log.Handler(); lh.Enabled(context.Background(), slog.LevelInfo) {
		// Typed attributes, no interface boxing, and no caller lookup
		// (pc 0): this is the hottest log line.
		rec := slog.NewRecord(time.Now(), slog.LevelInfo, "request", 0)
		rec.AddAttrs(
			slog.String("request_id", req.id),
			slog.String("op", req.op),
			slog.String("method", req.r.Method),
			slog.String("bucket", req.bucket),
			slog.String("key", req.key),
			slog.Int("status", status),
			slog.Int64("bytes_in", req.bytesIn),
			slog.Int64("bytes_out", req.w.written),
			slog.Float64("duration_ms", float64(d.Microseconds())/1000),
			slog.String("access_key", ak),
			slog.String("remote", req.r.RemoteAddr),
		)
		lh.Handle(context.Background(), rec)
	}
	if h.opts.Observe != nil {
		op := req.op
		if op == "" {
			op = "Unknown"
		}
		h.opts.Observe(op, status, req.bytesIn, req.w.written, d)
	}
	if req.share != nil {
		h.finishShare(req, status, start)
	}
}

// serve routes, authenticates, authorizes and runs one request.
func (h *Handler) serve(req *request) error {
	if err := h.route(req); err != nil {
		return err
	}
	if req.r.Method == http.MethodOptions {
		req.op = "PreflightRequest"
		return h.preflight(req)
	}
	if err := h.authenticate(req); err != nil {
		return err
	}
	op, ok := operations[req.op]
	if !ok {
		return s3err.NotImplemented()
	}
	return op.run(h, req)
}

// responseWriter records the status and bytes written, and keeps
// io.ReaderFrom so that GETs of files can use sendfile.
type responseWriter struct {
	http.ResponseWriter
	status      int
	wroteHeader bool
	written     int64
}

func (w *responseWriter) WriteHeader(code int) {
	if w.wroteHeader {
		return
	}
	w.status = code
	w.wroteHeader = true
	w.ResponseWriter.WriteHeader(code)
}

func (w *responseWriter) Write(p []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	n, err := w.ResponseWriter.Write(p)
	w.written += int64(n)
	return n, err
}

// ReadFrom passes through to the connection's ReadFrom (sendfile for files).
func (w *responseWriter) ReadFrom(r io.Reader) (int64, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	var n int64
	var err error
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		n, err = rf.ReadFrom(r)
	} else {
		n, err = io.Copy(struct{ io.Writer }{w.ResponseWriter}, r)
	}
	w.written += n
	return n, err
}

func (w *responseWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
