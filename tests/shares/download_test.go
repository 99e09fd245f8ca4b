package shares

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/postern/postern/internal/s3test"
	"github.com/postern/postern/internal/testserver"
)

func startServer(t testing.TB) *testserver.Server {
	t.Helper()
	return testserver.Start(t, testserver.Options{})
}

// pythonGet fetches url with boto3's own HTTP layer (botocore's
// URLLib3Session sending an unsigned AWSRequest: plain HTTP, no
// credentials, as an application holding only the link would) and returns
// the status and the body.
func pythonGet(t testing.TB, url string) (int, []byte) {
	t.Helper()
	const prog = `
import sys
from botocore.awsrequest import AWSRequest
from botocore.httpsession import URLLib3Session
req = AWSRequest(method="GET", url=sys.argv[1], headers={"User-Agent": "python-botocore-share-test"})
r = URLLib3Session().send(req.prepare())
sys.stdout.write("%d\n" % r.status_code)
sys.stdout.flush()
sys.stdout.buffer.write(r.content)
`
	out, err := exec.Command("python3", "-c", prog, url).Output()
	if err != nil {
		t.Fatalf("python3: %v", err)
	}
	line, body, _ := bytes.Cut(out, []byte("\n"))
	var status int
	fmt.Sscan(string(line), &status)
	return status, body
}

// TestDownloadShare: a GET share's URL works unchanged with curl, boto3's
// plain HTTP (botocore) and Go's net/http; revoking it stops it on the next request
// while a second share of the same object still works; the audit rows
// match the requests made.
func TestDownloadShare(t *testing.T) {
	srv := startServer(t)
	c := s3Client(srv, rootCreds(srv))
	bucket := s3test.NewBucket(t, c, "share")
	data := s3test.RandBytes(1, 3000)
	s3test.Put(t, c, bucket, "dir/file one.bin", data)

	// One share made with curl --aws-sigv4, one with the SDK's signer.
	req := string(mustJSON(t, map[string]any{"bucket": bucket, "key": "dir/file one.bin", "expiresIn": 600, "note": "for Alice"}))
	status, body := curl(t, "--aws-sigv4", "aws:amz:"+srv.Region+":s3", "--user", srv.AccessKey+":"+srv.SecretKey,
		"-H", "Content-Type: application/json", "-X", "POST", "--data-binary", req, srv.URL+"/_postern/shares")
	if status != 201 {
		t.Fatalf("CreateShare with curl: %d %s", status, body)
	}
	var first shareOut
	if err := json.Unmarshal(body, &first); err != nil {
		t.Fatal(err)
	}
	if first.State != "active" || first.Method != "GET" || first.Note != "for Alice" || first.Creator != "arn:aws:iam::000000000000:root" ||
		!strings.HasPrefix(first.URL, srv.URL+"/"+bucket+"/dir/file%20one.bin?") {
		t.Fatalf("created share: %+v", first)
	}
	second := create(t, srv, rootCreds(srv), map[string]any{"bucket": bucket, "key": "dir/file one.bin"})

	// curl, python, Go.
	status, got := curl(t, "-A", "curl-share-test", first.URL)
	if status != 200 || !bytes.Equal(got, data) {
		t.Fatalf("curl GET: %d, %d bytes", status, len(got))
	}
	status, got = pythonGet(t, first.URL)
	if status != 200 || !bytes.Equal(got, data) {
		t.Fatalf("python GET: %d, %d bytes", status, len(got))
	}
	r := do(t, plain(srv), "GET", first.URL, http.Header{"Range": {"bytes=100-199"}, "User-Agent": {"go-share-test"}}, nil)
	if r.Status != 206 || !bytes.Equal(r.Body, data[100:200]) {
		t.Fatalf("Go ranged GET: %d, %d bytes", r.Status, len(r.Body))
	}

	got1 := revoke(t, srv, rootCreds(srv), first.ID)
	if got1.State != "revoked" || got1.RevokedBy != "arn:aws:iam::000000000000:root" || got1.RevokedAt == "" {
		t.Fatalf("revoked share: %+v", got1)
	}
	r = do(t, plain(srv), "GET", first.URL, http.Header{"User-Agent": {"go-share-test"}}, nil)
	wantS3Error(t, "GET after revoke", r, 403, "AccessDenied", msgRevoked)
	status, got = pythonGet(t, first.URL)
	if e, _ := s3test.ParseError(got); status != 403 || e.Message != msgRevoked {
		t.Errorf("python GET after revoke: %d %s", status, got)
	}
	r = do(t, plain(srv), "GET", second.URL, nil, nil)
	if r.Status != 200 || !bytes.Equal(r.Body, data) {
		t.Fatalf("second share after the first's revocation: %d", r.Status)
	}
	// Revoking again changes nothing.
	again := revoke(t, srv, rootCreds(srv), first.ID)
	if again.RevokedAt != got1.RevokedAt {
		t.Errorf("second revocation moved revokedAt: %s, was %s", again.RevokedAt, got1.RevokedAt)
	}

	// The audit: 5 requests, newest first, written in the background.
	want := []auditRow{
		{Method: "GET", Status: 403, UserAgent: "python-botocore-share-test"},
		{Method: "GET", Status: 403, UserAgent: "go-share-test"},
		{Method: "GET", Status: 206, UserAgent: "go-share-test", Bytes: 100, Range: "bytes=100-199"},
		{Method: "GET", Status: 200, UserAgent: "python-botocore-share-test", Bytes: 3000, Counted: true},
		{Method: "GET", Status: 200, UserAgent: "curl-share-test", Bytes: 3000, Counted: true},
	}
	sh := waitAudit(t, srv, rootCreds(srv), first.ID, len(want))
	if sh.AuditTotal != int64(len(want)) || len(sh.Audit) != len(want) {
		t.Fatalf("audit: total %d, %d rows, want %d: %+v", sh.AuditTotal, len(sh.Audit), len(want), sh.Audit)
	}
	for i, w := range want {
		g := sh.Audit[i]
		if w.Status == 403 {
			w.Bytes = g.Bytes // the error document's length
			if g.Bytes <= 0 {
				t.Errorf("audit row %d: no bytes for the error body sent", i)
			}
		}
		if g.Method != w.Method || g.Status != w.Status || g.UserAgent != w.UserAgent || g.Bytes != w.Bytes || g.Range != w.Range || g.Counted != w.Counted ||
			g.Source != "127.0.0.1" || g.RequestID == "" || g.Time == "" {
			t.Errorf("audit row %d: %+v, want %+v from 127.0.0.1", i, g, w)
		}
	}
	if sh.Uses != 2 || sh.LastUsed == "" {
		t.Errorf("uses %d (last %q), want 2 counted downloads", sh.Uses, sh.LastUsed)
	}
}

// waitAudit polls GetShare until the share has n audit rows (they are
// written in batches off the request path).
func waitAudit(t testing.TB, srv *testserver.Server, c creds, id string, n int) shareOut {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		sh := getShare(t, srv, c, id)
		if sh.AuditTotal >= int64(n) || time.Now().After(deadline) {
			return sh
		}
		time.Sleep(20 * time.Millisecond) // polling for the event
	}
}

// TestExpiredShare: a short-lived share answers "expired" once it is.
func TestExpiredShare(t *testing.T) {
	srv := startServer(t)
	c := s3Client(srv, rootCreds(srv))
	bucket := s3test.NewBucket(t, c, "share")
	s3test.Put(t, c, bucket, "k", []byte("hello"))
	sh := create(t, srv, rootCreds(srv), map[string]any{"bucket": bucket, "key": "k", "expiresIn": 1})
	deadline := time.Now().Add(time.Minute)
	for {
		r := do(t, plain(srv), "GET", sh.URL, nil, nil)
		if r.Status == 403 {
			wantS3Error(t, "expired share", r, 403, "AccessDenied", msgExpired)
			break
		}
		if r.Status != 200 || time.Now().After(deadline) {
			t.Fatalf("GET: %d %s", r.Status, r.Body)
		}
		time.Sleep(50 * time.Millisecond) // polling for the event
	}
	if got := getShare(t, srv, rootCreds(srv), sh.ID); got.State != "expired" {
		t.Errorf("state %q, want expired", got.State)
	}
}

// TestMaxUses: exactly 5 of 32 concurrent first downloads of a 5-use link
// succeed; resumes are not counted; a failed request gives its use back.
func TestMaxUses(t *testing.T) {
	srv := startServer(t)
	c := s3Client(srv, rootCreds(srv))
	bucket := s3test.NewBucket(t, c, "share")
	data := s3test.RandBytes(2, 70_000) // a file, not an inline row
	s3test.Put(t, c, bucket, "big", data)
	sh := create(t, srv, rootCreds(srv), map[string]any{"bucket": bucket, "key": "big", "maxUses": 5})

	var mu sync.Mutex
	counts := map[string]int{}
	var wg sync.WaitGroup
	hc := plain(srv)
	for i := 0; i < 32; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := do(t, hc, "GET", sh.URL, nil, nil)
			k := fmt.Sprint(r.Status)
			if r.Status == 200 && !bytes.Equal(r.Body, data) {
				k = "200 with wrong bytes"
			}
			if r.Status == 403 {
				e, _ := s3test.ParseError(r.Body)
				k += " " + e.Message
			}
			mu.Lock()
			counts[k]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if counts["200"] != 5 || counts["403 "+msgUsedUp] != 27 || len(counts) != 2 {
		t.Fatalf("32 concurrent downloads of a 5-use link: %v, want 5 × 200 and 27 × 403 used up", counts)
	}
	if got := getShare(t, srv, rootCreds(srv), sh.ID); got.Uses != 5 || got.State != "used up" {
		t.Errorf("after: uses %d state %q", got.Uses, got.State)
	}

	// Resumes and give-backs.
	sh2 := create(t, srv, rootCreds(srv), map[string]any{"bucket": bucket, "key": "big", "maxUses": 2})
	if r := do(t, hc, "GET", sh2.URL, nil, nil); r.Status != 200 {
		t.Fatalf("first download: %d", r.Status)
	}
	for i := 0; i < 3; i++ {
		r := do(t, hc, "GET", sh2.URL, http.Header{"Range": {"bytes=100-"}}, nil)
		if r.Status != 206 || !bytes.Equal(r.Body, data[100:]) {
			t.Fatalf("resume %d: %d", i, r.Status)
		}
	}
	if got := getShare(t, srv, rootCreds(srv), sh2.ID); got.Uses != 1 {
		t.Errorf("after 1 download and 3 resumes: uses %d, want 1", got.Uses)
	}
	if _, err := c.DeleteObject(s3test.Ctx(t), &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String("big")}); err != nil {
		t.Fatal(err)
	}
	r := do(t, hc, "GET", sh2.URL, nil, nil)
	wantS3Error(t, "GET of a deleted object", r, 404, "NoSuchKey", "")
	if got := getShare(t, srv, rootCreds(srv), sh2.ID); got.Uses != 1 || got.State != "active" {
		t.Errorf("after a 404: uses %d state %q, want the use given back (1, active)", got.Uses, got.State)
	}
	s3test.Put(t, c, bucket, "big", data)
	if r := do(t, hc, "GET", sh2.URL, nil, nil); r.Status != 200 {
		t.Fatalf("second download: %d", r.Status)
	}
	r = do(t, hc, "GET", sh2.URL, http.Header{"Range": {"bytes=100-"}}, nil)
	wantS3Error(t, "resume of a used-up share", r, 403, "AccessDenied", msgUsedUp)
}
