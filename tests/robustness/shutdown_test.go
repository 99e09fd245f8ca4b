package robustness

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/postern/postern/internal/s3test"
	"github.com/postern/postern/internal/testserver"
)

// pacedReader reads from r at most rate bytes per second.
type pacedReader struct {
	r     io.Reader
	rate  float64
	start time.Time
	n     int64
	moved atomic.Int64 // n, for other goroutines
}

func (p *pacedReader) Read(b []byte) (int, error) {
	if p.start.IsZero() {
		p.start = time.Now()
	}
	if len(b) > 256<<10 {
		b = b[:256<<10]
	}
	due := p.start.Add(time.Duration(float64(p.n) / p.rate * float64(time.Second)))
	if d := time.Until(due); d > 0 {
		time.Sleep(d)
	}
	n, err := p.r.Read(b)
	p.n += int64(n)
	p.moved.Store(p.n)
	return n, err
}

// TestGracefulShutdown sends SIGTERM while a slow upload and a slow download
// are in progress: both must complete, new connections must be refused from
// the moment shutdown starts, and the process must exit 0 in time.
func TestGracefulShutdown(t *testing.T) {
	t.Parallel()
	const shutdownTimeout = 20 * time.Second
	srv := testserver.Start(t, testserver.Options{Args: []string{"--shutdown-timeout", shutdownTimeout.String()}})
	c := newClient(srv)
	c.createBucket(t, "shut")
	down := genData(11, 32<<20)
	c.must(t, 200, http.MethodPut, "/shut/down", "", nil, down)
	up := genData(12, 64<<20)

	type result struct {
		status int
		etag   string
		sum    string
		err    error
		done   time.Time
	}
	upc, downc := make(chan result, 1), make(chan result, 1)
	upr := &pacedReader{r: bytes.NewReader(up), rate: 32 << 20}
	downStarted := make(chan *pacedReader, 1)
	go func() { // 64 MiB at 32 MiB/s: about 2 s
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		r := c.request(ctx, http.MethodPut, "/shut/up", "", upr, int64(len(up)))
		r.Header.Set("Content-Md5", md5B64(up))
		c.sign(r, "UNSIGNED-PAYLOAD", time.Now())
		resp, err := c.hc.Do(r)
		if err != nil {
			upc <- result{err: err, done: time.Now()}
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		upc <- result{status: resp.StatusCode, etag: etagOf(resp.Header), done: time.Now()}
	}()
	go func() { // 32 MiB at 16 MiB/s: about 2 s
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		r := c.request(ctx, http.MethodGet, "/shut/down", "", nil, 0)
		c.sign(r, emptySHA256, time.Now())
		resp, err := c.hc.Do(r)
		if err != nil {
			downStarted <- nil
			downc <- result{err: err, done: time.Now()}
			return
		}
		defer resp.Body.Close()
		h := sha256.New()
		pr := &pacedReader{r: resp.Body, rate: 16 << 20}
		downStarted <- pr
		_, err = io.Copy(h, pr)
		downc <- result{status: resp.StatusCode, sum: hex.EncodeToString(h.Sum(nil)), err: err, done: time.Now()}
	}()

	// SIGTERM once both transfers are under way on the server: several MiB
	// could not have moved otherwise (a fixed pause was too short when the
	// machine was loaded and the upload had not yet connected).
	downr := <-downStarted
	downMoved := func() int64 {
		if downr == nil {
			return 4 << 20 // the GET failed; reported below
		}
		return downr.moved.Load()
	}
	for deadline := time.Now().Add(30 * time.Second); upr.moved.Load() < 4<<20 || downMoved() < 4<<20; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("transfers did not start: %d bytes up, %d down", upr.moved.Load(), downMoved())
		}
	}
	sigterm := time.Now()
	stopc := make(chan error, 1)
	go func() { stopc <- srv.Stop(shutdownTimeout + 5*time.Second) }()

	// New connections are refused once shutdown has begun.
	var refusedAt time.Time
	// (Refused at once in practice; the bound only ends the loop. Whether
	// the refusal came while the transfers still ran is checked below.)
	for deadline := time.Now().Add(shutdownTimeout); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		conn, err := net.DialTimeout("tcp", srv.Addr, time.Second)
		if err == nil {
			conn.Close()
			continue
		}
		if errors.Is(err, syscall.ECONNRESET) {
			// Caught in the accept queue as the listener closed: not
			// served either; keep dialing until the port refuses.
			continue
		}
		if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("dial during shutdown: %v (want connection refused)", err)
		}
		refusedAt = time.Now()
		break
	}
	if refusedAt.IsZero() {
		t.Errorf("new connections still accepted %v after SIGTERM", shutdownTimeout)
	} else {
		t.Logf("connections refused %v after SIGTERM", refusedAt.Sub(sigterm))
	}

	u, d := <-upc, <-downc
	if u.err != nil || u.status != 200 {
		t.Errorf("upload in progress at SIGTERM: status %d, err %v", u.status, u.err)
	} else if u.etag != s3test.MD5Hex(up) {
		t.Errorf("upload ETag %s, want %s", u.etag, s3test.MD5Hex(up))
	}
	if d.err != nil || d.status != 200 || d.sum != s3test.SHA256Hex(down) {
		t.Errorf("download in progress at SIGTERM: status %d, err %v, byte-exact %v", d.status, d.err, d.sum == s3test.SHA256Hex(down))
	}
	// The test only means something if both were still running when
	// connections started to be refused.
	if !refusedAt.IsZero() && (!u.done.After(refusedAt) || !d.done.After(refusedAt)) {
		t.Errorf("transfers finished before shutdown began (upload %v, download %v after SIGTERM): test ineffective",
			u.done.Sub(sigterm), d.done.Sub(sigterm))
	}
	err := <-stopc
	stopped := time.Since(sigterm)
	if err != nil {
		t.Errorf("graceful stop: %v", err)
	}
	if stopped > shutdownTimeout {
		t.Errorf("exit took %v, more than the shutdown timeout %v", stopped, shutdownTimeout)
	}
	t.Logf("upload done %v, download done %v, exit %v after SIGTERM", u.done.Sub(sigterm), d.done.Sub(sigterm), stopped)

	srv.Restart()
	c = newClient(srv)
	got := c.must(t, 200, http.MethodGet, "/shut/up", "", nil, nil)
	if !bytes.Equal(got.Body, up) {
		t.Errorf("after restart the uploaded object has %d bytes (sha256 %.12s), want the %d sent", len(got.Body), s3test.SHA256Hex(got.Body), len(up))
	}
}
