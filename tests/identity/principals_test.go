package identity

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/postern/postern/internal/s3test"
	"github.com/postern/postern/internal/testserver"
)

// newUser creates an IAM user with an access key and no policies.
func newUser(t *testing.T, s *testserver.Server, name string) creds {
	t.Helper()
	c := s3test.Ctx(t)
	root := iamClient(s, rootCreds(s))
	if _, err := root.CreateUser(c, &awsiam.CreateUserInput{UserName: aws.String(name)}); err != nil {
		t.Fatal(err)
	}
	k, err := root.CreateAccessKey(c, &awsiam.CreateAccessKeyInput{UserName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	return creds{aws.ToString(k.AccessKey.AccessKeyId), aws.ToString(k.AccessKey.SecretAccessKey), ""}
}

// TestAccountPrincipalDelegates: a bucket policy or role trust policy that
// names an account delegates to that account; an IAM user of the account is
// allowed only if its own identity policies allow too (AWS's rule). Checked
// through every door: signed requests, session tokens, presigned URLs, browser
// POST uploads and AssumeRole.
func TestAccountPrincipalDelegates(t *testing.T) {
	s := testserver.Start(t, testserver.Options{})
	c := s3test.Ctx(t)
	root := iamClient(s, rootCreds(s))
	rs3 := s3Client(s, rootCreds(s))
	const bucket = "acct-shared"
	if _, err := rs3.CreateBucket(c, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	if _, err := rs3.PutObject(c, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("doc.txt"), Body: strings.NewReader("secret")}); err != nil {
		t.Fatal(err)
	}
	for _, principal := range []string{`"000000000000"`, `"arn:aws:iam::000000000000:root"`} {
		pol := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":` + principal + `},"Action":["s3:GetObject","s3:PutObject"],"Resource":"arn:aws:s3:::` + bucket + `/*"}]}`
		if _, err := rs3.PutBucketPolicy(c, &s3.PutBucketPolicyInput{Bucket: aws.String(bucket), Policy: aws.String(pol)}); err != nil {
			t.Fatal(err)
		}
		name := "nopol" + string(principal[len(principal)-2])
		u := newUser(t, s, name)
		us3 := s3Client(s, u)

		// A signed request.
		_, err := us3.GetObject(c, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("doc.txt")})
		wantCode(t, err, "AccessDenied")
		_, err = us3.PutObject(c, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("w.txt"), Body: strings.NewReader("x")})
		wantCode(t, err, "AccessDenied")

		// GetSessionToken credentials of the same user.
		st, err := stsClient(s, u).GetSessionToken(c, &sts.GetSessionTokenInput{})
		if err != nil {
			t.Fatal(err)
		}
		tmp := creds{aws.ToString(st.Credentials.AccessKeyId), aws.ToString(st.Credentials.SecretAccessKey), aws.ToString(st.Credentials.SessionToken)}
		_, err = s3Client(s, tmp).GetObject(c, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("doc.txt")})
		wantCode(t, err, "AccessDenied")

		// A presigned GET and a browser POST upload signed by the user.
		ps, err := s3.NewPresignClient(us3).PresignGetObject(c, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("doc.txt")}, s3.WithPresignExpires(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if code, body := get(t, s, ps.URL); code != http.StatusForbidden || !strings.Contains(body, "AccessDenied") {
			t.Fatalf("%s: presigned GET by a user without policies: %d %s", principal, code, body)
		}
		pp, err := s3.NewPresignClient(us3).PresignPostObject(c, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("posted.txt")})
		if err != nil {
			t.Fatal(err)
		}
		if code, body := postUpload(t, s, pp.URL, pp.Values, []byte("posted")); code != http.StatusForbidden || !strings.Contains(body, "AccessDenied") {
			t.Fatalf("%s: POST upload by a user without policies: %d %s", principal, code, body)
		}

		// Once the user's own policy allows, the same doors open.
		if _, err := root.PutUserPolicy(c, &awsiam.PutUserPolicyInput{UserName: aws.String(name), PolicyName: aws.String("rw"),
			PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":"arn:aws:s3:::` + bucket + `/*"}]}`)}); err != nil {
			t.Fatal(err)
		}
		if _, err := us3.GetObject(c, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("doc.txt")}); err != nil {
			t.Fatalf("with an identity allow: %v", err)
		}
		if code, body := get(t, s, ps.URL); code != http.StatusOK || body != "secret" {
			t.Fatalf("presigned GET with an identity allow: %d %s", code, body)
		}
		if code, body := postUpload(t, s, pp.URL, pp.Values, []byte("posted")); code != http.StatusNoContent {
			t.Fatalf("POST upload with an identity allow: %d %s", code, body)
		}
	}

	// A bucket policy naming the user itself grants on its own.
	direct := newUser(t, s, "named")
	pol := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:user/named"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::` + bucket + `/*"}]}`
	if _, err := rs3.PutBucketPolicy(c, &s3.PutBucketPolicyInput{Bucket: aws.String(bucket), Policy: aws.String(pol)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s3Client(s, direct).GetObject(c, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("doc.txt")}); err != nil {
		t.Fatalf("bucket policy naming the user: %v", err)
	}
}

// TestAssumeRoleNeedsTrust: the role's trust policy must allow the caller.
// The console's default template (the account's root) lets only users whose
// own policies allow sts:AssumeRole on the role assume it; an identity allow
// is never enough when the trust policy names someone else.
func TestAssumeRoleNeedsTrust(t *testing.T) {
	s := testserver.Start(t, testserver.Options{})
	c := s3test.Ctx(t)
	root := iamClient(s, rootCreds(s))
	mkRole := func(name, principal string) *string {
		trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + principal + `"},"Action":"sts:AssumeRole"}]}`
		if _, err := root.CreateRole(c, &awsiam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(trust)}); err != nil {
			t.Fatal(err)
		}
		// The role can rewrite IAM: assuming it would be a privilege escalation.
		if _, err := root.PutRolePolicy(c, &awsiam.PutRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String("admin"),
			PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`)}); err != nil {
			t.Fatal(err)
		}
		return aws.String("arn:aws:iam::000000000000:role/" + name)
	}
	acctRole := mkRole("console-default", "arn:aws:iam::000000000000:root")
	otherRole := mkRole("for-someone-else", "arn:aws:iam::000000000000:user/someone-else")
	namedRole := mkRole("for-carol", "arn:aws:iam::000000000000:user/carol")

	mallory := newUser(t, s, "mallory") // no policies at all
	_, err := stsClient(s, mallory).AssumeRole(c, &sts.AssumeRoleInput{RoleArn: acctRole, RoleSessionName: aws.String("escalate")})
	wantCode(t, err, "AccessDenied")
	// The aws CLI sees the same refusal.
	if _, err := runAWS(t, s, mallory, "sts", "assume-role", "--role-arn", *acctRole, "--role-session-name", "cli"); err == nil || !strings.Contains(err.Error(), "AccessDenied") {
		t.Fatalf("aws sts assume-role by a user without policies: %v", err)
	}

	// A user whose policy allows sts:AssumeRole on both roles: the
	// account-trusting role yes, the role trusting someone else no.
	dev := newUser(t, s, "dev")
	if _, err := root.PutUserPolicy(c, &awsiam.PutUserPolicyInput{UserName: aws.String("dev"), PolicyName: aws.String("assume"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":["` + *acctRole + `","` + *otherRole + `"]}]}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := stsClient(s, dev).AssumeRole(c, &sts.AssumeRoleInput{RoleArn: acctRole, RoleSessionName: aws.String("ok")}); err != nil {
		t.Fatalf("account-trusting role with an identity allow: %v", err)
	}
	_, err = stsClient(s, dev).AssumeRole(c, &sts.AssumeRoleInput{RoleArn: otherRole, RoleSessionName: aws.String("no")})
	wantCode(t, err, "AccessDenied")

	// A trust policy naming the user grants without a policy of its own.
	carol := newUser(t, s, "carol")
	if _, err := stsClient(s, carol).AssumeRole(c, &sts.AssumeRoleInput{RoleArn: namedRole, RoleSessionName: aws.String("named")}); err != nil {
		t.Fatalf("trust policy naming the user: %v", err)
	}
	_, err = stsClient(s, carol).AssumeRole(c, &sts.AssumeRoleInput{RoleArn: acctRole, RoleSessionName: aws.String("no")})
	wantCode(t, err, "AccessDenied")
}

// postUpload sends a browser-style multipart POST with the given fields and
// a file, returning the status and body.
func postUpload(t *testing.T, s *testserver.Server, url string, fields map[string]string, file []byte) (int, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		if err := mw.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	fw, err := mw.CreateFormFile("file", "f.txt")
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(file)
	mw.Close()
	req, err := http.NewRequest("POST", url, &buf)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := s.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
