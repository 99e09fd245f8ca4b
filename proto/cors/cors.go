// Package cors implements S3 bucket CORS configurations: parsing and
// validating the CORSConfiguration document of PutBucketCors, rendering it
// for GetBucketCors, and evaluating browser requests against it.
//
// The package is pure: no I/O and no package-level mutable state. Preflight,
// Actual and Marshal only read a Config, so one may be shared between
// goroutines as long as nobody modifies it.
//
// Behaviour follows the AWS documentation (S3 API reference: PutBucketCors,
// CORSRule, "Appendix: OPTIONS object"; S3 user guide: "Using cross-origin
// resource sharing (CORS)", "CORS configuration", "Troubleshooting CORS") and,
// where those pages are silent or disagree with what S3 answers on the wire,
// the recorded behaviour of S3 as collected by public S3 compatibility test
// suites. Each such choice is noted where it is made.
package cors

import (
	"net/http"
	"strconv"
	"strings"
)

// Namespace is the XML namespace of S3 documents.
const Namespace = "http://s3.amazonaws.com/doc/2006-03-01/"

// Limits from the PutBucketCors reference and the user guide.
const (
	// MaxDocumentSize: "The document is limited to 64 KB in size."
	MaxDocumentSize = 64 << 10
	// MaxRules: "You can add up to 100 rules to the configuration."
	MaxRules = 100
	// MaxIDLength: CORSRule.ID "cannot be longer than 255 characters."
	MaxIDLength = 255
)

// DeniedMessage is the message of the 403 AccessForbidden S3 sends when no
// rule allows a preflight. The misspelling "evalution" is S3's own and is kept
// so clients comparing messages see the same text.
const DeniedMessage = "CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec."

// Rule is one CORSRule. Slices keep the order of the document, and values
// are kept exactly as sent (S3 gives them back unnormalized on GetBucketCors).
type Rule struct {
	ID             string
	AllowedOrigins []string
	AllowedMethods []string
	AllowedHeaders []string
	ExposeHeaders  []string
	MaxAgeSeconds  *int
}

// Config is a bucket's CORS configuration: its rules in document order.
type Config struct {
	Rules []Rule
}

// Response header names, canonical as net/http writes them.
const (
	hAllowOrigin      = "Access-Control-Allow-Origin"
	hAllowMethods     = "Access-Control-Allow-Methods"
	hAllowHeaders     = "Access-Control-Allow-Headers"
	hAllowCredentials = "Access-Control-Allow-Credentials"
	hMaxAge           = "Access-Control-Max-Age"
	hExposeHeaders    = "Access-Control-Expose-Headers"
	hVary             = "Vary"
)

// varyValue is the Vary header S3 sends with every CORS answer, preflight or
// actual, in this order and as one field value.
const varyValue = "Origin, Access-Control-Request-Headers, Access-Control-Request-Method"

// Preflight evaluates an OPTIONS preflight request. origin is the Origin
// header, method the Access-Control-Request-Method header and requestHeaders
// the Access-Control-Request-Headers field values (each may itself be a
// comma-separated list, as http.Header.Values returns them; empty elements
// and surrounding whitespace are ignored, as RFC 9110 lists allow).
//
// As the user guide's "How does Amazon S3 evaluate the CORS configuration"
// describes, the first rule wins whose AllowedOrigin matches origin, whose
// AllowedMethod contains method, and for which every requested header matches
// one of its AllowedHeader entries. A rule without AllowedHeader allows no
// requested header.
//
// On success the headers to answer with are returned:
//   - Access-Control-Allow-Origin: the origin, or "*" when the AllowedOrigin
//     that matched is exactly "*" (S3 answers "*" then, and the Fetch standard
//     forbids pairing "*" with credentials);
//   - Access-Control-Allow-Credentials: "true" unless the origin answered is "*";
//   - Access-Control-Allow-Methods: all of the rule's methods joined by ", "
//     (the OPTIONS page says "the method sent", but S3 answers with the rule's
//     list);
//   - Access-Control-Allow-Headers: the requested names, lower-cased, in the
//     order requested, joined by ", "; absent when none was requested (S3
//     answers lower-case names, and browsers send them lower-case anyway);
//   - Access-Control-Max-Age and Access-Control-Expose-Headers when the rule
//     sets them;
//   - Vary: Origin, Access-Control-Request-Headers, Access-Control-Request-Method.
//
// ok is false when no rule matches, or when origin or method is empty; the
// caller then answers 403 with DeniedMessage (S3's code on the wire is
// "AccessForbidden") and sends none
// of the Access-Control headers (an OPTIONS without Origin or
// Access-Control-Request-Method is a 400 on S3, which the caller should check
// before calling).
func (c *Config) Preflight(origin, method string, requestHeaders []string) (h http.Header, ok bool) {
	if c == nil || origin == "" || method == "" {
		return nil, false
	}
	requested := splitHeaderList(requestHeaders)
	for i := range c.Rules {
		r := &c.Rules[i]
		star, matched := r.matchOrigin(origin)
		if !matched || !r.allowsMethod(method) || !r.allowsHeaders(requested) {
			continue
		}
		h := r.headers(origin, star)
		if len(requested) > 0 {
			h[hAllowHeaders] = []string{strings.Join(requested, ", ")}
		}
		return h, true
	}
	return nil, false
}

// Actual evaluates a non-preflight request that carries an Origin header and
// returns the CORS headers to add to its response, or nil when no rule
// applies (S3 then serves the request normally, without CORS headers and
// without Vary; it never refuses an actual request over CORS).
//
// The first rule matching origin and method wins; request headers are not
// checked (S3 does not check them on actual requests). The headers are those
// of Preflight except Access-Control-Allow-Headers. method is the request's
// method; note that S3 evaluates a request that also carries an
// Access-Control-Request-Method header with that header's value instead,
// which is for the caller to pass.
func (c *Config) Actual(origin, method string) http.Header {
	if c == nil || origin == "" || method == "" {
		return nil
	}
	for i := range c.Rules {
		r := &c.Rules[i]
		if star, ok := r.matchOrigin(origin); ok && r.allowsMethod(method) {
			return r.headers(origin, star)
		}
	}
	return nil
}

// headers builds the response headers shared by preflight and actual
// requests for a matched rule.
func (r *Rule) headers(origin string, star bool) http.Header {
	h := make(http.Header, 7)
	if star {
		h[hAllowOrigin] = []string{"*"}
	} else {
		h[hAllowOrigin] = []string{origin}
		h[hAllowCredentials] = []string{"true"}
	}
	h[hAllowMethods] = []string{strings.Join(r.AllowedMethods, ", ")}
	if r.MaxAgeSeconds != nil {
		h[hMaxAge] = []string{strconv.Itoa(*r.MaxAgeSeconds)}
	}
	if len(r.ExposeHeaders) > 0 {
		h[hExposeHeaders] = []string{strings.Join(r.ExposeHeaders, ", ")}
	}
	h[hVary] = []string{varyValue}
	return h
}

// matchOrigin reports whether origin matches one of the rule's
// AllowedOrigins, trying them in order; star reports that the entry that
// matched is exactly "*".
//
// Matching is case-sensitive: browsers serialize origins in lower case, AWS
// documents that scheme, host and port must all match ("http://example.com"
// does not match "http://example.com:80"), and no AWS page says matching
// ignores case.
func (r *Rule) matchOrigin(origin string) (star, ok bool) {
	for _, p := range r.AllowedOrigins {
		if wildcardMatch(p, origin) {
			return p == "*", true
		}
	}
	return false, false
}

// allowsMethod reports whether method is one of the rule's AllowedMethods.
// The comparison is exact: S3 only accepts the five upper-case names in a
// configuration, and browsers upper-case standard method names.
func (r *Rule) allowsMethod(method string) bool {
	for _, m := range r.AllowedMethods {
		if m == method {
			return true
		}
	}
	return false
}

// allowsHeaders reports whether every requested (lower-cased) header name
// matches one of the rule's AllowedHeaders, case-insensitively.
func (r *Rule) allowsHeaders(requested []string) bool {
	for _, name := range requested {
		found := false
		for _, p := range r.AllowedHeaders {
			if wildcardMatch(strings.ToLower(p), name) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// wildcardMatch matches s against pattern, in which one "*" stands for any
// run of characters, including none and including "." and "/" (S3 matches
// "start*end" against "startend" and "*" against any origin). Patterns are
// anchored at both ends. Configurations never hold more than one "*" after
// Parse; should a hand-built one, the text after the first "*" is the suffix,
// so a second "*" only matches itself.
func wildcardMatch(pattern, s string) bool {
	prefix, suffix, wild := strings.Cut(pattern, "*")
	if !wild {
		return pattern == s
	}
	return len(s) >= len(prefix)+len(suffix) &&
		strings.HasPrefix(s, prefix) && strings.HasSuffix(s, suffix)
}

// splitHeaderList splits Access-Control-Request-Headers values into
// lower-cased names, dropping empty elements and optional whitespace.
func splitHeaderList(values []string) []string {
	var out []string
	for _, v := range values {
		for name := range strings.SplitSeq(v, ",") {
			name = strings.TrimSpace(name)
			if name != "" {
				out = append(out, strings.ToLower(name))
			}
		}
	}
	return out
}
