// Package iamtest is the conformance suite of iam.Store: every
// implementation runs it from its own tests with
// iamtest.Run(t, func(t *testing.T) iam.Store { … a new, empty store … }).
// It uses the interface only, and checks every method's results and its
// error values (errors.Is against iam.ErrNoSuchEntity and the other
// sentinels), IAM's limits and delete conflicts, case-insensitive names,
// and that every change is seen by the next read (revocation is immediate).
package iamtest

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/postern/postern/iam"
)

// Opener returns a new, empty store for one test, closing it with t.Cleanup.
type Opener func(t *testing.T) iam.Store

// Run runs the whole suite, each test with its own store.
func Run(t *testing.T, open Opener) {
	for _, tc := range []struct {
		name string
		fn   func(*testing.T, iam.Store)
	}{
		{"Accounts", testAccounts},
		{"Users", testUsers},
		{"AccessKeys", testAccessKeys},
		{"Groups", testGroups},
		{"Roles", testRoles},
		{"InlinePolicies", testInlinePolicies},
		{"ManagedPolicies", testManagedPolicies},
		{"ImportPolicy", testImportPolicy},
		{"Scenario", testScenario},
		{"ServerKeyCheck", testServerKeyCheck},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
}

const acct = "111122223333"

var now = time.Unix(1700000000, 0).UTC()

func checkErr(t *testing.T, err, want error) {
	t.Helper()
	if want == nil && err != nil || want != nil && !errors.Is(err, want) {
		t.Fatalf("got %v, want %v", err, want)
	}
}

// mustAccount creates the account every entity of a test belongs to.
func mustAccount(t *testing.T, s iam.Store, id string) {
	t.Helper()
	checkErr(t, s.CreateAccount(context.Background(), iam.Account{ID: id, CreatedAt: now}), nil)
}

func mustUser(t *testing.T, s iam.Store, id, name, path string) {
	t.Helper()
	checkErr(t, s.CreateUser(context.Background(), iam.User{ID: id, AccountID: acct, Name: name, Path: path, CreatedAt: now}), nil)
}

func testAccounts(t *testing.T, s iam.Store) {
	ctx := context.Background()
	a := iam.Account{ID: acct, CreatedAt: now, RootAccessKey: "AKIAROOT", RootSecret: []byte{1, 2, 3}}
	checkErr(t, s.CreateAccount(ctx, a), nil)
	checkErr(t, s.CreateAccount(ctx, iam.Account{ID: acct, CreatedAt: now}), iam.ErrEntityAlreadyExists)
	got, err := s.GetAccount(ctx, acct)
	checkErr(t, err, nil)
	if got.ID != acct || !got.CreatedAt.Equal(now) || got.RootAccessKey != "AKIAROOT" || !reflect.DeepEqual(got.RootSecret, []byte{1, 2, 3}) {
		t.Fatalf("GetAccount = %+v", got)
	}
	got, err = s.AccountByRootKey(ctx, "AKIAROOT")
	checkErr(t, err, nil)
	if got.ID != acct {
		t.Fatalf("AccountByRootKey = %+v", got)
	}
	_, err = s.GetAccount(ctx, "999999999999")
	checkErr(t, err, iam.ErrNoSuchEntity)
	_, err = s.AccountByRootKey(ctx, "AKIANOPE")
	checkErr(t, err, iam.ErrNoSuchEntity)

	// ListAccounts: every account, by id, with its root key.
	checkErr(t, s.CreateAccount(ctx, iam.Account{ID: "000011112222", CreatedAt: now.Add(time.Hour)}), nil)
	all, err := s.ListAccounts(ctx)
	checkErr(t, err, nil)
	if len(all) != 2 || all[0].ID != "000011112222" || all[0].RootAccessKey != "" || !all[0].CreatedAt.Equal(now.Add(time.Hour)) ||
		all[1].ID != acct || all[1].RootAccessKey != "AKIAROOT" || !reflect.DeepEqual(all[1].RootSecret, []byte{1, 2, 3}) {
		t.Fatalf("ListAccounts = %+v", all)
	}
}

// testImportPolicy: a policy imported with its versions keeps their ids,
// documents, times and default; the next version is numbered after the
// highest; a taken name is refused.
func testImportPolicy(t *testing.T, s iam.Store) {
	ctx := context.Background()
	mustAccount(t, s, acct)
	p := iam.ManagedPolicy{ID: "ANPAIMP", AccountID: acct, Name: "Imp", Path: "/x/", Description: "d", DefaultVersion: "v4", CreatedAt: now, UpdatedAt: now.Add(2 * time.Hour)}
	vs := []iam.PolicyVersion{
		{VersionID: "v4", Document: "doc4", CreatedAt: now.Add(2 * time.Hour)},
		{VersionID: "v2", Document: "doc2", CreatedAt: now.Add(time.Hour)},
	}
	checkErr(t, s.ImportPolicy(ctx, p, vs), nil)
	checkErr(t, s.ImportPolicy(ctx, p, vs), iam.ErrEntityAlreadyExists)
	got, err := s.GetPolicy(ctx, p.ARN())
	checkErr(t, err, nil)
	if got.ID != p.ID || got.DefaultVersion != "v4" || got.Description != "d" || !got.CreatedAt.Equal(now) || !got.UpdatedAt.Equal(now.Add(2*time.Hour)) {
		t.Fatalf("GetPolicy = %+v", got)
	}
	list, err := s.ListPolicyVersions(ctx, p.ARN())
	checkErr(t, err, nil)
	if len(list) != 2 || list[0].VersionID != "v4" || !list[0].IsDefault || list[0].Document != "doc4" ||
		list[1].VersionID != "v2" || list[1].IsDefault || list[1].Document != "doc2" || !list[1].CreatedAt.Equal(now.Add(time.Hour)) {
		t.Fatalf("ListPolicyVersions = %+v", list)
	}
	docs, err := s.PolicyDocuments(ctx, "AIDANONE")
	checkErr(t, err, nil)
	if len(docs) != 0 {
		t.Fatalf("PolicyDocuments = %v", docs)
	}
	v, err := s.CreatePolicyVersion(ctx, p.ARN(), "doc5", false, now)
	checkErr(t, err, nil)
	if v.VersionID != "v5" {
		t.Fatalf("next version after an import of v2, v4 = %s, want v5", v.VersionID)
	}
	// A default that is not among the versions, or no versions, is refused.
	bad := iam.ManagedPolicy{ID: "ANPABAD", AccountID: acct, Name: "Bad", Path: "/", DefaultVersion: "v3", CreatedAt: now, UpdatedAt: now}
	if err := s.ImportPolicy(ctx, bad, vs); err == nil {
		t.Fatal("ImportPolicy accepted a default version it was not given")
	}
	if err := s.ImportPolicy(ctx, bad, nil); err == nil {
		t.Fatal("ImportPolicy accepted no versions")
	}
	if _, err := s.GetPolicy(ctx, bad.ARN()); !errors.Is(err, iam.ErrNoSuchEntity) {
		t.Fatalf("a refused import left a policy behind: %v", err)
	}
}

func userNames(us []iam.User) []string {
	var out []string
	for _, u := range us {
		out = append(out, u.Name)
	}
	return out
}

func testUsers(t *testing.T, s iam.Store) {
	ctx := context.Background()
	mustAccount(t, s, acct)
	mustUser(t, s, "AIDA1", "Alice", "/")
	mustUser(t, s, "AIDA2", "bob", "/eng/")
	mustUser(t, s, "AIDA3", "carol", "/eng/ops/")
	// Names compare case-insensitively, ids are unique.
	checkErr(t, s.CreateUser(ctx, iam.User{ID: "AIDA4", AccountID: acct, Name: "ALICE", Path: "/", CreatedAt: now}), iam.ErrEntityAlreadyExists)
	mustAccount(t, s, "222233334444")
	checkErr(t, s.CreateUser(ctx, iam.User{ID: "AIDA5", AccountID: "222233334444", Name: "alice", Path: "/", CreatedAt: now}), nil)
	u, err := s.GetUser(ctx, acct, "aLiCe")
	checkErr(t, err, nil)
	if u.ID != "AIDA1" || u.Name != "Alice" || u.AccountID != acct || u.Path != "/" || !u.CreatedAt.Equal(now) {
		t.Fatalf("GetUser = %+v", u)
	}
	u, err = s.GetUserByID(ctx, "AIDA2")
	checkErr(t, err, nil)
	if u.Name != "bob" || u.Path != "/eng/" {
		t.Fatalf("GetUserByID = %+v", u)
	}
	_, err = s.GetUserByID(ctx, "AIDANOPE")
	checkErr(t, err, iam.ErrNoSuchEntity)
	_, err = s.GetUser(ctx, "222233334444", "bob")
	checkErr(t, err, iam.ErrNoSuchEntity)
	for _, tc := range []struct {
		prefix string
		want   []string
	}{
		{"", []string{"Alice", "bob", "carol"}},
		{"/", []string{"Alice", "bob", "carol"}},
		{"/eng/", []string{"bob", "carol"}},
		{"/eng/ops/", []string{"carol"}},
		{"/nope/", nil},
	} {
		us, err := s.ListUsers(ctx, acct, tc.prefix)
		checkErr(t, err, nil)
		got := userNames(us)
		slices.Sort(got)
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ListUsers(%q) = %v, want %v", tc.prefix, got, tc.want)
		}
	}
	checkErr(t, s.UpdateUser(ctx, acct, "BOB", "robert", "/mgmt/"), nil)
	u, err = s.GetUser(ctx, acct, "robert")
	checkErr(t, err, nil)
	if u.ID != "AIDA2" || u.Path != "/mgmt/" {
		t.Fatalf("renamed user = %+v", u)
	}
	_, err = s.GetUser(ctx, acct, "bob")
	checkErr(t, err, iam.ErrNoSuchEntity)
	checkErr(t, s.UpdateUser(ctx, acct, "robert", "carol", "/"), iam.ErrEntityAlreadyExists)
	checkErr(t, s.UpdateUser(ctx, acct, "nobody", "x", "/"), iam.ErrNoSuchEntity)
	checkErr(t, s.DeleteUser(ctx, acct, "robert"), nil)
	checkErr(t, s.DeleteUser(ctx, acct, "robert"), iam.ErrNoSuchEntity)
	_, err = s.GetUserByID(ctx, "AIDA2")
	checkErr(t, err, iam.ErrNoSuchEntity)
}

func testAccessKeys(t *testing.T, s iam.Store) {
	ctx := context.Background()
	mustAccount(t, s, acct)
	mustUser(t, s, "AIDA1", "alice", "/p/")
	mustUser(t, s, "AIDA2", "bob", "/")
	key := func(id string) iam.AccessKey {
		return iam.AccessKey{ID: id, Secret: []byte("sealed-" + id), Status: iam.StatusActive, CreatedAt: now}
	}
	checkErr(t, s.CreateAccessKey(ctx, acct, "nobody", key("AKIA0")), iam.ErrNoSuchEntity)
	for i, id := range []string{"AKIA1", "AKIA2", "AKIA3"} {
		err := s.CreateAccessKey(ctx, acct, "ALICE", key(id))
		if i < iam.MaxAccessKeysPerUser {
			checkErr(t, err, nil)
		} else {
			checkErr(t, err, iam.ErrLimitExceeded)
		}
	}
	k, err := s.GetAccessKey(ctx, "AKIA1")
	checkErr(t, err, nil)
	if k.UserName != "alice" || k.UserID != "AIDA1" || k.AccountID != acct || k.UserPath != "/p/" ||
		k.Status != iam.StatusActive || string(k.Secret) != "sealed-AKIA1" || !k.CreatedAt.Equal(now) || !k.LastUsed.IsZero() {
		t.Fatalf("GetAccessKey = %+v", k)
	}
	_, err = s.GetAccessKey(ctx, "AKIA3")
	checkErr(t, err, iam.ErrNoSuchEntity)
	keys, err := s.ListAccessKeys(ctx, acct, "alice")
	checkErr(t, err, nil)
	if len(keys) != 2 {
		t.Fatalf("ListAccessKeys = %+v", keys)
	}
	_, err = s.ListAccessKeys(ctx, acct, "nobody")
	checkErr(t, err, iam.ErrNoSuchEntity)
	// Deactivation is seen by the next read.
	checkErr(t, s.UpdateAccessKey(ctx, acct, "alice", "AKIA1", iam.StatusInactive), nil)
	k, _ = s.GetAccessKey(ctx, "AKIA1")
	if k.Status != iam.StatusInactive {
		t.Fatalf("status after update = %q", k.Status)
	}
	// A key is addressed through its own user only.
	checkErr(t, s.UpdateAccessKey(ctx, acct, "bob", "AKIA1", iam.StatusActive), iam.ErrNoSuchEntity)
	checkErr(t, s.DeleteAccessKey(ctx, acct, "bob", "AKIA1"), iam.ErrNoSuchEntity)
	checkErr(t, s.TouchAccessKey(ctx, "AKIA2", now.Add(time.Minute), "s3", "eu-west-1"), nil)
	k, _ = s.GetAccessKey(ctx, "AKIA2")
	if !k.LastUsed.Equal(now.Add(time.Minute)) || k.LastService != "s3" || k.LastRegion != "eu-west-1" {
		t.Fatalf("after touch: %+v", k)
	}
	// A user with keys cannot be deleted.
	checkErr(t, s.DeleteUser(ctx, acct, "alice"), iam.ErrDeleteConflict)
	checkErr(t, s.DeleteAccessKey(ctx, acct, "alice", "AKIA1"), nil)
	checkErr(t, s.DeleteAccessKey(ctx, acct, "alice", "AKIA1"), iam.ErrNoSuchEntity)
	_, err = s.GetAccessKey(ctx, "AKIA1")
	checkErr(t, err, iam.ErrNoSuchEntity)
	checkErr(t, s.CreateAccessKey(ctx, acct, "alice", key("AKIA4")), nil) // room again
	checkErr(t, s.DeleteAccessKey(ctx, acct, "alice", "AKIA2"), nil)
	checkErr(t, s.DeleteAccessKey(ctx, acct, "alice", "AKIA4"), nil)
	checkErr(t, s.DeleteUser(ctx, acct, "alice"), nil)
}

func testGroups(t *testing.T, s iam.Store) {
	ctx := context.Background()
	mustAccount(t, s, acct)
	mustUser(t, s, "AIDA1", "alice", "/")
	mustUser(t, s, "AIDA2", "bob", "/")
	checkErr(t, s.CreateGroup(ctx, iam.Group{ID: "AGPA1", AccountID: acct, Name: "Devs", Path: "/eng/", CreatedAt: now}), nil)
	checkErr(t, s.CreateGroup(ctx, iam.Group{ID: "AGPA2", AccountID: acct, Name: "ops", Path: "/", CreatedAt: now}), nil)
	checkErr(t, s.CreateGroup(ctx, iam.Group{ID: "AGPA3", AccountID: acct, Name: "DEVS", Path: "/", CreatedAt: now}), iam.ErrEntityAlreadyExists)
	g, err := s.GetGroup(ctx, acct, "devs")
	checkErr(t, err, nil)
	if g.ID != "AGPA1" || g.Name != "Devs" || g.Path != "/eng/" || !g.CreatedAt.Equal(now) {
		t.Fatalf("GetGroup = %+v", g)
	}
	_, err = s.GetGroup(ctx, acct, "nope")
	checkErr(t, err, iam.ErrNoSuchEntity)
	gs, err := s.ListGroups(ctx, acct, "/eng/")
	checkErr(t, err, nil)
	if len(gs) != 1 || gs[0].Name != "Devs" {
		t.Fatalf("ListGroups(/eng/) = %+v", gs)
	}
	gs, _ = s.ListGroups(ctx, acct, "")
	if len(gs) != 2 {
		t.Fatalf("ListGroups = %+v", gs)
	}
	checkErr(t, s.AddUserToGroup(ctx, acct, "devs", "alice"), nil)
	checkErr(t, s.AddUserToGroup(ctx, acct, "devs", "alice"), nil) // already a member: no error, as IAM
	checkErr(t, s.AddUserToGroup(ctx, acct, "devs", "bob"), nil)
	checkErr(t, s.AddUserToGroup(ctx, acct, "ops", "alice"), nil)
	checkErr(t, s.AddUserToGroup(ctx, acct, "nope", "alice"), iam.ErrNoSuchEntity)
	checkErr(t, s.AddUserToGroup(ctx, acct, "devs", "nobody"), iam.ErrNoSuchEntity)
	members, err := s.ListGroupMembers(ctx, acct, "devs")
	checkErr(t, err, nil)
	names := userNames(members)
	slices.Sort(names)
	if !reflect.DeepEqual(names, []string{"alice", "bob"}) {
		t.Fatalf("ListGroupMembers = %v", names)
	}
	_, err = s.ListGroupMembers(ctx, acct, "nope")
	checkErr(t, err, iam.ErrNoSuchEntity)
	gs, err = s.ListGroupsForUser(ctx, acct, "alice")
	checkErr(t, err, nil)
	if len(gs) != 2 {
		t.Fatalf("ListGroupsForUser = %+v", gs)
	}
	_, err = s.ListGroupsForUser(ctx, acct, "nobody")
	checkErr(t, err, iam.ErrNoSuchEntity)
	checkErr(t, s.DeleteGroup(ctx, acct, "devs"), iam.ErrDeleteConflict)
	checkErr(t, s.DeleteUser(ctx, acct, "bob"), iam.ErrDeleteConflict) // a member
	checkErr(t, s.RemoveUserFromGroup(ctx, acct, "devs", "bob"), nil)
	checkErr(t, s.RemoveUserFromGroup(ctx, acct, "devs", "bob"), iam.ErrNoSuchEntity)
	checkErr(t, s.DeleteUser(ctx, acct, "bob"), nil)
	checkErr(t, s.RemoveUserFromGroup(ctx, acct, "devs", "alice"), nil)
	checkErr(t, s.DeleteGroup(ctx, acct, "devs"), nil)
	checkErr(t, s.DeleteGroup(ctx, acct, "devs"), iam.ErrNoSuchEntity)
	gs, _ = s.ListGroupsForUser(ctx, acct, "alice")
	if len(gs) != 1 || gs[0].Name != "ops" {
		t.Fatalf("groups of alice after delete = %+v", gs)
	}
}

func testRoles(t *testing.T, s iam.Store) {
	ctx := context.Background()
	mustAccount(t, s, acct)
	r := iam.Role{ID: "AROA1", AccountID: acct, Name: "Deploy", Path: "/svc/", Description: "d", TrustPolicy: `{"t":1}`, MaxSessionDuration: 3600, CreatedAt: now}
	checkErr(t, s.CreateRole(ctx, r), nil)
	checkErr(t, s.CreateRole(ctx, iam.Role{ID: "AROA2", AccountID: acct, Name: "deploy", Path: "/", TrustPolicy: "{}", MaxSessionDuration: 3600, CreatedAt: now}), iam.ErrEntityAlreadyExists)
	checkErr(t, s.CreateRole(ctx, iam.Role{ID: "AROA3", AccountID: acct, Name: "other", Path: "/", TrustPolicy: "{}", MaxSessionDuration: 3600, CreatedAt: now}), nil)
	got, err := s.GetRole(ctx, acct, "DEPLOY")
	checkErr(t, err, nil)
	if !got.CreatedAt.Equal(r.CreatedAt) {
		t.Fatalf("CreatedAt = %v", got.CreatedAt)
	}
	got.CreatedAt = r.CreatedAt
	if !reflect.DeepEqual(got, r) {
		t.Fatalf("GetRole = %+v, want %+v", got, r)
	}
	got, err = s.GetRoleByID(ctx, "AROA1")
	checkErr(t, err, nil)
	if got.Name != "Deploy" {
		t.Fatalf("GetRoleByID = %+v", got)
	}
	_, err = s.GetRoleByID(ctx, "AROANOPE")
	checkErr(t, err, iam.ErrNoSuchEntity)
	_, err = s.GetRole(ctx, acct, "nope")
	checkErr(t, err, iam.ErrNoSuchEntity)
	rs, err := s.ListRoles(ctx, acct, "/svc/")
	checkErr(t, err, nil)
	if len(rs) != 1 || rs[0].Name != "Deploy" {
		t.Fatalf("ListRoles(/svc/) = %+v", rs)
	}
	desc := "new"
	checkErr(t, s.UpdateRole(ctx, acct, "deploy", &desc, 7200), nil)
	got, _ = s.GetRole(ctx, acct, "deploy")
	if got.Description != "new" || got.MaxSessionDuration != 7200 {
		t.Fatalf("after UpdateRole: %+v", got)
	}
	checkErr(t, s.UpdateRole(ctx, acct, "deploy", nil, 0), nil) // neither given: nothing changes
	got, _ = s.GetRole(ctx, acct, "deploy")
	if got.Description != "new" || got.MaxSessionDuration != 7200 {
		t.Fatalf("after empty UpdateRole: %+v", got)
	}
	checkErr(t, s.UpdateRole(ctx, acct, "nope", &desc, 3600), iam.ErrNoSuchEntity)
	checkErr(t, s.UpdateTrustPolicy(ctx, acct, "DEPLOY", "{ }"), nil)
	got, _ = s.GetRoleByID(ctx, "AROA1")
	if got.TrustPolicy != "{ }" {
		t.Fatalf("trust policy = %q", got.TrustPolicy)
	}
	checkErr(t, s.UpdateTrustPolicy(ctx, acct, "nope", "{}"), iam.ErrNoSuchEntity)
	checkErr(t, s.PutInlinePolicy(ctx, acct, iam.EntityRole, "deploy", "p", "{}", 2, 10240), nil)
	checkErr(t, s.DeleteRole(ctx, acct, "deploy"), iam.ErrDeleteConflict)
	checkErr(t, s.DeleteInlinePolicy(ctx, acct, iam.EntityRole, "deploy", "p"), nil)
	checkErr(t, s.DeleteRole(ctx, acct, "deploy"), nil)
	checkErr(t, s.DeleteRole(ctx, acct, "deploy"), iam.ErrNoSuchEntity)
}

func testInlinePolicies(t *testing.T, s iam.Store) {
	ctx := context.Background()
	mustAccount(t, s, acct)
	mustUser(t, s, "AIDA1", "alice", "/")
	checkErr(t, s.CreateGroup(ctx, iam.Group{ID: "AGPA1", AccountID: acct, Name: "g", Path: "/", CreatedAt: now}), nil)
	checkErr(t, s.CreateRole(ctx, iam.Role{ID: "AROA1", AccountID: acct, Name: "r", Path: "/", TrustPolicy: "{}", MaxSessionDuration: 3600, CreatedAt: now}), nil)
	for _, e := range []struct {
		t    iam.EntityType
		name string
	}{{iam.EntityUser, "alice"}, {iam.EntityGroup, "g"}, {iam.EntityRole, "r"}} {
		checkErr(t, s.PutInlinePolicy(ctx, acct, e.t, "nope", "p", "{}", 2, 2048), iam.ErrNoSuchEntity)
		checkErr(t, s.PutInlinePolicy(ctx, acct, e.t, e.name, "b", "doc-b", 1000, 2048), nil)
		checkErr(t, s.PutInlinePolicy(ctx, acct, e.t, e.name, "a", "doc-a", 1000, 2048), nil)
		checkErr(t, s.PutInlinePolicy(ctx, acct, e.t, e.name, "c", "doc-c", 100, 2048), iam.ErrLimitExceeded)
		checkErr(t, s.PutInlinePolicy(ctx, acct, e.t, e.name, "a", "doc-a2", 1048, 2048), nil) // replacing is not adding
		doc, err := s.GetInlinePolicy(ctx, acct, e.t, e.name, "a")
		checkErr(t, err, nil)
		if doc != "doc-a2" {
			t.Fatalf("%s: GetInlinePolicy = %q", e.t, doc)
		}
		_, err = s.GetInlinePolicy(ctx, acct, e.t, e.name, "c")
		checkErr(t, err, iam.ErrNoSuchEntity)
		names, err := s.ListInlinePolicies(ctx, acct, e.t, e.name)
		checkErr(t, err, nil)
		if !reflect.DeepEqual(names, []string{"a", "b"}) {
			t.Fatalf("%s: ListInlinePolicies = %v, want [a b] (by name)", e.t, names)
		}
		_, err = s.ListInlinePolicies(ctx, acct, e.t, "nope")
		checkErr(t, err, iam.ErrNoSuchEntity)
		checkErr(t, s.DeleteInlinePolicy(ctx, acct, e.t, e.name, "b"), nil)
		checkErr(t, s.DeleteInlinePolicy(ctx, acct, e.t, e.name, "b"), iam.ErrNoSuchEntity)
	}
	// The documents in force: a user's own and its groups'.
	checkErr(t, s.AddUserToGroup(ctx, acct, "g", "alice"), nil)
	docs, err := s.PolicyDocuments(ctx, "AIDA1")
	checkErr(t, err, nil)
	slices.Sort(docs)
	if !reflect.DeepEqual(docs, []string{"doc-a2", "doc-a2"}) {
		t.Fatalf("PolicyDocuments(user) = %q", docs)
	}
	docs, err = s.PolicyDocuments(ctx, "AROA1")
	checkErr(t, err, nil)
	if !reflect.DeepEqual(docs, []string{"doc-a2"}) {
		t.Fatalf("PolicyDocuments(role) = %q", docs)
	}
	// Removing the membership takes the group's policies away at once.
	checkErr(t, s.RemoveUserFromGroup(ctx, acct, "g", "alice"), nil)
	docs, _ = s.PolicyDocuments(ctx, "AIDA1")
	if len(docs) != 1 {
		t.Fatalf("PolicyDocuments after leaving the group = %q", docs)
	}
}

func testManagedPolicies(t *testing.T, s iam.Store) {
	ctx := context.Background()
	mustAccount(t, s, acct)
	mustUser(t, s, "AIDA1", "alice", "/")
	checkErr(t, s.CreateGroup(ctx, iam.Group{ID: "AGPA1", AccountID: acct, Name: "g", Path: "/", CreatedAt: now}), nil)
	checkErr(t, s.CreateRole(ctx, iam.Role{ID: "AROA1", AccountID: acct, Name: "r", Path: "/", TrustPolicy: "{}", MaxSessionDuration: 3600, CreatedAt: now}), nil)
	p := iam.ManagedPolicy{ID: "ANPA1", AccountID: acct, Name: "Pol", Path: "/team/", Description: "desc", CreatedAt: now, UpdatedAt: now}
	checkErr(t, s.CreatePolicy(ctx, p, "doc1"), nil)
	checkErr(t, s.CreatePolicy(ctx, iam.ManagedPolicy{ID: "ANPA2", AccountID: acct, Name: "Pol", Path: "/team/", CreatedAt: now, UpdatedAt: now}, "x"), iam.ErrEntityAlreadyExists)
	other := iam.ManagedPolicy{ID: "ANPA3", AccountID: acct, Name: "other", Path: "/", CreatedAt: now, UpdatedAt: now}
	checkErr(t, s.CreatePolicy(ctx, other, "other-doc"), nil)
	arn := p.ARN()
	got, err := s.GetPolicy(ctx, arn)
	checkErr(t, err, nil)
	if got.ID != "ANPA1" || got.Name != "Pol" || got.Path != "/team/" || got.Description != "desc" || got.DefaultVersion != "v1" || got.AttachmentCount != 0 {
		t.Fatalf("GetPolicy = %+v", got)
	}
	_, err = s.GetPolicy(ctx, "arn:aws:iam::"+acct+":policy/nope")
	checkErr(t, err, iam.ErrNoSuchEntity)
	v, err := s.GetPolicyVersion(ctx, arn, "v1")
	checkErr(t, err, nil)
	if v.Document != "doc1" || !v.IsDefault {
		t.Fatalf("GetPolicyVersion(v1) = %+v", v)
	}
	_, err = s.GetPolicyVersion(ctx, arn, "v2")
	checkErr(t, err, iam.ErrNoSuchEntity)
	v, err = s.CreatePolicyVersion(ctx, arn, "doc2", true, now.Add(time.Hour))
	checkErr(t, err, nil)
	if v.VersionID != "v2" || !v.IsDefault || v.Document != "doc2" {
		t.Fatalf("CreatePolicyVersion = %+v", v)
	}
	got, _ = s.GetPolicy(ctx, arn)
	if got.DefaultVersion != "v2" {
		t.Fatalf("default after set-as-default version = %q", got.DefaultVersion)
	}
	for i := 3; i <= iam.MaxPolicyVersions+1; i++ {
		_, err := s.CreatePolicyVersion(ctx, arn, "doc", false, now)
		if i <= iam.MaxPolicyVersions {
			checkErr(t, err, nil)
		} else {
			checkErr(t, err, iam.ErrLimitExceeded)
		}
	}
	_, err = s.CreatePolicyVersion(ctx, "arn:aws:iam::"+acct+":policy/nope", "doc", false, now)
	checkErr(t, err, iam.ErrNoSuchEntity)
	vs, err := s.ListPolicyVersions(ctx, arn)
	checkErr(t, err, nil)
	if len(vs) != iam.MaxPolicyVersions || vs[0].VersionID != "v5" || vs[4].VersionID != "v1" || !vs[3].IsDefault {
		t.Fatalf("ListPolicyVersions = %+v (newest first, v2 default)", vs)
	}
	checkErr(t, s.DeletePolicyVersion(ctx, arn, "v2"), iam.ErrDeleteConflict) // the default
	checkErr(t, s.SetDefaultPolicyVersion(ctx, arn, "v1", now), nil)
	checkErr(t, s.SetDefaultPolicyVersion(ctx, arn, "v9", now), iam.ErrNoSuchEntity)
	checkErr(t, s.DeletePolicyVersion(ctx, arn, "v2"), nil)
	checkErr(t, s.DeletePolicyVersion(ctx, arn, "v2"), iam.ErrNoSuchEntity)

	// Attachments, to each kind of entity.
	for _, e := range []struct {
		t    iam.EntityType
		name string
	}{{iam.EntityUser, "alice"}, {iam.EntityGroup, "g"}, {iam.EntityRole, "r"}} {
		checkErr(t, s.AttachPolicy(ctx, acct, e.t, e.name, arn), nil)
		checkErr(t, s.AttachPolicy(ctx, acct, e.t, e.name, arn), nil) // idempotent
		checkErr(t, s.AttachPolicy(ctx, acct, e.t, "nope", arn), iam.ErrNoSuchEntity)
		checkErr(t, s.AttachPolicy(ctx, acct, e.t, e.name, "arn:aws:iam::"+acct+":policy/nope"), iam.ErrNoSuchEntity)
		aps, err := s.ListAttachedPolicies(ctx, acct, e.t, e.name)
		checkErr(t, err, nil)
		if !reflect.DeepEqual(aps, []iam.AttachedPolicy{{Name: "Pol", ARN: arn}}) {
			t.Fatalf("%s: ListAttachedPolicies = %+v", e.t, aps)
		}
		_, err = s.ListAttachedPolicies(ctx, acct, e.t, "nope")
		checkErr(t, err, iam.ErrNoSuchEntity)
	}
	got, _ = s.GetPolicy(ctx, arn)
	if got.AttachmentCount != 3 {
		t.Fatalf("AttachmentCount = %d, want 3", got.AttachmentCount)
	}
	ents, err := s.ListEntitiesForPolicy(ctx, arn)
	checkErr(t, err, nil)
	want := iam.PolicyEntities{Users: []iam.EntityRef{{Name: "alice", ID: "AIDA1"}}, Groups: []iam.EntityRef{{Name: "g", ID: "AGPA1"}}, Roles: []iam.EntityRef{{Name: "r", ID: "AROA1"}}}
	if !reflect.DeepEqual(ents, want) {
		t.Fatalf("ListEntitiesForPolicy = %+v, want %+v", ents, want)
	}
	ps, err := s.ListPolicies(ctx, acct, "", true)
	checkErr(t, err, nil)
	if len(ps) != 1 || ps[0].Name != "Pol" {
		t.Fatalf("ListPolicies(only attached) = %+v", ps)
	}
	ps, _ = s.ListPolicies(ctx, acct, "", false)
	if len(ps) != 2 {
		t.Fatalf("ListPolicies = %+v", ps)
	}
	ps, _ = s.ListPolicies(ctx, acct, "/team/", false)
	if len(ps) != 1 || ps[0].Name != "Pol" {
		t.Fatalf("ListPolicies(/team/) = %+v", ps)
	}
	// The default version is what is in force, for the user directly and through its group.
	checkErr(t, s.AddUserToGroup(ctx, acct, "g", "alice"), nil)
	docs, err := s.PolicyDocuments(ctx, "AIDA1")
	checkErr(t, err, nil)
	if !reflect.DeepEqual(docs, []string{"doc1", "doc1"}) {
		t.Fatalf("PolicyDocuments = %q", docs)
	}
	checkErr(t, s.SetDefaultPolicyVersion(ctx, arn, "v3", now), nil)
	docs, _ = s.PolicyDocuments(ctx, "AROA1")
	if !reflect.DeepEqual(docs, []string{"doc"}) {
		t.Fatalf("PolicyDocuments after changing the default = %q", docs)
	}
	checkErr(t, s.DeletePolicy(ctx, arn), iam.ErrDeleteConflict) // attached
	checkErr(t, s.DeleteUser(ctx, acct, "alice"), iam.ErrDeleteConflict)
	checkErr(t, s.DeleteGroup(ctx, acct, "g"), iam.ErrDeleteConflict)
	for _, e := range []struct {
		t    iam.EntityType
		name string
	}{{iam.EntityUser, "alice"}, {iam.EntityGroup, "g"}, {iam.EntityRole, "r"}} {
		checkErr(t, s.DetachPolicy(ctx, acct, e.t, e.name, arn), nil)
		checkErr(t, s.DetachPolicy(ctx, acct, e.t, e.name, arn), iam.ErrNoSuchEntity)
	}
	docs, _ = s.PolicyDocuments(ctx, "AIDA1")
	if len(docs) != 0 {
		t.Fatalf("PolicyDocuments after detaching = %q", docs)
	}
	checkErr(t, s.DeletePolicy(ctx, arn), iam.ErrDeleteConflict) // non-default versions remain
	for _, v := range []string{"v1", "v4", "v5"} {
		checkErr(t, s.DeletePolicyVersion(ctx, arn, v), nil)
	}
	checkErr(t, s.DeletePolicy(ctx, arn), nil)
	checkErr(t, s.DeletePolicy(ctx, arn), iam.ErrNoSuchEntity)
	_, err = s.GetPolicyVersion(ctx, arn, "v3")
	checkErr(t, err, iam.ErrNoSuchEntity)
}

// testServerKeyCheck: the first value given is kept and returned to every
// later caller, which cannot replace it.
func testServerKeyCheck(t *testing.T, s iam.Store) {
	ctx := context.Background()
	first := []byte{0, 1, 2, 0xff}
	got, err := s.ServerKeyCheck(ctx, first)
	checkErr(t, err, nil)
	if !reflect.DeepEqual(got, first) {
		t.Fatalf("first ServerKeyCheck = %x, want %x", got, first)
	}
	got, err = s.ServerKeyCheck(ctx, []byte("another"))
	checkErr(t, err, nil)
	if !reflect.DeepEqual(got, first) {
		t.Fatalf("second ServerKeyCheck = %x, want the first value %x", got, first)
	}
}
