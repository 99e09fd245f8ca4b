package shares

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/postern/postern/internal/s3test"
)

// TestPutShare: an upload link takes one key, within its size and content
// type, and without overwrite refuses a key that exists (412).
func TestPutShare(t *testing.T) {
	srv := startServer(t)
	c := s3Client(srv, rootCreds(srv))
	bucket := s3test.NewBucket(t, c, "share")
	sh := create(t, srv, rootCreds(srv), map[string]any{"bucket": bucket, "key": "drop/report.txt", "method": "PUT",
		"maxSize": 100, "contentType": "text/plain", "maxUses": 3})
	if sh.Method != "PUT" || sh.MaxSize != 100 || sh.ContentType != "text/plain" || sh.Overwrite {
		t.Fatalf("share: %+v", sh)
	}
	dir := t.TempDir()
	write := func(name string, n int) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, bytes.Repeat([]byte("x"), n), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	big, small := write("big", 101), write("small", 100)

	status, body := curl(t, "-T", big, "-H", "Content-Type: text/plain", sh.URL)
	wantS3Error(t, "PUT over maxSize", response{Status: status, Body: body}, 400, "EntityTooLarge", "")
	status, body = curl(t, "-T", small, "-H", "Content-Type: image/png", sh.URL)
	wantS3Error(t, "PUT of another type", response{Status: status, Body: body}, 403, "AccessDenied", "This share link only takes uploads with Content-Type text/plain.")
	status, body = curl(t, "-T", small, "-H", "Content-Type: text/plain", sh.URL)
	if status != 200 {
		t.Fatalf("PUT within the limits: %d %s", status, body)
	}
	got, out := s3test.Get(t, c, bucket, "drop/report.txt")
	if len(got) != 100 || *out.ContentType != "text/plain" {
		t.Fatalf("uploaded object: %d bytes, %s", len(got), *out.ContentType)
	}
	status, body = curl(t, "-T", small, "-H", "Content-Type: text/plain", sh.URL)
	wantS3Error(t, "second PUT without overwrite", response{Status: status, Body: body}, 412, "PreconditionFailed",
		"At least one of the pre-conditions you specified did not hold")
	if got := getShare(t, srv, rootCreds(srv), sh.ID); got.Uses != 1 {
		t.Errorf("uses %d, want 1 (refused uploads give their use back)", got.Uses)
	}
	// GET with the upload link: another method, another signature.
	r := do(t, plain(srv), "GET", sh.URL, nil, nil)
	if r.Status != 403 {
		t.Errorf("GET with a PUT link: %d", r.Status)
	}

	ow := create(t, srv, rootCreds(srv), map[string]any{"bucket": bucket, "key": "drop/report.txt", "method": "PUT", "overwrite": true})
	for i := 0; i < 2; i++ {
		if r := do(t, plain(srv), "PUT", ow.URL, nil, []byte("new")); r.Status != 200 {
			t.Fatalf("PUT %d with overwrite: %d %s", i, r.Status, r.Body)
		}
	}
	got, _ = s3test.Get(t, c, bucket, "drop/report.txt")
	if string(got) != "new" {
		t.Errorf("object after overwrite: %q", got)
	}
}

// TestPostShare: a POST share is a browser form for a key prefix, posted
// with curl -F.
func TestPostShare(t *testing.T) {
	srv := startServer(t)
	c := s3Client(srv, rootCreds(srv))
	bucket := s3test.NewBucket(t, c, "share")
	sh := create(t, srv, rootCreds(srv), map[string]any{"bucket": bucket, "key": "inbox/", "method": "POST", "maxSize": 1000, "contentType": "text/plain"})
	if sh.Fields["policy"] == "" || sh.Fields["x-amz-signature"] == "" || sh.Fields["key"] != "inbox/${filename}" || sh.URL != srv.URL+"/"+bucket {
		t.Fatalf("POST share: %+v", sh)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "hello.txt")
	os.WriteFile(file, []byte("hello from a form"), 0o600)
	bigFile := filepath.Join(dir, "big.txt")
	os.WriteFile(bigFile, bytes.Repeat([]byte("y"), 1001), 0o600)

	post := func(fields map[string]string, path string) (int, []byte) {
		var args []string
		for _, k := range []string{"key", "Content-Type", "x-amz-algorithm", "x-amz-credential", "x-amz-date", "policy", "x-amz-signature"} {
			v, ok := fields[k]
			if !ok {
				t.Fatalf("field %s missing from %v", k, fields)
			}
			args = append(args, "--form-string", k+"="+v)
		}
		return curl(t, append(args, "-F", "file=@"+path, sh.URL)...)
	}
	status, body := post(sh.Fields, file)
	if status != 204 {
		t.Fatalf("POST: %d %s", status, body)
	}
	got, _ := s3test.Get(t, c, bucket, "inbox/hello.txt")
	if string(got) != "hello from a form" {
		t.Fatalf("posted object: %q", got)
	}
	status, body = post(sh.Fields, file)
	wantS3Error(t, "POST of a key that exists", response{Status: status, Body: body}, 412, "PreconditionFailed", "")
	status, body = post(sh.Fields, bigFile)
	wantS3Error(t, "POST over maxSize", response{Status: status, Body: body}, 400, "EntityTooLarge", "")
	f := map[string]string{}
	for k, v := range sh.Fields {
		f[k] = v
	}
	f["Content-Type"] = "image/png"
	os.WriteFile(filepath.Join(dir, "other.txt"), []byte("x"), 0o600)
	status, body = post(f, filepath.Join(dir, "other.txt"))
	wantS3Error(t, "POST of another type", response{Status: status, Body: body}, 403, "AccessDenied", "This share link only takes uploads with Content-Type text/plain.")
	f["Content-Type"] = "text/plain"
	f["key"] = "elsewhere/${filename}"
	status, body = post(f, filepath.Join(dir, "other.txt"))
	if status != 403 || !strings.Contains(string(body), "AccessDenied") {
		t.Errorf("POST outside the prefix: %d %s", status, body)
	}
	if r := do(t, plain(srv), "GET", srv.URL+"/"+bucket+"/elsewhere/other.txt", nil, nil); r.Status == http.StatusOK {
		t.Errorf("an object was written outside the prefix")
	}
}
