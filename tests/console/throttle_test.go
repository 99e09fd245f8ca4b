package console_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/postern/postern/internal/testserver"
)

// TestSignInThrottled: the console refuses sign-ins from an address after
// ten failures in a row (one more every 30 seconds) with a clear 429, and
// under TLS sends Strict-Transport-Security. Plain HTTP, no browser.
func TestSignInThrottled(t *testing.T) {
	t.Parallel()
	for _, useTLS := range []bool{false, true} {
		srv := testserver.Start(t, testserver.Options{TLS: useTLS, Args: []string{"--console-listen", "127.0.0.1:0"}})
		base := consoleURL(t, srv)
		hc := srv.HTTPClient()
		post := func(body string) (int, http.Header, string) {
			t.Helper()
			req, _ := http.NewRequest(http.MethodPost, base+"/console/api/signin", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Sec-Fetch-Site", "same-origin")
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, resp.Header, string(b)
		}
		bad := `{"accessKeyId":"` + srv.AccessKey + `","secretAccessKey":"wrong"}`
		for i := 0; i < 10; i++ {
			code, hdr, body := post(bad)
			if code != http.StatusUnauthorized {
				t.Fatalf("TLS %v: failed sign-in %d: %d %s", useTLS, i, code, body)
			}
			if hsts := hdr.Get("Strict-Transport-Security"); useTLS != (hsts == "max-age=31536000") {
				t.Errorf("TLS %v: Strict-Transport-Security %q", useTLS, hsts)
			}
		}
		// One attempt more is refused. (A token comes back every 30 s; a
		// few more tries cover a machine that took that long.)
		var code int
		var hdr http.Header
		var body string
		for i := 0; i < 5 && code != http.StatusTooManyRequests; i++ {
			code, hdr, body = post(bad)
		}
		var e struct {
			Error struct{ Code, Message string }
		}
		json.Unmarshal([]byte(body), &e)
		if code != http.StatusTooManyRequests || e.Error.Code != "TooManySignInAttempts" ||
			!strings.Contains(e.Error.Message, "Too many failed sign-in attempts from this address") || hdr.Get("Retry-After") == "" {
			t.Fatalf("TLS %v: after 10 failures: %d %s (Retry-After %q), want 429 TooManySignInAttempts", useTLS, code, body, hdr.Get("Retry-After"))
		}
		// Good credentials are refused too while throttled.
		if code, _, body := post(`{"accessKeyId":"` + srv.AccessKey + `","secretAccessKey":"` + srv.SecretKey + `"}`); code != http.StatusTooManyRequests {
			t.Errorf("TLS %v: good sign-in while throttled: %d %s", useTLS, code, body)
		}
	}
}
