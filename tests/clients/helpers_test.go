// Package clients drives a real postern server process with real S3 clients
// that nobody in this project wrote: aws-sdk-go-v2 (and its upload manager),
// minio-go v7 and the aws CLI. The expectations are AWS S3's behaviour.
package clients

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"hash/crc64"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/postern/postern/internal/testserver"
)

// ctx returns a context bounded by a generous per-call timeout.
func ctx(t testing.TB) context.Context {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}

// sentRequest is what the recorder saw of one request the client sent.
type sentRequest struct {
	Method string
	Host   string
	Path   string // escaped path as sent
	Query  string
	Header http.Header
}

// recorder is an http.RoundTripper that remembers the requests a client sent,
// so tests can check which wire format (signed payload, aws-chunked trailer,
// virtual host) the client really used.
type recorder struct {
	next http.RoundTripper
	mu   sync.Mutex
	reqs []sentRequest
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	r.mu.Lock()
	r.reqs = append(r.reqs, sentRequest{
		Method: req.Method,
		Host:   host,
		Path:   req.URL.EscapedPath(),
		Query:  req.URL.RawQuery,
		Header: req.Header.Clone(),
	})
	r.mu.Unlock()
	return r.next.RoundTrip(req)
}

// find returns the recorded requests for which match is true.
func (r *recorder) find(match func(sentRequest) bool) []sentRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []sentRequest
	for _, q := range r.reqs {
		if match(q) {
			out = append(out, q)
		}
	}
	return out
}

// sdkClient returns an aws-sdk-go-v2 S3 client for s, path-style, with the
// SDK's default checksum behaviour, and the recorder of its requests.
func sdkClient(t testing.TB, s *testserver.Server, opts ...func(*s3.Options)) (*s3.Client, *recorder) {
	t.Helper()
	rec := &recorder{next: s.HTTPClient().Transport}
	return sdkClientWith(t, s.AccessKey, s.SecretKey, s.Region, s.URL, &http.Client{Transport: rec, Timeout: 2 * time.Minute}, true, opts...), rec
}

func sdkClientWith(t testing.TB, ak, sk, region, endpoint string, hc *http.Client, pathStyle bool, opts ...func(*s3.Options)) *s3.Client {
	t.Helper()
	// The config is built by hand, not with config.LoadDefaultConfig, so
	// that no AWS_* variable or shared config file of the machine running
	// the tests (AWS_CA_BUNDLE, AWS_REQUEST_CHECKSUM_CALCULATION, …) changes
	// what the SDK sends: its defaults are what we test against.
	cfg := aws.Config{
		Region:           region,
		Credentials:      credentials.NewStaticCredentialsProvider(ak, sk, ""),
		HTTPClient:       hc,
		RetryMaxAttempts: 2,
		// What config.LoadDefaultConfig resolves when nothing overrides it.
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenSupported,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenSupported,
	}
	return s3.NewFromConfig(cfg, append([]func(*s3.Options){func(o *s3.Options) {
		o.BaseEndpoint = aws.String(endpoint)
		o.UsePathStyle = pathStyle
	}}, opts...)...)
}

var bucketSeq atomic.Int64

// bucketName returns a fresh valid bucket name starting with prefix.
func bucketName(prefix string) string {
	return fmt.Sprintf("%s-%d-%d", prefix, time.Now().UnixNano()%1e6, bucketSeq.Add(1))
}

// newBucket creates a fresh bucket with the SDK and returns its name.
func newBucket(t testing.TB, c *s3.Client, prefix string) string {
	t.Helper()
	b := bucketName(prefix)
	if _, err := c.CreateBucket(ctx(t), &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
		t.Fatalf("CreateBucket %s: %v", b, err)
	}
	return b
}

// put stores body at bucket/key with a plain PutObject.
func put(t testing.TB, c *s3.Client, bucket, key string, body []byte) *s3.PutObjectOutput {
	t.Helper()
	out, err := c.PutObject(ctx(t), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body)})
	if err != nil {
		t.Fatalf("PutObject %s/%q: %v", bucket, key, err)
	}
	return out
}

// getBytes reads bucket/key whole.
func getBytes(t testing.TB, c *s3.Client, bucket, key string) []byte {
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
	return b
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

// rawResp returns the raw HTTP response of a successful SDK call, from its
// ResultMetadata.
func rawResp(t testing.TB, md middleware.Metadata) *http.Response {
	t.Helper()
	r, ok := awsmiddleware.GetRawResponse(md).(*smithyhttp.Response)
	if !ok {
		t.Fatal("no raw response in result metadata")
	}
	return r.Response
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

func md5b64(b []byte) string {
	s := md5.Sum(b)
	return base64.StdEncoding.EncodeToString(s[:])
}

// quoted is how S3 sends ETags.
func quoted(s string) string { return `"` + s + `"` }

// multipartETag is S3's ETag of a multipart object: md5 of the parts' binary
// md5s, then "-" and the part count.
func multipartETag(parts ...[]byte) string {
	var cat []byte
	for _, p := range parts {
		s := md5.Sum(p)
		cat = append(cat, s[:]...)
	}
	return quoted(fmt.Sprintf("%s-%d", md5hex(cat), len(parts)))
}

// crc64NVMETable is CRC-64/NVME (poly 0xad93d23594c935a9, reflected, init and
// xorout all ones), which is exactly how hash/crc64 runs a reversed polynomial.
var crc64NVMETable = crc64.MakeTable(0x9a6c9329ac4bc9b5)

// checksums computes the base64 value S3 reports for each algorithm.
func checksumOf(alg string, b []byte) string {
	var sum []byte
	switch alg {
	case "CRC32":
		sum = binary.BigEndian.AppendUint32(nil, crc32.ChecksumIEEE(b))
	case "CRC32C":
		sum = binary.BigEndian.AppendUint32(nil, crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli)))
	case "CRC64NVME":
		sum = binary.BigEndian.AppendUint64(nil, crc64.Checksum(b, crc64NVMETable))
	case "SHA1":
		s := sha1.Sum(b)
		sum = s[:]
	case "SHA256":
		s := sha256.Sum256(b)
		sum = s[:]
	default:
		panic("unknown checksum " + alg)
	}
	return base64.StdEncoding.EncodeToString(sum)
}

// compositeCRC32 is S3's COMPOSITE checksum of a multipart object: the CRC32
// of the parts' raw CRC32s, base64, then "-" and the part count.
func compositeCRC32(parts ...[]byte) string {
	var cat []byte
	for _, p := range parts {
		cat = binary.BigEndian.AppendUint32(cat, crc32.ChecksumIEEE(p))
	}
	return fmt.Sprintf("%s-%d", checksumOf("CRC32", cat), len(parts))
}

// TestChecksumHelpers pins the test's own checksum code to the published check
// values, so a wrong helper cannot make a wrong server look right.
func TestChecksumHelpers(t *testing.T) {
	t.Parallel()
	check := []byte("123456789")
	hexOf := func(alg string) string {
		b, _ := base64.StdEncoding.DecodeString(checksumOf(alg, check))
		return hex.EncodeToString(b)
	}
	for alg, want := range map[string]string{
		"CRC32":     "cbf43926",
		"CRC32C":    "e3069283",
		"CRC64NVME": "ae8b14860a799888",
		"SHA1":      "f7c3bc1d808e04732adf679965ccc34ca7ae3441",
		"SHA256":    "15e2b0d3c33891ebb0f1ef609ec419420c20e320ce94c65fbc8c3312448eb225",
	} {
		if got := hexOf(alg); got != want {
			t.Errorf("%s(123456789) = %s, want %s", alg, got, want)
		}
	}
	if got, want := md5hex(nil), "d41d8cd98f00b204e9800998ecf8427e"; got != want {
		t.Errorf("md5hex(empty) = %s, want %s", got, want)
	}
	if a, b := randBytes(1, 100), randBytes(1, 100); !bytes.Equal(a, b) || bytes.Equal(a, randBytes(2, 100)) {
		t.Error("randBytes is not deterministic per seed")
	}
}

// shortBody is a readable description of a body for failure messages.
func shortBody(b []byte) string {
	if len(b) > 64 {
		return fmt.Sprintf("%q… (%d bytes)", b[:64], len(b))
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
		t.Fatalf("%s: got %d bytes, want %d; first difference at byte %d (got %s)", what, len(got), len(want), i, shortBody(got))
	}
}

// doSigned sends a hand-made request signed with SigV4 (payload sha256
// signed), for the few cases where every client adds a header we want absent.
func doSigned(t testing.TB, s *testserver.Server, method, path string, body []byte, hdr http.Header) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	sum := sha256.Sum256(body)
	ph := hex.EncodeToString(sum[:])
	req.Header.Set("X-Amz-Content-Sha256", ph)
	creds := aws.Credentials{AccessKeyID: s.AccessKey, SecretAccessKey: s.SecretKey}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, ph, "s3", s.Region, time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := s.HTTPClient().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	rb, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, rb
}
