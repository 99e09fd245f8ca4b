package s3api

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestLimitsExtend(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	l := &Limits{BodyTimeout: 60 * time.Second, BodyMinRate: 1024}
	d := t0.Add(60 * time.Second)
	// 1 KiB adds a second, but the budget never exceeds 60 s from now.
	if got := l.extend(d, t0, 1024); !got.Equal(d) {
		t.Errorf("full budget: got %v, want %v", got.Sub(t0), d.Sub(t0))
	}
	now := t0.Add(30 * time.Second)
	if got, want := l.extend(d, now, 2048), d.Add(2*time.Second); !got.Equal(want) {
		t.Errorf("half budget + 2 KiB: got %v, want %v", got.Sub(t0), want.Sub(t0))
	}
	// A trickle of one byte every 20 s runs the budget down.
	for i := 0; i < 10; i++ {
		now = now.Add(20 * time.Second)
		d = l.extend(d, now, 1)
	}
	if !d.Before(now) {
		t.Errorf("a trickle kept the budget: deadline %v after now", d.Sub(now))
	}
	// Huge reads cannot overflow.
	if got := l.extend(t0, t0, 1<<62); !got.Equal(t0.Add(60 * time.Second)) {
		t.Errorf("huge read: got %v", got.Sub(t0))
	}
	// Without a minimum rate any byte renews the whole budget.
	l.BodyMinRate = 0
	if got := l.extend(t0, now, 1); !got.Equal(now.Add(60 * time.Second)) {
		t.Errorf("no rate: got %v", got.Sub(now))
	}
}

func TestGuardHeaderSection(t *testing.T) {
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) })
	g := Guard(next, Limits{MaxHeaderSection: 4096})
	for _, tc := range []struct {
		method, name, value, code string
	}{
		{"GET", "X-Pad", strings.Repeat("a", 100), ""},
		{"GET", "X-Pad", strings.Repeat("a", 5000), "RequestHeaderSectionTooLarge"},
		{"PUT", "X-Amz-Meta-Big", strings.Repeat("a", 5000), "MetadataTooLarge"},
		{"GET", "X-Amz-Meta-Big", strings.Repeat("a", 5000), "RequestHeaderSectionTooLarge"},
	} {
		r := httptest.NewRequest(tc.method, "/b/k", nil)
		r.Header.Set(tc.name, tc.value)
		w := httptest.NewRecorder()
		g.ServeHTTP(w, r)
		if tc.code == "" {
			if w.Code != 204 {
				t.Errorf("%s %s=%d bytes: status %d", tc.method, tc.name, len(tc.value), w.Code)
			}
			continue
		}
		if w.Code != 400 || !strings.Contains(w.Body.String(), "<Code>"+tc.code+"</Code>") {
			t.Errorf("%s %s=%d bytes: %d %s, want 400 %s", tc.method, tc.name, len(tc.value), w.Code, w.Body, tc.code)
		}
	}
}
