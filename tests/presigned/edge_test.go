package presigned

import (
	"context"
	"encoding/xml"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/postern/postern/internal/s3test"
	"github.com/postern/postern/internal/testserver"
)

// param returns the (decoded) value of a query parameter of a URL.
func param(t testing.TB, rawURL, name string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get(name)
}

// setParam replaces the raw value of one query parameter, leaving the rest of
// the URL byte for byte as signed.
func setParam(t testing.TB, rawURL, name, rawValue string) string {
	t.Helper()
	base, q, _ := strings.Cut(rawURL, "?")
	parts := strings.Split(q, "&")
	found := false
	for i, p := range parts {
		if k, _, _ := strings.Cut(p, "="); k == name {
			parts[i] = name + "=" + rawValue
			found = true
		}
	}
	if !found {
		t.Fatalf("no parameter %s in %s", name, rawURL)
	}
	return base + "?" + strings.Join(parts, "&")
}

// amzTime parses the X-Amz-Date of a presigned URL.
func amzTime(t testing.TB, rawURL string) time.Time {
	t.Helper()
	d, err := time.Parse("20060102T150405Z", param(t, rawURL, "X-Amz-Date"))
	if err != nil {
		t.Fatalf("X-Amz-Date of %s: %v", rawURL, err)
	}
	return d
}

// wantExpired checks AWS's answer to an expired presigned URL.
func wantExpired(t testing.TB, what string, r response, rawURL string) {
	t.Helper()
	e := wantError(t, what, r, 403, "AccessDenied", "Request has expired")
	exp := param(t, rawURL, "X-Amz-Expires")
	if e.Fields["X-Amz-Expires"] != exp {
		t.Errorf("%s: <X-Amz-Expires> %q, want %q", what, e.Fields["X-Amz-Expires"], exp)
	}
	d, _ := time.ParseDuration(exp + "s")
	wantExp := amzTime(t, rawURL).Add(d).UTC().Format("2006-01-02T15:04:05Z")
	if e.Fields["Expires"] != wantExp {
		t.Errorf("%s: <Expires> %q, want %q", what, e.Fields["Expires"], wantExp)
	}
	st, err := time.Parse("2006-01-02T15:04:05Z", e.Fields["ServerTime"])
	if err != nil {
		t.Errorf("%s: <ServerTime> %q is not an ISO 8601 UTC time: %v", what, e.Fields["ServerTime"], err)
	} else if exp, _ := time.Parse("2006-01-02T15:04:05Z", wantExp); st.Before(exp) {
		t.Errorf("%s: <ServerTime> %s, want now (after %s)", what, e.Fields["ServerTime"], wantExp)
	} else if date, err := http.ParseTime(r.Header.Get("Date")); err != nil || st.Sub(date).Abs() > time.Second {
		// "Now" is when the server answered (its Date header), not when the
		// test looks: a busy machine may take long between the two.
		t.Errorf("%s: <ServerTime> %s, want the response's time (Date %q)", what, e.Fields["ServerTime"], r.Header.Get("Date"))
	}
}

// TestExpiry covers the validity window of presigned URLs: expiry checked when
// the request arrives, the one-week maximum, dates in the future.
func TestExpiry(t *testing.T) {
	t.Parallel()
	srv := startInProcess(t)
	c := sdkClient(t, srv, true)
	hc := anon(srv)
	b := s3test.NewBucket(t, c, "expiry")
	small := s3test.RandBytes(1, 3000)
	s3test.Put(t, c, b, "small", small)
	objURL := srv.URL + "/" + b + "/small"

	t.Run("OneSecond", func(t *testing.T) {
		t.Parallel()
		pc := s3.NewPresignClient(c, s3.WithPresignExpires(time.Second))
		var p *v4.PresignedHTTPRequest
		for attempt := 1; ; attempt++ {
			afterSecondBoundary()
			var err error
			p, err = pc.PresignGetObject(s3test.Ctx(t), &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String("small")})
			if err != nil {
				t.Fatal(err)
			}
			if param(t, p.URL, "X-Amz-Expires") != "1" {
				t.Fatalf("X-Amz-Expires %q, want 1", param(t, p.URL, "X-Amz-Expires"))
			}
			r := do(t, hc, "GET", p.URL, nil, nil)
			if r.Status != 200 && attempt < 3 && time.Since(amzTime(t, p.URL)) >= time.Second {
				// This machine was too slow to use the URL within its
				// second: that says nothing about the server; try again.
				t.Logf("attempt %d: the 1-second URL was used %v after signing; retrying", attempt, time.Since(amzTime(t, p.URL)))
				continue
			}
			wantStatus(t, "1-second URL used at once", r, 200)
			s3test.EqualBytes(t, "1-second URL body", r.Body, small)
			break
		}
		time.Sleep(time.Until(amzTime(t, p.URL).Add(2100 * time.Millisecond)))
		r := do(t, hc, "GET", p.URL, nil, nil)
		wantExpired(t, "1-second URL after 2 s", r, p.URL)
		if strings.Contains(string(r.Body), string(small[:100])) {
			t.Error("the expired answer carries object data")
		}
	})

	t.Run("WeekBoundary", func(t *testing.T) {
		t.Parallel()
		u, _ := presignV4(t, srv, "GET", objURL, 604800, time.Now(), nil)
		r := do(t, hc, "GET", u, nil, nil)
		wantStatus(t, "X-Amz-Expires=604800", r, 200)
		s3test.EqualBytes(t, "X-Amz-Expires=604800 body", r.Body, small)
		// A week-long URL signed two days ago is still good: presigned URLs
		// have no clock-skew limit into the past.
		u, _ = presignV4(t, srv, "GET", objURL, 604800, time.Now().Add(-48*time.Hour), nil)
		r = do(t, hc, "GET", u, nil, nil)
		wantStatus(t, "week-long URL signed 2 days ago", r, 200)
		// An hour-long URL signed two hours ago has expired.
		u, _ = presignV4(t, srv, "GET", objURL, 3600, time.Now().Add(-2*time.Hour), nil)
		wantExpired(t, "1-hour URL signed 2 hours ago", do(t, hc, "GET", u, nil, nil), u)

		for _, tc := range []struct{ expires, msg string }{
			{"604801", "X-Amz-Expires must be less than a week (in seconds) that is; 604800"},
			{"9999999999", "X-Amz-Expires must be less than a week (in seconds) that is; 604800"},
			{"-1", "X-Amz-Expires must be non-negative"},
			{"abc", "X-Amz-Expires should be a number"},
		} {
			u, _ := presignV4(t, srv, "GET", objURL, tc.expires, time.Now(), nil)
			r := do(t, hc, "GET", u, nil, nil)
			wantError(t, "X-Amz-Expires="+tc.expires, r, 400, "AuthorizationQueryParametersError", tc.msg)
		}
		// X-Amz-Expires=0 is a number in range, but the URL is valid for no
		// time at all: S3 answers AccessDenied "Request has expired".
		u, _ = presignV4(t, srv, "GET", objURL, "0", time.Now(), nil)
		wantExpired(t, "X-Amz-Expires=0", do(t, hc, "GET", u, nil, nil), u)
		// Should the SDK's PresignClient issue a 604801 s URL, the server
		// refuses it the same way.
		pc := s3.NewPresignClient(c, s3.WithPresignExpires(604801*time.Second))
		p, err := pc.PresignGetObject(s3test.Ctx(t), &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String("small")})
		if err == nil {
			r := do(t, hc, "GET", p.URL, nil, nil)
			wantError(t, "SDK URL with 604801 s", r, 400, "AuthorizationQueryParametersError", "X-Amz-Expires must be less than a week (in seconds) that is; 604800")
		}
	})

	t.Run("FutureDate", func(t *testing.T) {
		t.Parallel()
		u, _ := presignV4(t, srv, "GET", objURL, 3600, time.Now().Add(20*time.Minute), nil)
		r := do(t, hc, "GET", u, nil, nil)
		wantError(t, "X-Amz-Date 20 min ahead", r, 403, "AccessDenied", "Request is not valid yet")
		if strings.Contains(string(r.Body), string(small[:100])) {
			t.Error("the not-yet-valid answer carries object data")
		}
		// Within the 15 minutes of allowed clock skew it is accepted.
		u, _ = presignV4(t, srv, "GET", objURL, 3600, time.Now().Add(5*time.Minute), nil)
		r = do(t, hc, "GET", u, nil, nil)
		wantStatus(t, "X-Amz-Date 5 min ahead", r, 200)
		s3test.EqualBytes(t, "X-Amz-Date 5 min ahead body", r.Body, small)
	})

	t.Run("SlowDownloadOutlivesURL", func(t *testing.T) {
		t.Parallel()
		// Large enough that the server is still writing when the URL
		// expires, with a small receive buffer on our side.
		big := s3test.RandBytes(2, 24<<20)
		s3test.Put(t, c, b, "big", big)
		slow := &http.Client{Transport: slowTransport(srv), Timeout: time.Minute}
		pc := s3.NewPresignClient(c, s3.WithPresignExpires(2*time.Second))
		afterSecondBoundary()
		p, err := pc.PresignGetObject(s3test.Ctx(t), &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String("big")})
		if err != nil {
			t.Fatal(err)
		}
		expiry := amzTime(t, p.URL).Add(2 * time.Second)
		resp, err := slow.Get(p.URL)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		got := make([]byte, 0, len(big))
		buf := make([]byte, 64<<10)
		const pace = 3 * time.Second
		for {
			n, err := resp.Body.Read(buf)
			got = append(got, buf[:n]...)
			if err == io.EOF {
				break
			}
			if err != nil {
				resp.Body.Close()
				t.Fatalf("slow download broke after %d bytes, %v after the URL expired: %v", len(got), time.Since(expiry), err)
			}
			// Stay on schedule to take about pace for the whole body.
			due := start.Add(time.Duration(float64(pace) * float64(len(got)) / float64(len(big))))
			time.Sleep(time.Until(due))
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("slow download: status %d", resp.StatusCode)
		}
		if !time.Now().After(expiry.Add(500 * time.Millisecond)) {
			t.Fatalf("the download ended before the URL expired (%v); the test proves nothing", time.Until(expiry))
		}
		s3test.EqualBytes(t, "slow download outliving its URL", got, big)

		// Resuming it with a Range request is a new request: expired.
		hdr := http.Header{"Range": {"bytes=12582912-"}}
		r := do(t, hc, "GET", p.URL, hdr, nil)
		wantExpired(t, "Range resume after expiry", r, p.URL)
		// The same Range through a fresh URL works (so the 403 above is the
		// expiry, not the Range).
		fresh := mustPresignGet(t, s3.NewPresignClient(c), b, "big")
		r = do(t, hc, "GET", fresh, hdr, nil)
		wantStatus(t, "Range through a fresh URL", r, 206)
		s3test.EqualBytes(t, "Range through a fresh URL", r.Body, big[12582912:])
	})
}

// slowTransport is a transport whose connections have a small receive buffer,
// so a slow reader really holds the server back.
func slowTransport(srv *testserver.Server) *http.Transport {
	tr := loopbackTransport(srv)
	d := &net.Dialer{Timeout: 10 * time.Second, Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 32<<10)
		})
		if err != nil {
			return err
		}
		return serr
	}}
	tr.DialContext = func(c context.Context, network, _ string) (net.Conn, error) {
		return d.DialContext(c, network, srv.Addr)
	}
	tr.DisableCompression = true
	return tr
}

// TestTampering changes each signed part of presigned URLs: every change is
// refused and nothing is read or written.
func TestTampering(t *testing.T) {
	t.Parallel()
	srv := startInProcess(t)
	c := sdkClient(t, srv, true)
	pc := s3.NewPresignClient(c, s3.WithPresignExpires(10*time.Minute))
	hc := anon(srv)
	b := s3test.NewBucket(t, c, "tamper")
	b2 := s3test.NewBucket(t, c, "tamper-other")
	orig := s3test.RandBytes(3, 100<<10)
	s3test.Put(t, c, b, "orig", orig)

	t.Run("PUT", func(t *testing.T) {
		t.Parallel()
		p, err := pc.PresignPutObject(s3test.Ctx(t), &s3.PutObjectInput{
			Bucket: aws.String(b), Key: aws.String("target"),
			ContentType: aws.String("text/plain"), Metadata: map[string]string{"owner": "alice"},
		})
		if err != nil {
			t.Fatal(err)
		}
		sh := param(t, p.URL, "X-Amz-SignedHeaders")
		if sh != "content-type;host;x-amz-meta-owner" {
			t.Fatalf("the SDK signed %q, want content-type;host;x-amz-meta-owner", sh)
		}
		body := s3test.RandBytes(4, 90<<10)
		hdr := headersOf(p)
		with := func(k, v string) http.Header {
			h := hdr.Clone()
			h.Set(k, v)
			return h
		}
		date := amzTime(t, p.URL)
		otherDate := date.Add(time.Second)
		if otherDate.Day() != date.Day() {
			otherDate = date.Add(-time.Second)
		}
		sig := param(t, p.URL, "X-Amz-Signature")
		flipped := sig[:len(sig)-1] + "0"
		if sig[len(sig)-1] == '0' {
			flipped = sig[:len(sig)-1] + "1"
		}
		cred := param(t, p.URL, "X-Amz-Credential")
		bucketSwap := strings.Replace(p.URL, "/"+b+"/", "/"+b2+"/", 1)
		keySwap := strings.Replace(p.URL, "/target?", "/target2?", 1)
		cases := []struct {
			name, method, url string
			hdr               http.Header
			status            int
			code, msg         string
		}{
			{"method POST", "POST", p.URL, hdr, 403, "SignatureDoesNotMatch", ""},
			{"bucket", "PUT", bucketSwap, hdr, 403, "SignatureDoesNotMatch", ""},
			{"key", "PUT", keySwap, hdr, 403, "SignatureDoesNotMatch", ""},
			{"X-Amz-Date", "PUT", setParam(t, p.URL, "X-Amz-Date", otherDate.Format("20060102T150405Z")), hdr, 403, "SignatureDoesNotMatch", ""},
			{"X-Amz-Expires", "PUT", setParam(t, p.URL, "X-Amz-Expires", "599"), hdr, 403, "SignatureDoesNotMatch", ""},
			{"X-Amz-SignedHeaders host only", "PUT", setParam(t, p.URL, "X-Amz-SignedHeaders", "host"), http.Header{"Content-Type": {"text/plain"}}, 403, "SignatureDoesNotMatch", ""},
			{"X-Amz-SignedHeaders without meta", "PUT", setParam(t, p.URL, "X-Amz-SignedHeaders", "content-type%3Bhost"), http.Header{"Content-Type": {"text/plain"}}, 403, "SignatureDoesNotMatch", ""},
			{"X-Amz-Signature", "PUT", setParam(t, p.URL, "X-Amz-Signature", flipped), hdr, 403, "SignatureDoesNotMatch", ""},
			{"X-Amz-Credential date", "PUT", setParam(t, p.URL, "X-Amz-Credential", url.QueryEscape(strings.Replace(cred, date.Format("20060102"), date.AddDate(0, 0, -1).Format("20060102"), 1))), hdr, 400, "AuthorizationQueryParametersError", ""},
			{"X-Amz-Credential region", "PUT", setParam(t, p.URL, "X-Amz-Credential", url.QueryEscape(strings.Replace(cred, "/"+srv.Region+"/", "/eu-west-1/", 1))), hdr, 400, "AuthorizationQueryParametersError", "Error parsing the X-Amz-Credential parameter; the region 'eu-west-1' is wrong; expecting '" + srv.Region + "'"},
			{"X-Amz-Credential access key", "PUT", setParam(t, p.URL, "X-Amz-Credential", url.QueryEscape(strings.Replace(cred, srv.AccessKey, "AKIAOTHERKEY00000000", 1))), hdr, 403, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records."},
			{"X-Amz-Algorithm", "PUT", setParam(t, p.URL, "X-Amz-Algorithm", "AWS4-HMAC-SHA512"), hdr, 400, "AuthorizationQueryParametersError", `X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"`},
			{"signed query param x-id", "PUT", setParam(t, p.URL, "x-id", "GetObject"), hdr, 403, "SignatureDoesNotMatch", ""},
			{"added query param", "PUT", p.URL + "&foo=bar", hdr, 403, "SignatureDoesNotMatch", ""},
			{"added x-amz-acl query param", "PUT", p.URL + "&x-amz-acl=public-read", hdr, 403, "SignatureDoesNotMatch", ""},
			{"signed header content-type changed", "PUT", p.URL, with("Content-Type", "text/html"), 403, "SignatureDoesNotMatch", ""},
			{"signed header content-type missing", "PUT", p.URL, http.Header{"X-Amz-Meta-Owner": {"alice"}}, 403, "SignatureDoesNotMatch", ""},
			{"signed header x-amz-meta-owner changed", "PUT", p.URL, with("X-Amz-Meta-Owner", "mallory"), 403, "SignatureDoesNotMatch", ""},
			{"unsigned x-amz header added", "PUT", p.URL, with("X-Amz-Meta-Extra", "1"), 403, "AccessDenied", "There were headers present in the request which were not signed"},
		}
		for _, tc := range cases {
			r := do(t, hc, tc.method, tc.url, tc.hdr, body)
			e := wantError(t, "tampered "+tc.name, r, tc.status, tc.code, tc.msg)
			if tc.code == "SignatureDoesNotMatch" && (e.Fields["StringToSign"] == "" || e.Fields["CanonicalRequest"] == "") {
				t.Errorf("tampered %s: SignatureDoesNotMatch without StringToSign/CanonicalRequest (AWS sends them)", tc.name)
			}
		}
		wantAbsent(t, c, b, "target")
		wantAbsent(t, c, b, "target2")
		wantAbsent(t, c, b2, "target")

		// The URL as issued still works: the refusals were the tampering.
		r := do(t, hc, "PUT", p.URL, hdr, body)
		wantStatus(t, "untampered PUT", r, 200)
		out := wantObject(t, c, b, "target", body)
		if aws.ToString(out.ContentType) != "text/plain" || out.Metadata["owner"] != "alice" {
			t.Errorf("stored Content-Type %q metadata %v", aws.ToString(out.ContentType), out.Metadata)
		}
	})

	// A session token the server never issued, signed into the URL as
	// temporary credentials would be: verified, not ignored.
	t.Run("SecurityToken", func(t *testing.T) {
		t.Parallel()
		req, err := http.NewRequest("PUT", srv.URL+"/"+b+"/token-target?X-Amz-Expires=600", nil)
		if err != nil {
			t.Fatal(err)
		}
		creds := aws.Credentials{AccessKeyID: srv.AccessKey, SecretAccessKey: srv.SecretKey, SessionToken: "FwoGZXIvYXdzEBogus//token=="}
		u, _, err := v4.NewSigner().PresignHTTP(context.Background(), creds, req, "UNSIGNED-PAYLOAD", "s3", srv.Region, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if param(t, u, "X-Amz-Security-Token") == "" {
			t.Fatalf("the signer put no X-Amz-Security-Token in %s", u)
		}
		r := do(t, hc, "PUT", u, nil, []byte("with a forged token"))
		wantError(t, "presigned PUT with an unknown session token", r, 400, "InvalidToken", "The provided token is malformed or otherwise invalid.")
		wantAbsent(t, c, b, "token-target")
	})

	t.Run("GET", func(t *testing.T) {
		t.Parallel()
		p, err := pc.PresignGetObject(s3test.Ctx(t), &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String("orig"), ResponseContentType: aws.String("text/plain")})
		if err != nil {
			t.Fatal(err)
		}
		// The GET URL used for writes: nothing is written or deleted.
		for _, m := range []string{"PUT", "DELETE", "HEAD", "POST"} {
			r := do(t, hc, m, p.URL, nil, s3test.RandBytes(5, 1000))
			if m == "HEAD" {
				if r.Status != 403 {
					t.Errorf("GET URL used with HEAD: %d, want 403", r.Status)
				}
				continue
			}
			wantError(t, "GET URL used with "+m, r, 403, "SignatureDoesNotMatch", "")
		}
		wantObject(t, c, b, "orig", orig)

		for _, tc := range []struct{ name, url string }{
			{"signed response-content-type", setParam(t, p.URL, "response-content-type", "text%2Fhtml")},
			{"key", strings.Replace(p.URL, "/orig?", "/orig2?", 1)},
			{"bucket", strings.Replace(p.URL, "/"+b+"/", "/"+b2+"/", 1)},
			{"added response-content-disposition", p.URL + "&response-content-disposition=attachment"},
		} {
			r := do(t, hc, "GET", tc.url, nil, nil)
			wantError(t, "tampered GET "+tc.name, r, 403, "SignatureDoesNotMatch", "")
			if strings.Contains(string(r.Body), string(orig[:64])) {
				t.Errorf("tampered GET %s: the answer carries object data", tc.name)
			}
		}
		r := do(t, hc, "GET", p.URL, nil, nil)
		wantStatus(t, "untampered GET", r, 200)
		s3test.EqualBytes(t, "untampered GET", r.Body, orig)
		if r.Header.Get("Content-Type") != "text/plain" {
			t.Errorf("response-content-type: Content-Type %q", r.Header.Get("Content-Type"))
		}
	})
}

// TestPresignedOperations covers response-* overrides, exact PUT contents,
// and presigned ListObjectsV2 and DeleteObject.
func TestPresignedOperations(t *testing.T) {
	t.Parallel()
	srv := startInProcess(t)
	c := sdkClient(t, srv, true)
	pc := s3.NewPresignClient(c, s3.WithPresignExpires(10*time.Minute))
	hc := anon(srv)
	b := s3test.NewBucket(t, c, "ops")
	body := s3test.RandBytes(6, 4096)
	if _, err := c.PutObject(s3test.Ctx(t), &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("share/file.bin"), Body: strings.NewReader(string(body)), ContentType: aws.String("application/octet-stream")}); err != nil {
		t.Fatal(err)
	}

	t.Run("ResponseOverrides", func(t *testing.T) {
		t.Parallel()
		exp := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
		p, err := pc.PresignGetObject(s3test.Ctx(t), &s3.GetObjectInput{
			Bucket: aws.String(b), Key: aws.String("share/file.bin"),
			ResponseContentDisposition: aws.String(`attachment; filename="quarterly report.pdf"`),
			ResponseContentType:        aws.String("application/pdf"),
			ResponseContentLanguage:    aws.String("fr-CA"),
			ResponseContentEncoding:    aws.String("identity"),
			ResponseCacheControl:       aws.String("no-store, max-age=0"),
			ResponseExpires:            aws.Time(exp),
		})
		if err != nil {
			t.Fatal(err)
		}
		r := do(t, hc, "GET", p.URL, nil, nil)
		wantStatus(t, "GET with response-* overrides", r, 200)
		s3test.EqualBytes(t, "GET with overrides", r.Body, body)
		for k, want := range map[string]string{
			"Content-Disposition": `attachment; filename="quarterly report.pdf"`,
			"Content-Type":        "application/pdf",
			"Content-Language":    "fr-CA",
			"Content-Encoding":    "identity",
			"Cache-Control":       "no-store, max-age=0",
			"Expires":             exp.Format(http.TimeFormat),
		} {
			if got := r.Header.Get(k); got != want {
				t.Errorf("override %s: got %q, want %q", k, got, want)
			}
		}
		// Without overrides the stored headers come back.
		r = do(t, hc, "GET", mustPresignGet(t, pc, b, "share/file.bin"), nil, nil)
		if r.Header.Get("Content-Type") != "application/octet-stream" || r.Header.Get("Content-Disposition") != "" {
			t.Errorf("plain GET: Content-Type %q Content-Disposition %q", r.Header.Get("Content-Type"), r.Header.Get("Content-Disposition"))
		}
	})

	t.Run("PutStoresExactly", func(t *testing.T) {
		t.Parallel()
		for _, tc := range []struct {
			key  string
			body []byte
		}{
			{"exact/empty", []byte{}},
			{"exact/unicode ✓ & spaces+plus=%.txt", []byte("hello\r\nworld\x00\xff")},
			{"exact/200k", s3test.RandBytes(7, 200<<10)},
			{"exact/sub-delims !*'();:@&=+$,~[]{}^`|<>\"#?.txt", []byte("delims")},
			{"exact//double//slash/./dot/../end", []byte("slashes")},
			{"exact/percent%2Fnot-a-slash %25 %", []byte("percent")},
		} {
			p, err := pc.PresignPutObject(s3test.Ctx(t), &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String(tc.key)})
			if err != nil {
				t.Fatal(err)
			}
			r := do(t, hc, "PUT", p.URL, headersOf(p), tc.body)
			wantStatus(t, "presigned PUT "+tc.key, r, 200)
			out := wantObject(t, c, b, tc.key, tc.body)
			if aws.ToString(out.ETag) != s3test.Quoted(s3test.MD5Hex(tc.body)) || aws.ToInt64(out.ContentLength) != int64(len(tc.body)) {
				t.Errorf("%q: ETag %s size %d", tc.key, aws.ToString(out.ETag), aws.ToInt64(out.ContentLength))
			}
		}
		// Overwriting through a second presigned PUT replaces the bytes.
		p, _ := pc.PresignPutObject(s3test.Ctx(t), &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("exact/200k")})
		nb := s3test.RandBytes(8, 70_000)
		wantStatus(t, "presigned overwrite", do(t, hc, "PUT", p.URL, headersOf(p), nb), 200)
		wantObject(t, c, b, "exact/200k", nb)
	})

	t.Run("HeadBucket", func(t *testing.T) {
		t.Parallel()
		p, err := pc.PresignHeadBucket(s3test.Ctx(t), &s3.HeadBucketInput{Bucket: aws.String(b)})
		if err != nil {
			t.Fatal(err)
		}
		wantStatus(t, "presigned HeadBucket", do(t, hc, "HEAD", p.URL, nil, nil), 200)
		p, err = pc.PresignHeadBucket(s3test.Ctx(t), &s3.HeadBucketInput{Bucket: aws.String(s3test.BucketName("absent"))})
		if err != nil {
			t.Fatal(err)
		}
		wantStatus(t, "presigned HeadBucket of a missing bucket", do(t, hc, "HEAD", p.URL, nil, nil), 404)
	})

	t.Run("ConditionalAndRange", func(t *testing.T) {
		t.Parallel()
		// Standard request headers need not be signed: a browser may add
		// Range or If-None-Match to a presigned GET.
		u := mustPresignGet(t, pc, b, "share/file.bin")
		r := do(t, hc, "GET", u, http.Header{"Range": {"bytes=100-199"}}, nil)
		wantStatus(t, "presigned GET with Range", r, 206)
		s3test.EqualBytes(t, "presigned GET with Range", r.Body, body[100:200])
		if r.Header.Get("Content-Range") != "bytes 100-199/4096" {
			t.Errorf("Content-Range %q", r.Header.Get("Content-Range"))
		}
		r = do(t, hc, "GET", u, http.Header{"If-None-Match": {s3test.Quoted(s3test.MD5Hex(body))}}, nil)
		wantStatus(t, "presigned GET with a matching If-None-Match", r, 304)
	})

	t.Run("ListObjectsV2AndDelete", func(t *testing.T) {
		t.Parallel()
		for _, k := range []string{"list/a", "list/b c", "list/d/e"} {
			s3test.Put(t, c, b, k, []byte(k))
		}
		u, _ := presignV4(t, srv, "GET", srv.URL+"/"+b+"?list-type=2&prefix=list%2F&delimiter=%2F", 600, time.Now(), nil)
		r := do(t, hc, "GET", u, nil, nil)
		wantStatus(t, "presigned ListObjectsV2", r, 200)
		var lr struct {
			Name           string
			Prefix         string
			KeyCount       int
			Contents       []struct{ Key string }
			CommonPrefixes []struct{ Prefix string }
		}
		if err := xml.Unmarshal(r.Body, &lr); err != nil {
			t.Fatalf("ListObjectsV2 answer: %v\n%s", err, r.Body)
		}
		var keys []string
		for _, o := range lr.Contents {
			keys = append(keys, o.Key)
		}
		if lr.Name != b || lr.Prefix != "list/" || strings.Join(keys, "|") != "list/a|list/b c" || len(lr.CommonPrefixes) != 1 || lr.CommonPrefixes[0].Prefix != "list/d/" || lr.KeyCount != 3 {
			t.Errorf("presigned ListObjectsV2: %+v", lr)
		}
		// A changed prefix is another request.
		r = do(t, hc, "GET", setParam(t, u, "prefix", "share%2F"), nil, nil)
		wantError(t, "ListObjectsV2 with another prefix", r, 403, "SignatureDoesNotMatch", "")

		pd, err := pc.PresignDeleteObject(s3test.Ctx(t), &s3.DeleteObjectInput{Bucket: aws.String(b), Key: aws.String("list/a")})
		if err != nil {
			t.Fatal(err)
		}
		wantStatus(t, "presigned DeleteObject", do(t, hc, "DELETE", pd.URL, nil, nil), 204)
		wantAbsent(t, c, b, "list/a")
		// Deleting again is still 204, as in S3.
		wantStatus(t, "presigned DeleteObject again", do(t, hc, "DELETE", pd.URL, nil, nil), 204)
		wantObject(t, c, b, "list/b c", []byte("list/b c"))
	})
}
