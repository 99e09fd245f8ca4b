package identity

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/postern/postern/internal/testserver"
)

// noRootEnv starts a server without POSTERN_ROOT_* (empty means unset).
var noRootEnv = []string{"POSTERN_ROOT_ACCESS_KEY=", "POSTERN_ROOT_SECRET_KEY="}

func readRootFile(t *testing.T, dir string) creds {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "root-credentials.json"))
	if err != nil {
		t.Fatal(err)
	}
	var c struct{ AccessKeyId, SecretAccessKey string }
	if err := json.Unmarshal(data, &c); err != nil {
		t.Fatal(err)
	}
	return creds{c.AccessKeyId, c.SecretAccessKey, ""}
}

func wantLog(t *testing.T, s *testserver.Server, parts ...string) {
	t.Helper()
	for _, line := range strings.Split(s.Logs(), "\n") {
		ok := true
		for _, p := range parts {
			ok = ok && strings.Contains(line, p)
		}
		if ok {
			return
		}
	}
	t.Errorf("no log line with %q:\n%s", parts, s.Logs())
}

// The root credentials have one source at a time, logged at start. When
// POSTERN_ROOT_* disagree with DATA/root-credentials.json the variables win,
// the server says so, and the file is updated: a restart without the
// variables keeps the key that worked, instead of flipping back to the old one.
func TestRootCredentialSources(t *testing.T) {
	dir := t.TempDir()
	old := creds{"AKIAOLDFILEROOT00001", "old/file/secret/0123456789abcdefghijklm", ""}
	data, _ := json.Marshal(map[string]string{"AccessKeyId": old.ak, "SecretAccessKey": old.sk})
	if err := os.WriteFile(filepath.Join(dir, "root-credentials.json"), data, 0o600); err != nil {
		t.Fatal(err)
	}

	// Variables (testserver's root keys) that disagree with the file.
	srv := testserver.Start(t, testserver.Options{DataDir: dir})
	env := rootCreds(srv)
	wantLog(t, srv, "root credentials from POSTERN_ROOT_ACCESS_KEY", "source=environment", "access_key="+env.ak)
	wantLog(t, srv, "level=WARN", "disagree", "replaced_access_key="+old.ak, "access_key="+env.ak)
	if got := readRootFile(t, dir); got != env {
		t.Fatalf("root-credentials.json holds %v after the variables overrode it, want %v", got, env)
	}
	if fi, err := os.Stat(filepath.Join(dir, "root-credentials.json")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("root-credentials.json: %v %v, want mode 0600", fi, err)
	}
	mustAWS(t, srv, env, "s3api", "create-bucket", "--bucket", "rootcreds")
	if _, err := runAWS(t, srv, old, "s3api", "list-buckets"); err == nil || !strings.Contains(err.Error(), "InvalidAccessKeyId") {
		t.Errorf("the replaced key: %v, want InvalidAccessKeyId", err)
	}

	// Restart without the variables: the file's key is the one that worked.
	srv.Kill()
	srv2 := testserver.Start(t, testserver.Options{DataDir: dir, Env: noRootEnv})
	wantLog(t, srv2, "root credentials from the data folder", "source=file", "access_key="+env.ak)
	if strings.Contains(srv2.Logs(), "disagree") {
		t.Errorf("warned about a disagreement without variables:\n%s", srv2.Logs())
	}
	out := mustAWS(t, srv2, env, "s3api", "list-buckets")
	if !strings.Contains(jsonString(out), `"rootcreds"`) {
		t.Errorf("list-buckets with the kept key: %v", out)
	}
	if id := mustAWS(t, srv2, env, "sts", "get-caller-identity"); !strings.HasSuffix(str(id["Arn"]), ":root") {
		t.Errorf("get-caller-identity: %v", id)
	}
	// The SDK too.
	if _, err := s3Client(srv2, env).ListBuckets(context.Background(), nil); err != nil {
		t.Errorf("SDK with the kept key: %v", err)
	}

	// The same variables again: no warning, the file is left as it is.
	srv2.Kill()
	srv3 := testserver.Start(t, testserver.Options{DataDir: dir})
	wantLog(t, srv3, "source=environment", "access_key="+env.ak)
	if strings.Contains(srv3.Logs(), "disagree") || strings.Contains(srv3.Logs(), "saved the root credentials") {
		t.Errorf("variables matching the file: unexpected warning or write:\n%s", srv3.Logs())
	}
	mustAWS(t, srv3, env, "s3api", "list-buckets")
}

// A first start without variables generates the keys, logs that, and saves
// them; they work.
func TestRootCredentialsGenerated(t *testing.T) {
	dir := t.TempDir()
	srv := testserver.Start(t, testserver.Options{DataDir: dir, Env: noRootEnv})
	gen := readRootFile(t, dir)
	if gen.ak == srv.AccessKey {
		t.Fatal("the server used testserver's keys without the variables")
	}
	wantLog(t, srv, "generated new root credentials", "source=generated", "access_key="+gen.ak)
	if !strings.Contains(srv.Logs(), gen.sk) {
		t.Errorf("the generated secret was not printed once:\n%s", srv.Logs())
	}
	mustAWS(t, srv, gen, "s3api", "list-buckets")
	if _, err := runAWS(t, srv, rootCreds(srv), "s3api", "list-buckets"); err == nil {
		t.Error("testserver's keys work without the variables")
	}
}

func jsonString(m map[string]any) string {
	b, _ := json.Marshal(m)
	return string(b)
}
