package iam_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/postern/postern/iam"
	"github.com/postern/postern/meta/sqlite"
	"github.com/postern/postern/share"
)

// TestShareCredentials: a share's key finds its creator as it is now, with
// a derived secret (the same for the same server key, another for
// another), and a share that is not active, or whose creator is gone, is
// refused with its reason.
func TestShareCredentials(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "meta.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	clk := &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	mk := func(b byte) *iam.Service {
		key := make([]byte, iam.ServerKeySize)
		key[0] = b
		svc, err := iam.NewService(iam.Config{Store: st, Shares: st, ServerKey: key, DefaultAccount: acct, Now: clk.now})
		if err != nil {
			t.Fatal(err)
		}
		return svc
	}
	svc := mk(0)
	if err := svc.Init(ctx); err != nil {
		t.Fatal(err)
	}
	u := must[iam.User](t)(svc.CreateUser(ctx, acct, "alice", "/"))
	now := clk.now()
	sh := share.Share{ID: "shr-aaaaaaaaaaaaaaaaaaaa", AccessKey: "PSHRAAAAAAAAAAAAAAAA", AccountID: acct,
		Creator: share.Creator{Kind: "user", ARN: u.ARN(), UserID: u.ID}, Method: share.MethodGet, Bucket: "b", Key: "k",
		Endpoint: "http://h:1", CreatedAt: now, Expires: now.Add(time.Hour), MaxUses: 1}
	if err := st.CreateShare(ctx, sh); err != nil {
		t.Fatal(err)
	}
	secret, p, err := svc.Credentials(ctx, sh.AccessKey, "")
	if err != nil || p.Kind != iam.KindUser || p.UserID != u.ID || p.Share == nil || p.Share.ID != sh.ID || len(secret) != 40 {
		t.Fatalf("Credentials: %q %+v %v", secret, p, err)
	}
	if again, _, _ := svc.Credentials(ctx, sh.AccessKey, ""); again != secret {
		t.Errorf("the derived secret changed")
	}
	if other, _, _ := mk(1).Credentials(ctx, sh.AccessKey, ""); other == secret || other == "" {
		t.Errorf("another server key derives %q", other)
	}
	signed, err := svc.SignShare(&sh, "us-east-1")
	if err != nil || !strings.HasPrefix(signed.URL, "http://h:1/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=PSHRAAAAAAAAAAAAAAAA%2F") {
		t.Fatalf("SignShare: %q %v", signed.URL, err)
	}
	if again, _ := svc.SignShare(&sh, "us-east-1"); again.URL != signed.URL {
		t.Errorf("signing is not deterministic")
	}

	refused := func(what string, want error) {
		t.Helper()
		_, _, err := svc.Credentials(ctx, sh.AccessKey, "")
		var se *iam.ShareError
		if !errors.As(err, &se) || !errors.Is(err, want) || se.Share.ID != sh.ID {
			t.Errorf("%s: %v, want %v", what, err, want)
		}
	}
	if _, err := st.ClaimUse(ctx, sh.ID, now); err != nil {
		t.Fatal(err)
	}
	refused("used up", share.ErrUsedUp)
	if err := st.ReleaseUse(ctx, sh.ID); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteUser(ctx, acct, "alice"); err != nil {
		t.Fatal(err)
	}
	refused("creator deleted", share.ErrCreatorGone)
	clk.add(time.Hour)
	refused("expired", share.ErrExpired)
	if _, err := st.RevokeShare(ctx, sh.ID, "x", clk.now()); err != nil {
		t.Fatal(err)
	}
	refused("revoked", share.ErrRevoked)
	if _, _, err := svc.Credentials(ctx, "PSHRBBBBBBBBBBBBBBBB", ""); !errors.Is(err, iam.ErrUnknownKey) {
		t.Errorf("unknown share key: %v", err)
	}
}
