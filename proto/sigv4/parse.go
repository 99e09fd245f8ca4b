package sigv4

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/postern/postern/proto/s3err"
)

// Algorithm is the only signing algorithm this package verifies.
const Algorithm = "AWS4-HMAC-SHA256"

// Limits on what the parsers accept. Real clients stay far below them; they
// bound the work an unauthenticated request can make us do.
const (
	MaxAuthorizationLen = 8 << 10 // bytes of the Authorization header
	MaxSignedHeaders    = 128     // names in SignedHeaders
	MaxQueryParams      = 1000    // parameters in a signed query
	MaxExpires          = 604800  // seconds: X-Amz-Expires upper bound (one week)
)

// Credential is the parsed Credential component:
// <access key>/<yyyymmdd>/<region>/<service>/aws4_request.
type Credential struct {
	AccessKey, Date, Region, Service, Terminator string
}

// Scope returns the credential scope "date/region/service/terminator", the
// third line of the string to sign.
func (c Credential) Scope() string {
	return c.Date + "/" + c.Region + "/" + c.Service + "/" + c.Terminator
}

// parseCredential splits a decoded credential string. Only the shape is checked
// here (five non-empty parts); the verifier checks date, region and service
// against the request and its configuration.
func parseCredential(s string) (Credential, bool) {
	var parts [5]string
	for i := 0; i < 4; i++ {
		j := strings.IndexByte(s, '/')
		if j <= 0 {
			return Credential{}, false
		}
		parts[i], s = s[:j], s[j+1:]
	}
	if s == "" || strings.IndexByte(s, '/') >= 0 {
		return Credential{}, false
	}
	parts[4] = s
	return Credential{AccessKey: parts[0], Date: parts[1], Region: parts[2], Service: parts[3], Terminator: parts[4]}, true
}

// parseSignedHeaders splits "host;x-amz-date". Names must be non-empty and
// plain header-token characters; upper case is accepted and kept (clients
// should send lower case, and the list is signed verbatim anyway).
func parseSignedHeaders(s string) ([]string, bool) {
	if s == "" {
		return nil, false
	}
	n := strings.Count(s, ";") + 1
	if n > MaxSignedHeaders {
		return nil, false
	}
	out := make([]string, 0, n)
	for s != "" || len(out) < n {
		name, rest, _ := strings.Cut(s, ";")
		if name == "" || !isTokenString(name) {
			return nil, false
		}
		out = append(out, name)
		s = rest
	}
	return out, true
}

func isTokenString(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

// Authorization is a parsed "Authorization: AWS4-HMAC-SHA256 ..." header.
type Authorization struct {
	Credential       Credential
	SignedHeaders    []string
	SignedHeadersRaw string // as sent; it is the signed-headers line of the canonical request
	Signature        string // as sent (expected: 64 lower-case hex digits)
}

// ParseAuthorization parses an Authorization header of the form
//
//	AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=<hex>
//
// Components may be separated by ',' with optional spaces, in any order. The
// errors are *s3err.Error values as S3 reports them (InvalidArgument for another
// algorithm, AuthorizationHeaderMalformed for a bad shape). It never panics.
func ParseAuthorization(header string) (Authorization, error) {
	if len(header) > MaxAuthorizationLen {
		return Authorization{}, malformed(false, "the authorization header is too large.")
	}
	alg, rest, _ := strings.Cut(header, " ")
	if alg != Algorithm {
		return Authorization{}, newErr("InvalidArgument", http.StatusBadRequest, msgUnsupportedAuth,
			s3err.KV{Key: "ArgumentName", Value: "Authorization"}, s3err.KV{Key: "ArgumentValue", Value: header})
	}
	var a Authorization
	var cred, sh, sig string
	var haveCred, haveSH, haveSig bool
	for rest != "" {
		var part string
		part, rest, _ = strings.Cut(rest, ",")
		part = strings.Trim(part, " \t")
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			return Authorization{}, malformed(false, msgThreeComponents)
		}
		switch k {
		case "Credential":
			if haveCred {
				return Authorization{}, malformed(false, msgThreeComponents)
			}
			cred, haveCred = v, true
		case "SignedHeaders":
			if haveSH {
				return Authorization{}, malformed(false, msgThreeComponents)
			}
			sh, haveSH = v, true
		case "Signature":
			if haveSig {
				return Authorization{}, malformed(false, msgThreeComponents)
			}
			sig, haveSig = v, true
		default:
			return Authorization{}, malformed(false, msgThreeComponents)
		}
	}
	if !haveCred || !haveSH || !haveSig || sig == "" {
		return Authorization{}, malformed(false, msgThreeComponents)
	}
	c, ok := parseCredential(cred)
	if !ok {
		return Authorization{}, malformed(false, msgCredentialFormat)
	}
	names, ok := parseSignedHeaders(sh)
	if !ok {
		return Authorization{}, malformed(false, "the SignedHeaders component is invalid.")
	}
	a.Credential, a.SignedHeaders, a.SignedHeadersRaw, a.Signature = c, names, sh, sig
	return a, nil
}

// Presigned holds the parsed X-Amz-* parameters of a presigned URL.
type Presigned struct {
	Credential       Credential
	Date             string        // X-Amz-Date as sent
	SignedAt         time.Time     // X-Amz-Date parsed
	Expires          time.Duration // X-Amz-Expires
	ExpiresRaw       string        // X-Amz-Expires as sent (echoed in errors)
	SignedHeaders    []string
	SignedHeadersRaw string
	Signature        string
	SecurityToken    string // X-Amz-Security-Token, "" if absent
	ContentSHA256    string // X-Amz-Content-Sha256, "" if absent
}

// presignedFields are the decoded query values ParsePresigned works on, so the
// verifier can fill them from its own single pass over the raw query.
type presignedFields struct {
	alg, cred, date, expires, signedHeaders, sig, token, sha256 string
	haveAlg, haveCred, haveDate, haveExpires, haveSH, haveSig   bool
	haveToken, haveSHA256                                       bool
}

// set records a parameter; the first occurrence of a name wins, as with
// url.Values.Get, so ParsePresigned and Verify agree on duplicates.
func (f *presignedFields) set(key, value string) {
	var dst *string
	var have *bool
	switch key {
	case "X-Amz-Algorithm":
		dst, have = &f.alg, &f.haveAlg
	case "X-Amz-Credential":
		dst, have = &f.cred, &f.haveCred
	case "X-Amz-Date":
		dst, have = &f.date, &f.haveDate
	case "X-Amz-Expires":
		dst, have = &f.expires, &f.haveExpires
	case "X-Amz-SignedHeaders":
		dst, have = &f.signedHeaders, &f.haveSH
	case "X-Amz-Signature":
		dst, have = &f.sig, &f.haveSig
	case "X-Amz-Security-Token":
		dst, have = &f.token, &f.haveToken
	case "X-Amz-Content-Sha256":
		dst, have = &f.sha256, &f.haveSHA256
	default:
		return
	}
	if !*have {
		*dst, *have = value, true
	}
}

// ParsePresigned parses the SigV4 query parameters of a presigned URL. Errors
// are 400 AuthorizationQueryParametersError with the messages S3 uses. Only the
// parameters themselves are checked; expiry, region and service are the
// verifier's business. It never panics.
func ParsePresigned(query url.Values) (Presigned, error) {
	var f presignedFields
	for k, vs := range query {
		if len(vs) > 0 {
			f.set(k, vs[0])
		}
	}
	return f.parse()
}

func queryErr(msg string, extra ...s3err.KV) *s3err.Error {
	return newErr("AuthorizationQueryParametersError", http.StatusBadRequest, msg, extra...)
}

func (f *presignedFields) parse() (Presigned, error) {
	if !f.haveAlg || !f.haveCred || !f.haveSig || !f.haveDate || !f.haveSH || !f.haveExpires {
		return Presigned{}, queryErr(msgQueryRequires)
	}
	if f.alg != Algorithm {
		return Presigned{}, queryErr(msgQueryAlgorithm)
	}
	c, ok := parseCredential(f.cred)
	if !ok {
		return Presigned{}, malformed(true, msgCredentialFormat)
	}
	t, ok := parseAmzDate(f.date)
	if !ok {
		return Presigned{}, queryErr(msgQueryDate)
	}
	secs, err := parseExpires(f.expires)
	if err != nil {
		return Presigned{}, err
	}
	names, ok := parseSignedHeaders(f.signedHeaders)
	if !ok {
		return Presigned{}, queryErr("X-Amz-SignedHeaders is invalid.")
	}
	return Presigned{
		Credential: c, Date: f.date, SignedAt: t,
		Expires: time.Duration(secs) * time.Second, ExpiresRaw: f.expires,
		SignedHeaders: names, SignedHeadersRaw: f.signedHeaders,
		Signature: f.sig, SecurityToken: f.token, ContentSHA256: f.sha256,
	}, nil
}

// parseExpires parses X-Amz-Expires: decimal seconds in 0..604800. Zero is
// not malformed for S3: such a URL is valid for no time at all, so it is
// refused later as expired (AccessDenied "Request has expired"), as S3 does.
func parseExpires(s string) (int64, error) {
	neg := false
	d := s
	if d != "" && (d[0] == '-' || d[0] == '+') {
		neg = d[0] == '-'
		d = d[1:]
	}
	if d == "" {
		return 0, queryErr(msgExpiresNumber)
	}
	var n int64
	for i := 0; i < len(d); i++ {
		c := d[i]
		if c < '0' || c > '9' {
			return 0, queryErr(msgExpiresNumber)
		}
		if n <= MaxExpires { // keep counting digits without overflowing
			n = n*10 + int64(c-'0')
		}
	}
	if neg && n > 0 {
		return 0, queryErr(msgExpiresNegative)
	}
	if n > MaxExpires {
		return 0, queryErr(msgExpiresTooLarge)
	}
	return n, nil
}

// amzDateLayout is the ISO 8601 basic format of X-Amz-Date.
const amzDateLayout = "20060102T150405Z"

// parseAmzDate parses "20150830T123600Z" without the generality (and cost) of
// time.Parse. The value must be exactly that shape and a real date and time.
func parseAmzDate(s string) (time.Time, bool) {
	if len(s) != 16 || s[8] != 'T' || s[15] != 'Z' {
		return time.Time{}, false
	}
	num := func(i, n int) (int, bool) {
		v := 0
		for j := i; j < i+n; j++ {
			c := s[j]
			if c < '0' || c > '9' {
				return 0, false
			}
			v = v*10 + int(c-'0')
		}
		return v, true
	}
	y, ok1 := num(0, 4)
	mo, ok2 := num(4, 2)
	d, ok3 := num(6, 2)
	h, ok4 := num(9, 2)
	mi, ok5 := num(11, 2)
	se, ok6 := num(13, 2)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || se > 59 {
		return time.Time{}, false
	}
	t := time.Date(y, time.Month(mo), d, h, mi, se, 0, time.UTC)
	if t.Day() != d { // 31 February and friends
		return time.Time{}, false
	}
	return t, true
}
