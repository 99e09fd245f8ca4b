package clients

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/postern/postern/internal/s3test"
	"github.com/postern/postern/internal/testserver"
)

// sdkEnv is one server and an aws-sdk-go-v2 client talking to it.
type sdkEnv struct {
	srv *testserver.Server
	c   *s3.Client
	rec *recorder
	tls bool
}

// TestSDK runs the aws-sdk-go-v2 suite over plain HTTP, where the SDK signs
// the payload's sha256, and over HTTPS, where it streams aws-chunked
// STREAMING-UNSIGNED-PAYLOAD-TRAILER bodies with a trailing checksum.
func TestSDK(t *testing.T) {
	t.Parallel()
	for _, mode := range []struct {
		name string
		tls  bool
	}{{"HTTP", false}, {"HTTPS", true}} {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			srv := testserver.InProcess(t, testserver.Options{TLS: mode.tls})
			c, rec := sdkClient(t, srv)
			e := &sdkEnv{srv: srv, c: c, rec: rec, tls: mode.tls}
			type subtest struct {
				name string
				fn   func(*testing.T, *sdkEnv)
			}
			tests := []subtest{
				{"Buckets", testBuckets},
				{"InvalidBucketName", testInvalidBucketName},
				{"ObjectBasics", testObjectBasics},
				{"Metadata", testMetadata},
				{"Range", testRange},
				{"Conditional", testConditional},
				{"ConditionalWrites", testConditionalWrites},
				{"ContentMD5", testContentMD5},
				{"Checksums", testChecksums},
				{"WrongChecksum", testWrongChecksum},
				{"DeleteObjects", testDeleteObjects},
				{"Copy", testCopy},
				{"Keys", testKeys},
				{"ListDelimiter", testListDelimiter},
				{"ListPaging", testListPaging},
				{"ListEncodingURL", testListEncodingURL},
				{"ListFetchOwner", testListFetchOwner},
				{"Multipart", testMultipart},
				{"MultipartErrors", testMultipartErrors},
				{"MultipartAbort", testMultipartAbort},
				{"UploadManager", testUploadManager},
			}
			if !mode.tls {
				tests = append(tests, subtest{"BigListing", testBigListing})
			}
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					tc.fn(t, e)
				})
			}
		})
	}
}

func testBuckets(t *testing.T, e *sdkEnv) {
	c := e.c
	b := s3test.BucketName("bkt")
	out, err := c.CreateBucket(s3test.Ctx(t), &s3.CreateBucketInput{Bucket: aws.String(b)})
	if err != nil {
		t.Fatalf("CreateBucket: %v", err)
	}
	if got := aws.ToString(out.Location); got != "/"+b {
		t.Errorf("CreateBucket Location = %q, want %q", got, "/"+b)
	}

	_, err = c.CreateBucket(s3test.Ctx(t), &s3.CreateBucketInput{Bucket: aws.String(b)})
	s3test.WantAPIError(t, err, 409, "BucketAlreadyOwnedByYou")

	hb, err := c.HeadBucket(s3test.Ctx(t), &s3.HeadBucketInput{Bucket: aws.String(b)})
	if err != nil {
		t.Fatalf("HeadBucket: %v", err)
	}
	if got := aws.ToString(hb.BucketRegion); got != e.srv.Region {
		t.Errorf("HeadBucket x-amz-bucket-region = %q, want %q", got, e.srv.Region)
	}

	lb, err := c.ListBuckets(s3test.Ctx(t), &s3.ListBucketsInput{})
	if err != nil {
		t.Fatalf("ListBuckets: %v", err)
	}
	found := false
	for _, x := range lb.Buckets {
		if aws.ToString(x.Name) == b {
			found = true
			if x.CreationDate == nil || time.Since(*x.CreationDate) > time.Hour || time.Until(*x.CreationDate) > time.Minute {
				t.Errorf("ListBuckets CreationDate = %v, want about now", x.CreationDate)
			}
		}
	}
	if !found {
		t.Errorf("ListBuckets does not list %s", b)
	}
	if lb.Owner == nil || aws.ToString(lb.Owner.ID) == "" {
		t.Errorf("ListBuckets Owner = %+v, want an owner ID", lb.Owner)
	}

	loc, err := c.GetBucketLocation(s3test.Ctx(t), &s3.GetBucketLocationInput{Bucket: aws.String(b)})
	if err != nil {
		t.Fatalf("GetBucketLocation: %v", err)
	}
	// us-east-1 is reported as an empty LocationConstraint.
	if loc.LocationConstraint != "" {
		t.Errorf("GetBucketLocation = %q, want empty for us-east-1", loc.LocationConstraint)
	}

	s3test.Put(t, c, b, "obj", []byte("x"))
	_, err = c.DeleteBucket(s3test.Ctx(t), &s3.DeleteBucketInput{Bucket: aws.String(b)})
	s3test.WantAPIError(t, err, 409, "BucketNotEmpty")
	if _, err := c.DeleteObject(s3test.Ctx(t), &s3.DeleteObjectInput{Bucket: aws.String(b), Key: aws.String("obj")}); err != nil {
		t.Fatalf("DeleteObject: %v", err)
	}
	db, err := c.DeleteBucket(s3test.Ctx(t), &s3.DeleteBucketInput{Bucket: aws.String(b)})
	if err != nil {
		t.Fatalf("DeleteBucket: %v", err)
	}
	if got := rawResp(t, db.ResultMetadata).StatusCode; got != 204 {
		t.Errorf("DeleteBucket status = %d, want 204", got)
	}

	_, err = c.HeadBucket(s3test.Ctx(t), &s3.HeadBucketInput{Bucket: aws.String(b)})
	s3test.WantAPIError(t, err, 404, "NotFound")
	_, err = c.DeleteBucket(s3test.Ctx(t), &s3.DeleteBucketInput{Bucket: aws.String(b)})
	s3test.WantAPIError(t, err, 404, "NoSuchBucket")
	_, err = c.GetObject(s3test.Ctx(t), &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String("obj")})
	s3test.WantAPIError(t, err, 404, "NoSuchBucket")
	_, err = c.PutObject(s3test.Ctx(t), &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("obj"), Body: strings.NewReader("x")})
	s3test.WantAPIError(t, err, 404, "NoSuchBucket")
	_, err = c.ListObjectsV2(s3test.Ctx(t), &s3.ListObjectsV2Input{Bucket: aws.String(b)})
	s3test.WantAPIError(t, err, 404, "NoSuchBucket")
	_, err = c.GetBucketLocation(s3test.Ctx(t), &s3.GetBucketLocationInput{Bucket: aws.String(b)})
	s3test.WantAPIError(t, err, 404, "NoSuchBucket")

	lb, err = c.ListBuckets(s3test.Ctx(t), &s3.ListBucketsInput{})
	if err != nil {
		t.Fatalf("ListBuckets: %v", err)
	}
	for _, x := range lb.Buckets {
		if aws.ToString(x.Name) == b {
			t.Errorf("ListBuckets still lists deleted bucket %s", b)
		}
	}
}

func testInvalidBucketName(t *testing.T, e *sdkEnv) {
	for _, name := range []string{
		"ab",                    // shorter than 3
		strings.Repeat("a", 64), // longer than 63
		"Upper-Case",            // upper case
		"under_score",           // underscore
		"-leading-hyphen",       // must start with a letter or digit
		"trailing-hyphen-",      // must end with a letter or digit
		"double..dots",          // adjacent periods
		"192.168.5.4",           // formatted as an IP address
		"xn--punycode-prefix",   // reserved prefix
		"bucket-suffix-s3alias", // reserved suffix
	} {
		t.Run(name, func(t *testing.T) {
			_, err := e.c.CreateBucket(s3test.Ctx(t), &s3.CreateBucketInput{Bucket: aws.String(name)})
			s3test.WantAPIError(t, err, 400, "InvalidBucketName")
		})
	}
}

func testObjectBasics(t *testing.T, e *sdkEnv) {
	c := e.c
	b := s3test.NewBucket(t, c, "objs")
	body := s3test.RandBytes(11, 100_000)
	po := s3test.Put(t, c, b, "k", body)
	if got, want := aws.ToString(po.ETag), s3test.Quoted(s3test.MD5Hex(body)); got != want {
		t.Errorf("PutObject ETag = %s, want %s", got, want)
	}

	g, err := c.GetObject(s3test.Ctx(t), &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String("k")})
	if err != nil {
		t.Fatalf("GetObject: %v", err)
	}
	got, err := io.ReadAll(g.Body)
	g.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	s3test.EqualBytes(t, "GetObject body", got, body)
	if aws.ToInt64(g.ContentLength) != int64(len(body)) || aws.ToString(g.ETag) != s3test.Quoted(s3test.MD5Hex(body)) {
		t.Errorf("GetObject Content-Length=%d ETag=%s, want %d %s", aws.ToInt64(g.ContentLength), aws.ToString(g.ETag), len(body), s3test.Quoted(s3test.MD5Hex(body)))
	}
	if g.LastModified == nil || time.Since(*g.LastModified) > time.Minute || time.Until(*g.LastModified) > time.Minute {
		t.Errorf("GetObject Last-Modified = %v, want about now", g.LastModified)
	}
	if got := rawResp(t, g.ResultMetadata).Header.Get("Accept-Ranges"); got != "bytes" {
		t.Errorf("GetObject Accept-Ranges = %q, want bytes", got)
	}

	h, err := c.HeadObject(s3test.Ctx(t), &s3.HeadObjectInput{Bucket: aws.String(b), Key: aws.String("k")})
	if err != nil {
		t.Fatalf("HeadObject: %v", err)
	}
	if aws.ToInt64(h.ContentLength) != int64(len(body)) || aws.ToString(h.ETag) != s3test.Quoted(s3test.MD5Hex(body)) {
		t.Errorf("HeadObject Content-Length=%d ETag=%s, want %d %s", aws.ToInt64(h.ContentLength), aws.ToString(h.ETag), len(body), s3test.Quoted(s3test.MD5Hex(body)))
	}
	if !h.LastModified.Equal(*g.LastModified) {
		t.Errorf("HeadObject Last-Modified %v != GetObject's %v", h.LastModified, g.LastModified)
	}

	// Overwrite replaces the bytes.
	s3test.Put(t, c, b, "k", []byte("second"))
	s3test.EqualBytes(t, "GetObject after overwrite", getBytes(t, c, b, "k"), []byte("second"))

	// Empty object.
	po = s3test.Put(t, c, b, "empty", nil)
	if got := aws.ToString(po.ETag); got != s3test.Quoted("d41d8cd98f00b204e9800998ecf8427e") {
		t.Errorf("empty PutObject ETag = %s", got)
	}
	s3test.EqualBytes(t, "empty object", getBytes(t, c, b, "empty"), nil)

	d, err := c.DeleteObject(s3test.Ctx(t), &s3.DeleteObjectInput{Bucket: aws.String(b), Key: aws.String("k")})
	if err != nil {
		t.Fatalf("DeleteObject: %v", err)
	}
	if got := rawResp(t, d.ResultMetadata).StatusCode; got != 204 {
		t.Errorf("DeleteObject status = %d, want 204", got)
	}
	_, err = c.GetObject(s3test.Ctx(t), &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String("k")})
	s3test.WantAPIError(t, err, 404, "NoSuchKey")
	_, err = c.HeadObject(s3test.Ctx(t), &s3.HeadObjectInput{Bucket: aws.String(b), Key: aws.String("k")})
	s3test.WantAPIError(t, err, 404, "NotFound")
	// Deleting a missing key succeeds, as on S3.
	d, err = c.DeleteObject(s3test.Ctx(t), &s3.DeleteObjectInput{Bucket: aws.String(b), Key: aws.String("k")})
	if err != nil {
		t.Fatalf("DeleteObject of a missing key: %v", err)
	}
	if got := rawResp(t, d.ResultMetadata).StatusCode; got != 204 {
		t.Errorf("DeleteObject (missing) status = %d, want 204", got)
	}
}

func testMetadata(t *testing.T, e *sdkEnv) {
	c := e.c
	b := s3test.NewBucket(t, c, "meta")
	expires := time.Date(2031, 5, 17, 10, 30, 0, 0, time.UTC)
	body := []byte("metadata body")
	_, err := c.PutObject(s3test.Ctx(t), &s3.PutObjectInput{
		Bucket:             aws.String(b),
		Key:                aws.String("m"),
		Body:               bytes.NewReader(body),
		Metadata:           map[string]string{"color": "blue", "Mixed-Case": "Value With Spaces"},
		ContentType:        aws.String("text/plain; charset=utf-8"),
		ContentEncoding:    aws.String("gzip"),
		ContentDisposition: aws.String(`attachment; filename="r.txt"`),
		ContentLanguage:    aws.String("en-GB"),
		CacheControl:       aws.String("max-age=60, private"),
		Expires:            aws.Time(expires),
	})
	if err != nil {
		t.Fatalf("PutObject: %v", err)
	}
	type headers struct {
		ctype, cenc, cdisp, clang, cctl string
		expires                         string
	}
	wantMeta := map[string]string{"color": "blue", "mixed-case": "Value With Spaces"}
	want := headers{
		ctype: "text/plain; charset=utf-8", cenc: "gzip", cdisp: `attachment; filename="r.txt"`,
		clang: "en-GB", cctl: "max-age=60, private", expires: expires.Format(http.TimeFormat),
	}
	check := func(what string, meta map[string]string, got headers) {
		t.Helper()
		if len(meta) != len(wantMeta) {
			t.Errorf("%s metadata = %v, want %v", what, meta, wantMeta)
		}
		for k, v := range wantMeta {
			if meta[k] != v {
				t.Errorf("%s metadata[%s] = %q, want %q (all: %v)", what, k, meta[k], v, meta)
			}
		}
		if got != want {
			t.Errorf("%s headers:\n got %+v\nwant %+v", what, got, want)
		}
	}
	g, err := c.GetObject(s3test.Ctx(t), &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String("m")})
	if err != nil {
		t.Fatalf("GetObject: %v", err)
	}
	gb, _ := io.ReadAll(g.Body)
	g.Body.Close()
	s3test.EqualBytes(t, "GetObject body", gb, body)
	check("GetObject", g.Metadata, headers{aws.ToString(g.ContentType), aws.ToString(g.ContentEncoding), aws.ToString(g.ContentDisposition), aws.ToString(g.ContentLanguage), aws.ToString(g.CacheControl), aws.ToString(g.ExpiresString)})
	h, err := c.HeadObject(s3test.Ctx(t), &s3.HeadObjectInput{Bucket: aws.String(b), Key: aws.String("m")})
	if err != nil {
		t.Fatalf("HeadObject: %v", err)
	}
	check("HeadObject", h.Metadata, headers{aws.ToString(h.ContentType), aws.ToString(h.ContentEncoding), aws.ToString(h.ContentDisposition), aws.ToString(h.ContentLanguage), aws.ToString(h.CacheControl), aws.ToString(h.ExpiresString)})

	// Response header overrides (response-content-type etc.) on GetObject.
	g, err = c.GetObject(s3test.Ctx(t), &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String("m"),
		ResponseContentType: aws.String("application/x-override"), ResponseCacheControl: aws.String("no-store")})
	if err != nil {
		t.Fatalf("GetObject with response overrides: %v", err)
	}
	g.Body.Close()
	if aws.ToString(g.ContentType) != "application/x-override" || aws.ToString(g.CacheControl) != "no-store" {
		t.Errorf("response-content-type/response-cache-control: got %q %q", aws.ToString(g.ContentType), aws.ToString(g.CacheControl))
	}

	// Without a Content-Type, S3 stores binary/octet-stream. (The SDK always
	// sends one, so this request is made by hand.)
	resp, rb := s3test.DoSigned(t, e.srv, "PUT", "/"+b+"/plain", []byte("x"), nil)
	if resp.StatusCode != 200 {
		t.Fatalf("PUT without Content-Type: %d %s", resp.StatusCode, rb)
	}
	h, err = c.HeadObject(s3test.Ctx(t), &s3.HeadObjectInput{Bucket: aws.String(b), Key: aws.String("plain")})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(h.ContentType); got != "binary/octet-stream" {
		t.Errorf("default Content-Type = %q, want binary/octet-stream", got)
	}
	if len(h.Metadata) != 0 {
		t.Errorf("object without metadata has %v", h.Metadata)
	}
}

func testRange(t *testing.T, e *sdkEnv) {
	c := e.c
	b := s3test.NewBucket(t, c, "range")
	body := s3test.RandBytes(21, 1000)
	s3test.Put(t, c, b, "r", body)
	for _, tc := range []struct {
		rng        string
		start, end int // inclusive
	}{
		{"bytes=0-9", 0, 9},
		{"bytes=100-199", 100, 199},
		{"bytes=-50", 950, 999},
		{"bytes=990-", 990, 999},
		{"bytes=995-2000", 995, 999},
		{"bytes=0-0", 0, 0},
	} {
		t.Run(tc.rng, func(t *testing.T) {
			g, err := c.GetObject(s3test.Ctx(t), &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String("r"), Range: aws.String(tc.rng)})
			if err != nil {
				t.Fatalf("GetObject Range %s: %v", tc.rng, err)
			}
			got, err := io.ReadAll(g.Body)
			g.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			if st := rawResp(t, g.ResultMetadata).StatusCode; st != 206 {
				t.Errorf("status = %d, want 206", st)
			}
			wantCR := fmt.Sprintf("bytes %d-%d/1000", tc.start, tc.end)
			if aws.ToString(g.ContentRange) != wantCR {
				t.Errorf("Content-Range = %q, want %q", aws.ToString(g.ContentRange), wantCR)
			}
			if aws.ToInt64(g.ContentLength) != int64(tc.end-tc.start+1) {
				t.Errorf("Content-Length = %d, want %d", aws.ToInt64(g.ContentLength), tc.end-tc.start+1)
			}
			s3test.EqualBytes(t, "range body", got, body[tc.start:tc.end+1])
		})
	}
	for _, rng := range []string{"bytes=1000-", "bytes=5000-6000"} {
		_, err := c.GetObject(s3test.Ctx(t), &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String("r"), Range: aws.String(rng)})
		s3test.WantAPIError(t, err, 416, "InvalidRange")
	}
}

func testConditional(t *testing.T, e *sdkEnv) {
	c := e.c
	b := s3test.NewBucket(t, c, "cond")
	body := []byte("conditional body")
	s3test.Put(t, c, b, "c", body)
	h, err := c.HeadObject(s3test.Ctx(t), &s3.HeadObjectInput{Bucket: aws.String(b), Key: aws.String("c")})
	if err != nil {
		t.Fatal(err)
	}
	etag := aws.ToString(h.ETag)
	lm := *h.LastModified
	before, after := lm.Add(-time.Hour), lm.Add(time.Hour)

	get := func(in s3.GetObjectInput) error {
		in.Bucket, in.Key = aws.String(b), aws.String("c")
		out, err := c.GetObject(s3test.Ctx(t), &in)
		if err == nil {
			got, _ := io.ReadAll(out.Body)
			out.Body.Close()
			if !bytes.Equal(got, body) {
				t.Errorf("conditional GetObject body = %s", s3test.ShortBody(got, 64))
			}
		}
		return err
	}
	head := func(in s3.HeadObjectInput) error {
		in.Bucket, in.Key = aws.String(b), aws.String("c")
		_, err := c.HeadObject(s3test.Ctx(t), &in)
		return err
	}
	ok := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Errorf("%s: %v, want 200", what, err)
		}
	}
	fail := func(what string, err error, status int, code string) {
		t.Helper()
		t.Run(what, func(t *testing.T) { s3test.WantAPIError(t, err, status, code) })
	}

	ok("If-Match right", get(s3.GetObjectInput{IfMatch: aws.String(etag)}))
	ok("If-Match *", get(s3.GetObjectInput{IfMatch: aws.String("*")}))
	fail("If-Match wrong", get(s3.GetObjectInput{IfMatch: aws.String(`"0123456789abcdef0123456789abcdef"`)}), 412, "PreconditionFailed")
	fail("If-None-Match same", get(s3.GetObjectInput{IfNoneMatch: aws.String(etag)}), 304, "NotModified")
	fail("HEAD If-None-Match same", head(s3.HeadObjectInput{IfNoneMatch: aws.String(etag)}), 304, "NotModified")
	ok("If-None-Match other", get(s3.GetObjectInput{IfNoneMatch: aws.String(`"0123456789abcdef0123456789abcdef"`)}))
	fail("If-Modified-Since after", get(s3.GetObjectInput{IfModifiedSince: aws.Time(after)}), 304, "NotModified")
	ok("If-Modified-Since before", get(s3.GetObjectInput{IfModifiedSince: aws.Time(before)}))
	fail("If-Unmodified-Since before", get(s3.GetObjectInput{IfUnmodifiedSince: aws.Time(before)}), 412, "PreconditionFailed")
	fail("HEAD If-Unmodified-Since before", head(s3.HeadObjectInput{IfUnmodifiedSince: aws.Time(before)}), 412, "PreconditionFailed")
	ok("If-Unmodified-Since after", get(s3.GetObjectInput{IfUnmodifiedSince: aws.Time(after)}))
	// RFC 7232 / S3: If-Match true and If-Unmodified-Since false → 200;
	// If-None-Match false and If-Modified-Since true → 304.
	ok("If-Match right + If-Unmodified-Since before", get(s3.GetObjectInput{IfMatch: aws.String(etag), IfUnmodifiedSince: aws.Time(before)}))
	fail("If-None-Match same + If-Modified-Since before", get(s3.GetObjectInput{IfNoneMatch: aws.String(etag), IfModifiedSince: aws.Time(before)}), 304, "NotModified")
}

// testConditionalWrites: S3 conditional writes and deletes. PutObject and
// CompleteMultipartUpload with If-None-Match: * fail with 412 on an existing
// key; If-Match fails with 404 NoSuchKey on a missing key and 412 on
// another ETag; DeleteObject with If-Match likewise. A failed precondition
// changes nothing (the upload survives for a retry).
func testConditionalWrites(t *testing.T, e *sdkEnv) {
	c := e.c
	ctx := s3test.Ctx(t)
	b := s3test.NewBucket(t, c, "condw")
	put := func(key string, body []byte, ifMatch, ifNoneMatch *string) error {
		_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String(key), Body: bytes.NewReader(body),
			IfMatch: ifMatch, IfNoneMatch: ifNoneMatch})
		return err
	}
	v1, v2 := []byte("version one"), []byte("version two")
	if err := put("k", v1, nil, aws.String("*")); err != nil {
		t.Fatalf("PutObject If-None-Match * on a new key: %v", err)
	}
	s3test.WantAPIError(t, put("k", v2, nil, aws.String("*")), 412, "PreconditionFailed")
	s3test.WantAPIError(t, put("missing", v2, aws.String(s3test.Quoted(s3test.MD5Hex(v1))), nil), 404, "NoSuchKey")
	s3test.WantAPIError(t, put("k", v2, aws.String(s3test.Quoted(s3test.MD5Hex(v2))), nil), 412, "PreconditionFailed")
	s3test.EqualBytes(t, "object after failed conditional puts", getBytes(t, c, b, "k"), v1)
	if err := put("k", v2, aws.String(s3test.Quoted(s3test.MD5Hex(v1))), nil); err != nil {
		t.Fatalf("PutObject If-Match with the current ETag: %v", err)
	}
	s3test.EqualBytes(t, "object after conditional put", getBytes(t, c, b, "k"), v2)

	// CompleteMultipartUpload.
	complete := func(key string, ifMatch, ifNoneMatch *string) (string, error) {
		up, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(b), Key: aws.String(key)})
		if err != nil {
			t.Fatal(err)
		}
		part, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String(b), Key: aws.String(key), UploadId: up.UploadId,
			PartNumber: aws.Int32(1), Body: bytes.NewReader([]byte("multipart body"))})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String(b), Key: aws.String(key), UploadId: up.UploadId,
			IfMatch: ifMatch, IfNoneMatch: ifNoneMatch,
			MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{{PartNumber: aws.Int32(1), ETag: part.ETag}}}})
		return aws.ToString(up.UploadId), err
	}
	id, err := complete("k", nil, aws.String("*"))
	s3test.WantAPIError(t, err, 412, "PreconditionFailed")
	s3test.EqualBytes(t, "object after failed conditional complete", getBytes(t, c, b, "k"), v2)
	if _, err := c.ListParts(ctx, &s3.ListPartsInput{Bucket: aws.String(b), Key: aws.String("k"), UploadId: aws.String(id)}); err != nil {
		t.Errorf("upload gone after a failed conditional complete: %v", err)
	}
	_, err = complete("k", aws.String(s3test.Quoted(s3test.MD5Hex(v1))), nil)
	s3test.WantAPIError(t, err, 412, "PreconditionFailed")
	_, err = complete("new-mp", aws.String(s3test.Quoted(s3test.MD5Hex(v1))), nil)
	s3test.WantAPIError(t, err, 404, "NoSuchKey")
	if _, err := complete("new-mp", nil, aws.String("*")); err != nil {
		t.Fatalf("CompleteMultipartUpload If-None-Match * on a new key: %v", err)
	}
	if _, err := complete("k", aws.String(s3test.Quoted(s3test.MD5Hex(v2))), nil); err != nil {
		t.Fatalf("CompleteMultipartUpload If-Match with the current ETag: %v", err)
	}
	s3test.EqualBytes(t, "object after conditional complete", getBytes(t, c, b, "k"), []byte("multipart body"))

	// DeleteObject.
	del := func(key string, ifMatch string) error {
		_, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(b), Key: aws.String(key), IfMatch: aws.String(ifMatch)})
		return err
	}
	s3test.WantAPIError(t, del("new-mp", s3test.Quoted(s3test.MD5Hex(v1))), 412, "PreconditionFailed")
	s3test.EqualBytes(t, "object after failed conditional delete", getBytes(t, c, b, "new-mp"), []byte("multipart body"))
	s3test.WantAPIError(t, del("missing", "*"), 404, "NoSuchKey")
	if err := del("new-mp", "*"); err != nil {
		t.Fatalf("DeleteObject If-Match *: %v", err)
	}
	if err := del("k", s3test.Quoted(s3test.MD5Hex(v2))); err == nil {
		t.Fatal("DeleteObject If-Match with a replaced ETag succeeded")
	}
	h, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(b), Key: aws.String("k")})
	if err != nil {
		t.Fatal(err)
	}
	if err := del("k", aws.ToString(h.ETag)); err != nil {
		t.Fatalf("DeleteObject If-Match with the current ETag: %v", err)
	}
	_, err = c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(b), Key: aws.String("k")})
	s3test.WantAPIError(t, err, 404, "NotFound")
}

func testContentMD5(t *testing.T, e *sdkEnv) {
	c := e.c
	b := s3test.NewBucket(t, c, "md5")
	body := []byte("content md5 body")
	_, err := c.PutObject(s3test.Ctx(t), &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("good"), Body: bytes.NewReader(body), ContentMD5: aws.String(md5b64(body))})
	if err != nil {
		t.Fatalf("PutObject with right Content-MD5: %v", err)
	}
	_, err = c.PutObject(s3test.Ctx(t), &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("bad"), Body: bytes.NewReader(body), ContentMD5: aws.String(md5b64([]byte("other")))})
	s3test.WantAPIError(t, err, 400, "BadDigest")
	_, err = c.PutObject(s3test.Ctx(t), &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("bad"), Body: bytes.NewReader(body), ContentMD5: aws.String("not-base64-md5")})
	s3test.WantAPIError(t, err, 400, "InvalidDigest")
	_, err = c.HeadObject(s3test.Ctx(t), &s3.HeadObjectInput{Bucket: aws.String(b), Key: aws.String("bad")})
	s3test.WantAPIError(t, err, 404, "NotFound")
}

// checksumFields reads the checksum a Get/Head answer reported for alg.
func checksumField(alg string, crc32, crc32c, crc64, sha1, sha256 *string) string {
	switch alg {
	case "CRC32":
		return aws.ToString(crc32)
	case "CRC32C":
		return aws.ToString(crc32c)
	case "CRC64NVME":
		return aws.ToString(crc64)
	case "SHA1":
		return aws.ToString(sha1)
	case "SHA256":
		return aws.ToString(sha256)
	}
	return ""
}

func testChecksums(t *testing.T, e *sdkEnv) {
	c := e.c
	b := s3test.NewBucket(t, c, "cksum")
	body := s3test.RandBytes(31, 70_000)
	algs := map[string]types.ChecksumAlgorithm{
		"CRC32": types.ChecksumAlgorithmCrc32, "CRC32C": types.ChecksumAlgorithmCrc32c,
		"SHA1": types.ChecksumAlgorithmSha1, "SHA256": types.ChecksumAlgorithmSha256,
		"CRC64NVME": types.ChecksumAlgorithmCrc64nvme,
	}
	for name, alg := range algs {
		t.Run(name, func(t *testing.T) {
			key := "obj-" + strings.ToLower(name)
			want := checksumOf(name, body)
			po, err := c.PutObject(s3test.Ctx(t), &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String(key), Body: bytes.NewReader(body), ChecksumAlgorithm: alg})
			if err != nil {
				t.Fatalf("PutObject: %v", err)
			}
			if got := checksumField(name, po.ChecksumCRC32, po.ChecksumCRC32C, po.ChecksumCRC64NVME, po.ChecksumSHA1, po.ChecksumSHA256); got != want {
				t.Errorf("PutObject x-amz-checksum-%s = %q, want %q", strings.ToLower(name), got, want)
			}
			checkWire(t, e, b, key, name, body)

			g, err := c.GetObject(s3test.Ctx(t), &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String(key), ChecksumMode: types.ChecksumModeEnabled})
			if err != nil {
				t.Fatalf("GetObject: %v", err)
			}
			got, err := io.ReadAll(g.Body) // the SDK validates the checksum while reading
			g.Body.Close()
			if err != nil {
				t.Fatalf("GetObject body (SDK checksum validation): %v", err)
			}
			s3test.EqualBytes(t, "GetObject body", got, body)
			if got := checksumField(name, g.ChecksumCRC32, g.ChecksumCRC32C, g.ChecksumCRC64NVME, g.ChecksumSHA1, g.ChecksumSHA256); got != want {
				t.Errorf("GetObject x-amz-checksum-%s = %q, want %q", strings.ToLower(name), got, want)
			}
			if g.ChecksumType != types.ChecksumTypeFullObject {
				t.Errorf("GetObject x-amz-checksum-type = %q, want FULL_OBJECT", g.ChecksumType)
			}
			h, err := c.HeadObject(s3test.Ctx(t), &s3.HeadObjectInput{Bucket: aws.String(b), Key: aws.String(key), ChecksumMode: types.ChecksumModeEnabled})
			if err != nil {
				t.Fatalf("HeadObject: %v", err)
			}
			if got := checksumField(name, h.ChecksumCRC32, h.ChecksumCRC32C, h.ChecksumCRC64NVME, h.ChecksumSHA1, h.ChecksumSHA256); got != want {
				t.Errorf("HeadObject x-amz-checksum-%s = %q, want %q", strings.ToLower(name), got, want)
			}
			// Without ChecksumMode, S3 does not send checksums.
			h, err = c.HeadObject(s3test.Ctx(t), &s3.HeadObjectInput{Bucket: aws.String(b), Key: aws.String(key)})
			if err != nil {
				t.Fatalf("HeadObject: %v", err)
			}
			if got := checksumField(name, h.ChecksumCRC32, h.ChecksumCRC32C, h.ChecksumCRC64NVME, h.ChecksumSHA1, h.ChecksumSHA256); got != "" {
				t.Errorf("HeadObject without x-amz-checksum-mode sent x-amz-checksum-%s = %q", strings.ToLower(name), got)
			}
		})
	}
	t.Run("Default", func(t *testing.T) {
		// With no algorithm named, the SDK still sends CRC32 (its default
		// "when supported" request checksum), and S3 keeps it.
		s3test.Put(t, c, b, "default", body)
		checkWire(t, e, b, "default", "CRC32", body)
		g, err := c.GetObject(s3test.Ctx(t), &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String("default"), ChecksumMode: types.ChecksumModeEnabled})
		if err != nil {
			t.Fatalf("GetObject: %v", err)
		}
		got, err := io.ReadAll(g.Body)
		g.Body.Close()
		if err != nil {
			t.Fatalf("GetObject body: %v", err)
		}
		s3test.EqualBytes(t, "body", got, body)
		if got, want := aws.ToString(g.ChecksumCRC32), checksumOf("CRC32", body); got != want {
			t.Errorf("GetObject x-amz-checksum-crc32 = %q, want %q", got, want)
		}
	})
}

// checkWire checks how the SDK sent PUT bucket/key: over HTTPS as aws-chunked
// STREAMING-UNSIGNED-PAYLOAD-TRAILER with the checksum in a trailer, over
// HTTP with the payload's sha256 signed and the checksum in a header. This
// guards the test's premise: if the SDK changed how it sends, we would notice.
func checkWire(t *testing.T, e *sdkEnv, bucket, key, alg string, body []byte) {
	t.Helper()
	reqs := e.rec.find(func(r sentRequest) bool {
		return r.Method == "PUT" && r.Path == "/"+bucket+"/"+key && (r.Query == "" || r.Query == "x-id=PutObject")
	})
	if len(reqs) == 0 {
		t.Fatalf("no PUT /%s/%s recorded", bucket, key)
	}
	h := reqs[len(reqs)-1].Header
	hdr := "x-amz-checksum-" + strings.ToLower(alg)
	if e.tls {
		if got := h.Get("X-Amz-Content-Sha256"); got != "STREAMING-UNSIGNED-PAYLOAD-TRAILER" {
			t.Errorf("HTTPS PUT x-amz-content-sha256 = %q, want STREAMING-UNSIGNED-PAYLOAD-TRAILER", got)
		}
		if got := h.Get("X-Amz-Trailer"); got != hdr {
			t.Errorf("HTTPS PUT x-amz-trailer = %q, want %q", got, hdr)
		}
		if !strings.Contains(h.Get("Content-Encoding"), "aws-chunked") {
			t.Errorf("HTTPS PUT Content-Encoding = %q, want aws-chunked", h.Get("Content-Encoding"))
		}
	} else {
		sum := sha256.Sum256(body)
		if got := h.Get("X-Amz-Content-Sha256"); got != hex.EncodeToString(sum[:]) {
			t.Errorf("HTTP PUT x-amz-content-sha256 = %q, want the body's sha256", got)
		}
		if got := h.Get(hdr); got != checksumOf(alg, body) {
			t.Errorf("HTTP PUT %s = %q, want %q", hdr, got, checksumOf(alg, body))
		}
	}
}

func testWrongChecksum(t *testing.T, e *sdkEnv) {
	c := e.c
	b := s3test.NewBucket(t, c, "badsum")
	body := []byte("the checksum of this body is not AAAAAA==")
	_, err := c.PutObject(s3test.Ctx(t), &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("k"), Body: bytes.NewReader(body), ChecksumCRC32: aws.String("AAAAAA==")})
	s3test.WantAPIError(t, err, 400, "BadDigest")
	_, err = c.HeadObject(s3test.Ctx(t), &s3.HeadObjectInput{Bucket: aws.String(b), Key: aws.String("k")})
	s3test.WantAPIError(t, err, 404, "NotFound")

	// A wrong checksum must not replace an existing object either.
	s3test.Put(t, c, b, "k2", []byte("original"))
	_, err = c.PutObject(s3test.Ctx(t), &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("k2"), Body: bytes.NewReader(body), ChecksumSHA256: aws.String(checksumOf("SHA256", []byte("else")))})
	s3test.WantAPIError(t, err, 400, "BadDigest")
	s3test.EqualBytes(t, "object after rejected overwrite", getBytes(t, c, b, "k2"), []byte("original"))

	lo, err := c.ListObjectsV2(s3test.Ctx(t), &s3.ListObjectsV2Input{Bucket: aws.String(b)})
	if err != nil {
		t.Fatal(err)
	}
	if len(lo.Contents) != 1 || aws.ToString(lo.Contents[0].Key) != "k2" {
		t.Errorf("bucket lists %v, want only k2", keysOf(lo.Contents))
	}
}

func keysOf(objs []types.Object) []string {
	var ks []string
	for _, o := range objs {
		ks = append(ks, aws.ToString(o.Key))
	}
	return ks
}

func testDeleteObjects(t *testing.T, e *sdkEnv) {
	c := e.c
	b := s3test.NewBucket(t, c, "delobjs")
	for _, k := range []string{"a", "b", "c", "keep"} {
		s3test.Put(t, c, b, k, []byte(k))
	}
	ids := func(ks ...string) []types.ObjectIdentifier {
		var out []types.ObjectIdentifier
		for _, k := range ks {
			out = append(out, types.ObjectIdentifier{Key: aws.String(k)})
		}
		return out
	}
	out, err := c.DeleteObjects(s3test.Ctx(t), &s3.DeleteObjectsInput{Bucket: aws.String(b), Delete: &types.Delete{Objects: ids("a", "b", "missing")}})
	if err != nil {
		t.Fatalf("DeleteObjects: %v", err)
	}
	var deleted []string
	for _, d := range out.Deleted {
		deleted = append(deleted, aws.ToString(d.Key))
	}
	// S3 reports a missing key as deleted too.
	if strings.Join(sorted(deleted), ",") != "a,b,missing" || len(out.Errors) != 0 {
		t.Errorf("DeleteObjects Deleted=%v Errors=%v, want [a b missing] and no errors", deleted, out.Errors)
	}

	out, err = c.DeleteObjects(s3test.Ctx(t), &s3.DeleteObjectsInput{Bucket: aws.String(b), Delete: &types.Delete{Objects: ids("c"), Quiet: aws.Bool(true)}})
	if err != nil {
		t.Fatalf("DeleteObjects Quiet: %v", err)
	}
	if len(out.Deleted) != 0 || len(out.Errors) != 0 {
		t.Errorf("Quiet DeleteObjects reported Deleted=%v Errors=%v, want nothing", out.Deleted, out.Errors)
	}
	lo, err := c.ListObjectsV2(s3test.Ctx(t), &s3.ListObjectsV2Input{Bucket: aws.String(b)})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(keysOf(lo.Contents), ","); got != "keep" {
		t.Errorf("after DeleteObjects the bucket lists %q, want keep", got)
	}
	_, err = c.DeleteObjects(s3test.Ctx(t), &s3.DeleteObjectsInput{Bucket: aws.String(s3test.BucketName("nobucket")), Delete: &types.Delete{Objects: ids("a")}})
	s3test.WantAPIError(t, err, 404, "NoSuchBucket")
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func testCopy(t *testing.T, e *sdkEnv) {
	c := e.c
	b := s3test.NewBucket(t, c, "copy")
	b2 := s3test.NewBucket(t, c, "copydst")
	body := s3test.RandBytes(41, 12_345)
	src := "src dir/source ключ"
	_, err := c.PutObject(s3test.Ctx(t), &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String(src), Body: bytes.NewReader(body),
		ContentType: aws.String("image/png"), Metadata: map[string]string{"origin": "source"}})
	if err != nil {
		t.Fatal(err)
	}
	copySource := b + "/" + escapePath(src)

	co, err := c.CopyObject(s3test.Ctx(t), &s3.CopyObjectInput{Bucket: aws.String(b2), Key: aws.String("copied"), CopySource: aws.String(copySource)})
	if err != nil {
		t.Fatalf("CopyObject COPY: %v", err)
	}
	if co.CopyObjectResult == nil || aws.ToString(co.CopyObjectResult.ETag) != s3test.Quoted(s3test.MD5Hex(body)) || co.CopyObjectResult.LastModified == nil {
		t.Errorf("CopyObjectResult = %+v, want ETag %s and LastModified", co.CopyObjectResult, s3test.Quoted(s3test.MD5Hex(body)))
	}
	s3test.EqualBytes(t, "copied body", getBytes(t, c, b2, "copied"), body)
	h, err := c.HeadObject(s3test.Ctx(t), &s3.HeadObjectInput{Bucket: aws.String(b2), Key: aws.String("copied")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(h.ContentType) != "image/png" || h.Metadata["origin"] != "source" || len(h.Metadata) != 1 {
		t.Errorf("COPY directive: Content-Type=%q metadata=%v, want image/png {origin:source}", aws.ToString(h.ContentType), h.Metadata)
	}

	_, err = c.CopyObject(s3test.Ctx(t), &s3.CopyObjectInput{Bucket: aws.String(b2), Key: aws.String("replaced"), CopySource: aws.String(copySource),
		MetadataDirective: types.MetadataDirectiveReplace, ContentType: aws.String("text/csv"), Metadata: map[string]string{"new": "yes"}})
	if err != nil {
		t.Fatalf("CopyObject REPLACE: %v", err)
	}
	h, err = c.HeadObject(s3test.Ctx(t), &s3.HeadObjectInput{Bucket: aws.String(b2), Key: aws.String("replaced")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(h.ContentType) != "text/csv" || h.Metadata["new"] != "yes" || len(h.Metadata) != 1 {
		t.Errorf("REPLACE directive: Content-Type=%q metadata=%v, want text/csv {new:yes}", aws.ToString(h.ContentType), h.Metadata)
	}
	s3test.EqualBytes(t, "replaced body", getBytes(t, c, b2, "replaced"), body)

	_, err = c.CopyObject(s3test.Ctx(t), &s3.CopyObjectInput{Bucket: aws.String(b2), Key: aws.String("nope"), CopySource: aws.String(copySource),
		CopySourceIfMatch: aws.String(`"0123456789abcdef0123456789abcdef"`)})
	s3test.WantAPIError(t, err, 412, "PreconditionFailed")
	_, err = c.CopyObject(s3test.Ctx(t), &s3.CopyObjectInput{Bucket: aws.String(b2), Key: aws.String("nope"), CopySource: aws.String(copySource),
		CopySourceIfNoneMatch: aws.String(s3test.Quoted(s3test.MD5Hex(body)))})
	s3test.WantAPIError(t, err, 412, "PreconditionFailed")
	_, err = c.CopyObject(s3test.Ctx(t), &s3.CopyObjectInput{Bucket: aws.String(b2), Key: aws.String("ifmatch"), CopySource: aws.String(copySource),
		CopySourceIfMatch: aws.String(s3test.Quoted(s3test.MD5Hex(body)))})
	if err != nil {
		t.Errorf("CopyObject with matching x-amz-copy-source-if-match: %v", err)
	}
	_, err = c.HeadObject(s3test.Ctx(t), &s3.HeadObjectInput{Bucket: aws.String(b2), Key: aws.String("nope")})
	s3test.WantAPIError(t, err, 404, "NotFound")

	_, err = c.CopyObject(s3test.Ctx(t), &s3.CopyObjectInput{Bucket: aws.String(b), Key: aws.String(src), CopySource: aws.String(copySource)})
	s3test.WantAPIError(t, err, 400, "InvalidRequest")

	_, err = c.CopyObject(s3test.Ctx(t), &s3.CopyObjectInput{Bucket: aws.String(b), Key: aws.String(src), CopySource: aws.String(copySource),
		MetadataDirective: types.MetadataDirectiveReplace, Metadata: map[string]string{"rev": "2"}})
	if err != nil {
		t.Fatalf("CopyObject onto itself with REPLACE: %v", err)
	}
	h, err = c.HeadObject(s3test.Ctx(t), &s3.HeadObjectInput{Bucket: aws.String(b), Key: aws.String(src)})
	if err != nil {
		t.Fatal(err)
	}
	if h.Metadata["rev"] != "2" || len(h.Metadata) != 1 {
		t.Errorf("self-copy REPLACE metadata = %v, want {rev:2}", h.Metadata)
	}
	s3test.EqualBytes(t, "self-copied body", getBytes(t, c, b, src), body)

	_, err = c.CopyObject(s3test.Ctx(t), &s3.CopyObjectInput{Bucket: aws.String(b2), Key: aws.String("x"), CopySource: aws.String(b + "/missing-source")})
	s3test.WantAPIError(t, err, 404, "NoSuchKey")
}

// escapePath percent-encodes a key for x-amz-copy-source, keeping slashes.
func escapePath(k string) string {
	var sb strings.Builder
	for _, c := range []byte(k) {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-_.~/", c) >= 0 {
			sb.WriteByte(c)
		} else {
			sb.WriteString("%" + strings.ToUpper(hex.EncodeToString([]byte{c})))
		}
	}
	return sb.String()
}

// oddKeys are keys that trip up path handling; each must round-trip as is.
var oddKeys = []string{
	"a", "a/b", "../x", "a//b", "dir/", " spaced key ", "ключ/日本語",
	"dir/sub/file.txt", "percent%20literal", "plus+sign", "q?mark&amp=1#frag",
	strings.Repeat("k", 1024),
}

func testKeys(t *testing.T, e *sdkEnv) {
	c := e.c
	b := s3test.NewBucket(t, c, "keys")
	for i, k := range oddKeys {
		body := []byte("body of " + k)
		po, err := c.PutObject(s3test.Ctx(t), &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String(k), Body: bytes.NewReader(body)})
		if err != nil {
			t.Errorf("PutObject key #%d %q: %v", i, k, err)
			continue
		}
		if aws.ToString(po.ETag) != s3test.Quoted(s3test.MD5Hex(body)) {
			t.Errorf("PutObject %q ETag = %s", k, aws.ToString(po.ETag))
		}
	}
	for _, k := range oddKeys {
		out, err := c.GetObject(s3test.Ctx(t), &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String(k)})
		if err != nil {
			t.Errorf("GetObject %q: %v", k, err)
			continue
		}
		got, _ := io.ReadAll(out.Body)
		out.Body.Close()
		if string(got) != "body of "+k {
			t.Errorf("GetObject %q = %s, want its own body", k, s3test.ShortBody(got, 64))
		}
	}
	lo, err := c.ListObjectsV2(s3test.Ctx(t), &s3.ListObjectsV2Input{Bucket: aws.String(b)})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := keysOf(lo.Contents), sorted(oddKeys); strings.Join(got, "\x00") != strings.Join(want, "\x00") {
		t.Errorf("ListObjectsV2 keys:\n got %q\nwant %q", got, want)
	}
	_, err = c.PutObject(s3test.Ctx(t), &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String(strings.Repeat("k", 1025)), Body: strings.NewReader("x")})
	s3test.WantAPIError(t, err, 400, "KeyTooLongError")
	// 1024 bytes of UTF-8 (512 two-byte runes) is fine; 1026 is not.
	_, err = c.PutObject(s3test.Ctx(t), &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String(strings.Repeat("я", 512)), Body: strings.NewReader("x")})
	if err != nil {
		t.Errorf("PutObject of a 1024-byte UTF-8 key: %v", err)
	}
	_, err = c.PutObject(s3test.Ctx(t), &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String(strings.Repeat("я", 513)), Body: strings.NewReader("x")})
	s3test.WantAPIError(t, err, 400, "KeyTooLongError")
}

// listingKeys is the tree the listing tests use, in S3's (byte) order.
var listingKeys = []string{
	" spaced key ", "../x", "a", "a//b", "a/b", "dir/", "dir/file2", "dir/sub/file.txt", "dir/sub2/z", "zeta", "ключ/日本語",
}

func fillListing(t *testing.T, c *s3.Client, prefix string) string {
	if strings.Join(sorted(listingKeys), "\x00") != strings.Join(listingKeys, "\x00") {
		t.Fatal("listingKeys is not in byte order")
	}
	b := s3test.NewBucket(t, c, prefix)
	for _, k := range listingKeys {
		s3test.Put(t, c, b, k, []byte(k))
	}
	return b
}

// keysAfter returns the keys greater than s.
func keysAfter(keys []string, s string) []string {
	var out []string
	for _, k := range keys {
		if k > s {
			out = append(out, k)
		}
	}
	return out
}

func prefixesOf(cps []types.CommonPrefix) []string {
	var ps []string
	for _, p := range cps {
		ps = append(ps, aws.ToString(p.Prefix))
	}
	return ps
}

func eqList(t *testing.T, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, "\x00") != strings.Join(want, "\x00") || len(got) != len(want) {
		t.Errorf("%s:\n got %q\nwant %q", what, got, want)
	}
}

func testListDelimiter(t *testing.T, e *sdkEnv) {
	c := e.c
	b := fillListing(t, c, "delim")
	for _, tc := range []struct {
		prefix, delim string
		keys, prefs   []string
	}{
		{"", "", listingKeys, nil},
		{"", "/", []string{" spaced key ", "a", "zeta"}, []string{"../", "a/", "dir/", "ключ/"}},
		{"a/", "/", []string{"a/b"}, []string{"a//"}},
		{"dir/", "/", []string{"dir/", "dir/file2"}, []string{"dir/sub/", "dir/sub2/"}},
		{"dir/s", "", []string{"dir/sub/file.txt", "dir/sub2/z"}, nil},
		{"ключ/", "/", []string{"ключ/日本語"}, nil},
		// Delimiter "b": "a//b" and "a/b" roll up to themselves, and both
		// "dir/sub/file.txt" and "dir/sub2/z" to "dir/sub".
		{"", "b", []string{" spaced key ", "../x", "a", "dir/", "dir/file2", "zeta", "ключ/日本語"}, []string{"a//b", "a/b", "dir/sub"}},
		{"nothing", "/", nil, nil},
	} {
		t.Run("prefix="+tc.prefix+",delim="+tc.delim, func(t *testing.T) {
			v2, err := c.ListObjectsV2(s3test.Ctx(t), &s3.ListObjectsV2Input{Bucket: aws.String(b), Prefix: aws.String(tc.prefix), Delimiter: aws.String(tc.delim)})
			if err != nil {
				t.Fatalf("ListObjectsV2: %v", err)
			}
			eqList(t, "V2 Contents", keysOf(v2.Contents), tc.keys)
			eqList(t, "V2 CommonPrefixes", prefixesOf(v2.CommonPrefixes), tc.prefs)
			if got := aws.ToInt32(v2.KeyCount); int(got) != len(tc.keys)+len(tc.prefs) {
				t.Errorf("V2 KeyCount = %d, want %d", got, len(tc.keys)+len(tc.prefs))
			}
			if aws.ToBool(v2.IsTruncated) || aws.ToString(v2.Prefix) != tc.prefix || aws.ToString(v2.Delimiter) != tc.delim || aws.ToInt32(v2.MaxKeys) != 1000 {
				t.Errorf("V2 IsTruncated=%v Prefix=%q Delimiter=%q MaxKeys=%d", aws.ToBool(v2.IsTruncated), aws.ToString(v2.Prefix), aws.ToString(v2.Delimiter), aws.ToInt32(v2.MaxKeys))
			}
			v1, err := c.ListObjects(s3test.Ctx(t), &s3.ListObjectsInput{Bucket: aws.String(b), Prefix: aws.String(tc.prefix), Delimiter: aws.String(tc.delim)})
			if err != nil {
				t.Fatalf("ListObjects: %v", err)
			}
			eqList(t, "V1 Contents", keysOf(v1.Contents), tc.keys)
			eqList(t, "V1 CommonPrefixes", prefixesOf(v1.CommonPrefixes), tc.prefs)
			if aws.ToBool(v1.IsTruncated) {
				t.Error("V1 IsTruncated = true")
			}
		})
	}
	// Each listed object carries size, ETag, LastModified and storage class.
	v2, err := c.ListObjectsV2(s3test.Ctx(t), &s3.ListObjectsV2Input{Bucket: aws.String(b), Prefix: aws.String("zeta")})
	if err != nil {
		t.Fatal(err)
	}
	if len(v2.Contents) != 1 {
		t.Fatalf("prefix zeta listed %d objects", len(v2.Contents))
	}
	o := v2.Contents[0]
	if aws.ToInt64(o.Size) != 4 || aws.ToString(o.ETag) != s3test.Quoted(s3test.MD5Hex([]byte("zeta"))) || o.LastModified == nil || o.StorageClass != types.ObjectStorageClassStandard {
		t.Errorf("listed object = Size %d ETag %s LastModified %v StorageClass %q", aws.ToInt64(o.Size), aws.ToString(o.ETag), o.LastModified, o.StorageClass)
	}
}

func testListPaging(t *testing.T, e *sdkEnv) {
	c := e.c
	b := fillListing(t, c, "paging")

	// V2: max-keys 3 with continuation tokens.
	var got []string
	var token *string
	pages := 0
	for {
		out, err := c.ListObjectsV2(s3test.Ctx(t), &s3.ListObjectsV2Input{Bucket: aws.String(b), MaxKeys: aws.Int32(3), ContinuationToken: token})
		if err != nil {
			t.Fatalf("ListObjectsV2 page %d: %v", pages, err)
		}
		pages++
		got = append(got, keysOf(out.Contents)...)
		if aws.ToInt32(out.KeyCount) != int32(len(out.Contents)) || len(out.Contents) > 3 {
			t.Errorf("page %d: KeyCount %d, %d contents", pages, aws.ToInt32(out.KeyCount), len(out.Contents))
		}
		if aws.ToString(out.ContinuationToken) != aws.ToString(token) {
			t.Errorf("page %d: ContinuationToken echoed %q, want %q", pages, aws.ToString(out.ContinuationToken), aws.ToString(token))
		}
		if !aws.ToBool(out.IsTruncated) {
			if out.NextContinuationToken != nil {
				t.Errorf("last page has NextContinuationToken %q", aws.ToString(out.NextContinuationToken))
			}
			break
		}
		if aws.ToString(out.NextContinuationToken) == "" {
			t.Fatalf("page %d truncated without NextContinuationToken", pages)
		}
		token = out.NextContinuationToken
		if pages > 20 {
			t.Fatal("paging does not end")
		}
	}
	eqList(t, "V2 paged keys", got, listingKeys)
	if want := (len(listingKeys) + 2) / 3; pages != want {
		t.Errorf("V2 paging took %d pages, want %d", pages, want)
	}

	// V2 start-after.
	out, err := c.ListObjectsV2(s3test.Ctx(t), &s3.ListObjectsV2Input{Bucket: aws.String(b), StartAfter: aws.String("a/b")})
	if err != nil {
		t.Fatal(err)
	}
	eqList(t, "V2 start-after a/b", keysOf(out.Contents), keysAfter(listingKeys, "a/b"))
	if aws.ToString(out.StartAfter) != "a/b" {
		t.Errorf("V2 StartAfter echoed %q", aws.ToString(out.StartAfter))
	}
	// start-after a key that does not exist.
	out, err = c.ListObjectsV2(s3test.Ctx(t), &s3.ListObjectsV2Input{Bucket: aws.String(b), StartAfter: aws.String("dir/f")})
	if err != nil {
		t.Fatal(err)
	}
	eqList(t, "V2 start-after dir/f", keysOf(out.Contents), keysAfter(listingKeys, "dir/f"))

	// V2 paging with a delimiter: prefixes count towards max-keys and are not repeated.
	var keys, prefs []string
	token = nil
	for i := 0; ; i++ {
		out, err := c.ListObjectsV2(s3test.Ctx(t), &s3.ListObjectsV2Input{Bucket: aws.String(b), MaxKeys: aws.Int32(2), Delimiter: aws.String("/"), ContinuationToken: token})
		if err != nil {
			t.Fatal(err)
		}
		if n := len(out.Contents) + len(out.CommonPrefixes); n > 2 || int32(n) != aws.ToInt32(out.KeyCount) {
			t.Errorf("delimited page %d: %d entries, KeyCount %d", i, n, aws.ToInt32(out.KeyCount))
		}
		keys = append(keys, keysOf(out.Contents)...)
		prefs = append(prefs, prefixesOf(out.CommonPrefixes)...)
		if !aws.ToBool(out.IsTruncated) || i > 20 {
			break
		}
		token = out.NextContinuationToken
	}
	eqList(t, "V2 delimited paged keys", keys, []string{" spaced key ", "a", "zeta"})
	eqList(t, "V2 delimited paged prefixes", prefs, []string{"../", "a/", "dir/", "ключ/"})

	// V1: marker paging. Without a delimiter S3 sends no NextMarker; the
	// client continues from the last key.
	got = nil
	var marker *string
	for i := 0; ; i++ {
		out, err := c.ListObjects(s3test.Ctx(t), &s3.ListObjectsInput{Bucket: aws.String(b), MaxKeys: aws.Int32(4), Marker: marker})
		if err != nil {
			t.Fatalf("ListObjects: %v", err)
		}
		if aws.ToString(out.Marker) != aws.ToString(marker) {
			t.Errorf("V1 Marker echoed %q, want %q", aws.ToString(out.Marker), aws.ToString(marker))
		}
		got = append(got, keysOf(out.Contents)...)
		if !aws.ToBool(out.IsTruncated) || i > 20 {
			break
		}
		marker = out.Contents[len(out.Contents)-1].Key
	}
	eqList(t, "V1 paged keys", got, listingKeys)
	v1, err := c.ListObjects(s3test.Ctx(t), &s3.ListObjectsInput{Bucket: aws.String(b), Marker: aws.String("dir/")})
	if err != nil {
		t.Fatal(err)
	}
	eqList(t, "V1 marker dir/", keysOf(v1.Contents), keysAfter(listingKeys, "dir/"))
	// With a delimiter, a truncated V1 page carries NextMarker.
	v1, err = c.ListObjects(s3test.Ctx(t), &s3.ListObjectsInput{Bucket: aws.String(b), MaxKeys: aws.Int32(2), Delimiter: aws.String("/")})
	if err != nil {
		t.Fatal(err)
	}
	if !aws.ToBool(v1.IsTruncated) || aws.ToString(v1.NextMarker) != "../" {
		t.Errorf("V1 delimited first page: IsTruncated=%v NextMarker=%q, want true \"../\"", aws.ToBool(v1.IsTruncated), aws.ToString(v1.NextMarker))
	}
	v1, err = c.ListObjects(s3test.Ctx(t), &s3.ListObjectsInput{Bucket: aws.String(b), MaxKeys: aws.Int32(2), Delimiter: aws.String("/"), Marker: aws.String("../")})
	if err != nil {
		t.Fatal(err)
	}
	eqList(t, "V1 page after ../ keys", keysOf(v1.Contents), []string{"a"})
	eqList(t, "V1 page after ../ prefixes", prefixesOf(v1.CommonPrefixes), []string{"a/"})

	// max-keys 0 lists nothing.
	out, err = c.ListObjectsV2(s3test.Ctx(t), &s3.ListObjectsV2Input{Bucket: aws.String(b), MaxKeys: aws.Int32(0)})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Contents) != 0 || aws.ToInt32(out.KeyCount) != 0 {
		t.Errorf("max-keys=0 listed %v", keysOf(out.Contents))
	}
}

func testListEncodingURL(t *testing.T, e *sdkEnv) {
	c := e.c
	b := fillListing(t, c, "enc")
	out, err := c.ListObjectsV2(s3test.Ctx(t), &s3.ListObjectsV2Input{Bucket: aws.String(b), EncodingType: types.EncodingTypeUrl, Delimiter: aws.String("/")})
	if err != nil {
		t.Fatal(err)
	}
	if out.EncodingType != types.EncodingTypeUrl {
		t.Errorf("EncodingType echoed %q, want url", out.EncodingType)
	}
	decode := func(what string, in []string) []string {
		var outs []string
		for _, s := range in {
			for _, r := range s {
				if r == ' ' || r > 127 {
					t.Errorf("%s %q is not URL-encoded", what, s)
					break
				}
			}
			d, err := url.QueryUnescape(s)
			if err != nil {
				t.Errorf("%s %q: %v", what, s, err)
			}
			outs = append(outs, d)
		}
		return outs
	}
	eqList(t, "url-encoded keys, decoded", decode("key", keysOf(out.Contents)), []string{" spaced key ", "a", "zeta"})
	eqList(t, "url-encoded prefixes, decoded", decode("prefix", prefixesOf(out.CommonPrefixes)), []string{"../", "a/", "dir/", "ключ/"})
	if d := aws.ToString(out.Delimiter); d != "%2F" && d != "/" {
		t.Errorf("encoded Delimiter = %q", d)
	}

	v1, err := c.ListObjects(s3test.Ctx(t), &s3.ListObjectsInput{Bucket: aws.String(b), EncodingType: types.EncodingTypeUrl, Prefix: aws.String("ключ/")})
	if err != nil {
		t.Fatal(err)
	}
	eqList(t, "V1 url-encoded keys, decoded", decode("key", keysOf(v1.Contents)), []string{"ключ/日本語"})
	if p := aws.ToString(v1.Prefix); p == "ключ/" {
		t.Errorf("V1 Prefix %q is not URL-encoded", p)
	}
	_, err = c.ListObjectsV2(s3test.Ctx(t), &s3.ListObjectsV2Input{Bucket: aws.String(b), EncodingType: "base64"})
	s3test.WantAPIError(t, err, 400, "InvalidArgument")
}

func testListFetchOwner(t *testing.T, e *sdkEnv) {
	c := e.c
	b := s3test.NewBucket(t, c, "owner")
	s3test.Put(t, c, b, "o", []byte("o"))
	out, err := c.ListObjectsV2(s3test.Ctx(t), &s3.ListObjectsV2Input{Bucket: aws.String(b)})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Contents) != 1 || out.Contents[0].Owner != nil {
		t.Errorf("V2 without fetch-owner: %d objects, Owner %+v, want 1 without owner", len(out.Contents), ownerOf(out.Contents))
	}
	out, err = c.ListObjectsV2(s3test.Ctx(t), &s3.ListObjectsV2Input{Bucket: aws.String(b), FetchOwner: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	lb, err := c.ListBuckets(s3test.Ctx(t), &s3.ListBucketsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Contents) != 1 || out.Contents[0].Owner == nil || aws.ToString(out.Contents[0].Owner.ID) == "" ||
		lb.Owner == nil || aws.ToString(out.Contents[0].Owner.ID) != aws.ToString(lb.Owner.ID) {
		t.Errorf("V2 fetch-owner=true: Owner %+v, want the bucket owner %+v", ownerOf(out.Contents), lb.Owner)
	}
	// V1 always includes the owner.
	v1, err := c.ListObjects(s3test.Ctx(t), &s3.ListObjectsInput{Bucket: aws.String(b)})
	if err != nil {
		t.Fatal(err)
	}
	if len(v1.Contents) != 1 || v1.Contents[0].Owner == nil || aws.ToString(v1.Contents[0].Owner.ID) == "" {
		t.Errorf("V1 Owner = %+v, want an owner", ownerOf(v1.Contents))
	}
}

func ownerOf(objs []types.Object) any {
	if len(objs) == 0 || objs[0].Owner == nil {
		return nil
	}
	return *objs[0].Owner
}
