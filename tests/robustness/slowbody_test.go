package robustness

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/postern/postern/internal/testserver"
)

const requestTimeoutMessage = "Your socket connection to the server was not read from or written to within the timeout period. Idle connections will be closed."

// TestSlowBodies: a request body that stalls, or trickles in below the
// minimum rate, is answered with RequestTimeout rather than holding its
// connection for ever. The limits are tiny here (--body-timeout 1s,
// --body-min-rate 1024) and the clients never reach them, so the outcome
// does not depend on the machine's speed: the test waits for the server's
// answer.
func TestSlowBodies(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, testserver.Options{Args: []string{"--body-timeout", "1s", "--body-min-rate", "1024"}})
	c := newClient(srv)
	c.createBucket(t, "slowbody")

	// A body that arrives at once is unaffected.
	c.must(t, 200, http.MethodPut, "/slowbody/fast", "", nil, []byte("hello"))

	cases := []struct {
		name, method, path, query string
		trickle                   bool // send a byte every 50 ms (20 B/s); otherwise nothing
	}{
		{"PutObjectSilent", http.MethodPut, "/slowbody/silent", "", false},
		{"PutObjectTrickle", http.MethodPut, "/slowbody/trickle", "", true},
		{"PutBucketPolicyTrickle", http.MethodPut, "/slowbody", "policy=", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			head := c.rawSigned(tc.method, tc.path, tc.query, nil, 1<<20, "UNSIGNED-PAYLOAD", time.Now())
			r := slowExchange(t, srv.Addr, head, tc.trickle)
			if r.Status != 400 || r.s3err().Code != "RequestTimeout" || r.s3err().Message != requestTimeoutMessage {
				t.Fatalf("got %s, want 400 RequestTimeout %q", r, requestTimeoutMessage)
			}
		})
	}
	// After the parallel subtests: nothing was stored.
	t.Cleanup(func() {
		for _, k := range []string{"silent", "trickle"} {
			if r, err := c.do(http.MethodHead, "/slowbody/"+k, "", nil, nil); err != nil || r.Status != 404 {
				t.Errorf("HEAD %s after a timed-out upload: %v %v, want 404", k, r, err)
			}
		}
	})
}

// slowExchange writes head, then (if trickle) one body byte every 50 ms
// until the server answers, and returns the answer. The connection's
// deadline only bounds the test should the server never answer.
func slowExchange(t *testing.T, addr string, head []byte, trickle bool) *response {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetReadDeadline(time.Now().Add(reqTimeout))
	if _, err := conn.Write(head); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	defer close(stop)
	if trickle {
		go func() {
			tick := time.NewTicker(50 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				if _, err := conn.Write([]byte{'x'}); err != nil {
					return
				}
			}
		}()
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to a slow body: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return &response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}
