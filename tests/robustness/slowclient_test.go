package robustness

import (
	"fmt"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/postern/postern/internal/testserver"
)

// readHeaderTimeout is the server's http.Server.ReadHeaderTimeout
// (internal/server/server.go); there is no flag to shorten it.
const readHeaderTimeout = 15 * time.Second

// TestSlowloris opens connections that send their headers a few bytes at a
// time. Other clients must be served meanwhile, and (unless -short) the slow
// connections must be dropped once the read-header timeout has passed.
func TestSlowloris(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, testserver.Options{})
	c := newClient(srv)
	c.createBucket(t, "slow")
	c.must(t, 200, http.MethodPut, "/slow/k", "", nil, []byte("hello"))

	const slow = 50
	watch := 3 * time.Second
	if !testing.Short() {
		watch = readHeaderTimeout + 5*time.Second
	}
	start := time.Now()
	var mu sync.Mutex
	open := slow
	closedAfter := make([]time.Duration, slow)
	gotResponse := make([]bool, slow)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for i := 0; i < slow; i++ {
		conn, err := net.Dial("tcp", srv.Addr)
		if err != nil {
			t.Fatalf("slow connection %d: %v", i, err)
		}
		defer conn.Close()
		wg.Add(2)
		readDone := make(chan struct{})
		go func() { // detect the server closing the connection
			defer wg.Done()
			defer close(readDone)
			buf := make([]byte, 512)
			conn.SetReadDeadline(start.Add(watch + 2*time.Second))
			n, err := conn.Read(buf)
			if n > 0 {
				gotResponse[i] = true
			}
			if err == nil || !isTimeout(err) {
				closedAfter[i] = time.Since(start)
				mu.Lock()
				open--
				mu.Unlock()
			}
		}()
		go func() { // trickle the headers
			defer wg.Done()
			fmt.Fprintf(conn, "GET /health/live HTTP/1.1\r\nHost: %s\r\n", srv.Addr)
			for j := 0; ; j++ {
				select {
				case <-stop:
					return
				case <-readDone:
					return
				case <-time.After(500 * time.Millisecond):
				}
				if _, err := fmt.Fprintf(conn, "X-Slow-%d: a\r\n", j); err != nil {
					return
				}
			}
		}()
	}

	// Meanwhile other clients are served promptly, on new connections.
	hc := srv.HTTPClient()
	hc.Timeout = 3 * time.Second
	hc.Transport.(*http.Transport).DisableKeepAlives = true
	served := 0
	allClosed := func() bool { mu.Lock(); defer mu.Unlock(); return open == 0 }
	for time.Since(start) < watch && !(allClosed() && time.Since(start) > 3*time.Second) {
		resp, err := hc.Get(srv.URL + "/health/ready")
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("server stopped serving other clients while slow clients wait: %v %v", err, resp)
		}
		resp.Body.Close()
		c.must(t, 200, http.MethodGet, "/slow/k", "", nil, nil)
		served++
		time.Sleep(250 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	t.Logf("served %d request pairs while %d slow clients trickled headers", served, slow)
	if testing.Short() {
		return
	}
	for i := 0; i < slow; i++ {
		switch {
		case gotResponse[i]:
			t.Errorf("slow connection %d got a response to a request whose headers never ended", i)
		case closedAfter[i] == 0:
			t.Errorf("slow connection %d still open %v after it started sending headers (read-header timeout %v)", i, watch, readHeaderTimeout)
		case closedAfter[i] < readHeaderTimeout-2*time.Second:
			t.Errorf("slow connection %d closed after %v, before the read-header timeout %v", i, closedAfter[i], readHeaderTimeout)
		}
	}
}
