package s3api

import (
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/postern/postern/proto/s3err"
)

// Limits on what a client may send before its request is refused, applied
// by Guard in front of every handler of the S3 listener (S3, IAM and STS).
type Limits struct {
	// MaxHeaderSection bounds the request line and header lines together;
	// a larger request is refused with RequestHeaderSectionTooLarge (or
	// MetadataTooLarge when the user metadata alone is over its 2 KB).
	// The http.Server's MaxHeaderBytes must be larger, so that such
	// requests reach the handler and get an S3 error rather than net/http's
	// plain-text 431. Zero means DefaultMaxHeaderSection.
	MaxHeaderSection int
	// BodyTimeout is the longest a request body may stall: a body that
	// delivers nothing for this long gets RequestTimeout. It is also the
	// most time a body may bank (see BodyMinRate). Zero means
	// DefaultBodyTimeout.
	BodyTimeout time.Duration
	// BodyMinRate, in bytes per second, is the slowest average rate a
	// body may arrive at. The body has a time budget of BodyTimeout that
	// runs down with the clock; every byte received adds 1/BodyMinRate
	// seconds, up to BodyTimeout. When the budget runs out the request gets
	// RequestTimeout. A body arriving at BodyMinRate or faster never runs
	// out; one arriving at rate r < BodyMinRate runs out after
	// BodyTimeout/(1 - r/BodyMinRate); a stalled one after at most
	// BodyTimeout. Zero bounds stalls only.
	BodyMinRate int64
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Defaults of Limits.
const (
	DefaultMaxHeaderSection = 64 << 10
	DefaultBodyTimeout      = 60 * time.Second
	DefaultBodyMinRate      = 1 << 10
)

// Guard refuses requests whose header section is over lim.MaxHeaderSection
// and bounds how slowly request bodies may arrive (see Limits), answering
// with S3 error XML.
func Guard(next http.Handler, lim Limits) http.Handler {
	if lim.MaxHeaderSection <= 0 {
		lim.MaxHeaderSection = DefaultMaxHeaderSection
	}
	if lim.BodyTimeout <= 0 {
		lim.BodyTimeout = DefaultBodyTimeout
	}
	if lim.BodyMinRate < 0 {
		lim.BodyMinRate = 0
	}
	if lim.Now == nil {
		lim.Now = time.Now
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n := headerSectionSize(r); n > lim.MaxHeaderSection {
			var e *s3err.Error
			if (r.Method == http.MethodPut || r.Method == http.MethodPost) && userMetadataSize(r.Header) > MaxUserMetadata {
				e = s3err.MetadataTooLarge()
			} else {
				e = s3err.New(http.StatusBadRequest, "RequestHeaderSectionTooLarge", "Your request header section exceeds the maximum allowed size.")
				e.Extra = append(e.Extra, kv("MaxSizeAllowed", itoa(int64(lim.MaxHeaderSection))))
			}
			// The body is not read: close the connection after answering.
			id := newRequestID()
			hd := w.Header()
			hd.Set("Connection", "close")
			hd["X-Amz-Request-Id"] = []string{id}
			hd["X-Amz-Id-2"] = []string{id}
			hd["Server"] = serverHeader
			writeError(w, r, id, r.URL.Path, e)
			return
		}
		if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
			next.ServeHTTP(w, r)
			return
		}
		b := &bodyClock{body: r.Body, rc: http.NewResponseController(w), lim: &lim}
		r.Body = b
		defer b.finish()
		next.ServeHTTP(w, r)
	})
}

// headerSectionSize is the size of r's request line and header lines as
// sent over HTTP/1.1 (for HTTP/2 an equivalent).
func headerSectionSize(r *http.Request) int {
	n := len(r.Method) + 1 + len(r.RequestURI) + 1 + len(r.Proto) + 2
	n += len("Host: ") + len(r.Host) + 2
	for k, vs := range r.Header {
		for _, v := range vs {
			n += len(k) + 2 + len(v) + 2
		}
	}
	return n + 2
}

// userMetadataSize counts x-amz-meta-* names (without the prefix) and
// values as S3 does for its 2 KB limit.
func userMetadataSize(h http.Header) int {
	n := 0
	for k, vs := range h {
		if len(k) > len("x-amz-meta-") && strings.EqualFold(k[:len("x-amz-meta-")], "x-amz-meta-") {
			n += len(k) - len("x-amz-meta-") + len(strings.Join(vs, ","))
		}
	}
	return n
}

// bodyClock enforces Limits.BodyTimeout and BodyMinRate on a request body
// through the connection's read deadline: the deadline is the moment the
// body's time budget runs out, so a blocked Read fails then with
// os.ErrDeadlineExceeded, which handlers answer with RequestTimeout.
type bodyClock struct {
	body    io.ReadCloser
	rc      *http.ResponseController
	lim     *Limits
	started bool
	done    bool
	// deadline is when the budget runs out; armed is the deadline set on
	// the connection, never later than deadline.
	deadline, armed time.Time
}

func (b *bodyClock) Read(p []byte) (int, error) {
	if !b.started {
		b.started = true
		b.deadline = b.lim.Now().Add(b.lim.BodyTimeout)
		b.arm(b.deadline)
	}
	n, err := b.body.Read(p)
	if n > 0 {
		b.deadline = b.lim.extend(b.deadline, b.lim.Now(), int64(n))
		// Re-arming costs a system call or a timer update: do it only when
		// the budget has grown noticeably. The connection may therefore
		// give up up to rearmSlack early.
		if b.deadline.Sub(b.armed) >= b.lim.rearmSlack() {
			b.arm(b.deadline)
		}
	}
	if err == io.EOF && !b.done {
		b.done = true
		// The whole body is in: no deadline while the request is processed
		// (net/http watches the idle connection for the client leaving).
		b.arm(time.Time{})
	}
	return n, err
}

func (b *bodyClock) Close() error { return b.body.Close() }

// finish runs when the handler returns. If the body was not read to its end,
// net/http may still read (and discard) what is left to reuse the
// connection: bound that too.
func (b *bodyClock) finish() {
	if b.done {
		return
	}
	d := b.lim.Now().Add(b.lim.BodyTimeout)
	if b.started && b.deadline.Before(d) {
		d = b.deadline
	}
	b.arm(d)
}

func (b *bodyClock) arm(t time.Time) {
	// An error means the connection has no deadlines (tests with recorders).
	_ = b.rc.SetReadDeadline(t)
	b.armed = t
}

// extend returns the deadline after n more bytes arrived at now: each byte
// adds 1/BodyMinRate seconds, and the budget never exceeds BodyTimeout
// from now. With no minimum rate any byte renews the whole budget.
func (l *Limits) extend(deadline, now time.Time, n int64) time.Time {
	limit := now.Add(l.BodyTimeout)
	if l.BodyMinRate <= 0 {
		return limit
	}
	// n/rate seconds, without overflow: past BodyTimeout it is capped anyway.
	max := int64(l.BodyTimeout)
	var add int64
	if n >= l.BodyMinRate*(max/int64(time.Second)+1) {
		add = max
	} else {
		add = n * int64(time.Second) / l.BodyMinRate
	}
	if d := deadline.Add(time.Duration(add)); d.Before(limit) {
		return d
	}
	return limit
}

// rearmSlack is how far the budget must have grown before the connection's
// deadline is moved: a second, or an eighth of a short BodyTimeout.
func (l *Limits) rearmSlack() time.Duration {
	if s := l.BodyTimeout / 8; s < time.Second {
		return s
	}
	return time.Second
}
