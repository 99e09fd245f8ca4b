package clients

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/postern/postern/internal/testserver"
)

// After requests from the SDK, /metrics counts them by operation and status,
// with latency and bytes, and the log has one access line per request
// without secrets or signatures.
func TestMetricsAndAccessLog(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, testserver.Options{})
	c, _ := sdkClient(t, srv)
	ctx := context.Background()
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("obs")}); err != nil {
		t.Fatal(err)
	}
	body := bytes.Repeat([]byte("m"), 5000)
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("obs"), Key: aws.String("k"), Body: bytes.NewReader(body)}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		getBytes(t, c, "obs", "k")
	}
	if _, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("obs"), Key: aws.String("missing")}); err == nil {
		t.Fatal("GetObject of a missing key succeeded")
	}

	m := scrapeMetrics(t, srv)
	metric := func(re string) float64 {
		t.Helper()
		return metricValue(t, m, re)
	}
	if v := metric(`postern_requests_total\{op="GetObject",status="200"\}`); v != 3 {
		t.Errorf("GetObject 200 = %v, want 3", v)
	}
	if v := metric(`postern_requests_total\{op="GetObject",status="404"\}`); v != 1 {
		t.Errorf("GetObject 404 = %v, want 1", v)
	}
	if v := metric(`postern_requests_total\{op="PutObject",status="200"\}`); v != 1 {
		t.Errorf("PutObject 200 = %v, want 1", v)
	}
	if v := metric(`postern_request_duration_seconds_count\{op="GetObject"\}`); v != 4 {
		t.Errorf("GetObject latency count = %v, want 4", v)
	}
	if v := metric(`postern_bytes_sent_total`); v < 3*5000 {
		t.Errorf("bytes sent %v < %d", v, 3*5000)
	}
	if v := metric(`postern_bytes_received_total`); v < 5000 {
		t.Errorf("bytes received %v < 5000", v)
	}

	// Access lines are buffered for up to 200 ms.
	var lines []string
	deadline := time.Now().Add(time.Minute)
	for len(lines) < 3 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		lines = nil
		for _, l := range strings.Split(srv.Logs(), "\n") {
			if strings.Contains(l, "msg=request ") && strings.Contains(l, "op=GetObject") && strings.Contains(l, "key=k ") {
				lines = append(lines, l)
			}
		}
	}
	if len(lines) != 3 {
		t.Fatalf("%d access lines for 3 GETs of k:\n%s", len(lines), srv.Logs())
	}
	for _, f := range []string{"request_id=", "method=GET", "bucket=obs", "status=200", "bytes_out=5000", "duration_ms=", "access_key=" + srv.AccessKey} {
		if !strings.Contains(lines[0], f) {
			t.Errorf("access line lacks %q: %s", f, lines[0])
		}
	}
	logs := srv.Logs()
	if strings.Contains(logs, srv.SecretKey) || strings.Contains(logs, "Signature=") || strings.Contains(logs, "X-Amz-Signature") {
		t.Error("the log holds a secret or a signature")
	}
}

// An idle server runs on one P; while an upload is being written with
// O_DIRECT it runs with one P more than Go's default, and a moment after
// it is back on one P (package procs). GOMAXPROCS in its environment
// disables both.
func TestGOMAXPROCS(t *testing.T) {
	t.Parallel()
	// Go's default in the server is the test process's own default, unless
	// the test process itself was given GOMAXPROCS.
	def := runtime.NumCPU()
	if os.Getenv("GOMAXPROCS") == "" {
		def = runtime.GOMAXPROCS(0)
	}
	for _, tc := range []struct {
		env        string
		idle, busy int
	}{
		{"GOMAXPROCS=", 1, def + 1},
		{"GOMAXPROCS=1", 1, 1},
	} {
		srv := testserver.Start(t, testserver.Options{Env: []string{tc.env}})
		gomaxprocs := func() int {
			return int(metricValue(t, scrapeMetrics(t, srv), "go_sched_gomaxprocs_threads"))
		}
		waitFor := func(want int, what string) {
			t.Helper()
			deadline := time.Now().Add(time.Minute)
			for got := gomaxprocs(); got != want; got = gomaxprocs() {
				if time.Now().After(deadline) {
					t.Fatalf("%s, %s: GOMAXPROCS %d, want %d", tc.env, what, got, want)
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
		waitFor(tc.idle, "idle")

		c, _ := sdkClient(t, srv)
		if _, err := c.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String("procs")}); err != nil {
			t.Fatal(err)
		}
		// An 8 MiB upload whose body arrives in two halves: between them
		// the blob is being written.
		const size = 8 << 20
		pr, pw := io.Pipe()
		req, _ := http.NewRequest("PUT", srv.URL+"/procs/big", pr)
		req.ContentLength = size
		req.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
		creds := aws.Credentials{AccessKeyID: srv.AccessKey, SecretAccessKey: srv.SecretKey}
		if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, "UNSIGNED-PAYLOAD", "s3", srv.Region, time.Now()); err != nil {
			t.Fatal(err)
		}
		done := make(chan int, 1)
		go func() {
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				done <- 0
				return
			}
			resp.Body.Close()
			done <- resp.StatusCode
		}()
		half := bytes.Repeat([]byte("p"), size/2)
		pw.Write(half)
		waitFor(tc.busy, "upload in flight")
		pw.Write(half)
		pw.Close()
		if code := <-done; code != http.StatusOK {
			t.Fatalf("%s: PUT status %d", tc.env, code)
		}
		waitFor(tc.idle, "after the upload")
	}
}

// scrapeMetrics returns the server's /metrics page.
func scrapeMetrics(t *testing.T, srv *testserver.Server) []byte {
	t.Helper()
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	m, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// metricValue returns the value of the sample whose name and labels match
// the regular expression re in the metrics page m.
func metricValue(t *testing.T, m []byte, re string) float64 {
	t.Helper()
	match := regexp.MustCompile(`(?m)^` + re + ` (\S+)$`).FindSubmatch(m)
	if match == nil {
		t.Fatalf("no %s in /metrics:\n%s", re, m)
	}
	v, err := strconv.ParseFloat(string(match[1]), 64)
	if err != nil {
		t.Fatalf("%s: %v", re, err)
	}
	return v
}
