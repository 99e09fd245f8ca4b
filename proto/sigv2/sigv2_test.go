package sigv2

import (
	"bufio"
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/postern/postern/proto/s3err"
	"github.com/postern/postern/proto/sigv4"
)

// The credentials of AWS's SigV2 documentation examples.
const (
	docAccessKey = "AKIAIOSFODNN7EXAMPLE"
	docSecret    = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	testToken    = "FwoGZXIvYXdzEBYaDK+token/with=chars"
)

func lookupFor(t testing.TB) sigv4.Lookup {
	return func(_ context.Context, ak, token string) (sigv4.Secret, error) {
		if ak != docAccessKey {
			return sigv4.Secret{}, sigv4.ErrUnknownAccessKey
		}
		if token != "" && token != testToken {
			return sigv4.Secret{}, &s3err.Error{Code: "InvalidToken", Status: http.StatusBadRequest, Message: "The provided token is malformed or otherwise invalid."}
		}
		return sigv4.Secret{Key: docSecret}, nil
	}
}

// rawRequest parses an HTTP/1.1 request head the way the server would see it.
// Lines are separated by "\n" in the source and sent as CRLF.
func rawRequest(t testing.TB, head string) *http.Request {
	t.Helper()
	wire := strings.ReplaceAll(strings.TrimLeft(head, "\n"), "\n", "\r\n") + "\r\n"
	r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(wire)))
	if err != nil {
		t.Fatalf("ReadRequest: %v\n%s", err, wire)
	}
	return r
}

func mustDate(t testing.TB, s string) time.Time {
	t.Helper()
	d, ok := parseDate(s)
	if !ok {
		t.Fatalf("bad date %q", s)
	}
	return d
}

func wantCode(t testing.TB, err error, code string, status int) *s3err.Error {
	t.Helper()
	var e *s3err.Error
	if !errors.As(err, &e) {
		t.Fatalf("want %s, got %v", code, err)
	}
	if e.Code != code || e.Status != status {
		t.Fatalf("want %s/%d, got %s/%d: %s", code, status, e.Code, e.Status, e.Message)
	}
	return e
}

// TestDocumentationExamples checks the worked examples of AWS's "Signing and
// authenticating REST requests" (SigV2) byte for byte. The published
// signatures were computed for the bucket "johnsmith" (the current page renamed
// it "awsexamplebucket1" in the text without recomputing them, except in the
// introductory example, which is included too), so the requests here use the
// original names. The Upload example addresses a CNAME bucket
// (static.johnsmith.net); Postern serves only BUCKET.domain virtual hosts, so it
// is sent path-style, which has the same CanonicalizedResource.
func TestDocumentationExamples(t *testing.T) {
	cases := []struct {
		name, domain, head, sts, sig string
	}{
		{"intro GET", "s3.us-west-1.amazonaws.com", `
GET /photos/puppy.jpg HTTP/1.1
Host: awsexamplebucket1.s3.us-west-1.amazonaws.com
Date: Tue, 27 Mar 2007 19:36:42 +0000
Authorization: AWS AKIAIOSFODNN7EXAMPLE:qgk2+6Sv9/oM7G3qLEjTH1a1l1g=
`, "GET\n\n\nTue, 27 Mar 2007 19:36:42 +0000\n/awsexamplebucket1/photos/puppy.jpg", "qgk2+6Sv9/oM7G3qLEjTH1a1l1g="},
		{"Object GET", "s3.amazonaws.com", `
GET /photos/puppy.jpg HTTP/1.1
Host: johnsmith.s3.amazonaws.com
Date: Tue, 27 Mar 2007 19:36:42 +0000
Authorization: AWS AKIAIOSFODNN7EXAMPLE:bWq2s1WEIj+Ydj0vQ697zp+IXMU=
`, "GET\n\n\nTue, 27 Mar 2007 19:36:42 +0000\n/johnsmith/photos/puppy.jpg", "bWq2s1WEIj+Ydj0vQ697zp+IXMU="},
		{"Object PUT", "s3.amazonaws.com", `
PUT /photos/puppy.jpg HTTP/1.1
Content-Type: image/jpeg
Content-Length: 94328
Host: johnsmith.s3.amazonaws.com
Date: Tue, 27 Mar 2007 21:15:45 +0000
Authorization: AWS AKIAIOSFODNN7EXAMPLE:MyyxeRY7whkBe+bq8fHCL/2kKUg=
`, "PUT\n\nimage/jpeg\nTue, 27 Mar 2007 21:15:45 +0000\n/johnsmith/photos/puppy.jpg", "MyyxeRY7whkBe+bq8fHCL/2kKUg="},
		{"List", "s3.amazonaws.com", `
GET /?prefix=photos&max-keys=50&marker=puppy HTTP/1.1
User-Agent: Mozilla/5.0
Host: johnsmith.s3.amazonaws.com
Date: Tue, 27 Mar 2007 19:42:41 +0000
Authorization: AWS AKIAIOSFODNN7EXAMPLE:htDYFYduRNen8P9ZfE/s9SuKy0U=
`, "GET\n\n\nTue, 27 Mar 2007 19:42:41 +0000\n/johnsmith/", "htDYFYduRNen8P9ZfE/s9SuKy0U="},
		{"Fetch ACL", "s3.amazonaws.com", `
GET /?acl HTTP/1.1
Host: johnsmith.s3.amazonaws.com
Date: Tue, 27 Mar 2007 19:44:46 +0000
Authorization: AWS AKIAIOSFODNN7EXAMPLE:c2WLPFtWHVgbEmeEG93a4cG37dM=
`, "GET\n\n\nTue, 27 Mar 2007 19:44:46 +0000\n/johnsmith/?acl", "c2WLPFtWHVgbEmeEG93a4cG37dM="},
		// The doc's Delete request also carries x-amz-date, yet its string to
		// sign has that date on the Date line and no x-amz-date header, which
		// contradicts the doc's own rule (and S3, s3cmd, jets3t). Its
		// signature is reproduced with the Date header alone; the next case
		// applies the rule to the request as published.
		{"Delete (Date)", "s3.amazonaws.com", `
DELETE /johnsmith/photos/puppy.jpg HTTP/1.1
User-Agent: dotnet
Host: s3.amazonaws.com
Date: Tue, 27 Mar 2007 21:20:26 +0000
Authorization: AWS AKIAIOSFODNN7EXAMPLE:lx3byBScXR6KzyMaifNkardMwNk=
`, "DELETE\n\n\nTue, 27 Mar 2007 21:20:26 +0000\n/johnsmith/photos/puppy.jpg", "lx3byBScXR6KzyMaifNkardMwNk="},
		{"Delete (x-amz-date)", "s3.amazonaws.com", `
DELETE /johnsmith/photos/puppy.jpg HTTP/1.1
User-Agent: dotnet
Host: s3.amazonaws.com
Date: Tue, 27 Mar 2007 21:20:27 +0000
x-amz-date: Tue, 27 Mar 2007 21:20:26 +0000
Authorization: AWS AKIAIOSFODNN7EXAMPLE:R4dJ53KECjStyBO5iTBJZ4XVOaI=
`, "DELETE\n\n\n\nx-amz-date:Tue, 27 Mar 2007 21:20:26 +0000\n/johnsmith/photos/puppy.jpg", "R4dJ53KECjStyBO5iTBJZ4XVOaI="},
		{"Upload", "", `
PUT /static.johnsmith.net/db-backup.dat.gz HTTP/1.1
User-Agent: curl/7.15.5
Host: static.johnsmith.net:8080
Date: Tue, 27 Mar 2007 21:06:08 +0000
x-amz-acl: public-read
content-type: application/x-download
Content-MD5: 4gJE4saaMU4BqNR0kLY+lw==
X-Amz-Meta-ReviewedBy: joe@johnsmith.net
X-Amz-Meta-ReviewedBy: jane@johnsmith.net
X-Amz-Meta-FileChecksum: 0x02661779
X-Amz-Meta-ChecksumAlgorithm: crc32
Content-Disposition: attachment; filename=database.dat
Content-Encoding: gzip
Content-Length: 5913339
Authorization: AWS AKIAIOSFODNN7EXAMPLE:ilyl83RwaSoYIEdixDQcA4OnAnc=
`, "PUT\n4gJE4saaMU4BqNR0kLY+lw==\napplication/x-download\nTue, 27 Mar 2007 21:06:08 +0000\n" +
			"x-amz-acl:public-read\nx-amz-meta-checksumalgorithm:crc32\nx-amz-meta-filechecksum:0x02661779\n" +
			"x-amz-meta-reviewedby:joe@johnsmith.net,jane@johnsmith.net\n/static.johnsmith.net/db-backup.dat.gz", "ilyl83RwaSoYIEdixDQcA4OnAnc="},
		{"List all my buckets", "s3.amazonaws.com", `
GET / HTTP/1.1
Host: s3.amazonaws.com
Date: Wed, 28 Mar 2007 01:29:59 +0000
Authorization: AWS AKIAIOSFODNN7EXAMPLE:qGdzdERIC03wnaRNKh6OqZehG9s=
`, "GET\n\n\nWed, 28 Mar 2007 01:29:59 +0000\n/", "qGdzdERIC03wnaRNKh6OqZehG9s="},
		{"Unicode keys", "s3.amazonaws.com", `
GET /dictionary/fran%C3%A7ais/pr%c3%a9f%c3%a8re HTTP/1.1
Host: s3.amazonaws.com
Date: Wed, 28 Mar 2007 01:49:49 +0000
Authorization: AWS AKIAIOSFODNN7EXAMPLE:DNEZGsoieTZ92F3bUfSPQcbGmlM=
`, "GET\n\n\nWed, 28 Mar 2007 01:49:49 +0000\n/dictionary/fran%C3%A7ais/pr%c3%a9f%c3%a8re", "DNEZGsoieTZ92F3bUfSPQcbGmlM="},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := rawRequest(t, c.head)
			if got := StringToSign(r, c.domain, ""); got != c.sts {
				t.Fatalf("string to sign\n got %q\nwant %q", got, c.sts)
			}
			if got := Sign(docSecret, c.sts); got != c.sig {
				t.Fatalf("signature %s, want %s", got, c.sig)
			}
			if !IsSigV2(r) {
				t.Fatal("IsSigV2 false")
			}
			date := r.Header.Get("X-Amz-Date")
			if date == "" {
				date = r.Header.Get("Date")
			}
			now := mustDate(t, date).Add(3 * time.Minute)
			res, err := NewVerifier(VerifierConfig{Lookup: lookupFor(t), Domain: c.domain}).Verify(r, now)
			if err != nil {
				t.Fatal(err)
			}
			if res.AccessKey != docAccessKey || res.AuthType != sigv4.AuthHeader || !res.SignedAt.Equal(mustDate(t, date)) || !res.Expires.IsZero() {
				t.Fatalf("result %+v", res)
			}
		})
	}

	// Query string request authentication example.
	r := rawRequest(t, `
GET /photos/puppy.jpg?AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Signature=NpgCjnDzrM%2BWFzoENXmpNDUsSn8%3D&Expires=1175139620 HTTP/1.1
Host: johnsmith.s3.amazonaws.com
`)
	const sts = "GET\n\n\n1175139620\n/johnsmith/photos/puppy.jpg"
	if got := StringToSign(r, "s3.amazonaws.com", "1175139620"); got != sts {
		t.Fatalf("query string to sign %q", got)
	}
	if got := Sign(docSecret, sts); got != "NpgCjnDzrM+WFzoENXmpNDUsSn8=" {
		t.Fatalf("query signature %s", got)
	}
	exp := time.Unix(1175139620, 0)
	res, err := NewVerifier(VerifierConfig{Lookup: lookupFor(t), Domain: "s3.amazonaws.com"}).Verify(r, exp.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if res.AuthType != sigv4.AuthQuery || !res.Expires.Equal(exp) || !res.SignedAt.IsZero() || res.AccessKey != docAccessKey {
		t.Fatalf("result %+v", res)
	}
}

var testNow = time.Date(2026, 11, 25, 17, 0, 0, 0, time.UTC)

func testVerifier(t testing.TB) *Verifier {
	return NewVerifier(VerifierConfig{Lookup: lookupFor(t), MaxSkew: 15 * time.Minute, MaxExpiry: 7 * 24 * time.Hour, Domain: "s3.example.com"})
}

// signedHeaderReq returns a header-signed request for target on host.
func signedHeaderReq(t testing.TB, method, host, target string, hdr map[string]string) *http.Request {
	t.Helper()
	var b strings.Builder
	b.WriteString(method + " " + target + " HTTP/1.1\nHost: " + host + "\n")
	if _, ok := hdr["Date"]; !ok {
		b.WriteString("Date: " + testNow.Format(http.TimeFormat) + "\n")
	}
	for k, v := range hdr {
		b.WriteString(k + ": " + v + "\n")
	}
	r := rawRequest(t, b.String())
	r.Header.Set("Authorization", "AWS "+docAccessKey+":"+Sign(docSecret, StringToSign(r, "s3.example.com", "")))
	return r
}

// presignedReq returns a presigned request: extra are raw query pairs signed
// along (sub-resources, x-amz-*), hdr headers sent and signed.
func presignedReq(t testing.TB, method, host, target string, expires int64, extra string, hdr map[string]string) *http.Request {
	t.Helper()
	var b strings.Builder
	sep := "?"
	if strings.Contains(target, "?") {
		sep = "&"
	}
	q := target
	if extra != "" {
		q += sep + extra
		sep = "&"
	}
	exp := strconv.FormatInt(expires, 10)
	unsigned := rawRequest(t, method+" "+q+" HTTP/1.1\nHost: "+host+"\n"+headerLines(hdr))
	sig := Sign(docSecret, StringToSign(unsigned, "s3.example.com", exp))
	b.WriteString(method + " " + q + sep + "AWSAccessKeyId=" + docAccessKey + "&Expires=" + exp +
		"&Signature=" + url.QueryEscape(sig) + " HTTP/1.1\nHost: " + host + "\n" + headerLines(hdr))
	return rawRequest(t, b.String())
}

func headerLines(hdr map[string]string) string {
	var b strings.Builder
	for k, v := range hdr {
		b.WriteString(k + ": " + v + "\n")
	}
	return b.String()
}

func TestExpiry(t *testing.T) {
	v := testVerifier(t)
	exp := testNow.Add(time.Hour).Unix()
	r := presignedReq(t, "GET", "bkt.s3.example.com", "/key", exp, "", nil)
	if _, err := v.Verify(r, testNow); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(r, time.Unix(exp, 0)); err != nil {
		t.Fatalf("at the Expires second: %v", err)
	}
	e := wantCode(t, mustErr(v.Verify(r, time.Unix(exp, 0).Add(time.Second))), "AccessDenied", 403)
	if e.Message != msgExpired || e.Get("Expires") != "2026-11-25T18:00:00Z" || e.Get("ServerTime") != "2026-11-25T18:00:01Z" {
		t.Fatalf("expired: %+v", e)
	}

	week := testNow.Add(7 * 24 * time.Hour).Unix()
	if _, err := v.Verify(presignedReq(t, "GET", "bkt.s3.example.com", "/key", week, "", nil), testNow); err != nil {
		t.Fatalf("exactly 7 days: %v", err)
	}
	for _, far := range []int64{week + 1, testNow.Add(30 * 24 * time.Hour).Unix(), 9999999999} {
		r := presignedReq(t, "GET", "bkt.s3.example.com", "/key", far, "", nil)
		e := wantCode(t, mustErr(v.Verify(r, testNow)), "AccessDenied", 403)
		if !strings.HasPrefix(e.Message, "Signature Version 2 presigned URLs may be valid for at most 7 days; this one expires in ") ||
			!strings.HasSuffix(e.Message, "Sign with Signature Version 4 and X-Amz-Expires (at most 604800 seconds).") {
			t.Fatalf("too far: %q", e.Message)
		}
	}
	e = wantCode(t, mustErr(v.Verify(presignedReq(t, "GET", "bkt.s3.example.com", "/key", testNow.Add(30*24*time.Hour).Unix(), "", nil), testNow)), "AccessDenied", 403)
	if !strings.Contains(e.Message, "expires in 30 days") {
		t.Fatalf("message %q", e.Message)
	}
	// A shorter limit is honoured.
	short := NewVerifier(VerifierConfig{Lookup: lookupFor(t), MaxExpiry: time.Hour, Domain: "s3.example.com"})
	wantCode(t, mustErr(short.Verify(presignedReq(t, "GET", "bkt.s3.example.com", "/key", testNow.Add(2*time.Hour).Unix(), "", nil), testNow)), "AccessDenied", 403)

	// Malformed or missing parameters.
	for _, q := range []string{
		"AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Expires=abc&Signature=x",
		"AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Expires=-1&Signature=x",
		"AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Expires=1.5&Signature=x",
		"AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Expires=%2B100&Signature=x",
	} {
		r := rawRequest(t, "GET /key?"+q+" HTTP/1.1\nHost: bkt.s3.example.com\n")
		e := wantCode(t, mustErr(v.Verify(r, testNow)), "AccessDenied", 403)
		if !strings.HasPrefix(e.Message, msgBadExpires) {
			t.Fatalf("%s: %q", q, e.Message)
		}
	}
	for _, q := range []string{
		"AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Signature=x",
		"AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Expires=1795629600",
		"Signature=x&Expires=1795629600",
		"AWSAccessKeyId=&Signature=x&Expires=1795629600",
		"AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Signature=&Expires=1795629600",
		"AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Signature=x&Expires=",
	} {
		r := rawRequest(t, "GET /key?"+q+" HTTP/1.1\nHost: bkt.s3.example.com\n")
		e := wantCode(t, mustErr(v.Verify(r, testNow)), "AccessDenied", 403)
		if e.Message != msgQueryRequires {
			t.Fatalf("%s: %q", q, e.Message)
		}
	}
}

func mustErr(_ *Result, err error) error { return err }

func TestSkew(t *testing.T) {
	v := testVerifier(t)
	for _, c := range []struct {
		off time.Duration
		ok  bool
	}{{0, true}, {14 * time.Minute, true}, {-14 * time.Minute, true}, {16 * time.Minute, false}, {-16 * time.Minute, false}} {
		date := testNow.Add(c.off).Format(http.TimeFormat)
		r := signedHeaderReq(t, "GET", "bkt.s3.example.com", "/key", map[string]string{"Date": date})
		_, err := v.Verify(r, testNow)
		if c.ok {
			if err != nil {
				t.Fatalf("%v: %v", c.off, err)
			}
			continue
		}
		e := wantCode(t, err, "RequestTimeTooSkewed", 403)
		if e.Get("RequestTime") != date || e.Get("ServerTime") != "2026-11-25T17:00:00Z" || e.Get("MaxAllowedSkewMilliseconds") != "900000" {
			t.Fatalf("extras %+v", e.Extra)
		}
	}
	// x-amz-date takes precedence over Date, also for the skew.
	r := signedHeaderReq(t, "GET", "bkt.s3.example.com", "/key", map[string]string{
		"Date": testNow.Add(-time.Hour).Format(http.TimeFormat), "X-Amz-Date": testNow.Format(time.RFC1123Z)})
	res, err := v.Verify(r, testNow)
	if err != nil || !res.SignedAt.Equal(testNow) {
		t.Fatalf("x-amz-date: %v %+v", err, res)
	}
	r = signedHeaderReq(t, "GET", "bkt.s3.example.com", "/key", map[string]string{
		"Date": testNow.Format(http.TimeFormat), "X-Amz-Date": testNow.Add(-time.Hour).Format(time.RFC1123Z)})
	wantCode(t, mustErr(v.Verify(r, testNow)), "RequestTimeTooSkewed", 403)
	// ISO 8601 x-amz-date and one-digit days are accepted.
	for _, d := range []string{"20261125T170000Z", "Wed, 25 Nov 2026 17:00:00 +0000", "Wed, 25 Nov 2026 17:00:00 GMT", "Wednesday, 25-Nov-26 17:00:00 GMT", "Wed Nov 25 17:00:00 2026"} {
		if got, ok := parseDate(d); !ok || !got.Equal(testNow) {
			t.Fatalf("parseDate(%q) = %v %v", d, got, ok)
		}
	}
	if got, ok := parseDate("Tue, 3 Mar 2026 01:02:03 GMT"); !ok || got.Day() != 3 {
		t.Fatalf("one-digit day: %v %v", got, ok)
	}
	// Missing or bad dates.
	for _, h := range []map[string]string{{"Date": ""}, {"Date": "yesterday"}, {"Date": testNow.Format(http.TimeFormat), "X-Amz-Date": "garbage"}} {
		r := rawRequest(t, "GET /key HTTP/1.1\nHost: bkt.s3.example.com\n"+headerLines(h))
		r.Header.Set("Authorization", "AWS "+docAccessKey+":"+Sign(docSecret, StringToSign(r, "s3.example.com", "")))
		e := wantCode(t, mustErr(v.Verify(r, testNow)), "AccessDenied", 403)
		if e.Message != msgMissingDate {
			t.Fatalf("%v: %q", h, e.Message)
		}
	}
}

func TestParseAuthorization(t *testing.T) {
	for _, c := range []struct{ h, ak, sig string }{
		{"AWS AKID:c2lnbmF0dXJl", "AKID", "c2lnbmF0dXJl"},
		{"AWS   AKID:sig= ", "AKID", "sig="},
		{"AWS AKID:a+b/c=", "AKID", "a+b/c="},
	} {
		ak, sig, err := ParseAuthorization(c.h)
		if err != nil || ak != c.ak || sig != c.sig {
			t.Fatalf("%q: %q %q %v", c.h, ak, sig, err)
		}
	}
	for _, h := range []string{"", "AWS", "AWS ", "AWS AKID", "AWS :sig", "AWS AKID:", "AWS a b:sig", "AWS AKID:s g",
		"AWS AKID:sig:more", "AWS4-HMAC-SHA256 Credential=x", "aws AKID:sig", "AWSAKID:sig", "AWS AKID:" + strings.Repeat("x", 2000)} {
		_, _, err := ParseAuthorization(h)
		e := wantCode(t, err, "InvalidArgument", 400)
		if e.Message != msgBadAuthHeader || e.Get("ArgumentName") != "Authorization" || len(e.Get("ArgumentValue")) > maxEcho {
			t.Fatalf("%q: %+v", h, e)
		}
	}
}

func TestVerifyErrors(t *testing.T) {
	v := testVerifier(t)
	base := func() *http.Request {
		return signedHeaderReq(t, "GET", "bkt.s3.example.com", "/key", nil)
	}
	// Unknown key.
	r := base()
	r.Header.Set("Authorization", "AWS AKIDUNKNOWN:"+Sign(docSecret, StringToSign(r, "s3.example.com", "")))
	e := wantCode(t, mustErr(v.Verify(r, testNow)), "InvalidAccessKeyId", 403)
	if e.Message != msgInvalidAccessKey || e.Get("AWSAccessKeyId") != "AKIDUNKNOWN" {
		t.Fatalf("%+v", e)
	}
	// The lookup's own error is returned as is.
	r = base()
	r.Header.Set("X-Amz-Security-Token", "bad-token")
	r.Header.Set("Authorization", "AWS "+docAccessKey+":"+Sign(docSecret, StringToSign(r, "s3.example.com", "")))
	wantCode(t, mustErr(v.Verify(r, testNow)), "InvalidToken", 400)
	// Malformed header.
	r = base()
	r.Header.Set("Authorization", "AWS "+docAccessKey)
	wantCode(t, mustErr(v.Verify(r, testNow)), "InvalidArgument", 400)
	r.Header.Set("Authorization", "AWS")
	wantCode(t, mustErr(v.Verify(r, testNow)), "InvalidArgument", 400)
	// Another scheme.
	r.Header.Set("Authorization", "Basic dXNlcjpwYXNz")
	e = wantCode(t, mustErr(v.Verify(r, testNow)), "InvalidArgument", 400)
	if e.Message != msgUnsupportedAuth || IsSigV2(r) {
		t.Fatalf("%+v", e)
	}
	// Two mechanisms.
	r = base()
	r.URL.RawQuery = "AWSAccessKeyId=" + docAccessKey + "&Signature=x&Expires=1"
	e = wantCode(t, mustErr(v.Verify(r, testNow)), "InvalidArgument", 400)
	if e.Message != msgOnlyOneAuth {
		t.Fatalf("%+v", e)
	}
	r = base()
	r.URL.RawQuery = "X-Amz-Algorithm=AWS4-HMAC-SHA256"
	wantCode(t, mustErr(v.Verify(r, testNow)), "InvalidArgument", 400)
	// No authentication at all.
	r = rawRequest(t, "GET /key HTTP/1.1\nHost: bkt.s3.example.com\n")
	wantCode(t, mustErr(v.Verify(r, testNow)), "AccessDenied", 403)
	// Duplicate auth parameters.
	good := presignedReq(t, "GET", "bkt.s3.example.com", "/key", testNow.Add(time.Hour).Unix(), "", nil)
	for _, dup := range []string{"&Signature=AAAA", "&Expires=1", "&AWSAccessKeyId=OTHER", "&Signature="} {
		r := good.Clone(good.Context())
		r.URL.RawQuery += dup
		e := wantCode(t, mustErr(v.Verify(r, testNow)), "InvalidArgument", 400)
		if e.Message != msgDuplicateParam {
			t.Fatalf("%s: %+v", dup, e)
		}
	}
	// Too many parameters.
	r = good.Clone(good.Context())
	r.URL.RawQuery += strings.Repeat("&a=b", maxQueryParams+1)
	wantCode(t, mustErr(v.Verify(r, testNow)), "InvalidArgument", 400)
}

// TestTampering changes each signed part of valid requests; every change must
// give SignatureDoesNotMatch with AWS's diagnostics. Unsigned parts may change.
func TestTampering(t *testing.T) {
	v := testVerifier(t)
	hdr := map[string]string{
		"Content-Type":         "text/plain",
		"Content-MD5":          "1B2M2Y8AsgTpgAmY7PhCfg==",
		"X-Amz-Meta-Color":     "blue",
		"X-Amz-Security-Token": testToken,
	}
	target := "/dir/a%20b+c.txt?versionId=v1&response-content-type=text%2Fhtml&prefix=p"
	header := signedHeaderReq(t, "PUT", "bkt.s3.example.com", target, hdr)
	exp := testNow.Add(time.Hour).Unix()
	query := presignedReq(t, "PUT", "bkt.s3.example.com", target, exp,
		"x-amz-security-token="+url.QueryEscape(testToken)+"&x-amz-acl=private", hdr)

	for _, base := range []*http.Request{header, query} {
		res, err := v.Verify(base, testNow)
		if err != nil {
			t.Fatal(err)
		}
		if res.SessionToken != testToken {
			t.Fatalf("token %q", res.SessionToken)
		}
		clone := func() *http.Request {
			r := base.Clone(base.Context())
			r.URL, _ = url.Parse(base.URL.String())
			return r
		}
		setTarget := func(r *http.Request, target string) {
			r.RequestURI = target
			r.URL, _ = url.ParseRequestURI(target)
		}
		withTarget := func(f func(string) string) func(*http.Request) {
			return func(r *http.Request) { setTarget(r, f(r.RequestURI)) }
		}
		tamper := map[string]func(*http.Request){
			"method":         func(r *http.Request) { r.Method = "GET" },
			"path":           withTarget(func(s string) string { return strings.Replace(s, "a%20b", "a%20c", 1) }),
			"path encoding":  withTarget(func(s string) string { return strings.Replace(s, "a%20b", "a%20%62", 1) }),
			"bucket":         func(r *http.Request) { r.Host = "other.s3.example.com" },
			"path style":     func(r *http.Request) { r.Host = "s3.example.com" },
			"add acl":        withTarget(func(s string) string { return s + "&acl" }),
			"add tagging":    withTarget(func(s string) string { return s + "&tagging" }),
			"add retention":  withTarget(func(s string) string { return s + "&retention" }),
			"versionId":      withTarget(func(s string) string { return strings.Replace(s, "versionId=v1", "versionId=v2", 1) }),
			"drop versionId": withTarget(func(s string) string { return strings.Replace(s, "versionId=v1&", "", 1) }),
			"override":       withTarget(func(s string) string { return strings.Replace(s, "text%2Fhtml", "text%2Fplain", 1) }),
			"content-type":   func(r *http.Request) { r.Header.Set("Content-Type", "text/html") },
			"content-md5":    func(r *http.Request) { r.Header.Set("Content-Md5", "XrY7u+Ae7tCTyyK7j1rNww==") },
			"meta changed":   func(r *http.Request) { r.Header.Set("X-Amz-Meta-Color", "red") },
			"meta added":     func(r *http.Request) { r.Header.Set("X-Amz-Meta-Size", "1") },
			"acl header":     func(r *http.Request) { r.Header.Set("X-Amz-Acl", "public-read") },
			// (a changed token is refused by the lookup: see TestSessionToken)
			"token dropped": func(r *http.Request) { r.Header.Del("X-Amz-Security-Token") },
			"signature":     func(r *http.Request) {},
		}
		if base == header {
			tamper["date"] = func(r *http.Request) { r.Header.Set("Date", testNow.Add(time.Second).Format(http.TimeFormat)) }
			tamper["x-amz-date added"] = func(r *http.Request) { r.Header.Set("X-Amz-Date", r.Header.Get("Date")) }
			tamper["signature"] = func(r *http.Request) {
				ak, sig, _ := ParseAuthorization(r.Header.Get("Authorization"))
				r.Header.Set("Authorization", "AWS "+ak+":"+strings.ToLower(sig))
			}
		} else {
			tamper["expires"] = withTarget(func(s string) string {
				return strings.Replace(s, "Expires="+strconv.FormatInt(exp, 10), "Expires="+strconv.FormatInt(exp+60, 10), 1)
			})
			tamper["query acl"] = withTarget(func(s string) string { return strings.Replace(s, "x-amz-acl=private", "x-amz-acl=public-read", 1) })
			tamper["query meta"] = withTarget(func(s string) string { return s + "&x-amz-meta-extra=1" })
			tamper["signature"] = withTarget(func(s string) string { return strings.Replace(s, "Signature=", "Signature=A", 1) })
			// Content-Type comes from the query when the header is absent.
			tamper["query content-type"] = func(r *http.Request) {
				r.Header.Del("Content-Type")
				setTarget(r, r.RequestURI+"&content-type=text%2Fhtml")
			}
		}
		for name, f := range tamper {
			r := clone()
			f(r)
			_, err := v.Verify(r, testNow)
			e := wantCode(t, err, "SignatureDoesNotMatch", 403)
			expires := ""
			if base == query {
				expires = r.URL.Query().Get("Expires")
			}
			sts := StringToSign(r, "s3.example.com", expires)
			if e.Message != msgSignatureMismatch || e.Get("AWSAccessKeyId") != docAccessKey || e.Get("StringToSign") != sts ||
				e.Get("StringToSignBytes") != sigv4.HexBytes(sts) || e.Get("SignatureProvided") == "" {
				t.Fatalf("%s: %+v", name, e)
			}
			if len(e.Extra) != 4 || e.Extra[0].Key != "AWSAccessKeyId" || e.Extra[1].Key != "StringToSign" || e.Extra[2].Key != "SignatureProvided" || e.Extra[3].Key != "StringToSignBytes" {
				t.Fatalf("%s: extra order %+v", name, e.Extra)
			}
		}
		// Unsigned parts.
		for name, f := range map[string]func(*http.Request){
			"list param":   withTarget(func(s string) string { return s + "&max-keys=5&marker=x" }),
			"user-agent":   func(r *http.Request) { r.Header.Set("User-Agent", "other") },
			"content-disp": func(r *http.Request) { r.Header.Set("Content-Disposition", "inline") },
			"port":         func(r *http.Request) { r.Host += ":9000" },
			"host case":    func(r *http.Request) { r.Host = "bkt.S3.Example.COM" },
		} {
			r := clone()
			f(r)
			if _, err := v.Verify(r, testNow); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		}
	}
}

func TestStringToSignDetails(t *testing.T) {
	r := rawRequest(t, `
GET /b/k?uploads&acl=&versioning&partNumber=2&uploadId=a%2Bb%20c&response-content-disposition=attachment%3B%20filename%3D%22a%20b%22&other=1&Acl HTTP/1.1
Host: s3.example.com
X-Amz-Meta-A:   spaced  value  
X-AMZ-META-A: second
x-amz-meta-b: one,two
Content-Type:  text/plain 
Date: Wed, 25 Nov 2026 17:00:00 GMT
`)
	want := "GET\n\ntext/plain\nWed, 25 Nov 2026 17:00:00 GMT\n" +
		"x-amz-meta-a:spaced  value,second\nx-amz-meta-b:one,two\n" +
		"/b/k?acl=&partNumber=2&response-content-disposition=attachment; filename=\"a b\"&uploadId=a+b c&uploads&versioning"
	if got := StringToSign(r, "s3.example.com", ""); got != want {
		t.Fatalf("\n got %q\nwant %q", got, want)
	}
	// Path-style bucket requests are signed with a trailing '/'; Verify
	// also accepts a signature over the literal path, and nothing else.
	v := testVerifier(t)
	for _, c := range []struct{ target, resource, alsoOK, bad string }{
		{"/bkt?acl", "/bkt/?acl", "/bkt?acl", "/bkt//?acl"},
		{"/bkt", "/bkt/", "/bkt", "/"},
		{"/bkt/", "/bkt/", "", "/bkt"},
		{"/", "/", "", "/bkt/"},
		{"/bkt/key", "/bkt/key", "", "/bkt/key/"},
	} {
		r := rawRequest(t, "GET "+c.target+" HTTP/1.1\nHost: s3.example.com\nDate: "+testNow.Format(http.TimeFormat)+"\n")
		prefix := "GET\n\n\n" + testNow.Format(http.TimeFormat) + "\n"
		if sts := StringToSign(r, "s3.example.com", ""); sts != prefix+c.resource {
			t.Fatalf("%s: %q", c.target, sts)
		}
		for _, res := range []string{c.resource, c.alsoOK, c.bad} {
			if res == "" {
				continue
			}
			r.Header.Set("Authorization", "AWS "+docAccessKey+":"+Sign(docSecret, prefix+res))
			_, err := v.Verify(r, testNow)
			if (err == nil) != (res != c.bad) {
				t.Fatalf("%s signed as %q: %v", c.target, res, err)
			}
		}
	}
	// Obsolete line folding is unfolded to one space.
	if got := canonicalValue("a\r\n \tb  c "); got != "a b  c" {
		t.Fatalf("canonicalValue %q", got)
	}
	// Paths: absolute-form targets, '*' and empty paths.
	for _, c := range []struct{ uri, want string }{
		{"http://bkt.s3.example.com/k%2Fx?acl", "/k%2Fx"},
		{"http://s3.example.com", "/"},
		{"/a//b/../c", "/a//b/../c"},
	} {
		r := &http.Request{Method: "GET", RequestURI: c.uri, Header: http.Header{}, URL: &url.URL{}}
		if got := requestPath(r); got != c.want {
			t.Fatalf("requestPath(%q) = %q", c.uri, got)
		}
	}
	// Client-side requests (no RequestURI) use the URL's escaped path.
	u, _ := url.Parse("http://s3.example.com/b/a%2Fb%20c")
	if got := requestPath(&http.Request{URL: u}); got != "/b/a%2Fb%20c" {
		t.Fatalf("client path %q", got)
	}
	// Virtual-host bucket: port ignored, domain matched case-insensitively,
	// the domain itself and other hosts are path-style.
	for host, want := range map[string]string{
		"bkt.s3.example.com": "bkt", "bkt.S3.EXAMPLE.com:443": "bkt", "a.b.s3.example.com": "a.b",
		"s3.example.com": "", ".s3.example.com": "", "bkt.other.com": "", "[::1]:9000": "",
	} {
		if got := hostBucket(&http.Request{Host: host}, "s3.example.com"); got != want {
			t.Fatalf("hostBucket(%q) = %q", host, got)
		}
	}
	if got := hostBucket(&http.Request{Host: "bkt.s3.example.com"}, ""); got != "" {
		t.Fatalf("no domain: %q", got)
	}
	if unescape("%zz%4") != "%zz%4" || unescape("a+b%2B%2b") != "a+b++" || unescape("%") != "%" {
		t.Fatal("unescape")
	}
}

func TestIsSigV2(t *testing.T) {
	for _, c := range []struct {
		authz, query string
		want         bool
	}{
		{"AWS AKID:sig", "", true},
		{"AWS", "", true},
		{"AWS4-HMAC-SHA256 Credential=x", "", false},
		{"AWS4-HMAC-SHA256 Credential=x", "AWSAccessKeyId=a", false},
		{"", "AWSAccessKeyId=a&Signature=b&Expires=1", true},
		{"", "Signature=b", true},
		{"", "AWSAccessKeyId=a&X-Amz-Algorithm=AWS4-HMAC-SHA256", false},
		{"", "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=x", false},
		{"", "Expires=1", false},
		{"", "", false},
		{"Bearer x", "", false},
	} {
		r := &http.Request{Header: http.Header{}, URL: &url.URL{RawQuery: c.query}}
		if c.authz != "" {
			r.Header.Set("Authorization", c.authz)
		}
		if got := IsSigV2(r); got != c.want {
			t.Fatalf("%q %q: %v", c.authz, c.query, got)
		}
	}
	if IsSigV2(nil) {
		t.Fatal("nil")
	}
}

func TestSessionToken(t *testing.T) {
	v := testVerifier(t)
	exp := testNow.Add(time.Hour).Unix()
	// The query token is signed: dropping it breaks the signature.
	r := presignedReq(t, "GET", "bkt.s3.example.com", "/k", exp, "x-amz-security-token="+url.QueryEscape(testToken), nil)
	res, err := v.Verify(r, testNow)
	if err != nil || res.SessionToken != testToken {
		t.Fatalf("%v %+v", err, res)
	}
	r2 := r.Clone(r.Context())
	r2.URL, _ = url.Parse(r.URL.String())
	r2.URL.RawQuery = strings.Replace(r2.URL.RawQuery, "x-amz-security-token="+url.QueryEscape(testToken)+"&", "", 1)
	r2.RequestURI = r2.URL.RequestURI()
	wantCode(t, mustErr(v.Verify(r2, testNow)), "SignatureDoesNotMatch", 403)
	// Conflicting header and query tokens.
	r3 := r.Clone(r.Context())
	r3.Header.Set("X-Amz-Security-Token", "other")
	wantCode(t, mustErr(v.Verify(r3, testNow)), "InvalidToken", 400)
	// A token sent as a header with a presigned URL is signed as well.
	r4 := presignedReq(t, "GET", "bkt.s3.example.com", "/k", exp, "", map[string]string{"X-Amz-Security-Token": testToken})
	if res, err := v.Verify(r4, testNow); err != nil || res.SessionToken != testToken {
		t.Fatalf("%v %+v", err, res)
	}
}

func TestVerifyPOST(t *testing.T) {
	// Policy and signature computed independently (Python hmac/hashlib/base64).
	const policy = "eyJleHBpcmF0aW9uIjogIjIwMjYtMTEtMjVUMTg6MDA6MDBaIiwiY29uZGl0aW9ucyI6IFt7ImJ1Y2tldCI6ICJia3QifV19"
	const sig = "KuNgPmddna7fvRve6SA2JXZQ76I="
	if !VerifyPOST(docSecret, policy, sig) {
		t.Fatalf("valid POST signature rejected; Sign gives %s", Sign(docSecret, policy))
	}
	for _, c := range [][3]string{
		{docSecret + "x", policy, sig},
		{docSecret, policy + "=", sig},
		{docSecret, policy, "KuNgPmddna7fvRve6SA2JXZQ76I"},
		{docSecret, policy, ""},
		{docSecret, "", Sign(docSecret, "")},
	} {
		if VerifyPOST(c[0], c[1], c[2]) {
			t.Fatalf("accepted %q", c)
		}
	}
}

func TestSignedSubresourcesSorted(t *testing.T) {
	l := SignedSubresources()
	for i := 1; i < len(l); i++ {
		if l[i-1] >= l[i] {
			t.Fatalf("not sorted at %q", l[i])
		}
	}
	l[0] = "changed"
	if SignedSubresources()[0] == "changed" {
		t.Fatal("SignedSubresources exposes the package's list")
	}
}
