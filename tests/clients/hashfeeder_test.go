package clients

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/postern/postern/internal/s3test"
	"github.com/postern/postern/internal/testserver"
)

// While the machine's CPUs are saturated, large uploads' MD5s and
// SHA-256s go through bodyhash's feeder (simdhash). Saturate
// them, wait until the server says so on /metrics, and check that
// concurrent SDK uploads (over HTTP the SDK signs each body's SHA-256)
// still get their MD5 as ETag and read back byte for byte, while uploads
// sent at the same time with the SHA-256 of other bytes are refused. An
// execution trace taken meanwhile must not disturb them (the tracer
// crashes a process whose assembly uses BP as scratch, as md5-simd's
// scalar MD5 did).
func TestUploadsWhileCPUSaturated(t *testing.T) {
	dbg := freeAddr(t)
	srv := testserver.Start(t, testserver.Options{Args: []string{"--debug-addr", dbg}})
	c, _ := sdkClient(t, srv)
	bucket := s3test.NewBucket(t, c, "saturated")
	if v := metricValue(t, scrapeMetrics(t, srv), "postern_cpu_saturated"); v != 0 && v != 1 {
		t.Fatalf("postern_cpu_saturated = %v", v)
	}

	var stop atomic.Bool
	var burners sync.WaitGroup
	for i := 0; i < runtime.NumCPU(); i++ {
		burners.Add(1)
		go func() {
			defer burners.Done()
			for !stop.Load() { // keep this CPU busy
			}
		}()
	}
	defer func() { stop.Store(true); burners.Wait() }()
	deadline := time.Now().Add(20 * time.Second)
	for metricValue(t, scrapeMetrics(t, srv), "postern_cpu_saturated") != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the server never reported the CPUs saturated while every CPU was busy")
		}
		time.Sleep(100 * time.Millisecond)
	}

	// Sixteen large bodies at once, and two with a wrong SHA-256, hashed
	// sixteen at a time (bodyhash, simdhash).
	const n = 16
	var wg sync.WaitGroup
	errs := make(chan string, 3*n+3)
	wg.Add(1)
	go func() {
		defer wg.Done()
		resp, err := http.Get("http://" + dbg + "/debug/pprof/trace?seconds=1")
		if err != nil {
			errs <- "trace: " + err.Error()
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != 200 || !bytes.HasPrefix(b, []byte("go 1.")) {
			errs <- fmt.Sprintf("trace: status %d, %d bytes, err %v", resp.StatusCode, len(b), err)
		}
	}()
	for i := 0; i < 2; i++ {
		key := "forged/" + string(rune('a'+i))
		body := s3test.RandBytes(uint64(200+i), 3<<20+i*64)
		other := append([]byte{1}, body[1:]...)
		req, err := http.NewRequest(http.MethodPut, srv.URL+"/"+bucket+"/"+key, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Amz-Content-Sha256", s3test.SHA256Hex(other))
		s3test.SignV4(t, srv, req, "s3", other)
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := srv.HTTPClient().Do(req)
			if err != nil {
				errs <- key + ": " + err.Error()
				return
			}
			defer resp.Body.Close()
			rb, _ := io.ReadAll(resp.Body)
			if e, _ := s3test.ParseError(rb); resp.StatusCode != 400 || e.Code != "XAmzContentSHA256Mismatch" {
				errs <- fmt.Sprintf("%s: a body with another SHA-256 got %d %s, want 400 XAmzContentSHA256Mismatch", key, resp.StatusCode, e.Code)
			}
		}()
	}
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := "big/" + string(rune('a'+i))
			body := s3test.RandBytes(uint64(100+i), 3<<20+i*4099)
			want := s3test.Quoted(s3test.MD5Hex(body))
			out, err := s3test.PutObject(s3test.Ctx(t), c, bucket, key, body)
			if err != nil {
				errs <- key + ": " + err.Error()
				return
			}
			if aws.ToString(out.ETag) != want {
				errs <- key + ": PUT ETag " + aws.ToString(out.ETag) + ", want " + want
			}
			head, err := c.HeadObject(s3test.Ctx(t), &s3.HeadObjectInput{Bucket: &bucket, Key: &key})
			if err != nil || aws.ToString(head.ETag) != want {
				errs <- key + ": HEAD ETag differs or failed"
			}
			got, err := s3test.GetObject(s3test.Ctx(t), c, bucket, key)
			if err != nil || string(got) != string(body) {
				errs <- key + ": GET returned other bytes or failed"
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	for i := 0; i < 2; i++ {
		key := "forged/" + string(rune('a'+i))
		if _, err := c.HeadObject(s3test.Ctx(t), &s3.HeadObjectInput{Bucket: &bucket, Key: &key}); err == nil {
			t.Errorf("%s was stored although its SHA-256 did not match", key)
		}
	}
	if v := metricValue(t, scrapeMetrics(t, srv), "postern_cpu_saturated"); v != 1 {
		t.Logf("the CPUs were no longer saturated after the uploads (%v)", v)
	}
}

// freeAddr returns a loopback address with a port free at the moment.
func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
