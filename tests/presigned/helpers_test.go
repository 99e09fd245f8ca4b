// Package presigned tests issue 3 end to end: presigned URLs, browser POST
// uploads, CORS and the presign CLI, through real clients that nobody in this
// project wrote (aws-sdk-go-v2's PresignClient and signer, minio-go v7,
// boto3) and through `postern presign`/`presign-post`. Every URL or form is
// then used with plain net/http and no credentials, against a real postern
// server process. The expectations are AWS S3's behaviour.
package presigned

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"mime/multipart"
	"net"
	"net/http"
	"net/textproto"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/postern/postern/internal/testserver"
)

// vhostDomain is the --domain of servers that accept virtual-host-style
// requests; every name under it is dialled at 127.0.0.1.
const vhostDomain = "s3.localtest"

// ctx returns a context bounded by a generous per-call timeout.
func ctx(t testing.TB) context.Context {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}

// startServer starts a postern server (with --domain vhostDomain, so both
// addressing styles work) that lives until t ends.
func startServer(t testing.TB) *testserver.Server {
	t.Helper()
	return testserver.Start(t, testserver.Options{Args: []string{"--domain", vhostDomain}})
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
	cfg := aws.Config{
		Region:                     srv.Region,
		Credentials:                credentials.NewStaticCredentialsProvider(srv.AccessKey, srv.SecretKey, ""),
		HTTPClient:                 &http.Client{Transport: loopbackTransport(srv), Timeout: 2 * time.Minute},
		RetryMaxAttempts:           1,
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenSupported,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenSupported,
	}
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.BaseEndpoint = aws.String(endpoint)
		o.UsePathStyle = pathStyle
	})
}

var bucketSeq atomic.Int64

// bucketName returns a fresh valid bucket name starting with prefix.
func bucketName(prefix string) string {
	return fmt.Sprintf("%s-%d-%d", prefix, time.Now().UnixNano()%1e6, bucketSeq.Add(1))
}

// newBucket creates a fresh bucket with the SDK.
func newBucket(t testing.TB, c *s3.Client, prefix string) string {
	t.Helper()
	b := bucketName(prefix)
	if _, err := c.CreateBucket(ctx(t), &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
		t.Fatalf("CreateBucket %s: %v", b, err)
	}
	return b
}

// put stores body at bucket/key with the SDK.
func put(t testing.TB, c *s3.Client, bucket, key string, body []byte) {
	t.Helper()
	if _, err := c.PutObject(ctx(t), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body)}); err != nil {
		t.Fatalf("PutObject %s/%q: %v", bucket, key, err)
	}
}

// getObject reads bucket/key whole with the SDK and returns its bytes and
// the output (for metadata).
func getObject(t testing.TB, c *s3.Client, bucket, key string) ([]byte, *s3.GetObjectOutput) {
	t.Helper()
	out, err := c.GetObject(ctx(t), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("GetObject %s/%q: %v", bucket, key, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatalf("GetObject %s/%q: read body: %v", bucket, key, err)
	}
	return b, out
}

// wantObject fails unless bucket/key holds exactly want.
func wantObject(t testing.TB, c *s3.Client, bucket, key string, want []byte) *s3.GetObjectOutput {
	t.Helper()
	got, out := getObject(t, c, bucket, key)
	equalBytes(t, fmt.Sprintf("object %s/%q", bucket, key), got, want)
	return out
}

// wantAbsent fails unless bucket/key does not exist (HeadObject 404).
func wantAbsent(t testing.TB, c *s3.Client, bucket, key string) {
	t.Helper()
	_, err := c.HeadObject(ctx(t), &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err == nil {
		t.Errorf("object %s/%q exists, want it absent", bucket, key)
		return
	}
	var re *awshttp.ResponseError
	if !errors.As(err, &re) || re.HTTPStatusCode() != 404 {
		t.Errorf("HeadObject %s/%q: %v, want 404", bucket, key, err)
	}
}

// wantAPIError checks that err is an S3 error response with the HTTP status
// and error code AWS S3 answers.
func wantAPIError(t testing.TB, err error, status int, code string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got success, want %d %s", status, code)
	}
	var re *awshttp.ResponseError
	if !errors.As(err, &re) {
		t.Fatalf("got a non-HTTP error %v, want %d %s", err, status, code)
	}
	var ae smithy.APIError
	gotCode := ""
	if errors.As(err, &ae) {
		gotCode = ae.ErrorCode()
	}
	if re.HTTPStatusCode() != status || gotCode != code {
		t.Fatalf("got %d %s, want %d %s (%v)", re.HTTPStatusCode(), gotCode, status, code, err)
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

// s3Error is an S3 XML error body: Code, Message and every other element.
type s3Error struct {
	Code, Message string
	Fields        map[string]string
}

// parseError decodes an <Error> body; ok is false when the body is not one.
func parseError(body []byte) (e s3Error, ok bool) {
	e.Fields = map[string]string{}
	dec := xml.NewDecoder(bytes.NewReader(body))
	depth := 0
	var name string
	var text strings.Builder
	for {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		switch x := tok.(type) {
		case xml.StartElement:
			depth++
			if depth == 1 {
				if x.Name.Local != "Error" {
					return e, false
				}
				ok = true
			}
			name = x.Name.Local
			text.Reset()
		case xml.CharData:
			text.Write(x)
		case xml.EndElement:
			if depth == 2 {
				e.Fields[name] = text.String()
			}
			depth--
		}
	}
	e.Code, e.Message = e.Fields["Code"], e.Fields["Message"]
	return e, ok
}

// wantError checks an error response: status, S3 error code and, when
// message is not empty, the exact message. It returns the parsed error.
func wantError(t testing.TB, what string, r response, status int, code, message string) s3Error {
	t.Helper()
	e, ok := parseError(r.Body)
	if r.Status != status || !ok || e.Code != code || (message != "" && e.Message != message) {
		t.Errorf("%s: got %d %s %q, want %d %s %q\nbody: %s", what, r.Status, e.Code, e.Message, status, code, message, shortBody(r.Body, 600))
	}
	return e
}

// wantStatus fails unless r has the status.
func wantStatus(t testing.TB, what string, r response, status int) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("%s: got %d, want %d\nbody: %s", what, r.Status, status, shortBody(r.Body, 600))
	}
}

// randBytes returns n pseudo-random bytes from a fixed seed, so failures repeat.
func randBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := 0; i+8 <= n; i += 8 {
		binary.LittleEndian.PutUint64(b[i:], r.Uint64())
	}
	for i := n - n%8; i < n; i++ {
		b[i] = byte(r.Uint32())
	}
	return b
}

func md5hex(b []byte) string {
	s := md5.Sum(b)
	return hex.EncodeToString(s[:])
}

// quoted is how S3 sends ETags.
func quoted(s string) string { return `"` + s + `"` }

// multipartETag is S3's ETag of a multipart object.
func multipartETag(parts ...[]byte) string {
	var cat []byte
	for _, p := range parts {
		s := md5.Sum(p)
		cat = append(cat, s[:]...)
	}
	return quoted(fmt.Sprintf("%s-%d", md5hex(cat), len(parts)))
}

// shortBody is a readable description of a body for failure messages.
func shortBody(b []byte, max int) string {
	if len(b) > max {
		return fmt.Sprintf("%q… (%d bytes)", b[:max], len(b))
	}
	return fmt.Sprintf("%q", b)
}

// equalBytes fails unless got and want are byte-identical.
func equalBytes(t testing.TB, what string, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		i := 0
		for i < len(got) && i < len(want) && got[i] == want[i] {
			i++
		}
		t.Fatalf("%s: got %d bytes, want %d; first difference at byte %d (got %s)", what, len(got), len(want), i, shortBody(got, 64))
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
