package cors

import (
	"net/http"
	"reflect"
	"testing"
)

const vary = "Origin, Access-Control-Request-Headers, Access-Control-Request-Method"

func mustParse(t *testing.T, d string) *Config {
	t.Helper()
	c, err := Parse([]byte(d))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return c
}

// hdr builds an http.Header from name/value pairs, one value each.
func hdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i < len(kv); i += 2 {
		h[kv[i]] = []string{kv[i+1]}
	}
	return h
}

func TestPreflight(t *testing.T) {
	// The rules of the user guide's first example plus a few of our own.
	multi := doc(
		`<AllowedOrigin>http://www.example1.com</AllowedOrigin><AllowedMethod>PUT</AllowedMethod>`+
			`<AllowedMethod>POST</AllowedMethod><AllowedMethod>DELETE</AllowedMethod><AllowedHeader>*</AllowedHeader>`,
		`<AllowedOrigin>http://www.example2.com</AllowedOrigin><AllowedMethod>PUT</AllowedMethod>`+
			`<AllowedMethod>POST</AllowedMethod><AllowedMethod>DELETE</AllowedMethod><AllowedHeader>*</AllowedHeader>`,
		`<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod>`,
	)
	wildOrigins := doc(
		`<AllowedOrigin>*suffix</AllowedOrigin><AllowedOrigin>start*end</AllowedOrigin><AllowedOrigin>prefix*</AllowedOrigin>`+
			`<AllowedOrigin>https://*.example.com</AllowedOrigin><AllowedMethod>GET</AllowedMethod>`,
		`<AllowedOrigin>*.put</AllowedOrigin><AllowedMethod>PUT</AllowedMethod>`,
	)
	headers := doc(
		`<AllowedOrigin>https://app.example.com</AllowedOrigin><AllowedMethod>PUT</AllowedMethod>`+
			`<AllowedHeader>x-amz-*</AllowedHeader><AllowedHeader>Content-Type</AllowedHeader>`+
			`<AllowedHeader>X-AMZ-server-SIDE-encryption</AllowedHeader>`,
		`<AllowedOrigin>https://app.example.com</AllowedOrigin><AllowedMethod>PUT</AllowedMethod>`+
			`<AllowedHeader>*</AllowedHeader><MaxAgeSeconds>7</MaxAgeSeconds>`,
	)
	full := doc(
		`<AllowedOrigin>https://localhost:4200</AllowedOrigin><AllowedMethod>GET</AllowedMethod><AllowedMethod>PUT</AllowedMethod>` +
			`<AllowedHeader>*</AllowedHeader><MaxAgeSeconds>3000</MaxAgeSeconds>` +
			`<ExposeHeader>x-amz-request-id</ExposeHeader><ExposeHeader>ETag</ExposeHeader>`,
	)
	noHeaders := doc(`<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><ExposeHeader>x-amz-meta-header1</ExposeHeader>`)

	tests := []struct {
		name    string
		config  string
		origin  string
		method  string
		headers []string
		want    http.Header // nil: refused
	}{
		{
			name: "specific origin echoed with credentials", config: multi,
			origin: "http://www.example1.com", method: "PUT",
			want: hdr(hAllowOrigin, "http://www.example1.com", hAllowCredentials, "true",
				hAllowMethods, "PUT, POST, DELETE", hVary, vary),
		},
		{
			name: "second rule", config: multi,
			origin: "http://www.example2.com", method: "DELETE", headers: []string{"X-Amz-Date"},
			want: hdr(hAllowOrigin, "http://www.example2.com", hAllowCredentials, "true",
				hAllowMethods, "PUT, POST, DELETE", hAllowHeaders, "x-amz-date", hVary, vary),
		},
		{
			name: "star rule answers star without credentials", config: multi,
			origin: "http://www.example1.com", method: "GET",
			want: hdr(hAllowOrigin, "*", hAllowMethods, "GET", hVary, vary),
		},
		{
			name: "method mismatch on every rule", config: multi,
			origin: "http://www.example3.com", method: "PUT",
		},
		{
			name: "method is case-sensitive", config: multi,
			origin: "http://www.example1.com", method: "put",
		},
		{
			name: "rule without AllowedHeader refuses requested headers", config: multi,
			origin: "http://other", method: "GET", headers: []string{"x-amz-date"},
		},
		{
			name: "empty header list elements are ignored", config: multi,
			origin: "http://other", method: "GET", headers: []string{"", " , "},
			want: hdr(hAllowOrigin, "*", hAllowMethods, "GET", hVary, vary),
		},
		{
			name: "scheme must match", config: multi,
			origin: "https://www.example1.com", method: "PUT",
		},
		{
			name: "port must match", config: multi,
			origin: "http://www.example1.com:80", method: "PUT",
		},
		{
			name: "origin is case-sensitive", config: multi,
			origin: "http://WWW.example1.com", method: "PUT",
		},
		{name: "empty origin", config: multi, origin: "", method: "GET"},
		{name: "empty method", config: multi, origin: "http://www.example1.com", method: ""},
		{
			name: "wildcard suffix", config: wildOrigins, origin: "foo.suffix", method: "GET",
			want: hdr(hAllowOrigin, "foo.suffix", hAllowCredentials, "true", hAllowMethods, "GET", hVary, vary),
		},
		{
			name: "wildcard matches empty", config: wildOrigins, origin: "startend", method: "GET",
			want: hdr(hAllowOrigin, "startend", hAllowCredentials, "true", hAllowMethods, "GET", hVary, vary),
		},
		{
			name: "wildcard in the middle", config: wildOrigins, origin: "start12end", method: "GET",
			want: hdr(hAllowOrigin, "start12end", hAllowCredentials, "true", hAllowMethods, "GET", hVary, vary),
		},
		{
			name: "wildcard prefix", config: wildOrigins, origin: "prefix.suffix", method: "GET",
			want: hdr(hAllowOrigin, "prefix.suffix", hAllowCredentials, "true", hAllowMethods, "GET", hVary, vary),
		},
		{
			name: "subdomain wildcard", config: wildOrigins, origin: "https://a.b.example.com", method: "GET",
			want: hdr(hAllowOrigin, "https://a.b.example.com", hAllowCredentials, "true", hAllowMethods, "GET", hVary, vary),
		},
		{name: "subdomain wildcard needs the dot", config: wildOrigins, origin: "https://example.com", method: "GET"},
		{name: "anchored at the end", config: wildOrigins, origin: "foo.suffix.get", method: "GET"},
		{name: "anchored at the start", config: wildOrigins, origin: "0start12end", method: "GET"},
		{name: "anchored prefix", config: wildOrigins, origin: "bla.prefix", method: "GET"},
		{name: "origin matches a rule of another method", config: wildOrigins, origin: "foo.put", method: "GET"},
		{
			name: "later rule for the other method", config: wildOrigins, origin: "foo.put", method: "PUT",
			want: hdr(hAllowOrigin, "foo.put", hAllowCredentials, "true", hAllowMethods, "PUT", hVary, vary),
		},
		{
			name: "header wildcard and case-insensitive match, lower-cased echo in request order", config: headers,
			origin: "https://app.example.com", method: "PUT",
			headers: []string{"X-Amz-Date,content-type", " x-AMZ-server-side-ENCRYPTION "},
			want: hdr(hAllowOrigin, "https://app.example.com", hAllowCredentials, "true", hAllowMethods, "PUT",
				hAllowHeaders, "x-amz-date, content-type, x-amz-server-side-encryption", hVary, vary),
		},
		{
			name: "one unlisted header falls through to the next rule", config: headers,
			origin: "https://app.example.com", method: "PUT", headers: []string{"x-amz-date, authorization"},
			want: hdr(hAllowOrigin, "https://app.example.com", hAllowCredentials, "true", hAllowMethods, "PUT",
				hAllowHeaders, "x-amz-date, authorization", hMaxAge, "7", hVary, vary),
		},
		{
			name: "header wildcard needs its prefix", config: headers,
			origin: "https://app.example.com", method: "PUT", headers: []string{"x-amz"},
			want: hdr(hAllowOrigin, "https://app.example.com", hAllowCredentials, "true", hAllowMethods, "PUT",
				hAllowHeaders, "x-amz", hMaxAge, "7", hVary, vary),
		},
		{
			name: "MaxAge and ExposeHeaders emitted", config: full,
			origin: "https://localhost:4200", method: "PUT",
			want: hdr(hAllowOrigin, "https://localhost:4200", hAllowCredentials, "true", hAllowMethods, "GET, PUT",
				hMaxAge, "3000", hExposeHeaders, "x-amz-request-id, ETag", hVary, vary),
		},
		{name: "other scheme refused", config: full, origin: "http://localhost:4200", method: "PUT"},
		{
			name: "expose headers do not allow request headers", config: noHeaders,
			origin: "http://x", method: "GET", headers: []string{"x-amz-meta-header2"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustParse(t, tt.config)
			got, ok := c.Preflight(tt.origin, tt.method, tt.headers)
			if ok != (tt.want != nil) {
				t.Fatalf("ok = %v, headers %v", ok, got)
			}
			if !ok && got != nil {
				t.Errorf("refused preflight returned headers %v", got)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("headers =\n%v\nwant\n%v", got, tt.want)
			}
		})
	}
}

func TestActual(t *testing.T) {
	cfg := doc(
		`<AllowedOrigin>https://app.example.com</AllowedOrigin><AllowedMethod>PUT</AllowedMethod>`+
			`<AllowedHeader>x-amz-*</AllowedHeader><MaxAgeSeconds>600</MaxAgeSeconds><ExposeHeader>ETag</ExposeHeader>`,
		`<AllowedOrigin>https://*.example.com</AllowedOrigin><AllowedMethod>GET</AllowedMethod><AllowedMethod>HEAD</AllowedMethod>`,
		`<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod>`,
	)
	tests := []struct {
		name           string
		origin, method string
		want           http.Header
	}{
		{
			name:   "first rule, Max-Age and Expose-Headers, no Allow-Headers",
			origin: "https://app.example.com", method: "PUT",
			want: hdr(hAllowOrigin, "https://app.example.com", hAllowCredentials, "true", hAllowMethods, "PUT",
				hMaxAge, "600", hExposeHeaders, "ETag", hVary, vary),
		},
		{
			name: "method decides between rules", origin: "https://app.example.com", method: "GET",
			want: hdr(hAllowOrigin, "https://app.example.com", hAllowCredentials, "true", hAllowMethods, "GET, HEAD", hVary, vary),
		},
		{
			name: "wildcard rule", origin: "https://elsewhere.org", method: "GET",
			want: hdr(hAllowOrigin, "*", hAllowMethods, "GET", hVary, vary),
		},
		{name: "no rule for the method", origin: "https://elsewhere.org", method: "DELETE"},
		{name: "no origin", origin: "", method: "GET"},
		{name: "no method", origin: "https://app.example.com", method: ""},
	}
	c := mustParse(t, cfg)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := c.Actual(tt.origin, tt.method)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Actual =\n%v\nwant\n%v", got, tt.want)
			}
		})
	}
}

// TestActualVersusPreflight: a rule an actual request matches is refused to a
// preflight that asks for headers the rule does not allow.
func TestActualVersusPreflight(t *testing.T) {
	c := mustParse(t, doc(`<AllowedOrigin>https://a.example</AllowedOrigin><AllowedMethod>GET</AllowedMethod>`))
	if h, ok := c.Preflight("https://a.example", "GET", []string{"x-amz-request-payer"}); ok {
		t.Fatalf("preflight with an unlisted header allowed: %v", h)
	}
	h := c.Actual("https://a.example", "GET")
	if h.Get(hAllowOrigin) != "https://a.example" || h.Get(hAllowHeaders) != "" {
		t.Fatalf("Actual = %v", h)
	}
	p, ok := c.Preflight("https://a.example", "GET", nil)
	if !ok || !reflect.DeepEqual(p, h) {
		t.Fatalf("preflight without headers = %v, %v; want the actual headers %v", p, ok, h)
	}
}

func TestNilAndHandBuiltConfig(t *testing.T) {
	var c *Config
	if h, ok := c.Preflight("https://a", "GET", nil); ok || h != nil {
		t.Errorf("nil config allowed a preflight")
	}
	if h := c.Actual("https://a", "GET"); h != nil {
		t.Errorf("nil config answered %v", h)
	}
	// A hand-built config with two wildcards is still matched sensibly:
	// the text after the first "*" is a literal suffix.
	hb := &Config{Rules: []Rule{{AllowedOrigins: []string{"a*b*"}, AllowedMethods: []string{"GET"}}}}
	if hb.Actual("axxb*", "GET") == nil || hb.Actual("axxb", "GET") != nil {
		t.Errorf("hand-built double wildcard mismatched")
	}
}

func TestWildcardMatch(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"*", "", true},
		{"*", "anything/at.all", true},
		{"", "", true},
		{"", "x", false},
		{"abc", "abc", true},
		{"abc", "abcd", false},
		{"a*", "a", true},
		{"*a", "a", true},
		{"a*a", "a", false}, // prefix and suffix may not overlap
		{"a*a", "aa", true},
		{"ab*ba", "aba", false},
		{"https://*.example.com", "https://x.example.com", true},
		{"https://*.example.com", "https://x.example.com.evil", false},
	}
	for _, tt := range tests {
		if got := wildcardMatch(tt.pattern, tt.s); got != tt.want {
			t.Errorf("wildcardMatch(%q, %q) = %v", tt.pattern, tt.s, got)
		}
	}
}
