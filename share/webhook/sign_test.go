package webhook

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
)

// A vector computed independently (Python's hmac module):
// hmac.new(b"whsec_test", b'1700000000.{"type":"share.used"}', sha256).
func TestSignVector(t *testing.T) {
	got := Sign([]byte("whsec_test"), "1700000000", []byte(`{"type":"share.used"}`))
	want := "sha256=c4a2d32ee3785d8848b77b0335c07536263da0ab3cc7b9784093baa1c8e033f8"
	if got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
}

func TestVerify(t *testing.T) {
	secret := []byte("s3cret")
	now := time.Unix(1_700_000_000, 0)
	ts := strconv.FormatInt(now.Unix(), 10)
	body := []byte(`{"type":"share.revoked","shareId":"shr-x"}`)
	sig := Sign(secret, ts, body)
	if err := Verify(secret, sig, ts, body, now, time.Minute); err != nil {
		t.Fatalf("a good signature: %v", err)
	}
	// Within the tolerance either way.
	if err := Verify(secret, sig, ts, body, now.Add(59*time.Second), time.Minute); err != nil {
		t.Fatalf("59 s later: %v", err)
	}
	if err := Verify(secret, sig, ts, body, now.Add(-59*time.Second), time.Minute); err != nil {
		t.Fatalf("59 s earlier: %v", err)
	}
	flip := []byte(sig)
	flip[len(flip)-1] ^= 1
	if flip[len(flip)-1] > 'f' || (flip[len(flip)-1] > '9' && flip[len(flip)-1] < 'a') {
		flip[len(flip)-1] = '0'
	}
	cases := []struct {
		name       string
		secret     string
		header, ts string
		body       string
		now        time.Time
		tolerance  time.Duration
		want       error
	}{
		{"other secret", "other", sig, ts, string(body), now, time.Minute, ErrBadSignature},
		{"other body", string(secret), sig, ts, string(body) + " ", now, time.Minute, ErrBadSignature},
		{"other timestamp", string(secret), sig, strconv.FormatInt(now.Unix()+1, 10), string(body), now, time.Minute, ErrBadSignature},
		{"a changed digit", string(secret), string(flip), ts, string(body), now, time.Minute, ErrBadSignature},
		{"uppercase hex", string(secret), "sha256=" + strings.ToUpper(strings.TrimPrefix(sig, "sha256=")), ts, string(body), now, time.Minute, nil},
		{"no prefix", string(secret), strings.TrimPrefix(sig, "sha256="), ts, string(body), now, time.Minute, ErrBadSignature},
		{"sha1 prefix", string(secret), "sha1=" + strings.TrimPrefix(sig, "sha256="), ts, string(body), now, time.Minute, ErrBadSignature},
		{"truncated", string(secret), sig[:len(sig)-2], ts, string(body), now, time.Minute, ErrBadSignature},
		{"not hex", string(secret), sig[:len(sig)-1] + "g", ts, string(body), now, time.Minute, ErrBadSignature},
		{"no header", string(secret), "", ts, string(body), now, time.Minute, ErrNoSignature},
		{"too old", string(secret), sig, ts, string(body), now.Add(61 * time.Second), time.Minute, ErrTimestamp},
		{"from the future", string(secret), sig, ts, string(body), now.Add(-61 * time.Second), time.Minute, ErrTimestamp},
		{"default tolerance", string(secret), sig, ts, string(body), now.Add(DefaultTolerance + time.Second), 0, ErrTimestamp},
		{"no timestamp", string(secret), sig, "", string(body), now, time.Minute, ErrTimestamp},
		{"signed timestamp", string(secret), sig, "+" + ts, string(body), now, time.Minute, ErrTimestamp},
		{"huge timestamp", string(secret), sig, "99999999999999999999", string(body), now, time.Minute, ErrTimestamp},
	}
	for _, c := range cases {
		err := Verify([]byte(c.secret), c.header, c.ts, []byte(c.body), c.now, c.tolerance)
		if !errors.Is(err, c.want) || (c.want == nil && err != nil) {
			t.Errorf("%s: Verify = %v, want %v", c.name, err, c.want)
		}
	}
}

func TestShareSecret(t *testing.T) {
	k := ShareKeyFromServerKey([]byte("0123456789abcdef0123456789abcdef"))
	a, b := ShareSecret(k, "shr-aaaaaaaaaaaaaaaaaaaa"), ShareSecret(k, "shr-bbbbbbbbbbbbbbbbbbbb")
	if a == b || !strings.HasPrefix(a, ShareSecretPrefix) || len(a) != len(ShareSecretPrefix)+64 {
		t.Fatalf("secrets %q %q", a, b)
	}
	if a != ShareSecret(k, "shr-aaaaaaaaaaaaaaaaaaaa") {
		t.Fatal("not deterministic")
	}
	k2 := ShareKeyFromServerKey([]byte("another server key, 32 bytes...."))
	if ShareSecret(k2, "shr-aaaaaaaaaaaaaaaaaaaa") == a {
		t.Fatal("the same secret under another server key")
	}
}

// FuzzVerify: Verify never panics, and accepts only what Sign makes.
func FuzzVerify(f *testing.F) {
	now := time.Unix(1_700_000_000, 0)
	f.Add([]byte("k"), Sign([]byte("k"), "1700000000", []byte("{}")), "1700000000", []byte("{}"))
	f.Add([]byte("k"), "sha256=", "1700000000", []byte(""))
	f.Add([]byte(""), "sha256=zz", "-1", []byte("x"))
	f.Add([]byte("k"), "sha256="+strings.Repeat("0", 64), "0", []byte("x"))
	f.Fuzz(func(t *testing.T, secret []byte, header, ts string, body []byte) {
		err := Verify(secret, header, ts, body, now, time.Hour)
		if err == nil && !strings.EqualFold(header, Sign(secret, ts, body)) {
			t.Fatalf("accepted %q for %q %q", header, ts, body)
		}
	})
}
