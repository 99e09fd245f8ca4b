package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/postern/postern/internal/clock"
	"github.com/postern/postern/share"
)

var t0 = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

// hit is one request a receiver got.
type hit struct {
	header http.Header
	body   []byte
}

// receiver is an HTTP server on 127.0.0.1 that answers each request with
// the next of statuses (the last one repeated) and reports it on hits.
type receiver struct {
	*httptest.Server
	hits chan hit
	mu   sync.Mutex
	next []func(w http.ResponseWriter)
}

func newReceiver(t *testing.T, answers ...func(w http.ResponseWriter)) *receiver {
	rc := &receiver{hits: make(chan hit, 100), next: answers}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		a := rc.next[0]
		if len(rc.next) > 1 {
			rc.next = rc.next[1:]
		}
		rc.mu.Unlock()
		a(w)
		rc.hits <- hit{r.Header.Clone(), body}
	}))
	t.Cleanup(rc.Close)
	return rc
}

func status(code int, header ...string) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.WriteHeader(code)
	}
}

// settles records each delivery's outcomes, in order.
type settles chan string

func (s settles) hook(_, outcome string) { s <- outcome }

// next waits for the next outcome.
func (s settles) next(t *testing.T) string {
	t.Helper()
	select {
	case o := <-s:
		return o
	case <-time.After(time.Minute): // a guard against hanging, not a timing
		t.Fatal("no delivery settled")
		return ""
	}
}

func (rc *receiver) next1(t *testing.T) hit {
	t.Helper()
	select {
	case h := <-rc.hits:
		return h
	case <-time.After(time.Minute): // a guard against hanging, not a timing
		t.Fatal("the receiver got no request")
		return hit{}
	}
}

func newTest(t *testing.T, cfg Config) (*Notifier, settles) {
	s := make(settles, 100)
	if cfg.Jitter == nil {
		cfg.Jitter = func() float64 { return 1 }
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	n := start(cfg, s.hook)
	t.Cleanup(n.Close)
	return n, s
}

var testShare = share.Share{ID: "shr-aaaaaaaaaaaaaaaaaaaa", Bucket: "photos", Key: "2026/cat.jpg", MaxUses: 5, Uses: 2}

func TestDeliverySignedJSON(t *testing.T) {
	rc := newReceiver(t, status(204))
	fake := clock.NewFake(t0)
	secret := []byte("server-secret")
	n, s := newTest(t, Config{URL: rc.URL + "/hook?token=x", Secret: secret, Clock: fake})
	sh := testShare
	n.Event(share.Event{Kind: share.EventUse, Time: t0.Add(-time.Second), Share: sh,
		Entry: &share.AuditEntry{Time: t0.Add(-time.Second), Source: "203.0.113.7", UserAgent: "curl/8.5.0", Status: 200, Bytes: 4096}})
	if o := s.next(t); o != "delivered" {
		t.Fatalf("outcome %s", o)
	}
	h := rc.next1(t)
	for k, want := range map[string]string{
		"Content-Type": "application/json", "User-Agent": "Postern-Webhook/1",
		"X-Postern-Event": "share.used", "X-Postern-Timestamp": strconv.FormatInt(t0.Unix(), 10),
	} {
		if got := h.header.Get(k); got != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}
	if id := h.header.Get("X-Postern-Delivery"); len(id) != 32 {
		t.Errorf("X-Postern-Delivery %q", id)
	}
	if err := Verify(secret, h.header.Get("X-Postern-Signature"), h.header.Get("X-Postern-Timestamp"), h.body, t0, time.Minute); err != nil {
		t.Fatalf("signature: %v", err)
	}
	var got map[string]any
	if err := json.Unmarshal(h.body, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"type": "share.used", "shareId": sh.ID, "bucket": "photos", "key": "2026/cat.jpg",
		"time": "2026-03-04T05:06:06Z", "uses": 2.0, "maxUses": 5.0,
		"source": "203.0.113.7", "userAgent": "curl/8.5.0", "status": 200.0, "bytes": 4096.0}
	if len(got) != len(want) {
		t.Errorf("body %s, want the fields %v", h.body, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %v, want %v", k, got[k], v)
		}
	}
	if st := n.Stats(); st != (Stats{Delivered: 1}) {
		t.Fatalf("stats %+v", st)
	}

	// Revoked: no use fields.
	sh.RevokedAt = t0
	n.Event(share.Event{Kind: share.EventRevoked, Share: sh})
	s.next(t)
	h = rc.next1(t)
	if h.header.Get("X-Postern-Event") != "share.revoked" || bytes.Contains(h.body, []byte("source")) || !bytes.Contains(h.body, []byte(`"type":"share.revoked"`)) {
		t.Fatalf("revoked: %v %s", h.header, h.body)
	}
}

// Each kind of share.Event becomes its notification.
func TestEventKinds(t *testing.T) {
	rc := newReceiver(t, status(200))
	n, s := newTest(t, Config{URL: rc.URL, Secret: []byte("k"), Workers: 1})
	sh := testShare
	sh.Uses = sh.MaxUses
	n.Event(share.Event{Kind: share.EventUse, Time: t0, Share: sh, Entry: &share.AuditEntry{Time: t0, Status: 200}})
	n.Event(share.Event{Kind: share.EventUsedUp, Time: t0, Share: sh})
	sh.RevokedAt = t0.Add(time.Minute)
	n.Event(share.Event{Kind: share.EventRevoked, Time: sh.RevokedAt, Share: sh})
	n.Event(share.Event{Kind: "something new", Time: t0, Share: sh}) // not notified
	var types []string
	for range 3 {
		s.next(t)
		h := rc.next1(t)
		var p map[string]any
		json.Unmarshal(h.body, &p)
		types = append(types, h.header.Get("X-Postern-Event")+"="+p["type"].(string)+"@"+p["time"].(string))
	}
	want := "share.used=share.used@2026-03-04T05:06:07Z,share.used_up=share.used_up@2026-03-04T05:06:07Z,share.revoked=share.revoked@2026-03-04T05:07:07Z"
	if got := strings.Join(types, ","); got != want {
		t.Fatalf("events %s, want %s", got, want)
	}
	if st := n.Stats(); st != (Stats{Delivered: 3}) {
		t.Fatalf("stats %+v", st)
	}
}

// Each destination is signed with its own secret: the server-wide one
// with the operator's, a share's own with that share's derived secret.
func TestShareWebhookSecret(t *testing.T) {
	wide, own := newReceiver(t, status(200)), newReceiver(t, status(200))
	key := ShareKeyFromServerKey([]byte("0123456789abcdef0123456789abcdef"))
	n, s := newTest(t, Config{URL: wide.URL, Secret: []byte("operator"), ShareKey: key, AllowPrivate: true})
	sh := testShare
	sh.Webhook = own.URL + "/mine"
	sh.RevokedAt = t0
	n.Event(share.Event{Kind: share.EventRevoked, Share: sh})
	s.next(t)
	s.next(t)
	hw, ho := wide.next1(t), own.next1(t)
	now := time.Now()
	if err := Verify([]byte("operator"), hw.header.Get("X-Postern-Signature"), hw.header.Get("X-Postern-Timestamp"), hw.body, now, time.Hour); err != nil {
		t.Errorf("server-wide: %v", err)
	}
	ss := []byte(ShareSecret(key, sh.ID))
	if err := Verify(ss, ho.header.Get("X-Postern-Signature"), ho.header.Get("X-Postern-Timestamp"), ho.body, now, time.Hour); err != nil {
		t.Errorf("share's own: %v", err)
	}
	if err := Verify([]byte("operator"), ho.header.Get("X-Postern-Signature"), ho.header.Get("X-Postern-Timestamp"), ho.body, now, time.Hour); err == nil {
		t.Error("the share's webhook verifies with the operator's secret")
	}
	if hw.header.Get("X-Postern-Delivery") == ho.header.Get("X-Postern-Delivery") {
		t.Error("two destinations share a delivery id")
	}
}

// A share's webhook at a private address is refused at connect time, also
// when its name is not an address (localhost), and never retried.
func TestShareWebhookPrivateRefused(t *testing.T) {
	rc := newReceiver(t, status(200))
	_, port, _ := net.SplitHostPort(rc.Listener.Addr().String())
	key := ShareKeyFromServerKey(make([]byte, 32))
	n, s := newTest(t, Config{ShareKey: key, Clock: clock.NewFake(t0)})
	for _, u := range []string{rc.URL, "http://localhost:" + port + "/"} {
		sh := testShare
		sh.Webhook = u
		n.Event(share.Event{Kind: share.EventRevoked, Share: sh})
		if o := s.next(t); o != "failed" {
			t.Fatalf("%s: outcome %s, want failed", u, o)
		}
	}
	if st := n.Stats(); st != (Stats{Failed: 2}) {
		t.Fatalf("stats %+v", st)
	}
	select {
	case h := <-rc.hits:
		t.Fatalf("the private receiver was called: %v", h.header)
	default:
	}
}

// Retries: 5xx then 2xx, with the backoff doubling, the same delivery id,
// a fresh timestamp per attempt; time moves only when the test says.
func TestRetryBackoff(t *testing.T) {
	rc := newReceiver(t, status(503), status(502), status(200))
	fake := clock.NewFake(t0)
	n, s := newTest(t, Config{URL: rc.URL, Secret: []byte("k"), Clock: fake, BaseDelay: 2 * time.Second})
	sh := testShare
	n.Event(share.Event{Kind: share.EventRevoked, Share: sh})
	var ids []string
	for i, delay := range []time.Duration{2 * time.Second, 4 * time.Second} {
		h := rc.next1(t)
		ids = append(ids, h.header.Get("X-Postern-Delivery"))
		if o := s.next(t); o != "retry" {
			t.Fatalf("attempt %d: %s", i+1, o)
		}
		next, ok := fake.Next()
		if !ok || next.Sub(fake.Now()) != delay {
			t.Fatalf("attempt %d: next attempt in %v (%v), want %v", i+1, next.Sub(fake.Now()), ok, delay)
		}
		fake.Advance(delay - time.Millisecond)
		if fake.Armed() != 1 {
			t.Fatalf("attempt %d: the retry fired early", i+1)
		}
		fake.Advance(time.Millisecond)
	}
	h := rc.next1(t)
	ids = append(ids, h.header.Get("X-Postern-Delivery"))
	if o := s.next(t); o != "delivered" {
		t.Fatalf("outcome %s", o)
	}
	if ids[0] != ids[1] || ids[1] != ids[2] {
		t.Fatalf("delivery ids %v", ids)
	}
	if ts := h.header.Get("X-Postern-Timestamp"); ts != strconv.FormatInt(t0.Add(6*time.Second).Unix(), 10) {
		t.Fatalf("third attempt's timestamp %s", ts)
	}
	if err := Verify([]byte("k"), h.header.Get("X-Postern-Signature"), h.header.Get("X-Postern-Timestamp"), h.body, fake.Now(), time.Second); err != nil {
		t.Fatal(err)
	}
	if st := n.Stats(); st != (Stats{Delivered: 1, Retries: 2}) {
		t.Fatalf("stats %+v", st)
	}
}

// Jitter scales each delay into [delay/2, delay].
func TestBackoffJitter(t *testing.T) {
	n, _ := newTest(t, Config{BaseDelay: time.Second, MaxDelay: 10 * time.Second, Jitter: func() float64 { return 0.5 }})
	for attempt, want := range map[int]time.Duration{1: 500 * time.Millisecond, 2: time.Second, 3: 2 * time.Second, 4: 4 * time.Second, 5: 5 * time.Second, 60: 5 * time.Second} {
		if got := n.backoff(attempt); got != want {
			t.Errorf("backoff(%d) = %v, want %v", attempt, got, want)
		}
	}
	real := New(Config{BaseDelay: time.Second})
	defer real.Close()
	for range 100 {
		if d := real.backoff(1); d < 500*time.Millisecond || d > time.Second {
			t.Fatalf("random jitter gave %v", d)
		}
	}
}

// At most MaxAttempts attempts, then failed.
func TestAttemptsExhausted(t *testing.T) {
	rc := newReceiver(t, status(500))
	fake := clock.NewFake(t0)
	n, s := newTest(t, Config{URL: rc.URL, Secret: []byte("k"), Clock: fake})
	sh := testShare
	n.Event(share.Event{Kind: share.EventRevoked, Share: sh})
	var waited time.Duration
	for i := 1; i < DefaultMaxAttempts; i++ {
		rc.next1(t)
		if o := s.next(t); o != "retry" {
			t.Fatalf("attempt %d: %s", i, o)
		}
		next, _ := fake.Next()
		waited += next.Sub(fake.Now())
		fake.Advance(next.Sub(fake.Now()))
	}
	rc.next1(t)
	if o := s.next(t); o != "failed" {
		t.Fatalf("last attempt: %s", o)
	}
	if waited != (2+4+8+16+32)*time.Second {
		t.Fatalf("waited %v in all", waited)
	}
	if fake.Armed() != 0 {
		t.Fatal("a retry is still scheduled")
	}
	if st := n.Stats(); st != (Stats{Failed: 1, Retries: DefaultMaxAttempts - 1}) {
		t.Fatalf("stats %+v", st)
	}
}

// 429 and 503 with Retry-After wait what they ask (seconds or a date); a
// Retry-After past the time budget ends the retries.
func TestRetryAfter(t *testing.T) {
	fake := clock.NewFake(t0)
	rc := newReceiver(t,
		status(429, "Retry-After", "7"),
		status(503, "Retry-After", t0.Add(7*time.Second+30*time.Second).Format(http.TimeFormat)),
		status(429, "Retry-After", "3600"))
	n, s := newTest(t, Config{URL: rc.URL, Secret: []byte("k"), Clock: fake})
	sh := testShare
	n.Event(share.Event{Kind: share.EventRevoked, Share: sh})
	for i, want := range []time.Duration{7 * time.Second, 30 * time.Second} {
		rc.next1(t)
		if o := s.next(t); o != "retry" {
			t.Fatalf("attempt %d: %s", i+1, o)
		}
		next, _ := fake.Next()
		if got := next.Sub(fake.Now()); got != want {
			t.Fatalf("attempt %d: waits %v, want %v", i+1, got, want)
		}
		fake.Advance(want)
	}
	rc.next1(t)
	if o := s.next(t); o != "failed" {
		t.Fatalf("Retry-After 3600 with a 15-minute budget: %s", o)
	}
}

func TestParseRetryAfter(t *testing.T) {
	for v, want := range map[string]time.Duration{
		"": -1, "x": -1, "-5": -1, "1.5": -1, "0": 0, "120": 2 * time.Minute,
		t0.Add(-time.Hour).Format(http.TimeFormat):       0,
		t0.Add(90 * time.Second).Format(http.TimeFormat): 90 * time.Second,
	} {
		if got := parseRetryAfter(v, t0); got != want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", v, got, want)
		}
	}
}

// Other answers fail at once: 4xx, and a redirect, which is not followed.
func TestNoRetry(t *testing.T) {
	target := newReceiver(t, status(200))
	for _, a := range []func(http.ResponseWriter){status(400), status(404), status(410), status(302, "Location", target.URL), status(304)} {
		rc := newReceiver(t, a)
		fake := clock.NewFake(t0)
		n, s := newTest(t, Config{URL: rc.URL, Secret: []byte("k"), Clock: fake})
		sh := testShare
		n.Event(share.Event{Kind: share.EventRevoked, Share: sh})
		rc.next1(t)
		if o := s.next(t); o != "failed" {
			t.Fatalf("outcome %s", o)
		}
		if fake.Armed() != 0 {
			t.Fatal("a retry is scheduled")
		}
	}
	select {
	case <-target.hits:
		t.Fatal("a redirect was followed")
	default:
	}
}

// An attempt that outlasts Timeout is a network error: retried.
func TestAttemptTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done(): // the client gave up
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)
	n, s := newTest(t, Config{URL: srv.URL, Secret: []byte("k"), Clock: clock.NewFake(t0), Timeout: 50 * time.Millisecond})
	sh := testShare
	n.Event(share.Event{Kind: share.EventRevoked, Share: sh})
	if o := s.next(t); o != "retry" {
		t.Fatalf("outcome %s", o)
	}
}

// A full queue drops at once (Notify never waits), counts each drop and
// logs once per burst.
func TestQueueFull(t *testing.T) {
	release, entered := make(chan struct{}), make(chan struct{}, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		<-release
	}))
	defer srv.Close()
	var logs bytes.Buffer
	var logMu sync.Mutex
	logger := slog.New(slog.NewTextHandler(lockedWriter{&logs, &logMu}, nil))
	n, s := newTest(t, Config{URL: srv.URL, Secret: []byte("k"), Queue: 1, Workers: 1, Logger: logger})
	sh := testShare
	n.Event(share.Event{Kind: share.EventRevoked, Share: sh}) // taken by the worker, which waits in the receiver
	<-entered
	n.Event(share.Event{Kind: share.EventRevoked, Share: sh}) // queued
	for range 5 {
		n.Event(share.Event{Kind: share.EventRevoked, Share: sh}) // dropped
	}
	for range 5 {
		if o := s.next(t); o != "dropped" {
			t.Fatalf("outcome %s", o)
		}
	}
	if st := n.Stats(); st.Dropped != 5 {
		t.Fatalf("stats %+v", st)
	}
	logMu.Lock()
	if c := strings.Count(logs.String(), "dropping notifications"); c != 1 {
		t.Fatalf("%d drop lines, want 1:\n%s", c, logs.String())
	}
	logMu.Unlock()
	close(release)
	for range 2 {
		if o := s.next(t); o != "delivered" {
			t.Fatalf("outcome %s", o)
		}
	}
	// The queue accepts again: the burst ends with a line saying how many went.
	n.Event(share.Event{Kind: share.EventRevoked, Share: sh})
	if o := s.next(t); o != "delivered" {
		t.Fatalf("outcome %s", o)
	}
	logMu.Lock()
	defer logMu.Unlock()
	if !strings.Contains(logs.String(), "dropped=5") {
		t.Fatalf("no end-of-burst line:\n%s", logs.String())
	}
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// Close abandons what waits for a retry; later notifications are dropped.
func TestClose(t *testing.T) {
	rc := newReceiver(t, status(500))
	fake := clock.NewFake(t0)
	n, s := newTest(t, Config{URL: rc.URL, Secret: []byte("k"), Clock: fake})
	sh := testShare
	n.Event(share.Event{Kind: share.EventRevoked, Share: sh})
	if o := s.next(t); o != "retry" {
		t.Fatal(o)
	}
	n.Close()
	if fake.Armed() != 0 {
		t.Fatal("a retry survived Close")
	}
	n.Event(share.Event{Kind: share.EventRevoked, Share: sh})
	if o := s.next(t); o != "dropped" {
		t.Fatal(o)
	}
	var nilN *Notifier
	nilN.Event(share.Event{Kind: share.EventRevoked, Share: sh}) // a nil Notifier notifies nothing
	_ = context.Background()
}
