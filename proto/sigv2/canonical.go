package sigv2

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"net"
	"net/http"
	"sort"
	"strings"

	"github.com/postern/postern/proto/sigv4"
)

// signedSubresources are the query parameters that are part of the
// CanonicalizedResource. It is the union of the list in AWS's SigV2
// documentation (acl, delete, lifecycle, location, logging, notification,
// partNumber, policy, requestPayment, torrent, uploadId, uploads, versionId,
// versioning, versions, website and the response-* overrides), the lists of
// botocore and s3cmd (cors, restore, tagging, accelerate, analytics,
// inventory, metrics, replication, object-lock, select, select-type,
// storageClass, defaultObjectAcl) and every other parameter Postern's router
// selects an operation by (encryption, retention, legal-hold, ...), so that a
// signed request can never be turned into another operation by appending an
// unsigned parameter. Names are matched case-sensitively, as AWS does.
var signedSubresources = [...]string{
	"accelerate", "acl", "analytics", "attributes", "cors", "defaultObjectAcl",
	"delete", "encryption", "intelligent-tiering", "inventory", "legal-hold",
	"lifecycle", "location", "logging", "metrics", "notification", "object-lock",
	"ownershipControls", "partNumber", "policy", "policyStatus",
	"publicAccessBlock", "replication", "requestPayment",
	"response-cache-control", "response-content-disposition",
	"response-content-encoding", "response-content-language",
	"response-content-type", "response-expires", "restore", "retention",
	"select", "select-type", "storageClass", "tagging", "torrent", "uploadId",
	"uploads", "versionId", "versioning", "versions", "website",
}

// SignedSubresources returns (a copy of) the query parameter names signed as
// sub-resources, sorted.
func SignedSubresources() []string {
	out := signedSubresources
	return out[:]
}

func isSubresource(name string) bool {
	for _, s := range signedSubresources {
		if s == name {
			return true
		}
	}
	return false
}

// Sign returns base64(HMAC-SHA1(secret, stringToSign)), the SigV2 signature.
func Sign(secret, stringToSign string) string {
	m := hmac.New(sha1.New, []byte(secret))
	m.Write([]byte(stringToSign))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// VerifyPOST checks the signature of a SigV2 browser POST upload: the form's
// Signature field must be base64(HMAC-SHA1(secret, policy)) where policyB64 is
// the form's Policy field exactly as received (still base64). The comparison
// is constant-time. Checking the policy's conditions is the caller's job.
func VerifyPOST(secret, policyB64, signature string) bool {
	if policyB64 == "" || signature == "" || len(signature) > maxSignatureLen {
		return false
	}
	return hmac.Equal([]byte(Sign(secret, policyB64)), []byte(signature))
}

// queryParam is one raw (still encoded) key=value pair of a query string.
type queryParam struct {
	rawKey, rawValue string
	hasEq            bool // "k=" rather than "k"
}

// parseQuery splits a raw query on '&' (never ';'), keeping raw components and
// skipping empty pairs. It stops after limit+1 pairs so callers can detect
// too many parameters without unbounded work.
func parseQuery(raw string, limit int) []queryParam {
	var out []queryParam
	for raw != "" && len(out) <= limit {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if pair == "" {
			continue
		}
		k, v, eq := strings.Cut(pair, "=")
		out = append(out, queryParam{rawKey: k, rawValue: v, hasEq: eq})
	}
	return out
}

// unescape decodes %XX escapes only: '+' stays '+', as botocore (urllib's
// unquote) and S3's SigV2 canonicalisation treat it. A '%' not followed by two
// hex digits is kept literally, so it never fails.
func unescape(s string) string {
	i := strings.IndexByte(s, '%')
	if i < 0 {
		return s
	}
	b := make([]byte, 0, len(s))
	b = append(b, s[:i]...)
	for ; i < len(s); i++ {
		c := s[i]
		if c == '%' && i+2 < len(s) {
			hi, ok1 := sigv4.Unhex(s[i+1])
			lo, ok2 := sigv4.Unhex(s[i+2])
			if ok1 && ok2 {
				b = append(b, hi<<4|lo)
				i += 2
				continue
			}
		}
		b = append(b, c)
	}
	return string(b)
}

// requestPath returns the path of the request target exactly as the client
// sent it: from r.RequestURI on the server side (absolute-form targets lose
// their scheme and authority), else r.URL's escaped path. An empty path is "/".
func requestPath(r *http.Request) string {
	p := r.RequestURI
	if p == "" || p == "*" {
		if r.URL == nil {
			return "/"
		}
		p = r.URL.EscapedPath()
	} else {
		if i := strings.IndexByte(p, '?'); i >= 0 {
			p = p[:i]
		}
		if len(p) > 0 && p[0] != '/' {
			// absolute-form: scheme://authority/path
			if i := strings.Index(p, "://"); i >= 0 {
				p = p[i+3:]
				if j := strings.IndexByte(p, '/'); j >= 0 {
					p = p[j:]
				} else {
					p = ""
				}
			}
		}
	}
	if p == "" {
		return "/"
	}
	return p
}

// hostBucket returns the bucket named by a virtual-host-style Host header
// (BUCKET.domain, port ignored, suffix matched case-insensitively), or "".
// It mirrors the s3api router so the signed resource names the bucket served.
func hostBucket(r *http.Request, domain string) string {
	if domain == "" {
		return ""
	}
	host := r.Host
	if host == "" && r.URL != nil {
		host = r.URL.Host
	}
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	suffix := "." + domain
	if len(host) > len(suffix) && strings.EqualFold(host[len(host)-len(suffix):], suffix) {
		return host[:len(host)-len(suffix)]
	}
	return ""
}

// canonicalResource builds CanonicalizedResource from the bucket (virtual
// host), the raw path and the signed sub-resources of the query.
//
// With bucketSlash, a path-style path naming only a bucket gets the trailing
// '/' S3 signs; without it the path is taken literally (the form some older
// signers produce, accepted as a fallback).
func canonicalResource(b *strings.Builder, r *http.Request, domain string, params []queryParam, bucketSlash bool) {
	path := requestPath(r)
	if bucket := hostBucket(r, domain); bucket != "" {
		b.WriteByte('/')
		b.WriteString(bucket)
	} else if bucketSlash && len(path) > 1 && strings.IndexByte(path[1:], '/') < 0 {
		// Path-style bucket request "/bucket": S3 signs "/bucket/", like
		// "/" after a virtual-host bucket (botocore relies on it).
		path += "/"
	}
	b.WriteString(path)
	type sub struct {
		key, value string
		hasEq      bool
	}
	var subs []sub
	for _, p := range params {
		k := unescape(p.rawKey)
		if !isSubresource(k) {
			continue
		}
		subs = append(subs, sub{k, unescape(p.rawValue), p.hasEq})
	}
	if len(subs) == 0 {
		return
	}
	sort.SliceStable(subs, func(i, j int) bool { return subs[i].key < subs[j].key })
	for i, s := range subs {
		if i == 0 {
			b.WriteByte('?')
		} else {
			b.WriteByte('&')
		}
		b.WriteString(s.key)
		if s.hasEq {
			b.WriteByte('=')
			b.WriteString(s.value)
		}
	}
}

// canonicalValue unfolds and trims one header value: whitespace runs that
// contain a line break (obsolete line folding) become one space, other inner
// whitespace is kept as sent, and leading/trailing spaces and tabs go.
func canonicalValue(v string) string {
	if strings.ContainsAny(v, "\r\n") {
		var b strings.Builder
		for i := 0; i < len(v); {
			c := v[i]
			if c == ' ' || c == '\t' || c == '\r' || c == '\n' {
				j := i
				fold := false
				for j < len(v) && (v[j] == ' ' || v[j] == '\t' || v[j] == '\r' || v[j] == '\n') {
					fold = fold || v[j] == '\r' || v[j] == '\n'
					j++
				}
				if fold {
					b.WriteByte(' ')
				} else {
					b.WriteString(v[i:j])
				}
				i = j
				continue
			}
			b.WriteByte(c)
			i++
		}
		v = b.String()
	}
	return strings.Trim(v, " \t")
}

// positional returns the trimmed value of a positional header (Content-MD5,
// Content-Type), or for presigned requests without that header the value of
// the lower-case query parameter of that name, where botocore puts it.
func positional(r *http.Request, canonicalName string, params []queryParam, presigned bool) string {
	if vs := r.Header[canonicalName]; len(vs) > 0 {
		return canonicalValue(vs[0])
	}
	if presigned {
		for _, p := range params {
			if strings.EqualFold(unescape(p.rawKey), canonicalName) {
				return canonicalValue(unescape(p.rawValue))
			}
		}
	}
	return ""
}

// amzHeaders collects the x-amz-* headers (and, for presigned requests, the
// x-amz-* query parameters) as lower-case name → values, in arrival order.
func amzHeaders(r *http.Request, params []queryParam, presigned bool) (names []string, values map[string][]string) {
	values = make(map[string][]string)
	add := func(name, v string) {
		if _, ok := values[name]; !ok {
			names = append(names, name)
		}
		values[name] = append(values[name], canonicalValue(v))
	}
	for k, vs := range r.Header {
		if len(k) < 6 || !strings.EqualFold(k[:6], "x-amz-") {
			continue
		}
		lk := strings.ToLower(k)
		for _, v := range vs {
			add(lk, v)
		}
	}
	if presigned {
		for _, p := range params {
			k := unescape(p.rawKey)
			if len(k) < 6 || !strings.EqualFold(k[:6], "x-amz-") {
				continue
			}
			add(strings.ToLower(k), unescape(p.rawValue))
		}
	}
	sort.Strings(names)
	return names, values
}

// StringToSign returns the SigV2 string to sign for r. domain is the base
// domain for virtual-host-style requests ("" if none). expires is the raw
// Expires query value for presigned requests and "" for header auth; it
// replaces the Date line, and it makes x-amz-* query parameters count as
// x-amz-* headers and content-type/content-md5 query parameters stand in for
// absent headers (botocore moves them into presigned URLs that way).
//
// For header auth the Date line is the Date header, or empty when an
// x-amz-date header is sent (which then appears among the x-amz-* headers).
// A path-style request for a bucket itself ("/bucket?acl") is signed as
// "/bucket/?acl", as S3 does (Verify also accepts the literal "/bucket").
func StringToSign(r *http.Request, domain string, expires string) string {
	var rawQuery string
	if r.URL != nil {
		rawQuery = r.URL.RawQuery
	}
	return stringToSign(r, domain, expires, parseQuery(rawQuery, maxQueryParams), true)
}

func stringToSign(r *http.Request, domain, expires string, params []queryParam, bucketSlash bool) string {
	presigned := expires != ""
	var b strings.Builder
	b.Grow(256)
	b.WriteString(r.Method)
	b.WriteByte('\n')
	b.WriteString(positional(r, "Content-Md5", params, presigned))
	b.WriteByte('\n')
	b.WriteString(positional(r, "Content-Type", params, presigned))
	b.WriteByte('\n')
	switch {
	case presigned:
		b.WriteString(expires)
	case len(r.Header["X-Amz-Date"]) > 0:
		// x-amz-date replaces Date: the Date line stays empty.
	case len(r.Header["Date"]) > 0:
		b.WriteString(canonicalValue(r.Header["Date"][0]))
	}
	b.WriteByte('\n')
	names, values := amzHeaders(r, params, presigned)
	for _, n := range names {
		b.WriteString(n)
		b.WriteByte(':')
		b.WriteString(strings.Join(values[n], ","))
		b.WriteByte('\n')
	}
	canonicalResource(&b, r, domain, params, bucketSlash)
	return b.String()
}
