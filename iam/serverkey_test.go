package iam

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadServerKey(t *testing.T) {
	dir := t.TempDir()
	k1, created, err := LoadServerKey(dir, "")
	if err != nil || !created || len(k1) != ServerKeySize {
		t.Fatalf("first load: %v created=%v len=%d", err, created, len(k1))
	}
	fi, err := os.Stat(filepath.Join(dir, ServerKeyFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode: %v %v", fi.Mode(), err)
	}
	k2, created, err := LoadServerKey(dir, "")
	if err != nil || created || !bytes.Equal(k1, k2) {
		t.Fatalf("second load: %v created=%v same=%v", err, created, bytes.Equal(k1, k2))
	}
	os.Chmod(filepath.Join(dir, ServerKeyFile), 0o644)
	if _, _, err := LoadServerKey(dir, ""); err == nil || !strings.Contains(err.Error(), "chmod") {
		t.Fatalf("world-readable key accepted: %v", err)
	}
	os.WriteFile(filepath.Join(dir, ServerKeyFile), []byte("short"), 0o600)
	if _, _, err := LoadServerKey(dir, ""); err == nil {
		t.Fatal("damaged key accepted")
	}
}

func TestParseServerKey(t *testing.T) {
	raw := bytes.Repeat([]byte{0xAB}, ServerKeySize)
	for _, s := range []string{hex.EncodeToString(raw), base64.StdEncoding.EncodeToString(raw), base64.RawURLEncoding.EncodeToString(raw), " " + hex.EncodeToString(raw) + "\n"} {
		k, err := ParseServerKey(s)
		if err != nil || !bytes.Equal(k, raw) {
			t.Errorf("%q: %v", s, err)
		}
	}
	for _, s := range []string{"", "abcd", hex.EncodeToString(raw[:16]), strings.Repeat("z", 64)} {
		if _, err := ParseServerKey(s); err == nil {
			t.Errorf("%q accepted", s)
		} else if s != "" && strings.Contains(err.Error(), s) {
			t.Errorf("error echoes the key: %v", err)
		}
	}
}

// SecretChecker opens what the key sealed for that access key, and nothing
// sealed with another key or for another access key.
func TestSecretChecker(t *testing.T) {
	k1, k2 := bytes.Repeat([]byte{1}, ServerKeySize), bytes.Repeat([]byte{2}, ServerKeySize)
	ring, _ := newKeyring(k1)
	sealed := ring.encryptSecret("AKIAONE", "secret")
	c1, err := NewSecretChecker(k1)
	if err != nil {
		t.Fatal(err)
	}
	c2, _ := NewSecretChecker(k2)
	if err := c1.Check("AKIAONE", sealed); err != nil {
		t.Fatal(err)
	}
	if err := c2.Check("AKIAONE", sealed); err == nil {
		t.Fatal("another server key opened the secret")
	}
	if err := c1.Check("AKIATWO", sealed); err == nil {
		t.Fatal("the secret opened for another access key")
	}
	if _, err := NewSecretChecker(k1[:5]); err == nil {
		t.Fatal("a short key was accepted")
	}
}

// keyCheckStore keeps a server key check value, as a store does.
type keyCheckStore struct {
	Store
	kept []byte
}

func (s *keyCheckStore) ServerKeyCheck(_ context.Context, check []byte) ([]byte, error) {
	if s.kept == nil {
		s.kept = check
	}
	return s.kept, nil
}

// SeedKeyCheck leaves a value that the same key opens and another key's
// service refuses.
func TestSeedKeyCheck(t *testing.T) {
	k1, k2 := bytes.Repeat([]byte{1}, ServerKeySize), bytes.Repeat([]byte{2}, ServerKeySize)
	st := &keyCheckStore{}
	c1, _ := NewSecretChecker(k1)
	c2, _ := NewSecretChecker(k2)
	if err := c1.SeedKeyCheck(context.Background(), st); err != nil || st.kept == nil {
		t.Fatalf("seed: %v", err)
	}
	if err := c1.SeedKeyCheck(context.Background(), st); err != nil {
		t.Fatalf("second seed with the same key: %v", err)
	}
	if err := c2.SeedKeyCheck(context.Background(), st); !errors.Is(err, ErrServerKeyMismatch) {
		t.Fatalf("another key: %v", err)
	}
}
