// Package robustness drives postern servers (see internal/testserver)
// through crashes, failed and malformed requests, slow clients, graceful
// shutdown and large transfers, and checks what survives. The table-driven
// request suites (bad input, header limits, chunk sizes, failed PUTs) run
// in process (testserver.InProcess); what needs a process of its own
// (crashes, signals, shutdown, disk full, memory, the data folder's mode,
// slow clients against the real listener) runs the postern binary.
package robustness

import (
	"bufio"
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/postern/postern/internal/testserver"
)

// emptySHA256 is hex(sha256("")).
const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// t0ctx is the context of requests that are only built, not sent by net/http.
var t0ctx = context.Background()

// reqTimeout bounds every request a test sends: no request may hang.
const reqTimeout = 20 * time.Second

// client signs requests with the SDK's SigV4 signer and sends them with
// plain net/http, so tests control every header and see every response.
type client struct {
	srv    *testserver.Server
	hc     *http.Client
	signer *v4.Signer
	creds  aws.Credentials
}

func newClient(s *testserver.Server) *client {
	hc := s.HTTPClient()
	hc.Timeout = reqTimeout
	return &client{
		srv: s,
		hc:  hc,
		signer: v4.NewSigner(func(o *v4.SignerOptions) {
			o.DisableURIPathEscaping = true // S3 signs the path as sent
		}),
		creds: aws.Credentials{AccessKeyID: s.AccessKey, SecretAccessKey: s.SecretKey},
	}
}

// request builds an unsigned request for path (already escaped) and raw query.
func (c *client) request(ctx context.Context, method, path, rawQuery string, body io.Reader, size int64) *http.Request {
	u := c.srv.URL + path
	if rawQuery != "" {
		u += "?" + rawQuery
	}
	r, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		panic(err)
	}
	if body != nil {
		r.ContentLength = size
		if size == 0 {
			r.Body = http.NoBody
		}
	}
	return r
}

// sign signs r at time at with the given payload hash (also sent as
// x-amz-content-sha256).
func (c *client) sign(r *http.Request, payloadHash string, at time.Time) {
	r.Header.Set("X-Amz-Content-Sha256", payloadHash)
	if err := c.signer.SignHTTP(context.Background(), c.creds, r, payloadHash, "s3", c.srv.Region, at); err != nil {
		panic(err)
	}
}

// response is a fully read response.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

// s3err parses the body as an S3 error document (zero value if it is not one).
func (r *response) s3err() s3Error {
	var e s3Error
	xml.Unmarshal(r.Body, &e)
	return e
}

func (r *response) String() string {
	b := r.Body
	if len(b) > 600 {
		b = b[:600]
	}
	return fmt.Sprintf("%d %s", r.Status, b)
}

type s3Error struct {
	XMLName   xml.Name `xml:"Error"`
	Code      string   `xml:"Code"`
	Message   string   `xml:"Message"`
	RequestID string   `xml:"RequestId"`
	Resource  string   `xml:"Resource"`
}

// send sends r and reads the whole response.
func (c *client) send(r *http.Request) (*response, error) {
	resp, err := c.hc.Do(r)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	return &response{Status: resp.StatusCode, Header: resp.Header, Body: b}, nil
}

// do sends a request signed over body's SHA-256, with extra headers.
func (c *client) do(method, path, rawQuery string, hdr http.Header, body []byte) (*response, error) {
	ctx, cancel := context.WithTimeout(context.Background(), reqTimeout)
	defer cancel()
	var rd io.Reader
	if body != nil || method == http.MethodPut || method == http.MethodPost {
		rd = bytes.NewReader(body)
	}
	r := c.request(ctx, method, path, rawQuery, rd, int64(len(body)))
	for k, v := range hdr {
		r.Header[k] = v
	}
	sum := sha256.Sum256(body)
	c.sign(r, hex.EncodeToString(sum[:]), time.Now())
	return c.send(r)
}

// must is do that fails the test on a transport error or an unexpected status.
func (c *client) must(t testing.TB, want int, method, path, rawQuery string, hdr http.Header, body []byte) *response {
	t.Helper()
	resp, err := c.do(method, path, rawQuery, hdr, body)
	if err != nil {
		t.Fatalf("%s %s?%s: %v", method, path, rawQuery, err)
	}
	if resp.Status != want {
		t.Fatalf("%s %s?%s: status %d, want %d: %s", method, path, rawQuery, resp.Status, want, resp)
	}
	return resp
}

func (c *client) createBucket(t testing.TB, name string) {
	t.Helper()
	c.must(t, 200, http.MethodPut, "/"+name, "", nil, nil)
}

// rawSigned returns the header block (request line and headers, ending in
// CRLF CRLF) of a request signed for payloadHash, declaring contentLength
// bytes of body (-1: no Content-Length header), plus extra headers (signed).
func (c *client) rawSigned(method, path, rawQuery string, hdr http.Header, contentLength int64, payloadHash string, at time.Time) []byte {
	r := c.request(context.Background(), method, path, rawQuery, nil, 0)
	for k, v := range hdr {
		r.Header[k] = v
	}
	if contentLength > 0 {
		r.ContentLength = contentLength
	}
	c.sign(r, payloadHash, at)
	return serializeHead(r, contentLength)
}

// serializeHead writes r's request line and headers as HTTP/1.1 bytes.
func serializeHead(r *http.Request, contentLength int64) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\n", r.Method, r.URL.RequestURI(), r.URL.Host)
	if contentLength >= 0 {
		fmt.Fprintf(&b, "Content-Length: %d\r\n", contentLength)
	}
	r.Header.Write(&b)
	b.WriteString("\r\n")
	return b.Bytes()
}

// rawResult is what came back over a raw connection.
type rawResult struct {
	resp *response
	err  error // transport / parse error
}

// rawExchange dials the server, writes data, half-closes the connection if
// closeWrite, and reads one response, all within timeout.
func rawExchange(addr string, data []byte, closeWrite bool, timeout time.Duration) rawResult {
	return rawExchangeStall(addr, data, closeWrite, 0, timeout)
}

// rawExchangeStall is rawExchange that, when stall > 0 and no response has
// begun within stall, half-closes the connection (the server may be waiting
// for body bytes that a mutated Content-Length promised) and reads on.
func rawExchangeStall(addr string, data []byte, closeWrite bool, stall, timeout time.Duration) rawResult {
	conn, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return rawResult{err: err}
	}
	defer conn.Close()
	deadline := time.Now().Add(timeout)
	conn.SetDeadline(deadline)
	// A write error is not final: the server may have answered and closed
	// before reading everything; still read what it said.
	conn.Write(data)
	if closeWrite {
		conn.(*net.TCPConn).CloseWrite()
	}
	br := bufio.NewReader(conn)
	if stall > 0 && !closeWrite {
		conn.SetReadDeadline(time.Now().Add(stall))
		if _, err := br.Peek(1); err != nil {
			if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
				return rawResult{err: err}
			}
			conn.(*net.TCPConn).CloseWrite()
		}
		conn.SetReadDeadline(deadline)
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return rawResult{err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return rawResult{err: fmt.Errorf("reading body: %w", err)}
	}
	return rawResult{resp: &response{Status: resp.StatusCode, Header: resp.Header, Body: b}}
}

// blobFiles lists the blob files under the data dir (DATA/blobs/xx/ID).
func blobFiles(t testing.TB, dataDir string) []string {
	t.Helper()
	var out []string
	fanouts, err := os.ReadDir(filepath.Join(dataDir, "blobs"))
	if err != nil {
		t.Fatalf("reading blobs dir: %v", err)
	}
	for _, fo := range fanouts {
		if !fo.IsDir() {
			out = append(out, fo.Name()) // a stray file counts too
			continue
		}
		es, err := os.ReadDir(filepath.Join(dataDir, "blobs", fo.Name()))
		if err != nil {
			t.Fatalf("reading blobs dir: %v", err)
		}
		for _, e := range es {
			out = append(out, fo.Name()+"/"+e.Name())
		}
	}
	sort.Strings(out)
	return out
}

// waitBlobCount waits until exactly want blob files exist, and fails the
// test (with what) if that does not happen within d (a guard against a hang:
// make it generous, a busy machine may be slow to get there).
func waitBlobCount(t testing.TB, dataDir string, want int, d time.Duration, what string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		got := blobFiles(t, dataDir)
		if len(got) == want {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("%s: %d blob files remain, want %d: %v", what, len(got), want, got)
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// genData returns n deterministic pseudo-random bytes for seed.
func genData(seed uint64, n int) []byte {
	b := make([]byte, n)
	rand.NewChaCha8(seedBytes(seed)).Read(b)
	return b
}

func seedBytes(seed uint64) [32]byte {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], seed)
	return sha256.Sum256(b[:])
}

func md5B64(b []byte) string {
	s := md5.Sum(b)
	return base64.StdEncoding.EncodeToString(s[:])
}

// etagOf strips the quotes of an ETag header.
func etagOf(h http.Header) string { return strings.Trim(h.Get("ETag"), `"`) }

// checkHealthy fails the test unless /health/ready answers 200 promptly.
func checkHealthy(t testing.TB, s *testserver.Server) {
	t.Helper()
	hc := s.HTTPClient()
	hc.Timeout = 5 * time.Second
	resp, err := hc.Get(s.URL + "/health/ready")
	if err != nil {
		t.Fatalf("server no longer answers /health/ready: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("/health/ready: %d", resp.StatusCode)
	}
}

// Multipart helpers.

type initiateResult struct {
	UploadID string `xml:"UploadId"`
}

type listBucketResult struct {
	IsTruncated           bool
	NextContinuationToken string
	Contents              []struct {
		Key  string
		Size int64
		ETag string
	}
}

type listUploadsResult struct {
	IsTruncated bool
	Uploads     []struct {
		Key      string
		UploadID string `xml:"UploadId"`
	} `xml:"Upload"`
}

type listPartsResult struct {
	IsTruncated bool
	Parts       []struct {
		PartNumber int
		ETag       string
		Size       int64
	} `xml:"Part"`
}

func completeXML(etags []string) []byte {
	var b strings.Builder
	b.WriteString("<CompleteMultipartUpload>")
	for i, e := range etags {
		fmt.Fprintf(&b, "<Part><PartNumber>%d</PartNumber><ETag>\"%s\"</ETag></Part>", i+1, e)
	}
	b.WriteString("</CompleteMultipartUpload>")
	return []byte(b.String())
}

// multipartETag is S3's ETag of a multipart object: md5 of the parts' binary
// MD5s, then "-" and the part count.
func multipartETag(parts [][]byte) string {
	h := md5.New()
	for _, p := range parts {
		s := md5.Sum(p)
		h.Write(s[:])
	}
	return hex.EncodeToString(h.Sum(nil)) + "-" + strconv.Itoa(len(parts))
}

// partsInETag is the number of blob files an object with this ETag has.
func unmarshalXML(b []byte, v any) error { return xml.Unmarshal(b, v) }
