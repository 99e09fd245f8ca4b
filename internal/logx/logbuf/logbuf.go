// Package logbuf is a buffered writer for logs: lines go to memory and are
// flushed to the underlying writer when the buffer fills, every interval,
// and on Close. One access-log line per request would otherwise cost a
// write system call per request.
package logbuf

import (
	"bufio"
	"io"
	"sync"
	"time"
)

// Writer is safe for concurrent use. Each Write is kept whole.
type Writer struct {
	mu   sync.Mutex
	bw   *bufio.Writer
	stop chan struct{}
	done chan struct{}
}

// New starts a Writer that flushes w at least every interval.
func New(w io.Writer, size int, interval time.Duration) *Writer {
	lw := &Writer{bw: bufio.NewWriterSize(w, size), stop: make(chan struct{}), done: make(chan struct{})}
	go lw.loop(interval)
	return lw
}

func (w *Writer) loop(interval time.Duration) {
	defer close(w.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-w.stop:
			return
		case <-t.C:
			w.Flush()
		}
	}
}

// Write buffers p.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.bw.Write(p)
}

// Flush writes out what is buffered.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.bw.Flush()
}

// Close stops the flusher and flushes.
func (w *Writer) Close() error {
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	<-w.done
	return w.Flush()
}
