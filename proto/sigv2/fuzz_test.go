package sigv2

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/postern/postern/proto/s3err"
	"github.com/postern/postern/proto/sigv4"
)

// The fuzz targets feed garbage to the parser and to Verify. Besides "never
// panic" they check that failures are well-formed *s3err.Error values and that
// whatever verifies really carries the signature of its string to sign.

func FuzzParseAuthorization(f *testing.F) {
	f.Add("AWS AKIAIOSFODNN7EXAMPLE:bWq2s1WEIj+Ydj0vQ697zp+IXMU=")
	f.Add("AWS  a:b ")
	f.Add("AWS :")
	f.Add("AWS4-HMAC-SHA256 Credential=a/b/c/d/e, SignedHeaders=host, Signature=x")
	f.Add("")
	f.Fuzz(func(t *testing.T, h string) {
		ak, sig, err := ParseAuthorization(h)
		if err != nil {
			var e *s3err.Error
			if !errors.As(err, &e) || e.Status != http.StatusBadRequest || e.Code != "InvalidArgument" || len(e.Get("ArgumentValue")) > maxEcho {
				t.Fatalf("bad error %#v", err)
			}
			return
		}
		if ak == "" || sig == "" || strings.ContainsAny(ak+sig, " \t\r\n:") || !strings.HasPrefix(h, "AWS ") ||
			!strings.Contains(h, ak+":"+sig) {
			t.Fatalf("accepted inconsistent %q: %q %q", h, ak, sig)
		}
	})
}

// FuzzVerifyQuery builds a request from fuzzed parts, mostly around presigned
// URLs. Seeds include a correctly presigned request so mutations explore near
// valid ones.
func FuzzVerifyQuery(f *testing.F) {
	now := time.Unix(1795626000, 0).UTC()
	sts := "GET\n\n\n1795629600\nx-amz-security-token:" + testToken + "\n/bkt/a%20b?versionId=v1"
	sig := url.QueryEscape(Sign(docSecret, sts))
	f.Add("GET", "/a b", "versionId=v1&x-amz-security-token="+url.QueryEscape(testToken)+"&AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Expires=1795629600&Signature="+sig,
		"bkt.s3.example.com", "", "", "")
	f.Add("PUT", "/bkt/k", "AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Expires=99999999999999999999&Signature=%zz", "s3.example.com", "", "Content-Type", "text/plain")
	f.Add("GET", "//", "Signature&AWSAccessKeyId&Expires=&&=&%", "", "AWS x:y", "X-Amz-Date", "garbage")
	f.Add("GET", "/", "acl&uploads=&response-content-type=%&x-amz-meta-a=%E2%82&Expires=1", ".s3.example.com:", "", "X-Amz-Meta-B", "\x00")
	v := NewVerifier(VerifierConfig{Lookup: lookupFor(f), Domain: "s3.example.com"})
	// The first seed must verify, or the fuzzer never explores valid requests.
	seed := &http.Request{Method: "GET", URL: &url.URL{Path: "/a b", RawQuery: "versionId=v1&x-amz-security-token=" + url.QueryEscape(testToken) +
		"&AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Expires=1795629600&Signature=" + sig}, Host: "bkt.s3.example.com", Header: http.Header{}}
	if _, err := v.Verify(seed, now); err != nil {
		f.Fatalf("valid seed: %v", err)
	}
	f.Fuzz(func(t *testing.T, method, path, rawQuery, host, authz, hdrName, hdrValue string) {
		r := &http.Request{
			Method: method,
			URL:    &url.URL{Path: path, RawQuery: rawQuery},
			Host:   host,
			Header: http.Header{},
		}
		if authz != "" {
			r.Header["Authorization"] = []string{authz}
		}
		if hdrName != "" {
			r.Header[http.CanonicalHeaderKey(hdrName)] = []string{hdrValue}
		}
		_ = IsSigV2(r)
		res, err := v.Verify(r, now)
		if err != nil {
			var e *s3err.Error
			if !errors.As(err, &e) || e.Status == 0 || e.Code == "" {
				t.Fatalf("bad error %#v", err)
			}
			return
		}
		if res.AccessKey != docAccessKey {
			t.Fatalf("verified for %q", res.AccessKey)
		}
		// Whatever verified must carry the signature of its string to sign.
		expires := ""
		var provided string
		if res.AuthType == sigv4.AuthQuery {
			q := parseQuery(rawQuery, maxQueryParams)
			for _, p := range q {
				switch unescape(p.rawKey) {
				case "Expires":
					expires = unescape(p.rawValue)
				case "Signature":
					provided = unescape(p.rawValue)
				}
			}
			if now.After(res.Expires) || res.Expires.Sub(now) > DefaultMaxExpiry {
				t.Fatalf("accepted expiry %v", res.Expires)
			}
		} else {
			_, provided, _ = ParseAuthorization(authz)
		}
		want := Sign(docSecret, StringToSign(r, "s3.example.com", expires))
		if provided != want {
			// The only other accepted form: a bucket path signed literally.
			params := parseQuery(rawQuery, maxQueryParams)
			if provided != Sign(docSecret, stringToSign(r, "s3.example.com", expires, params, false)) {
				t.Fatalf("accepted signature %q, want %q", provided, want)
			}
		}
	})
}
