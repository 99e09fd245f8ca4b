package iam

import (
	"testing"
	"time"
)

// FuzzOpenToken feeds arbitrary strings to the session-token decoder: it
// must never panic, and anything it accepts must be a token this key sealed.
func FuzzOpenToken(f *testing.F) {
	k := testKeyring(f, 7)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	want := testClaims(now, time.Hour)
	tok, _ := k.sealToken(want)
	f.Add(tok)
	f.Add("")
	f.Add("AQ")
	f.Add(tok[:40])
	f.Fuzz(func(t *testing.T, s string) {
		c, err := k.openToken(s, now)
		if err == nil && (c.AccessKey == "" || c.Secret == "") {
			t.Fatalf("accepted token without credentials: %+v", c)
		}
		if err == nil && (c.Secret != want.Secret || c.Account != want.Account || c.ParentKey != want.ParentKey) {
			// Only authentic tokens decode, and every token this key ever
			// sealed (here and in testdata) carries want's credentials.
			t.Fatalf("accepted forged claims: %+v", c)
		}
	})
}
