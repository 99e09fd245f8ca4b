package sigv4

import (
	"cmp"
	"net/http"
	"slices"
	"strings"
)

// isUnreserved reports whether c is left as is by AWS URI encoding
// (RFC 3986 unreserved: A-Z a-z 0-9 - . _ ~).
func isUnreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

// appendEncoded appends s AWS-URI-encoded: every byte except the unreserved
// ones becomes %XX with upper-case hex; '/' is kept when keepSlash is set.
func appendEncoded(dst []byte, s string, keepSlash bool) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isUnreserved(c) || c == '/' && keepSlash {
			dst = append(dst, c)
			continue
		}
		dst = append(dst, '%', hexUpper[c>>4], hexUpper[c&15])
	}
	return dst
}

// needsEncoding reports whether AWS URI encoding would change s.
func needsEncoding(s string, keepSlash bool) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isUnreserved(c) && (c != '/' || !keepSlash) {
			return true
		}
	}
	return false
}

// EncodeURIComponent AWS-URI-encodes s the way SigV4 encodes query keys and
// values: every byte except A-Za-z0-9-._~ becomes %XX (upper-case hex), so a
// space is %20 (never '+') and '/' is %2F.
func EncodeURIComponent(s string) string {
	if !needsEncoding(s, false) {
		return s
	}
	return string(appendEncoded(make([]byte, 0, len(s)+16), s, false))
}

// EncodePath AWS-URI-encodes a decoded path the way S3 builds the canonical
// URI: like EncodeURIComponent but '/' is kept. S3 does not normalise paths, so
// "a//b" and "../x" are encoded as they are.
func EncodePath(s string) string {
	if !needsEncoding(s, true) {
		return s
	}
	return string(appendEncoded(make([]byte, 0, len(s)+16), s, true))
}

// Unhex returns the value of one hex digit (either case) and whether c is one.
func Unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// appendCanonicalURI appends the S3 canonical URI of r: the path as the client
// sent it, each byte encoded once. When the wire path holds escapes that decode
// to '/' (an object key containing "%2F") we must keep them apart from real
// separators, so we work from the escaped form, decoding each escape and
// re-encoding it; otherwise r.URL.Path is exact and cheaper.
func appendCanonicalURI(dst []byte, r *http.Request) []byte {
	u := r.URL
	if u == nil {
		return append(dst, '/')
	}
	if u.RawPath == "" {
		if u.Path == "" {
			return append(dst, '/')
		}
		return appendEncoded(dst, u.Path, true)
	}
	p := u.EscapedPath()
	if p == "" {
		return append(dst, '/')
	}
	return appendReencoded(dst, p, true)
}

// appendReencoded decodes the %XX escapes of an escaped string and AWS-encodes
// the result, byte by byte. A literal '/' is kept when keepSlash is set while an
// escaped one stays %2F. A '%' not followed by two hex digits is taken literally.
func appendReencoded(dst []byte, s string, keepSlash bool) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '%' && i+2 < len(s):
			hi, ok1 := Unhex(s[i+1])
			lo, ok2 := Unhex(s[i+2])
			if ok1 && ok2 {
				// A decoded byte is encoded like any other, so an escaped
				// '/' stays %2F while a literal one is kept below.
				c = hi<<4 | lo
				i += 2
				if isUnreserved(c) {
					dst = append(dst, c)
				} else {
					dst = append(dst, '%', hexUpper[c>>4], hexUpper[c&15])
				}
				continue
			}
		case c == '/' && keepSlash:
			dst = append(dst, c)
			continue
		}
		if isUnreserved(c) {
			dst = append(dst, c)
		} else {
			dst = append(dst, '%', hexUpper[c>>4], hexUpper[c&15])
		}
	}
	return dst
}

// queryParam is one query parameter. raw* are the wire forms; key and value
// the canonical (AWS-encoded) forms used for sorting and signing.
type queryParam struct {
	rawKey, rawValue string
	key, value       string
}

// canonicalQueryComponent returns the AWS encoding of a raw query component:
// escapes decoded, '+' taken as space (as url.ParseQuery and the AWS SDKs do),
// then encoded. Common components need no work and are returned as is.
func canonicalQueryComponent(raw string) string {
	if isCanonicalComponent(raw) {
		return raw
	}
	return canonicalizeComponent(raw)
}

func canonicalizeComponent(raw string) string {
	b := make([]byte, 0, len(raw)+8)
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c == '+' {
			b = append(b, "%20"...)
			continue
		}
		if c == '%' && i+2 < len(raw) {
			hi, ok1 := Unhex(raw[i+1])
			lo, ok2 := Unhex(raw[i+2])
			if ok1 && ok2 {
				c = hi<<4 | lo
				i += 2
			}
		}
		if isUnreserved(c) {
			b = append(b, c)
		} else {
			b = append(b, '%', hexUpper[c>>4], hexUpper[c&15])
		}
	}
	return string(b)
}

// isCanonicalComponent reports whether a raw query component is already in
// canonical form: unreserved bytes, and upper-case %XX escapes of bytes that
// must be escaped (as X-Amz-Credential's %2F usually arrives). Then the
// canonical form is raw itself and needs no copy.
func isCanonicalComponent(raw string) bool {
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if isUnreserved(c) {
			continue
		}
		if c != '%' || i+2 >= len(raw) || !isUpperHex(raw[i+1]) || !isUpperHex(raw[i+2]) {
			return false
		}
		hi, _ := Unhex(raw[i+1])
		lo, _ := Unhex(raw[i+2])
		if isUnreserved(hi<<4 | lo) {
			return false // an escaped unreserved byte is decoded in canonical form
		}
		i += 2
	}
	return true
}

func isUpperHex(c byte) bool { return '0' <= c && c <= '9' || 'A' <= c && c <= 'F' }

// decodeQueryComponent decodes %XX escapes and '+' (space); malformed escapes
// are kept literally, never an error, so parsing cannot fail on garbage.
func decodeQueryComponent(raw string) string {
	if strings.IndexByte(raw, '%') < 0 && strings.IndexByte(raw, '+') < 0 {
		return raw
	}
	b := make([]byte, 0, len(raw))
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case c == '+':
			c = ' '
		case c == '%' && i+2 < len(raw):
			hi, ok1 := Unhex(raw[i+1])
			lo, ok2 := Unhex(raw[i+2])
			if ok1 && ok2 {
				c = hi<<4 | lo
				i += 2
			}
		}
		b = append(b, c)
	}
	return string(b)
}

// parseQuery splits a raw query into parameters in wire order. Empty segments
// ("a&&b") are dropped; a segment without '=' has an empty value.
func parseQuery(dst []queryParam, raw string) []queryParam {
	for raw != "" {
		var seg string
		seg, raw, _ = strings.Cut(raw, "&")
		if seg == "" {
			continue
		}
		k, v, _ := strings.Cut(seg, "=")
		dst = append(dst, queryParam{rawKey: k, rawValue: v})
	}
	return dst
}

// appendCanonicalQuery appends the canonical query string: every parameter but
// X-Amz-Signature, encoded, sorted by key then value, joined with '&'.
// params is sorted in place.
func appendCanonicalQuery(dst []byte, params []queryParam) []byte {
	n := 0
	for i := range params {
		p := &params[i]
		if p.rawKey == "X-Amz-Signature" {
			continue
		}
		p.key = canonicalQueryComponent(p.rawKey)
		if p.key == "X-Amz-Signature" {
			continue
		}
		p.value = canonicalQueryComponent(p.rawValue)
		params[n] = *p
		n++
	}
	ps := params[:n]
	if len(ps) > 1 {
		slices.SortFunc(ps, func(a, b queryParam) int {
			if c := strings.Compare(a.key, b.key); c != 0 {
				return c
			}
			return cmp.Compare(a.value, b.value)
		})
	}
	for i := range ps {
		if i > 0 {
			dst = append(dst, '&')
		}
		dst = append(dst, ps[i].key...)
		dst = append(dst, '=')
		dst = append(dst, ps[i].value...)
	}
	return dst
}

// CanonicalQuery returns the SigV4 canonical query string of a raw (wire)
// query: all parameters except X-Amz-Signature, keys and values AWS-encoded,
// sorted by key then value.
func CanonicalQuery(rawQuery string) string {
	return string(appendCanonicalQuery(nil, parseQuery(nil, rawQuery)))
}

// CanonicalURI returns the S3 canonical URI of r (see EncodePath): no
// normalisation, each byte encoded once, "%2F" in the wire path kept apart
// from '/'.
func CanonicalURI(r *http.Request) string {
	return string(appendCanonicalURI(nil, r))
}
