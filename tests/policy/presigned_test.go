package policye2e

import (
	"github.com/postern/postern/internal/s3test"

	"bytes"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// TestPresignedPolicies covers the condition keys that govern presigned
// URLs and browser POST uploads, each on its own bucket of one server.
func TestPresignedPolicies(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	root := sdk(t, srv, clientOpts{})
	hc := httpFrom("")

	t.Run("SignatureAge", func(t *testing.T) {
		t.Parallel()
		b := s3test.NewBucket(t, root, "sigage")
		body := []byte("signature age")
		mustPut(t, root, b, "k", body)
		mustPutPolicy(t, root, b, doc(`{"Sid":"DenyOldPresigned","Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::`+b+`/*",
			"Condition":{"NumericGreaterThan":{"s3:signatureAge":"2000"}}}`))

		signed := time.Now()
		u := presignGet(t, root, b, "k")
		if !strings.Contains(u, "X-Amz-Expires=3600") {
			t.Fatalf("presigned URL %s does not expire in an hour", u)
		}
		wantOK(t, "presigned GET at once", do(t, hc, "GET", u, nil, nil), body)

		// X-Amz-Date has whole seconds: 3.2 s after signing the age is > 3 s.
		time.Sleep(time.Until(signed.Add(3200 * time.Millisecond)))
		r := do(t, hc, "GET", u, nil, nil)
		wantRawDenied(t, "presigned GET after 3 s (URL valid for an hour)", r, denial{action: "s3:GetObject", resource: objARN(b, "k"), why: explicitDenyResource})
		// curl sees the same.
		if r := curl(t, ip1, "GET", u); r.status != http.StatusForbidden || r.code != "AccessDenied" {
			t.Errorf("curl presigned GET after 3 s: got %v, want 403 AccessDenied", r)
		}
		// Header-signed requests have no s3:signatureAge: the rule does not apply.
		mustGet(t, root, b, "k", body)
		// A new URL works again.
		wantOK(t, "freshly presigned GET", do(t, hc, "GET", presignGet(t, root, b, "k"), nil, nil), body)
		// A URL signed 10 minutes ago and valid for an hour is denied at once.
		old := presignAt(t, srv, "GET", b, "k", time.Now().Add(-10*time.Minute), time.Hour)
		wantRawDenied(t, "presigned GET signed 10 minutes ago", do(t, hc, "GET", old, nil, nil), denial{action: "s3:GetObject", resource: objARN(b, "k"), why: explicitDenyResource})
		// Only GetObject is denied: a presigned PUT of the same age passes.
		oldPut := presignAt(t, srv, "PUT", b, "k2", time.Now().Add(-10*time.Minute), time.Hour)
		wantOK(t, "presigned PUT signed 10 minutes ago (rule is for s3:GetObject only)", do(t, hc, "PUT", oldPut, bytes.NewReader(body), nil), nil)

		// Without the policy the old URL works: the denial was the policy's.
		mustDeletePolicy(t, root, b)
		wantOK(t, "presigned GET signed 10 minutes ago, no policy", do(t, hc, "GET", old, nil, nil), body)
		wantOK(t, "presigned GET after 3 s, no policy", do(t, hc, "GET", u, nil, nil), body)
	})

	t.Run("AuthType", func(t *testing.T) {
		t.Parallel()
		b := s3test.NewBucket(t, root, "authtype")
		body := []byte("auth type")
		mustPut(t, root, b, "k", body)
		getURL := presignGet(t, root, b, "k")
		form := boto3PresignPost(t, srv, b, "posted")
		form2 := boto3PresignPost(t, srv, b, "posted-denied")
		// Before the policy both kinds work (so the denials below are the policy's).
		wantOK(t, "presigned GET, no policy", do(t, hc, "GET", getURL, nil, nil), body)
		wantOK(t, "presigned POST upload, no policy", form.upload(t, hc, []byte("posted")), nil)
		mustGet(t, root, b, "posted", []byte("posted"))

		mustPutPolicy(t, root, b, doc(`{"Sid":"HeaderAuthOnly","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::`+b+`/*",
			"Condition":{"StringNotEquals":{"s3:authType":"REST-HEADER"}}}`))

		d := denial{action: "s3:GetObject", resource: objARN(b, "k"), why: explicitDenyResource}
		wantRawDenied(t, "SDK-presigned GET", do(t, hc, "GET", getURL, nil, nil), d)
		wantRawDenied(t, "boto3-presigned GET", do(t, hc, "GET", boto3PresignGet(t, srv, b, "k"), nil, nil), d)
		wantRawDenied(t, "presigned PUT", do(t, hc, "PUT", presignPut(t, root, b, "put-denied"), strings.NewReader("x"), nil),
			denial{action: "s3:PutObject", resource: objARN(b, "put-denied"), why: explicitDenyResource})
		wantRawDenied(t, "boto3 presigned POST upload", form2.upload(t, hc, []byte("posted")),
			denial{action: "s3:PutObject", resource: objARN(b, "posted-denied"), why: explicitDenyResource})
		headMissing(t, root, b, "posted-denied")
		headMissing(t, root, b, "put-denied")

		// The aws CLI's presigned URL (whatever signature version it uses) is a query-string request too.
		out, stderr, code := awsCLI(t, srv, "s3", "presign", "s3://"+b+"/k", "--expires-in", "600")
		if code != 0 {
			t.Fatalf("aws s3 presign: %s", stderr)
		}
		if r := do(t, hc, "GET", strings.TrimSpace(out), nil, nil); r.status != http.StatusForbidden || r.code != "AccessDenied" {
			t.Errorf("aws s3 presign URL: got %v, want 403 AccessDenied", r)
		}

		// Header-signed requests (SDK and CLI) pass.
		mustGet(t, root, b, "k", body)
		mustPut(t, root, b, "sdk-put", []byte("sdk"))
		mustGet(t, root, b, "sdk-put", []byte("sdk"))
		if _, stderr, code := awsCLI(t, srv, "s3api", "head-object", "--bucket", b, "--key", "k"); code != 0 {
			t.Errorf("aws s3api head-object (header-signed): %s", stderr)
		}
	})

	t.Run("UnsignedPayload", func(t *testing.T) {
		t.Parallel()
		b := s3test.NewBucket(t, root, "unsigned")
		// Control: before the policy a presigned PUT works.
		wantOK(t, "presigned PUT, no policy", do(t, hc, "PUT", presignPut(t, root, b, "before"), strings.NewReader("before"), nil), nil)
		mustGet(t, root, b, "before", []byte("before"))

		mustPutPolicy(t, root, b, doc(`{"Sid":"DenyUnsignedPayload","Effect":"Deny","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::`+b+`/*",
			"Condition":{"StringEquals":{"s3:x-amz-content-sha256":"UNSIGNED-PAYLOAD"}}}`))

		wantRawDenied(t, "presigned PUT", do(t, hc, "PUT", presignPut(t, root, b, "presigned"), strings.NewReader("payload"), nil),
			denial{action: "s3:PutObject", resource: objARN(b, "presigned"), why: explicitDenyResource})
		headMissing(t, root, b, "presigned")

		// The SDK over plain HTTP signs the payload's SHA-256: allowed.
		rec := &recorder{}
		signedClient := sdk(t, srv, clientOpts{rec: rec})
		mustPut(t, signedClient, b, "signed", []byte("signed payload"))
		sha := rec.lastHeader("PUT").Get("X-Amz-Content-Sha256")
		if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(sha) {
			t.Errorf("the SDK sent x-amz-content-sha256 %q over HTTP, expected the payload's hash (test premise)", sha)
		}
		mustGet(t, root, b, "signed", []byte("signed payload"))

		// A header-signed PUT that declares UNSIGNED-PAYLOAD is denied as well:
		// the key, not the authentication type, decides.
		req, _ := http.NewRequest("PUT", srv.URL+"/"+b+"/header-unsigned", strings.NewReader("x"))
		req.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
		if err := v4.NewSigner().SignHTTP(ctx(t), aws.Credentials{AccessKeyID: srv.AccessKey, SecretAccessKey: srv.SecretKey},
			req, "UNSIGNED-PAYLOAD", "s3", srv.Region, time.Now()); err != nil {
			t.Fatal(err)
		}
		r := do(t, hc, "PUT", req.URL.String(), strings.NewReader("x"), req.Header)
		wantRawDenied(t, "header-signed PUT with UNSIGNED-PAYLOAD", r, denial{action: "s3:PutObject", resource: objARN(b, "header-unsigned"), why: explicitDenyResource})
		headMissing(t, root, b, "header-unsigned")
		// A presigned GET (also UNSIGNED-PAYLOAD) is not a PutObject: allowed.
		wantOK(t, "presigned GET", do(t, hc, "GET", presignGet(t, root, b, "signed"), nil, nil), []byte("signed payload"))
	})

	t.Run("Revocation", func(t *testing.T) {
		t.Parallel()
		b := s3test.NewBucket(t, root, "revoke")
		body := []byte("revocable")
		mustPut(t, root, b, "shared.txt", body)
		u := boto3PresignGet(t, srv, b, "shared.txt")
		wantOK(t, "curl presigned GET", curl(t, ip1, "GET", u), body)

		deny := doc(`{"Sid":"Revoke","Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::` + b + `/shared.txt"}`)
		mustPutPolicy(t, root, b, deny)
		r := curl(t, ip1, "GET", u)
		if r.status != http.StatusForbidden || r.code != "AccessDenied" {
			t.Fatalf("curl presigned GET right after the Deny policy: got %v, want 403 AccessDenied", r)
		}
		checkDenialMessage(t, "revoked URL", r.msg, denial{action: "s3:GetObject", resource: objARN(b, "shared.txt"), why: explicitDenyResource})
		// Other objects are untouched by the statement.
		mustPut(t, root, b, "other.txt", body)
		wantOK(t, "presigned GET of another object", do(t, hc, "GET", presignGet(t, root, b, "other.txt"), nil, nil), body)

		mustDeletePolicy(t, root, b)
		wantOK(t, "curl presigned GET after the policy is deleted", curl(t, ip1, "GET", u), body)

		// Replacing the policy (not only deleting it) takes effect at once too.
		mustPutPolicy(t, root, b, deny)
		if r := do(t, hc, "GET", u, nil, nil); r.status != http.StatusForbidden {
			t.Fatalf("presigned GET after the Deny policy is put again: got %v, want 403", r)
		}
		mustPutPolicy(t, root, b, doc(`{"Sid":"RevokeOther","Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::`+b+`/other.txt"}`))
		wantOK(t, "presigned GET after the policy is replaced by one for another object", do(t, hc, "GET", u, nil, nil), body)
	})
}
