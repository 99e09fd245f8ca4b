// Package webhook sends the notifications of share links: a signed JSON
// POST when a share is used, revoked or runs out of uses, to the share's
// own webhook and to a server-wide one.
//
// A Notifier never blocks the request path: Enqueue puts a delivery in a
// bounded queue, or drops it (counted, and logged once per burst) when the
// queue is full. A few workers POST each delivery; a network error, a 5xx
// or a 429 is retried with exponential backoff and jitter (a 429's or
// 503's Retry-After is honoured) up to MaxAttempts attempts within
// MaxElapsed; any other answer but a 2xx fails at once. Redirects are not
// followed, response bodies are read up to 64 KiB and discarded, and every
// attempt has its own timeout. Deliveries live in memory: the ones queued
// or waiting for a retry when the server stops are lost.
//
// Every notification is signed (Sign, Verify): X-Postern-Signature is
// "sha256=" and the hex HMAC-SHA256 of X-Postern-Timestamp, ".", and the
// body. The server-wide webhook's secret is the operator's; a share's own
// webhook is signed with a secret of that share alone (ShareSecret),
// derived from the server key, so that no receiver a user names learns a
// secret that signs anything but that user's share's notifications.
//
// A share's webhook is a URL a user gives: it is called only at public
// addresses, checked at connect time (after name resolution), unless the
// operator allows private ones (Config.AllowPrivate).
//
// Time comes from an injected clock (internal/clock), so the retry rules
// are tested without sleeping.
package webhook

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/postern/postern/internal/clock"
	"github.com/postern/postern/share"
)

// Event types.
const (
	EventUsed    = "share.used"
	EventRevoked = "share.revoked"
	EventUsedUp  = "share.used_up"
)

// UserAgent is the User-Agent of every notification.
const UserAgent = "Postern-Webhook/1"

// Defaults of Config.
const (
	DefaultQueue       = 1024
	DefaultWorkers     = 2
	DefaultTimeout     = 10 * time.Second
	DefaultMaxAttempts = 6
	DefaultBaseDelay   = 2 * time.Second
	DefaultMaxDelay    = 5 * time.Minute
	DefaultMaxElapsed  = 15 * time.Minute
	// maxResponse is how much of a response body is read (and discarded)
	// so that the connection can be reused.
	maxResponse = 64 << 10
)

// Event is one notification. Use is set for EventUsed only.
type Event struct {
	Type    string
	ShareID string
	Bucket  string
	Key     string
	Time    time.Time
	Uses    int64
	MaxUses int64
	Use     *Use
}

// Use is what a share.used notification says of the request.
type Use struct {
	Source    string
	UserAgent string
	Status    int
	Bytes     int64
}

// payload is an Event's JSON body; the use's fields only for share.used.
type payload struct {
	Type      string  `json:"type"`
	ShareID   string  `json:"shareId"`
	Bucket    string  `json:"bucket"`
	Key       string  `json:"key"`
	Time      string  `json:"time"`
	Uses      int64   `json:"uses"`
	MaxUses   int64   `json:"maxUses"`
	Source    *string `json:"source,omitempty"`
	UserAgent *string `json:"userAgent,omitempty"`
	Status    *int    `json:"status,omitempty"`
	Bytes     *int64  `json:"bytes,omitempty"`
}

// MarshalJSON is the notification's body.
func (e Event) MarshalJSON() ([]byte, error) {
	p := payload{Type: e.Type, ShareID: e.ShareID, Bucket: e.Bucket, Key: e.Key,
		Time: e.Time.UTC().Format(time.RFC3339), Uses: e.Uses, MaxUses: e.MaxUses}
	if u := e.Use; u != nil {
		p.Source, p.UserAgent, p.Status, p.Bytes = &u.Source, &u.UserAgent, &u.Status, &u.Bytes
	}
	return json.Marshal(p)
}

// UsedEvent is the share.used notification of a request made with s
// (the share as it stands after the request's use was counted).
func UsedEvent(s *share.Share, a *share.AuditEntry) Event {
	ev := shareEvent(EventUsed, s, a.Time)
	ev.Use = &Use{Source: a.Source, UserAgent: a.UserAgent, Status: a.Status, Bytes: a.Bytes}
	return ev
}

// RevokedEvent is the share.revoked notification of s.
func RevokedEvent(s *share.Share) Event { return shareEvent(EventRevoked, s, s.RevokedAt) }

// UsedUpEvent is the share.used_up notification of s, whose last use was
// taken at at.
func UsedUpEvent(s *share.Share, at time.Time) Event { return shareEvent(EventUsedUp, s, at) }

func shareEvent(typ string, s *share.Share, at time.Time) Event {
	return Event{Type: typ, ShareID: s.ID, Bucket: s.Bucket, Key: s.Key, Time: at, Uses: s.Uses, MaxUses: s.MaxUses}
}

// Config configures a Notifier.
type Config struct {
	// URL is the server-wide webhook, notified of every share's events;
	// empty for none. It is the operator's, so private addresses are
	// allowed for it.
	URL string
	// Secret signs the server-wide webhook's notifications.
	Secret []byte
	// ShareKey derives each share's own secret (ShareSecret); required
	// for shares' own webhooks to be called.
	ShareKey []byte
	// AllowPrivate lets shares' own webhooks reach loopback, private and
	// link-local addresses (--share-webhook-allow-private).
	AllowPrivate bool

	Queue       int           // deliveries waiting at most; DefaultQueue when 0
	Workers     int           // concurrent deliveries; DefaultWorkers when 0
	Timeout     time.Duration // one attempt, response included; DefaultTimeout when 0
	MaxAttempts int           // DefaultMaxAttempts when 0
	BaseDelay   time.Duration // the first retry's delay before jitter; DefaultBaseDelay when 0
	MaxDelay    time.Duration // the longest delay between attempts; DefaultMaxDelay when 0
	MaxElapsed  time.Duration // no attempt starts later than this after the first; DefaultMaxElapsed when 0

	Clock  clock.Clock  // clock.Real when nil
	Logger *slog.Logger // slog.Default() when nil
	// Jitter returns the fraction of a backoff delay to wait, in
	// [0.5, 1]; a uniformly random one when nil (tests fix it).
	Jitter func() float64
}

// Stats are the Notifier's counters since it started.
type Stats struct {
	Delivered uint64 // answered 2xx
	Failed    uint64 // given up: a final answer, or retries exhausted
	Dropped   uint64 // not queued: the queue (or the retry list) was full, or the Notifier closed
	Retries   uint64 // attempts after the first
}

// Notifier delivers notifications. Its methods are safe for concurrent use.
type Notifier struct {
	cfg           Config
	clock         clock.Clock
	log           *slog.Logger
	queue         chan *delivery
	public, trust *http.Client // shares' own webhooks (checked dials), the server-wide one

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	waiting map[*delivery]clock.Timer // deliveries waiting for a retry
	closed  bool

	delivered, failed, dropped, retries atomic.Uint64
	dropping                            atomic.Bool  // in a burst of drops
	burst                               atomic.Int64 // drops in the current burst

	// settled, for tests, is told each delivery's end: "delivered",
	// "failed" or "dropped", and "retry" when one is scheduled.
	settled func(id, outcome string)
}

// delivery is one event for one destination, through its retries.
type delivery struct {
	id       string // X-Postern-Delivery: the same across retries
	typ      string
	url      string
	secret   []byte
	checked  bool // a share's webhook: dial only public addresses
	body     []byte
	attempts int
	first    time.Time
}

// New starts a Notifier's workers; Close stops them.
func New(cfg Config) *Notifier { return start(cfg, nil) }

func start(cfg Config, settled func(id, outcome string)) *Notifier {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defD := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&cfg.Queue, DefaultQueue)
	def(&cfg.Workers, DefaultWorkers)
	def(&cfg.MaxAttempts, DefaultMaxAttempts)
	defD(&cfg.Timeout, DefaultTimeout)
	defD(&cfg.BaseDelay, DefaultBaseDelay)
	defD(&cfg.MaxDelay, DefaultMaxDelay)
	defD(&cfg.MaxElapsed, DefaultMaxElapsed)
	if cfg.Jitter == nil {
		cfg.Jitter = func() float64 { return 0.5 + rand.Float64()/2 }
	}
	n := &Notifier{
		cfg:     cfg,
		clock:   clock.Or(cfg.Clock),
		log:     cfg.Logger,
		queue:   make(chan *delivery, cfg.Queue),
		waiting: map[*delivery]clock.Timer{},
		settled: settled,
	}
	if n.settled == nil {
		n.settled = func(string, string) {}
	}
	if n.log == nil {
		n.log = slog.Default()
	}
	n.trust = newClient(cfg.Timeout, nil)
	if cfg.AllowPrivate {
		n.public = n.trust
	} else {
		n.public = newClient(cfg.Timeout, dialControl)
	}
	n.ctx, n.cancel = context.WithCancel(context.Background())
	for range cfg.Workers {
		n.wg.Add(1)
		go n.work()
	}
	return n
}

// newClient is an HTTP client that follows no redirect and uses no proxy
// (a proxy would dial in our place, past control).
func newClient(timeout time.Duration, control func(network, address string, c syscall.RawConn) error) *http.Client {
	d := &net.Dialer{Timeout: timeout, Control: control}
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			Proxy:                 nil,
			DialContext:           d.DialContext,
			ForceAttemptHTTP2:     true,
			MaxIdleConns:          16,
			MaxIdleConnsPerHost:   2,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   timeout,
			ResponseHeaderTimeout: timeout,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Notify queues ev for the server-wide webhook, if any, and for the
// share's own webhook (shareWebhook, empty for none). It never blocks.
func (n *Notifier) Notify(ev Event, shareWebhook string) {
	if n == nil || (n.cfg.URL == "" && shareWebhook == "") {
		return
	}
	body, err := json.Marshal(ev)
	if err != nil { // cannot happen: strings and numbers
		n.log.Error("share webhook: encoding a notification", "err", err)
		return
	}
	if n.cfg.URL != "" {
		n.enqueue(&delivery{id: newID(), typ: ev.Type, url: n.cfg.URL, secret: n.cfg.Secret, body: body})
	}
	if shareWebhook != "" {
		if n.cfg.ShareKey == nil {
			n.log.Error("share webhook: no key for shares' own secrets; not sent", "share", ev.ShareID)
			return
		}
		n.enqueue(&delivery{id: newID(), typ: ev.Type, url: shareWebhook,
			secret: []byte(ShareSecret(n.cfg.ShareKey, ev.ShareID)), checked: !n.cfg.AllowPrivate, body: body})
	}
}

// Event notifies a share event; it is share.RecorderOptions.Events, called
// on the goroutine of the request that caused the event, and never blocks.
// A use sends share.used, a use that was the share's last one
// share.used_up as well (the request path emits it once: the use that took
// the count to MaxUses), a revocation share.revoked.
func (n *Notifier) Event(ev share.Event) {
	sh := &ev.Share
	switch ev.Kind {
	case share.EventUse:
		if ev.Entry != nil {
			n.Notify(UsedEvent(sh, ev.Entry), sh.Webhook)
		}
	case share.EventUsedUp:
		n.Notify(UsedUpEvent(sh, ev.Time), sh.Webhook)
	case share.EventRevoked:
		n.Notify(RevokedEvent(sh), sh.Webhook)
	}
}

// enqueue queues d without blocking, or drops it.
func (n *Notifier) enqueue(d *delivery) {
	n.mu.Lock()
	closed := n.closed
	n.mu.Unlock()
	if closed {
		n.drop(d, "closed")
		return
	}
	select {
	case n.queue <- d:
		if n.dropping.Load() && n.dropping.CompareAndSwap(true, false) {
			n.log.Info("share webhook: queue accepting notifications again", "dropped", n.burst.Swap(0))
		}
	default:
		n.drop(d, "queue full")
	}
}

func (n *Notifier) drop(d *delivery, why string) {
	n.dropped.Add(1)
	defer n.settled(d.id, "dropped")
	n.burst.Add(1)
	if n.dropping.CompareAndSwap(false, true) {
		n.log.Warn("share webhook: dropping notifications", "why", why, "type", d.typ, "queue", cap(n.queue))
	}
}

// Stats returns the counters.
func (n *Notifier) Stats() Stats {
	return Stats{Delivered: n.delivered.Load(), Failed: n.failed.Load(), Dropped: n.dropped.Load(), Retries: n.retries.Load()}
}

// Close stops the workers, abandoning queued deliveries, those waiting for
// a retry and attempts in flight, and returns when the workers have
// stopped. Notifications after Close are dropped.
func (n *Notifier) Close() {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return
	}
	n.closed = true
	for d, t := range n.waiting {
		t.Stop()
		delete(n.waiting, d)
	}
	n.mu.Unlock()
	n.cancel()
	n.wg.Wait()
	n.trust.CloseIdleConnections()
	n.public.CloseIdleConnections()
}

func (n *Notifier) work() {
	defer n.wg.Done()
	for {
		select {
		case <-n.ctx.Done():
			return
		case d := <-n.queue:
			n.attempt(d)
		}
	}
}

// attempt makes one attempt of d and then counts it delivered or failed,
// or schedules its next attempt.
func (n *Notifier) attempt(d *delivery) {
	now := n.clock.Now()
	if d.attempts == 0 {
		d.first = now
	} else {
		n.retries.Add(1)
	}
	d.attempts++
	status, retryAfter, err := n.post(d, now)
	if err == nil && status >= 200 && status <= 299 {
		n.delivered.Add(1)
		n.settled(d.id, "delivered")
		return
	}
	if n.ctx.Err() != nil {
		return // closing: abandoned, not failed
	}
	retry := status == http.StatusTooManyRequests || status >= 500 ||
		(err != nil && !errors.Is(err, ErrRefusedAddress))
	why := "status " + strconv.Itoa(status)
	if err != nil {
		why = err.Error()
	}
	if !retry {
		n.fail(d, why)
		return
	}
	if d.attempts >= n.cfg.MaxAttempts {
		n.fail(d, why+" (attempts exhausted)")
		return
	}
	wait := n.backoff(d.attempts)
	if retryAfter >= 0 {
		wait = retryAfter
	}
	if n.clock.Now().Add(wait).Sub(d.first) > n.cfg.MaxElapsed {
		n.fail(d, why+" (no time left to retry)")
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return
	}
	if len(n.waiting) >= cap(n.queue) {
		n.fail(d, why+" (too many deliveries waiting for a retry)")
		return
	}
	n.waiting[d] = n.clock.AfterFunc(wait, func() {
		n.mu.Lock()
		_, ok := n.waiting[d]
		delete(n.waiting, d)
		n.mu.Unlock()
		if ok {
			n.enqueue(d)
		}
	})
	n.settled(d.id, "retry")
}

func (n *Notifier) fail(d *delivery, why string) {
	n.failed.Add(1)
	defer n.settled(d.id, "failed")
	n.log.Warn("share webhook: notification not delivered", "type", d.typ, "delivery", d.id,
		"url", redact(d.url), "attempts", d.attempts, "why", why)
}

// backoff is the delay after the attempt-th attempt: BaseDelay doubled
// each attempt, at most MaxDelay, times the jitter.
func (n *Notifier) backoff(attempt int) time.Duration {
	d := n.cfg.BaseDelay
	for i := 1; i < attempt && d < n.cfg.MaxDelay; i++ {
		d *= 2
	}
	d = min(d, n.cfg.MaxDelay)
	f := n.cfg.Jitter()
	if f < 0.5 || f > 1 {
		f = 1
	}
	return time.Duration(float64(d) * f)
}

// post makes one attempt: the response's status, and its Retry-After as a
// delay (-1 when none) for 429 and 503.
func (n *Notifier) post(d *delivery, now time.Time) (status int, retryAfter time.Duration, err error) {
	retryAfter = -1
	req, err := http.NewRequestWithContext(n.ctx, http.MethodPost, d.url, bytes.NewReader(d.body))
	if err != nil {
		return 0, -1, errRefusedURL
	}
	ts := strconv.FormatInt(now.Unix(), 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", UserAgent)
	req.Header.Set("X-Postern-Event", d.typ)
	req.Header.Set("X-Postern-Delivery", d.id)
	req.Header.Set("X-Postern-Timestamp", ts)
	req.Header.Set("X-Postern-Signature", Sign(d.secret, ts, d.body))
	c := n.trust
	if d.checked {
		c = n.public
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, -1, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponse))
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
		retryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), n.clock.Now())
	}
	return resp.StatusCode, retryAfter, nil
}

// errRefusedURL: a URL net/http cannot make a request of (ParseURL keeps
// these out; delivery does not retry them).
var errRefusedURL = &refusedURLError{}

type refusedURLError struct{}

func (*refusedURLError) Error() string        { return "webhook: not a URL a request can be made to" }
func (*refusedURLError) Is(target error) bool { return target == ErrRefusedAddress }

// parseRetryAfter returns a Retry-After header's delay (seconds or an HTTP
// date, relative to now; never negative), or -1 when absent or malformed.
// A delay past MaxElapsed ends the retries rather than being shortened.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return -1
	}
	var d time.Duration
	if secs, err := strconv.ParseUint(v, 10, 32); err == nil {
		d = time.Duration(secs) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	} else {
		return -1
	}
	return max(d, 0)
}

// newID is a delivery id: 32 hex digits.
func newID() string {
	var b [16]byte
	_, _ = crand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// redact is a URL as logged: no user information, query or fragment,
// which may hold tokens.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	u.User, u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment = nil, "", false, "", ""
	return u.String()
}
