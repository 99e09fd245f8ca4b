package server

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestResolveRootCredentials(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, rootCredentialsFile)
	none := envOf(nil)

	// First start without variables: generated and saved.
	r, err := resolveRootCredentials(dir, none)
	if err != nil || r.source != rootFromGenerated || !r.saved || r.stale != nil {
		t.Fatalf("first start: %+v, %v", r, err)
	}
	gen := r.creds
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("saved file: %v, %v", fi, err)
	}
	// Again: read from the file.
	r, err = resolveRootCredentials(dir, none)
	if err != nil || r.source != rootFromFile || r.creds != gen || r.saved {
		t.Fatalf("second start: %+v, %v", r, err)
	}
	// Variables that disagree with the file: they win and replace it.
	env := envOf(map[string]string{"POSTERN_ROOT_ACCESS_KEY": "AKIAENVIRONMENT00001", "POSTERN_ROOT_SECRET_KEY": "environment-secret-1"})
	r, err = resolveRootCredentials(dir, env)
	want := rootCredentials{"AKIAENVIRONMENT00001", "environment-secret-1"}
	if err != nil || r.source != rootFromEnv || r.creds != want || r.stale == nil || *r.stale != gen || !r.saved {
		t.Fatalf("variables over a different file: %+v, %v", r, err)
	}
	// The same variables again: nothing to do.
	r, err = resolveRootCredentials(dir, env)
	if err != nil || r.source != rootFromEnv || r.stale != nil || r.saved {
		t.Fatalf("variables matching the file: %+v, %v", r, err)
	}
	// Without the variables: the file now holds their key.
	r, err = resolveRootCredentials(dir, none)
	if err != nil || r.source != rootFromFile || r.creds != want {
		t.Fatalf("start without variables after an override: %+v, %v", r, err)
	}
	// Only the secret differs: still stale.
	env2 := envOf(map[string]string{"POSTERN_ROOT_ACCESS_KEY": "AKIAENVIRONMENT00001", "POSTERN_ROOT_SECRET_KEY": "environment-secret-2"})
	r, err = resolveRootCredentials(dir, env2)
	if err != nil || r.stale == nil || r.stale.SecretAccessKey != "environment-secret-1" {
		t.Fatalf("secret rotated through the variables: %+v, %v", r, err)
	}
	// A damaged file: an error without variables, replaced with them.
	os.WriteFile(file, []byte("{not json"), 0o600)
	if _, err := resolveRootCredentials(dir, none); err == nil || !strings.Contains(err.Error(), "damaged") {
		t.Fatalf("damaged file without variables: %v", err)
	}
	r, err = resolveRootCredentials(dir, env)
	if err != nil || r.stale == nil || r.stale.AccessKeyID != "" || !r.saved {
		t.Fatalf("damaged file with variables: %+v, %v", r, err)
	}
	if r, err := resolveRootCredentials(dir, none); err != nil || r.creds != want {
		t.Fatalf("after replacing the damaged file: %+v, %v", r, err)
	}
	// Variables set only half, or too short.
	for _, m := range []map[string]string{
		{"POSTERN_ROOT_ACCESS_KEY": "AKIAENVIRONMENT00001"},
		{"POSTERN_ROOT_SECRET_KEY": "environment-secret-1"},
		{"POSTERN_ROOT_ACCESS_KEY": "AKIAENVIRONMENT00001", "POSTERN_ROOT_SECRET_KEY": "short"},
	} {
		if _, err := resolveRootCredentials(dir, envOf(m)); err == nil {
			t.Errorf("%v: accepted", m)
		}
	}
	if left, _ := filepath.Glob(file + ".tmp"); len(left) != 0 {
		t.Errorf("temporary file left: %v", left)
	}
}

// A second lock on the same folder fails at once and names the holder; once
// the holder closes its file the lock can be taken again.
func TestLockDataDir(t *testing.T) {
	if !dataLockSupported {
		t.Skip("no data folder lock on this system")
	}
	dir := t.TempDir()
	f, err := lockDataDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(filepath.Join(dir, lockFileName))
	if strings.TrimSpace(string(data)) != itoa(os.Getpid()) {
		t.Errorf("lock file holds %q, want our pid %d", data, os.Getpid())
	}
	_, err = lockDataDir(dir)
	if err == nil {
		t.Fatal("second lock on the same folder succeeded")
	}
	if !strings.Contains(err.Error(), "pid "+itoa(os.Getpid())) || !strings.Contains(err.Error(), "in use") {
		t.Errorf("error %q does not name the holder", err)
	}
	// The failed attempt must not have wiped the holder's pid.
	if data2, _ := os.ReadFile(filepath.Join(dir, lockFileName)); string(data2) != string(data) {
		t.Errorf("lock file changed by the failed attempt: %q -> %q", data, data2)
	}
	f.Close()
	f2, err := lockDataDir(dir)
	if err != nil {
		t.Fatalf("after the holder closed: %v", err)
	}
	f2.Close()
}

func itoa(n int) string { return strconv.Itoa(n) }
