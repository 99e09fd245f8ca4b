package policye2e

import (
	"encoding/json"
	"net/http"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/postern/postern/internal/s3test"
	"github.com/postern/postern/internal/testserver"
)

// The policies of issue 5 §5, verbatim (from the S3 on Outposts and IAM
// documentation).
const (
	outpostID      = "op-01ac5d28a6a232904"
	outpostAccount = "111122223333"
	outpostBucket  = "example-outpost-bucket"

	policySignatureAge = `{"Version":"2012-10-17","Statement":[{"Sid":"Deny a presigned URL request if the signature is more than 10 minutes old","Effect":"Deny","Principal":{"AWS":"444455556666"},"Action":"s3-outposts:*","Resource":"arn:aws:s3-outposts:us-east-1:111122223333:outpost/op-01ac5d28a6a232904/bucket/example-outpost-bucket/object/*","Condition":{"NumericGreaterThan":{"s3-outposts:signatureAge":600000},"StringEquals":{"s3-outposts:authType":"REST-QUERY-STRING"}}}]}`
	policyHeaderOnly   = `{"Version":"2012-10-17","Statement":[{"Sid":"Allow only requests that use the Authorization header for request authentication. Deny presigned URL requests.","Effect":"Deny","Principal":{"AWS":"111122223333"},"Action":"s3-outposts:*","Resource":"arn:aws:s3-outposts:us-east-1:111122223333:outpost/op-01ac5d28a6a232904/bucket/example-outpost-bucket/object/*","Condition":{"StringNotEquals":{"s3-outposts:authType":"REST-HEADER"}}}]}`
	policyUnsigned     = `{"Version":"2012-10-17","Statement":[{"Sid":"Deny uploads with unsigned payloads.","Effect":"Deny","Principal":{"AWS":"111122223333"},"Action":"s3-outposts:*","Resource":"arn:aws:s3-outposts:us-east-1:111122223333:outpost/op-01ac5d28a6a232904/bucket/example-outpost-bucket/object/*","Condition":{"StringEquals":{"s3-outposts:x-amz-content-sha256":"UNSIGNED-PAYLOAD"}}}]}`
	stmtNetwork        = `{"Sid":"NetworkRestrictionForIAMPrincipal","Effect":"Deny","Action":"*","Resource":"*","Condition":{"NotIpAddressIfExists":{"aws:SourceIp":"127.0.0.1/32"},"BoolIfExists":{"aws:ViaAWSService":"false"}}}`
	stmtNetworkEmpty   = `{"Sid":"NetworkRestrictionForIAMPrincipal","Effect":"Deny","Action":"","Resource":"","Condition":{"NotIpAddressIfExists":{"aws:SourceIp":"127.0.0.1/32"},"BoolIfExists":{"aws:ViaAWSService":"false"}}}`
)

// createAccount creates an account with `postern admin account create` and
// returns its root's credentials.
func createAccount(t *testing.T, srv *testserver.Server, id string) aws.Credentials {
	t.Helper()
	out, errOut, code := run(t, toolEnv(srv), testserver.Binary(t), "admin", "account", "create", "--id", id, "--endpoint-url", srv.URL)
	if code != 0 {
		t.Fatalf("postern admin account create --id %s: exit %d: %s", id, code, errOut)
	}
	var res struct{ AccountId, AccessKeyId, SecretAccessKey string }
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.AccountId != id || res.AccessKeyId == "" {
		t.Fatalf("postern admin account create output %q: %v", out, err)
	}
	return aws.Credentials{AccessKeyID: res.AccessKeyId, SecretAccessKey: res.SecretAccessKey}
}

// serverHasFlag reports whether `postern server` knows --name.
func serverHasFlag(t testing.TB, name string) bool {
	t.Helper()
	out, _ := exec.Command(testserver.Binary(t), "server", "-h").CombinedOutput()
	return strings.Contains(string(out), "  -"+name+" ")
}

// hasCommand reports whether `postern args... -h` is a known command.
func hasCommand(t testing.TB, args ...string) bool {
	t.Helper()
	out, _ := exec.Command(testserver.Binary(t), append(args, "-h")...).CombinedOutput()
	return !strings.Contains(string(out), "unknown command")
}

var accountRe = regexp.MustCompile(`arn:aws:iam::([0-9]{12}):root`)

func TestOutpostsPolicies(t *testing.T) {
	t.Parallel()
	args := []string{"--outpost-id", outpostID}
	verbatim := serverHasFlag(t, "account-id")
	if verbatim {
		args = append(args, "--account-id", outpostAccount)
	}
	srv := startServer(t, args...)
	root := sdk(t, srv, clientOpts{})
	hc := httpFrom("")
	b := outpostBucket
	s3test.CreateBucket(t, root, b)
	body := []byte("on the outpost")
	mustPut(t, root, b, "k", body)

	// The root's account, from how a denial names it.
	mustPutPolicy(t, root, b, doc(`{"Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::`+b+`/k"}`))
	_, err := s3test.GetObject(ctx(t), root, b, "k")
	m := accountRe.FindStringSubmatch(func() string { _, _, msg := s3test.APIErr(err); return msg }())
	if m == nil {
		t.Fatalf("cannot tell the root's account from %v", err)
	}
	account := m[1]
	mustDeletePolicy(t, root, b)
	if verbatim && account != outpostAccount {
		t.Fatalf("server started with --account-id %s, but its root is of account %s", outpostAccount, account)
	}
	// Without --account-id (issue 4) the policies name the server's account
	// instead of 111122223333; everything else is verbatim.
	adapt := func(p string) string { return strings.ReplaceAll(p, outpostAccount, account) }
	if !verbatim {
		t.Logf("postern server has no --account-id yet (issue 4): using the root's account %s in place of %s", account, outpostAccount)
	}
	d := func(action, key string) denial {
		return denial{action: action, resource: objARN(b, key), why: explicitDenyResource}
	}

	t.Run("accepted verbatim", func(t *testing.T) {
		for _, p := range []string{policySignatureAge, policyHeaderOnly, policyUnsigned} {
			if _, stderr, code := awsCLI(t, srv, "s3api", "put-bucket-policy", "--bucket", b, "--policy", p); code != 0 {
				t.Errorf("put-bucket-policy %s: %s", p, stderr)
				continue
			}
			out, stderr, code := awsCLI(t, srv, "s3api", "get-bucket-policy", "--bucket", b)
			var got struct{ Policy string }
			if code != 0 || json.Unmarshal([]byte(out), &got) != nil || got.Policy != p {
				t.Errorf("get-bucket-policy: %q %s; want the document as put", out, stderr)
			}
		}
		mustDeletePolicy(t, root, b)
	})

	t.Run("signature older than 10 minutes", func(t *testing.T) {
		old := presignAt(t, srv, "GET", b, "k", time.Now().Add(-11*time.Minute), time.Hour)
		oldPut := presignAt(t, srv, "PUT", b, "old-put", time.Now().Add(-11*time.Minute), time.Hour)
		// As written, the statement is about account 444455556666 only: the
		// bucket owner's own 11-minute-old URLs still work.
		mustPutPolicy(t, root, b, adapt(policySignatureAge))
		wantOK(t, "owner's presigned GET signed 11 minutes ago", do(t, hc, "GET", old, nil, nil), body)

		// The same statement for the owner's account shows that each
		// s3-outposts name (action, ARN, keys) is understood.
		mine := strings.ReplaceAll(adapt(policySignatureAge), "444455556666", account)
		mustPutPolicy(t, root, b, mine)
		wantRawDenied(t, "presigned GET signed 11 minutes ago", do(t, hc, "GET", old, nil, nil), d("s3:GetObject", "k"))
		wantRawDenied(t, "presigned PUT signed 11 minutes ago", do(t, hc, "PUT", oldPut, strings.NewReader("x"), nil), d("s3:PutObject", "old-put"))
		headMissing(t, root, b, "old-put")
		wantOK(t, "presigned GET signed 9 minutes ago", do(t, hc, "GET", presignAt(t, srv, "GET", b, "k", time.Now().Add(-9*time.Minute), time.Hour), nil, nil), body)
		wantOK(t, "fresh presigned GET", do(t, hc, "GET", presignGet(t, root, b, "k"), nil, nil), body)
		mustGet(t, root, b, "k", body) // header-signed: no signature age
		// Another outpost's ARN does not cover this bucket.
		mustPutPolicy(t, root, b, strings.ReplaceAll(mine, outpostID, "op-00000000000000000"))
		wantOK(t, "old presigned GET, policy for another outpost", do(t, hc, "GET", old, nil, nil), body)
		mustDeletePolicy(t, root, b)

		// The statement's own principal: the root of account 444455556666.
		if !verbatim || !hasCommand(t, "admin", "account", "create") {
			t.Fatal("postern lacks `admin account create` or `server --account-id`")
		}
		other := createAccount(t, srv, "444455556666")
		otherClient := sdk(t, srv, clientOpts{ak: other.AccessKeyID, sk: other.SecretAccessKey})
		otherOld := presignAtAs(t, srv, other, "GET", b, "k", time.Now().Add(-11*time.Minute), time.Hour)
		otherFresh := presignGet(t, otherClient, b, "k")
		otherWho := regexp.MustCompile(`^User: arn:aws:iam::444455556666:root is not authorized`)

		// The verbatim policy alone grants 444455556666 nothing: fresh URLs
		// are denied for want of an Allow, old ones by the explicit Deny.
		mustPutPolicy(t, root, b, policySignatureAge)
		wantRawDenied(t, "444455556666's URL signed 11 minutes ago", do(t, hc, "GET", otherOld, nil, nil),
			denial{who: otherWho, action: "s3:GetObject", resource: objARN(b, "k"), why: explicitDenyResource})
		r := do(t, hc, "GET", otherFresh, nil, nil)
		wantRawDenied(t, "444455556666's fresh URL, no grant", r, denial{who: otherWho, action: "s3:GetObject", resource: objARN(b, "k")})
		if strings.Contains(r.msg, "explicit deny") {
			t.Errorf("444455556666's fresh URL is denied for lack of a grant, but the message says %q", r.msg)
		}

		// With a cross-account grant added, 444455556666 reads — except with
		// a signature older than 10 minutes.
		var p struct {
			Version   string
			Statement []json.RawMessage
		}
		if err := json.Unmarshal([]byte(policySignatureAge), &p); err != nil {
			t.Fatal(err)
		}
		p.Statement = append(p.Statement, json.RawMessage(`{"Sid":"PartnerAccess","Effect":"Allow","Principal":{"AWS":"444455556666"},"Action":["s3:GetObject","s3:PutObject"],"Resource":"arn:aws:s3:::`+b+`/*"}`))
		granted, _ := json.Marshal(p)
		mustPutPolicy(t, root, b, string(granted))
		wantOK(t, "444455556666's fresh presigned GET", do(t, hc, "GET", otherFresh, nil, nil), body)
		mustGet(t, otherClient, b, "k", body)
		wantOK(t, "444455556666's presigned GET signed 9 minutes ago",
			do(t, hc, "GET", presignAtAs(t, srv, other, "GET", b, "k", time.Now().Add(-9*time.Minute), time.Hour), nil, nil), body)
		wantRawDenied(t, "444455556666's presigned GET signed 11 minutes ago", do(t, hc, "GET", otherOld, nil, nil),
			denial{who: otherWho, action: "s3:GetObject", resource: objARN(b, "k"), why: explicitDenyResource})
		otherOldPut := presignAtAs(t, srv, other, "PUT", b, "partner-old", time.Now().Add(-11*time.Minute), time.Hour)
		wantRawDenied(t, "444455556666's presigned PUT signed 11 minutes ago", do(t, hc, "PUT", otherOldPut, strings.NewReader("x"), nil),
			denial{who: otherWho, action: "s3:PutObject", resource: objARN(b, "partner-old"), why: explicitDenyResource})
		headMissing(t, root, b, "partner-old")
		mustPut(t, otherClient, b, "partner-new", []byte("p"))
		// And the owner's old URL still works.
		wantOK(t, "owner's presigned GET signed 11 minutes ago", do(t, hc, "GET", old, nil, nil), body)
		// The grant covers objects only: no listing for 444455556666.
		if _, err := otherClient.ListObjectsV2(ctx(t), &s3.ListObjectsV2Input{Bucket: aws.String(b)}); err == nil {
			t.Errorf("444455556666 listed the bucket without a grant for s3:ListBucket")
		}
		mustDeletePolicy(t, root, b)
		_, err := s3test.GetObject(ctx(t), otherClient, b, "k")
		wantDenied(t, "444455556666's GetObject after the grant is deleted", err, denial{who: otherWho, action: "s3:GetObject", resource: objARN(b, "k")})
	})

	t.Run("header authentication only", func(t *testing.T) {
		getURL := presignGet(t, root, b, "k")
		form := boto3PresignPost(t, srv, b, "posted")
		mustPutPolicy(t, root, b, adapt(policyHeaderOnly))
		wantRawDenied(t, "presigned GET", do(t, hc, "GET", getURL, nil, nil), d("s3:GetObject", "k"))
		wantRawDenied(t, "presigned PUT", do(t, hc, "PUT", presignPut(t, root, b, "p"), strings.NewReader("x"), nil), d("s3:PutObject", "p"))
		wantRawDenied(t, "boto3 presigned POST upload", form.upload(t, hc, []byte("x")), d("s3:PutObject", "posted"))
		headMissing(t, root, b, "posted")
		headMissing(t, root, b, "p")
		mustGet(t, root, b, "k", body)
		mustPut(t, root, b, "header", []byte("h"))
		mustGet(t, root, b, "header", []byte("h"))

		// Control: the same policy for another outpost leaves presigned URLs working.
		mustPutPolicy(t, root, b, strings.ReplaceAll(adapt(policyHeaderOnly), outpostID, "op-00000000000000000"))
		wantOK(t, "presigned GET, policy for another outpost", do(t, hc, "GET", getURL, nil, nil), body)
		mustDeletePolicy(t, root, b)
	})

	t.Run("no unsigned payloads", func(t *testing.T) {
		putURL := presignPut(t, root, b, "unsigned")
		mustPutPolicy(t, root, b, adapt(policyUnsigned))
		wantRawDenied(t, "presigned PUT", do(t, hc, "PUT", putURL, strings.NewReader("x"), nil), d("s3:PutObject", "unsigned"))
		headMissing(t, root, b, "unsigned")
		rec := &recorder{}
		mustPut(t, sdk(t, srv, clientOpts{rec: rec}), b, "signed", []byte("signed"))
		if sha := rec.lastHeader("PUT").Get("X-Amz-Content-Sha256"); len(sha) != 64 {
			t.Errorf("SDK PUT sent x-amz-content-sha256 %q, expected a payload hash (test premise)", sha)
		}
		mustGet(t, root, b, "signed", []byte("signed"))
		mustDeletePolicy(t, root, b)
		wantOK(t, "presigned PUT after the policy is deleted", do(t, hc, "PUT", putURL, strings.NewReader("x"), nil), nil)
	})

	t.Run("identity policy NetworkRestrictionForIAMPrincipal", func(t *testing.T) {
		testNetworkRestriction(t, srv)
	})
}

// testNetworkRestriction gives an IAM user the §5 identity-policy statement
// (plus an Allow for S3, without which the user could do nothing anyway).
func testNetworkRestriction(t *testing.T, srv *testserver.Server) {
	iamCLI := func(args ...string) (string, string, int) {
		return awsCLI(t, srv, append([]string{"iam"}, args...)...)
	}
	out, stderr, code := iamCLI("create-user", "--user-name", "net-user")
	if code != 0 {
		t.Fatalf("aws iam create-user: %s", strings.TrimSpace(stderr))
	}
	_ = out
	// The statement with empty Action and Resource is malformed.
	_, stderr, code = iamCLI("put-user-policy", "--user-name", "net-user", "--policy-name", "empty",
		"--policy-document", doc(stmtNetworkEmpty))
	ec, msg := cliError(stderr)
	if code == 0 || ec != "MalformedPolicyDocument" {
		t.Errorf("put-user-policy with \"Action\": \"\" and \"Resource\": \"\": exit %d %q, want MalformedPolicyDocument", code, stderr)
	} else if lm := strings.ToLower(msg); !strings.Contains(lm, "action") && !strings.Contains(lm, "resource") {
		t.Errorf("MalformedPolicyDocument message %q does not say that Action/Resource is empty", msg)
	}

	pol := doc(`{"Sid":"AllowS3","Effect":"Allow","Action":"s3:*","Resource":"*"}`, stmtNetwork)
	if _, stderr, code := iamCLI("put-user-policy", "--user-name", "net-user", "--policy-name", "network", "--policy-document", pol); code != 0 {
		t.Fatalf("put-user-policy with the verbatim statement: %s", stderr)
	}
	out, stderr, code = iamCLI("create-access-key", "--user-name", "net-user")
	if code != 0 {
		t.Fatalf("create-access-key: %s", stderr)
	}
	var key struct {
		AccessKey struct{ AccessKeyId, SecretAccessKey string }
	}
	if err := json.Unmarshal([]byte(out), &key); err != nil || key.AccessKey.AccessKeyId == "" {
		t.Fatalf("create-access-key output %q: %v", out, err)
	}
	root := sdk(t, srv, clientOpts{})
	b := s3test.NewBucket(t, root, "iamnet")
	body := []byte("user data")
	mustPut(t, root, b, "k", body)

	user1 := sdk(t, srv, clientOpts{ip: ip1, ak: key.AccessKey.AccessKeyId, sk: key.AccessKey.SecretAccessKey})
	user2 := sdk(t, srv, clientOpts{ip: ip2, ak: key.AccessKey.AccessKeyId, sk: key.AccessKey.SecretAccessKey})
	mustGet(t, user1, b, "k", body)
	mustPut(t, user1, b, "from-1", body)
	_, err := s3test.GetObject(ctx(t), user2, b, "k")
	wantDenied(t, "the user's GetObject from 127.0.0.2", err, denial{
		who:    regexp.MustCompile(`^User: arn:aws:iam::[0-9]{12}:user/net-user is not authorized`),
		action: "s3:GetObject", resource: objARN(b, "k"), why: "with an explicit deny in an identity-based policy",
	})
	if err := putObject(user2, t, b, "from-2", body); err == nil {
		t.Errorf("the user's PutObject from 127.0.0.2 succeeded, want AccessDenied")
	}
	// The user's presigned URL is governed the same way.
	u := presignGet(t, user1, b, "k")
	wantOK(t, "user's presigned GET from 127.0.0.1", curl(t, ip1, "GET", u), body)
	if r := curl(t, ip2, "GET", u); r.status != http.StatusForbidden {
		t.Errorf("user's presigned GET from 127.0.0.2: got %v, want 403", r)
	}
	// The root is not limited by the user's policy.
	mustGet(t, sdk(t, srv, clientOpts{ip: ip2}), b, "k", body)
}
