package shares

import (
	"strings"
	"testing"

	"github.com/postern/postern/internal/s3test"
	"github.com/postern/postern/internal/testserver"
)

// TestBadInput: every bad request to the share API is a 4xx JSON error
// (api fails the test on a 5xx), on an in-process server.
func TestBadInput(t *testing.T) {
	srv := testserver.InProcess(t, testserver.Options{})
	root := rootCreds(srv)
	bucket := s3test.NewBucket(t, s3Client(srv, root), "bad")
	cases := []struct {
		method, path, body string
		status             int
		code               string
	}{
		{"POST", "/_postern/shares", `{"bucket":"` + bucket + `","key":"k","bogus":1}`, 400, "InvalidArgument"},
		{"POST", "/_postern/shares", `{"bucket":`, 400, "MalformedJSON"},
		{"POST", "/_postern/shares", `{"bucket":"nosuchbucket-x","key":"k"}`, 404, "NoSuchBucket"},
		{"POST", "/_postern/shares", `{"bucket":"` + bucket + `","key":"k","expiresIn":604801}`, 400, "InvalidArgument"},
		{"POST", "/_postern/shares", `{"bucket":"` + bucket + `","key":"k","note":"` + strings.Repeat("x", 70_000) + `"}`, 413, "EntityTooLarge"},
		{"GET", "/_postern/shares?limit=0", "", 400, "InvalidArgument"},
		{"GET", "/_postern/shares?all=maybe", "", 400, "InvalidArgument"},
		{"GET", "/_postern/shares?after=x", "", 400, "InvalidArgument"},
		{"GET", "/_postern/shares/not-an-id", "", 404, "NoSuchShare"},
		{"PUT", "/_postern/shares", "", 405, "MethodNotAllowed"},
		{"GET", "/_postern/other", "", 404, "NotFound"},
	}
	for _, c := range cases {
		var body []byte
		if c.body != "" {
			body = []byte(c.body)
		}
		status, got := api(t, srv, root, c.method, c.path, body)
		wantAPIError(t, c.method+" "+c.path+" "+s3test.ShortBody(body, 80), status, got, c.status, c.code)
	}
}
