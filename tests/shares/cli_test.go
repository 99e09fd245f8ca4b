package shares_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/postern/postern/internal/s3test"
	"github.com/postern/postern/internal/testserver"
)

// cliShare runs the postern binary's `share` command with env and returns
// stdout, stderr and the exit code.
func cliShare(t *testing.T, env []string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(testserver.Binary(t), append([]string{"share"}, args...)...)
	cmd.Env = env
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("postern share %v: %v", args, err)
		}
		code = ee.ExitCode()
	}
	return so.String(), se.String(), code
}

// cliShareOK runs a share command that must succeed.
func cliShareOK(t *testing.T, env []string, args ...string) string {
	t.Helper()
	out, errOut, code := cliShare(t, env, args...)
	if code != 0 {
		t.Fatalf("postern share %v: exit %d\n%s", args, code, errOut)
	}
	return out
}

// cliShareJSON runs a share command with --json and decodes its output.
func cliShareJSON(t *testing.T, env []string, v any, args ...string) {
	t.Helper()
	out := cliShareOK(t, env, append(args, "--json")...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("postern share %v --json: %v\n%s", args, err, out)
	}
}

// curlGet fetches u with curl and returns the HTTP status and the body.
func curlGet(t *testing.T, u string) (string, string) {
	t.Helper()
	out, err := exec.Command("curl", "-sS", "-A", "curl-share-test", "-w", "\n%{http_code}", u).Output()
	if err != nil {
		t.Fatalf("curl %s: %v", u, err)
	}
	i := bytes.LastIndexByte(out, '\n')
	return string(out[i+1:]), string(out[:i])
}

type cliShareObj struct {
	ID     string            `json:"id"`
	URL    string            `json:"url"`
	Fields map[string]string `json:"fields"`
	State  string            `json:"state"`
	Uses   json.Number       `json:"uses"`
	Note   string            `json:"note"`
	Audit  []struct {
		Status    int    `json:"status"`
		Source    string `json:"source"`
		UserAgent string `json:"userAgent"`
		Counted   bool   `json:"counted"`
	} `json:"audit"`
}

// TestShareCLI drives `postern share` against a real server: create, list,
// show (uses and audit), revoke with --json parsed, the URL fetched with
// curl, a browser POST form, temporary credentials, and a refused revoke of
// another user's share.
func TestShareCLI(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Fatal("curl not found (Debian package curl)")
	}
	srv := testserver.Start(t, testserver.Options{})
	env := s3test.CLIEnv(srv, "AWS_ENDPOINT_URL="+srv.URL)
	s3c := s3test.Client(srv, s3test.Options{})
	s3test.CreateBucket(t, s3c, "cli")
	content := "shared with the CLI\n"
	s3test.Put(t, s3c, "cli", "docs/a.txt", []byte(content))

	// --- create: the URL alone on stdout, then --json ---
	out := cliShareOK(t, env, "create", "s3://cli/docs/a.txt", "--max-uses", "3", "--expires-in", "2h")
	plainURL := strings.TrimSpace(out)
	if strings.Count(out, "\n") != 1 || !strings.HasPrefix(plainURL, srv.URL+"/cli/docs/a.txt?") || !strings.Contains(plainURL, "X-Amz-Expires=7200") {
		t.Fatalf("share create printed %q", out)
	}
	var sh cliShareObj
	cliShareJSON(t, env, &sh, "create", "--note", "for Alice", "s3://cli/docs/a.txt", "--max-uses", "2")
	if !strings.HasPrefix(sh.ID, "shr-") || !strings.HasPrefix(sh.URL, srv.URL+"/cli/docs/a.txt?") || sh.State != "active" || sh.Note != "for Alice" {
		t.Fatalf("share create --json: %+v", sh)
	}

	// --- the link works with curl, and counts ---
	if st, body := curlGet(t, sh.URL); st != "200" || body != content {
		t.Fatalf("curl the share: %s %q", st, body)
	}

	// --- list: JSON with ids, and the table ---
	var list []cliShareObj
	cliShareJSON(t, env, &list, "list", "s3://cli/docs/")
	// Two shares of this prefix; shares made in the same second are listed
	// in id order (docs/api.md), so look for sh by its id.
	if len(list) != 2 || (list[0].ID != sh.ID && list[1].ID != sh.ID) {
		t.Fatalf("share list --json: %+v", list)
	}
	table := cliShareOK(t, env, "list")
	if !strings.Contains(table, sh.ID) || !strings.Contains(table, "1/2") || !strings.Contains(table, "s3://cli/docs/a.txt") || !strings.Contains(table, "for Alice") {
		t.Errorf("share list table:\n%s", table)
	}
	cliShareJSON(t, env, &list, "list", "s3://other")
	if len(list) != 0 {
		t.Errorf("share list of another bucket: %+v", list)
	}

	// --- show: uses as a number, the audit rows (written off the request path) ---
	var shown cliShareObj
	deadline := time.Now().Add(30 * time.Second)
	for {
		cliShareJSON(t, env, &shown, "show", sh.ID)
		if len(shown.Audit) >= 1 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if shown.Uses.String() != "1" || shown.State != "active" || len(shown.Audit) != 1 || shown.Audit[0].Status != 200 ||
		shown.Audit[0].UserAgent != "curl-share-test" || shown.Audit[0].Source != "127.0.0.1" || !shown.Audit[0].Counted {
		t.Fatalf("share show --json: %+v", shown)
	}
	text := cliShareOK(t, env, "show", sh.ID)
	if !strings.Contains(text, "1 of 2") || !strings.Contains(text, "curl-share-test") || !strings.Contains(text, "active") {
		t.Errorf("share show:\n%s", text)
	}

	// --- a browser POST form under a prefix ---
	var form struct {
		URL    string            `json:"url"`
		Fields map[string]string `json:"fields"`
	}
	out = cliShareOK(t, env, "create", "--method", "POST", "s3://cli/inbox/", "--max-size", "1000")
	if err := json.Unmarshal([]byte(out), &form); err != nil || form.URL == "" || form.Fields["key"] != "inbox/${filename}" {
		t.Fatalf("share create --method POST printed %q", out)
	}
	file := filepath.Join(t.TempDir(), "drop.txt")
	os.WriteFile(file, []byte("dropped"), 0o644)
	args := []string{"-sS", "-o", "/dev/null", "-w", "%{http_code}"}
	for k, v := range form.Fields {
		args = append(args, "--form-string", k+"="+v)
	}
	args = append(args, "-F", "file=@"+file, form.URL)
	if st, err := exec.Command("curl", args...).Output(); err != nil || (string(st) != "204" && string(st) != "201" && string(st) != "200") {
		t.Fatalf("POST form upload: %s %v", st, err)
	}
	if got, _ := s3test.Get(t, s3c, "cli", "inbox/drop.txt"); string(got) != "dropped" {
		t.Errorf("uploaded object %q", got)
	}

	// --- revoke: the link answers 403 with the revoked message; the other still works ---
	if out := cliShareOK(t, env, "revoke", sh.ID); !strings.Contains(out, sh.ID) {
		t.Errorf("share revoke printed %q", out)
	}
	if st, body := curlGet(t, sh.URL); st != "403" || !strings.Contains(body, "This share link was revoked.") {
		t.Fatalf("curl a revoked share: %s %q", st, body)
	}
	if st, body := curlGet(t, plainURL); st != "200" || body != content {
		t.Fatalf("curl the other share: %s %q", st, body)
	}
	cliShareJSON(t, env, &shown, "show", sh.ID)
	if shown.State != "revoked" {
		t.Errorf("state after revoke: %q", shown.State)
	}

	// --- bob, with temporary credentials, makes his own share; he may not revoke root's ---
	ctx := context.Background()
	ic := awsiam.NewFromConfig(s3test.Config(srv, s3test.Options{}))
	if _, err := ic.CreateUser(ctx, &awsiam.CreateUserInput{UserName: aws.String("bob")}); err != nil {
		t.Fatal(err)
	}
	pol := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","postern:CreateShare"],"Resource":"arn:aws:s3:::cli/*"}]}`
	if _, err := ic.PutUserPolicy(ctx, &awsiam.PutUserPolicyInput{UserName: aws.String("bob"), PolicyName: aws.String("share"), PolicyDocument: aws.String(pol)}); err != nil {
		t.Fatal(err)
	}
	key, err := ic.CreateAccessKey(ctx, &awsiam.CreateAccessKeyInput{UserName: aws.String("bob")})
	if err != nil {
		t.Fatal(err)
	}
	bobCfg := s3test.Config(srv, s3test.Options{})
	bobCfg.Credentials = aws.NewCredentialsCache(aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{AccessKeyID: *key.AccessKey.AccessKeyId, SecretAccessKey: *key.AccessKey.SecretAccessKey}, nil
	}))
	tok, err := sts.NewFromConfig(bobCfg).GetSessionToken(ctx, &sts.GetSessionTokenInput{DurationSeconds: aws.Int32(900)})
	if err != nil {
		t.Fatal(err)
	}
	bobEnv := append(s3test.EnvWithoutAWS(), "AWS_ENDPOINT_URL="+srv.URL, "AWS_REGION="+srv.Region,
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_EC2_METADATA_DISABLED=true",
		"AWS_ACCESS_KEY_ID="+*tok.Credentials.AccessKeyId, "AWS_SECRET_ACCESS_KEY="+*tok.Credentials.SecretAccessKey,
		"AWS_SESSION_TOKEN="+*tok.Credentials.SessionToken)
	bobURL := strings.TrimSpace(cliShareOK(t, bobEnv, "create", "s3://cli/docs/a.txt"))
	if st, body := curlGet(t, bobURL); st != "200" || body != content {
		t.Fatalf("curl bob's share: %s %q", st, body)
	}
	cliShareJSON(t, bobEnv, &list, "list")
	if len(list) != 1 || list[0].URL != bobURL {
		t.Errorf("bob's list: %+v", list)
	}
	var rootShares []cliShareObj
	cliShareJSON(t, env, &rootShares, "list")
	// Not the share revoked above: one still active (shares made in the
	// same second are listed in id order).
	victim := ""
	for _, sh := range rootShares {
		if sh.State == "active" {
			victim = sh.ID
		}
	}
	if victim == "" {
		t.Fatalf("root has no active share: %+v", rootShares)
	}
	out, errOut, code := cliShare(t, bobEnv, "revoke", victim)
	if code != 1 || out != "" || !strings.Contains(errOut, "AccessDenied") {
		t.Fatalf("bob revokes root's share: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	cliShareJSON(t, env, &shown, "show", victim)
	if shown.State == "revoked" {
		t.Error("a refused revoke revoked the share")
	}

	// --- usage errors exit 2 and send nothing ---
	for _, args := range [][]string{
		{"create", "s3://cli"},
		{"create", "s3://cli/k", "--method", "DELETE"},
		{"create", "s3://cli/k", "--max-uses", "-1"},
		{"show", "../x"},
		{"frobnicate"},
	} {
		if _, errOut, code := cliShare(t, env, args...); code != 2 || errOut == "" {
			t.Errorf("postern share %v: exit %d %q, want 2 and a message", args, code, errOut)
		}
	}
}
