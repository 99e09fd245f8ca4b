package textlog

import (
	"bytes"
	"context"
	"log/slog"
	"math"
	"testing"
	"time"
)

// both logs the same record through Handler and slog.TextHandler.
func both(t testing.TB, tm time.Time, msg string, attrs ...slog.Attr) (fast, want string) {
	var fb, tb bytes.Buffer
	h := New(&fb, nil)
	if _, ok := h.(*Handler); !ok {
		t.Fatal("New without options must return the fast handler")
	}
	th := slog.NewTextHandler(&tb, nil)
	r := slog.NewRecord(tm, slog.LevelInfo, msg, 0)
	r.AddAttrs(attrs...)
	if err := h.Handle(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	if err := th.Handle(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	return fb.String(), tb.String()
}

func TestSameAsTextHandler(t *testing.T) {
	tm := time.Date(2026, 11, 25, 20, 50, 53, 120_000_000, time.UTC)
	cases := [][]slog.Attr{
		{slog.String("request_id", "96CF4929E62674BE"), slog.String("op", "GetObject"), slog.Int("status", 200),
			slog.Int64("bytes_out", 4096), slog.Float64("duration_ms", 0.123), slog.String("key", "")},
		{slog.String("key", "a b=c\"d\\e\n\tf"), slog.String("u", "ünïcödé ✓"), slog.String("bad", "\xff\xfe"),
			slog.String("nbsp", "a\u00a0b"), slog.String("ctl", "a\x7fb\x01")},
		{slog.Bool("ok", true), slog.Uint64("u", 1<<63), slog.Float64("f", 1e21), slog.Float64("g", math.Copysign(0, -1)),
			slog.Duration("d", 1500*time.Millisecond), slog.Int64("neg", -42)},
		{slog.String("k=y", "v"), slog.String("k y", "v"), slog.String("ключ", "значение")},
	}
	for _, tm := range []time.Time{tm, tm.Add(999_999 * time.Nanosecond), tm.In(time.FixedZone("x", -5*3600-1800)), {}} {
		for _, as := range cases {
			fast, want := both(t, tm, "request", as...)
			if fast != want {
				t.Errorf("fast:\n%s\nwant:\n%s", fast, want)
			}
		}
	}
	if fast, want := both(t, tm, "a message with spaces"); fast != want {
		t.Errorf("fast:\n%s\nwant:\n%s", fast, want)
	}
}

// Records off the fast path go to slog.TextHandler, unchanged.
func TestSlowPathDelegates(t *testing.T) {
	tm := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	fast, want := both(t, tm, "m", slog.Any("err", context.Canceled), slog.Group("g", slog.Int("a", 1)), slog.Time("t", tm))
	if fast != want {
		t.Errorf("fast:\n%s\nwant:\n%s", fast, want)
	}
	var fb, tb bytes.Buffer
	slog.New(New(&fb, nil)).With("a", 1).WithGroup("g").Info("m", "b", 2)
	slog.New(slog.NewTextHandler(&tb, nil)).With("a", 1).WithGroup("g").Info("m", "b", 2)
	if fb.String()[29:] != tb.String()[29:] { // after the time
		t.Errorf("fast:\n%s\nwant:\n%s", fb.String(), tb.String())
	}
}

func TestLevel(t *testing.T) {
	var b bytes.Buffer
	l := slog.New(New(&b, &slog.HandlerOptions{Level: slog.LevelWarn}))
	l.Info("hidden")
	l.Warn("shown")
	if bytes.Contains(b.Bytes(), []byte("hidden")) || !bytes.Contains(b.Bytes(), []byte("shown")) {
		t.Fatalf("level filtering: %q", b.String())
	}
}

func FuzzSameAsTextHandler(f *testing.F) {
	f.Add("key", "value", int64(1), 1.5, int64(time.Second))
	f.Add("", "a b", int64(-1), 0.0, int64(0))
	f.Add("k\"=", "\x00\xff", int64(1<<62), 1e-300, int64(-1))
	f.Fuzz(func(t *testing.T, k, s string, n int64, fl float64, d int64) {
		if k == "" {
			k = "k"
		}
		tm := time.Unix(0, n).UTC()
		fast, want := both(t, tm, s, slog.String(k, s), slog.Int64(s+"n", n), slog.Float64("f", fl), slog.Duration("d", time.Duration(d)))
		if fast != want {
			t.Fatalf("fast:\n%q\nwant:\n%q", fast, want)
		}
	})
}

func BenchmarkAccessLine(b *testing.B) {
	for _, name := range []string{"textlog", "slog.TextHandler"} {
		b.Run(name, func(b *testing.B) {
			var h slog.Handler = New(discard{}, nil)
			if name != "textlog" {
				h = slog.NewTextHandler(discard{}, nil)
			}
			l := slog.New(h)
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				l.LogAttrs(context.Background(), slog.LevelInfo, "request",
					slog.String("request_id", "96CF4929E62674BE"), slog.String("op", "GetObject"),
					slog.String("method", "GET"), slog.String("bucket", "s3bench"), slog.String("key", "small/00000"),
					slog.Int("status", 200), slog.Int64("bytes_in", 0), slog.Int64("bytes_out", 4096),
					slog.Float64("duration_ms", 0.123), slog.String("access_key", "benchak"), slog.String("remote", "127.0.0.1:43210"))
			}
		})
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
