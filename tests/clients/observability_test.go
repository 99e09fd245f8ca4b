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

	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	m, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	metric := func(re string) float64 {
		t.Helper()
		match := regexp.MustCompile(`(?m)^` + re + ` (\S+)$`).FindSubmatch(m)
		if match == nil {
			t.Fatalf("no %s in /metrics:\n%s", re, m)
		}
		v, _ := strconv.ParseFloat(string(match[1]), 64)
		return v
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
	deadline := time.Now().Add(5 * time.Second)
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

// The server runs with one P more than Go's default (blocking O_DIRECT
// writes hold a P), unless GOMAXPROCS is set in its environment.
func TestGOMAXPROCS(t *testing.T) {
	t.Parallel()
	gomaxprocs := func(env string) int {
		srv := testserver.Start(t, testserver.Options{Env: []string{env}})
		resp, err := http.Get(srv.URL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		m, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		match := regexp.MustCompile(`(?m)^go_sched_gomaxprocs_threads (\d+)$`).FindSubmatch(m)
		if match == nil {
			t.Fatalf("no go_sched_gomaxprocs_threads in /metrics")
		}
		n, _ := strconv.Atoi(string(match[1]))
		return n
	}
	// Go's default in the server is the test process's own default, unless
	// the test process itself was given GOMAXPROCS.
	def := runtime.NumCPU()
	if os.Getenv("GOMAXPROCS") == "" {
		def = runtime.GOMAXPROCS(0)
	}
	if got := gomaxprocs("GOMAXPROCS="); got != def+1 {
		t.Errorf("default GOMAXPROCS = %d, want %d", got, def+1)
	}
	if got := gomaxprocs("GOMAXPROCS=1"); got != 1 {
		t.Errorf("with GOMAXPROCS=1 in the environment: %d, want 1", got)
	}
}
