package sigv4

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/postern/postern/proto/s3err"
)

const (
	testAK     = "AKIDEXAMPLE"
	testSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
)

var testNow = time.Date(2026, 11, 25, 17, 0, 0, 0, time.UTC)

func testVerifier() *Verifier {
	return NewVerifier(VerifierConfig{Region: "us-east-1", Services: []string{"s3", "sts"}, MaxSkew: 15 * time.Minute, Lookup: func(_ context.Context, ak, token string) (Secret, error) {
		switch ak {
		case testAK:
			return Secret{Key: testSecret}, nil
		case "EXPIRED":
			return Secret{}, &s3err.Error{Code: "ExpiredToken", Status: 400, Message: "The provided token has expired."}
		}
		return Secret{}, ErrUnknownAccessKey
	}})
}

// newReq builds a server-side style request (Host in r.Host, URL parsed from a
// request target).
func newReq(t testing.TB, method, target string) *http.Request {
	t.Helper()
	u, err := url.ParseRequestURI(target)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Request{Method: method, URL: u, Host: "bucket.s3.example.com", Header: http.Header{}, RequestURI: target}
}

// signHeader signs r for header auth with this package's building blocks.
// (Correctness of those is established by the AWS vectors and the SDK tests.)
func signHeader(r *http.Request, at time.Time, scopeRegion, service string, signed []string) {
	amz := at.UTC().Format(amzDateLayout)
	if r.Header.Get("Date") == "" {
		r.Header.Set("X-Amz-Date", amz)
	}
	payload := r.Header.Get("X-Amz-Content-Sha256")
	if service != "s3" && payload == "" {
		payload = EmptySHA256
	}
	scope := ScopeString(amz[:8], scopeRegion, service)
	sts := StringToSign(at, scope, CanonicalRequest(r, signed, payload))
	sig := Signature(SigningKey(testSecret, amz[:8], scopeRegion, service), sts)
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+testAK+"/"+scope+", SignedHeaders="+strings.Join(signed, ";")+", Signature="+sig)
}

// baseS3 returns a correctly signed s3 header-auth GET.
func baseS3(t testing.TB) *http.Request {
	r := newReq(t, "GET", "/bucket/key?list-type=2")
	r.Header.Set("X-Amz-Content-Sha256", UnsignedPayload)
	signHeader(r, testNow, "us-east-1", "s3", []string{"host", "x-amz-content-sha256", "x-amz-date"})
	return r
}

// presign signs r's query (which must already hold X-Amz-Expires unless
// expires is given) with this package's building blocks.
func presign(t testing.TB, r *http.Request, at time.Time, expires string, extra url.Values) {
	amz := at.UTC().Format(amzDateLayout)
	scope := ScopeString(amz[:8], "us-east-1", "s3")
	q := r.URL.Query()
	q.Set("X-Amz-Algorithm", Algorithm)
	q.Set("X-Amz-Credential", testAK+"/"+scope)
	q.Set("X-Amz-Date", amz)
	q.Set("X-Amz-Expires", expires)
	q.Set("X-Amz-SignedHeaders", "host")
	for k, vs := range extra {
		q[k] = vs
	}
	r.URL.RawQuery = strings.ReplaceAll(q.Encode(), "+", "%20")
	payload := UnsignedPayload
	if h := q.Get("X-Amz-Content-Sha256"); h != "" {
		payload = h
	}
	sts := StringToSign(at, scope, CanonicalRequest(r, []string{"host"}, payload))
	r.URL.RawQuery += "&X-Amz-Signature=" + Signature(SigningKey(testSecret, amz[:8], "us-east-1", "s3"), sts)
}

func TestEncodeURIComponent(t *testing.T) {
	for _, c := range []struct{ in, comp, path string }{
		{"", "", ""},
		{"AZaz09-._~", "AZaz09-._~", "AZaz09-._~"},
		{"a b", "a%20b", "a%20b"},
		{"a+b", "a%2Bb", "a%2Bb"},
		{"a/b", "a%2Fb", "a/b"},
		{"*'()!$&,;=:@?#[]%", "%2A%27%28%29%21%24%26%2C%3B%3D%3A%40%3F%23%5B%5D%25", "%2A%27%28%29%21%24%26%2C%3B%3D%3A%40%3F%23%5B%5D%25"},
		{"日", "%E6%97%A5", "%E6%97%A5"},
		{"\x00\xff", "%00%FF", "%00%FF"},
	} {
		if got := EncodeURIComponent(c.in); got != c.comp {
			t.Errorf("EncodeURIComponent(%q) = %q, want %q", c.in, got, c.comp)
		}
		if got := EncodePath(c.in); got != c.path {
			t.Errorf("EncodePath(%q) = %q, want %q", c.in, got, c.path)
		}
	}
}

func TestCanonicalURI(t *testing.T) {
	for _, c := range []struct{ path, raw, want string }{
		{"", "", "/"},
		{"/", "", "/"},
		{"/bucket/key", "", "/bucket/key"},
		{"/bucket/a//b", "", "/bucket/a//b"},
		{"/bucket/../x", "", "/bucket/../x"},
		{"/bucket/./x/.", "", "/bucket/./x/."},
		{"/bucket/trailing/", "", "/bucket/trailing/"},
		{"/bucket/a+b", "", "/bucket/a%2Bb"},
		{"/bucket/with space", "", "/bucket/with%20space"},
		{"/bucket/日本", "", "/bucket/%E6%97%A5%E6%9C%AC"},
		{"/bucket/a/b", "/bucket/a%2Fb", "/bucket/a%2Fb"},
		{"/bucket/a/b", "/bucket/a%2fb", "/bucket/a%2Fb"},
		{"/bucket/日", "/bucket/%e6%97%a5", "/bucket/%E6%97%A5"},
		{"/bucket/a~b", "/bucket/a%7Eb", "/bucket/a~b"},
		{"/bucket/%41", "/bucket/%2541", "/bucket/%2541"},
	} {
		r := &http.Request{URL: &url.URL{Path: c.path, RawPath: c.raw}}
		if got := CanonicalURI(r); got != c.want {
			t.Errorf("CanonicalURI(%q, %q) = %q, want %q", c.path, c.raw, got, c.want)
		}
	}
	// As net/http parses it from the wire.
	for target, want := range map[string]string{
		"/b/a%2Fb":         "/b/a%2Fb",
		"/b/a/b":           "/b/a/b",
		"/b/a%20b":         "/b/a%20b",
		"/b/a+b":           "/b/a%2Bb",
		"/b/a%2Bb":         "/b/a%2Bb",
		"/b/%E2%82%AC//x/": "/b/%E2%82%AC//x/",
		"/b/..%2F..%2Fx":   "/b/..%2F..%2Fx",
	} {
		r := newReq(t, "GET", target)
		if got := CanonicalURI(r); got != want {
			t.Errorf("wire %q: %q, want %q", target, got, want)
		}
	}
}

func TestCanonicalQuery(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", ""},
		{"b=2&a=1", "a=1&b=2"},
		{"a=2&a=1&a=", "a=&a=1&a=2"},
		{"uploads", "uploads="},
		{"novalue&empty=", "empty=&novalue="},
		{"x=a+b", "x=a%20b"},
		{"x=a%20b", "x=a%20b"},
		{"x=a%2bb", "x=a%2Bb"},
		{"x=a/b", "x=a%2Fb"},
		{"X-Amz-Signature=abc&a=1", "a=1"},
		{"X-Amz-Signatur%65=abc&a=1", "a=1"},
		{"&&a=1&", "a=1"},
		{"k=%zz&j=%4", "j=%254&k=%25zz"},
		{"=v", "=v"},
		{"%E6%97%A5=%e6%97%a5", "%E6%97%A5=%E6%97%A5"},
		{"a=b=c", "a=b%3Dc"},
		{"B=1&a=1&_=1&~=1", "B=1&_=1&a=1&~=1"},
		{"a%20b=1&a=2", "a=2&a%20b=1"},
	} {
		if got := CanonicalQuery(c.in); got != c.want {
			t.Errorf("CanonicalQuery(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestHeaderFolding(t *testing.T) {
	r := newReq(t, "GET", "/")
	r.Header["X-Fold"] = []string{"  a   b  c ", "\tx  y\t"}
	r.Header["lower-case-key"] = []string{"v"} // not canonicalised by the caller
	r.Header.Set("Content-Length", "5")
	got := CanonicalRequest(r, []string{"content-length", "host", "lower-case-key", "x-fold"}, "H")
	want := "GET\n/\n\ncontent-length:5\nhost:bucket.s3.example.com\nlower-case-key:v\nx-fold:a b c,x y\n\ncontent-length;host;lower-case-key;x-fold\nH"
	if got != want {
		t.Fatalf("got %q\nwant %q", got, want)
	}
	// content-length from the request field when the header is absent.
	r.Header.Del("Content-Length")
	r.ContentLength = 42
	if got := CanonicalRequest(r, []string{"content-length"}, "H"); !strings.Contains(got, "content-length:42\n") {
		t.Fatalf("got %q", got)
	}
}

func TestParseAuthorization(t *testing.T) {
	good := "AWS4-HMAC-SHA256 Credential=AK/20150830/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc"
	a, err := ParseAuthorization(good)
	if err != nil {
		t.Fatal(err)
	}
	if a.Credential != (Credential{"AK", "20150830", "us-east-1", "s3", "aws4_request"}) || strings.Join(a.SignedHeaders, "|") != "host|x-amz-date" || a.Signature != "abc" {
		t.Fatalf("%+v", a)
	}
	// Spacing variants clients produce.
	for _, h := range []string{
		"AWS4-HMAC-SHA256 Credential=AK/20150830/us-east-1/s3/aws4_request,SignedHeaders=host;x-amz-date,Signature=abc",
		"AWS4-HMAC-SHA256 Signature=abc, Credential=AK/20150830/us-east-1/s3/aws4_request,   SignedHeaders=host;x-amz-date",
	} {
		if b, err := ParseAuthorization(h); err != nil || b.Signature != "abc" || b.Credential != a.Credential {
			t.Errorf("%q: %+v %v", h, b, err)
		}
	}
	for _, c := range []struct{ h, code string }{
		{"", "InvalidArgument"},
		{"AWS AK:sig", "InvalidArgument"},
		{"AWS4-ECDSA-P256-SHA256 Credential=x", "InvalidArgument"},
		{"AWS4-HMAC-SHA256", "AuthorizationHeaderMalformed"},
		{"AWS4-HMAC-SHA256 Credential=AK/20150830/us-east-1/s3/aws4_request, SignedHeaders=host", "AuthorizationHeaderMalformed"},
		{"AWS4-HMAC-SHA256 Credential=AK/20150830/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=", "AuthorizationHeaderMalformed"},
		{"AWS4-HMAC-SHA256 Credential=AK/20150830/us-east-1/s3, SignedHeaders=host, Signature=a", "AuthorizationHeaderMalformed"},
		{"AWS4-HMAC-SHA256 Credential=AK/20150830/us-east-1/s3/aws4_request/x, SignedHeaders=host, Signature=a", "AuthorizationHeaderMalformed"},
		{"AWS4-HMAC-SHA256 Credential=/20150830/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=a", "AuthorizationHeaderMalformed"},
		{"AWS4-HMAC-SHA256 Credential=AK/20150830/us-east-1/s3/aws4_request, SignedHeaders=host;;x, Signature=a", "AuthorizationHeaderMalformed"},
		{"AWS4-HMAC-SHA256 Credential=AK/20150830/us-east-1/s3/aws4_request, SignedHeaders=ho st, Signature=a", "AuthorizationHeaderMalformed"},
		{"AWS4-HMAC-SHA256 Credential=AK/20150830/us-east-1/s3/aws4_request, Credential=AK/20150830/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=a", "AuthorizationHeaderMalformed"},
		{"AWS4-HMAC-SHA256 Credential=AK/20150830/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=a, Foo=b", "AuthorizationHeaderMalformed"},
		{"AWS4-HMAC-SHA256 " + strings.Repeat("x", MaxAuthorizationLen), "AuthorizationHeaderMalformed"},
		{"AWS4-HMAC-SHA256 Credential=AK/20150830/us-east-1/s3/aws4_request, SignedHeaders=" + strings.Repeat("a;", MaxSignedHeaders) + "b, Signature=a", "AuthorizationHeaderMalformed"},
	} {
		_, err := ParseAuthorization(c.h)
		e := wantCode(t, err, c.code)
		if e.Status != http.StatusBadRequest {
			t.Errorf("%q: status %d", c.h, e.Status)
		}
	}
}

func TestParsePresigned(t *testing.T) {
	base := url.Values{
		"X-Amz-Algorithm":     {Algorithm},
		"X-Amz-Credential":    {"AK/20150830/us-east-1/s3/aws4_request"},
		"X-Amz-Date":          {"20150830T123600Z"},
		"X-Amz-Expires":       {"3600"},
		"X-Amz-SignedHeaders": {"host"},
		"X-Amz-Signature":     {"abc"},
	}
	p, err := ParsePresigned(base)
	if err != nil || p.Expires != time.Hour || p.Credential.AccessKey != "AK" || !p.SignedAt.Equal(time.Date(2015, 8, 30, 12, 36, 0, 0, time.UTC)) {
		t.Fatalf("%+v %v", p, err)
	}
	for _, c := range []struct {
		key, value, msg string // value "" with del means delete
	}{
		{"X-Amz-Algorithm", "-", msgQueryRequires},
		{"X-Amz-Credential", "-", msgQueryRequires},
		{"X-Amz-Date", "-", msgQueryRequires},
		{"X-Amz-Expires", "-", msgQueryRequires},
		{"X-Amz-SignedHeaders", "-", msgQueryRequires},
		{"X-Amz-Signature", "-", msgQueryRequires},
		{"X-Amz-Algorithm", "AWS4-HMAC-SHA1", msgQueryAlgorithm},
		{"X-Amz-Credential", "AK/20150830/us-east-1/s3", msgCredentialParse + msgCredentialFormat},
		{"X-Amz-Date", "2015-08-30T12:36:00Z", msgQueryDate},
		{"X-Amz-Date", "20150230T123600Z", msgQueryDate},
		{"X-Amz-Date", "20150830T246000Z", msgQueryDate},
		{"X-Amz-Expires", "604801", msgExpiresTooLarge},
		{"X-Amz-Expires", "99999999999999999999999", msgExpiresTooLarge},
		{"X-Amz-Expires", "-1", msgExpiresNegative},
		{"X-Amz-Expires", "abc", msgExpiresNumber},
		{"X-Amz-Expires", "", msgExpiresNumber},
		{"X-Amz-Expires", "1e3", msgExpiresNumber},
	} {
		q := url.Values{}
		for k, v := range base {
			q[k] = v
		}
		if c.value == "-" {
			delete(q, c.key)
		} else {
			q.Set(c.key, c.value)
		}
		_, err := ParsePresigned(q)
		e := wantCode(t, err, "AuthorizationQueryParametersError")
		if e.Message != c.msg || e.Status != 400 {
			t.Errorf("%s=%q: %q", c.key, c.value, e.Message)
		}
	}
	for _, ok := range []string{"0", "-0", "1", "604800", "+60"} {
		q := url.Values{}
		for k, v := range base {
			q[k] = v
		}
		q.Set("X-Amz-Expires", ok)
		if _, err := ParsePresigned(q); err != nil {
			t.Errorf("X-Amz-Expires=%s: %v", ok, err)
		}
	}
}

func TestVerifyHeaderOK(t *testing.T) {
	v := testVerifier()
	r := baseS3(t)
	res, err := v.Verify(r, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if res.AccessKey != testAK || res.Region != "us-east-1" || res.Service != "s3" || res.AuthType != AuthHeader ||
		res.PayloadHash != UnsignedPayload || res.Scope() != "20261125/us-east-1/s3/aws4_request" || len(res.Signature) != 64 ||
		len(res.SigningKey) != 32 || !res.Expires.IsZero() {
		t.Fatalf("%+v", res)
	}
	// The returned key is a copy: scribbling on it does not poison the cache.
	res.SigningKey[0] ^= 0xff
	if _, err := v.Verify(r, testNow); err != nil {
		t.Fatal(err)
	}
	// Date header instead of X-Amz-Date.
	r = newReq(t, "PUT", "/bucket/k")
	r.Header.Set("Date", testNow.Format(http.TimeFormat))
	r.Header.Set("X-Amz-Content-Sha256", StreamingPayload)
	signHeader(r, testNow, "us-east-1", "s3", []string{"date", "host", "x-amz-content-sha256"})
	if res, err := v.Verify(r, testNow); err != nil || res.PayloadHash != StreamingPayload || !res.SignedAt.Equal(testNow) {
		t.Fatalf("%+v %v", res, err)
	}
}

// The lookup receives the request's context and its identity comes back in
// the result once the signature checks out.
func TestLookupContextAndIdentity(t *testing.T) {
	type ctxKey struct{}
	var gotCtx any
	v := NewVerifier(VerifierConfig{Region: "us-east-1", Services: []string{"s3"}, Lookup: func(ctx context.Context, ak, token string) (Secret, error) {
		gotCtx = ctx.Value(ctxKey{})
		return Secret{Key: testSecret, Identity: "principal of " + ak}, nil
	}})
	r := baseS3(t)
	r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, "the request's"))
	res, err := v.Verify(r, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if gotCtx != "the request's" || res.Identity != "principal of "+testAK {
		t.Fatalf("lookup context %v, identity %v", gotCtx, res.Identity)
	}
	// A wrapped ErrUnknownAccessKey is InvalidAccessKeyId, with the key.
	v = NewVerifier(VerifierConfig{Region: "us-east-1", Services: []string{"s3"}, Lookup: func(context.Context, string, string) (Secret, error) {
		return Secret{}, fmt.Errorf("directory: %w", ErrUnknownAccessKey)
	}})
	_, err = v.Verify(baseS3(t), testNow)
	if e := wantCode(t, err, "InvalidAccessKeyId"); e.Status != 403 || e.Get("AWSAccessKeyId") != testAK {
		t.Fatalf("%+v", e)
	}
}

func TestVerifyHeaderErrors(t *testing.T) {
	v := testVerifier()
	type tc struct {
		name   string
		mutate func(r *http.Request) *http.Request
		now    time.Time
		code   string
		status int
		msg    string
	}
	resign := func(mut func(r *http.Request), region, service string, signed ...string) func(*http.Request) *http.Request {
		return func(*http.Request) *http.Request {
			r := newReq(t, "GET", "/bucket/key")
			r.Header.Set("X-Amz-Content-Sha256", UnsignedPayload)
			if mut != nil {
				mut(r)
			}
			if signed == nil {
				signed = []string{"host", "x-amz-content-sha256", "x-amz-date"}
			}
			signHeader(r, testNow, region, service, signed)
			return r
		}
	}
	setAuth := func(f func(string) string) func(*http.Request) *http.Request {
		return func(r *http.Request) *http.Request {
			r.Header.Set("Authorization", f(r.Header.Get("Authorization")))
			return r
		}
	}
	for _, c := range []tc{
		{"wrong region", resign(nil, "eu-west-1", "s3"), testNow, "AuthorizationHeaderMalformed", 400,
			"The authorization header is malformed; the region 'eu-west-1' is wrong; expecting 'us-east-1'"},
		{"wrong service", resign(nil, "us-east-1", "ec2"), testNow, "AuthorizationHeaderMalformed", 400,
			"The authorization header is malformed; incorrect service \"ec2\". This endpoint belongs to \"s3\"."},
		{"wrong terminator", setAuth(func(a string) string { return strings.Replace(a, "aws4_request", "aws5_request", 1) }), testNow,
			"AuthorizationHeaderMalformed", 400, "The authorization header is malformed; incorrect terminal \"aws5_request\". This endpoint uses \"aws4_request\"."},
		{"wrong scope date", setAuth(func(a string) string { return strings.Replace(a, "/20261125/", "/20261124/", 1) }), testNow,
			"AuthorizationHeaderMalformed", 400, "The authorization header is malformed; Invalid credential date \"20261124\". Date is not the same as X-Amz-Date: \"20261125\"."},
		{"skew past", nil, testNow.Add(16 * time.Minute), "RequestTimeTooSkewed", 403, msgSkew},
		{"skew future", nil, testNow.Add(-16 * time.Minute), "RequestTimeTooSkewed", 403, msgSkew},
		{"missing sha256", func(r *http.Request) *http.Request { r.Header.Del("X-Amz-Content-Sha256"); return r }, testNow,
			"InvalidRequest", 400, msgMissingSHA256},
		{"bad sha256", func(r *http.Request) *http.Request { r.Header.Set("X-Amz-Content-Sha256", "abc"); return r }, testNow,
			"InvalidArgument", 400, msgBadSHA256},
		{"unknown key", setAuth(func(a string) string { return strings.Replace(a, testAK, "NOPE", 1) }), testNow,
			"InvalidAccessKeyId", 403, msgInvalidAccessKey},
		{"both auths", func(r *http.Request) *http.Request { r.URL.RawQuery = "X-Amz-Algorithm=AWS4-HMAC-SHA256"; return r }, testNow,
			"InvalidArgument", 400, msgOnlyOneAuth},
		{"v2 signature param", func(r *http.Request) *http.Request { r.URL.RawQuery = "Signature=x"; return r }, testNow,
			"InvalidArgument", 400, msgOnlyOneAuth},
		{"sigv2", setAuth(func(string) string { return "AWS AK:c2ln" }), testNow, "InvalidArgument", 400, msgUnsupportedAuth},
		{"three components", setAuth(func(a string) string { return a[:strings.Index(a, ", Signature")] }), testNow,
			"AuthorizationHeaderMalformed", 400, msgHeaderMalformed + msgThreeComponents},
		{"missing date", func(r *http.Request) *http.Request { r.Header.Del("X-Amz-Date"); return r }, testNow, "AccessDenied", 403, msgMissingDate},
		{"bad date", func(r *http.Request) *http.Request { r.Header.Set("X-Amz-Date", "20261125T170000"); return r }, testNow, "AccessDenied", 403, msgMissingDate},
		{"unsigned x-amz header", func(r *http.Request) *http.Request { r.Header.Set("X-Amz-Acl", "public-read"); return r }, testNow,
			"AccessDenied", 403, msgUnsignedHeaders},
		{"host not signed", resign(nil, "us-east-1", "s3", "x-amz-content-sha256", "x-amz-date"), testNow,
			"AuthorizationHeaderMalformed", 400, msgHeaderMalformed + msgHostNotSigned},
		{"short signature", setAuth(func(a string) string { return a[:len(a)-1] }), testNow, "SignatureDoesNotMatch", 403, msgSignatureMismatch},
		{"upper-case signature", setAuth(func(a string) string { return a[:len(a)-64] + strings.ToUpper(a[len(a)-64:]) }), testNow,
			"SignatureDoesNotMatch", 403, msgSignatureMismatch},
		{"no auth", func(r *http.Request) *http.Request { r.Header.Del("Authorization"); return r }, testNow, "AccessDenied", 403, msgAccessDenied},
		{"sts header mismatch", resign(func(r *http.Request) { r.Header.Set("X-Amz-Content-Sha256", EmptySHA256) }, "us-east-1", "sts"), testNow,
			"XAmzContentSHA256Mismatch", 400, msgSHA256Mismatch},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := baseS3(t)
			if c.mutate != nil {
				r = c.mutate(r)
			}
			var err error
			if c.name == "sts header mismatch" {
				_, err = v.VerifyWithPayloadHash(r, c.now, strings.Repeat("0", 64))
			} else {
				_, err = v.Verify(r, c.now)
			}
			e := wantCode(t, err, c.code)
			if e.Status != c.status || e.Message != c.msg {
				t.Fatalf("got %d %q", e.Status, e.Message)
			}
		})
	}
}

func TestVerifyErrorDetails(t *testing.T) {
	v := testVerifier()
	// Skew details.
	_, err := v.Verify(baseS3(t), testNow.Add(time.Hour))
	e := wantCode(t, err, "RequestTimeTooSkewed")
	want := []s3err.KV{{Key: "RequestTime", Value: "20261125T170000Z"}, {Key: "ServerTime", Value: "2026-11-25T18:00:00Z"}, {Key: "MaxAllowedSkewMilliseconds", Value: "900000"}}
	if fmt.Sprint(e.Extra) != fmt.Sprint(want) {
		t.Fatalf("%v", e.Extra)
	}
	// Mismatch details, in AWS's order.
	r := baseS3(t)
	r.Method = "DELETE"
	_, err = v.Verify(r, testNow)
	e = wantCode(t, err, "SignatureDoesNotMatch")
	var keys []string
	for _, kv := range e.Extra {
		keys = append(keys, kv.Key)
	}
	if strings.Join(keys, ",") != "AWSAccessKeyId,StringToSign,SignatureProvided,StringToSignBytes,CanonicalRequest,CanonicalRequestBytes" {
		t.Fatal(keys)
	}
	cr := e.Get("CanonicalRequest")
	if !strings.HasPrefix(cr, "DELETE\n/bucket/key\nlist-type=2\nhost:bucket.s3.example.com\n") || !strings.HasSuffix(cr, "\nUNSIGNED-PAYLOAD") {
		t.Fatalf("%q", cr)
	}
	if !strings.HasPrefix(e.Get("StringToSignBytes"), "41 57 53 34 2d") || !strings.HasPrefix(e.Get("CanonicalRequestBytes"), "44 45 4c 45 54 45 0a") {
		t.Fatalf("%q", e.Get("StringToSignBytes"))
	}
	if e.Get("AWSAccessKeyId") != testAK || e.Get("SignatureProvided") == "" || e.Error() != "SignatureDoesNotMatch: "+msgSignatureMismatch {
		t.Fatal(e)
	}
	// Lookup errors pass through untouched.
	r = baseS3(t)
	r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), testAK, "EXPIRED", 1))
	_, err = v.Verify(r, testNow)
	wantCode(t, err, "ExpiredToken")
	plain := errors.New("db down")
	v2 := NewVerifier(VerifierConfig{Region: "us-east-1", Services: []string{"s3"}, Lookup: func(context.Context, string, string) (Secret, error) { return Secret{}, plain }})
	if _, err := v2.Verify(baseS3(t), testNow); err != plain {
		t.Fatalf("%v", err)
	}
}

func TestVerifyPresigned(t *testing.T) {
	v := testVerifier()
	mk := func(target, expires string, extra url.Values) *http.Request {
		r := newReq(t, "GET", target)
		presign(t, r, testNow, expires, extra)
		return r
	}
	for _, target := range []string{"/bucket/key", "/bucket/with%20space", "/bucket/a%2Fb", "/bucket/a//b", "/bucket/../x", "/bucket/dir/", "/bucket/a+b",
		"/bucket/%E6%97%A5?empty=&rep=2&rep=1&flag", "/bucket/k?response-content-disposition=attachment%3B%20filename%3D%22a%20b.txt%22"} {
		r := mk(target, "3600", nil)
		res, err := v.Verify(r, testNow.Add(time.Hour))
		if err != nil {
			t.Fatalf("%s: %v %v", target, err, extraOf(err))
		}
		if res.AuthType != AuthQuery || res.PayloadHash != UnsignedPayload || !res.Expires.Equal(testNow.Add(time.Hour)) {
			t.Fatalf("%+v", res)
		}
	}
	// Expired, with AWS's details.
	_, err := v.Verify(mk("/bucket/key", "3600", nil), testNow.Add(time.Hour+time.Second))
	e := wantCode(t, err, "AccessDenied")
	if e.Message != msgExpired || e.Status != 403 || fmt.Sprint(e.Extra) != fmt.Sprint([]s3err.KV{{Key: "X-Amz-Expires", Value: "3600"}, {Key: "Expires", Value: "2026-11-25T18:00:00Z"}, {Key: "ServerTime", Value: "2026-11-25T18:00:01Z"}}) {
		t.Fatalf("%+v", e)
	}
	// Not yet valid beyond the skew; fine within it.
	_, err = v.Verify(mk("/bucket/key", "3600", nil), testNow.Add(-16*time.Minute))
	if e := wantCode(t, err, "AccessDenied"); e.Message != msgNotYetValid {
		t.Fatal(e)
	}
	if _, err := v.Verify(mk("/bucket/key", "3600", nil), testNow.Add(-14*time.Minute)); err != nil {
		t.Fatal(err)
	}
	// Expires bounds.
	if _, err := v.Verify(mk("/bucket/key", "604800", nil), testNow.Add(604800*time.Second)); err != nil {
		t.Fatal(err)
	}
	for exp, msg := range map[string]string{"604801": msgExpiresTooLarge, "-5": msgExpiresNegative, "soon": msgExpiresNumber} {
		_, err := v.Verify(mk("/bucket/key", exp, nil), testNow)
		if e := wantCode(t, err, "AuthorizationQueryParametersError"); e.Message != msg {
			t.Fatalf("%s: %q", exp, e.Message)
		}
	}
	// Signed payload hash in the query.
	h := strings.Repeat("ab", 32)
	res, err := v.Verify(mk("/bucket/key", "60", url.Values{"X-Amz-Content-Sha256": {h}}), testNow)
	if err != nil || res.PayloadHash != h {
		t.Fatalf("%+v %v", res, err)
	}
	// Session token in the query is passed through.
	res, err = v.Verify(mk("/bucket/key", "60", url.Values{"X-Amz-Security-Token": {"tok/+="}}), testNow)
	if err != nil || res.SessionToken != "tok/+=" {
		t.Fatalf("%+v %v", res, err)
	}
	// Tampering.
	r := mk("/bucket/key?x=1", "60", nil)
	r.URL.RawQuery = strings.Replace(r.URL.RawQuery, "x=1", "x=2", 1)
	_, err = v.Verify(r, testNow)
	wantCode(t, err, "SignatureDoesNotMatch")
	// Unsigned x-amz-* header on a presigned URL.
	r = mk("/bucket/key", "60", nil)
	r.Header.Set("X-Amz-Acl", "public-read")
	_, err = v.Verify(r, testNow)
	if e := wantCode(t, err, "AccessDenied"); e.Get("HeadersNotSigned") != "x-amz-acl" {
		t.Fatal(e)
	}
	// Missing parameters, wrong region.
	r = newReq(t, "GET", "/bucket/key?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=00")
	_, err = v.Verify(r, testNow)
	if e := wantCode(t, err, "AuthorizationQueryParametersError"); e.Message != msgQueryRequires {
		t.Fatal(e)
	}
	r = mk("/bucket/key", "60", nil)
	r.URL.RawQuery = strings.Replace(r.URL.RawQuery, "us-east-1", "us-west-2", 1)
	_, err = v.Verify(r, testNow)
	if e := wantCode(t, err, "AuthorizationQueryParametersError"); e.Message != "Error parsing the X-Amz-Credential parameter; the region 'us-west-2' is wrong; expecting 'us-east-1'" {
		t.Fatal(e.Message)
	}
}

func TestIsSigV4(t *testing.T) {
	if !IsSigV4(baseS3(t)) {
		t.Fatal("header")
	}
	r := newReq(t, "GET", "/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=x")
	if !IsSigV4(r) {
		t.Fatal("query")
	}
	if IsSigV4(newReq(t, "GET", "/b/k?x=1")) {
		t.Fatal("anonymous")
	}
}

func TestSigningKeyCache(t *testing.T) {
	v := testVerifier()
	for i := 0; i < signingKeyCacheSize+100; i++ {
		k := v.signingKey("AK", "secret", strconv.Itoa(20000000+i), "us-east-1", "s3")
		if len(k) != 32 {
			t.Fatal(len(k))
		}
	}
	if n := len(v.keys); n > signingKeyCacheSize {
		t.Fatalf("cache holds %d", n)
	}
	// A rotated secret never hits the old entry.
	a := v.signingKey("AK", "one", "20261125", "us-east-1", "s3")
	b := v.signingKey("AK", "two", "20261125", "us-east-1", "s3")
	if string(a) == string(b) {
		t.Fatal("same key for different secrets")
	}
}

// TestConcurrentVerify exercises the cache and buffer pool from many
// goroutines (meaningful under -race).
func TestConcurrentVerify(t *testing.T) {
	v := testVerifier()
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				r := newReq(t, "GET", "/bucket/k"+strconv.Itoa(i%7))
				r.Header.Set("X-Amz-Content-Sha256", UnsignedPayload)
				at := testNow.Add(time.Duration(i%3) * 24 * time.Hour)
				signHeader(r, at, "us-east-1", "s3", []string{"host", "x-amz-content-sha256", "x-amz-date"})
				if _, err := v.Verify(r, at); err != nil {
					t.Error(err)
					return
				}
			}
		}(g)
	}
	wg.Wait()
}

func BenchmarkVerifyHeader(b *testing.B) {
	v := testVerifier()
	r := newReq(b, "PUT", "/bucket/photos/2026/11/25/IMG_0001.jpg")
	r.Header.Set("X-Amz-Content-Sha256", strings.Repeat("ab", 32))
	r.Header.Set("Content-Type", "image/jpeg")
	r.Header.Set("Content-Length", "1048576")
	r.Header.Set("User-Agent", "aws-sdk-go-v2/1.48.0 os/linux lang/go#1.26 md/GOOS#linux")
	signHeader(r, testNow, "us-east-1", "s3", []string{"content-length", "content-type", "host", "x-amz-content-sha256", "x-amz-date"})
	if _, err := v.Verify(r, testNow); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := v.Verify(r, testNow); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyPresigned(b *testing.B) {
	v := testVerifier()
	r := newReq(b, "GET", "/bucket/photos/2026/11/25/IMG_0001.jpg")
	presign(b, r, testNow, "3600", nil)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := v.Verify(r, testNow); err != nil {
			b.Fatal(err)
		}
	}
}
