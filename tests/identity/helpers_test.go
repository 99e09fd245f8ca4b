// Package identity drives a real postern server with the clients users
// manage identities with — the aws CLI, boto3 and aws-sdk-go-v2's iam and sts
// clients — and checks credentials end to end: users and keys, groups,
// policies, roles, session tokens and their expiry, and revocation.
package identity

import (
	"encoding/json"
	"errors"
	"net/http"
	"os/exec"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/postern/postern/internal/s3test"
	"github.com/postern/postern/internal/testserver"
)

type creds struct{ ak, sk, token string }

func rootCreds(s *testserver.Server) creds { return creds{s.AccessKey, s.SecretKey, ""} }

// awsCfg is the SDK config for s with exactly the credentials c (empty ones
// stay empty), the SDK's default retries.
func awsCfg(s *testserver.Server, c creds) aws.Config {
	cfg := s3test.Config(s, s3test.Options{})
	cfg.Credentials = credentials.NewStaticCredentialsProvider(c.ak, c.sk, c.token)
	return cfg
}

func iamClient(s *testserver.Server, c creds) *awsiam.Client {
	return awsiam.NewFromConfig(awsCfg(s, c))
}
func stsClient(s *testserver.Server, c creds) *sts.Client { return sts.NewFromConfig(awsCfg(s, c)) }
func s3Client(s *testserver.Server, c creds) *s3.Client {
	return s3test.Client(s, s3test.Options{}, func(o *s3.Options) {
		o.Credentials = credentials.NewStaticCredentialsProvider(c.ak, c.sk, c.token)
	})
}

// apiCode returns the AWS error code of err ("" when none) and fails on a
// 5xx: bad input must never be a server error.
func apiCode(t testing.TB, err error) string {
	t.Helper()
	if err == nil {
		return ""
	}
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) && re.HTTPStatusCode() >= 500 {
		t.Fatalf("server error: %v", err)
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	t.Fatalf("not an API error: %v", err)
	return ""
}

func wantCode(t testing.TB, err error, code string) {
	t.Helper()
	if got := apiCode(t, err); got != code {
		t.Fatalf("error code %q (%v), want %q", got, err, code)
	}
}

// runAWS runs the aws CLI against s with c, returning stdout (and failing
// the test on a non-zero exit unless wantErr).
func runAWS(t testing.TB, s *testserver.Server, c creds, args ...string) (string, error) {
	t.Helper()
	if _, err := exec.LookPath("aws"); err != nil {
		t.Fatal("aws CLI not installed: run scripts/test.sh, which installs it")
	}
	cmd := exec.Command("aws", append([]string{"--endpoint-url", s.URL, "--output", "json"}, args...)...)
	env := append(s3test.EnvWithoutAWS(), "AWS_ACCESS_KEY_ID="+c.ak, "AWS_SECRET_ACCESS_KEY="+c.sk, "AWS_DEFAULT_REGION="+s.Region,
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_EC2_METADATA_DISABLED=true")
	if c.token != "" {
		env = append(env, "AWS_SESSION_TOKEN="+c.token)
	}
	cmd.Env = env
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), errors.New(strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}

func mustAWS(t testing.TB, s *testserver.Server, c creds, args ...string) map[string]any {
	t.Helper()
	out, err := runAWS(t, s, c, args...)
	if err != nil {
		t.Fatalf("aws %s: %v", strings.Join(args, " "), err)
	}
	m := map[string]any{}
	if strings.TrimSpace(out) != "" {
		if err := json.Unmarshal([]byte(out), &m); err != nil {
			t.Fatalf("aws %s: output %q: %v", strings.Join(args, " "), out, err)
		}
	}
	return m
}

// dig walks nested maps by keys.
func dig(m map[string]any, keys ...string) any {
	var v any = m
	for _, k := range keys {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = mm[k]
	}
	return v
}

func str(v any) string { s, _ := v.(string); return s }

// get performs a plain GET (e.g. of a presigned URL) and returns the status
// and body.
func get(t testing.TB, s *testserver.Server, url string) (int, string) {
	t.Helper()
	resp, err := s.HTTPClient().Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return resp.StatusCode, b.String()
}

var _ = http.StatusOK
