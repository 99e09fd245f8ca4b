package sigv4

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/postern/postern/proto/s3err"
)

// Lookup is the credential lookup of a Verifier (and of sigv2's): it returns
// the secret of an access key id, given the request's context.
// sessionToken is the X-Amz-Security-Token of the request (header or query),
// "" if absent; validating it is the lookup's job. An error wrapping
// ErrUnknownAccessKey makes Verify answer InvalidAccessKeyId; any other error
// is returned by Verify as is, so a lookup can answer e.g. ExpiredToken as an
// *s3err.Error.
type Lookup func(ctx context.Context, accessKey, sessionToken string) (Secret, error)

// Secret is what a Lookup finds for an access key.
type Secret struct {
	Key string // the secret access key
	// Identity is whatever the caller keeps for the key (a principal, say).
	// Verify hands it back in Result.Identity once the signature checks
	// out, so the caller needs no second lookup.
	Identity any
}

// ErrUnknownAccessKey is what a Lookup returns (or wraps) for an access key
// it does not know.
var ErrUnknownAccessKey = errors.New("unknown access key")

// VerifierConfig configures a Verifier.
type VerifierConfig struct {
	Region   string   // the region credentials must be scoped to
	Services []string // accepted services of the scope, e.g. "s3", "iam", "sts"
	MaxSkew  time.Duration
	// Lookup finds the secret of an access key. Required.
	Lookup Lookup
}

// AuthType tells how a request was signed.
type AuthType string

const (
	AuthHeader AuthType = "REST-HEADER"       // Authorization header
	AuthQuery  AuthType = "REST-QUERY-STRING" // presigned URL
)

// Result describes a verified request.
type Result struct {
	AccessKey    string
	SessionToken string
	Region       string
	Service      string
	AuthType     AuthType
	SignedAt     time.Time // X-Amz-Date (or Date)
	Expires      time.Time // presigned only: SignedAt + X-Amz-Expires
	// PayloadHash is the payload hash that was signed. For s3 with header auth
	// it is the x-amz-content-sha256 value (hex digest, UNSIGNED-PAYLOAD or a
	// STREAMING-* marker) which the caller must enforce while reading the body;
	// for presigned s3 requests UNSIGNED-PAYLOAD unless a hash was signed.
	PayloadHash string
	// Signature is the verified signature (hex): the seed signature of an
	// aws-chunked upload.
	Signature string
	// SigningKey is the derived key, needed to verify chunk signatures. It is
	// the caller's own copy.
	SigningKey    [sha256.Size]byte
	SignedHeaders []string
	// Identity is what the Lookup returned for the access key.
	Identity any

	date string // of the credential scope
}

// Scope is the credential scope, e.g. "20150830/us-east-1/s3/aws4_request".
func (r *Result) Scope() string {
	return ScopeString(r.date, r.Region, r.Service)
}

// DefaultMaxSkew is the clock skew S3 allows.
const DefaultMaxSkew = 15 * time.Minute

// signingKeyCacheSize bounds the derived key cache. A key is valid for a day,
// so this is enough for thousands of active access keys; past it, one random
// entry is evicted per insertion.
const signingKeyCacheSize = 4096

type signingKeyID struct {
	accessKey, secret, date, region, service string
}

// Verifier verifies SigV4 requests for one region. It keeps derived signing
// keys in a bounded cache because deriving one costs four HMACs, more than the
// rest of a verification. It is safe for concurrent use.
type Verifier struct {
	region   string
	services []string
	maxSkew  time.Duration
	lookup   Lookup

	mu   sync.RWMutex
	keys map[signingKeyID][]byte

	bufs sync.Pool // *[]byte scratch buffers for canonical requests
}

// NewVerifier returns a Verifier accepting credentials scoped to c.Region and
// one of c.Services. MaxSkew <= 0 means DefaultMaxSkew.
func NewVerifier(c VerifierConfig) *Verifier {
	if c.MaxSkew <= 0 {
		c.MaxSkew = DefaultMaxSkew
	}
	return &Verifier{
		region:   c.Region,
		services: append([]string(nil), c.Services...),
		maxSkew:  c.MaxSkew,
		lookup:   c.Lookup,
		keys:     make(map[signingKeyID][]byte),
		bufs: sync.Pool{New: func() any {
			b := make([]byte, 0, 1024)
			return &b
		}},
	}
}

// IsSigV4 reports whether r carries SigV4 authentication, in the header or in
// the query. Requests for which it is false are anonymous (or use another
// scheme) and should not be passed to Verify.
func IsSigV4(r *http.Request) bool {
	if strings.HasPrefix(r.Header.Get("Authorization"), Algorithm) {
		return true
	}
	return r.URL != nil && strings.Contains(r.URL.RawQuery, "X-Amz-Algorithm=")
}

// Verify authenticates r at time now, by its Authorization header or its
// presigned query. It does not read the body. For service s3 the payload hash is
// taken from the request; for other services see VerifyWithPayloadHash.
// Failures are *s3err.Error values (or the Lookup's own error).
func (v *Verifier) Verify(r *http.Request, now time.Time) (*Result, error) {
	return v.VerifyWithPayloadHash(r, now, "")
}

// VerifyWithPayloadHash is Verify for services that sign the body itself (iam,
// sts...): payloadHash is the hex SHA-256 of the body as computed by the caller.
// For such services the signed hash is payloadHash, else the
// x-amz-content-sha256 header, else the hash of an empty body; a header
// disagreeing with payloadHash is XAmzContentSHA256Mismatch. For s3, S3 signs
// the x-amz-content-sha256 header, and the caller checks the body against
// Result.PayloadHash while reading it; payloadHash is used only for a
// header-signed request without that header (an API whose body is read
// before verification, such as Postern's share API, which curl --aws-sigv4
// signs over the body's hash without sending the header).
func (v *Verifier) VerifyWithPayloadHash(r *http.Request, now time.Time, payloadHash string) (*Result, error) {
	var authz string
	if vs := r.Header["Authorization"]; len(vs) > 0 {
		authz = vs[0]
	}
	var rawQuery string
	if r.URL != nil {
		rawQuery = r.URL.RawQuery
	}
	var pbuf [16]queryParam
	params := parseQuery(pbuf[:0], rawQuery)
	if len(params) > MaxQueryParams {
		return nil, newErr("InvalidArgument", http.StatusBadRequest, "Too many query parameters.")
	}
	var f presignedFields
	queryAuth := false
	for i := range params {
		p := &params[i]
		k := p.rawKey
		if len(k) < 9 || !(k[0] == 'X' || k[0] == 'x' || k[0] == '%' || k[0] == 'S') {
			continue // fast skip: cannot be X-Amz-* or Signature
		}
		k = decodeQueryComponent(k)
		switch k {
		case "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature", "Signature":
			queryAuth = true
		}
		if strings.HasPrefix(k, "X-Amz-") {
			f.set(k, decodeQueryComponent(p.rawValue))
		}
	}
	switch {
	case authz != "" && queryAuth:
		return nil, newErr("InvalidArgument", http.StatusBadRequest, msgOnlyOneAuth)
	case authz != "":
		return v.verifyHeader(r, now, authz, params, payloadHash)
	case queryAuth:
		return v.verifyQuery(r, now, &f, params, payloadHash)
	}
	return nil, newErr("AccessDenied", http.StatusForbidden, msgAccessDenied)
}

// checkScope checks the credential scope against the configuration and the
// request date (yyyymmdd of X-Amz-Date).
func (v *Verifier) checkScope(c *Credential, date string, presigned bool) *s3err.Error {
	if c.Region != v.region {
		return malformed(presigned, "the region '"+c.Region+"' is wrong; expecting '"+v.region+"'", s3err.KV{Key: "Region", Value: v.region})
	}
	known := false
	for _, s := range v.services {
		if c.Service == s {
			known = true
			break
		}
	}
	if !known {
		want := ""
		if len(v.services) > 0 {
			want = v.services[0]
		}
		return malformed(presigned, "incorrect service \""+c.Service+"\". This endpoint belongs to \""+want+"\".")
	}
	if c.Terminator != "aws4_request" {
		return malformed(presigned, "incorrect terminal \""+c.Terminator+"\". This endpoint uses \"aws4_request\".")
	}
	if c.Date != date {
		return malformed(presigned, "Invalid credential date \""+c.Date+"\". Date is not the same as X-Amz-Date: \""+date+"\".")
	}
	return nil
}

// checkSignedHeaders enforces what AWS requires of the signed header list: host
// must be signed and, for s3, every x-amz-* header sent must be signed (else a
// holder of a presigned URL could add e.g. x-amz-acl). Other services are lenient
// here, as AWS is (the test suite leaves x-amz-security-token unsigned).
func checkSignedHeaders(r *http.Request, signed []string, s3, presigned bool) *s3err.Error {
	host := false
	for _, n := range signed {
		if strings.EqualFold(n, "host") {
			host = true
			break
		}
	}
	if !host {
		if presigned {
			return queryErr("Query-string authentication requires the host header to be signed.")
		}
		return malformed(false, msgHostNotSigned)
	}
	if !s3 {
		return nil
	}
	var missing []string
	for k := range r.Header {
		if len(k) < 6 || !strings.EqualFold(k[:6], "x-amz-") {
			continue
		}
		found := false
		for _, n := range signed {
			if strings.EqualFold(n, k) {
				found = true
				break
			}
		}
		if !found {
			missing = append(missing, strings.ToLower(k))
		}
	}
	if missing != nil {
		return newErr("AccessDenied", http.StatusForbidden, msgUnsignedHeaders,
			s3err.KV{Key: "HeadersNotSigned", Value: strings.Join(missing, ", ")})
	}
	return nil
}

// payloadForOtherService picks the payload hash for services that sign the body.
func payloadForOtherService(r *http.Request, given string) (string, *s3err.Error) {
	hdr := r.Header.Get("X-Amz-Content-Sha256")
	switch {
	case given == "" && hdr == "":
		return EmptySHA256, nil
	case given == "":
		return hdr, nil
	case hdr != "" && hdr != given:
		return "", newErr("XAmzContentSHA256Mismatch", http.StatusBadRequest, msgSHA256Mismatch,
			s3err.KV{Key: "ClientComputedContentSHA256", Value: hdr}, s3err.KV{Key: "S3ComputedContentSHA256", Value: given})
	}
	return given, nil
}

func badPayloadHash(v string) *s3err.Error {
	return newErr("InvalidArgument", http.StatusBadRequest, msgBadSHA256,
		s3err.KV{Key: "ArgumentName", Value: "x-amz-content-sha256"}, s3err.KV{Key: "ArgumentValue", Value: v})
}

func (v *Verifier) verifyHeader(r *http.Request, now time.Time, authz string, params []queryParam, given string) (*Result, error) {
	a, err := ParseAuthorization(authz)
	if err != nil {
		return nil, err
	}
	c := &a.Credential
	s3 := c.Service == "s3"
	var payload string
	if s3 {
		payload = r.Header.Get("X-Amz-Content-Sha256")
		if payload == "" {
			payload = given
		}
		if payload == "" {
			return nil, newErr("InvalidRequest", http.StatusBadRequest, msgMissingSHA256)
		}
		if !ValidPayloadHash(payload) {
			return nil, badPayloadHash(payload)
		}
	} else if p, e := payloadForOtherService(r, given); e != nil {
		return nil, e
	} else {
		payload = p
	}

	var signedAt time.Time
	amzDate := r.Header.Get("X-Amz-Date")
	requestTime := amzDate
	if amzDate != "" {
		t, ok := parseAmzDate(amzDate)
		if !ok {
			return nil, newErr("AccessDenied", http.StatusForbidden, msgMissingDate)
		}
		signedAt = t
	} else {
		requestTime = r.Header.Get("Date")
		t, err := http.ParseTime(requestTime)
		if err != nil {
			return nil, newErr("AccessDenied", http.StatusForbidden, msgMissingDate)
		}
		signedAt = t.UTC()
		amzDate = signedAt.Format(amzDateLayout)
	}
	if e := v.checkScope(c, amzDate[:8], false); e != nil {
		return nil, e
	}
	if d := now.Sub(signedAt); d > v.maxSkew || d < -v.maxSkew {
		return nil, errSkew(requestTime, now, v.maxSkew)
	}
	if e := checkSignedHeaders(r, a.SignedHeaders, s3, false); e != nil {
		return nil, e
	}
	token := r.Header.Get("X-Amz-Security-Token")
	res := &Result{
		SessionToken:  token,
		AuthType:      AuthHeader,
		SignedAt:      signedAt,
		PayloadHash:   payload,
		SignedHeaders: a.SignedHeaders,
	}
	return v.finish(r, res, c, amzDate, a.Signature, a.SignedHeadersRaw, params)
}

func (v *Verifier) verifyQuery(r *http.Request, now time.Time, f *presignedFields, params []queryParam, given string) (*Result, error) {
	p, err := f.parse()
	if err != nil {
		return nil, err
	}
	c := &p.Credential
	if e := v.checkScope(c, p.Date[:8], true); e != nil {
		return nil, e
	}
	if p.SignedAt.Sub(now) > v.maxSkew {
		return nil, newErr("AccessDenied", http.StatusForbidden, msgNotYetValid)
	}
	expires := p.SignedAt.Add(p.Expires)
	// A URL valid for zero seconds (X-Amz-Expires=0) is never valid.
	if now.After(expires) || p.Expires == 0 {
		return nil, newErr("AccessDenied", http.StatusForbidden, msgExpired,
			s3err.KV{Key: "X-Amz-Expires", Value: p.ExpiresRaw},
			s3err.KV{Key: "Expires", Value: expires.UTC().Format(time.RFC3339)},
			s3err.KV{Key: "ServerTime", Value: now.UTC().Format(time.RFC3339)})
	}
	s3 := c.Service == "s3"
	if e := checkSignedHeaders(r, p.SignedHeaders, s3, true); e != nil {
		return nil, e
	}
	var payload string
	if s3 {
		payload = UnsignedPayload
		if p.ContentSHA256 != "" {
			payload = p.ContentSHA256
		} else {
			for _, n := range p.SignedHeaders {
				if strings.EqualFold(n, "x-amz-content-sha256") {
					payload = r.Header.Get("X-Amz-Content-Sha256")
					break
				}
			}
		}
		if !ValidPayloadHash(payload) {
			return nil, badPayloadHash(payload)
		}
	} else if h, e := payloadForOtherService(r, given); e != nil {
		return nil, e
	} else {
		payload = h
	}
	token := p.SecurityToken
	if token == "" {
		token = r.Header.Get("X-Amz-Security-Token")
	}
	res := &Result{
		SessionToken:  token,
		AuthType:      AuthQuery,
		SignedAt:      p.SignedAt,
		Expires:       expires,
		PayloadHash:   payload,
		SignedHeaders: p.SignedHeaders,
	}
	return v.finish(r, res, c, p.Date, p.Signature, p.SignedHeadersRaw, params)
}

// finish looks the secret up, recomputes the signature and compares it.
func (v *Verifier) finish(r *http.Request, res *Result, c *Credential, amzDate, provided, signedRaw string, params []queryParam) (*Result, error) {
	s, err := v.lookup(r.Context(), c.AccessKey, res.SessionToken)
	if errors.Is(err, ErrUnknownAccessKey) {
		return nil, newErr("InvalidAccessKeyId", http.StatusForbidden, msgInvalidAccessKey, s3err.KV{Key: "AWSAccessKeyId", Value: c.AccessKey})
	}
	if err != nil {
		return nil, err
	}
	res.Identity = s.Identity
	key := v.signingKey(c.AccessKey, s.Key, c.Date, c.Region, c.Service)

	bp := v.bufs.Get().(*[]byte)
	buf := appendCanonicalRequest((*bp)[:0], r, params, res.SignedHeaders, signedRaw, res.PayloadHash)
	crHash := sha256.Sum256(buf)
	// The string to sign goes after a 64-byte slot that hmacInto fills with
	// the padded key, so the HMAC needs no further buffer.
	var pad [64]byte
	buf = append(buf[:0], pad[:]...)
	buf = appendStringToSignCred(buf, amzDate, c, &crHash)
	var mac [sha256.Size]byte
	hmacInto(&mac, key, buf)
	*bp = buf
	v.bufs.Put(bp)

	var want [2 * sha256.Size]byte
	hex.Encode(want[:], mac[:])
	if len(provided) != len(want) || subtle.ConstantTimeCompare(want[:], []byte(provided)) != 1 {
		return nil, v.mismatch(r, res, c, amzDate, provided, signedRaw, params)
	}
	res.AccessKey = c.AccessKey
	res.Region = c.Region
	res.Service = c.Service
	res.Signature = provided
	copy(res.SigningKey[:], key)
	res.date = c.Date
	return res, nil
}

// mismatch builds SignatureDoesNotMatch with the diagnostics AWS returns.
func (v *Verifier) mismatch(r *http.Request, res *Result, c *Credential, amzDate, provided, signedRaw string, params []queryParam) *s3err.Error {
	cr := string(appendCanonicalRequest(nil, r, params, res.SignedHeaders, signedRaw, res.PayloadHash))
	h := sha256.Sum256([]byte(cr))
	sts := string(appendStringToSignCred(nil, amzDate, c, &h))
	return newErr("SignatureDoesNotMatch", http.StatusForbidden, msgSignatureMismatch,
		s3err.KV{Key: "AWSAccessKeyId", Value: c.AccessKey},
		s3err.KV{Key: "StringToSign", Value: sts},
		s3err.KV{Key: "SignatureProvided", Value: provided},
		s3err.KV{Key: "StringToSignBytes", Value: HexBytes(sts)},
		s3err.KV{Key: "CanonicalRequest", Value: cr},
		s3err.KV{Key: "CanonicalRequestBytes", Value: HexBytes(cr)})
}

// signingKey returns the derived key from the cache or derives and caches it.
// The secret is part of the cache key so a rotated secret never reuses a stale
// key. The returned slice must not be modified.
func (v *Verifier) signingKey(accessKey, secret, date, region, service string) []byte {
	id := signingKeyID{accessKey, secret, date, region, service}
	v.mu.RLock()
	k, ok := v.keys[id]
	v.mu.RUnlock()
	if ok {
		return k
	}
	k = SigningKey(secret, date, region, service)
	v.mu.Lock()
	if len(v.keys) >= signingKeyCacheSize {
		for old := range v.keys { // map order is random: evict one at random
			delete(v.keys, old)
			break
		}
	}
	v.keys[id] = k
	v.mu.Unlock()
	return k
}
