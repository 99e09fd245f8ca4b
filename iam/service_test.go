package iam_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/postern/postern/iam"
	"github.com/postern/postern/meta/sqlite"
	"github.com/postern/postern/policy"
)

const acct = "111122223333"

// clock is an injectable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newService(t *testing.T) (*iam.Service, *clock) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "meta.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	clk := &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	key := make([]byte, iam.ServerKeySize)
	svc, err := iam.NewService(iam.Config{Store: st, ServerKey: key, DefaultAccount: acct,
		RootAccessKey: "AKIAROOT", RootSecretKey: "rootsecret", MinSessionDuration: time.Second, Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Init(ctx); err != nil {
		t.Fatal(err)
	}
	return svc, clk
}

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func TestCredentialsAndRevocation(t *testing.T) {
	ctx := context.Background()
	svc, _ := newService(t)
	st := svc.Store()

	secret, p, err := svc.Credentials(ctx, "AKIAROOT", "")
	if err != nil || secret != "rootsecret" || !p.IsRoot() || p.ARN != "arn:aws:iam::"+acct+":root" {
		t.Fatalf("root: %v %+v", err, p)
	}
	if _, _, err := svc.Credentials(ctx, "AKIANOPE", ""); !errors.Is(err, iam.ErrUnknownKey) {
		t.Fatalf("unknown key: %v", err)
	}

	u := must[iam.User](t)(svc.CreateUser(ctx, acct, "alice", "/eng/"))
	k, ksecret, err := svc.CreateAccessKey(ctx, acct, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if len(k.ID) != 20 || len(ksecret) != 40 {
		t.Fatalf("key %q secret length %d", k.ID, len(ksecret))
	}
	secret, p, err = svc.Credentials(ctx, k.ID, "")
	if err != nil || secret != ksecret || p.Kind != iam.KindUser || p.ARN != "arn:aws:iam::"+acct+":user/eng/alice" || p.UserID != u.ID || p.Name != "alice" {
		t.Fatalf("user: %v %+v", err, p)
	}

	// A session token derived from the key dies with the key.
	creds, err := svc.GetSessionToken(p, 3600)
	if err != nil {
		t.Fatal(err)
	}
	sessionOK := func() error {
		_, _, err := svc.Credentials(ctx, creds.AccessKeyID, creds.SessionToken)
		return err
	}
	if err := sessionOK(); err != nil {
		t.Fatal(err)
	}
	if err := st.UpdateAccessKey(ctx, acct, "alice", k.ID, iam.StatusInactive); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.Credentials(ctx, k.ID, ""); !errors.Is(err, iam.ErrUnknownKey) {
		t.Fatalf("inactive key: %v", err)
	}
	if err := sessionOK(); !errors.Is(err, iam.ErrInvalidToken) {
		t.Fatalf("session of inactive key: %v", err)
	}
	if err := st.UpdateAccessKey(ctx, acct, "alice", k.ID, iam.StatusActive); err != nil {
		t.Fatal(err)
	}
	if err := sessionOK(); err != nil {
		t.Fatalf("session after reactivation: %v", err)
	}
	if err := st.DeleteUser(ctx, acct, "alice"); !errors.Is(err, iam.ErrDeleteConflict) {
		t.Fatalf("delete user with keys: %v", err)
	}
	if err := st.DeleteAccessKey(ctx, acct, "alice", k.ID); err != nil {
		t.Fatal(err)
	}
	if err := sessionOK(); !errors.Is(err, iam.ErrInvalidToken) {
		t.Fatalf("session of deleted key: %v", err)
	}
	if _, _, err := svc.Credentials(ctx, k.ID, ""); !errors.Is(err, iam.ErrUnknownKey) {
		t.Fatalf("deleted key: %v", err)
	}
	// The token must be presented with its own access key id.
	if _, _, err := svc.Credentials(ctx, "ASIAOTHER", creds.SessionToken); !errors.Is(err, iam.ErrInvalidToken) {
		t.Fatalf("token with another key id: %v", err)
	}
}

func TestSessionExpiryAndDurations(t *testing.T) {
	ctx := context.Background()
	svc, clk := newService(t)
	_, root, _ := svc.Credentials(ctx, "AKIAROOT", "")
	creds, err := svc.GetSessionToken(root, 2)
	if err != nil {
		t.Fatal(err)
	}
	_, p, err := svc.Credentials(ctx, creds.AccessKeyID, creds.SessionToken)
	if err != nil || !p.IsRoot() || !p.Temporary() || !p.Expires.Equal(clk.now().Add(2*time.Second)) {
		t.Fatalf("%v %+v", err, p)
	}
	clk.add(2 * time.Second)
	if _, _, err := svc.Credentials(ctx, creds.AccessKeyID, creds.SessionToken); !errors.Is(err, iam.ErrExpiredToken) {
		t.Fatalf("after expiry: %v", err)
	}
	// Root sessions are capped at an hour; users get 12 hours by default.
	creds, _ = svc.GetSessionToken(root, 7200)
	if d := creds.Expiration.Sub(clk.now()); d != time.Hour {
		t.Errorf("root session of %v", d)
	}
	if _, err := svc.GetSessionToken(root, 0); err != nil {
		t.Error(err)
	}
	_, sp, _ := svc.Credentials(ctx, creds.AccessKeyID, creds.SessionToken)
	if _, err := svc.GetSessionToken(sp, 900); err == nil {
		t.Error("GetSessionToken with session credentials succeeded")
	}
	if _, err := svc.GetSessionToken(root, 129601); !errors.Is(err, iam.ErrValidation) {
		t.Errorf("too long: %v", err)
	}
}

func TestPoliciesGathered(t *testing.T) {
	ctx := context.Background()
	svc, _ := newService(t)
	st := svc.Store()
	must[iam.User](t)(svc.CreateUser(ctx, acct, "bob", ""))
	k, _, _ := svc.CreateAccessKey(ctx, acct, "bob")
	_, p, _ := svc.Credentials(ctx, k.ID, "")

	doc := func(action string) string {
		return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"` + action + `","Resource":"*"}]}`
	}
	if err := svc.PutInlinePolicy(ctx, acct, iam.EntityUser, "bob", "inline", doc("s3:GetObject")); err != nil {
		t.Fatal(err)
	}
	mp := must[iam.ManagedPolicy](t)(svc.CreatePolicy(ctx, acct, "managed", "/", "", doc("s3:PutObject")))
	if err := st.AttachPolicy(ctx, acct, iam.EntityUser, "bob", mp.ARN()); err != nil {
		t.Fatal(err)
	}
	must[iam.Group](t)(svc.CreateGroup(ctx, acct, "devs", ""))
	if err := st.AddUserToGroup(ctx, acct, "devs", "bob"); err != nil {
		t.Fatal(err)
	}
	if err := svc.PutInlinePolicy(ctx, acct, iam.EntityGroup, "devs", "g", doc("s3:ListBucket")); err != nil {
		t.Fatal(err)
	}
	gp := must[iam.ManagedPolicy](t)(svc.CreatePolicy(ctx, acct, "gmanaged", "/", "", doc("s3:DeleteObject")))
	if err := st.AttachPolicy(ctx, acct, iam.EntityGroup, "devs", gp.ARN()); err != nil {
		t.Fatal(err)
	}

	allowed := func(action string) bool {
		t.Helper()
		id, sess, err := svc.Policies(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		pp := policy.Principal{Account: p.AccountID, ARN: p.ARN}
		return policy.Evaluate(&policy.Input{Identity: id, Session: sess}, &policy.Request{Principal: pp, Action: action, Resource: "arn:aws:s3:::b/k"}).Allowed
	}
	for _, a := range []string{"s3:GetObject", "s3:PutObject", "s3:ListBucket", "s3:DeleteObject"} {
		if !allowed(a) {
			t.Errorf("%s denied", a)
		}
	}
	if allowed("s3:PutBucketPolicy") {
		t.Error("s3:PutBucketPolicy allowed")
	}
	// Changes take effect on the next call: new default version, detach, leave group.
	v := must[iam.PolicyVersion](t)(svc.CreatePolicyVersion(ctx, mp.ARN(), doc("s3:GetBucketTagging"), true))
	if v.VersionID != "v2" || allowed("s3:PutObject") || !allowed("s3:GetBucketTagging") {
		t.Errorf("new default version %s not in force", v.VersionID)
	}
	if err := st.DetachPolicy(ctx, acct, iam.EntityGroup, "devs", gp.ARN()); err != nil {
		t.Fatal(err)
	}
	if allowed("s3:DeleteObject") {
		t.Error("detached policy still in force")
	}
	if err := st.RemoveUserFromGroup(ctx, acct, "devs", "bob"); err != nil {
		t.Fatal(err)
	}
	if allowed("s3:ListBucket") {
		t.Error("group policy in force after leaving the group")
	}
}

func TestAssumeRole(t *testing.T) {
	ctx := context.Background()
	svc, clk := newService(t)
	st := svc.Store()
	must[iam.User](t)(svc.CreateUser(ctx, acct, "carol", ""))
	k, _, _ := svc.CreateAccessKey(ctx, acct, "carol")
	_, carol, _ := svc.Credentials(ctx, k.ID, "")
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + acct + `:user/carol"},"Action":"sts:AssumeRole"}]}`
	role := must[iam.Role](t)(svc.CreateRole(ctx, acct, "reader", "/app/", trust, "", 7200))
	if role.ARN() != "arn:aws:iam::"+acct+":role/app/reader" {
		t.Fatal(role.ARN())
	}
	if err := svc.PutInlinePolicy(ctx, acct, iam.EntityRole, "reader", "read",
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":"*"}]}`); err != nil {
		t.Fatal(err)
	}
	sessionPolicy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`
	creds, sp, packed, err := svc.AssumeRole(carol, role, "sess1", 0, sessionPolicy)
	if err != nil {
		t.Fatal(err)
	}
	if sp.ARN != "arn:aws:sts::"+acct+":assumed-role/reader/sess1" || sp.UserID != role.ID+":sess1" || packed <= 0 {
		t.Fatalf("%+v packed=%d", sp, packed)
	}
	_, p, err := svc.Credentials(ctx, creds.AccessKeyID, creds.SessionToken)
	if err != nil || p.Kind != iam.KindAssumedRole || p.RoleARN != role.ARN() || p.SessionPolicy != sessionPolicy {
		t.Fatalf("%v %+v", err, p)
	}
	id, sess, err := svc.Policies(ctx, p)
	if err != nil || len(id) != 1 || len(sess) != 1 {
		t.Fatalf("policies: %v %d %d", err, len(id), len(sess))
	}
	eval := func(action string) bool {
		pp := policy.Principal{Account: acct, ARN: p.ARN, RoleARN: p.RoleARN}
		return policy.Evaluate(&policy.Input{Identity: id, Session: sess}, &policy.Request{Principal: pp, Action: action, Resource: "arn:aws:s3:::b/k"}).Allowed
	}
	if !eval("s3:GetObject") || eval("s3:PutObject") {
		t.Error("the session policy does not narrow the role's permissions")
	}

	// Durations: above the role's maximum, role chaining over an hour.
	if _, _, _, err := svc.AssumeRole(carol, role, "s", 7201, ""); !errors.Is(err, iam.ErrValidation) {
		t.Errorf("over MaxSessionDuration: %v", err)
	}
	if _, _, _, err := svc.AssumeRole(p, role, "chain", 3601, ""); !errors.Is(err, iam.ErrValidation) {
		t.Errorf("chaining over 1h: %v", err)
	}
	if _, _, _, err := svc.AssumeRole(carol, role, "x", 0, ""); !errors.Is(err, iam.ErrValidation) {
		t.Errorf("one-character session name: %v", err)
	}
	if _, _, _, err := svc.AssumeRole(carol, role, "s2", 0, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"","Resource":"*"}]}`); err == nil {
		t.Error("malformed session policy accepted")
	}
	// Deleting the role ends its sessions.
	if err := st.DeleteInlinePolicy(ctx, acct, iam.EntityRole, "reader", "read"); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteRole(ctx, acct, "reader"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.Credentials(ctx, creds.AccessKeyID, creds.SessionToken); !errors.Is(err, iam.ErrInvalidToken) {
		t.Errorf("session of a deleted role: %v", err)
	}
	_ = clk
}

func TestAccounts(t *testing.T) {
	ctx := context.Background()
	svc, _ := newService(t)
	if _, _, err := svc.CreateAccount(ctx, acct); !errors.Is(err, iam.ErrEntityAlreadyExists) {
		t.Fatalf("default account re-created: %v", err)
	}
	if _, _, err := svc.CreateAccount(ctx, "12345"); !errors.Is(err, iam.ErrValidation) {
		t.Fatalf("bad id: %v", err)
	}
	a, secret, err := svc.CreateAccount(ctx, "444455556666")
	if err != nil {
		t.Fatal(err)
	}
	got, p, err := svc.Credentials(ctx, a.RootAccessKey, "")
	if err != nil || got != secret || !p.IsRoot() || p.AccountID != "444455556666" {
		t.Fatalf("%v %+v", err, p)
	}
	// Entities of different accounts do not collide.
	must[iam.User](t)(svc.CreateUser(ctx, acct, "same", ""))
	must[iam.User](t)(svc.CreateUser(ctx, "444455556666", "same", ""))
	if _, err := svc.CreateUser(ctx, acct, "SAME", ""); !errors.Is(err, iam.ErrEntityAlreadyExists) {
		t.Fatalf("names are case-insensitive: %v", err)
	}
}
