package iam

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"
)

func testKeyring(t testing.TB, b byte) *keyring {
	t.Helper()
	key := make([]byte, ServerKeySize)
	for i := range key {
		key[i] = b
	}
	k, err := newKeyring(key)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func testClaims(now time.Time, d time.Duration) *sessionClaims {
	return &sessionClaims{
		Account: "111122223333", Kind: KindUser, ARN: "arn:aws:iam::111122223333:user/alice",
		UserID: "AIDAEXAMPLE", Name: "alice", AccessKey: "ASIAEXAMPLE0000000001", Secret: "s3cr3t",
		ParentKey: "AKIAEXAMPLE", ParentUser: "AIDAEXAMPLE",
		IssuedMs: now.UnixMilli(), ExpiresMs: now.Add(d).UnixMilli(),
	}
}

func TestTokenRoundTrip(t *testing.T) {
	k := testKeyring(t, 1)
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	c := testClaims(now, 2*time.Second)
	tok, err := k.sealToken(c)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(tok, "s3cr3t") || strings.Contains(tok, "alice") {
		t.Fatal("token leaks its contents")
	}
	got, err := k.openToken(tok, now.Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if *got != *c {
		t.Fatalf("claims differ:\n got %+v\nwant %+v", got, c)
	}
	// Expiry is exact: valid until, not at, the expiry instant.
	if _, err := k.openToken(tok, now.Add(2*time.Second-time.Millisecond)); err != nil {
		t.Fatalf("just before expiry: %v", err)
	}
	if _, err := k.openToken(tok, now.Add(2*time.Second)); !errors.Is(err, ErrExpiredToken) {
		t.Fatalf("at expiry: got %v, want ErrExpiredToken", err)
	}
	// Another server key cannot read it.
	if _, err := testKeyring(t, 2).openToken(tok, now); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("other key: got %v, want ErrInvalidToken", err)
	}
}

func TestTokenTamper(t *testing.T) {
	k := testKeyring(t, 1)
	now := time.Now()
	tok, err := k.sealToken(testClaims(now, time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.RawURLEncoding.DecodeString(tok)
	for i := range raw {
		for _, bit := range []byte{0x01, 0x80} {
			b := append([]byte(nil), raw...)
			b[i] ^= bit
			if _, err := k.openToken(base64.RawURLEncoding.EncodeToString(b), now); !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("flipping bit %#x of byte %d: got %v, want ErrInvalidToken", bit, i, err)
			}
		}
	}
	for _, bad := range []string{"", "x", tok[:len(tok)-1], tok + "A", "!" + tok[1:], strings.Repeat("A", MaxSessionTokenLen+1)} {
		if _, err := k.openToken(bad, now); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("%.20q…: got %v, want ErrInvalidToken", bad, err)
		}
	}
}

func TestTokenCompressesLargePolicy(t *testing.T) {
	k := testKeyring(t, 1)
	now := time.Now()
	c := testClaims(now, time.Hour)
	c.Kind, c.RoleID, c.RoleARN = KindAssumedRole, "AROAEXAMPLE", "arn:aws:iam::111122223333:role/r"
	c.Policy = `{"Version":"2012-10-17","Statement":[` + strings.Repeat(`{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket/*"},`, 20) + `{"Effect":"Deny","Action":"*","Resource":"*"}]}`
	tok, err := k.sealToken(c)
	if err != nil {
		t.Fatal(err)
	}
	if len(tok) > len(c.Policy) {
		t.Errorf("token of %d bytes for a %d-byte policy: not compressed", len(tok), len(c.Policy))
	}
	got, err := k.openToken(tok, now)
	if err != nil || got.Policy != c.Policy {
		t.Fatalf("round trip: %v", err)
	}
}

func TestSecretEncryption(t *testing.T) {
	k := testKeyring(t, 1)
	ct := k.encryptSecret("AKIAONE", "secret-value")
	if strings.Contains(string(ct), "secret-value") {
		t.Fatal("plaintext in ciphertext")
	}
	if got, err := k.decryptSecret("AKIAONE", ct); err != nil || got != "secret-value" {
		t.Fatalf("decrypt: %q, %v", got, err)
	}
	// Bound to its key id: a ciphertext moved to another row does not decrypt.
	if _, err := k.decryptSecret("AKIATWO", ct); err == nil {
		t.Fatal("ciphertext decrypted under another access key id")
	}
	if _, err := testKeyring(t, 2).decryptSecret("AKIAONE", ct); err == nil {
		t.Fatal("ciphertext decrypted with another server key")
	}
	if ct2 := k.encryptSecret("AKIAONE", "secret-value"); string(ct2) == string(ct) {
		t.Fatal("nonce reused")
	}
}
