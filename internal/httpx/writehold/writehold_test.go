package writehold

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"testing"
	"time"
)

// serve starts an HTTP server on loopback whose handler writes a body of n
// bytes while holding the connection, then waits for the test before
// releasing.
func serve(t *testing.T, n int, flushed chan<- struct{}, release <-chan struct{}) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	body := bytes.Repeat([]byte("x"), n)
	srv := &http.Server{
		ConnContext: ConnContext,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h := Hold(r.Context())
			w.Header().Set("Content-Length", strconv.Itoa(n))
			w.Write(body)
			if err := http.NewResponseController(w).Flush(); err != nil {
				t.Error(err)
			}
			flushed <- struct{}{}
			<-release
			if err := h.Release(); err != nil {
				t.Error(err)
			}
		}),
	}
	go srv.Serve(Listen(ln))
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

func get(t *testing.T, addr string) (net.Conn, *bufio.Reader) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	return c, bufio.NewReader(c)
}

// nothingArrives reports whether no byte arrives within d.
func nothingArrives(c net.Conn, br *bufio.Reader, d time.Duration) bool {
	c.SetReadDeadline(time.Now().Add(d))
	_, err := br.Peek(1)
	c.SetReadDeadline(time.Time{})
	return errors.Is(err, os.ErrDeadlineExceeded)
}

func readResponse(t *testing.T, br *bufio.Reader, n int) {
	t.Helper()
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil || len(b) != n || resp.StatusCode != 200 {
		t.Fatalf("status %d, %d bytes, %v", resp.StatusCode, len(b), err)
	}
}

func TestHeldUntilRelease(t *testing.T) {
	flushed, release := make(chan struct{}), make(chan struct{})
	addr := serve(t, 4096, flushed, release)
	c, br := get(t, addr)
	<-flushed
	if !nothingArrives(c, br, 100*time.Millisecond) {
		t.Fatal("bytes left before Release")
	}
	close(release)
	readResponse(t, br, 4096)
}

func TestOverMaxHeldIsSentAtOnce(t *testing.T) {
	flushed, release := make(chan struct{}), make(chan struct{})
	addr := serve(t, MaxHeld+1, flushed, release)
	c, br := get(t, addr)
	<-flushed
	if nothingArrives(c, br, 2*time.Second) {
		t.Fatal("more than MaxHeld bytes were held")
	}
	close(release)
	readResponse(t, br, MaxHeld+1)
}

func TestCloseSendsHeldBytes(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := Listen(ln).Accept()
		if err != nil {
			t.Error(err)
			return
		}
		hc := c.(*Conn)
		hc.hold()
		c.Write([]byte("held"))
		c.Close()
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	b, _ := io.ReadAll(c)
	<-done
	if string(b) != "held" {
		t.Fatalf("got %q", b)
	}
}

func TestHoldWithoutConnIsNoop(t *testing.T) {
	if err := Hold(context.Background()).Release(); err != nil {
		t.Fatal(err)
	}
}

// A write blocked on a peer that does not read must not keep Close from
// interrupting it (Server.Close and Shutdown rely on that).
func TestCloseInterruptsBlockedWrite(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := Listen(ln).Accept()
		if err != nil {
			t.Error(err)
			return
		}
		accepted <- c
	}()
	peer, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close() // never reads
	c := <-accepted
	writeDone := make(chan error, 1)
	go func() {
		big := make([]byte, 64<<20) // far more than the socket buffers hold
		_, err := c.Write(big)
		writeDone <- err
	}()
	time.Sleep(200 * time.Millisecond) // let the write block
	closed := make(chan struct{})
	go func() { c.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close waited for a blocked Write")
	}
	select {
	case err := <-writeDone:
		if err == nil {
			t.Fatal("the blocked Write succeeded after Close")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the blocked Write did not return after Close")
	}
}
