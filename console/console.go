// Package console serves Postern's web console: a small single-page app
// (plain HTML, CSS and JavaScript embedded with go:embed) and the JSON API
// behind it.
//
// The console holds no authority of its own. A person signs in with an
// access key (root, IAM user, or temporary credentials with a session token);
// the credentials stay in this process's memory, keyed by an unguessable
// session cookie. Every operation is then performed as a real S3, IAM or STS
// request signed with those credentials (SigV4) and served in-process by the
// same handler that serves the network, so the same authentication and the
// same policy engine decide it: the console can never do more than its user,
// and an AccessDenied comes back verbatim.
//
// The console's mux is kept apart from the S3 API's (like Tailscale's
// safeweb): every response carries a strict Content-Security-Policy (no
// inline script), X-Frame-Options DENY and Referrer-Policy no-referrer;
// state-changing requests pass net/http's CrossOriginProtection and must be
// JSON; cookies are HttpOnly, SameSite=Strict, and Secure (with the __Host-
// prefix) under TLS.
package console

import (
	"embed"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/postern/postern/proto/s3err"
)

//go:embed assets
var assets embed.FS

// Defaults.
const (
	DefaultIdleTimeout     = 30 * time.Minute
	DefaultAbsoluteTimeout = 12 * time.Hour
	// DefaultMultipartThreshold: files at least this large upload in parts.
	DefaultMultipartThreshold = 16 << 20
	// DefaultPartSize is the size of each uploaded part (S3's minimum is 5 MiB).
	DefaultPartSize = 8 << 20
	// maxAPIBody bounds the JSON bodies the console API reads (a bucket
	// policy is at most 20 KB, a CORS document 64 KB).
	maxAPIBody = 256 << 10
	// maxUpstreamBody bounds what an in-process S3/IAM response may hold;
	// the console never reads object bytes (downloads use presigned URLs).
	maxUpstreamBody = 16 << 20
	// maxSessions bounds the session store.
	maxSessions = 10000
)

// Config configures the console.
type Config struct {
	// API serves S3, IAM and STS requests: the server's own root handler.
	// Every console operation is a signed request to it.
	API http.Handler
	// Region is the region requests are signed for.
	Region string
	// S3Endpoint returns the base URL ("http://host:port") at which the
	// browser reaches the S3 API, for presigned URLs and direct uploads.
	S3Endpoint func(r *http.Request) string
	// CredentialExpiry reports when temporary credentials end (zero for
	// long-term keys), to cap presigned URLs by the credentials' lifetime.
	// Nil means unknown: temporary credentials then cap nothing.
	CredentialExpiry func(r *http.Request, accessKey, sessionToken string) (time.Time, error)
	// Session timeouts; zero means the defaults.
	IdleTimeout, AbsoluteTimeout time.Duration
	// MultipartThreshold and PartSize tune browser uploads; zero means the defaults.
	MultipartThreshold, PartSize int64
	// Sign-in throttling: each source address and each access key id may
	// fail SignInBurst sign-ins in a row, then one every SignInEvery (429
	// beyond). Zero means DefaultSignInBurst and DefaultSignInEvery.
	SignInBurst int
	SignInEvery time.Duration
	// Now is the clock; nil means time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

// Handler serves the console under /console/.
type Handler struct {
	cfg      Config
	now      func() time.Time
	log      *slog.Logger
	sessions *sessionStore
	// Failed sign-ins by source address and by access key id.
	signInByAddr, signInByKey *limiter
	mux                       *http.ServeMux
	csrf                      *http.CrossOriginProtection
}

// Prefix is the path the console is served under.
const Prefix = "/console/"

// New returns a console Handler.
func New(cfg Config) *Handler {
	h := &Handler{cfg: cfg, now: cfg.Now, log: cfg.Logger}
	if h.now == nil {
		h.now = time.Now
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.cfg.IdleTimeout <= 0 {
		h.cfg.IdleTimeout = DefaultIdleTimeout
	}
	if h.cfg.AbsoluteTimeout <= 0 {
		h.cfg.AbsoluteTimeout = DefaultAbsoluteTimeout
	}
	if h.cfg.MultipartThreshold <= 0 {
		h.cfg.MultipartThreshold = DefaultMultipartThreshold
	}
	if h.cfg.PartSize <= 0 {
		h.cfg.PartSize = DefaultPartSize
	}
	h.sessions = newSessionStore(h.now, h.cfg.IdleTimeout, h.cfg.AbsoluteTimeout)
	if h.cfg.SignInBurst <= 0 {
		h.cfg.SignInBurst = DefaultSignInBurst
	}
	if h.cfg.SignInEvery <= 0 {
		h.cfg.SignInEvery = DefaultSignInEvery
	}
	h.signInByAddr = newLimiter(h.now, h.cfg.SignInBurst, h.cfg.SignInEvery)
	h.signInByKey = newLimiter(h.now, h.cfg.SignInBurst, h.cfg.SignInEvery)
	h.csrf = http.NewCrossOriginProtection()
	h.csrf.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSONError(w, s3err.New(http.StatusForbidden, "CrossOriginRequestBlocked", "Cross-origin request refused (CSRF protection)."))
	}))

	static, _ := fs.Sub(assets, "assets")
	files := http.FileServerFS(static)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /console/{$}", h.serveFile(static, "index.html"))
	mux.HandleFunc("GET /console/drop", h.serveFile(static, "drop.html"))
	mux.Handle("GET /console/static/", http.StripPrefix("/console/static/", noDirs(files)))
	mux.HandleFunc("POST /console/api/signin", h.signIn)
	mux.HandleFunc("POST /console/api/signout", h.signOut)
	mux.HandleFunc("POST /console/api/{op}", h.api)
	mux.HandleFunc("/console/", func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/console/api/") {
			writeJSONError(w, s3err.New(http.StatusMethodNotAllowed, "MethodNotAllowed", "The console API takes POST requests."))
			return
		}
		http.NotFound(w, r)
	})
	h.mux = mux
	return h
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.securityHeaders(w, r)
	h.csrf.Handler(h.mux).ServeHTTP(w, r)
}

// securityHeaders sets the headers every console response carries.
func (h *Handler) securityHeaders(w http.ResponseWriter, r *http.Request) {
	s3 := ""
	if h.cfg.S3Endpoint != nil {
		s3 = " " + originOf(h.cfg.S3Endpoint(r))
	}
	hd := w.Header()
	// connect-src and form-action name the S3 endpoint: uploads go there
	// directly (XHR), and the public drop page posts its form there.
	hd.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'"+s3+
		"; form-action 'self'"+s3+"; frame-ancestors 'none'; base-uri 'none'; object-src 'none'")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("Cross-Origin-Opener-Policy", "same-origin")
	hd.Set("Cross-Origin-Resource-Policy", "same-origin")
	hd.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
	hd.Set("Cache-Control", "no-store")
	if secure(r) {
		// Browsers that once reached the console over TLS refuse plain HTTP
		// to this host for a year (RFC 6797). Not for subdomains: other
		// services may live there.
		hd.Set("Strict-Transport-Security", "max-age=31536000")
	}
}

func (h *Handler) serveFile(static fs.FS, name string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		http.ServeFileFS(w, r, static, name)
	}
}

// noDirs refuses directory listings.
func noDirs(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "" || strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// originOf returns scheme://host[:port] of a URL.
func originOf(u string) string {
	scheme, rest, ok := strings.Cut(u, "://")
	if !ok {
		return ""
	}
	host, _, _ := strings.Cut(rest, "/")
	return scheme + "://" + host
}

// consoleOrigin is the origin the browser sees the console at.
func consoleOrigin(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// secure reports whether the request came over TLS.
func secure(r *http.Request) bool { return r.TLS != nil }
