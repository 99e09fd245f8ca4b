package sigv2

import (
	"crypto/hmac"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/postern/postern/proto/s3err"
	"github.com/postern/postern/proto/sigv4"
)

// AuthType tells how a request was signed (sigv4.AuthHeader or
// sigv4.AuthQuery).
type AuthType = sigv4.AuthType

// Defaults for NewVerifier's zero arguments.
const (
	DefaultMaxSkew   = 15 * time.Minute
	DefaultMaxExpiry = 7 * 24 * time.Hour // what a SigV4 presigned URL may reach
)

// Result describes a verified request.
type Result struct {
	AccessKey    string
	SessionToken string // x-amz-security-token (header, or query when presigned)
	AuthType     sigv4.AuthType
	SignedAt     time.Time // header auth: x-amz-date, else Date; zero when presigned
	Expires      time.Time // presigned only
	Identity     any       // what the Lookup returned
}

// Verifier verifies SigV2 requests. It holds configuration only and is safe
// for concurrent use.
type Verifier struct {
	lookup    sigv4.Lookup
	maxSkew   time.Duration
	maxExpiry time.Duration
	domain    string
}

// VerifierConfig configures a Verifier.
type VerifierConfig struct {
	// Lookup resolves access keys, as for sigv4 (the same function serves
	// both). Required.
	Lookup sigv4.Lookup
	// MaxSkew bounds the Date of header-signed requests (<= 0: 15 minutes).
	MaxSkew time.Duration
	// MaxExpiry bounds how far in the future a presigned URL's Expires may
	// be (<= 0: 7 days).
	MaxExpiry time.Duration
	// Domain is the base domain of virtual-host-style requests
	// (BUCKET.domain), "" when they are not served.
	Domain string
}

// NewVerifier returns a Verifier.
func NewVerifier(c VerifierConfig) *Verifier {
	if c.MaxSkew <= 0 {
		c.MaxSkew = DefaultMaxSkew
	}
	if c.MaxExpiry <= 0 {
		c.MaxExpiry = DefaultMaxExpiry
	}
	return &Verifier{lookup: c.Lookup, maxSkew: c.MaxSkew, maxExpiry: c.MaxExpiry, domain: c.Domain}
}

// IsSigV2 reports whether r carries SigV2 authentication: an Authorization
// header of the "AWS" scheme, or (with no Authorization header and no SigV4
// X-Amz-Algorithm parameter) an AWSAccessKeyId or Signature query parameter.
// Requests for which it is true should be passed to Verify, even malformed
// ones, so the client gets the SigV2 error.
func IsSigV2(r *http.Request) bool {
	if r == nil {
		return false
	}
	if vs := r.Header["Authorization"]; len(vs) > 0 {
		h := vs[0]
		return h == "AWS" || strings.HasPrefix(h, "AWS ")
	}
	if r.URL == nil || r.URL.RawQuery == "" {
		return false
	}
	// Cheap test first: this runs on every request. (Parameter names in a
	// raw query may be %-encoded, so an absent plain name is only a hint
	// when no '%' could hide it.)
	raw := r.URL.RawQuery
	if !strings.Contains(raw, "%") && !strings.Contains(raw, "AWSAccessKeyId") && !strings.Contains(raw, "Signature") {
		return false
	}
	if strings.Contains(raw, "X-Amz-Algorithm=") {
		return false
	}
	v2 := false
	for _, p := range parseQuery(r.URL.RawQuery, maxQueryParams) {
		switch unescape(p.rawKey) {
		case "X-Amz-Algorithm":
			return false
		case "AWSAccessKeyId", "Signature":
			v2 = true
		}
	}
	return v2
}

// ParseAuthorization splits an "AWS AccessKeyId:Signature" header. Spaces
// after "AWS" and around the value are tolerated; the access key and the
// signature must be non-empty and free of whitespace. Failures are
// InvalidArgument (400) *s3err.Error values, as AWS answers.
func ParseAuthorization(h string) (accessKey, signature string, err error) {
	if len(h) > maxAuthorizationLen || !strings.HasPrefix(h, "AWS ") {
		return "", "", errInvalidAuthorization(h)
	}
	rest := strings.Trim(h[4:], " \t")
	ak, sig, ok := strings.Cut(rest, ":")
	if !ok || ak == "" || sig == "" || strings.ContainsAny(ak, " \t\r\n:") || strings.ContainsAny(sig, " \t\r\n:") {
		return "", "", errInvalidAuthorization(h)
	}
	return ak, sig, nil
}

// Verify authenticates r at time now, by its Authorization header or its
// presigned query. It does not read the body. Failures are *s3err.Error values
// (or the Lookup's own error).
func (v *Verifier) Verify(r *http.Request, now time.Time) (*Result, error) {
	var authz string
	hasAuthz := false
	if vs := r.Header["Authorization"]; len(vs) > 0 {
		authz, hasAuthz = vs[0], true
	}
	var rawQuery string
	if r.URL != nil {
		rawQuery = r.URL.RawQuery
	}
	params := parseQuery(rawQuery, maxQueryParams)
	if len(params) > maxQueryParams {
		return nil, newErr("InvalidArgument", http.StatusBadRequest, msgTooManyParams)
	}
	var q queryAuth
	for _, p := range params {
		if len(p.rawKey) < 7 { // shortest of interest: Expires
			continue
		}
		k := unescape(p.rawKey)
		i := -1
		switch k {
		case "AWSAccessKeyId":
			i = qAccessKey
		case "Signature":
			i = qSignature
		case "Expires":
			i = qExpires
		case "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature":
			q.v4 = true
		}
		if i < 0 {
			continue
		}
		if q.seen[i] {
			return nil, newErr("InvalidArgument", http.StatusBadRequest, msgDuplicateParam,
				s3err.KV{Key: "ArgumentName", Value: k})
		}
		q.seen[i], q.val[i] = true, unescape(p.rawValue)
	}
	queryAuth := q.seen[qAccessKey] || q.seen[qSignature]
	switch {
	case hasAuthz && (queryAuth || q.v4):
		return nil, newErr("InvalidArgument", http.StatusBadRequest, msgOnlyOneAuth)
	case hasAuthz:
		if authz != "AWS" && !strings.HasPrefix(authz, "AWS ") {
			return nil, newErr("InvalidArgument", http.StatusBadRequest, msgUnsupportedAuth,
				s3err.KV{Key: "ArgumentName", Value: "Authorization"},
				s3err.KV{Key: "ArgumentValue", Value: echo(authz)})
		}
		return v.verifyHeader(r, now, authz, params)
	case queryAuth && q.v4:
		return nil, newErr("InvalidArgument", http.StatusBadRequest, msgOnlyOneAuth)
	case queryAuth:
		return v.verifyQuery(r, now, &q, params)
	}
	return nil, newErr("AccessDenied", http.StatusForbidden, msgAccessDenied)
}

// queryAuth holds the SigV2 query parameters, decoded.
type queryAuth struct {
	val  [3]string // by qAccessKey, qSignature, qExpires
	seen [3]bool   // present, even if empty
	v4   bool      // a SigV4 query parameter is present too
}

const (
	qAccessKey = iota
	qSignature
	qExpires
)

// dateLayouts are the formats accepted for Date and x-amz-date: RFC 2616's
// three (with "+0000" as AWS's examples use, and one-digit days) and the
// ISO 8601 basic format some SDKs send in x-amz-date.
var dateLayouts = []string{
	time.RFC1123,
	time.RFC1123Z,
	"Mon, 2 Jan 2006 15:04:05 MST",
	"Mon, 2 Jan 2006 15:04:05 -0700",
	time.RFC850,
	time.ANSIC,
	"20060102T150405Z",
}

func parseDate(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 64 {
		return time.Time{}, false
	}
	for _, l := range dateLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

func (v *Verifier) verifyHeader(r *http.Request, now time.Time, authz string, params []queryParam) (*Result, error) {
	ak, sig, err := ParseAuthorization(authz)
	if err != nil {
		return nil, err
	}
	requestTime := ""
	if vs := r.Header["X-Amz-Date"]; len(vs) > 0 {
		requestTime = vs[0] // x-amz-date wins; a bad one is not replaced by Date
	} else if vs := r.Header["Date"]; len(vs) > 0 {
		requestTime = vs[0]
	}
	signedAt, ok := parseDate(requestTime)
	if !ok {
		return nil, newErr("AccessDenied", http.StatusForbidden, msgMissingDate)
	}
	if d := now.Sub(signedAt); d > v.maxSkew || d < -v.maxSkew {
		return nil, errSkew(requestTime, now, v.maxSkew)
	}
	res := &Result{
		AccessKey:    ak,
		SessionToken: r.Header.Get("X-Amz-Security-Token"),
		AuthType:     sigv4.AuthHeader,
		SignedAt:     signedAt,
	}
	return v.finish(r, res, sig, "", params)
}

// maxEpoch is the last second of year 9999; larger Expires values are held
// there (they are rejected as too far in the future anyway).
const maxEpoch = 253402300799

func (v *Verifier) verifyQuery(r *http.Request, now time.Time, q *queryAuth, params []queryParam) (*Result, error) {
	ak, sig, exp := q.val[qAccessKey], q.val[qSignature], q.val[qExpires]
	if ak == "" || sig == "" || exp == "" {
		return nil, newErr("AccessDenied", http.StatusForbidden, msgQueryRequires)
	}
	if len(sig) > maxSignatureLen {
		return nil, newErr("AccessDenied", http.StatusForbidden, msgSignatureMismatch)
	}
	secs, ok := parseEpoch(exp)
	if !ok {
		return nil, newErr("AccessDenied", http.StatusForbidden, msgBadExpires+echo(exp))
	}
	expires := time.Unix(secs, 0).UTC()
	if now.After(expires) {
		return nil, newErr("AccessDenied", http.StatusForbidden, msgExpired,
			s3err.KV{Key: "Expires", Value: expires.Format(time.RFC3339)},
			s3err.KV{Key: "ServerTime", Value: now.UTC().Format(time.RFC3339)})
	}
	if expires.Sub(now) > v.maxExpiry {
		return nil, errTooLong(expires, now, v.maxExpiry)
	}
	// The token travels as a query parameter (botocore) or a header; either
	// way it is an x-amz-* value and so part of the string to sign.
	token := ""
	for _, p := range params {
		if strings.EqualFold(unescape(p.rawKey), "x-amz-security-token") {
			t := unescape(p.rawValue)
			if token != "" && t != token {
				return nil, newErr("InvalidToken", http.StatusBadRequest, msgTokenConflict)
			}
			token = t
		}
	}
	if h := r.Header.Get("X-Amz-Security-Token"); h != "" {
		if token != "" && h != token {
			return nil, newErr("InvalidToken", http.StatusBadRequest, msgTokenConflict)
		}
		token = h
	}
	res := &Result{
		AccessKey:    ak,
		SessionToken: token,
		AuthType:     sigv4.AuthQuery,
		Expires:      expires,
	}
	return v.finish(r, res, sig, exp, params)
}

// parseEpoch parses Expires: decimal seconds since the epoch, digits only.
func parseEpoch(s string) (int64, bool) {
	if s == "" || len(s) > 64 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n > maxEpoch {
		return maxEpoch, true // all digits: only too large
	}
	return n, true
}

// finish looks the secret up, recomputes the signature and compares it in
// constant time.
func (v *Verifier) finish(r *http.Request, res *Result, provided, expires string, params []queryParam) (*Result, error) {
	s, err := v.lookup(r.Context(), res.AccessKey, res.SessionToken)
	if errors.Is(err, sigv4.ErrUnknownAccessKey) {
		return nil, newErr("InvalidAccessKeyId", http.StatusForbidden, msgInvalidAccessKey,
			s3err.KV{Key: "AWSAccessKeyId", Value: echo(res.AccessKey)})
	}
	if err != nil {
		return nil, err
	}
	res.Identity = s.Identity
	secret := s.Key
	sts := stringToSign(r, v.domain, expires, params, true)
	if !hmac.Equal([]byte(Sign(secret, sts)), []byte(provided)) {
		// Fallback: a bucket-only path-style path signed without the '/'.
		if alt := stringToSign(r, v.domain, expires, params, false); alt != sts &&
			hmac.Equal([]byte(Sign(secret, alt)), []byte(provided)) {
			return res, nil
		}
		return nil, newErr("SignatureDoesNotMatch", http.StatusForbidden, msgSignatureMismatch,
			s3err.KV{Key: "AWSAccessKeyId", Value: echo(res.AccessKey)},
			s3err.KV{Key: "StringToSign", Value: sts},
			s3err.KV{Key: "SignatureProvided", Value: echo(provided)},
			s3err.KV{Key: "StringToSignBytes", Value: sigv4.HexBytes(sts)})
	}
	return res, nil
}
