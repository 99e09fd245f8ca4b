package sigv4

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/postern/postern/proto/s3err"
)

// The fuzz targets feed garbage to the parsers and to Verify. Besides "never
// panic", they check that every failure is an *s3err.Error with a status, and that
// nothing unsigned ever verifies.

func FuzzParseAuthorization(f *testing.F) {
	f.Add("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31")
	f.Add("AWS4-HMAC-SHA256 Credential=a/b/c/d/e,SignedHeaders=a,Signature=b")
	f.Add("AWS4-HMAC-SHA256 ,,, Credential=/,SignedHeaders=;, Signature")
	f.Add("AWS AKID:sig")
	f.Add("")
	f.Fuzz(func(t *testing.T, h string) {
		a, err := ParseAuthorization(h)
		if err != nil {
			var e *s3err.Error
			if !errors.As(err, &e) || e.Status == 0 || e.Code == "" {
				t.Fatalf("bad error %#v", err)
			}
			return
		}
		c := a.Credential
		if c.AccessKey == "" || c.Date == "" || c.Region == "" || c.Service == "" || c.Terminator == "" ||
			len(a.SignedHeaders) == 0 || a.Signature == "" || strings.Join(a.SignedHeaders, ";") != a.SignedHeadersRaw {
			t.Fatalf("accepted inconsistent %+v", a)
		}
	})
}

func FuzzParsePresigned(f *testing.F) {
	f.Add("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=host&X-Amz-Expires=3600&X-Amz-Signature=e93c787ed7f371d5c6b165c1b38ede9550f4dce4144713e844b25b7192d3865d")
	f.Add("X-Amz-Expires=-0&X-Amz-Date=99999999T999999Z")
	f.Add("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=%2F%2F%2F%2F&X-Amz-Date=&X-Amz-SignedHeaders=&X-Amz-Expires=1&X-Amz-Signature=")
	f.Fuzz(func(t *testing.T, raw string) {
		q, _ := url.ParseQuery(raw) // partial results on error are fine
		p, err := ParsePresigned(q)
		if err != nil {
			var e *s3err.Error
			if !errors.As(err, &e) || e.Status != http.StatusBadRequest {
				t.Fatalf("bad error %#v", err)
			}
			return
		}
		if p.Expires <= 0 || p.Expires > MaxExpires*time.Second || p.SignedAt.IsZero() || len(p.SignedHeaders) == 0 {
			t.Fatalf("accepted inconsistent %+v", p)
		}
		_ = CanonicalQuery(raw)
	})
}

// FuzzVerify builds a request from fuzzed parts. Seeds include correctly
// signed requests (header and query) so the fuzzer explores around valid ones.
func FuzzVerify(f *testing.F) {
	r := baseS3(f)
	f.Add(r.Method, r.URL.Path, r.URL.RawPath, r.URL.RawQuery, r.Header.Get("Authorization"), r.Header.Get("X-Amz-Date"),
		r.Header.Get("X-Amz-Content-Sha256"), "", "host;x-amz-date")
	p := newReq(f, "GET", "/bucket/a%2Fb?x=1&y")
	presign(f, p, testNow, "3600", nil)
	f.Add(p.Method, p.URL.Path, p.URL.RawPath, p.URL.RawQuery, "", "", "", "", "")
	f.Add("GET", "", "%zz", "X-Amz-Algorithm=AWS4-HMAC-SHA256&&&=&%", "AWS4-HMAC-SHA256 Credential=x", "Mon, 02 Jan 2006 15:04:05 GMT", "UNSIGNED-PAYLOAD", "v", "x-amz-meta-a")
	v := testVerifier()
	f.Fuzz(func(t *testing.T, method, path, rawPath, rawQuery, authz, amzDate, sha, extra, extraName string) {
		r := &http.Request{
			Method: method,
			URL:    &url.URL{Path: path, RawPath: rawPath, RawQuery: rawQuery},
			Host:   "bucket.s3.example.com",
			Header: http.Header{},
		}
		set := func(k, v string) {
			if v != "" {
				r.Header[k] = []string{v}
			}
		}
		set("Authorization", authz)
		set("X-Amz-Date", amzDate)
		set("X-Amz-Content-Sha256", sha)
		if extraName != "" {
			r.Header[extraName] = []string{extra, extra}
		}
		res, err := v.Verify(r, testNow)
		if err != nil {
			var e *s3err.Error
			if !errors.As(err, &e) || e.Status == 0 || e.Code == "" {
				t.Fatalf("bad error %#v", err)
			}
			return
		}
		if res.AccessKey != testAK || len(res.Signature) != 64 || len(res.SigningKey) != 32 {
			t.Fatalf("inconsistent result %+v", res)
		}
	})
}

// The no-copy shortcut for components already in canonical form must agree
// with canonicalising them.
func FuzzCanonicalQueryComponent(f *testing.F) {
	for _, s := range []string{"", "abc", "AK%2F20260101%2Fus-east-1%2Fs3%2Faws4_request", "%2f", "%41", "a+b", "%", "%2", "%zz", "~._-", "%E2%9C%93", "a b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		if got, want := canonicalQueryComponent(raw), canonicalizeComponent(raw); got != want {
			t.Fatalf("%q: %q, want %q", raw, got, want)
		}
	})
}
