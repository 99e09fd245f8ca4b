// Package pgnode drives a real postern process on PostgreSQL (--meta)
// through its database's failures: a database that stops, or hangs,
// makes the node answer 503 ServiceUnavailable (S3 XML) and report it on
// /health/ready, and the node recovers by itself when the database is back.
package pgnode

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/postern/postern/internal/pgtest"
	"github.com/postern/postern/internal/s3test"
	"github.com/postern/postern/internal/testserver"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// hangGuard only keeps a broken node from hanging the test; nothing is
// timed against it.
const hangGuard = 2 * time.Minute

func serverKey() string {
	var b [32]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

type health struct {
	Status     string `json:"status"`
	Components []struct {
		Name, Status, Error string
	} `json:"components"`
}

func ready(t *testing.T, s *testserver.Server) (int, health) {
	t.Helper()
	resp, err := s.HTTPClient().Get(s.URL + "/health/ready")
	if err != nil {
		t.Fatalf("/health/ready: %v", err)
	}
	defer resp.Body.Close()
	var h health
	body, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(body, &h); err != nil {
		t.Fatalf("/health/ready body %q: %v", body, err)
	}
	return resp.StatusCode, h
}

// waitReady polls /health/ready until it answers want (the event), within
// hangGuard.
func waitReady(t *testing.T, s *testserver.Server, want int) health {
	t.Helper()
	deadline := time.Now().Add(hangGuard)
	for {
		code, h := ready(t, s)
		if code == want {
			return h
		}
		if time.Now().After(deadline) {
			t.Fatalf("/health/ready still %d %+v after %v, want %d", code, h, hangGuard, want)
		}
		time.Sleep(50 * time.Millisecond) // polling for the event
	}
}

func component(h health, name string) (status, errText string) {
	for _, c := range h.Components {
		if c.Name == name {
			return c.Status, c.Error
		}
	}
	return "", ""
}

// expect503 checks that the S3 API answers ServiceUnavailable in S3 XML,
// through the SDK and through a plain HTTP GET.
func expect503(t *testing.T, s *testserver.Server, c *s3.Client, bucket string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	_, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("k")})
	if status, code, _ := s3test.APIErr(err); status != http.StatusServiceUnavailable || code != "ServiceUnavailable" {
		t.Errorf("GetObject: %d %s (%v), want 503 ServiceUnavailable", status, code, err)
	}
	_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("k2"), Body: bytes.NewReader([]byte("x"))})
	if status, code, _ := s3test.APIErr(err); status != http.StatusServiceUnavailable || code != "ServiceUnavailable" {
		t.Errorf("PutObject: %d %s (%v), want 503 ServiceUnavailable", status, code, err)
	}
	req, _ := http.NewRequestWithContext(ctx, "GET", s.URL+"/"+bucket+"/k", nil)
	resp, err := s.HTTPClient().Do(req)
	if err != nil {
		t.Fatalf("anonymous GET: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "<Code>ServiceUnavailable</Code>") ||
		!strings.Contains(string(body), "metadata store is unreachable") || resp.Header.Get("Content-Type") != "application/xml" {
		t.Errorf("anonymous GET: %d %s %q, want 503 S3 XML ServiceUnavailable", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
}

// waitCacheBypassed waits until the node's GET of bucket/k answers 503:
// the node serves small objects from its cache (meta/postgres, cache.go)
// until its invalidation listener is no longer trusted — the listen
// connection lost, or not confirmed for two heartbeats (0.5 s) — and only
// then reaches the database. Meanwhile the only other answer allowed is
// the cached body. The wait is bounded by hangGuard only; it is logged.
func waitCacheBypassed(t *testing.T, c *s3.Client, bucket, body string) {
	t.Helper()
	start := time.Now()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
		got, err := s3test.GetObject(ctx, c, bucket, "k")
		cancel()
		if err == nil && string(got) != body {
			t.Fatalf("GetObject while the database is down: %q, want %q from the cache or 503", got, body)
		}
		if err != nil {
			if status, code, _ := s3test.APIErr(err); status != http.StatusServiceUnavailable || code != "ServiceUnavailable" {
				t.Fatalf("GetObject while the database is down: %d %s (%v), want 503 ServiceUnavailable", status, code, err)
			}
			t.Logf("first 503 answered %v after the database went down (the node's bounded wait included)", time.Since(start))
			return
		}
		if time.Since(start) > hangGuard {
			t.Fatalf("GetObject still served from the cache %v after the database went down", hangGuard)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestDatabaseOutage(t *testing.T) {
	cl := pgtest.NewCluster(t)
	dsn := cl.DSN(t)
	key := serverKey()
	s := testserver.Start(t, testserver.Options{Args: []string{"--meta", dsn, "--server-key", key}})
	if strings.Contains(s.Logs(), strings.TrimPrefix(dsn, "postgres://postgres:")[:8]) {
		t.Errorf("the log shows the database password:\n%s", s.Logs())
	}
	pid := s.PID()
	c := s3test.Client(s, s3test.Options{RetryMaxAttempts: 1})
	bucket := s3test.NewBucket(t, c, "pg")
	s3test.Put(t, c, bucket, "k", []byte("hello"))
	check := func(what string) {
		t.Helper()
		got, err := s3test.GetObject(s3test.Ctx(t), c, bucket, "k")
		if err != nil || string(got) != "hello" {
			t.Fatalf("%s: GET %q %v", what, got, err)
		}
		out, err := c.ListObjectsV2(s3test.Ctx(t), &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
		if err != nil || len(out.Contents) == 0 || aws.ToString(out.Contents[0].Key) != "k" {
			t.Fatalf("%s: list %v", what, err)
		}
	}
	check("before")
	if code, h := ready(t, s); code != 200 || h.Status != "ready" {
		t.Fatalf("/health/ready: %d %+v", code, h)
	}

	// Stopped: clean 503s, and readiness names the database.
	cl.Stop(t)
	waitCacheBypassed(t, c, bucket, "hello")
	expect503(t, s, c, bucket)
	h := waitReady(t, s, http.StatusServiceUnavailable)
	if st, e := component(h, "database"); st != "down" || e != "unreachable" {
		t.Errorf("database while stopped: %q %q (%+v)", st, e, h)
	}
	if st, _ := component(h, "blobs"); st != "up" {
		t.Errorf("blobs while the database is stopped: %q", st)
	}

	// Back: the same process serves again.
	cl.Start(t)
	waitReady(t, s, http.StatusOK)
	check("after the restart")
	s3test.Put(t, c, bucket, "k3", []byte("again"))

	// Hung (nothing answers, connections are not refused): still 503s,
	// after the node's bounded waits, never a hang.
	cl.Pause(t)
	waitCacheBypassed(t, c, bucket, "hello")
	expect503(t, s, c, bucket)
	waitReady(t, s, http.StatusServiceUnavailable)
	cl.Resume(t)
	waitReady(t, s, http.StatusOK)
	check("after resuming")
	if s.PID() != pid {
		t.Fatal("the node was restarted")
	}
}

// A second node with another server key refuses to start, saying why; one
// without --server-key or the root credentials too.
func TestSharedSettings(t *testing.T) {
	dsn := pgtest.DSN(t)
	testserver.Start(t, testserver.Options{Args: []string{"--meta", dsn, "--server-key", serverKey()}})
	run := func(env []string, args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
		defer cancel()
		cmd := exec.CommandContext(ctx, testserver.Binary(t), append([]string{"server", "--data", t.TempDir(), "--listen", "127.0.0.1:0", "--console-listen", "off", "--meta", dsn}, args...)...)
		cmd.Env = append(s3test.EnvWithoutAWS(), env...)
		out, err := cmd.CombinedOutput()
		if err == nil {
			t.Fatalf("started:\n%s", out)
		}
		return string(out)
	}
	root := []string{"POSTERN_ROOT_ACCESS_KEY=AKIAPOSTERNTEST00001", "POSTERN_ROOT_SECRET_KEY=postern/test/secret/key/0123456789abcdef"}
	if out := run(root, "--server-key", serverKey()); !strings.Contains(out, "sealed with another server key") {
		t.Errorf("another server key:\n%s", out)
	}
	if out := run(root); !strings.Contains(out, "--server-key") {
		t.Errorf("no server key:\n%s", out)
	}
	if out := run(nil, "--server-key", serverKey()); !strings.Contains(out, "POSTERN_ROOT_ACCESS_KEY") {
		t.Errorf("no root credentials:\n%s", out)
	}
}
