package presigned

import (
	"github.com/postern/postern/internal/s3test"

	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

const (
	appOrigin  = "https://app.example.com"
	evilOrigin = "https://evil.example.net"
	deniedCORS = "CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec."
)

// preflight sends a browser-style OPTIONS.
func preflight(t testing.TB, hc *http.Client, url, origin, method, headers string) response {
	t.Helper()
	h := http.Header{"Origin": {origin}, "Access-Control-Request-Method": {method}}
	if headers != "" {
		h.Set("Access-Control-Request-Headers", headers)
	}
	return do(t, hc, "OPTIONS", url, h, nil)
}

// wantHeaders fails for each header of want that r does not carry exactly
// ("" means absent).
func wantHeaders(t testing.TB, what string, r response, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got := r.Header.Get(k); got != v {
			t.Errorf("%s: %s = %q, want %q", what, k, got, v)
		}
	}
}

// TestCORS configures CORS with the SDK and drives it like a browser using
// presigned URLs: preflights, actual requests, configuration round trip.
func TestCORS(t *testing.T) {
	t.Parallel()
	srv := startInProcess(t)
	c := sdkClient(t, srv, true)
	pc := s3.NewPresignClient(c, s3.WithPresignExpires(10*time.Minute))
	hc := anon(srv)
	b := s3test.NewBucket(t, c, "cors")
	body := s3test.RandBytes(91, 2000)
	s3test.Put(t, c, b, "shared.txt", body)

	rules := []types.CORSRule{
		{
			ID:             aws.String("app"),
			AllowedOrigins: []string{appOrigin},
			AllowedMethods: []string{"GET", "PUT", "POST"},
			AllowedHeaders: []string{"content-type", "x-amz-meta-*"},
			ExposeHeaders:  []string{"ETag", "x-amz-request-id"},
			MaxAgeSeconds:  aws.Int32(600),
		},
		{
			AllowedOrigins: []string{"*"},
			AllowedMethods: []string{"GET", "HEAD"},
		},
	}
	// No configuration yet.
	_, err := c.GetBucketCors(s3test.Ctx(t), &s3.GetBucketCorsInput{Bucket: aws.String(b)})
	s3test.WantAPIError(t, err, 404, "NoSuchCORSConfiguration")
	r := preflight(t, hc, srv.URL+"/"+b+"/shared.txt", appOrigin, "GET", "")
	wantError(t, "preflight before PutBucketCors", r, 403, "AccessForbidden", "CORSResponse: CORS is not enabled for this bucket.")

	if _, err := c.PutBucketCors(s3test.Ctx(t), &s3.PutBucketCorsInput{Bucket: aws.String(b), CORSConfiguration: &types.CORSConfiguration{CORSRules: rules}}); err != nil {
		t.Fatalf("PutBucketCors: %v", err)
	}
	got, err := c.GetBucketCors(s3test.Ctx(t), &s3.GetBucketCorsInput{Bucket: aws.String(b)})
	if err != nil {
		t.Fatalf("GetBucketCors: %v", err)
	}
	if len(got.CORSRules) != 2 {
		t.Fatalf("GetBucketCors: %d rules, want 2", len(got.CORSRules))
	}
	g := got.CORSRules[0]
	if aws.ToString(g.ID) != "app" || strings.Join(g.AllowedOrigins, ",") != appOrigin || strings.Join(g.AllowedMethods, ",") != "GET,PUT,POST" ||
		strings.Join(g.AllowedHeaders, ",") != "content-type,x-amz-meta-*" || strings.Join(g.ExposeHeaders, ",") != "ETag,x-amz-request-id" || aws.ToInt32(g.MaxAgeSeconds) != 600 {
		t.Errorf("GetBucketCors rule 1 = %+v", g)
	}
	g = got.CORSRules[1]
	if strings.Join(g.AllowedOrigins, ",") != "*" || strings.Join(g.AllowedMethods, ",") != "GET,HEAD" || g.MaxAgeSeconds != nil || len(g.AllowedHeaders) != 0 {
		t.Errorf("GetBucketCors rule 2 = %+v", g)
	}

	pp, err := pc.PresignPutObject(s3test.Ctx(t), &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("from-browser.txt"), ContentType: aws.String("text/plain")})
	if err != nil {
		t.Fatal(err)
	}

	// The browser's preflight for a presigned PUT with a Content-Type and
	// metadata, sent to the presigned URL itself.
	r = preflight(t, hc, pp.URL, appOrigin, "PUT", "Content-Type, X-Amz-Meta-Owner")
	wantStatus(t, "preflight PUT from the app", r, 200)
	wantHeaders(t, "preflight PUT from the app", r, map[string]string{
		"Access-Control-Allow-Origin":      appOrigin,
		"Access-Control-Allow-Methods":     "GET, PUT, POST",
		"Access-Control-Allow-Headers":     "content-type, x-amz-meta-owner",
		"Access-Control-Max-Age":           "600",
		"Access-Control-Expose-Headers":    "ETag, x-amz-request-id",
		"Access-Control-Allow-Credentials": "true",
	})
	if !strings.Contains(strings.Join(r.Header.Values("Vary"), ","), "Origin") {
		t.Errorf("preflight: Vary %q lacks Origin", r.Header.Values("Vary"))
	}
	// The same preflight in virtual-host style.
	_, port, _ := net.SplitHostPort(srv.Addr)
	r = preflight(t, hc, "http://"+b+"."+vhostDomain+":"+port+"/from-browser.txt", appOrigin, "PUT", "content-type")
	wantStatus(t, "virtual-host preflight", r, 200)
	wantHeaders(t, "virtual-host preflight", r, map[string]string{"Access-Control-Allow-Origin": appOrigin, "Access-Control-Allow-Headers": "content-type"})
	// The wildcard rule answers GET from any origin, with "*".
	r = preflight(t, hc, srv.URL+"/"+b+"/shared.txt", evilOrigin, "GET", "")
	wantStatus(t, "preflight GET from another origin", r, 200)
	wantHeaders(t, "preflight GET from another origin", r, map[string]string{
		"Access-Control-Allow-Origin":      "*",
		"Access-Control-Allow-Methods":     "GET, HEAD",
		"Access-Control-Allow-Credentials": "",
		"Access-Control-Max-Age":           "",
	})
	for _, tc := range []struct{ name, origin, method, headers string }{
		{"PUT from a disallowed origin", evilOrigin, "PUT", "content-type"},
		{"DELETE from the app", appOrigin, "DELETE", ""},
		{"PUT with a header no rule allows", appOrigin, "PUT", "content-type,x-custom"},
		{"origin differing by port", appOrigin + ":8443", "PUT", ""},
	} {
		r := preflight(t, hc, pp.URL, tc.origin, tc.method, tc.headers)
		wantError(t, "preflight "+tc.name, r, 403, "AccessForbidden", deniedCORS)
		if r.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("preflight %s: refused but Access-Control-Allow-Origin %q", tc.name, r.Header.Get("Access-Control-Allow-Origin"))
		}
	}
	r = do(t, hc, "OPTIONS", srv.URL+"/"+b+"/shared.txt", http.Header{"Access-Control-Request-Method": {"GET"}}, nil)
	wantError(t, "preflight without Origin", r, 400, "BadRequest", "")

	// Actual requests carry the CORS headers.
	r = do(t, hc, "PUT", pp.URL, http.Header{"Origin": {appOrigin}, "Content-Type": {"text/plain"}}, []byte("typed in a browser"))
	wantStatus(t, "presigned PUT with Origin", r, 200)
	wantHeaders(t, "presigned PUT with Origin", r, map[string]string{
		"Access-Control-Allow-Origin":   appOrigin,
		"Access-Control-Expose-Headers": "ETag, x-amz-request-id",
	})
	wantObject(t, c, b, "from-browser.txt", []byte("typed in a browser"))

	pg := mustPresignGet(t, pc, b, "shared.txt")
	r = do(t, hc, "GET", pg, http.Header{"Origin": {appOrigin}}, nil)
	wantStatus(t, "presigned GET with Origin", r, 200)
	s3test.EqualBytes(t, "presigned GET with Origin", r.Body, body)
	wantHeaders(t, "presigned GET with Origin", r, map[string]string{"Access-Control-Allow-Origin": appOrigin, "Access-Control-Allow-Credentials": "true"})
	r = do(t, hc, "GET", pg, http.Header{"Origin": {evilOrigin}}, nil)
	wantStatus(t, "presigned GET from another origin", r, 200)
	wantHeaders(t, "presigned GET from another origin", r, map[string]string{"Access-Control-Allow-Origin": "*"})
	r = do(t, hc, "GET", pg, nil, nil)
	wantHeaders(t, "presigned GET without Origin", r, map[string]string{"Access-Control-Allow-Origin": ""})

	ph, err := pc.PresignHeadObject(s3test.Ctx(t), &s3.HeadObjectInput{Bucket: aws.String(b), Key: aws.String("shared.txt")})
	if err != nil {
		t.Fatal(err)
	}
	r = do(t, hc, "HEAD", ph.URL, http.Header{"Origin": {evilOrigin}}, nil)
	wantStatus(t, "presigned HEAD with Origin", r, 200)
	wantHeaders(t, "presigned HEAD with Origin", r, map[string]string{"Access-Control-Allow-Origin": "*"})

	// A browser POST upload from the app's page.
	f := postPolicy(t, srv, time.Now().Add(5*time.Minute), []any{map[string]string{"bucket": b}, []any{"starts-with", "$key", "post/"}}, []formField{{"key", "post/p.txt"}})
	r = postFormWithOrigin(t, hc, srv.URL+"/"+b+"/", f, []byte("posted"), appOrigin)
	wantStatus(t, "POST upload with Origin", r, 204)
	wantHeaders(t, "POST upload with Origin", r, map[string]string{"Access-Control-Allow-Origin": appOrigin})

	// DELETE is in no rule: served normally, with no CORS headers.
	pd, err := pc.PresignDeleteObject(s3test.Ctx(t), &s3.DeleteObjectInput{Bucket: aws.String(b), Key: aws.String("post/p.txt")})
	if err != nil {
		t.Fatal(err)
	}
	r = do(t, hc, "DELETE", pd.URL, http.Header{"Origin": {appOrigin}}, nil)
	wantStatus(t, "presigned DELETE with Origin", r, 204)
	wantHeaders(t, "presigned DELETE with Origin", r, map[string]string{"Access-Control-Allow-Origin": ""})

	// DeleteBucketCors: preflights are refused again.
	if _, err := c.DeleteBucketCors(s3test.Ctx(t), &s3.DeleteBucketCorsInput{Bucket: aws.String(b)}); err != nil {
		t.Fatalf("DeleteBucketCors: %v", err)
	}
	r = preflight(t, hc, pp.URL, appOrigin, "PUT", "content-type")
	wantError(t, "preflight after DeleteBucketCors", r, 403, "AccessForbidden", "CORSResponse: CORS is not enabled for this bucket.")
	_, err = c.GetBucketCors(s3test.Ctx(t), &s3.GetBucketCorsInput{Bucket: aws.String(b)})
	s3test.WantAPIError(t, err, 404, "NoSuchCORSConfiguration")
	r = do(t, hc, "GET", pg, http.Header{"Origin": {appOrigin}}, nil)
	wantStatus(t, "GET with Origin after DeleteBucketCors", r, 200)
	wantHeaders(t, "GET with Origin after DeleteBucketCors", r, map[string]string{"Access-Control-Allow-Origin": ""})
	// A preflight for a bucket that does not exist.
	r = preflight(t, hc, srv.URL+"/"+s3test.BucketName("cors-absent")+"/k", appOrigin, "GET", "")
	wantError(t, "preflight on a missing bucket", r, 403, "AccessForbidden", "")
}

// postFormWithOrigin is postForm with an Origin header.
func postFormWithOrigin(t testing.TB, hc *http.Client, url string, fields []formField, file []byte, origin string) response {
	t.Helper()
	tr := &originTransport{next: hc.Transport, origin: origin}
	return postForm(t, &http.Client{Transport: tr, Timeout: hc.Timeout, CheckRedirect: hc.CheckRedirect}, url, fields, "p.txt", file)
}

type originTransport struct {
	next   http.RoundTripper
	origin string
}

func (o *originTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Origin", o.origin)
	return o.next.RoundTrip(r)
}
