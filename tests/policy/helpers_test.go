// Package policye2e drives postern servers with real clients
// (aws-sdk-go-v2, the aws CLI, boto3, curl, net/http) to check bucket
// policies, Block Public Access and the condition keys that govern presigned
// URLs: s3:signatureAge, s3:authType, s3:x-amz-content-sha256, aws:SourceIp,
// aws:SourceVpc/SourceVpce, and the S3 on Outposts aliases. The expectations
// are AWS's behaviour as described in issue 5.
//
// Source addresses other than 127.0.0.1 come from binding the client's
// socket to 127.0.0.2 or 127.0.0.3 (the server listens on 127.0.0.1; all of
// 127.0.0.0/8 is loopback).
//
// The matrices that need only Go clients (the SDK, net/http) run against an
// in-process server (startInProcess); those that check what the aws CLI,
// boto3 or curl send or show run against a postern process (startServer).
package policye2e

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/postern/postern/internal/s3test"
	"github.com/postern/postern/internal/testserver"
)

// Source addresses on the loopback network.
const (
	ip1 = "127.0.0.1"
	ip2 = "127.0.0.2"
	ip3 = "127.0.0.3"
)

// ctx returns a context bounded by a generous per-call timeout.
func ctx(t testing.TB) context.Context {
	t.Helper()
	return s3test.CtxTimeout(t, time.Minute)
}

// startServer runs a postern server process with extra flags: for the
// tests that drive the aws CLI, boto3 or curl.
func startServer(t testing.TB, args ...string) *testserver.Server {
	t.Helper()
	return testserver.Start(t, testserver.Options{Args: args})
}

// startInProcess is startServer in the test process (testserver.InProcess),
// for the tests whose clients are all Go (the SDK, net/http).
func startInProcess(t testing.TB, args ...string) *testserver.Server {
	t.Helper()
	return testserver.InProcess(t, testserver.Options{Args: args})
}

// iamAdmin returns an aws-sdk-go-v2 IAM client signing as the server's root
// (one attempt, so that errors are not retried).
func iamAdmin(s *testserver.Server) *iam.Client {
	return iam.NewFromConfig(s3test.Config(s, s3test.Options{RetryMaxAttempts: 1}))
}

// iamUser creates an IAM user with an access key and, if policy is not
// empty, an inline policy (named "p"); it returns the user's ARN, an SDK
// client signing as the user and a regexp matching the user in
// AccessDenied messages.
func iamUser(t testing.TB, srv *testserver.Server, name, policy string) (string, *s3.Client, *regexp.Regexp) {
	t.Helper()
	ic := iamAdmin(srv)
	created, err := ic.CreateUser(ctx(t), &iam.CreateUserInput{UserName: aws.String(name)})
	if err != nil || created.User == nil || aws.ToString(created.User.Arn) == "" {
		t.Fatalf("CreateUser %s: %v", name, err)
	}
	key, err := ic.CreateAccessKey(ctx(t), &iam.CreateAccessKeyInput{UserName: aws.String(name)})
	if err != nil || key.AccessKey == nil {
		t.Fatalf("CreateAccessKey %s: %v", name, err)
	}
	if policy != "" {
		putUserPolicy(t, srv, name, "p", policy)
	}
	arn := aws.ToString(created.User.Arn)
	c := sdk(t, srv, clientOpts{ak: aws.ToString(key.AccessKey.AccessKeyId), sk: aws.ToString(key.AccessKey.SecretAccessKey)})
	who := regexp.MustCompile(`^User: ` + regexp.QuoteMeta(arn) + ` is not authorized`)
	return arn, c, who
}

// putUserPolicy puts an inline policy on an IAM user.
func putUserPolicy(t testing.TB, srv *testserver.Server, user, name, policy string) {
	t.Helper()
	if _, err := iamAdmin(srv).PutUserPolicy(ctx(t), &iam.PutUserPolicyInput{UserName: aws.String(user), PolicyName: aws.String(name), PolicyDocument: aws.String(policy)}); err != nil {
		t.Fatalf("PutUserPolicy %s %s: %v", user, name, err)
	}
}

// createAccountCall creates an account by sending CreateAccount (Postern's
// extension of the IAM query API, what `postern admin account create`
// sends) signed as the server's root, and returns its root's keys.
// createAccount (outposts_test.go) runs the command itself.
func createAccountCall(t testing.TB, srv *testserver.Server, id string) aws.Credentials {
	t.Helper()
	body := []byte(url.Values{"Action": {"CreateAccount"}, "Version": {"2010-05-08"}, "AccountId": {id}}.Encode())
	req, err := http.NewRequestWithContext(ctx(t), http.MethodPost, srv.URL+"/", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	s3test.SignV4(t, srv, req, "iam", body)
	resp, err := srv.HTTPClient().Do(req)
	if err != nil {
		t.Fatalf("CreateAccount %s: %v", id, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var res struct {
		AccountID       string `xml:"CreateAccountResult>AccountId"`
		AccessKeyID     string `xml:"CreateAccountResult>AccessKeyId"`
		SecretAccessKey string `xml:"CreateAccountResult>SecretAccessKey"`
	}
	if resp.StatusCode != http.StatusOK || xml.Unmarshal(b, &res) != nil || res.AccountID != id || res.AccessKeyID == "" {
		t.Fatalf("CreateAccount %s: %d %s", id, resp.StatusCode, b)
	}
	return aws.Credentials{AccessKeyID: res.AccessKeyID, SecretAccessKey: res.SecretAccessKey}
}

// transportFrom returns an HTTP transport whose connections leave from the
// loopback address ip ("" means the system's choice, 127.0.0.1).
func transportFrom(ip string) *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	if ip != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(ip)}
	}
	tr.DialContext = d.DialContext
	tr.MaxIdleConnsPerHost = 64
	return tr
}

// httpFrom returns a plain HTTP client that connects from ip.
func httpFrom(ip string) *http.Client {
	return &http.Client{Transport: transportFrom(ip), Timeout: 30 * time.Second}
}

// headerAdder adds fixed headers to every request (after SigV4 signing,
// like a reverse proxy would, so they are not part of the signature).
type headerAdder struct {
	next http.RoundTripper
	hdr  http.Header
}

func (h *headerAdder) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	for k, vs := range h.hdr {
		for _, v := range vs {
			r.Header.Add(k, v)
		}
	}
	return h.next.RoundTrip(r)
}

// recorder remembers the requests a client sent.
type recorder struct {
	next http.RoundTripper
	mu   sync.Mutex
	reqs []http.Header
	meth []string
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.reqs = append(r.reqs, req.Header.Clone())
	r.meth = append(r.meth, req.Method)
	r.mu.Unlock()
	return r.next.RoundTrip(req)
}

// lastHeader returns the headers of the last request sent with method.
func (r *recorder) lastHeader(method string) http.Header {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := len(r.reqs) - 1; i >= 0; i-- {
		if r.meth[i] == method {
			return r.reqs[i]
		}
	}
	return nil
}

// clientOpts choose how an SDK client connects.
type clientOpts struct {
	ip        string      // source address
	hdr       http.Header // headers added after signing
	rec       *recorder   // set to record requests
	ak, sk    string      // credentials other than the server's root
	anonymous bool
}

// sdk returns an aws-sdk-go-v2 S3 client (path-style, SDK default checksum
// behaviour, one attempt so that denials are not retried).
func sdk(t testing.TB, s *testserver.Server, o clientOpts) *s3.Client {
	t.Helper()
	var rt http.RoundTripper = transportFrom(o.ip)
	if len(o.hdr) > 0 {
		rt = &headerAdder{next: rt, hdr: o.hdr}
	}
	if o.rec != nil {
		o.rec.next = rt
		rt = o.rec
	}
	return s3test.Client(s, s3test.Options{
		AccessKey:        o.ak,
		SecretKey:        o.sk,
		Anonymous:        o.anonymous,
		HTTPClient:       &http.Client{Transport: rt, Timeout: time.Minute},
		RetryMaxAttempts: 1,
		DefaultChecksums: true,
	})
}

func putObject(c *s3.Client, t testing.TB, bucket, key string, body []byte) error {
	_, err := s3test.PutObject(ctx(t), c, bucket, key, body)
	return err
}

func mustPut(t testing.TB, c *s3.Client, bucket, key string, body []byte) {
	t.Helper()
	if err := putObject(c, t, bucket, key, body); err != nil {
		t.Fatalf("PutObject %s/%s: %v", bucket, key, err)
	}
}

// mustGet checks that bucket/key reads back as want.
func mustGet(t testing.TB, c *s3.Client, bucket, key string, want []byte) {
	t.Helper()
	got, err := s3test.GetObject(ctx(t), c, bucket, key)
	if err != nil {
		t.Fatalf("GetObject %s/%s: %v", bucket, key, err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("GetObject %s/%s: got %q, want %q", bucket, key, got, want)
	}
}

// headMissing checks that bucket/key does not exist (a denied upload must
// not have stored anything).
func headMissing(t testing.TB, c *s3.Client, bucket, key string) {
	t.Helper()
	_, err := c.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if st, _, _ := s3test.APIErr(err); st != http.StatusNotFound {
		t.Fatalf("HeadObject %s/%s after a denied upload: got %v, want 404 (nothing stored)", bucket, key, err)
	}
}

func putPolicy(t testing.TB, c *s3.Client, bucket, doc string) error {
	_, err := c.PutBucketPolicy(ctx(t), &s3.PutBucketPolicyInput{Bucket: aws.String(bucket), Policy: aws.String(doc)})
	return err
}

func mustPutPolicy(t testing.TB, c *s3.Client, bucket, doc string) {
	t.Helper()
	if err := putPolicy(t, c, bucket, doc); err != nil {
		t.Fatalf("PutBucketPolicy %s: %v\npolicy: %s", bucket, err, doc)
	}
}

func mustDeletePolicy(t testing.TB, c *s3.Client, bucket string) {
	t.Helper()
	if _, err := c.DeleteBucketPolicy(ctx(t), &s3.DeleteBucketPolicyInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatalf("DeleteBucketPolicy %s: %v", bucket, err)
	}
}

// wantErr checks that err is an S3 error with the given status and code.
func wantErr(t testing.TB, what string, err error, status int, code string) (msg string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: succeeded, want %d %s", what, status, code)
	}
	st, c, m := s3test.APIErr(err)
	if st != status || c != code {
		t.Fatalf("%s: got %d %s (%v), want %d %s", what, st, c, err, status, code)
	}
	return m
}

var rootARN = regexp.MustCompile(`^User: arn:aws:iam::[0-9]{12}:root is not authorized to perform: `)

// denial is what an AccessDenied message must say.
type denial struct {
	who      *regexp.Regexp // the principal part; nil means the root of an account
	action   string         // e.g. s3:GetObject
	resource string         // e.g. arn:aws:s3:::bucket/key
	why      string         // e.g. "with an explicit deny in a resource-based policy"
}

// checkDenialMessage checks an AccessDenied message says who was denied what and why.
func checkDenialMessage(t testing.TB, what, msg string, d denial) {
	t.Helper()
	who := d.who
	if who == nil {
		who = rootARN
	}
	if !who.MatchString(msg) {
		t.Errorf("%s: AccessDenied message %q does not name the principal (want it to match %s)", what, msg, who)
	}
	wantPart := "is not authorized to perform: " + d.action + " on resource: \"" + d.resource + "\""
	if !strings.Contains(msg, wantPart) {
		t.Errorf("%s: AccessDenied message %q does not contain %q", what, msg, wantPart)
	}
	if d.why != "" && !strings.Contains(msg, d.why) {
		t.Errorf("%s: AccessDenied message %q does not say why (want %q)", what, msg, d.why)
	}
}

const explicitDenyResource = "with an explicit deny in a resource-based policy"

// wantDenied checks that an SDK call was refused 403 AccessDenied with a
// message naming the principal, action and resource.
func wantDenied(t testing.TB, what string, err error, d denial) {
	t.Helper()
	msg := wantErr(t, what, err, http.StatusForbidden, "AccessDenied")
	checkDenialMessage(t, what, msg, d)
}

// response is a raw HTTP exchange's outcome.
type response struct {
	status int
	body   []byte
	code   string // S3 error code, if the body is an S3 error
	msg    string
}

func (r response) String() string {
	if r.code != "" {
		return fmt.Sprintf("%d %s: %s", r.status, r.code, r.msg)
	}
	b := r.body
	if len(b) > 200 {
		b = b[:200]
	}
	return fmt.Sprintf("%d %q", r.status, b)
}

// do sends a raw HTTP request (presigned URLs, POST forms, anonymous requests).
func do(t testing.TB, hc *http.Client, method, u string, body io.Reader, hdr http.Header) response {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx(t), method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range hdr {
		req.Header[k] = vs
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, u, err)
	}
	r := response{status: resp.StatusCode, body: b}
	if resp.StatusCode >= 300 {
		var e s3test.ErrorBody
		if xml.Unmarshal(b, &e) == nil {
			r.code, r.msg = e.Code, e.Message
		}
	}
	return r
}

// wantOK checks a raw response is 2xx and, when want is not nil, its body.
func wantOK(t testing.TB, what string, r response, want []byte) {
	t.Helper()
	if r.status < 200 || r.status > 299 {
		t.Fatalf("%s: got %v, want success", what, r)
	}
	if want != nil && !bytes.Equal(r.body, want) {
		t.Fatalf("%s: body %q, want %q", what, r.body, want)
	}
}

// wantRawDenied checks a raw response is 403 AccessDenied with a message
// naming principal, action and resource.
func wantRawDenied(t testing.TB, what string, r response, d denial) {
	t.Helper()
	if r.status != http.StatusForbidden || r.code != "AccessDenied" {
		t.Fatalf("%s: got %v, want 403 AccessDenied", what, r)
	}
	checkDenialMessage(t, what, r.msg, d)
}

// presignGet returns an SDK-presigned GET URL valid for an hour.
func presignGet(t testing.TB, c *s3.Client, bucket, key string) string {
	t.Helper()
	p, err := s3.NewPresignClient(c).PresignGetObject(ctx(t), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}, s3.WithPresignExpires(time.Hour))
	if err != nil {
		t.Fatalf("PresignGetObject: %v", err)
	}
	return p.URL
}

// presignPut returns an SDK-presigned PUT URL valid for an hour.
func presignPut(t testing.TB, c *s3.Client, bucket, key string) string {
	t.Helper()
	p, err := s3.NewPresignClient(c).PresignPutObject(ctx(t), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}, s3.WithPresignExpires(time.Hour))
	if err != nil {
		t.Fatalf("PresignPutObject: %v", err)
	}
	return p.URL
}

// presignAt presigns method on bucket/key with the SDK's SigV4 signer as of
// signedAt, valid for expires from then: a URL handed out in the past that
// has not expired yet.
func presignAt(t testing.TB, s *testserver.Server, method, bucket, key string, signedAt time.Time, expires time.Duration) string {
	t.Helper()
	return presignAtAs(t, s, aws.Credentials{AccessKeyID: s.AccessKey, SecretAccessKey: s.SecretKey}, method, bucket, key, signedAt, expires)
}

// presignAtAs is presignAt with other credentials.
func presignAtAs(t testing.TB, s *testserver.Server, creds aws.Credentials, method, bucket, key string, signedAt time.Time, expires time.Duration) string {
	t.Helper()
	u := s.URL + "/" + bucket + "/" + key
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	q := req.URL.Query()
	q.Set("X-Amz-Expires", fmt.Sprint(int(expires.Seconds())))
	req.URL.RawQuery = q.Encode()
	signed, _, err := v4.NewSigner().PresignHTTP(ctx(t), creds, req, "UNSIGNED-PAYLOAD", "s3", s.Region, signedAt)
	if err != nil {
		t.Fatalf("PresignHTTP: %v", err)
	}
	return signed
}

// postForm is a presigned POST: the form's URL and fields.
type postForm struct {
	URL    string            `json:"url"`
	Fields map[string]string `json:"fields"`
}

// upload sends the form with file content as a multipart/form-data POST.
func (f postForm) upload(t testing.TB, hc *http.Client, content []byte) response {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range f.Fields {
		if err := mw.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	fw, err := mw.CreateFormFile("file", "upload.txt")
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(content)
	mw.Close()
	return do(t, hc, http.MethodPost, f.URL, &buf, http.Header{"Content-Type": {mw.FormDataContentType()}})
}

// toolEnv is the environment for the aws CLI and boto3: the machine's
// environment without any AWS_* setting, plus the server's.
func toolEnv(s *testserver.Server, extra ...string) []string {
	return s3test.CLIEnv(s, append([]string{"AWS_PAGER=", "AWS_MAX_ATTEMPTS=1", "AWS_RETRY_MODE=standard"}, extra...)...)
}

// needTool returns the path of a client program. A missing program fails the
// test (scripts/test.sh installs them); POSTERN_SKIP_CLI=1 skips instead.
func needTool(t testing.TB, name string) string {
	t.Helper()
	if os.Getenv("POSTERN_SKIP_CLI") == "1" {
		t.Skip("POSTERN_SKIP_CLI=1")
	}
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is not on PATH (%v): run scripts/test.sh, which installs the clients, or set POSTERN_SKIP_CLI=1", name, err)
	}
	return p
}

// run runs a program and returns stdout, stderr and the exit code.
func run(t testing.TB, env []string, name string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.CommandContext(ctx(t), name, args...)
	cmd.Env = env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("%s %s: %v", name, strings.Join(args, " "), err)
		}
		code = ee.ExitCode()
	}
	return out.String(), errb.String(), code
}

// awsCLI runs `aws --endpoint-url URL args...` as the server's root.
func awsCLI(t testing.TB, s *testserver.Server, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	bin := needTool(t, "aws")
	return run(t, toolEnv(s), bin, append([]string{"--endpoint-url", s.URL, "--cli-read-timeout", "30"}, args...)...)
}

var cliErrRe = regexp.MustCompile(`An error occurred \(([A-Za-z0-9.]+)\) when calling the [A-Za-z]+ operation(?: \([^)]*\))?: (.*)`)

// cliError extracts the error code and message from the aws CLI's stderr.
func cliError(stderr string) (code, msg string) {
	m := cliErrRe.FindStringSubmatch(stderr)
	if m == nil {
		return "", ""
	}
	return m[1], strings.TrimSpace(m[2])
}

// boto3 runs a python3 script with boto3 against s; the script reads the
// endpoint from $EP.
func boto3(t testing.TB, s *testserver.Server, script string, args ...string) string {
	t.Helper()
	py := needTool(t, "python3")
	out, errOut, code := run(t, toolEnv(s, "EP="+s.URL), py, append([]string{"-c", script}, args...)...)
	if code != 0 {
		if strings.Contains(errOut, "No module named 'boto3'") && os.Getenv("POSTERN_SKIP_CLI") == "1" {
			t.Skip("boto3 missing")
		}
		t.Fatalf("python3 boto3 script failed (%d): %s", code, errOut)
	}
	return out
}

const boto3Client = `
import boto3, json, os, sys
from botocore.config import Config
s3 = boto3.client('s3', endpoint_url=os.environ['EP'],
                  config=Config(signature_version='s3v4', s3={'addressing_style': 'path'},
                                retries={'max_attempts': 1}))
`

// boto3PresignGet returns boto3's presigned GET URL for bucket/key.
func boto3PresignGet(t testing.TB, s *testserver.Server, bucket, key string) string {
	t.Helper()
	out := boto3(t, s, boto3Client+`
print(s3.generate_presigned_url('get_object', Params={'Bucket': sys.argv[1], 'Key': sys.argv[2]}, ExpiresIn=3600))
`, bucket, key)
	u := strings.TrimSpace(out)
	if _, err := url.Parse(u); err != nil || !strings.Contains(u, "X-Amz-Signature=") {
		t.Fatalf("boto3 presigned URL %q is not a SigV4 query-signed URL", u)
	}
	return u
}

// boto3PresignPost returns boto3's presigned POST form for bucket/key.
func boto3PresignPost(t testing.TB, s *testserver.Server, bucket, key string) postForm {
	t.Helper()
	out := boto3(t, s, boto3Client+`
print(json.dumps(s3.generate_presigned_post(sys.argv[1], sys.argv[2], ExpiresIn=3600)))
`, bucket, key)
	var f postForm
	if err := json.Unmarshal([]byte(out), &f); err != nil || f.URL == "" || f.Fields["x-amz-signature"] == "" {
		t.Fatalf("boto3 presigned POST %q: %v", out, err)
	}
	return f
}

// curl fetches u with curl from the loopback address ip and returns the
// status and body.
func curl(t testing.TB, ip, method, u string, extra ...string) response {
	t.Helper()
	bin := needTool(t, "curl")
	f, err := os.CreateTemp(t.TempDir(), "body")
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	args := append([]string{"-sS", "-g", "-X", method, "-o", f.Name(), "-w", "%{http_code}", "--interface", ip, "--max-time", "30"}, extra...)
	args = append(args, u)
	out, errOut, code := run(t, os.Environ(), bin, args...)
	if code != 0 {
		t.Fatalf("curl %s %s: exit %d: %s", method, u, code, errOut)
	}
	var r response
	if _, err := fmt.Sscan(out, &r.status); err != nil {
		t.Fatalf("curl status %q: %v", out, err)
	}
	r.body, _ = os.ReadFile(f.Name())
	if r.status >= 300 {
		var e s3test.ErrorBody
		if xml.Unmarshal(r.body, &e) == nil {
			r.code, r.msg = e.Code, e.Message
		}
	}
	return r
}

// doc wraps statements in a policy document.
func doc(statements ...string) string {
	return `{"Version":"2012-10-17","Statement":[` + strings.Join(statements, ",") + `]}`
}

// objARN and bucketARN are S3 resource ARNs.
func objARN(bucket, key string) string { return "arn:aws:s3:::" + bucket + "/" + key }
func bucketARN(bucket string) string   { return "arn:aws:s3:::" + bucket }
