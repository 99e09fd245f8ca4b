package sigv2e2e

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/postern/postern/internal/s3test"
	"github.com/postern/postern/internal/testserver"
)

// TestSigV2Disabled: a server started with --sigv2=false refuses every SigV2
// request (presigned, header, POST; valid or not) with 400 InvalidRequest
// saying SigV2 is disabled and how to switch the client to SigV4, and the
// advice it gives works; SigV4 keeps working.
func TestSigV2Disabled(t *testing.T) {
	t.Parallel()
	needTool(t, "s3cmd")
	needBoto3(t)
	srv := testserver.Start(t, testserver.Options{Args: []string{"--sigv2=false"}})
	sdk := sdkClient(srv)
	b := s3test.NewBucket(t, sdk, "nov2")
	body := []byte("only SigV4 may read this\n")
	s3test.Put(t, sdk, b, "k", body)
	sc := newS3cmd(t, srv, srv.Addr, srv.AccessKey, srv.SecretKey)

	disabled := func(t *testing.T, what string, st int, rb []byte, advice ...string) {
		t.Helper()
		e := wantErr(t, what, st, rb, http.StatusBadRequest, "InvalidRequest")
		for _, s := range append([]string{"Signature Version 2 is disabled"}, advice...) {
			if !strings.Contains(e.Message, s) {
				t.Errorf("%s: Message %q does not say %q", what, e.Message, s)
			}
		}
	}

	t.Run("PresignedGet", func(t *testing.T) {
		t.Parallel()
		u := awsPresign(t, srv, b, "k")
		st, rb := curl(t, u)
		disabled(t, "aws s3 presign URL", st, rb, "Signature Version 4", "s3v4")
		// Refused before authentication: a bad signature or key gets the same answer.
		st, rb = get(t, setQuery(t, u, "AWSAccessKeyId", "AKIAUNKNOWNKEY000000"))
		disabled(t, "SigV2 URL with an unknown key", st, rb)
		st, rb = get(t, setQuery(t, u, "Signature", "AAAAAAAAAAAAAAAAAAAAAAAAAAA="))
		disabled(t, "SigV2 URL with a wrong signature", st, rb)
	})

	t.Run("S3cmd", func(t *testing.T) {
		t.Parallel()
		for _, args := range [][]string{
			{"ls", "s3://" + b},
			{"ls"},
			{"get", "--force", "s3://" + b + "/k", filepath.Join(t.TempDir(), "k")},
		} {
			out, errs, code := sc.run(t, append([]string{"--signature-v2"}, args...)...)
			if code == 0 || !strings.Contains(errs, "400") {
				t.Errorf("s3cmd --signature-v2 %s on a --sigv2=false server: exit %d, stdout %q, stderr %q; want 400 InvalidRequest",
					strings.Join(args, " "), code, out, errs)
			}
			if args[0] == "ls" && !strings.Contains(errs, "Signature Version 2 is disabled") {
				t.Errorf("s3cmd --signature-v2 %s: stderr %q does not carry the server's explanation", strings.Join(args, " "), errs)
			}
		}
		f := filepath.Join(t.TempDir(), "new.txt")
		os.WriteFile(f, []byte("must not be stored"), 0o644)
		if _, errs, code := sc.run(t, "--signature-v2", "put", f, "s3://"+b+"/new.txt"); code == 0 {
			t.Errorf("s3cmd --signature-v2 put succeeded on a --sigv2=false server (stderr %q)", errs)
		}
		if _, err := s3test.GetObject(s3test.Ctx(t), sdk, b, "new.txt"); err == nil || !strings.Contains(err.Error(), "NoSuchKey") {
			t.Errorf("after the refused SigV2 put: GetObject %v, want NoSuchKey", err)
		}
		// The advice "drop --signature-v2" works.
		out := sc.ok(t, "ls", "s3://"+b)
		if !strings.Contains(out, "s3://"+b+"/k") {
			t.Errorf("s3cmd (SigV4) ls: %q, want k listed", out)
		}
		g := filepath.Join(t.TempDir(), "k")
		sc.ok(t, "get", "--force", "s3://"+b+"/k", g)
		got, err := os.ReadFile(g)
		if err != nil {
			t.Fatal(err)
		}
		equalBytes(t, "s3cmd (SigV4) get", got, body)
	})

	t.Run("POST", func(t *testing.T) {
		t.Parallel()
		p := boto3Post(t, srv, b)
		st, _, rb := postForm(t, p, nil, "a.txt", []byte("must not be stored"))
		disabled(t, "SigV2 POST", st, rb, "AWS4-HMAC-SHA256")
		if _, err := s3test.GetObject(s3test.Ctx(t), sdk, b, "up/a.txt"); err == nil {
			t.Errorf("the refused SigV2 POST stored up/a.txt")
		}
	})

	t.Run("Boto3HeaderAuth", func(t *testing.T) {
		t.Parallel()
		var out struct{ Code, Message, V4Body string }
		python(t, srv, boto3Client+`
from botocore.exceptions import ClientError
r = {}
try:
    s3.list_objects_v2(Bucket=a['bucket'])
except ClientError as e:
    r['Code'], r['Message'] = e.response['Error']['Code'], e.response['Error'].get('Message', '')
# The advice for boto3: Config(signature_version='s3v4').
v4 = boto3.client('s3', endpoint_url=a['endpoint'], region_name=a['region'],
    aws_access_key_id=a['ak'], aws_secret_access_key=a['sk'],
    config=Config(signature_version='s3v4', s3={'addressing_style': 'path'}, retries={'max_attempts': 1}))
r['V4Body'] = v4.get_object(Bucket=a['bucket'], Key='k')['Body'].read().decode()
print(json.dumps(r))
`, botoArgs(srv, map[string]any{"bucket": b}), &out)
		if out.Code != "InvalidRequest" || !strings.Contains(out.Message, "Signature Version 2 is disabled") {
			t.Errorf("boto3 SigV2 list_objects_v2: %q %q, want InvalidRequest saying SigV2 is disabled", out.Code, out.Message)
		}
		if out.V4Body != string(body) {
			t.Errorf("boto3 s3v4 get_object: %q, want %q", out.V4Body, body)
		}
	})

	t.Run("SigV4StillWorks", func(t *testing.T) {
		t.Parallel()
		st, got := get(t, presignV4(t, sdk, b, "k"))
		wantOK(t, "SDK SigV4 presigned GET", st, got, body)
		if got, err := s3test.GetObject(s3test.Ctx(t), sdk, b, "k"); err != nil {
			t.Errorf("SDK GetObject: %v", err)
		} else {
			equalBytes(t, "SDK GetObject", got, body)
		}
		// The advice for the aws CLI: s3.signature_version = s3v4 in its config.
		cfg := filepath.Join(t.TempDir(), "config")
		os.WriteFile(cfg, []byte("[default]\ns3 =\n    signature_version = s3v4\n"), 0o600)
		env := append(clientEnv(srv), "AWS_CONFIG_FILE="+cfg)
		u := strings.TrimSpace(mustRun(t, env, needTool(t, "aws"), "s3", "presign", "s3://"+b+"/k", "--endpoint-url", srv.URL))
		if !strings.Contains(u, "X-Amz-Algorithm=AWS4-HMAC-SHA256") {
			t.Fatalf("aws s3 presign with signature_version = s3v4 printed %q, want a SigV4 URL", u)
		}
		st, got = curl(t, u)
		wantOK(t, "curl of the CLI's SigV4 presign URL", st, got, body)
	})
}
