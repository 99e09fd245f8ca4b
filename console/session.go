package console

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"sync"
	"time"

	"github.com/postern/postern/proto/sigv4"
)

// session is one signed-in browser. The credentials never leave the server.
type session struct {
	creds   sigv4.Credentials
	arn     string
	account string
	userID  string
	// credExpires is when temporary credentials end (zero for long-term keys).
	credExpires time.Time
	created     time.Time
	lastSeen    time.Time
}

// temporary reports whether the session signs with temporary credentials.
func (s *session) temporary() bool { return s.creds.SessionToken != "" }

// sessionStore keeps sessions in memory, keyed by the SHA-256 of the cookie
// value, so the map holds nothing a cookie could be rebuilt from.
type sessionStore struct {
	mu       sync.Mutex
	m        map[[32]byte]*session
	now      func() time.Time
	idle     time.Duration
	absolute time.Duration
}

func newSessionStore(now func() time.Time, idle, absolute time.Duration) *sessionStore {
	return &sessionStore{m: map[[32]byte]*session{}, now: now, idle: idle, absolute: absolute}
}

// newSessionID returns 256 random bits, base64url.
func newSessionID() string {
	var b [32]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// create stores s under a fresh id and returns the id. A new id is made on
// every sign-in, so an id planted before sign-in (session fixation) is
// never promoted to a signed-in session.
func (st *sessionStore) create(s *session) (string, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	now := st.now()
	st.sweepLocked(now)
	if len(st.m) >= maxSessions {
		return "", false
	}
	s.created, s.lastSeen = now, now
	id := newSessionID()
	st.m[hashID(id)] = s
	return id, true
}

// get returns the live session for id and marks it used; expired sessions
// (idle, absolute, or credentials expired) are removed.
func (st *sessionStore) get(id string) (*session, bool) {
	if id == "" {
		return nil, false
	}
	k := hashID(id)
	st.mu.Lock()
	defer st.mu.Unlock()
	s, ok := st.m[k]
	if !ok {
		return nil, false
	}
	now := st.now()
	if st.expired(s, now) {
		delete(st.m, k)
		return nil, false
	}
	s.lastSeen = now
	return s, true
}

func hashID(id string) [32]byte { return sha256.Sum256([]byte(id)) }

func (st *sessionStore) expired(s *session, now time.Time) bool {
	return now.Sub(s.lastSeen) >= st.idle || now.Sub(s.created) >= st.absolute ||
		!s.credExpires.IsZero() && !now.Before(s.credExpires)
}

// expiresAt is when s ends if it stays busy: the earlier of the absolute
// timeout and the credentials' expiry.
func (st *sessionStore) expiresAt(s *session) time.Time {
	t := s.created.Add(st.absolute)
	if !s.credExpires.IsZero() && s.credExpires.Before(t) {
		t = s.credExpires
	}
	return t
}

func (st *sessionStore) delete(id string) {
	st.mu.Lock()
	delete(st.m, hashID(id))
	st.mu.Unlock()
}

func (st *sessionStore) sweepLocked(now time.Time) {
	for k, s := range st.m {
		if st.expired(s, now) {
			delete(st.m, k)
		}
	}
}

func (st *sessionStore) len() int {
	st.mu.Lock()
	defer st.mu.Unlock()
	return len(st.m)
}

// Cookie names. Under TLS the __Host- prefix makes the browser refuse the
// cookie unless it is Secure, host-only and Path=/, so a sibling origin
// cannot plant or shadow it.
const (
	cookieName       = "postern_console"
	cookieNameSecure = "__Host-postern_console"
)

func sessionCookieName(r *http.Request) string {
	if secure(r) {
		return cookieNameSecure
	}
	return cookieName
}

func setSessionCookie(w http.ResponseWriter, r *http.Request, id string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name:     sessionCookieName(r),
		Value:    id,
		Path:     "/",
		MaxAge:   maxAge,
		HttpOnly: true,
		Secure:   secure(r),
		SameSite: http.SameSiteStrictMode,
	})
}

func cookieID(r *http.Request) string {
	c, err := r.Cookie(sessionCookieName(r))
	if err != nil {
		return ""
	}
	return c.Value
}
