package console

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/postern/postern/policy"
	"github.com/postern/postern/proto/sigv4"
)

const (
	testAK     = "AKIATESTCONSOLE00001"
	testSecret = "test/secret/key/console/0123456789abcd"
)

// fakeClock is an injectable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// fakeAPI verifies every request's SigV4 signature with the real verifier
// and answers GetCallerIdentity and ListBuckets.
type fakeAPI struct {
	t     *testing.T
	clock *fakeClock
	mu    sync.Mutex
	seen  []*http.Request
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.seen = append(f.seen, r)
	f.mu.Unlock()
	v := sigv4.NewVerifier(sigv4.VerifierConfig{Region: "us-east-1", Services: []string{"s3", "sts", "iam"}, MaxSkew: time.Minute,
		Lookup: func(_ context.Context, ak, tok string) (sigv4.Secret, error) {
			if ak != testAK {
				return sigv4.Secret{}, sigv4.ErrUnknownAccessKey
			}
			return sigv4.Secret{Key: testSecret}, nil
		}})
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(strings.NewReader(string(body)))
	sum := sha256.Sum256(body)
	if _, err := v.VerifyWithPayloadHash(r, f.clock.Now(), hex.EncodeToString(sum[:])); err != nil {
		w.WriteHeader(http.StatusForbidden)
		io.WriteString(w, `<ErrorResponse><Error><Code>InvalidClientTokenId</Code><Message>`+err.Error()+`</Message></Error></ErrorResponse>`)
		return
	}
	switch {
	case strings.Contains(string(body), "Action=GetCallerIdentity"):
		io.WriteString(w, `<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>arn:aws:iam::000000000000:user/alice</Arn><UserId>AIDA1</UserId><Account>000000000000</Account></GetCallerIdentityResult></GetCallerIdentityResponse>`)
	case strings.HasPrefix(r.URL.Path, "/_postern/shares"):
		fakeShareAPI(w, r, body, f.clock.Now())
	case r.Method == http.MethodGet && r.URL.Path == "/":
		io.WriteString(w, `<ListAllMyBucketsResult><Buckets><Bucket><Name>b1</Name><CreationDate>2025-01-01T00:00:00Z</CreationDate></Bucket></Buckets></ListAllMyBucketsResult>`)
	default:
		w.WriteHeader(http.StatusForbidden)
		io.WriteString(w, `<Error><Code>AccessDenied</Code><Message>User: arn:aws:iam::000000000000:user/alice is not authorized to perform: s3:DeleteBucket</Message><Resource>/b1</Resource></Error>`)
	}
}

func newTestConsole(t *testing.T) (*Handler, *fakeClock, *fakeAPI) {
	clock := &fakeClock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
	api := &fakeAPI{t: t, clock: clock}
	h := New(Config{API: api, Region: "us-east-1", Now: clock.Now,
		S3Endpoint: func(*http.Request) string { return "http://127.0.0.1:9000" }})
	return h, clock, api
}

type client struct {
	t      *testing.T
	h      http.Handler
	cookie *http.Cookie
	tls    bool
}

func (c *client) post(path, body string, hdr ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:9001"+path, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Sec-Fetch-Site", "same-origin")
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	if c.tls {
		r.TLS = &tls.ConnectionState{}
	}
	if c.cookie != nil {
		r.AddCookie(c.cookie)
	}
	w := httptest.NewRecorder()
	c.h.ServeHTTP(w, r)
	for _, ck := range w.Result().Cookies() {
		c.cookie = ck
	}
	return w
}

func (c *client) signIn() *httptest.ResponseRecorder {
	return c.post("/console/api/signin", `{"accessKeyId":"`+testAK+`","secretAccessKey":"`+testSecret+`"}`)
}

func TestSignInCookieAndSignedRequests(t *testing.T) {
	h, _, api := newTestConsole(t)
	c := &client{t: t, h: h}
	w := c.signIn()
	if w.Code != 200 {
		t.Fatalf("sign-in: %d %s", w.Code, w.Body)
	}
	ck := c.cookie
	if ck == nil || ck.Name != cookieName || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Secure || ck.Path != "/" {
		t.Fatalf("cookie = %+v", ck)
	}
	if strings.Contains(w.Body.String(), testSecret) {
		t.Fatal("the secret key went back to the browser")
	}
	w = c.post("/console/api/listBuckets", `{}`)
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"b1"`) {
		t.Fatalf("listBuckets: %d %s", w.Code, w.Body)
	}
	// Errors come back verbatim, with the operation.
	w = c.post("/console/api/deleteBucket", `{"bucket":"b1"}`)
	var e struct{ Error jsonError }
	json.Unmarshal(w.Body.Bytes(), &e)
	if w.Code != 403 || e.Error.Code != "AccessDenied" || e.Error.Operation != "DeleteBucket" || !strings.Contains(e.Error.Message, "s3:DeleteBucket") {
		t.Fatalf("deleteBucket: %d %s", w.Code, w.Body)
	}
	// Every upstream request was signed with the user's key (verified above)
	// and carries the browser's address.
	for _, r := range api.seen {
		if !strings.Contains(r.Header.Get("Authorization"), "Credential="+testAK+"/") || r.RemoteAddr != "192.0.2.1:1234" {
			t.Errorf("upstream request: auth %q remote %q", r.Header.Get("Authorization"), r.RemoteAddr)
		}
	}
}

func TestSignInRefusesBadKeys(t *testing.T) {
	h, _, _ := newTestConsole(t)
	c := &client{t: t, h: h}
	w := c.post("/console/api/signin", `{"accessKeyId":"`+testAK+`","secretAccessKey":"wrong"}`)
	if w.Code != http.StatusUnauthorized || c.cookie != nil {
		t.Fatalf("bad secret: %d %s cookie %v", w.Code, w.Body, c.cookie)
	}
	if h.sessions.len() != 0 {
		t.Fatal("a session was created")
	}
}

func TestSecureCookieUnderTLS(t *testing.T) {
	h, _, _ := newTestConsole(t)
	c := &client{t: t, h: h, tls: true}
	if w := c.signIn(); w.Code != 200 {
		t.Fatal(w.Body)
	}
	if c.cookie.Name != cookieNameSecure || !c.cookie.Secure || !c.cookie.HttpOnly {
		t.Fatalf("cookie = %+v", c.cookie)
	}
}

func TestCSRF(t *testing.T) {
	h, _, _ := newTestConsole(t)
	c := &client{t: t, h: h}
	c.signIn()
	for _, tc := range []struct {
		name string
		hdr  []string
	}{
		{"cross-site fetch", []string{"Sec-Fetch-Site", "cross-site"}},
		{"same-site other origin", []string{"Sec-Fetch-Site", "same-site"}},
		{"old browser, foreign Origin", []string{"Sec-Fetch-Site", "", "Origin", "http://evil.example"}},
	} {
		w := c.post("/console/api/listBuckets", `{}`, tc.hdr...)
		if w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), "CrossOriginRequestBlocked") {
			t.Errorf("%s: %d %s", tc.name, w.Code, w.Body)
		}
	}
	// A plain HTML form cannot send JSON.
	w := c.post("/console/api/listBuckets", `bucket=x`, "Content-Type", "application/x-www-form-urlencoded")
	if w.Code != http.StatusUnsupportedMediaType {
		t.Errorf("form post: %d", w.Code)
	}
	// Cross-site sign-in (login CSRF) is refused too.
	w = c.post("/console/api/signin", `{"accessKeyId":"`+testAK+`","secretAccessKey":"`+testSecret+`"}`, "Sec-Fetch-Site", "cross-site")
	if w.Code != http.StatusForbidden {
		t.Errorf("cross-site sign-in: %d", w.Code)
	}
}

func TestSessionFixation(t *testing.T) {
	h, _, _ := newTestConsole(t)
	planted := &http.Cookie{Name: cookieName, Value: "attacker-chosen-value"}
	c := &client{t: t, h: h, cookie: planted}
	if w := c.post("/console/api/listBuckets", `{}`); w.Code != http.StatusUnauthorized {
		t.Fatalf("planted cookie accepted: %d", w.Code)
	}
	c.cookie = planted
	c.signIn()
	if c.cookie.Value == planted.Value {
		t.Fatal("sign-in kept the planted session id")
	}
	// A session id stolen before a second sign-in dies with it.
	old := c.cookie
	c.signIn()
	c2 := &client{t: t, h: h, cookie: old}
	if w := c2.post("/console/api/listBuckets", `{}`); w.Code != http.StatusUnauthorized {
		t.Fatalf("old session still valid after a new sign-in: %d", w.Code)
	}
}

func TestSignOut(t *testing.T) {
	h, _, _ := newTestConsole(t)
	c := &client{t: t, h: h}
	c.signIn()
	sid := c.cookie
	w := c.post("/console/api/signout", `{}`)
	if w.Code != 200 || c.cookie.MaxAge >= 0 {
		t.Fatalf("sign-out: %d cookie %+v", w.Code, c.cookie)
	}
	c.cookie = sid
	if w := c.post("/console/api/listBuckets", `{}`); w.Code != http.StatusUnauthorized {
		t.Fatalf("session alive after sign-out: %d", w.Code)
	}
}

func TestTimeouts(t *testing.T) {
	h, clock, _ := newTestConsole(t)
	c := &client{t: t, h: h}
	c.signIn()
	// Busy: requests every 20 minutes keep the session past the idle timeout…
	for range 40 {
		clock.Advance(20 * time.Minute)
		if w := c.post("/console/api/listBuckets", `{}`); w.Code != 200 {
			// …until the absolute timeout (12 h).
			if clock.Now().Sub(time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)) < DefaultAbsoluteTimeout {
				t.Fatalf("session ended early at %v: %d", clock.Now(), w.Code)
			}
			goto idle
		}
	}
	t.Fatal("the absolute timeout did not end the session")
idle:
	c.signIn()
	clock.Advance(DefaultIdleTimeout - time.Second)
	if w := c.post("/console/api/listBuckets", `{}`); w.Code != 200 {
		t.Fatal("idle session ended before the idle timeout")
	}
	clock.Advance(DefaultIdleTimeout)
	if w := c.post("/console/api/listBuckets", `{}`); w.Code != http.StatusUnauthorized {
		t.Fatal("idle session survived the idle timeout")
	}
}

func TestSessionStoreCredentialExpiry(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1e9, 0)}
	st := newSessionStore(clock.Now, time.Hour, 12*time.Hour)
	id, _ := st.create(&session{credExpires: clock.Now().Add(10 * time.Minute)})
	if got := st.expiresAt(st.m[hashID(id)]); !got.Equal(clock.Now().Add(10 * time.Minute)) {
		t.Fatalf("expiresAt = %v", got)
	}
	clock.Advance(10 * time.Minute)
	if _, ok := st.get(id); ok {
		t.Fatal("session outlived its temporary credentials")
	}
	if st.len() != 0 {
		t.Fatal("expired session kept")
	}
}

func TestShareDuration(t *testing.T) {
	now := time.Unix(1e9, 0)
	for _, tc := range []struct {
		secs     int64
		exp      time.Time
		want     time.Duration
		capped   bool
		wantErr  bool
		errorMsg string
	}{
		{secs: 1, want: time.Second},
		{secs: 604800, want: 7 * 24 * time.Hour},
		{secs: 604801, wantErr: true},
		{secs: 0, wantErr: true},
		{secs: -5, wantErr: true},
		{secs: 3600, exp: now.Add(2 * time.Hour), want: time.Hour},
		{secs: 86400, exp: now.Add(2 * time.Hour), want: 2 * time.Hour, capped: true},
		{secs: 86400, exp: now.Add(90*time.Minute + 500*time.Millisecond), want: 90 * time.Minute, capped: true},
		{secs: 60, exp: now.Add(-time.Second), wantErr: true},
		{secs: 604800, exp: now.Add(30 * 24 * time.Hour), want: 7 * 24 * time.Hour},
	} {
		d, capped, err := shareDuration(tc.secs, now, tc.exp)
		if (err != nil) != tc.wantErr || d != tc.want || capped != tc.capped {
			t.Errorf("shareDuration(%d, exp %v) = %v, %v, %v; want %v, %v, err %v", tc.secs, tc.exp, d, capped, err, tc.want, tc.capped, tc.wantErr)
		}
	}
	if _, reason := shareCap(now, now.Add(time.Hour)); !strings.Contains(reason, "temporary credentials") {
		t.Errorf("cap reason = %q", reason)
	}
}

func TestSecurityHeaders(t *testing.T) {
	h, _, _ := newTestConsole(t)
	for _, path := range []string{"/console/", "/console/static/app.js", "/console/drop", "/console/nope"} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "http://127.0.0.1:9001"+path, nil))
		hd := w.Header()
		csp := hd.Get("Content-Security-Policy")
		if !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") ||
			!strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "connect-src 'self' http://127.0.0.1:9000") {
			t.Errorf("%s: CSP %q", path, csp)
		}
		if hd.Get("X-Frame-Options") != "DENY" || hd.Get("Referrer-Policy") != "no-referrer" || hd.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: headers %v", path, hd)
		}
	}
	// No inline script anywhere in the pages.
	for _, name := range []string{"assets/index.html", "assets/drop.html"} {
		b, _ := assets.ReadFile(name)
		if strings.Contains(string(b), "<script>") || strings.Contains(string(b), " on") && strings.Contains(string(b), "onclick=") {
			t.Errorf("%s has inline script", name)
		}
	}
	// The API refuses GET.
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "http://127.0.0.1:9001/console/api/listBuckets", nil))
	if w.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET api: %d", w.Code)
	}
}

func TestPolicyTemplatesAreValid(t *testing.T) {
	p := templateParams{Minutes: 15, CIDRs: []string{"192.0.2.0/24", " 2001:db8::/32"}, VPCE: "vpce-1a2b3c4d", Prefix: "public/"}
	for _, kind := range []string{"deny-old-presigned", "header-signed-only", "deny-unsigned-payload", "source-ip", "source-vpce", "public-prefix"} {
		doc, err := policyTemplate(kind, "photos", p)
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		if _, err := policy.Parse([]byte(doc), policy.Resource); err != nil {
			t.Errorf("%s: %v\n%s", kind, err, doc)
		}
	}
	doc, _ := policyTemplate("deny-old-presigned", "photos", p)
	if !strings.Contains(doc, `"s3:signatureAge": 900000`) {
		t.Errorf("signature age in ms: %s", doc)
	}
	if _, err := policyTemplate("source-ip", "photos", templateParams{CIDRs: []string{"not-an-ip"}}); err == nil {
		t.Error("bad CIDR accepted")
	}
	if _, err := policyTemplate("nope", "photos", p); err == nil {
		t.Error("unknown template accepted")
	}
}

func TestXMLTree(t *testing.T) {
	v, err := xmlTree([]byte(`<ListUsersResponse><ListUsersResult><Users><member><UserName>a</UserName></member><member><UserName>b</UserName></member></Users><IsTruncated>false</IsTruncated></ListUsersResult></ListUsersResponse>`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(v)
	if want := `{"ListUsersResult":{"IsTruncated":"false","Users":[{"UserName":"a"},{"UserName":"b"}]}}`; string(b) != want {
		t.Errorf("got %s", b)
	}
}

func TestCORSDocument(t *testing.T) {
	x, err := parseCORSDocument(`{"CORSRules":[{"AllowedOrigins":["https://a.example"],"AllowedMethods":["GET"]}]}`)
	if err != nil || !strings.Contains(string(x), "<AllowedOrigin>https://a.example</AllowedOrigin>") {
		t.Fatalf("%s %v", x, err)
	}
	if _, err := parseCORSDocument(`{"Rules":[]}`); err == nil {
		t.Error("unknown JSON field accepted")
	}
	cfg := corsConfig{Rules: []corsRule{consoleRuleFor("http://c:1")}}
	if !cfg.allows("http://c:1", "PUT", "POST") || cfg.allows("http://d:1", "PUT") {
		t.Error("allows")
	}
}

func TestAttachment(t *testing.T) {
	if got := attachment("report.txt"); got != "attachment; filename=report.txt" {
		t.Errorf("got %q", got)
	}
	if got := attachment("a\"b/c\r\n.txt"); strings.ContainsAny(got, "\r\n/") {
		t.Errorf("got %q", got)
	}
	if got := attachment("résumé.pdf"); !strings.Contains(got, "filename*=utf-8''r%C3%A9sum%C3%A9.pdf") {
		t.Errorf("got %q", got)
	}
}
