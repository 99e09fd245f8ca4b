// Package presigned tests issue 3 end to end: presigned URLs, browser POST
// uploads, CORS and the presign CLI, through real clients that nobody in this
// project wrote (aws-sdk-go-v2's PresignClient and signer, minio-go v7,
// boto3) and through `postern presign`/`presign-post`. Every URL or form is
// then used with plain net/http and no credentials. The suites whose
// clients are all Go (the SDK's presigner, net/http) run against an
// in-process server (startInProcess); boto3, the aws CLI, `postern presign`
// and minio-go run against a postern process (startServer). The
// expectations are AWS S3's behaviour.
package presigned

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime/multipart"
	"net"
	"net/http"
	"net/textproto"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/postern/postern/internal/s3test"
	"github.com/postern/postern/internal/testserver"
)

// vhostDomain is the --domain of servers that accept virtual-host-style
// requests; every name under it is dialled at 127.0.0.1.
const vhostDomain = "s3.localtest"

// startServer starts a postern server (with --domain vhostDomain, so both
// addressing styles work) that lives until t ends.
func startServer(t testing.TB) *testserver.Server {
	t.Helper()
	return testserver.Start(t, testserver.Options{Args: []string{"--domain", vhostDomain}})
}

// startInProcess is startServer in the test process (testserver.InProcess):
// the same server, built by the same composition root, without a binary or
// a process, for the table-driven edge cases that need no real client.
func startInProcess(t testing.TB) *testserver.Server {
	t.Helper()
	return testserver.InProcess(t, testserver.Options{Args: []string{"--domain", vhostDomain}})
}

// loopbackTransport dials srv whatever host name a URL carries, so that
// virtual-host-style URLs (BUCKET.s3.localtest:PORT) reach the server with
// their Host header intact.
func loopbackTransport(srv *testserver.Server) *http.Transport {
	tr := srv.HTTPClient().Transport.(*http.Transport).Clone()
	d := &net.Dialer{Timeout: 10 * time.Second}
	tr.DialContext = func(c context.Context, network, _ string) (net.Conn, error) {
		return d.DialContext(c, network, srv.Addr)
	}
	return tr
}

// anon returns a plain HTTP client with no credentials at all, which does
// not follow redirects (so 303 answers can be checked).
func anon(srv *testserver.Server) *http.Client {
	return &http.Client{
		Transport: loopbackTransport(srv),
		Timeout:   2 * time.Minute,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// sdkClient returns an aws-sdk-go-v2 S3 client for srv with the root
// credentials; pathStyle selects the addressing style (virtual-host style
// goes to BUCKET.s3.localtest:PORT).
func sdkClient(t testing.TB, srv *testserver.Server, pathStyle bool) *s3.Client {
	t.Helper()
	endpoint := srv.URL
	if !pathStyle {
		_, port, err := net.SplitHostPort(srv.Addr)
		if err != nil {
			t.Fatal(err)
		}
		endpoint = "http://" + vhostDomain + ":" + port
	}
	return s3test.Client(srv, s3test.Options{
		Endpoint:         endpoint,
		HTTPClient:       &http.Client{Transport: loopbackTransport(srv), Timeout: 2 * time.Minute},
		VirtualHost:      !pathStyle,
		RetryMaxAttempts: 1,
		DefaultChecksums: true,
	})
}

// wantObject fails unless bucket/key holds exactly want.
func wantObject(t testing.TB, c *s3.Client, bucket, key string, want []byte) *s3.GetObjectOutput {
	t.Helper()
	got, out := s3test.Get(t, c, bucket, key)
	s3test.EqualBytes(t, fmt.Sprintf("object %s/%q", bucket, key), got, want)
	return out
}

// wantAbsent fails unless bucket/key does not exist (HeadObject 404).
func wantAbsent(t testing.TB, c *s3.Client, bucket, key string) {
	t.Helper()
	_, err := c.HeadObject(s3test.Ctx(t), &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err == nil {
		t.Errorf("object %s/%q exists, want it absent", bucket, key)
		return
	}
	var re *awshttp.ResponseError
	if !errors.As(err, &re) || re.HTTPStatusCode() != 404 {
		t.Errorf("HeadObject %s/%q: %v, want 404", bucket, key, err)
	}
}

// response is a complete HTTP answer.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

// do sends a request with no credentials beyond what the URL carries.
// hdr may be nil; body may be nil.
func do(t testing.TB, c *http.Client, method, url string, hdr http.Header, body []byte) response {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	for k, v := range hdr {
		if strings.EqualFold(k, "Host") {
			req.Host = v[0]
			continue
		}
		req.Header[textproto.CanonicalMIMEHeaderKey(k)] = v
	}
	if cl := req.Header.Get("Content-Length"); cl != "" {
		n, err := strconv.ParseInt(cl, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		req.ContentLength = n
		req.Header.Del("Content-Length")
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, url, err)
	}
	return response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// wantError checks an error response: status, S3 error code and, when
// message is not empty, the exact message. It returns the parsed error.
func wantError(t testing.TB, what string, r response, status int, code, message string) s3test.ErrorBody {
	t.Helper()
	e, ok := s3test.ParseError(r.Body)
	if r.Status != status || !ok || e.Code != code || (message != "" && e.Message != message) {
		t.Errorf("%s: got %d %s %q, want %d %s %q\nbody: %s", what, r.Status, e.Code, e.Message, status, code, message, s3test.ShortBody(r.Body, 600))
	}
	return e
}

// wantStatus fails unless r has the status.
func wantStatus(t testing.TB, what string, r response, status int) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("%s: got %d, want %d\nbody: %s", what, r.Status, status, s3test.ShortBody(r.Body, 600))
	}
}

// afterSecondBoundary sleeps until just after the wall clock enters a new
// second, so that a URL signed now (X-Amz-Date has whole seconds) keeps
// almost all of a short validity.
func afterSecondBoundary() {
	now := time.Now()
	time.Sleep(now.Truncate(time.Second).Add(time.Second + 30*time.Millisecond).Sub(now))
}

// presignV4 presigns an arbitrary request with aws-sdk-go-v2's own SigV4
// signer (the one PresignClient uses), with the X-Amz-Expires and signing
// time given, so the edge cases the PresignClient cannot express (a week and
// a second, a date in the future, a List or multipart call) are still signed
// by a real client. hdr are headers to sign besides host.
func presignV4(t testing.TB, srv *testserver.Server, method, rawURL string, expires any, signAt time.Time, hdr http.Header) (string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, rawURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	q := req.URL.Query()
	q.Set("X-Amz-Expires", fmt.Sprint(expires))
	req.URL.RawQuery = q.Encode()
	creds := aws.Credentials{AccessKeyID: srv.AccessKey, SecretAccessKey: srv.SecretKey}
	u, signed, err := v4.NewSigner().PresignHTTP(context.Background(), creds, req, "UNSIGNED-PAYLOAD", "s3", srv.Region, signAt)
	if err != nil {
		t.Fatal(err)
	}
	return u, signed
}

// signingKey derives the SigV4 signing key (the test's own implementation,
// from the AWS documentation, for POST policies it writes by hand).
func signingKey(secret, date, region string) []byte {
	h := func(key []byte, s string) []byte {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(s))
		return m.Sum(nil)
	}
	return h(h(h(h([]byte("AWS4"+secret), date), region), "s3"), "aws4_request")
}

// formField is one field of a multipart/form-data POST, in order.
type formField struct{ Name, Value string }

// postPolicy builds the fields of a SigV4-signed browser POST: the policy
// document with the given expiration and conditions (the x-amz-* conditions
// are added), then key and extra fields as given, then the auth fields.
func postPolicy(t testing.TB, srv *testserver.Server, expiration time.Time, conditions []any, fields []formField) []formField {
	t.Helper()
	now := time.Now().UTC()
	amzDate := now.Format("20060102T150405Z")
	cred := srv.AccessKey + "/" + amzDate[:8] + "/" + srv.Region + "/s3/aws4_request"
	conds := append(append([]any{}, conditions...),
		map[string]string{"x-amz-algorithm": "AWS4-HMAC-SHA256"},
		map[string]string{"x-amz-credential": cred},
		map[string]string{"x-amz-date": amzDate})
	doc, err := json.Marshal(map[string]any{
		"expiration": expiration.UTC().Format("2006-01-02T15:04:05.000Z"),
		"conditions": conds,
	})
	if err != nil {
		t.Fatal(err)
	}
	policy := base64.StdEncoding.EncodeToString(doc)
	m := hmac.New(sha256.New, signingKey(srv.SecretKey, amzDate[:8], srv.Region))
	m.Write([]byte(policy))
	return append(append([]formField{}, fields...),
		formField{"x-amz-algorithm", "AWS4-HMAC-SHA256"},
		formField{"x-amz-credential", cred},
		formField{"x-amz-date", amzDate},
		formField{"policy", policy},
		formField{"x-amz-signature", hex.EncodeToString(m.Sum(nil))})
}

// postForm sends a multipart/form-data POST built with mime/multipart: the
// fields in order, then the file field last (named "file", with filename).
func postForm(t testing.TB, c *http.Client, url string, fields []formField, filename string, file []byte) response {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, f := range fields {
		if err := mw.WriteField(f.Name, f.Value); err != nil {
			t.Fatal(err)
		}
	}
	fw, err := mw.CreateFormFile("file", filename)
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(file)
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return do(t, c, "POST", url, http.Header{"Content-Type": {mw.FormDataContentType()}}, buf.Bytes())
}

// mapFields turns a client's form map into ordered fields (sorted, so runs
// repeat; S3 does not care about the order of fields before the file).
func mapFields(m map[string]string) []formField {
	var out []formField
	for k, v := range m {
		out = append(out, formField{k, v})
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].Name < out[j-1].Name; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// countBlobFiles counts the regular files under DATA/blobs (objects larger
// than the inline limit of 64 KiB live there, one or more files each).
func countBlobFiles(t testing.TB, srv *testserver.Server) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(filepath.Join(srv.DataDir, "blobs"), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.Type().IsRegular() {
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// envFor returns the environment for CLI clients of srv: only the process
// basics plus the credentials and endpoint, so no config of the machine
// running the tests leaks in.
func envFor(srv *testserver.Server) []string {
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	for _, k := range []string{"PYENV_ROOT", "PYENV_VERSION", "PYTHONPATH", "LANG", "TMPDIR"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return append(env, srv.Env()...)
}
