package robustness

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/postern/postern/internal/testserver"
)

// TestHeaderSectionTooLarge: header sections over the server's limit (64
// KiB), up to net/http's own 1 MiB, get S3 error XML, never net/http's
// plain-text 431.
func TestHeaderSectionTooLarge(t *testing.T) {
	t.Parallel()
	srv := testserver.InProcess(t, testserver.Options{})
	c := newClient(srv)
	c.createBucket(t, "hdr")

	// User metadata over 2 KB, in a header section under the limit.
	meta := http.Header{"X-Amz-Meta-Big": {strings.Repeat("m", 3000)}}
	r := c.must(t, 400, http.MethodPut, "/hdr/k", "", meta, []byte("x"))
	if e := r.s3err(); e.Code != "MetadataTooLarge" {
		t.Errorf("3 KB of metadata: %s, want MetadataTooLarge", r)
	}

	for _, tc := range []struct {
		name   string
		method string
		header string
		size   int
		code   string
	}{
		{"Pad200KiB", "GET", "X-Pad", 200 << 10, "RequestHeaderSectionTooLarge"},
		{"PadNear1MiB", "GET", "X-Pad", 1<<20 - 1024, "RequestHeaderSectionTooLarge"},
		{"Metadata100KiB", "PUT", "X-Amz-Meta-Big", 100 << 10, "MetadataTooLarge"},
	} {
		head := fmt.Sprintf("%s /hdr/k HTTP/1.1\r\nHost: %s\r\nContent-Length: 0\r\n%s: %s\r\n\r\n", tc.method, srv.Addr, tc.header, strings.Repeat("a", tc.size))
		res := rawExchange(srv.Addr, []byte(head), false, reqTimeout)
		if res.err != nil {
			t.Errorf("%s: %v", tc.name, res.err)
			continue
		}
		r := res.resp
		if r.Status != 400 || r.s3err().Code != tc.code || r.s3err().Message == "" {
			t.Errorf("%s: got %s, want 400 %s XML", tc.name, r, tc.code)
		}
		if tc.code == "RequestHeaderSectionTooLarge" && !strings.Contains(string(r.Body), "<MaxSizeAllowed>65536</MaxSizeAllowed>") {
			t.Errorf("%s: no MaxSizeAllowed in %s", tc.name, r)
		}
	}

	// Signed requests with ordinary headers still work.
	c.must(t, 200, http.MethodPut, "/hdr/k", "", http.Header{"X-Amz-Meta-Small": {"v"}}, []byte("x"))
}
