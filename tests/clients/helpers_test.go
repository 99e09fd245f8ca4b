// Package clients drives postern servers with real S3 clients that nobody
// in this project wrote: aws-sdk-go-v2 (and its upload manager), minio-go v7
// and the aws CLI. The expectations are AWS S3's behaviour. The Go clients'
// table-driven suites (TestSDK, TestMinio) run against an in-process server
// (testserver.InProcess); the aws CLI, observability (metrics, GOMAXPROCS),
// the hash feeder and the HTTP-version tests run the postern binary.
package clients

import (
	"bytes"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"hash/crc64"
	"net/http"
	"sync"
	"testing"
	"time"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/postern/postern/internal/s3test"
	"github.com/postern/postern/internal/testserver"
)

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

func md5b64(b []byte) string {
	s := md5.Sum(b)
	return base64.StdEncoding.EncodeToString(s[:])
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
	if got, want := s3test.MD5Hex(nil), "d41d8cd98f00b204e9800998ecf8427e"; got != want {
		t.Errorf("s3test.MD5Hex(empty) = %s, want %s", got, want)
	}
	if a, b := s3test.RandBytes(1, 100), s3test.RandBytes(1, 100); !bytes.Equal(a, b) || bytes.Equal(a, s3test.RandBytes(2, 100)) {
		t.Error("randBytes is not deterministic per seed")
	}
}

// sdkClient returns an aws-sdk-go-v2 S3 client for s, path-style, with the
// SDK's default checksum behaviour, and the recorder of its requests.
func sdkClient(t testing.TB, s *testserver.Server, opts ...func(*s3.Options)) (*s3.Client, *recorder) {
	t.Helper()
	rec := &recorder{next: s.HTTPClient().Transport}
	return s3test.Client(s, sdkOptions(&http.Client{Transport: rec, Timeout: 2 * time.Minute}), opts...), rec
}

// sdkOptions are the client options of these tests: two attempts and the
// SDK's default checksum behaviour, over hc.
func sdkOptions(hc *http.Client) s3test.Options {
	return s3test.Options{HTTPClient: hc, RetryMaxAttempts: 2, DefaultChecksums: true}
}

// getBytes reads bucket/key whole.
func getBytes(t testing.TB, c *s3.Client, bucket, key string) []byte {
	t.Helper()
	b, _ := s3test.Get(t, c, bucket, key)
	return b
}
