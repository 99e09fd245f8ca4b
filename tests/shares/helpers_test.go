// Package shares tests tracked share links (issue 20, docs/api.md) end to
// end: shares made through the /_postern/shares API signed with
// aws-sdk-go-v2's SigV4 signer and curl --aws-sigv4, then used, unchanged,
// by curl, python3's urllib and Go's plain net/http, against real postern
// processes (SQLite, and two nodes on one PostgreSQL).
package shares

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/postern/postern/internal/s3test"
	"github.com/postern/postern/internal/testserver"
)

type creds struct{ ak, sk, token string }

func rootCreds(s *testserver.Server) creds { return creds{s.AccessKey, s.SecretKey, ""} }

func s3Client(s *testserver.Server, c creds) *s3.Client {
	return s3test.Client(s, s3test.Options{RetryMaxAttempts: 1}, func(o *s3.Options) {
		o.Credentials = credentials.NewStaticCredentialsProvider(c.ak, c.sk, c.token)
	})
}

func iamClient(s *testserver.Server) *awsiam.Client {
	cfg := s3test.Config(s, s3test.Options{})
	cfg.Credentials = credentials.NewStaticCredentialsProvider(s.AccessKey, s.SecretKey, "")
	return awsiam.NewFromConfig(cfg)
}

// newUser makes an IAM user with an access key and an inline policy (none
// when doc is empty).
func newUser(t testing.TB, s *testserver.Server, name, doc string) creds {
	t.Helper()
	c := iamClient(s)
	ctx := s3test.Ctx(t)
	if _, err := c.CreateUser(ctx, &awsiam.CreateUserInput{UserName: aws.String(name)}); err != nil {
		t.Fatal(err)
	}
	if doc != "" {
		putPolicy(t, s, name, "p", doc)
	}
	k, err := c.CreateAccessKey(ctx, &awsiam.CreateAccessKeyInput{UserName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	return creds{*k.AccessKey.AccessKeyId, *k.AccessKey.SecretAccessKey, ""}
}

func putPolicy(t testing.TB, s *testserver.Server, user, name, doc string) {
	t.Helper()
	if _, err := iamClient(s).PutUserPolicy(s3test.Ctx(t), &awsiam.PutUserPolicyInput{UserName: aws.String(user), PolicyName: aws.String(name), PolicyDocument: aws.String(doc)}); err != nil {
		t.Fatal(err)
	}
}

func deletePolicy(t testing.TB, s *testserver.Server, user, name string) {
	t.Helper()
	if _, err := iamClient(s).DeleteUserPolicy(s3test.Ctx(t), &awsiam.DeleteUserPolicyInput{UserName: aws.String(user), PolicyName: aws.String(name)}); err != nil {
		t.Fatal(err)
	}
}

// shareOut is a share as the API returns it (docs/api.md).
type shareOut struct {
	ID          string            `json:"id"`
	Method      string            `json:"method"`
	Bucket      string            `json:"bucket"`
	Key         string            `json:"key"`
	URL         string            `json:"url"`
	Fields      map[string]string `json:"fields"`
	State       string            `json:"state"`
	CreatedAt   string            `json:"createdAt"`
	ExpiresAt   string            `json:"expiresAt"`
	Uses        int64             `json:"uses"`
	MaxUses     int64             `json:"maxUses"`
	LastUsed    string            `json:"lastUsed"`
	MaxSize     int64             `json:"maxSize"`
	ContentType string            `json:"contentType"`
	Overwrite   bool              `json:"overwrite"`
	Note        string            `json:"note"`
	Creator     string            `json:"creator"`
	RevokedAt   string            `json:"revokedAt"`
	RevokedBy   string            `json:"revokedBy"`
	Audit       []auditRow        `json:"audit"`
	AuditTotal  int64             `json:"auditTotal"`
}

type auditRow struct {
	Time      string `json:"time"`
	Source    string `json:"source"`
	UserAgent string `json:"userAgent"`
	Method    string `json:"method"`
	Status    int    `json:"status"`
	Bytes     int64  `json:"bytes"`
	Range     string `json:"range"`
	RequestID string `json:"requestId"`
	Counted   bool   `json:"counted"`
}

type apiError struct {
	Error struct{ Code, Message string } `json:"error"`
}

// api sends one request to the share API signed (Authorization header)
// with aws-sdk-go-v2's SigV4 signer as c, and returns the status and body.
func api(t testing.TB, s *testserver.Server, c creds, method, path string, body []byte) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("X-Amz-Content-Sha256", s3test.SHA256Hex(body))
	if c.token != "" {
		req.Header.Set("X-Amz-Security-Token", c.token)
	}
	awsc := aws.Credentials{AccessKeyID: c.ak, SecretAccessKey: c.sk, SessionToken: c.token}
	if err := v4.NewSigner().SignHTTP(context.Background(), awsc, req, s3test.SHA256Hex(body), "s3", s.Region, time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := s.HTTPClient().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode >= 500 {
		t.Fatalf("%s %s: server error %d %s", method, path, resp.StatusCode, b)
	}
	return resp.StatusCode, b
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// create makes a share and fails the test unless the API answers 201.
func create(t testing.TB, s *testserver.Server, c creds, req map[string]any) shareOut {
	t.Helper()
	status, body := api(t, s, c, "POST", "/_postern/shares", mustJSON(t, req))
	if status != http.StatusCreated {
		t.Fatalf("CreateShare %v: %d %s", req, status, body)
	}
	var out shareOut
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("CreateShare: %v in %s", err, body)
	}
	if out.URL == "" || !strings.HasPrefix(out.ID, "shr-") {
		t.Fatalf("CreateShare: %s", body)
	}
	return out
}

// wantAPIError fails unless the API answered status with code.
func wantAPIError(t testing.TB, what string, status int, body []byte, wantStatus int, code string) apiError {
	t.Helper()
	var e apiError
	json.Unmarshal(body, &e)
	if status != wantStatus || e.Error.Code != code {
		t.Errorf("%s: got %d %s, want %d %s", what, status, body, wantStatus, code)
	}
	return e
}

func getShare(t testing.TB, s *testserver.Server, c creds, id string) shareOut {
	t.Helper()
	status, body := api(t, s, c, "GET", "/_postern/shares/"+id, nil)
	if status != 200 {
		t.Fatalf("GetShare %s: %d %s", id, status, body)
	}
	var out shareOut
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func revoke(t testing.TB, s *testserver.Server, c creds, id string) shareOut {
	t.Helper()
	status, body := api(t, s, c, "DELETE", "/_postern/shares/"+id, nil)
	if status != 200 {
		t.Fatalf("RevokeShare %s: %d %s", id, status, body)
	}
	var out shareOut
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// plain is a Go HTTP client with no credentials beyond what URLs carry.
func plain(s *testserver.Server) *http.Client {
	return &http.Client{Transport: s.HTTPClient().Transport, Timeout: 2 * time.Minute}
}

type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func do(t testing.TB, c *http.Client, method, url string, hdr http.Header, body []byte) response {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{resp.StatusCode, resp.Header, b}
}

// wantS3Error fails unless r is the S3 error status/code (and message,
// when not empty).
func wantS3Error(t testing.TB, what string, r response, status int, code, message string) {
	t.Helper()
	e, ok := s3test.ParseError(r.Body)
	if r.Status != status || (len(r.Body) > 0 && (!ok || e.Code != code || (message != "" && e.Message != message))) {
		t.Errorf("%s: got %d %s %q, want %d %s %q\n%s", what, r.Status, e.Code, e.Message, status, code, message, s3test.ShortBody(r.Body, 400))
	}
}

// curl runs curl with args and returns its stdout; -w '%{http_code}' is
// added at the end, so the status is the last three bytes.
func curl(t testing.TB, args ...string) (int, []byte) {
	t.Helper()
	out, err := exec.Command("curl", append([]string{"-sS", "-w", "%{http_code}"}, args...)...).Output()
	if err != nil {
		t.Fatalf("curl %v: %v", args, err)
	}
	if len(out) < 3 {
		t.Fatalf("curl %v: %q", args, out)
	}
	code := 0
	for _, c := range out[len(out)-3:] {
		code = code*10 + int(c-'0')
	}
	return code, out[:len(out)-3]
}

const (
	msgRevoked = "This share link was revoked."
	msgExpired = "This share link has expired."
	msgUsedUp  = "This share link has been used the maximum number of times."
)
