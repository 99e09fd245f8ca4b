package shares

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/postern/postern/internal/s3test"
	"github.com/postern/postern/internal/testserver"
	"github.com/postern/postern/share/webhook"
)

// notification is one POST a webhook receiver got.
type notification struct {
	path   string
	header http.Header
	body   []byte
	event  map[string]any
}

// hookReceiver is an HTTP server on 127.0.0.1 that answers 204 and passes
// each request on.
func hookReceiver(t *testing.T) (*httptest.Server, chan notification) {
	got := make(chan notification, 100)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		n := notification{path: r.URL.Path, header: r.Header.Clone(), body: body}
		json.Unmarshal(body, &n.event)
		w.WriteHeader(http.StatusNoContent)
		got <- n
	}))
	t.Cleanup(srv.Close)
	return srv, got
}

func nextNotification(t *testing.T, got chan notification) notification {
	t.Helper()
	select {
	case n := <-got:
		return n
	case <-time.After(2 * time.Minute): // a guard against hanging, not a timing
		t.Fatal("no notification arrived")
		return notification{}
	}
}

// TestWebhooks: a share with a webhook pointing at a local receiver, on a
// server with a server-wide webhook too: each use, running out of uses
// and the revocation reach both, signed (webhook.Verify) with the share's
// own secret and the operator's; share.used_up comes once.
func TestWebhooks(t *testing.T) {
	recv, got := hookReceiver(t)
	const wideSecret = "operator-secret-0123456789"
	srv := testserver.Start(t, testserver.Options{
		Args: []string{"--share-webhook", recv.URL + "/wide", "--share-webhook-allow-private"},
		Env:  []string{"POSTERN_SHARE_WEBHOOK_SECRET=" + wideSecret},
	})
	root := rootCreds(srv)
	c := s3Client(srv, root)
	bucket := s3test.NewBucket(t, c, "hook")
	data := s3test.RandBytes(7, 1500)
	s3test.Put(t, c, bucket, "a/report.pdf", data)

	sh := create(t, srv, root, map[string]any{"bucket": bucket, "key": "a/report.pdf", "maxUses": 5, "webhook": recv.URL + "/own?t=1"})
	if !regexp.MustCompile(`^pwhsec_[0-9a-f]{64}$`).MatchString(sh.WebhookSecret) || sh.Webhook != recv.URL+"/own?t=1" {
		t.Fatalf("CreateShare: webhook %q secret %q", sh.Webhook, sh.WebhookSecret)
	}
	if again := getShare(t, srv, root, sh.ID); again.WebhookSecret != sh.WebhookSecret {
		t.Fatalf("GetShare shows secret %q, CreateShare %q", again.WebhookSecret, sh.WebhookSecret)
	}
	secrets := map[string][]byte{"/own": []byte(sh.WebhookSecret), "/wide": []byte(wideSecret)}

	// Five uses (curl), then a sixth that is refused, then the revocation.
	for i := 0; i < 5; i++ {
		status, body := curl(t, "-s", "-A", "curl-share-hook-test", sh.URL)
		if status != 200 || string(body) != string(data) {
			t.Fatalf("use %d: %d (%d bytes)", i+1, status, len(body))
		}
	}
	if status, _ := curl(t, "-s", sh.URL); status != 403 {
		t.Fatalf("sixth use: %d, want 403", status)
	}
	revoke(t, srv, root, sh.ID)

	// 5 share.used, 1 share.used_up and 1 share.revoked at each destination.
	count := map[string]int{}
	uses := map[string][]float64{}
	for len(count) < 6 || count["/own share.revoked"] == 0 || count["/wide share.revoked"] == 0 ||
		count["/own share.used"] < 5 || count["/wide share.used"] < 5 || count["/own share.used_up"] == 0 || count["/wide share.used_up"] == 0 {
		n := nextNotification(t, got)
		typ, _ := n.event["type"].(string)
		count[n.path+" "+typ]++
		secret, ok := secrets[n.path]
		if !ok {
			t.Fatalf("a notification at %s", n.path)
		}
		if err := webhook.Verify(secret, n.header.Get("X-Postern-Signature"), n.header.Get("X-Postern-Timestamp"), n.body, time.Now(), 5*time.Minute); err != nil {
			t.Fatalf("%s %s: %v (%s)", n.path, typ, err, n.body)
		}
		// The other destination's secret does not verify it.
		for p, other := range secrets {
			if p != n.path && webhook.Verify(other, n.header.Get("X-Postern-Signature"), n.header.Get("X-Postern-Timestamp"), n.body, time.Now(), 5*time.Minute) == nil {
				t.Fatalf("%s's notification verifies with %s's secret", n.path, p)
			}
		}
		if n.header.Get("X-Postern-Event") != typ || n.header.Get("User-Agent") != "Postern-Webhook/1" ||
			n.header.Get("Content-Type") != "application/json" || len(n.header.Get("X-Postern-Delivery")) != 32 {
			t.Fatalf("headers %v", n.header)
		}
		if n.event["shareId"] != sh.ID || n.event["bucket"] != bucket || n.event["key"] != "a/report.pdf" || n.event["maxUses"] != 5.0 {
			t.Fatalf("body %s", n.body)
		}
		if _, err := time.Parse(time.RFC3339, n.event["time"].(string)); err != nil {
			t.Fatalf("time in %s: %v", n.body, err)
		}
		switch typ {
		case "share.used":
			if n.event["status"] != 200.0 || n.event["bytes"] != float64(len(data)) ||
				n.event["userAgent"] != "curl-share-hook-test" || n.event["source"] != "127.0.0.1" {
				t.Fatalf("share.used %s", n.body)
			}
			uses[n.path] = append(uses[n.path], n.event["uses"].(float64))
		case "share.used_up":
			if n.event["uses"] != 5.0 {
				t.Fatalf("share.used_up %s", n.body)
			}
		case "share.revoked":
			if _, ok := n.event["source"]; ok {
				t.Fatalf("share.revoked with a use's fields: %s", n.body)
			}
		default:
			t.Fatalf("unknown notification %s", n.body)
		}
	}
	for _, k := range []string{"/own share.used_up", "/wide share.used_up", "/own share.revoked", "/wide share.revoked"} {
		if count[k] != 1 {
			t.Errorf("%s: %d notifications, want 1 (%v)", k, count[k], count)
		}
	}
	for p, u := range uses {
		seen := map[float64]bool{}
		for _, v := range u {
			seen[v] = true
		}
		if len(u) != 5 || len(seen) != 5 || !seen[1] || !seen[5] {
			t.Errorf("%s: share.used uses %v, want 1 to 5", p, u)
		}
	}
	// An unlimited share's share.used says the uses after it too.
	free := create(t, srv, root, map[string]any{"bucket": bucket, "key": "a/report.pdf", "webhook": recv.URL + "/own"})
	secrets["/own"] = []byte(free.WebhookSecret)
	if status, _ := curl(t, "-s", "-A", "curl-share-hook-test", free.URL); status != 200 {
		t.Fatalf("unlimited share: %d", status)
	}
	for seen := map[string]bool{}; len(seen) < 2; {
		n := nextNotification(t, got)
		count[n.path+" "+n.event["type"].(string)]++
		seen[n.path] = true
		if err := webhook.Verify(secrets[n.path], n.header.Get("X-Postern-Signature"), n.header.Get("X-Postern-Timestamp"), n.body, time.Now(), 5*time.Minute); err != nil {
			t.Fatalf("%s: %v", n.path, err)
		}
		if n.event["shareId"] != free.ID || n.event["type"] != "share.used" || n.event["uses"] != 1.0 || n.event["maxUses"] != 0.0 {
			t.Fatalf("unlimited share's notification %s", n.body)
		}
	}
	// Nothing more is pending: the server counted as many deliveries.
	total := 0
	for _, n := range count {
		total += n
	}
	select {
	case n := <-got:
		t.Fatalf("one notification too many: %s %s", n.path, n.body)
	default:
	}
	// The receiver has every notification; the server counts a delivery
	// once the receiver's answer is back, which may be just after: wait
	// for the counter to reach the total (the event), never past it.
	deadline := time.Now().Add(time.Minute)
	for {
		resp, err := http.Get(srv.URL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		m, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		line := regexp.MustCompile(`(?m)^postern_share_webhook_delivered_total (\d+)$`).FindSubmatch(m)
		if line == nil {
			t.Fatalf("no postern_share_webhook_delivered_total in /metrics")
		}
		n, _ := strconv.Atoi(string(line[1]))
		if n > total {
			t.Fatalf("postern_share_webhook_delivered_total %d, more than the %d notifications received", n, total)
		}
		if n == total {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("postern_share_webhook_delivered_total still %d after a minute, want %d", n, total)
		}
		time.Sleep(10 * time.Millisecond) // polling for the event
	}
}

// TestWebhookPrivateRefused: without --share-webhook-allow-private, a
// share's webhook at a loopback or link-local address is refused when the
// share is made (400 InvalidArgument), and no share is made.
func TestWebhookPrivateRefused(t *testing.T) {
	recv, got := hookReceiver(t)
	srv := startServer(t)
	root := rootCreds(srv)
	c := s3Client(srv, root)
	bucket := s3test.NewBucket(t, c, "hookpriv")
	s3test.Put(t, c, bucket, "k", []byte("x"))
	for _, u := range []string{recv.URL + "/own", "http://169.254.169.254/latest/meta-data/", "http://[::1]:9/"} {
		status, body := api(t, srv, root, "POST", "/_postern/shares", mustJSON(t, map[string]any{"bucket": bucket, "key": "k", "webhook": u}))
		e := wantAPIError(t, "webhook "+u, status, body, 400, "InvalidArgument")
		if !strings.Contains(e.Error.Message, "not public") {
			t.Errorf("webhook %s: message %q", u, e.Error.Message)
		}
	}
	status, body := api(t, srv, root, "GET", "/_postern/shares?bucket="+bucket, nil)
	if status != 200 || strings.Contains(string(body), "shr-") {
		t.Fatalf("ListShares after refusals: %d %s", status, body)
	}
	// A share without a webhook still works and notifies no one.
	sh := create(t, srv, root, map[string]any{"bucket": bucket, "key": "k"})
	if sh.WebhookSecret != "" {
		t.Fatalf("a secret without a webhook: %q", sh.WebhookSecret)
	}
	select {
	case n := <-got:
		t.Fatalf("the private receiver was called: %s", n.body)
	default:
	}
}
