package robustness

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/postern/postern/internal/s3test"
	"github.com/postern/postern/internal/testserver"
)

// TestFailedPutsLeaveNothing checks that a PUT that fails midway, for any
// reason, neither creates nor changes the object and leaves no blob file.
func TestFailedPutsLeaveNothing(t *testing.T) {
	t.Parallel()
	srv := testserver.InProcess(t, testserver.Options{})
	c := newClient(srv)
	const bucket = "failed"
	c.createBucket(t, bucket)
	old := genData(1, 300<<10)
	c.must(t, 200, http.MethodPut, "/"+bucket+"/existing", "", nil, old)
	body := genData(2, 8<<20) // large enough to be streamed to a blob file, never held inline

	// expectUnchanged checks the key still holds prev (nil: absent) and that
	// the blob files are back to baseline.
	baseline := len(blobFiles(t, srv.DataDir))
	expectUnchanged := func(t *testing.T, key string, prev []byte) {
		t.Helper()
		resp := c.must(t, map[bool]int{true: 404, false: 200}[prev == nil], http.MethodGet, "/"+bucket+"/"+key, "", nil, nil)
		if prev != nil && !bytes.Equal(resp.Body, prev) {
			t.Errorf("%s: previous version not intact: %d bytes, sha256 %.12s", key, len(resp.Body), s3test.SHA256Hex(resp.Body))
		}
		if prev == nil && resp.s3err().Code != "NoSuchKey" {
			t.Errorf("%s: GET of absent key: %s", key, resp)
		}
		waitBlobCount(t, srv.DataDir, baseline, time.Minute, key+": partial blob")
	}

	for _, tc := range []struct {
		key  string
		prev []byte
	}{{"fresh", nil}, {"existing", old}} {
		t.Run("connection closed midway/"+tc.key, func(t *testing.T) {
			head := c.rawSigned(http.MethodPut, "/"+bucket+"/"+tc.key, "", nil, int64(len(body)), "UNSIGNED-PAYLOAD", time.Now())
			conn, err := net.DialTimeout("tcp", srv.Addr, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			conn.SetDeadline(time.Now().Add(10 * time.Second))
			if _, err := conn.Write(append(head, body[:len(body)/2]...)); err != nil {
				t.Fatal(err)
			}
			// Let the server store what it got before the connection dies,
			// so that a partial blob file really exists on disk.
			deadline := time.Now().Add(time.Minute)
			for len(blobFiles(t, srv.DataDir)) == baseline && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			if len(blobFiles(t, srv.DataDir)) == baseline {
				t.Errorf("no blob file appeared while the upload was in progress")
			}
			conn.Close()
			expectUnchanged(t, tc.key, tc.prev)
		})

		t.Run("truncated body/"+tc.key, func(t *testing.T) {
			// Content-Length larger than what is sent, then the client
			// half-closes: the server sees EOF early.
			head := c.rawSigned(http.MethodPut, "/"+bucket+"/"+tc.key, "", nil, int64(len(body)), "UNSIGNED-PAYLOAD", time.Now())
			res := rawExchange(srv.Addr, append(head, body[:len(body)/3]...), true, 10*time.Second)
			if res.err != nil {
				t.Fatalf("no response: %v", res.err)
			}
			expectS3Error(t, res.resp, 400, "IncompleteBody")
			expectUnchanged(t, tc.key, tc.prev)
		})

		t.Run("x-amz-content-sha256 mismatch/"+tc.key, func(t *testing.T) {
			other := sha256.Sum256([]byte("something else"))
			r := c.request(t.Context(), http.MethodPut, "/"+bucket+"/"+tc.key, "", bytes.NewReader(body), int64(len(body)))
			c.sign(r, hex.EncodeToString(other[:]), time.Now())
			resp, err := c.send(r)
			if err != nil {
				t.Fatal(err)
			}
			expectS3Error(t, resp, 400, "XAmzContentSHA256Mismatch")
			expectUnchanged(t, tc.key, tc.prev)
		})

		t.Run("Content-MD5 mismatch/"+tc.key, func(t *testing.T) {
			resp, err := c.do(http.MethodPut, "/"+bucket+"/"+tc.key, "", http.Header{"Content-Md5": {md5B64([]byte("not the body"))}}, body)
			if err != nil {
				t.Fatal(err)
			}
			expectS3Error(t, resp, 400, "BadDigest")
			expectUnchanged(t, tc.key, tc.prev)
		})

		t.Run("aws-chunked bad chunk signature/"+tc.key, func(t *testing.T) {
			resp := c.chunkedPut(t, srv, "/"+bucket+"/"+tc.key, body, 64<<10, 3)
			expectS3Error(t, resp, 403, "SignatureDoesNotMatch")
			expectUnchanged(t, tc.key, tc.prev)
		})
	}

	// Positive control: the same chunked encoder with correct signatures is
	// accepted, so the failure above is the bad signature and not the encoder.
	t.Run("aws-chunked control", func(t *testing.T) {
		resp := c.chunkedPut(t, srv, "/"+bucket+"/chunked-ok", body, 64<<10, -1)
		if resp.Status != 200 {
			t.Fatalf("valid aws-chunked PUT: %s", resp)
		}
		got := c.must(t, 200, http.MethodGet, "/"+bucket+"/chunked-ok", "", nil, nil)
		if !bytes.Equal(got.Body, body) {
			t.Fatalf("aws-chunked PUT stored %d bytes, want the %d sent", len(got.Body), len(body))
		}
	})
}

// expectS3Error checks status, S3 error code, and the error document's shape.
func expectS3Error(t testing.TB, resp *response, status int, code string) {
	t.Helper()
	e := resp.s3err()
	if resp.Status != status || e.Code != code {
		t.Errorf("got %s; want %d %s", resp, status, code)
		return
	}
	if e.Message == "" || e.RequestID == "" {
		t.Errorf("error document lacks Message or RequestId: %s", resp.Body)
	}
	if id := resp.Header.Get("x-amz-request-id"); id == "" || id != e.RequestID {
		t.Errorf("x-amz-request-id header %q, RequestId in body %q", id, e.RequestID)
	}
}

// chunkedPut uploads body as an aws-chunked STREAMING-AWS4-HMAC-SHA256-PAYLOAD
// request built per the AWS spec (sigv4-streaming), in chunks of chunkSize.
// If badChunk >= 0, that chunk's signature is corrupted.
func (c *client) chunkedPut(t testing.TB, srv *testserver.Server, path string, body []byte, chunkSize, badChunk int) *response {
	t.Helper()
	const payload = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
	now := time.Now().UTC()
	amzDate := now.Format("20060102T150405Z")
	date := now.Format("20060102")
	scope := date + "/" + srv.Region + "/s3/aws4_request"

	// Lay out the chunks first: the encoded length is signed (Content-Length).
	var chunks [][]byte
	for off := 0; off < len(body); off += chunkSize {
		chunks = append(chunks, body[off:min(off+chunkSize, len(body))])
	}
	chunks = append(chunks, nil) // the final, empty chunk
	encLen := 0
	for _, ch := range chunks {
		encLen += len(fmt.Sprintf("%x;chunk-signature=", len(ch))) + 64 + 2 + len(ch) + 2
	}
	hdr := http.Header{
		"Content-Encoding":             {"aws-chunked"},
		"X-Amz-Decoded-Content-Length": {fmt.Sprint(len(body))},
	}
	head := c.rawSigned(http.MethodPut, path, "", hdr, int64(encLen), payload, now)
	// The seed signature is the one in the Authorization header.
	m := strings.Index(string(head), "Signature=")
	if m < 0 {
		t.Fatal("no signature in signed request")
	}
	prev := string(head[m+len("Signature=") : m+len("Signature=")+64])

	key := hmacSHA(hmacSHA(hmacSHA(hmacSHA([]byte("AWS4"+c.creds.SecretAccessKey), date), srv.Region), "s3"), "aws4_request")
	var enc bytes.Buffer
	for i, ch := range chunks {
		sts := "AWS4-HMAC-SHA256-PAYLOAD\n" + amzDate + "\n" + scope + "\n" + prev + "\n" + emptySHA256 + "\n" + s3test.SHA256Hex(ch)
		sig := hex.EncodeToString(hmacSHA(key, sts))
		prev = sig
		if i == badChunk {
			sig = strings.Repeat("0", 64)
		}
		fmt.Fprintf(&enc, "%x;chunk-signature=%s\r\n", len(ch), sig)
		enc.Write(ch)
		enc.WriteString("\r\n")
	}
	if enc.Len() != encLen {
		t.Fatalf("encoded %d bytes, declared %d", enc.Len(), encLen)
	}
	res := rawExchange(srv.Addr, append(head, enc.Bytes()...), false, 15*time.Second)
	if res.err != nil {
		t.Fatalf("aws-chunked PUT: %v", res.err)
	}
	return res.resp
}

func hmacSHA(key []byte, msg string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(msg))
	return h.Sum(nil)
}

// TestHalfClosedClient sends a complete, valid PUT and then half-closes the
// connection (shutdown(SHUT_WR), as some proxies and tools do once the request
// is written). The request is whole, so it must succeed and be stored.
func TestHalfClosedClient(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, testserver.Options{})
	c := newClient(srv)
	c.createBucket(t, "half")
	body := genData(9, 256<<10)
	req := c.build(rawReq{method: http.MethodPut, path: "/half/k", body: body})
	res := rawExchange(srv.Addr, req, true, 10*time.Second)
	if res.err != nil {
		t.Fatalf("no response: %v", res.err)
	}
	if res.resp.Status != 200 {
		t.Errorf("complete PUT followed by a half-close: %s", res.resp)
	}
	got, err := c.do(http.MethodGet, "/half/k", "", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.resp.Status == 200 && (got.Status != 200 || !bytes.Equal(got.Body, body)) {
		t.Errorf("acknowledged PUT not readable: %s", got)
	}
	if res.resp.Status != 200 && got.Status != 404 {
		t.Errorf("failed PUT left an object: %d", got.Status)
	}
	if got.Status != 200 {
		waitBlobCount(t, srv.DataDir, 0, time.Minute, "after a failed half-closed PUT")
	} else if n := len(blobFiles(t, srv.DataDir)); n > 1 {
		t.Errorf("one object but %d blob files", n)
	}
}
