package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/postern/postern/iam"
	"github.com/postern/postern/internal/pgtest"
)

// hangGuard bounds each wait for an event so that a lost event fails the
// test instead of hanging it. It is not a timing assertion: events arrive
// in milliseconds.
const hangGuard = 30 * time.Second

// events subscribes to l and returns the channel of its events.
func events(t *testing.T, l *Listener) <-chan Event {
	ch := make(chan Event, 4096)
	unsub := l.Subscribe(func(ev Event) {
		select {
		case ch <- ev:
		default:
			t.Errorf("event channel full, dropped %+v", ev)
		}
	})
	t.Cleanup(unsub)
	return ch
}

// next returns the next event that is not an EventAll.
func next(t *testing.T, ch <-chan Event) Event {
	t.Helper()
	timer := time.NewTimer(hangGuard)
	defer timer.Stop()
	for {
		select {
		case ev := <-ch:
			if ev.Kind != EventAll {
				return ev
			}
		case <-timer.C:
			t.Fatalf("no event within %v", hangGuard)
		}
	}
}

// waitAll waits for an EventAll with the reason given.
func waitAll(t *testing.T, ch <-chan Event, reason string) {
	t.Helper()
	timer := time.NewTimer(hangGuard)
	defer timer.Stop()
	for {
		select {
		case ev := <-ch:
			if ev.Kind == EventAll && ev.Reason == reason {
				return
			}
		case <-timer.C:
			t.Fatalf("no EventAll %q within %v", reason, hangGuard)
		}
	}
}

// listen starts a Listener on s and waits until it listens.
func listen(t *testing.T, s *Store) (*Listener, <-chan Event) {
	t.Helper()
	l := s.Listen(ListenerOptions{})
	t.Cleanup(l.Close)
	ch := events(t, l)
	waitAll(t, ch, "listening")
	return l, ch
}

// seed makes, through s, an account with user alice (key AKIAALICE), group
// devs, role ops and managed policy p.
func seed(t *testing.T, s *Store) {
	t.Helper()
	ctx := context.Background()
	now := time.Unix(1700000000, 0).UTC()
	for _, err := range []error{
		s.CreateAccount(ctx, iam.Account{ID: acct, CreatedAt: now}),
		s.CreateUser(ctx, iam.User{ID: "AIDAALICE", AccountID: acct, Name: "alice", Path: "/", CreatedAt: now}),
		s.CreateAccessKey(ctx, acct, "alice", iam.AccessKey{ID: "AKIAALICE", Secret: []byte{1}, Status: iam.StatusActive, CreatedAt: now}),
		s.CreateGroup(ctx, iam.Group{ID: "AGPADEVS", AccountID: acct, Name: "devs", Path: "/", CreatedAt: now}),
		s.CreateRole(ctx, iam.Role{ID: "AROAOPS", AccountID: acct, Name: "ops", Path: "/", TrustPolicy: "{}", MaxSessionDuration: 3600, CreatedAt: now}),
		s.CreatePolicy(ctx, iam.ManagedPolicy{ID: "ANPAP", AccountID: acct, Name: "p", Path: "/", CreatedAt: now, UpdatedAt: now}, allowAll),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
}

const (
	acct     = "111122223333"
	allowAll = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`
	policyP  = "arn:aws:iam::" + acct + ":policy/p"
)

// Every write that can take access away, made on one Store, reaches a
// Listener of another Store (another pool, as another node has) as the
// event naming what changed, in commit order.
func TestInvalidationEvents(t *testing.T) {
	a, dsn := openStore(t)
	b := openStoreAt(t, dsn)
	seed(t, a)
	_, ch := listen(t, b)
	ctx := context.Background()
	now := time.Unix(1700000100, 0).UTC()
	for _, step := range []struct {
		name  string
		write func() error
		want  Event
	}{
		{"deactivate key", func() error { return a.UpdateAccessKey(ctx, acct, "alice", "AKIAALICE", iam.StatusInactive) }, Event{Kind: EventAccessKey, ID: "AKIAALICE"}},
		{"put user policy", func() error {
			return a.PutInlinePolicy(ctx, acct, iam.EntityUser, "alice", "x", allowAll, len(allowAll), 0)
		}, Event{Kind: EventPolicies, ID: "AIDAALICE"}},
		{"delete user policy", func() error { return a.DeleteInlinePolicy(ctx, acct, iam.EntityUser, "alice", "x") }, Event{Kind: EventPolicies, ID: "AIDAALICE"}},
		{"attach", func() error { return a.AttachPolicy(ctx, acct, iam.EntityGroup, "devs", policyP) }, Event{Kind: EventPolicies, ID: "AGPADEVS"}},
		{"join group", func() error { return a.AddUserToGroup(ctx, acct, "devs", "alice") }, Event{Kind: EventPolicies, ID: "AIDAALICE"}},
		{"new default version", func() error {
			_, err := a.CreatePolicyVersion(ctx, policyP, `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}`, true, now)
			return err
		}, Event{Kind: EventPolicy, ID: "ANPAP"}},
		{"set default version", func() error { return a.SetDefaultPolicyVersion(ctx, policyP, "v1", now) }, Event{Kind: EventPolicy, ID: "ANPAP"}},
		{"leave group", func() error { return a.RemoveUserFromGroup(ctx, acct, "devs", "alice") }, Event{Kind: EventPolicies, ID: "AIDAALICE"}},
		{"detach", func() error { return a.DetachPolicy(ctx, acct, iam.EntityGroup, "devs", policyP) }, Event{Kind: EventPolicies, ID: "AGPADEVS"}},
		{"trust policy", func() error { return a.UpdateTrustPolicy(ctx, acct, "ops", `{"Statement":[]}`) }, Event{Kind: EventRole, ID: "AROAOPS"}},
		{"role settings", func() error { return a.UpdateRole(ctx, acct, "ops", nil, 7200) }, Event{Kind: EventRole, ID: "AROAOPS"}},
		{"rename user", func() error { return a.UpdateUser(ctx, acct, "alice", "alicia", "") }, Event{Kind: EventUser, ID: "AIDAALICE"}},
		{"delete key", func() error { return a.DeleteAccessKey(ctx, acct, "alicia", "AKIAALICE") }, Event{Kind: EventAccessKey, ID: "AKIAALICE"}},
		{"delete user", func() error { return a.DeleteUser(ctx, acct, "alicia") }, Event{Kind: EventUser, ID: "AIDAALICE"}},
		{"delete group", func() error { return a.DeleteGroup(ctx, acct, "devs") }, Event{Kind: EventGroup, ID: "AGPADEVS"}},
		{"delete role", func() error { return a.DeleteRole(ctx, acct, "ops") }, Event{Kind: EventRole, ID: "AROAOPS"}},
		{"delete policy version", func() error { return a.DeletePolicyVersion(ctx, policyP, "v2") }, Event{}}, // changes no access
		{"delete policy", func() error { return a.DeletePolicy(ctx, policyP) }, Event{Kind: EventPolicy, ID: "ANPAP"}},
	} {
		if err := step.write(); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		if step.want == (Event{}) {
			continue
		}
		if got := next(t, ch); got != step.want {
			t.Fatalf("%s: event %+v, want %+v", step.name, got, step.want)
		}
	}
}

// An invalidation is delivered only if its transaction commits; failed
// writes send none.
func TestInvalidationOnlyOnCommit(t *testing.T) {
	a, dsn := openStore(t)
	b := openStoreAt(t, dsn)
	seed(t, a)
	_, ch := listen(t, b)
	ctx := context.Background()
	boom := errors.New("boom")
	if err := a.tx(ctx, func(tx pgx.Tx) error {
		if err := notify(ctx, tx, Event{Kind: EventAccessKey, ID: "ROLLEDBACK"}); err != nil {
			return err
		}
		return boom
	}); !errors.Is(err, boom) {
		t.Fatal(err)
	}
	// Failing writes: a missing key, a user that cannot be deleted yet.
	if err := a.UpdateAccessKey(ctx, acct, "alice", "AKIANOPE", iam.StatusInactive); !errors.Is(err, iam.ErrNoSuchEntity) {
		t.Fatal(err)
	}
	if err := a.DeleteUser(ctx, acct, "alice"); !errors.Is(err, iam.ErrDeleteConflict) {
		t.Fatal(err)
	}
	if err := a.UpdateAccessKey(ctx, acct, "alice", "AKIAALICE", iam.StatusInactive); err != nil {
		t.Fatal(err)
	}
	if got, want := next(t, ch), (Event{Kind: EventAccessKey, ID: "AKIAALICE"}); got != want {
		t.Fatalf("first event %+v, want %+v (the committed write's)", got, want)
	}
}

// When the listen connection is lost, subscribers are told everything may
// be stale and Trusted turns false before they are; the Listener
// reconnects by itself, says so again, and delivers events again.
func TestListenerReconnects(t *testing.T) {
	a, dsn := openStore(t)
	b := openStoreAt(t, dsn)
	seed(t, a)
	l := b.Listen(ListenerOptions{})
	t.Cleanup(l.Close)
	type seen struct {
		ev      Event
		trusted bool
	}
	ch := make(chan seen, 1024)
	t.Cleanup(l.Subscribe(func(ev Event) { ch <- seen{ev, l.Trusted()} }))
	wait := func(reason string) seen {
		t.Helper()
		timer := time.NewTimer(hangGuard)
		defer timer.Stop()
		for {
			select {
			case s := <-ch:
				if s.ev.Kind == EventAll && s.ev.Reason == reason {
					return s
				}
			case <-timer.C:
				t.Fatalf("no EventAll %q", reason)
			}
		}
	}
	if s := wait("listening"); !s.trusted {
		t.Fatal("not trusted while listening")
	}
	ctx := context.Background()
	for round := range 2 {
		pid := l.pid.Load()
		var ok bool
		if err := a.pool.QueryRow(ctx, `SELECT pg_terminate_backend($1)`, int32(pid)).Scan(&ok); err != nil || !ok {
			t.Fatalf("terminate the listen session %d: %v %v", pid, ok, err)
		}
		if s := wait("listen connection lost"); s.trusted {
			t.Fatal("still trusted after the listen connection was lost")
		}
		if s := wait("listening"); !s.trusted {
			t.Fatal("not trusted after reconnecting")
		}
		if l.pid.Load() == pid {
			t.Fatal("same session after reconnecting")
		}
		status := []string{iam.StatusInactive, iam.StatusActive}[round]
		if err := a.UpdateAccessKey(ctx, acct, "alice", "AKIAALICE", status); err != nil {
			t.Fatal(err)
		}
		for {
			s := <-ch
			if s.ev.Kind == EventAccessKey {
				break
			}
		}
	}
}

// A revoke made through node A's Store is seen by node B: its Listener
// gets the event, and B's Service refuses the key. The latency from the
// revoke's call to the event's delivery is measured over 100 revokes and
// logged (go test -v -run TestRevokeLatency ./meta/postgres/).
func TestRevokeLatency(t *testing.T) {
	a, dsn := openStore(t)
	b := openStoreAt(t, dsn)
	ctx := context.Background()
	key := bytes.Repeat([]byte{7}, iam.ServerKeySize)
	svcA, err := iam.NewService(iam.Config{Store: a, ServerKey: key, DefaultAccount: acct})
	if err != nil {
		t.Fatal(err)
	}
	if err := svcA.Init(ctx); err != nil {
		t.Fatal(err)
	}
	svcB, err := iam.NewService(iam.Config{Store: b, ServerKey: key, DefaultAccount: acct})
	if err != nil {
		t.Fatal(err)
	}
	if err := svcB.Init(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := svcA.CreateUser(ctx, acct, "bob", "/"); err != nil {
		t.Fatal(err)
	}
	k, _, err := svcA.CreateAccessKey(ctx, acct, "bob")
	if err != nil {
		t.Fatal(err)
	}
	_, ch := listen(t, b)
	const n = 100
	lat := make([]time.Duration, 0, n)
	for i := range n {
		status := iam.StatusInactive
		if i%2 == 1 {
			status = iam.StatusActive
		}
		start := time.Now()
		if err := a.UpdateAccessKey(ctx, acct, "bob", k.ID, status); err != nil {
			t.Fatal(err)
		}
		if ev := next(t, ch); ev != (Event{Kind: EventAccessKey, ID: k.ID}) {
			t.Fatalf("event %+v", ev)
		}
		lat = append(lat, time.Since(start))
		_, _, err := svcB.Credentials(ctx, k.ID, "")
		if revoked := errors.Is(err, iam.ErrUnknownKey); revoked != (status == iam.StatusInactive) || (!revoked && err != nil) {
			t.Fatalf("revoke %d (%s): node B's Credentials: %v", i, status, err)
		}
	}
	slices.Sort(lat)
	t.Logf("revoke on A → event on B over %d revokes: p50 %v, p99 %v, max %v", n, lat[n/2], lat[n*99/100-1], lat[n-1])
}

// A database first used with one server key refuses a node given another.
func TestServerKeyMismatch(t *testing.T) {
	_, dsn := openStore(t)
	ctx := context.Background()
	start := func(b byte) error {
		s := openStoreAt(t, dsn)
		svc, err := iam.NewService(iam.Config{Store: s, ServerKey: bytes.Repeat([]byte{b}, iam.ServerKeySize), DefaultAccount: acct})
		if err != nil {
			t.Fatal(err)
		}
		return svc.Init(ctx)
	}
	if err := start(1); err != nil {
		t.Fatal(err)
	}
	if err := start(1); err != nil {
		t.Fatalf("same key: %v", err)
	}
	if err := start(2); !errors.Is(err, iam.ErrServerKeyMismatch) || !strings.Contains(err.Error(), "give every node the same --server-key") {
		t.Fatalf("another key: %v", err)
	}
}

// Several nodes starting at once on a new database keep one check value:
// all of them start with the same key, and none with another.
func TestServerKeyCheckConcurrentStart(t *testing.T) {
	_, dsn := openStore(t)
	ctx := context.Background()
	const nodes = 6
	stores := make([]*Store, nodes)
	for i := range stores {
		stores[i] = openStoreAt(t, dsn)
	}
	vals := make([][]byte, nodes)
	errs := make(chan error, nodes)
	for i := range nodes {
		go func() {
			var err error
			vals[i], err = stores[i].ServerKeyCheck(ctx, []byte(fmt.Sprint("node", i)))
			errs <- err
		}()
	}
	for range nodes {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	for i := range vals {
		if !bytes.Equal(vals[i], vals[0]) {
			t.Fatalf("node %d got %q, node 0 %q", i, vals[i], vals[0])
		}
	}
}

func TestParseEvent(t *testing.T) {
	for in, want := range map[string]Event{
		"access-key:AKIA1": {Kind: EventAccessKey, ID: "AKIA1"},
		"bucket:b:c":       {Kind: EventBucket, ID: "b:c"},
		"policy:":          {Kind: EventAll},
		"nonsense":         {Kind: EventAll},
		"future:x":         {Kind: EventAll},
		"all:x":            {Kind: EventAll},
	} {
		got := parseEvent(in)
		got.Reason = ""
		if got != want {
			t.Errorf("parseEvent(%q) = %+v, want %+v", in, got, want)
		}
	}
}

// FuzzParseEvent: any payload decodes to an event, and what an event
// encodes decodes to itself.
func FuzzParseEvent(f *testing.F) {
	for _, s := range []string{"access-key:AKIA1", "bucket:x", "", ":", "all:", "policies:\x00\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		ev := parseEvent(p)
		if ev.Kind == EventAll {
			return
		}
		if again := parseEvent(ev.payload()); again != ev {
			t.Fatalf("%q → %+v → %q → %+v", p, ev, ev.payload(), again)
		}
	})
}

// BenchmarkRequestIdentity measures what a request signed with a user's
// access key costs the identity service on PostgreSQL: the credential
// lookup (Service.Credentials) and the policies in force (Service.Policies)
// for a user with an inline policy, an attached managed policy and a group
// with both. It reports the statements (round trips) per request.
func BenchmarkRequestIdentity(b *testing.B) {
	dsn := pgtest.DSN(b)
	ctx := context.Background()
	cfg, err := ParseURL(dsn)
	if err != nil {
		b.Fatal(err)
	}
	qc := &queryCounter{}
	cfg.ConnConfig.Tracer = qc
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	s, err := New(ctx, pool, nil)
	if err != nil {
		pool.Close()
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	svc, err := iam.NewService(iam.Config{Store: s, ServerKey: bytes.Repeat([]byte{7}, iam.ServerKeySize), DefaultAccount: acct})
	if err != nil {
		b.Fatal(err)
	}
	if err := svc.Init(ctx); err != nil {
		b.Fatal(err)
	}
	must := func(err error) {
		if err != nil {
			b.Fatal(err)
		}
	}
	_, err = svc.CreateUser(ctx, acct, "carol", "/")
	must(err)
	k, _, err := svc.CreateAccessKey(ctx, acct, "carol")
	must(err)
	must(svc.PutInlinePolicy(ctx, acct, iam.EntityUser, "carol", "own", allowAll))
	p, err := svc.CreatePolicy(ctx, acct, "shared", "/", "", allowAll)
	must(err)
	must(s.AttachPolicy(ctx, acct, iam.EntityUser, "carol", p.ARN()))
	_, err = svc.CreateGroup(ctx, acct, "team", "/")
	must(err)
	must(s.AddUserToGroup(ctx, acct, "team", "carol"))
	must(svc.PutInlinePolicy(ctx, acct, iam.EntityGroup, "team", "grp", allowAll))
	must(s.AttachPolicy(ctx, acct, iam.EntityGroup, "team", p.ARN()))

	request := func() {
		_, pr, err := svc.Credentials(ctx, k.ID, "")
		if err != nil {
			b.Fatal(err)
		}
		ident, _, err := svc.Policies(ctx, pr)
		if err != nil || len(ident) != 4 {
			b.Fatalf("policies: %d, %v", len(ident), err)
		}
	}
	request() // warm the connection's statement cache
	qc.n.Store(0)
	b.ResetTimer()
	for range b.N {
		request()
	}
	b.StopTimer()
	b.ReportMetric(float64(qc.n.Load())/float64(b.N), "roundtrips/op")
}
