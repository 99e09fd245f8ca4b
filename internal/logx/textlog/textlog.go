// Package textlog is a slog.Handler that writes exactly what
// slog.TextHandler writes, in a fraction of the time for the records a
// server logs most: flat records of strings, numbers, booleans and
// durations, such as one access-log line per request. Every other record
// (groups, WithAttrs, other kinds of values, ReplaceAttr, AddSource) is
// handed to a slog.TextHandler writing to the same place.
package textlog

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
)

// New returns a handler writing text lines to w. Each line is one Write.
func New(w io.Writer, opts *slog.HandlerOptions) slog.Handler {
	if opts == nil {
		opts = &slog.HandlerOptions{}
	}
	lw := &lockedWriter{w: w}
	text := slog.NewTextHandler(lw, opts)
	if opts.ReplaceAttr != nil || opts.AddSource {
		return text
	}
	level := opts.Level
	if level == nil {
		level = slog.LevelInfo
	}
	return &Handler{text: text, level: level, w: lw}
}

// Handler is the fast handler; see the package comment.
type Handler struct {
	text  slog.Handler // for everything off the fast path
	level slog.Leveler
	w     *lockedWriter
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

func (h *Handler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level.Level() }

func (h *Handler) WithAttrs(as []slog.Attr) slog.Handler { return h.text.WithAttrs(as) }
func (h *Handler) WithGroup(name string) slog.Handler    { return h.text.WithGroup(name) }

func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	flat := true
	r.Attrs(func(a slog.Attr) bool {
		flat = a.Key != "" && fastKind(a.Value.Kind())
		return flat
	})
	if !flat {
		return h.text.Handle(ctx, r)
	}
	bp := bufPool.Get().(*[]byte)
	b := (*bp)[:0]
	if !r.Time.IsZero() {
		b = append(b, "time="...)
		b = appendTime(b, r.Time.Round(0))
		b = append(b, ' ')
	}
	b = append(b, "level="...)
	b = appendString(b, r.Level.String())
	b = append(b, " msg="...)
	b = appendString(b, r.Message)
	r.Attrs(func(a slog.Attr) bool {
		b = append(b, ' ')
		b = appendString(b, a.Key)
		b = append(b, '=')
		b = appendValue(b, a.Value)
		return true
	})
	b = append(b, '\n')
	_, err := h.w.Write(b)
	if cap(b) <= 16<<10 {
		*bp = b
		bufPool.Put(bp)
	}
	return err
}

func fastKind(k slog.Kind) bool {
	switch k {
	case slog.KindString, slog.KindInt64, slog.KindUint64, slog.KindFloat64, slog.KindBool, slog.KindDuration:
		return true
	}
	return false
}

func appendValue(b []byte, v slog.Value) []byte {
	switch v.Kind() {
	case slog.KindString:
		return appendString(b, v.String())
	case slog.KindInt64:
		return strconv.AppendInt(b, v.Int64(), 10)
	case slog.KindUint64:
		return strconv.AppendUint(b, v.Uint64(), 10)
	case slog.KindFloat64:
		return strconv.AppendFloat(b, v.Float64(), 'g', -1, 64)
	case slog.KindBool:
		return strconv.AppendBool(b, v.Bool())
	default: // KindDuration; fastKind admits nothing else
		return appendString(b, v.Duration().String())
	}
}

// appendTime writes t as RFC 3339 with exactly three fractional digits,
// truncated, as slog does. RFC3339Nano has a fast formatting path but drops
// trailing zeros, so format with a tenth of a millisecond added and remove
// that fourth digit.
func appendTime(b []byte, t time.Time) []byte {
	const fracEnd = len("2006-01-02T15:04:05.000")
	n := len(b)
	b = t.Truncate(time.Millisecond).Add(100*time.Microsecond).AppendFormat(b, time.RFC3339Nano)
	return append(b[:n+fracEnd], b[n+fracEnd+1:]...)
}

// appendString writes s bare, or Go-quoted when it would otherwise be
// ambiguous: empty, or holding a space, '=', '"', a control character or
// anything not printable.
func appendString(b []byte, s string) []byte {
	if needsQuoting(s) {
		return strconv.AppendQuote(b, s)
	}
	return append(b, s...)
}

func needsQuoting(s string) bool {
	if s == "" {
		return true
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c <= ' ' || c == '=' || c == '"' {
				return true
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError || unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return true
		}
		i += size
	}
	return false
}
