// Package sigv2e2e drives a real postern server process with real legacy
// Signature Version 2 clients that nobody in this project wrote: the aws CLI
// v1 (`aws s3 presign`), s3cmd (`signurl` and `--signature-v2`) and boto3
// with signature_version='s3'. Every URL they print is then used with plain
// net/http or curl, without credentials, as the person it was shared with
// would. The expectations are AWS S3's behaviour plus Postern's documented
// rules (issue 9): a 7-day bound on SigV2 URLs, the s3:signatureversion
// policy key and the --sigv2=false switch.
package sigv2e2e

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/postern/postern/internal/s3test"
	"github.com/postern/postern/internal/testserver"
)

const mib = 1 << 20

// needTool returns the path of a client program. A missing one fails the test:
// scripts/test.sh (the README's test command) installs them.
func needTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is not on PATH (%v): run scripts/test.sh, which installs awscli, curl, s3cmd and python3-boto3", name, err)
	}
	return p
}

var boto3Once sync.Once
var boto3Err error

// needBoto3 fails the test unless python3 can import boto3.
func needBoto3(t testing.TB) {
	t.Helper()
	py := needTool(t, "python3")
	boto3Once.Do(func() {
		out, err := exec.Command(py, "-c", "import boto3, botocore.auth").CombinedOutput()
		if err != nil {
			boto3Err = fmt.Errorf("%v: %s", err, out)
		}
	})
	if boto3Err != nil {
		t.Fatalf("python3 cannot import boto3 (%v): run scripts/test.sh, which installs python3-boto3", boto3Err)
	}
}

// clientEnv is the process environment for the CLI clients: the machine's,
// without any inherited AWS_* variable, plus the server's credentials, so
// that nothing of the machine running the tests changes what clients send.
func clientEnv(s *testserver.Server) []string {
	return s3test.CLIEnv(s, "AWS_PAGER=", "AWS_MAX_ATTEMPTS=1")
}

// run runs a program and returns stdout, stderr and the exit code.
func run(t testing.TB, env []string, stdin []byte, name string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = env
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	if d := time.Since(start); d > 10*time.Second {
		t.Logf("slow: %s %s took %v", filepath.Base(name), strings.Join(args, " "), d.Round(time.Millisecond))
	}
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("%s %s: %v", name, strings.Join(args, " "), err)
		}
		code = ee.ExitCode()
	}
	return out.String(), errb.String(), code
}

// mustRun runs a program and fails the test unless it exits 0.
func mustRun(t testing.TB, env []string, name string, args ...string) string {
	t.Helper()
	out, errs, code := run(t, env, nil, name, args...)
	if code != 0 {
		t.Fatalf("%s %s: exit %d\nstdout: %s\nstderr: %s", filepath.Base(name), strings.Join(args, " "), code, out, errs)
	}
	return out
}

// awsPresign runs `aws s3 presign s3://bucket/key --endpoint-url URL [extra]`
// with the CLI's default settings and returns the URL it prints.
func awsPresign(t testing.TB, s *testserver.Server, bucket, key string, extra ...string) string {
	t.Helper()
	aws := needTool(t, "aws")
	args := append([]string{"s3", "presign", "s3://" + bucket + "/" + key, "--endpoint-url", s.URL}, extra...)
	u := strings.TrimSpace(mustRun(t, clientEnv(s), aws, args...))
	wantSigV2URL(t, "aws s3 presign", u)
	return u
}

// wantSigV2URL fails unless u is a SigV2 query-signed URL (so a client
// change to SigV4 cannot make these tests pass without testing SigV2).
func wantSigV2URL(t testing.TB, who, u string) {
	t.Helper()
	pu, err := url.Parse(u)
	if err != nil {
		t.Fatalf("%s printed %q: %v", who, u, err)
	}
	q := pu.Query()
	if q.Get("AWSAccessKeyId") == "" || q.Get("Signature") == "" || q.Get("Expires") == "" || q.Get("X-Amz-Algorithm") != "" {
		t.Fatalf("%s printed %q, want a SigV2 URL (AWSAccessKeyId, Signature, Expires)", who, u)
	}
}

// expiresOf returns the Expires parameter of a SigV2 URL.
func expiresOf(t testing.TB, u string) int64 {
	t.Helper()
	pu, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	if _, err := fmt.Sscan(pu.Query().Get("Expires"), &n); err != nil {
		t.Fatalf("Expires of %q: %v", u, err)
	}
	return n
}

// setQuery returns u with one query parameter replaced, keeping the others'
// encoding and order.
func setQuery(t testing.TB, u, name, value string) string {
	t.Helper()
	pu, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(pu.RawQuery, "&")
	found := false
	for i, p := range parts {
		k, _, _ := strings.Cut(p, "=")
		if k == name {
			parts[i] = name + "=" + url.QueryEscape(value)
			found = true
		}
	}
	if !found {
		t.Fatalf("%q has no %s parameter", u, name)
	}
	pu.RawQuery = strings.Join(parts, "&")
	return pu.String()
}

// plainClient is an HTTP client with no credentials and no retries.
var plainClient = &http.Client{Timeout: time.Minute}

// do sends an unsigned request (the URL carries any signature) and returns
// the status, headers and body.
func do(t testing.TB, method, u string, body io.Reader, hdr http.Header) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := plainClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, u, err)
	}
	return resp.StatusCode, resp.Header, b
}

// get fetches u with plain net/http.
func get(t testing.TB, u string) (int, []byte) {
	t.Helper()
	st, _, b := do(t, http.MethodGet, u, nil, nil)
	return st, b
}

// curl fetches u with curl and returns the status and the body.
func curl(t testing.TB, u string) (int, []byte) {
	t.Helper()
	bin := needTool(t, "curl")
	f := filepath.Join(t.TempDir(), "body")
	out, errs, code := run(t, os.Environ(), nil, bin, "-sS", "-g", "-o", f, "-w", "%{http_code}", u)
	if code != 0 {
		t.Fatalf("curl %s: exit %d: %s", u, code, errs)
	}
	var st int
	if _, err := fmt.Sscan(out, &st); err != nil {
		t.Fatalf("curl %s: status %q: %v", u, out, err)
	}
	b, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	return st, b
}

// wantOK fails unless the response is 200 with exactly want as body.
func wantOK(t testing.TB, what string, status int, body, want []byte) {
	t.Helper()
	if status != http.StatusOK {
		t.Fatalf("%s: status %d, want 200; body %s", what, status, shortBody(body))
	}
	equalBytes(t, what, body, want)
}

// wantErr checks an S3 error response and returns its parsed body.
func wantErr(t testing.TB, what string, status int, body []byte, wantStatus int, wantCode string) s3test.ErrorBody {
	t.Helper()
	var e s3test.ErrorBody
	if err := xml.Unmarshal(body, &e); err != nil && status != http.StatusOK {
		t.Fatalf("%s: status %d, body is not an S3 error (%v): %s", what, status, err, shortBody(body))
	}
	if status != wantStatus || e.Code != wantCode {
		t.Fatalf("%s: got %d %s (%q), want %d %s; body %s", what, status, e.Code, e.Message, wantStatus, wantCode, shortBody(body))
	}
	return e
}

// sdkClient returns an aws-sdk-go-v2 (SigV4) S3 client for s, path-style.
func sdkClient(s *testserver.Server) *s3.Client {
	return s3test.Client(s, s3test.Options{RetryMaxAttempts: 1})
}

// presignV4 returns a SigV4 presigned GET URL from aws-sdk-go-v2.
func presignV4(t testing.TB, c *s3.Client, bucket, key string) string {
	t.Helper()
	req, err := s3.NewPresignClient(c).PresignGetObject(s3test.Ctx(t), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)},
		s3.WithPresignExpires(10*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(req.URL, "X-Amz-Algorithm=AWS4-HMAC-SHA256") {
		t.Fatalf("PresignGetObject gave %q, want a SigV4 URL", req.URL)
	}
	return req.URL
}

// shortBody is a readable description of a body for failure messages.
func shortBody(b []byte) string {
	if !bytes.HasPrefix(b, []byte("<")) && len(b) > 64 {
		return fmt.Sprintf("%q… (%d bytes)", b[:64], len(b))
	}
	if len(b) > 600 {
		return fmt.Sprintf("%q… (%d bytes)", b[:600], len(b))
	}
	return fmt.Sprintf("%q", b)
}

// equalBytes fails unless got and want are byte-identical.
func equalBytes(t testing.TB, what string, got, want []byte) {
	t.Helper()
	s3test.EqualBytesDescribed(t, what, got, want, shortBody)
}

// python runs a python3 snippet with boto3 available. args is passed as JSON
// on stdin (the snippet reads it as `a`); the snippet prints JSON to stdout,
// which is decoded into out.
func python(t testing.TB, s *testserver.Server, snippet string, args map[string]any, out any) {
	t.Helper()
	needBoto3(t)
	in, err := json.Marshal(args)
	if err != nil {
		t.Fatal(err)
	}
	prelude := "import json, sys\na = json.load(sys.stdin)\n"
	stdout, stderr, code := run(t, clientEnv(s), in, "python3", "-c", prelude+snippet)
	if code != 0 {
		t.Fatalf("python snippet: exit %d\n%s\nstderr: %s", code, snippet, stderr)
	}
	if err := json.Unmarshal([]byte(stdout), out); err != nil {
		t.Fatalf("python snippet printed non-JSON (%v): %s\nstderr: %s", err, stdout, stderr)
	}
}

// boto3Client is the python code making a boto3 SigV2 client `s3` from a's
// endpoint and credentials.
const boto3Client = `
import boto3
from botocore.config import Config
s3 = boto3.client('s3', endpoint_url=a['endpoint'], region_name=a['region'],
    aws_access_key_id=a['ak'], aws_secret_access_key=a['sk'], aws_session_token=a.get('token'),
    config=Config(signature_version='s3', s3={'addressing_style': 'path'}, retries={'max_attempts': 1}))
`

// botoArgs returns the snippet arguments for s's root credentials plus extra.
func botoArgs(s *testserver.Server, extra map[string]any) map[string]any {
	a := map[string]any{"endpoint": s.URL, "region": s.Region, "ak": s.AccessKey, "sk": s.SecretKey}
	for k, v := range extra {
		a[k] = v
	}
	return a
}

// recordedReq is what the recording proxy saw of one request.
type recordedReq struct {
	Method, Path, Query, Authorization string
}

// proxy is a recording reverse proxy in front of a server, so tests can
// check that a client really signed with SigV2 (and used multipart).
type proxy struct {
	Addr string // 127.0.0.1:PORT
	mu   sync.Mutex
	reqs []recordedReq
}

func newProxy(t testing.TB, s *testserver.Server) *proxy {
	t.Helper()
	target, err := url.Parse(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{}
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.Transport = s.HTTPClient().Transport
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.reqs = append(p.reqs, recordedReq{Method: r.Method, Path: r.URL.EscapedPath(), Query: r.URL.RawQuery, Authorization: r.Header.Get("Authorization")})
		p.mu.Unlock()
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(hs.Close)
	p.Addr = strings.TrimPrefix(hs.URL, "http://")
	return p
}

// take returns and forgets the requests recorded so far.
func (p *proxy) take() []recordedReq {
	p.mu.Lock()
	defer p.mu.Unlock()
	r := p.reqs
	p.reqs = nil
	return r
}

// wantAllSigV2 fails unless every recorded request carried a SigV2
// Authorization header.
func wantAllSigV2(t testing.TB, what string, reqs []recordedReq) {
	t.Helper()
	if len(reqs) == 0 {
		t.Fatalf("%s: the proxy saw no request", what)
	}
	for _, r := range reqs {
		if !strings.HasPrefix(r.Authorization, "AWS ") {
			t.Fatalf("%s: %s %s?%s was signed with %q, want SigV2 (AWS AKID:sig)", what, r.Method, r.Path, r.Query, r.Authorization)
		}
	}
}

// s3cmd runs s3cmd against a server through a config file.
type s3cmdRunner struct {
	bin, cfg string
	env      []string
}

// newS3cmd writes an s3cmd config for host (127.0.0.1:PORT, plain HTTP,
// path-style) with the given credentials; extra lines are added to the
// config (e.g. "access_token = …").
func newS3cmd(t testing.TB, s *testserver.Server, host, ak, sk string, extra ...string) *s3cmdRunner {
	t.Helper()
	bin := needTool(t, "s3cmd")
	dir := t.TempDir()
	cfg := filepath.Join(dir, "s3cfg")
	body := fmt.Sprintf("[default]\naccess_key = %s\nsecret_key = %s\nhost_base = %s\nhost_bucket = %s\nuse_https = False\nsignature_v2 = False\nbucket_location = us-east-1\n",
		ak, sk, host, host)
	for _, l := range extra {
		body += l + "\n"
	}
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	env := append(clientEnv(s), "HOME="+dir)
	return &s3cmdRunner{bin: bin, cfg: cfg, env: env}
}

// run runs `s3cmd -c CFG args...`.
func (c *s3cmdRunner) run(t testing.TB, args ...string) (string, string, int) {
	t.Helper()
	return run(t, c.env, nil, c.bin, append([]string{"-c", c.cfg}, args...)...)
}

// ok runs s3cmd and fails unless it exits 0.
func (c *s3cmdRunner) ok(t testing.TB, args ...string) string {
	t.Helper()
	out, errs, code := c.run(t, args...)
	if code != 0 {
		t.Fatalf("s3cmd %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errs)
	}
	return out
}

// signurl runs `s3cmd signurl s3://bucket/key +seconds` and returns the URL.
func (c *s3cmdRunner) signurl(t testing.TB, bucket, key string, seconds int) string {
	t.Helper()
	u := strings.TrimSpace(c.ok(t, "signurl", "s3://"+bucket+"/"+key, fmt.Sprintf("+%d", seconds)))
	wantSigV2URL(t, "s3cmd signurl", u)
	return u
}

func itoa(n int) string { return fmt.Sprint(n) }

// xmlUnmarshal decodes an XML body (errors are the caller's to judge).
func xmlUnmarshal(b []byte, v any) error { return xml.Unmarshal(b, v) }
