// Package cluster drives several real postern processes as one deployment:
// three nodes on 127.0.0.1, 127.0.0.2 and 127.0.0.3 sharing one PostgreSQL
// database (--meta, a throw-away cluster from internal/pgtest), one blob
// store (--blobs: a shared directory, or an S3 service that is a fourth
// postern process) and one server key, with the same root credentials. Real
// clients (aws-sdk-go-v2, the aws CLI, curl) and nginx in front
// (deploy/nginx/postern.conf) check that any node serves what any other
// wrote, that a revoke on one node is enforced on the others, and what
// happens when a node, the database or a node behind nginx dies.
package cluster

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/postern/postern/internal/pgtest"
	"github.com/postern/postern/internal/s3test"
	"github.com/postern/postern/internal/testserver"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// nodeHosts are the loopback addresses of the three nodes.
var nodeHosts = []string{"127.0.0.1", "127.0.0.2", "127.0.0.3"}

// backend is a blob store the nodes share.
type backend struct {
	name string
	// blobs returns the --blobs value and the environment the nodes need
	// for it (the S3 service's credentials).
	blobs func(t *testing.T) (string, []string)
}

var backends = []backend{
	{"dir", func(t *testing.T) (string, []string) {
		// One directory all nodes write and sweep (a stand-in for a
		// shared POSIX file system: CephFS, NFS).
		return t.TempDir(), nil
	}},
	{"s3", func(t *testing.T) (string, []string) {
		// The S3 service: a fourth postern, on its own SQLite and files.
		back := testserver.Start(t, testserver.Options{Args: []string{"--console-listen", "off"}})
		s3test.CreateBucket(t, s3test.Client(back, s3test.Options{}), "backbucket")
		return "s3://backbucket/blobs?endpoint=" + back.URL + "&region=us-east-1", []string{
			"AWS_ACCESS_KEY_ID=" + back.AccessKey, "AWS_SECRET_ACCESS_KEY=" + back.SecretKey,
			"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_EC2_METADATA_DISABLED=true",
		}
	}},
}

// forEachBackend runs f as a subtest per blob back end, each on a new
// cluster.
func forEachBackend(t *testing.T, f func(t *testing.T, c *cluster)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { f(t, startCluster(t, b)) })
	}
}

// cluster is three nodes sharing one database, one blob store and one
// server key.
type cluster struct {
	t     *testing.T
	dsn   string // the shared database (a superuser's URL)
	blobs string
	nodes []*testserver.Server
	s3    []*s3.Client // one per node, root credentials, no retries
}

func startCluster(t *testing.T, b backend) *cluster {
	t.Helper()
	return startClusterOn(t, b, pgtest.DSN(t))
}

// startClusterOn starts the nodes on the database dsn.
func startClusterOn(t *testing.T, b backend, dsn string) *cluster {
	t.Helper()
	c := &cluster{t: t, dsn: dsn}
	var env []string
	c.blobs, env = b.blobs(t)
	var key [32]byte
	_, _ = rand.Read(key[:])
	serverKey := hex.EncodeToString(key[:])
	for _, host := range nodeHosts {
		// Every node: its own --data folder (lock, logs), everything
		// shared passed explicitly. testserver gives each the same root
		// credentials (POSTERN_ROOT_ACCESS_KEY/SECRET_KEY).
		n := testserver.Start(t, testserver.Options{
			Host: host,
			Args: []string{"--console-listen", "off", "--meta", c.dsn, "--blobs", c.blobs, "--server-key", serverKey},
			Env:  env,
		})
		c.nodes = append(c.nodes, n)
		// No retries: a test that expects a failure sees the first one.
		c.s3 = append(c.s3, s3test.Client(n, s3test.Options{RetryMaxAttempts: 1}))
	}
	return c
}

// iam returns an IAM client for node i with the root credentials.
func (c *cluster) iam(i int) *awsiam.Client {
	return awsiam.NewFromConfig(s3test.Config(c.nodes[i], s3test.Options{RetryMaxAttempts: 1}))
}

// s3As returns an S3 client for node i with the given credentials.
func (c *cluster) s3As(i int, ak, sk string) *s3.Client {
	return s3test.Client(c.nodes[i], s3test.Options{RetryMaxAttempts: 1}, func(o *s3.Options) {
		o.Credentials = credentials.NewStaticCredentialsProvider(ak, sk, "")
	})
}

// name is "A", "B" or "C" for node i.
func name(i int) string { return string(rune('A' + i)) }

// viaNode returns an HTTP client whose connections all go to addr
// (host:port), whatever the URL's host: what a load balancer does. The
// request keeps its URL's Host header, which SigV4 signed.
func viaNode(addr string) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	d := &net.Dialer{Timeout: 10 * time.Second}
	tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		return d.DialContext(ctx, network, addr)
	}
	tr.DisableKeepAlives = false
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// curl runs curl with args and returns the HTTP status and the body.
func curl(t *testing.T, args ...string) (int, []byte) {
	t.Helper()
	if _, err := exec.LookPath("curl"); err != nil {
		t.Fatal("curl not installed: run scripts/deps.sh")
	}
	out := filepath.Join(t.TempDir(), "body")
	cmd := exec.Command("curl", append([]string{"-sS", "--max-time", "60", "-o", out, "-w", "%{http_code}"}, args...)...)
	cmd.Env = s3test.EnvWithoutAWS()
	code, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("curl %v: %v\n%s", args, err, ee.Stderr)
		}
		t.Fatalf("curl %v: %v", args, err)
	}
	body, _ := os.ReadFile(out)
	var status int
	fmt.Sscanf(string(code), "%d", &status)
	return status, body
}

// connectTo is curl's --connect-to that sends a request for url's host to
// addr instead, keeping the Host header (as a load balancer does).
func connectTo(t *testing.T, rawURL, addr string) string {
	t.Helper()
	u := strings.TrimPrefix(strings.TrimPrefix(rawURL, "http://"), "https://")
	hostPort, _, _ := strings.Cut(u, "/")
	host, port, err := net.SplitHostPort(hostPort)
	if err != nil {
		t.Fatalf("URL %s: %v", rawURL, err)
	}
	ahost, aport, _ := net.SplitHostPort(addr)
	return host + ":" + port + ":" + ahost + ":" + aport
}

// s3Error is an S3 error document.
type s3Error struct {
	Code, Message, RequestId string
}

// parseS3Error reads an S3 error document; ok is false when body is none.
func parseS3Error(body []byte) (s3Error, bool) {
	var e s3Error
	if err := xml.Unmarshal(body, &e); err != nil || e.Code == "" {
		return e, false
	}
	return e, true
}

// get fetches bucket/key from client c and fails the test on an error.
func get(t *testing.T, c *s3.Client, bucket, key string) ([]byte, string) {
	t.Helper()
	out, err := c.GetObject(s3test.Ctx(t), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("GetObject %s/%s: %v", bucket, key, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatalf("GetObject %s/%s: reading the body: %v", bucket, key, err)
	}
	return b, aws.ToString(out.ETag)
}

// listKeys lists every key of bucket through c.
func listKeys(t *testing.T, c *s3.Client, bucket string) map[string]int64 {
	t.Helper()
	keys := map[string]int64{}
	p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), MaxKeys: aws.Int32(100)})
	for p.HasMorePages() {
		page, err := p.NextPage(s3test.Ctx(t))
		if err != nil {
			t.Fatalf("ListObjectsV2 %s: %v", bucket, err)
		}
		for _, o := range page.Contents {
			keys[aws.ToString(o.Key)] = aws.ToInt64(o.Size)
		}
	}
	return keys
}

// waitFor polls cond until it returns true, failing the test after
// deadline (a hang guard, far above the normal time). It is how the tests
// wait for an event (a node ready, a change visible) instead of sleeping.
func waitFor(t *testing.T, what string, deadline time.Duration, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > deadline {
			t.Fatalf("%s: not within %v", what, deadline)
		}
		time.Sleep(5 * time.Millisecond) // poll interval, not a guessed wait
	}
	return time.Since(start)
}

// sameBytes fails unless got equals want, describing both briefly.
func sameBytes(t *testing.T, what string, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		t.Fatalf("%s: got %d bytes (md5 %s), want %d bytes (md5 %s)", what, len(got), s3test.MD5Hex(got), len(want), s3test.MD5Hex(want))
	}
}
