// Package sharetest is the conformance suite of share.Store: every
// implementation runs it from its own tests with
// sharetest.Run(t, func(t *testing.T) share.Store { … a new, empty store … }),
// and a store that several nodes share runs RunShared with two Store
// instances on one database. It uses the interfaces only (share.Store,
// and share.Importer when the store has it), and checks every method's
// results and error values (errors.Is against share.ErrNoSuchShare and the
// other sentinels), and that a use is never taken twice under concurrency.
package sharetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/postern/postern/share"
)

// Opener returns a new, empty store for one test, closing it with t.Cleanup.
type Opener func(t *testing.T) share.Store

// Opener2 returns two Store instances (two nodes) on one new, empty
// database.
type Opener2 func(t *testing.T) (a, b share.Store)

// Run runs the whole suite, each test with its own store.
func Run(t *testing.T, open Opener) {
	for _, tc := range []struct {
		name string
		fn   func(*testing.T, share.Store)
	}{
		{"CreateGet", testCreateGet},
		{"List", testList},
		{"Revoke", testRevoke},
		{"ClaimUse", testClaimUse},
		{"ReleaseUse", testReleaseUse},
		{"AddAudit", testAddAudit},
		{"ListAudit", testListAudit},
		{"Import", testImport},
		{"ByKeyFollowsWrites", testByKeyFollowsWrites},
		{"ConcurrentClaims", func(t *testing.T, s share.Store) { testConcurrentClaims(t, s, s) }},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
}

// RunShared runs the tests that matter across nodes against two Store
// instances on one database: claims racing on both are exact, and each
// sees the other's writes at once (no node cache).
func RunShared(t *testing.T, open2 Opener2) {
	t.Run("ConcurrentClaims", func(t *testing.T) {
		a, b := open2(t)
		testConcurrentClaims(t, a, b)
	})
	t.Run("SeesOtherNode", func(t *testing.T) {
		a, b := open2(t)
		ctx := context.Background()
		sh := newShare(1, acct, creatorA, 2)
		mustCreate(t, a, sh)
		if _, err := b.ClaimUse(ctx, sh.ID, now); err != nil {
			t.Fatalf("ClaimUse on b: %v", err)
		}
		if got := mustGet(t, a, sh.ID); got.Uses != 1 {
			t.Fatalf("a sees Uses %d after b's claim, want 1", got.Uses)
		}
		if _, err := a.RevokeShare(ctx, sh.ID, creatorA.ARN, now); err != nil {
			t.Fatal(err)
		}
		if _, err := b.ClaimUse(ctx, sh.ID, now); !errors.Is(err, share.ErrRevoked) {
			t.Fatalf("b's ClaimUse after a's revoke: %v, want ErrRevoked", err)
		}
	})
}

const acct = "111122223333"

var (
	now      = time.Unix(1700000000, 0).UTC()
	creatorA = share.Creator{Kind: "user", ARN: "arn:aws:iam::" + acct + ":user/alice", UserID: "AIDAALICE"}
	creatorB = share.Creator{Kind: "user", ARN: "arn:aws:iam::" + acct + ":user/bob", UserID: "AIDABOB"}
	rootC    = share.Creator{Kind: "root", ARN: "arn:aws:iam::" + acct + ":root", UserID: acct}
)

func checkErr(t *testing.T, err, want error) {
	t.Helper()
	if want == nil && err != nil || want != nil && !errors.Is(err, want) {
		t.Fatalf("got %v, want %v", err, want)
	}
}

// newShare returns share number n (its id and access key follow from n),
// created n seconds after now, expiring an hour later.
func newShare(n int, account string, c share.Creator, maxUses int64) share.Share {
	return share.Share{
		ID:        fmt.Sprintf("%s%020d", share.IDPrefix, n),
		AccessKey: fmt.Sprintf("%s%016d", share.AccessKeyPrefix, n),
		AccountID: account,
		Creator:   c,
		Method:    share.MethodGet,
		Bucket:    "photos",
		Key:       fmt.Sprintf("2026/cat-%d.jpg", n),
		Endpoint:  "http://127.0.0.1:9000",
		CreatedAt: now.Add(time.Duration(n) * time.Second),
		Expires:   now.Add(time.Duration(n)*time.Second + time.Hour),
		MaxUses:   maxUses,
		Note:      "for Alice",
	}
}

// mustCreate creates sh and reads it back (mustGet), so that a store that
// caches ShareByAccessKey has it cached for the writes that follow.
func mustCreate(t *testing.T, s share.Store, sh share.Share) {
	t.Helper()
	checkErr(t, s.CreateShare(context.Background(), sh), nil)
	mustGet(t, s, sh.ID)
}

// mustGet reads the share by id, and checks that ShareByAccessKey (the
// request path's read, which a store may cache) agrees with it.
func mustGet(t *testing.T, s share.Store, id string) share.Share {
	t.Helper()
	got, err := s.GetShare(context.Background(), id)
	checkErr(t, err, nil)
	byKey, err := s.ShareByAccessKey(context.Background(), got.AccessKey)
	checkErr(t, err, nil)
	same(t, "ShareByAccessKey after GetShare", byKey, got)
	return got
}

// same fails unless got equals want field by field (times with Equal).
func same(t *testing.T, what string, got, want share.Share) {
	t.Helper()
	times := func(s share.Share) []time.Time { return []time.Time{s.CreatedAt, s.Expires, s.RevokedAt, s.LastUsed} }
	gt, wt := times(got), times(want)
	for i := range gt {
		if !gt[i].Equal(wt[i]) || gt[i].IsZero() != wt[i].IsZero() {
			t.Fatalf("%s: times %v, want %v\n got  %+v\n want %+v", what, gt, wt, got, want)
		}
	}
	got.CreatedAt, got.Expires, got.RevokedAt, got.LastUsed = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	want.CreatedAt, want.Expires, want.RevokedAt, want.LastUsed = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\n got  %+v\n want %+v", what, got, want)
	}
}

func testCreateGet(t *testing.T, s share.Store) {
	ctx := context.Background()
	sh := newShare(1, acct, creatorA, 5)
	sh.Method, sh.Key = share.MethodPost, "drop/"
	sh.MaxSize, sh.ContentType, sh.Overwrite = 1<<20, "image/jpeg", true
	sh.Webhook = "https://hooks.example.com/postern"
	sh.Note = "ünïcode ✓"
	// Times keep microseconds (meta.TimePrecision); nanoseconds are cut.
	sh.CreatedAt = sh.CreatedAt.Add(123456789 * time.Nanosecond)
	mustCreate(t, s, sh)
	want := sh
	want.CreatedAt = sh.CreatedAt.Truncate(time.Microsecond)

	got := mustGet(t, s, sh.ID)
	same(t, "GetShare", got, want)
	if got.CreatedAt.Location() != time.UTC {
		t.Fatalf("CreatedAt in %v, want UTC", got.CreatedAt.Location())
	}
	got, err := s.ShareByAccessKey(ctx, sh.AccessKey)
	checkErr(t, err, nil)
	same(t, "ShareByAccessKey", got, want)

	// Uses, revocation and last use are the store's: a new share starts
	// unused and live whatever it is given.
	fresh := newShare(2, acct, rootC, 0)
	fresh.Uses, fresh.RevokedAt, fresh.RevokedBy, fresh.LastUsed = 7, now, "x", now
	mustCreate(t, s, fresh)
	got = mustGet(t, s, fresh.ID)
	if got.Uses != 0 || !got.RevokedAt.IsZero() || got.RevokedBy != "" || !got.LastUsed.IsZero() {
		t.Fatalf("new share = %+v, want unused and live", got)
	}

	// Taken id or access key.
	dup := newShare(3, acct, creatorA, 0)
	dup.ID = sh.ID
	checkErr(t, s.CreateShare(ctx, dup), share.ErrShareExists)
	dup = newShare(3, acct, creatorA, 0)
	dup.AccessKey = sh.AccessKey
	checkErr(t, s.CreateShare(ctx, dup), share.ErrShareExists)
	if _, err := s.GetShare(ctx, dup.ID); !errors.Is(err, share.ErrNoSuchShare) {
		t.Fatalf("refused share stored: %v", err)
	}

	_, err = s.GetShare(ctx, "shr-nosuchshareatall0")
	checkErr(t, err, share.ErrNoSuchShare)
	_, err = s.ShareByAccessKey(ctx, "PSHRNOSUCHKEY0000000")
	checkErr(t, err, share.ErrNoSuchShare)
	_, err = s.ShareByAccessKey(ctx, "")
	checkErr(t, err, share.ErrNoSuchShare)
	// Text a database cannot hold is simply not found.
	_, err = s.GetShare(ctx, "shr-\x00\xff")
	checkErr(t, err, share.ErrNoSuchShare)
}

func ids(list []share.Share) []string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = s.ID
	}
	return out
}

func testList(t *testing.T, s share.Store) {
	ctx := context.Background()
	// Created out of order: the list is by CreatedAt, then id.
	var all []share.Share
	for _, n := range []int{5, 1, 4, 2, 3} {
		sh := newShare(n, acct, creatorA, 0)
		if n%2 == 0 {
			sh.Creator = creatorB
		}
		if n == 4 {
			sh.Bucket = "docs"
		}
		if n == 3 {
			sh.Key = "other/x"
		}
		mustCreate(t, s, sh)
		all = append(all, sh)
	}
	// Same CreatedAt as share 2: the id breaks the tie.
	tie := newShare(6, acct, creatorA, 0)
	tie.CreatedAt = newShare(2, acct, creatorA, 0).CreatedAt
	mustCreate(t, s, tie)
	// Another account's share is never listed.
	mustCreate(t, s, newShare(7, "999988887777", creatorA, 0))

	list := func(f share.Filter) ([]string, bool) {
		t.Helper()
		got, more, err := s.ListShares(ctx, f)
		checkErr(t, err, nil)
		return ids(got), more
	}
	id := func(n int) string { return newShare(n, acct, creatorA, 0).ID }
	check := func(what string, got []string, more bool, wantMore bool, want ...int) {
		t.Helper()
		w := []string{}
		for _, n := range want {
			w = append(w, id(n))
		}
		if got == nil {
			got = []string{}
		}
		if !reflect.DeepEqual(got, w) || more != wantMore {
			t.Fatalf("%s = %v more %v, want %v more %v", what, got, more, w, wantMore)
		}
	}
	got, more := list(share.Filter{AccountID: acct})
	check("all", got, more, false, 1, 2, 6, 3, 4, 5)
	got, more = list(share.Filter{AccountID: acct, CreatorID: creatorB.UserID})
	check("creator", got, more, false, 2, 4)
	got, more = list(share.Filter{AccountID: acct, Bucket: "photos"})
	check("bucket", got, more, false, 1, 2, 6, 3, 5)
	got, more = list(share.Filter{AccountID: acct, Bucket: "photos", Prefix: "2026/cat-"})
	check("bucket+prefix", got, more, false, 1, 2, 6, 5)
	got, more = list(share.Filter{AccountID: acct, Bucket: "photos", Prefix: "other/"})
	check("prefix other", got, more, false, 3)
	got, more = list(share.Filter{AccountID: acct, Bucket: "nope"})
	check("no bucket", got, more, false)
	got, more = list(share.Filter{AccountID: "000000000000"})
	check("no account", got, more, false)

	// Paging: limit, more, after.
	got, more = list(share.Filter{AccountID: acct, Limit: 2})
	check("page 1", got, more, true, 1, 2)
	got, more = list(share.Filter{AccountID: acct, Limit: 2, After: id(2)})
	check("page 2", got, more, true, 6, 3)
	got, more = list(share.Filter{AccountID: acct, Limit: 2, After: id(3)})
	check("page 3", got, more, false, 4, 5)
	got, more = list(share.Filter{AccountID: acct, Limit: 2, After: id(5)})
	check("after last", got, more, false)
	got, more = list(share.Filter{AccountID: acct, CreatorID: creatorA.UserID, Limit: 1, After: id(1)})
	check("creator page", got, more, true, 6)
	got, more = list(share.Filter{AccountID: acct, Limit: share.MaxList + 5})
	check("limit above MaxList", got, more, false, 1, 2, 6, 3, 4, 5)

	_, _, err := s.ListShares(ctx, share.Filter{AccountID: acct, After: "shr-nosuchshareatall0"})
	checkErr(t, err, share.ErrNoSuchShare)
	// A cursor of another account's share is not one of this account's.
	_, _, err = s.ListShares(ctx, share.Filter{AccountID: acct, After: newShare(7, "", creatorA, 0).ID})
	checkErr(t, err, share.ErrNoSuchShare)
	if _, _, err := s.ListShares(ctx, share.Filter{}); err == nil {
		t.Fatal("ListShares without AccountID succeeded")
	}
	// Listed shares are whole.
	full, _, err := s.ListShares(ctx, share.Filter{AccountID: acct, Limit: 1})
	checkErr(t, err, nil)
	same(t, "listed", full[0], newShare(1, acct, creatorA, 0))
}

func testRevoke(t *testing.T, s share.Store) {
	ctx := context.Background()
	sh := newShare(1, acct, creatorA, 0)
	other := newShare(2, acct, creatorA, 0)
	mustCreate(t, s, sh)
	mustCreate(t, s, other)
	at := now.Add(10 * time.Minute)
	got, err := s.RevokeShare(ctx, sh.ID, rootC.ARN, at)
	checkErr(t, err, nil)
	if !got.RevokedAt.Equal(at) || got.RevokedBy != rootC.ARN || got.State(at) != share.StateRevoked {
		t.Fatalf("RevokeShare = %+v", got)
	}
	// Again: no error, the first revocation is kept.
	got, err = s.RevokeShare(ctx, sh.ID, creatorA.ARN, at.Add(time.Minute))
	checkErr(t, err, nil)
	if !got.RevokedAt.Equal(at) || got.RevokedBy != rootC.ARN {
		t.Fatalf("second RevokeShare = %+v, want the first kept", got)
	}
	got = mustGet(t, s, sh.ID)
	if !got.RevokedAt.Equal(at) || got.RevokedBy != rootC.ARN {
		t.Fatalf("GetShare after revoke = %+v", got)
	}
	if o := mustGet(t, s, other.ID); !o.RevokedAt.IsZero() {
		t.Fatalf("other share revoked too: %+v", o)
	}
	_, err = s.RevokeShare(ctx, "shr-nosuchshareatall0", rootC.ARN, at)
	checkErr(t, err, share.ErrNoSuchShare)
}

func testClaimUse(t *testing.T, s share.Store) {
	ctx := context.Background()
	limited := newShare(1, acct, creatorA, 2)
	mustCreate(t, s, limited)
	t1 := limited.CreatedAt.Add(time.Minute)
	for i := int64(1); i <= 2; i++ {
		at := t1.Add(time.Duration(i) * time.Second)
		got, err := s.ClaimUse(ctx, limited.ID, at)
		checkErr(t, err, nil)
		if got.Uses != i || !got.LastUsed.Equal(at) {
			t.Fatalf("claim %d = Uses %d LastUsed %v", i, got.Uses, got.LastUsed)
		}
	}
	_, err := s.ClaimUse(ctx, limited.ID, t1.Add(time.Hour/2))
	checkErr(t, err, share.ErrUsedUp)
	if got := mustGet(t, s, limited.ID); got.Uses != 2 || !got.LastUsed.Equal(t1.Add(2*time.Second)) {
		t.Fatalf("after used-up claim: %+v, want unchanged", got)
	}

	// Unlimited shares claim too.
	free := newShare(2, acct, creatorA, 0)
	mustCreate(t, s, free)
	for i := int64(1); i <= 3; i++ {
		got, err := s.ClaimUse(ctx, free.ID, t1)
		checkErr(t, err, nil)
		if got.Uses != i {
			t.Fatalf("unlimited claim %d: Uses %d", i, got.Uses)
		}
	}

	// Expired: at Expires exactly, and after.
	exp := newShare(3, acct, creatorA, 5)
	mustCreate(t, s, exp)
	_, err = s.ClaimUse(ctx, exp.ID, exp.Expires)
	checkErr(t, err, share.ErrExpired)
	_, err = s.ClaimUse(ctx, exp.ID, exp.Expires.Add(time.Hour))
	checkErr(t, err, share.ErrExpired)
	got, err := s.ClaimUse(ctx, exp.ID, exp.Expires.Add(-time.Microsecond))
	checkErr(t, err, nil)
	if got.Uses != 1 {
		t.Fatalf("claim just before expiry: Uses %d", got.Uses)
	}

	// Revoked wins over expired and used up.
	rev := newShare(4, acct, creatorA, 1)
	mustCreate(t, s, rev)
	_, err = s.ClaimUse(ctx, rev.ID, t1)
	checkErr(t, err, nil)
	_, err = s.RevokeShare(ctx, rev.ID, rootC.ARN, t1)
	checkErr(t, err, nil)
	_, err = s.ClaimUse(ctx, rev.ID, t1)
	checkErr(t, err, share.ErrRevoked)
	_, err = s.ClaimUse(ctx, rev.ID, rev.Expires.Add(time.Hour))
	checkErr(t, err, share.ErrRevoked)
	if got := mustGet(t, s, rev.ID); got.Uses != 1 {
		t.Fatalf("revoked claim changed Uses: %d", got.Uses)
	}
	// Expired wins over used up.
	_, err = s.ClaimUse(ctx, limited.ID, limited.Expires)
	checkErr(t, err, share.ErrExpired)

	_, err = s.ClaimUse(ctx, "shr-nosuchshareatall0", t1)
	checkErr(t, err, share.ErrNoSuchShare)
}

func testReleaseUse(t *testing.T, s share.Store) {
	ctx := context.Background()
	sh := newShare(1, acct, creatorA, 1)
	mustCreate(t, s, sh)
	at := sh.CreatedAt.Add(time.Second)
	_, err := s.ClaimUse(ctx, sh.ID, at)
	checkErr(t, err, nil)
	_, err = s.ClaimUse(ctx, sh.ID, at)
	checkErr(t, err, share.ErrUsedUp)
	checkErr(t, s.ReleaseUse(ctx, sh.ID), nil)
	if got := mustGet(t, s, sh.ID); got.Uses != 0 {
		t.Fatalf("after release: Uses %d", got.Uses)
	}
	// The use given back can be taken again.
	_, err = s.ClaimUse(ctx, sh.ID, at)
	checkErr(t, err, nil)
	checkErr(t, s.ReleaseUse(ctx, sh.ID), nil)
	// Never below 0.
	checkErr(t, s.ReleaseUse(ctx, sh.ID), nil)
	if got := mustGet(t, s, sh.ID); got.Uses != 0 {
		t.Fatalf("after releases: Uses %d, want 0", got.Uses)
	}
	checkErr(t, s.ReleaseUse(ctx, "shr-nosuchshareatall0"), share.ErrNoSuchShare)
}

func entry(id string, at time.Time, counted bool, n int) share.AuditEntry {
	return share.AuditEntry{
		ShareID: id, Time: at, Source: "203.0.113.7", UserAgent: "curl/8.5.0", Method: "GET",
		Status: 200, Bytes: int64(4096 + n), RequestID: fmt.Sprintf("REQ%04d", n), Counted: counted,
	}
}

func testAddAudit(t *testing.T, s share.Store) {
	ctx := context.Background()
	unlimited := newShare(1, acct, creatorA, 0)
	limited := newShare(2, acct, creatorA, 5)
	mustCreate(t, s, unlimited)
	mustCreate(t, s, limited)
	t1 := now.Add(time.Hour)
	_, err := s.ClaimUse(ctx, limited.ID, t1.Add(time.Second))
	checkErr(t, err, nil)

	resume := entry(unlimited.ID, t1.Add(3*time.Second), false, 3)
	resume.Status, resume.Range = 206, "bytes=100-"
	rows := []share.AuditEntry{
		entry(unlimited.ID, t1.Add(time.Second), true, 1),
		entry(unlimited.ID, t1.Add(5*time.Second), true, 2),
		resume,
		entry(limited.ID, t1.Add(2*time.Second), true, 4), // claimed already: not counted again
		entry("shr-nosuchshareatall0", t1, true, 5),       // dropped
	}
	checkErr(t, s.AddAudit(ctx, rows), nil)
	u := mustGet(t, s, unlimited.ID)
	if u.Uses != 2 || !u.LastUsed.Equal(t1.Add(5*time.Second)) {
		t.Fatalf("unlimited after AddAudit: Uses %d LastUsed %v, want 2 and %v", u.Uses, u.LastUsed, t1.Add(5*time.Second))
	}
	l := mustGet(t, s, limited.ID)
	if l.Uses != 1 || !l.LastUsed.Equal(t1.Add(2*time.Second)) {
		t.Fatalf("limited after AddAudit: Uses %d LastUsed %v", l.Uses, l.LastUsed)
	}
	// LastUsed never goes back.
	checkErr(t, s.AddAudit(ctx, []share.AuditEntry{entry(unlimited.ID, t1, false, 6)}), nil)
	if u := mustGet(t, s, unlimited.ID); !u.LastUsed.Equal(t1.Add(5 * time.Second)) {
		t.Fatalf("LastUsed went back to %v", u.LastUsed)
	}
	_, total, err := s.ListAudit(ctx, unlimited.ID, 0)
	checkErr(t, err, nil)
	if total != 4 {
		t.Fatalf("unlimited has %d audit rows, want 4", total)
	}
	// Nothing to add; only unknown shares.
	checkErr(t, s.AddAudit(ctx, nil), nil)
	checkErr(t, s.AddAudit(ctx, []share.AuditEntry{entry("shr-nosuchshareatall1", t1, true, 7)}), nil)
	// Any text a client sends (a user agent with invalid UTF-8 and a NUL)
	// is stored without failing the batch.
	odd := entry(unlimited.ID, t1.Add(6*time.Second), true, 8)
	odd.UserAgent = "bad\xff\x00agent"
	checkErr(t, s.AddAudit(ctx, []share.AuditEntry{odd}), nil)
	got, total, err := s.ListAudit(ctx, unlimited.ID, 1)
	checkErr(t, err, nil)
	if total != 5 || len(got) != 1 || got[0].UserAgent != "bad\uFFFD\uFFFDagent" {
		t.Fatalf("after the odd row: %d audit rows, newest %+v, want 5 and the user agent cleaned", total, got)
	}
	// Every field comes back as it was recorded, text with quotes,
	// backslashes, control characters and any script; rows of one batch
	// with the same time come back newest (last recorded) first.
	at := t1.Add(7 * time.Second)
	var batch []share.AuditEntry
	for i, ua := range []string{`say "hi" \ back\slash`, "tab\tnewline\n\x01\x1f\x7f", "é 😀 \u2028 </script> & ü"} {
		e := entry(unlimited.ID, at, i != 1, 10+i)
		e.UserAgent, e.Range, e.Source, e.Bytes, e.Status = ua, `bytes=0-"`, "2001:db8::1", 1<<40+int64(i), 200+i
		batch = append(batch, e)
	}
	checkErr(t, s.AddAudit(ctx, batch), nil)
	got, total, err = s.ListAudit(ctx, unlimited.ID, 3)
	checkErr(t, err, nil)
	if total != 8 || len(got) != 3 {
		t.Fatalf("after a batch of 3: %d rows (%d returned), want 8", total, len(got))
	}
	for i, g := range got {
		want := batch[2-i]
		if !g.Time.Equal(want.Time) {
			t.Fatalf("row %d: time %v, want %v", i, g.Time, want.Time)
		}
		g.Time = want.Time
		if g != want {
			t.Fatalf("row %d (newest first):\n got  %+v\n want %+v", i, g, want)
		}
	}
}

func testListAudit(t *testing.T, s share.Store) {
	ctx := context.Background()
	sh := newShare(1, acct, creatorA, 0)
	other := newShare(2, acct, creatorA, 0)
	mustCreate(t, s, sh)
	mustCreate(t, s, other)
	t1 := now.Add(time.Hour)
	var rows []share.AuditEntry
	for i := range 10 {
		rows = append(rows, entry(sh.ID, t1.Add(time.Duration(i)*time.Second), i%2 == 0, i))
	}
	rows[3].Range, rows[3].Status, rows[3].Method = "bytes=5-9", 206, "HEAD"
	// Two rows at the same time keep their order (the later added first).
	rows = append(rows, entry(sh.ID, t1.Add(9*time.Second), false, 10))
	// Added in two batches, the second out of time order.
	checkErr(t, s.AddAudit(ctx, rows[:6]), nil)
	checkErr(t, s.AddAudit(ctx, append([]share.AuditEntry{entry(other.ID, t1, true, 99)}, rows[6:]...)), nil)

	got, total, err := s.ListAudit(ctx, sh.ID, 3)
	checkErr(t, err, nil)
	if total != 11 || len(got) != 3 {
		t.Fatalf("ListAudit(3) = %d rows, total %d", len(got), total)
	}
	for i, w := range []share.AuditEntry{rows[10], rows[9], rows[8]} {
		if !got[i].Time.Equal(w.Time) || got[i].RequestID != w.RequestID {
			t.Fatalf("row %d = %+v, want %+v", i, got[i], w)
		}
	}
	all, total, err := s.ListAudit(ctx, sh.ID, 0)
	checkErr(t, err, nil)
	if total != 11 || len(all) != 11 {
		t.Fatalf("ListAudit(0) = %d rows, total %d", len(all), total)
	}
	w := rows[3]
	g := all[len(all)-1-3]
	if !g.Time.Equal(w.Time) {
		t.Fatalf("row 3 time %v, want %v", g.Time, w.Time)
	}
	g.Time = w.Time
	if g != w {
		t.Fatalf("row 3 = %+v, want %+v", g, w)
	}
	if _, total, err := s.ListAudit(ctx, sh.ID, share.MaxAuditList+1); err != nil || total != 11 {
		t.Fatalf("ListAudit(MaxAuditList+1): total %d, %v", total, err)
	}
	none, total, err := s.ListAudit(ctx, newShare(3, acct, creatorA, 0).ID, 10)
	checkErr(t, err, share.ErrNoSuchShare)
	if len(none) != 0 || total != 0 {
		t.Fatalf("unknown share: %v %d", none, total)
	}
	// A share without rows.
	mustCreate(t, s, newShare(3, acct, creatorA, 0))
	none, total, err = s.ListAudit(ctx, newShare(3, acct, creatorA, 0).ID, 10)
	checkErr(t, err, nil)
	if len(none) != 0 || total != 0 {
		t.Fatalf("share without rows: %v %d", none, total)
	}
}

// testImport: ImportShare keeps what CreateShare resets (uses,
// revocation, last use) and the audit rows without counting them;
// ExportAudit gives them back oldest first.
func testImport(t *testing.T, s share.Store) {
	imp, ok := s.(share.Importer)
	if !ok {
		t.Skip("the store does not implement share.Importer")
	}
	ctx := context.Background()
	sh := newShare(1, acct, creatorA, 0)
	sh.Uses, sh.LastUsed = 3, now.Add(time.Hour)
	sh.RevokedAt, sh.RevokedBy = now.Add(2*time.Hour), rootC.ARN
	rows := []share.AuditEntry{
		entry(sh.ID, now.Add(time.Minute), true, 1),
		entry(sh.ID, now.Add(2*time.Minute), true, 2),
		entry(sh.ID, now.Add(2*time.Minute), false, 3),
	}
	checkErr(t, imp.ImportShare(ctx, sh, rows), nil)
	same(t, "imported", mustGet(t, s, sh.ID), sh)
	got, err := imp.ExportAudit(ctx, sh.ID)
	checkErr(t, err, nil)
	if len(got) != len(rows) {
		t.Fatalf("ExportAudit = %d rows, want %d", len(got), len(rows))
	}
	for i := range rows {
		g := got[i]
		if !g.Time.Equal(rows[i].Time) {
			t.Fatalf("row %d time %v", i, g.Time)
		}
		g.Time = rows[i].Time
		if g != rows[i] {
			t.Fatalf("row %d = %+v, want %+v", i, g, rows[i])
		}
	}
	_, total, err := s.ListAudit(ctx, sh.ID, 1)
	checkErr(t, err, nil)
	if total != 3 {
		t.Fatalf("ListAudit total %d", total)
	}
	// Taken: nothing changes.
	again := sh
	again.Uses = 9
	checkErr(t, imp.ImportShare(ctx, again, rows), share.ErrShareExists)
	if g := mustGet(t, s, sh.ID); g.Uses != 3 {
		t.Fatalf("refused import changed Uses to %d", g.Uses)
	}
	if got, _ := imp.ExportAudit(ctx, sh.ID); len(got) != 3 {
		t.Fatalf("refused import added rows: %d", len(got))
	}
	// A fresh share without rows.
	plain := newShare(2, acct, creatorB, 4)
	checkErr(t, imp.ImportShare(ctx, plain, nil), nil)
	same(t, "imported plain", mustGet(t, s, plain.ID), plain)
	if got, err := imp.ExportAudit(ctx, plain.ID); err != nil || len(got) != 0 {
		t.Fatalf("ExportAudit(plain) = %v, %v", got, err)
	}
	_, err = imp.ExportAudit(ctx, "shr-nosuchshareatall0")
	checkErr(t, err, share.ErrNoSuchShare)
}

// testConcurrentClaims: 32 goroutines claim a 5-use share at once, half
// through a and half through b: exactly 5 succeed, the others are told
// ErrUsedUp, and the share has Uses 5.
func testConcurrentClaims(t *testing.T, a, b share.Store) {
	ctx := context.Background()
	sh := newShare(1, acct, creatorA, 5)
	mustCreate(t, a, sh)
	const n = 32
	start := make(chan struct{})
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		s := a
		if i%2 == 1 {
			s = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, errs[i] = s.ClaimUse(ctx, sh.ID, sh.CreatedAt.Add(time.Second))
		}()
	}
	close(start)
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, share.ErrUsedUp):
		default:
			t.Fatalf("ClaimUse: %v", err)
		}
	}
	if ok != 5 {
		t.Fatalf("%d claims succeeded, want 5", ok)
	}
	for _, s := range []share.Store{a, b} {
		if got := mustGet(t, s, sh.ID); got.Uses != 5 || got.State(sh.CreatedAt.Add(time.Second)) != share.StateUsedUp {
			t.Fatalf("after the race: Uses %d state %q", got.Uses, got.State(sh.CreatedAt.Add(time.Second)))
		}
	}
}

// testByKeyFollowsWrites reads a share by its access key (the request
// path's read) after each kind of write: it must always see the write, as
// GetShare does, whatever the store caches.
func testByKeyFollowsWrites(t *testing.T, s share.Store) {
	ctx := context.Background()
	limited := newShare(1, acct, creatorA, 2)
	free := newShare(2, acct, creatorA, 0)
	mustCreate(t, s, limited)
	mustCreate(t, s, free)
	byKey := func(sh share.Share) share.Share {
		t.Helper()
		got, err := s.ShareByAccessKey(ctx, sh.AccessKey)
		checkErr(t, err, nil)
		return got
	}
	at := limited.CreatedAt.Add(time.Minute)
	for i := int64(1); i <= 2; i++ {
		_, err := s.ClaimUse(ctx, limited.ID, at)
		checkErr(t, err, nil)
		if got := byKey(limited); got.Uses != i || !got.LastUsed.Equal(at) {
			t.Fatalf("after claim %d: Uses %d LastUsed %v", i, got.Uses, got.LastUsed)
		}
	}
	if got := byKey(limited); got.State(at) != share.StateUsedUp {
		t.Fatalf("after its last use: state %q, want used up", got.State(at))
	}
	checkErr(t, s.ReleaseUse(ctx, limited.ID), nil)
	if got := byKey(limited); got.Uses != 1 || got.State(at) != share.StateActive {
		t.Fatalf("after release: Uses %d, state %q", got.Uses, got.State(at))
	}
	later := at.Add(time.Second)
	checkErr(t, s.AddAudit(ctx, []share.AuditEntry{entry(free.ID, at, true, 1), entry(free.ID, later, true, 2), entry(limited.ID, later, true, 3)}), nil)
	if got := byKey(free); got.Uses != 2 || !got.LastUsed.Equal(later) {
		t.Fatalf("after audit: unlimited share Uses %d LastUsed %v, want 2, %v", got.Uses, got.LastUsed, later)
	}
	if got := byKey(limited); got.Uses != 1 || !got.LastUsed.Equal(later) {
		t.Fatalf("after audit: limited share Uses %d LastUsed %v, want 1 (claimed, not counted again), %v", got.Uses, got.LastUsed, later)
	}
	_, err := s.RevokeShare(ctx, free.ID, rootC.ARN, later)
	checkErr(t, err, nil)
	if got := byKey(free); got.State(later) != share.StateRevoked || got.RevokedBy != rootC.ARN {
		t.Fatalf("after revoke: state %q by %q", got.State(later), got.RevokedBy)
	}
	same(t, "limited share by key", byKey(limited), mustGet(t, s, limited.ID))
	same(t, "unlimited share by key", byKey(free), mustGet(t, s, free.ID))
	_, err = s.ShareByAccessKey(ctx, "PSHRNOSUCHSHARE23456")
	checkErr(t, err, share.ErrNoSuchShare)
}
