package console

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestLimiterTokenBucket(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	l := newLimiter(func() time.Time { return now }, 3, 10*time.Second)
	for i := 0; i < 3; i++ {
		if ok, _ := l.take("a"); !ok {
			t.Fatalf("take %d refused within the burst", i)
		}
	}
	ok, wait := l.take("a")
	if ok || wait != 10*time.Second {
		t.Fatalf("4th take: %v, wait %v; want refused, 10s", ok, wait)
	}
	if ok, _ := l.take("b"); !ok {
		t.Fatal("another key is limited too")
	}
	now = now.Add(4 * time.Second)
	if ok, wait := l.take("a"); ok || wait != 6*time.Second {
		t.Fatalf("after 4s: %v, wait %v; want refused, 6s", ok, wait)
	}
	now = now.Add(6 * time.Second)
	if ok, _ := l.take("a"); !ok {
		t.Fatal("after 10s: still refused")
	}
	if ok, _ := l.take("a"); ok {
		t.Fatal("one token per 10s, got two")
	}
	l.refund("a")
	if ok, _ := l.take("a"); !ok {
		t.Fatal("refunded token not usable")
	}
	// Never more than the burst, however long the wait.
	now = now.Add(time.Hour)
	for i := 0; i < 3; i++ {
		l.take("a")
	}
	if ok, _ := l.take("a"); ok {
		t.Fatal("bucket grew past its burst")
	}
}

func TestSignInThrottled(t *testing.T) {
	h, clock, _ := newTestConsole(t)
	c := &client{t: t, h: h}
	bad := `{"accessKeyId":"` + testAK + `","secretAccessKey":"wrong"}`
	for i := 0; i < DefaultSignInBurst; i++ {
		if w := c.post("/console/api/signin", bad); w.Code != http.StatusUnauthorized {
			t.Fatalf("failed sign-in %d: %d %s", i, w.Code, w.Body)
		}
	}
	w := c.post("/console/api/signin", bad)
	var e struct{ Error jsonError }
	json.Unmarshal(w.Body.Bytes(), &e)
	if w.Code != http.StatusTooManyRequests || e.Error.Code != "TooManySignInAttempts" || !strings.Contains(e.Error.Message, "from this address") ||
		w.Header().Get("Retry-After") != "30" {
		t.Fatalf("throttled sign-in: %d %s Retry-After %q", w.Code, w.Body, w.Header().Get("Retry-After"))
	}
	// Even good credentials wait: the check comes first.
	if w := c.signIn(); w.Code != http.StatusTooManyRequests {
		t.Fatalf("good sign-in while throttled: %d %s", w.Code, w.Body)
	}
	clock.Advance(DefaultSignInEvery)
	if w := c.signIn(); w.Code != 200 {
		t.Fatalf("good sign-in after the wait: %d %s", w.Code, w.Body)
	}
	// A success gives its token back: another good sign-in works at once.
	if w := c.signIn(); w.Code != 200 {
		t.Fatalf("second good sign-in: %d %s", w.Code, w.Body)
	}

	// The same key from many addresses is throttled per key.
	h, _, _ = newTestConsole(t)
	for i := 0; i <= DefaultSignInBurst; i++ {
		r := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:9001/console/api/signin", strings.NewReader(bad))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Sec-Fetch-Site", "same-origin")
		r.RemoteAddr = fmt.Sprintf("198.51.100.%d:5000", i)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		want := http.StatusUnauthorized
		if i == DefaultSignInBurst {
			want = http.StatusTooManyRequests
		}
		if w.Code != want || (want == 429 && !strings.Contains(w.Body.String(), "for this access key")) {
			t.Fatalf("attempt %d from %s: %d %s, want %d", i, r.RemoteAddr, w.Code, w.Body, want)
		}
	}
}

func TestHSTSUnderTLS(t *testing.T) {
	h, _, _ := newTestConsole(t)
	for _, tls := range []bool{false, true} {
		c := &client{t: t, h: h, tls: tls}
		w := c.signIn()
		got := w.Header().Get("Strict-Transport-Security")
		if tls && got != "max-age=31536000" || !tls && got != "" {
			t.Errorf("TLS %v: Strict-Transport-Security %q", tls, got)
		}
	}
}
