// Package writehold lets an HTTP handler send a small response in one write
// system call.
//
// net/http writes a response through a 4 KiB buffer, so the headers and a
// 4 KiB body leave in two writes, and on loopback or a fast network each
// write costs the sender and the receiver a wake-up. A handler that has the
// whole response in memory can instead Hold the connection, write and flush
// the response, and Release: the held bytes then go out in one write.
//
// Wrap the listener with Listen and set http.Server.ConnContext to
// ConnContext. Holding is opt-in per response and always bounded: at most
// MaxHeld bytes are held, beyond which they are written at once.
package writehold

import (
	"context"
	"net"
	"sync"
	"time"
)

// MaxHeld is the most bytes a connection holds; more are written at once.
const MaxHeld = 128 << 10

// Listen wraps ln so that its TCP connections can hold writes.
func Listen(ln net.Listener) net.Listener { return listener{ln} }

type listener struct{ net.Listener }

func (l listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	if tc, ok := c.(*net.TCPConn); ok {
		return &Conn{TCPConn: tc}, nil
	}
	return c, nil
}

// Conn is a TCP connection that can hold its writes. Embedding *net.TCPConn
// keeps ReadFrom (sendfile) and CloseWrite, which net/http looks for.
type Conn struct {
	*net.TCPConn

	mu      sync.Mutex
	holding bool
	held    []byte
}

// Write sends p, or appends it to the held bytes while the connection holds.
// The lock covers only the holding state, never a write to the socket: a
// write blocked on a stalled peer must not keep Close from interrupting it.
func (c *Conn) Write(p []byte) (int, error) {
	c.mu.Lock()
	if !c.holding {
		c.mu.Unlock()
		return c.TCPConn.Write(p)
	}
	if len(c.held)+len(p) <= MaxHeld {
		c.held = append(c.held, p...)
		c.mu.Unlock()
		return len(p), nil
	}
	c.mu.Unlock()
	// Too much to hold: send what is held, then p, and stop holding.
	if err := c.flush(); err != nil {
		return 0, err
	}
	return c.TCPConn.Write(p)
}

// Close closes the connection. Bytes still held (a handler that never
// released them) get a second to leave first.
func (c *Conn) Close() error {
	if b := c.take(); len(b) > 0 {
		c.TCPConn.SetWriteDeadline(time.Now().Add(time.Second))
		c.TCPConn.Write(b)
	}
	return c.TCPConn.Close()
}

func (c *Conn) hold() {
	c.mu.Lock()
	c.holding = true
	c.mu.Unlock()
}

// release stops holding and sends the held bytes in one write.
func (c *Conn) release() error { return c.flush() }

// flush stops holding and sends the held bytes, if any, in one write.
func (c *Conn) flush() error {
	b := c.take()
	var err error
	if len(b) > 0 {
		_, err = c.TCPConn.Write(b)
	}
	c.give(b)
	return err
}

// take stops holding and removes the held bytes.
func (c *Conn) take() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.holding = false
	b := c.held
	c.held = nil
	return b
}

// give keeps a small buffer for the next hold.
func (c *Conn) give(b []byte) {
	if b == nil || cap(b) > 16<<10 {
		return // do not keep a large buffer on an idle connection
	}
	c.mu.Lock()
	if c.held == nil {
		c.held = b[:0]
	}
	c.mu.Unlock()
}

type ctxKey struct{}

// ConnContext is for http.Server.ConnContext: it records the connection
// (under TLS, the one beneath it) in the context of its requests.
func ConnContext(ctx context.Context, c net.Conn) context.Context {
	if tc, ok := c.(interface{ NetConn() net.Conn }); ok {
		c = tc.NetConn()
	}
	if hc, ok := c.(*Conn); ok {
		return context.WithValue(ctx, ctxKey{}, hc)
	}
	return ctx
}

// Held is a connection holding its writes; see Hold.
type Held struct{ c *Conn }

// Hold makes the request's connection hold its writes until Release, which
// sends them in one write. The handler must flush its response
// (http.ResponseController.Flush) before Release, or the bytes still in
// net/http's buffers leave in a later write. Without a holding connection in
// ctx, Hold and Release do nothing.
func Hold(ctx context.Context) Held {
	c, _ := ctx.Value(ctxKey{}).(*Conn)
	if c != nil {
		c.hold()
	}
	return Held{c}
}

// Release stops holding and sends the held bytes in one write.
func (h Held) Release() error {
	if h.c == nil {
		return nil
	}
	return h.c.release()
}
