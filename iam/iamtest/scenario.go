package iamtest

import (
	"context"
	"testing"
	"time"

	"github.com/postern/postern/iam"
)

// testScenario runs the life of an account: users and keys, inline and
// managed policies, groups and roles, in the order a deployment meets them.
func testScenario(t *testing.T, s iam.Store) {
	ctx := context.Background()
	check := func(err error, want error) {
		t.Helper()
		checkErr(t, err, want)
	}
	check(s.CreateAccount(ctx, iam.Account{ID: acct, CreatedAt: now}), nil)
	check(s.CreateAccount(ctx, iam.Account{ID: acct, CreatedAt: now}), iam.ErrEntityAlreadyExists)
	check(s.CreateUser(ctx, iam.User{ID: "AIDA1", AccountID: acct, Name: "Alice", Path: "/", CreatedAt: now}), nil)
	check(s.CreateUser(ctx, iam.User{ID: "AIDA2", AccountID: acct, Name: "alice", Path: "/", CreatedAt: now}), iam.ErrEntityAlreadyExists)
	_, err := s.GetUser(ctx, acct, "nobody")
	check(err, iam.ErrNoSuchEntity)

	// Access keys: at most two, scoped to their user.
	for i, id := range []string{"AKIA1", "AKIA2", "AKIA3"} {
		err := s.CreateAccessKey(ctx, acct, "ALICE", iam.AccessKey{ID: id, Secret: []byte{1}, Status: iam.StatusActive, CreatedAt: now})
		if i < 2 {
			check(err, nil)
		} else {
			check(err, iam.ErrLimitExceeded)
		}
	}
	k, err := s.GetAccessKey(ctx, "AKIA1")
	check(err, nil)
	if k.UserName != "Alice" || k.AccountID != acct || k.UserID != "AIDA1" {
		t.Fatalf("%+v", k)
	}
	check(s.TouchAccessKey(ctx, "AKIA1", now.Add(time.Minute), "s3", "us-east-1"), nil)
	k, _ = s.GetAccessKey(ctx, "AKIA1")
	if !k.LastUsed.Equal(now.Add(time.Minute)) || k.LastService != "s3" {
		t.Fatalf("last used: %+v", k)
	}

	// Rename keeps the keys (they refer to the user id).
	check(s.UpdateUser(ctx, acct, "alice", "alicia", "/new/"), nil)
	keys, err := s.ListAccessKeys(ctx, acct, "alicia")
	check(err, nil)
	if len(keys) != 2 || keys[0].UserPath != "/new/" {
		t.Fatalf("%+v", keys)
	}

	// Inline policies: aggregate size quota.
	check(s.PutInlinePolicy(ctx, acct, iam.EntityUser, "alicia", "a", "{}", 1500, 2048), nil)
	check(s.PutInlinePolicy(ctx, acct, iam.EntityUser, "alicia", "b", "{}", 600, 2048), iam.ErrLimitExceeded)
	check(s.PutInlinePolicy(ctx, acct, iam.EntityUser, "alicia", "a", "{ }", 2000, 2048), nil) // replacing is not adding
	_, err = s.GetInlinePolicy(ctx, acct, iam.EntityUser, "alicia", "b")
	check(err, iam.ErrNoSuchEntity)

	// Managed policies: versions, default, attachments, delete conflicts.
	p := iam.ManagedPolicy{ID: "ANPA1", AccountID: acct, Name: "pol", Path: "/", CreatedAt: now, UpdatedAt: now}
	check(s.CreatePolicy(ctx, p, "doc1"), nil)
	arn := p.ARN()
	for i := 2; i <= 6; i++ {
		_, err := s.CreatePolicyVersion(ctx, arn, "doc", false, now)
		if i <= 5 {
			check(err, nil)
		} else {
			check(err, iam.ErrLimitExceeded)
		}
	}
	check(s.DeletePolicyVersion(ctx, arn, "v1"), iam.ErrDeleteConflict)
	check(s.SetDefaultPolicyVersion(ctx, arn, "v3", now), nil)
	check(s.SetDefaultPolicyVersion(ctx, arn, "v9", now), iam.ErrNoSuchEntity)
	vs, err := s.ListPolicyVersions(ctx, arn)
	check(err, nil)
	if len(vs) != 5 || vs[0].VersionID != "v5" || !vs[2].IsDefault {
		t.Fatalf("%+v", vs)
	}
	check(s.AttachPolicy(ctx, acct, iam.EntityUser, "alicia", arn), nil)
	check(s.AttachPolicy(ctx, acct, iam.EntityUser, "alicia", arn), nil) // idempotent
	ents, err := s.ListEntitiesForPolicy(ctx, arn)
	check(err, nil)
	if len(ents.Users) != 1 || ents.Users[0].Name != "alicia" {
		t.Fatalf("%+v", ents)
	}
	check(s.DeletePolicy(ctx, arn), iam.ErrDeleteConflict)
	docs, err := s.PolicyDocuments(ctx, "AIDA1")
	check(err, nil)
	if len(docs) != 2 { // inline "a" and pol's default version
		t.Fatalf("docs %q", docs)
	}
	check(s.DeleteUser(ctx, acct, "alicia"), iam.ErrDeleteConflict)
	check(s.DetachPolicy(ctx, acct, iam.EntityUser, "alicia", arn), nil)
	check(s.DetachPolicy(ctx, acct, iam.EntityUser, "alicia", arn), iam.ErrNoSuchEntity)
	check(s.DeletePolicy(ctx, arn), iam.ErrDeleteConflict) // still has non-default versions
	for _, v := range []string{"v1", "v2", "v4", "v5"} {
		check(s.DeletePolicyVersion(ctx, arn, v), nil)
	}
	check(s.DeletePolicy(ctx, arn), nil)

	// Groups and roles.
	check(s.CreateGroup(ctx, iam.Group{ID: "AGPA1", AccountID: acct, Name: "devs", Path: "/", CreatedAt: now}), nil)
	check(s.AddUserToGroup(ctx, acct, "devs", "alicia"), nil)
	check(s.DeleteGroup(ctx, acct, "devs"), iam.ErrDeleteConflict)
	gs, err := s.ListGroupsForUser(ctx, acct, "alicia")
	check(err, nil)
	if len(gs) != 1 {
		t.Fatalf("%+v", gs)
	}
	check(s.CreateRole(ctx, iam.Role{ID: "AROA1", AccountID: acct, Name: "r", Path: "/", TrustPolicy: "{}", MaxSessionDuration: 3600, CreatedAt: now}), nil)
	check(s.UpdateTrustPolicy(ctx, acct, "R", "{ }"), nil)
	r, err := s.GetRoleByID(ctx, "AROA1")
	check(err, nil)
	if r.TrustPolicy != "{ }" {
		t.Fatalf("%+v", r)
	}
	check(s.UpdateTrustPolicy(ctx, acct, "nope", "{}"), iam.ErrNoSuchEntity)
}
