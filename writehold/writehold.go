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
func (c *Conn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.holding {
		if len(c.held)+len(p) <= MaxHeld {
			c.held = append(c.held, p...)
			return len(p), nil
		}
		// Too much to hold: send what is held, then p, and stop holding.
		c.holding = false
		if err := c.flushLocked(); err != nil {
			return 0, err
		}
	}
	return c.TCPConn.Write(p)
}

// Close sends anything still held, then closes the connection.
func (c *Conn) Close() error {
	c.mu.Lock()
	c.holding = false
	c.flushLocked()
	c.mu.Unlock()
	return c.TCPConn.Close()
}

func (c *Conn) hold() {
	c.mu.Lock()
	c.holding = true
	c.mu.Unlock()
}

// release stops holding and sends the held bytes in one write.
func (c *Conn) release() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.holding = false
	return c.flushLocked()
}

func (c *Conn) flushLocked() error {
	if len(c.held) == 0 {
		return nil
	}
	_, err := c.TCPConn.Write(c.held)
	if cap(c.held) > 16<<10 {
		c.held = nil // do not keep a large buffer on an idle connection
	} else {
		c.held = c.held[:0]
	}
	return err
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
