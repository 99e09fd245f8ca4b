package blob

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"syscall"
	"testing"
)

// recordingReaderFrom remembers what its ReadFrom was given.
type recordingReaderFrom struct {
	got    io.Reader
	n      int64
	offset int64
	bytes.Buffer
}

func (r *recordingReaderFrom) ReadFrom(src io.Reader) (int64, error) {
	r.got = src
	if lr, ok := src.(*io.LimitedReader); ok {
		r.n = lr.N
		if f, ok := lr.R.(*os.File); ok {
			r.offset, _ = f.Seek(0, io.SeekCurrent)
		}
	}
	return r.Buffer.ReadFrom(src)
}

// Dir's range reader hands a destination's ReadFrom exactly what the
// standard library turns into sendfile (a TCP connection) or
// copy_file_range (a file): an *io.LimitedReader around the *os.File,
// positioned at the range.
func TestOpenRangeHandsOverTheFile(t *testing.T) {
	s, err := OpenDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	w, err := s.Create(ctx)
	if err != nil {
		t.Fatal(err)
	}
	data := make([]byte, 3<<20)
	for i := range data {
		data[i] = byte(i * 7)
	}
	w.Write(data)
	if err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	const off, n = 12345, 1 << 20
	r, err := s.Open(ctx, w.ID(), off, n)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var dst recordingReaderFrom
	if _, err := io.Copy(&dst, r); err != nil {
		t.Fatal(err)
	}
	lr, ok := dst.got.(*io.LimitedReader)
	if !ok {
		t.Fatalf("ReadFrom got %T, want *io.LimitedReader", dst.got)
	}
	if _, ok := lr.R.(*os.File); !ok {
		t.Fatalf("the limited reader wraps %T, want *os.File", lr.R)
	}
	if dst.n != n || dst.offset != off {
		t.Fatalf("handed %d bytes at offset %d, want %d at %d", dst.n, dst.offset, n, off)
	}
	if !bytes.Equal(dst.Bytes(), data[off:off+n]) {
		t.Fatal("range bytes differ")
	}
	// A plain writer gets the same bytes through Read.
	r2, _ := s.Open(ctx, w.ID(), off, n)
	defer r2.Close()
	var plain bytes.Buffer
	if _, err := io.Copy(struct{ io.Writer }{&plain}, r2); err != nil || !bytes.Equal(plain.Bytes(), data[off:off+n]) {
		t.Fatalf("plain copy: %v, %d bytes", err, plain.Len())
	}
}

// BenchmarkServeRange serves a 64 MiB range of a blob over loopback TCP
// through net/http, as a GET does: "sendfile" hands the connection the
// range reader (io.Copy → WriteTo → the connection's ReadFrom → sendfile),
// "copy" hides it behind a plain io.Reader so that every byte is read into
// user space and written out again. cpu-ns/op is the process's CPU time
// (user + system, server and client together) per request.
func BenchmarkServeRange(b *testing.B) {
	s, err := OpenDir(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	w, err := s.Create(ctx)
	if err != nil {
		b.Fatal(err)
	}
	const size = 64 << 20
	if _, err := w.ReadFrom(io.LimitReader(zeros{}, size+4096)); err != nil {
		b.Fatal(err)
	}
	if err := w.Commit(ctx); err != nil {
		b.Fatal(err)
	}
	id := w.ID()
	for _, mode := range []string{"sendfile", "copy"} {
		b.Run(mode, func(b *testing.B) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			srv := &http.Server{Handler: http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
				rd, err := s.Open(r.Context(), id, 4096, size)
				if err != nil {
					http.Error(rw, err.Error(), 500)
					return
				}
				defer rd.Close()
				rw.Header().Set("Content-Type", "application/octet-stream")
				rw.Header().Set("Content-Length", strconv.Itoa(size))
				rw.WriteHeader(200)
				if mode == "copy" {
					io.Copy(rw, struct{ io.Reader }{rd})
				} else {
					io.Copy(rw, rd)
				}
			})}
			go srv.Serve(ln)
			defer srv.Close()
			url := "http://" + ln.Addr().String() + "/"
			client := &http.Client{Transport: &http.Transport{}}
			buf := make([]byte, 1<<20)
			var before syscall.Rusage
			syscall.Getrusage(syscall.RUSAGE_SELF, &before)
			b.SetBytes(size)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				resp, err := client.Get(url)
				if err != nil {
					b.Fatal(err)
				}
				n, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{resp.Body}, buf)
				resp.Body.Close()
				if err != nil || n != size {
					b.Fatalf("read %d, %v", n, err)
				}
			}
			b.StopTimer()
			var after syscall.Rusage
			syscall.Getrusage(syscall.RUSAGE_SELF, &after)
			cpu := syscall.TimevalToNsec(after.Utime) - syscall.TimevalToNsec(before.Utime) +
				syscall.TimevalToNsec(after.Stime) - syscall.TimevalToNsec(before.Stime)
			b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/op")
		})
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
