package sigv2e2e

import (
	"encoding/json"
	"errors"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/postern/postern/internal/s3test"
	"github.com/postern/postern/internal/testserver"
)

// denyPolicy is a bucket policy denying everything to everyone when the
// condition holds.
func denyPolicy(bucket string, cond map[string]string) string {
	p := map[string]any{
		"Version": "2012-10-17",
		"Statement": []any{map[string]any{
			"Sid":       "DenyBySignature",
			"Effect":    "Deny",
			"Principal": "*",
			"Action":    "s3:*",
			"Resource":  []string{"arn:aws:s3:::" + bucket, "arn:aws:s3:::" + bucket + "/*"},
			"Condition": map[string]any{"StringEquals": cond},
		}},
	}
	b, _ := json.Marshal(p)
	return string(b)
}

func putPolicy(t testing.TB, c *s3.Client, bucket, pol string) {
	t.Helper()
	if _, err := c.PutBucketPolicy(s3test.Ctx(t), &s3.PutBucketPolicyInput{Bucket: aws.String(bucket), Policy: aws.String(pol)}); err != nil {
		t.Fatalf("PutBucketPolicy %s: %v", pol, err)
	}
}

func deletePolicy(t testing.TB, c *s3.Client, bucket string) {
	t.Helper()
	if _, err := c.DeleteBucketPolicy(s3test.Ctx(t), &s3.DeleteBucketPolicyInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatalf("DeleteBucketPolicy: %v", err)
	}
}

func wantAccessDenied(t testing.TB, what string, err error) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "AccessDenied" {
		t.Fatalf("%s: %v, want AccessDenied", what, err)
	}
}

// TestSigV2BucketPolicy: a bucket policy denying s3:signatureversion "AWS"
// turns SigV2 off for that bucket while SigV4 keeps working; s3:authType
// tells presigned, header and POST SigV2 requests apart.
func TestSigV2BucketPolicy(t *testing.T) {
	t.Parallel()
	needTool(t, "s3cmd")
	srv := testserver.Start(t, testserver.Options{})
	sdk := sdkClient(srv)
	sc := newS3cmd(t, srv, srv.Addr, srv.AccessKey, srv.SecretKey)
	body := []byte("guarded by a bucket policy\n")

	// setup makes a bucket with one object, and checks SigV2 works there.
	setup := func(t *testing.T, prefix string) (bucket, v2URL string) {
		b := s3test.NewBucket(t, sdk, prefix)
		s3test.Put(t, sdk, b, "k", body)
		u := awsPresign(t, srv, b, "k")
		st, got := get(t, u)
		wantOK(t, "SigV2 URL before any policy", st, got, body)
		return b, u
	}
	s3cmdGet := func(t *testing.T, b string, sigv2 bool) (string, int) {
		args := []string{"get", "--force", "s3://" + b + "/k", filepath.Join(t.TempDir(), "k")}
		if sigv2 {
			args = append([]string{"--signature-v2"}, args...)
		}
		_, errs, code := sc.run(t, args...)
		return errs, code
	}

	t.Run("DenySigV2", func(t *testing.T) {
		t.Parallel()
		b, u := setup(t, "denyv2")
		putPolicy(t, sdk, b, denyPolicy(b, map[string]string{"s3:signatureversion": "AWS"}))

		st, got := get(t, u)
		wantErr(t, "SigV2 presigned GET under the deny policy", st, got, http.StatusForbidden, "AccessDenied")
		st, got = curl(t, awsPresign(t, srv, b, "k"))
		wantErr(t, "fresh aws s3 presign URL under the deny policy", st, got, http.StatusForbidden, "AccessDenied")
		if errs, code := s3cmdGet(t, b, true); code == 0 || !strings.Contains(errs, "403") {
			t.Errorf("s3cmd --signature-v2 get under the deny policy: exit %d, stderr %q; want 403", code, errs)
		}
		if _, errs, code := sc.run(t, "--signature-v2", "ls", "s3://"+b); code == 0 || !strings.Contains(errs, "403 (AccessDenied)") {
			t.Errorf("s3cmd --signature-v2 ls under the deny policy: exit %d, stderr %q; want 403 AccessDenied", code, errs)
		}

		// SigV4 is untouched: SDK presigned URL, SDK GetObject, s3cmd's default (SigV4) mode.
		st, got = get(t, presignV4(t, sdk, b, "k"))
		wantOK(t, "SigV4 presigned GET under the deny policy", st, got, body)
		if got, err := s3test.GetObject(s3test.Ctx(t), sdk, b, "k"); err != nil {
			t.Errorf("SDK GetObject under the deny policy: %v", err)
		} else {
			equalBytes(t, "SDK GetObject under the deny policy", got, body)
		}
		if errs, code := s3cmdGet(t, b, false); code != 0 {
			t.Errorf("s3cmd (SigV4) get under the deny policy: exit %d, stderr %q", code, errs)
		}

		deletePolicy(t, sdk, b)
		st, got = get(t, u)
		wantOK(t, "SigV2 URL after the policy was removed", st, got, body)
		if errs, code := s3cmdGet(t, b, true); code != 0 {
			t.Errorf("s3cmd --signature-v2 get after the policy was removed: exit %d, stderr %q", code, errs)
		}
	})

	t.Run("DenySigV4", func(t *testing.T) {
		t.Parallel()
		// The mirror image pins the SigV4 value of the key.
		b, u := setup(t, "denyv4")
		putPolicy(t, sdk, b, denyPolicy(b, map[string]string{"s3:signatureversion": "AWS4-HMAC-SHA256"}))
		st, got := get(t, presignV4(t, sdk, b, "k"))
		wantErr(t, "SigV4 presigned GET under a SigV4 deny", st, got, http.StatusForbidden, "AccessDenied")
		_, err := s3test.GetObject(s3test.Ctx(t), sdk, b, "k")
		wantAccessDenied(t, "SDK GetObject under a SigV4 deny", err)
		st, got = get(t, u)
		wantOK(t, "SigV2 URL under a SigV4 deny", st, got, body)
		deletePolicy(t, sdk, b) // the owner's root may always manage the policy
		if _, err := s3test.GetObject(s3test.Ctx(t), sdk, b, "k"); err != nil {
			t.Errorf("SDK GetObject after the policy was removed: %v", err)
		}
	})

	t.Run("DenySigV2QueryOnly", func(t *testing.T) {
		t.Parallel()
		b, u := setup(t, "denyq")
		putPolicy(t, sdk, b, denyPolicy(b, map[string]string{"s3:signatureversion": "AWS", "s3:authType": "REST-QUERY-STRING"}))
		st, got := get(t, u)
		wantErr(t, "SigV2 presigned GET under a REST-QUERY-STRING deny", st, got, http.StatusForbidden, "AccessDenied")
		if errs, code := s3cmdGet(t, b, true); code != 0 {
			t.Errorf("s3cmd --signature-v2 get (REST-HEADER) under a REST-QUERY-STRING deny: exit %d, stderr %q", code, errs)
		}
		st, got = get(t, presignV4(t, sdk, b, "k"))
		wantOK(t, "SigV4 presigned GET under a SigV2 REST-QUERY-STRING deny", st, got, body)
	})

	t.Run("DenySigV2Header", func(t *testing.T) {
		t.Parallel()
		b, u := setup(t, "denyh")
		putPolicy(t, sdk, b, denyPolicy(b, map[string]string{"s3:signatureversion": "AWS", "s3:authType": "REST-HEADER"}))
		if errs, code := s3cmdGet(t, b, true); code == 0 || !strings.Contains(errs, "403") {
			t.Errorf("s3cmd --signature-v2 get under a REST-HEADER deny: exit %d, stderr %q; want 403", code, errs)
		}
		st, got := get(t, u)
		wantOK(t, "SigV2 presigned GET under a SigV2 REST-HEADER deny", st, got, body)
	})

	t.Run("DenySigV2POST", func(t *testing.T) {
		t.Parallel()
		needBoto3(t)
		b, u := setup(t, "denyp")
		p := boto3Post(t, srv, b)
		putPolicy(t, sdk, b, denyPolicy(b, map[string]string{"s3:signatureversion": "AWS", "s3:authType": "POST"}))
		st, _, rb := postForm(t, p, nil, "a.txt", []byte("denied"))
		wantErr(t, "SigV2 POST under a POST deny", st, rb, http.StatusForbidden, "AccessDenied")
		if _, err := s3test.GetObject(s3test.Ctx(t), sdk, b, "up/a.txt"); err == nil {
			t.Errorf("the denied POST stored up/a.txt")
		}
		st, got := get(t, u)
		wantOK(t, "SigV2 presigned GET under a SigV2 POST deny", st, got, body)
		deletePolicy(t, sdk, b)
		st, _, rb = postForm(t, p, nil, "a.txt", []byte("allowed"))
		if st != http.StatusCreated {
			t.Fatalf("SigV2 POST after the policy was removed: status %d; body %s", st, shortBody(rb))
		}
	})
}
