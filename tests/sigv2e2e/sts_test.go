package sigv2e2e

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/postern/postern/internal/s3test"
	"github.com/postern/postern/internal/testserver"
)

// TestSigV2TemporaryCredentials: SigV2 requests signed with temporary
// credentials from `aws sts get-session-token` carry x-amz-security-token
// (query, header or POST field) and work; without or with a changed token
// they are refused.
func TestSigV2TemporaryCredentials(t *testing.T) {
	t.Parallel()
	aws := needTool(t, "aws")
	needBoto3(t)
	srv := testserver.Start(t, testserver.Options{})

	out, errs, code := run(t, clientEnv(srv), nil, aws, "sts", "get-session-token", "--endpoint-url", srv.URL, "--output", "json")
	if code != 0 {
		t.Fatalf("aws sts get-session-token: exit %d: %s", code, errs)
	}
	var sess struct {
		Credentials struct{ AccessKeyId, SecretAccessKey, SessionToken string }
	}
	if err := json.Unmarshal([]byte(out), &sess); err != nil || sess.Credentials.SessionToken == "" {
		t.Fatalf("aws sts get-session-token printed %q (%v), want Credentials with a SessionToken", out, err)
	}
	c := sess.Credentials

	sdk := sdkClient(srv)
	b := s3test.NewBucket(t, sdk, "tempv2")
	body := s3test.RandBytes(21, 40_000)
	s3test.Put(t, sdk, b, "k", body)

	var got struct {
		URL, Body string
		Post      presignedPost
	}
	python(t, srv, boto3Client+`
u = s3.generate_presigned_url('get_object', Params={'Bucket': a['bucket'], 'Key': 'k'}, ExpiresIn=600)
s3.put_object(Bucket=a['bucket'], Key='hdr.txt', Body=b'temporary SigV2 header auth')
body = s3.get_object(Bucket=a['bucket'], Key='hdr.txt')['Body'].read().decode()
post = s3.generate_presigned_post(a['bucket'], 'up/${filename}', Fields={'success_action_status': '201'},
    Conditions=[{'success_action_status': '201'}], ExpiresIn=600)
print(json.dumps({'URL': u, 'Body': body, 'Post': post}))
`, botoArgs(srv, map[string]any{"bucket": b, "ak": c.AccessKeyId, "sk": c.SecretAccessKey, "token": c.SessionToken}), &got)

	t.Run("PresignedGet", func(t *testing.T) {
		wantSigV2URL(t, "boto3 presign with a session token", got.URL)
		pu, _ := url.Parse(got.URL)
		if pu.Query().Get("x-amz-security-token") != c.SessionToken {
			t.Fatalf("boto3 URL %q lacks x-amz-security-token", got.URL)
		}
		st, rb := get(t, got.URL)
		wantOK(t, "SigV2 presigned GET with temporary credentials", st, rb, body)
	})
	t.Run("TokenMissingOrChanged", func(t *testing.T) {
		pu, _ := url.Parse(got.URL)
		q := pu.Query()
		q.Del("x-amz-security-token")
		pu.RawQuery = q.Encode()
		// As AWS: a temporary key without its token is unknown; a changed token is invalid.
		want := map[string]struct {
			status int
			code   string
		}{
			"without the token":    {http.StatusForbidden, "InvalidAccessKeyId"},
			"with a changed token": {http.StatusBadRequest, "InvalidToken"},
		}
		for what, u := range map[string]string{
			"without the token": pu.String(),
			"with a changed token": setQuery(t, got.URL, "x-amz-security-token",
				c.SessionToken[:len(c.SessionToken)-4]+"AAAA"),
		} {
			st, rb := get(t, u)
			var e s3test.ErrorBody
			_ = xmlUnmarshal(rb, &e)
			if st != want[what].status || e.Code != want[what].code {
				t.Errorf("SigV2 URL %s: %d %s (%s), want %d %s", what, st, e.Code, e.Message, want[what].status, want[what].code)
			}
		}
	})
	t.Run("HeaderAuth", func(t *testing.T) {
		if got.Body != "temporary SigV2 header auth" {
			t.Errorf("boto3 SigV2 header put/get with a session token read %q", got.Body)
		}
		sc := newS3cmd(t, srv, srv.Addr, c.AccessKeyId, c.SecretAccessKey, "access_token = "+c.SessionToken)
		if out := sc.ok(t, "--signature-v2", "ls", "s3://"+b); !strings.Contains(out, "s3://"+b+"/k") {
			t.Errorf("s3cmd --signature-v2 ls with a session token: %q", out)
		}
	})
	t.Run("POST", func(t *testing.T) {
		if got.Post.Fields["x-amz-security-token"] != c.SessionToken || got.Post.Fields["signature"] == "" {
			t.Fatalf("boto3 POST fields %v: want a SigV2 form with x-amz-security-token", got.Post.Fields)
		}
		st, _, rb := postForm(t, got.Post, nil, "t.txt", []byte("posted with temporary credentials"))
		if st != http.StatusCreated {
			t.Fatalf("SigV2 POST with temporary credentials: status %d; body %s", st, shortBody(rb))
		}
	})
}

// TestSigV2TemporaryCredentialsExpiry: a SigV2 URL signed with temporary
// credentials stops working when the credentials expire, even though its own
// Expires is far ahead.
func TestSigV2TemporaryCredentialsExpiry(t *testing.T) {
	t.Parallel()
	needBoto3(t)
	// --sts-min-duration lowers STS's 900-second floor so a session can end
	// within the test.
	stdout, stderr, _ := run(t, os.Environ(), nil, testserver.Binary(t), "server", "-h")
	if !strings.Contains(stdout+stderr, "sts-min-duration") {
		t.Fatal("postern server has no --sts-min-duration flag")
	}
	srv := testserver.Start(t, testserver.Options{Args: []string{"--sts-min-duration", "1s"}})
	sdk := sdkClient(srv)
	b := s3test.NewBucket(t, sdk, "tempexp")
	body := []byte("readable while the session lasts\n")
	s3test.Put(t, sdk, b, "k", body)
	// The aws CLI checks DurationSeconds >= 900 itself, so boto3 (with
	// parameter validation off) asks for the 3-second session.
	var got struct {
		URL        string
		Expiration time.Time
		Error      string
	}
	python(t, srv, `
import boto3
from botocore.config import Config
from botocore.exceptions import ClientError
try:
    sts = boto3.client('sts', endpoint_url=a['endpoint'], region_name=a['region'], aws_access_key_id=a['ak'],
        aws_secret_access_key=a['sk'], config=Config(parameter_validation=False, retries={'max_attempts': 1}))
    c = sts.get_session_token(DurationSeconds=3)['Credentials']
except ClientError as e:
    print(json.dumps({'Error': str(e)}))
    sys.exit(0)
a.update({'ak': c['AccessKeyId'], 'sk': c['SecretAccessKey'], 'token': c['SessionToken']})
`+boto3Client+`
u = s3.generate_presigned_url('get_object', Params={'Bucket': a['bucket'], 'Key': 'k'}, ExpiresIn=3600)
print(json.dumps({'URL': u, 'Expiration': c['Expiration'].isoformat()}))
`, botoArgs(srv, map[string]any{"bucket": b}), &got)
	if got.Error != "" {
		t.Fatalf("GetSessionToken(DurationSeconds=3) on a --sts-min-duration 1s server: %s", got.Error)
	}
	wantSigV2URL(t, "boto3 presign with a session token", got.URL)
	if st, rb := get(t, got.URL); time.Now().Before(got.Expiration) {
		wantOK(t, "SigV2 URL while the session lasts", st, rb, body)
	}
	time.Sleep(time.Until(got.Expiration.Add(1200 * time.Millisecond)))
	st, rb := get(t, got.URL)
	wantErr(t, "SigV2 URL after the session expired", st, rb, http.StatusForbidden, "ExpiredToken")
}
