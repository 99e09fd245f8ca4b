package presigned

import (
	"encoding/xml"
	"net"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/minio/minio-go/v7"
	mcreds "github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/postern/postern/internal/s3test"
	"github.com/postern/postern/internal/testserver"
)

func minioClient(t testing.TB, srv *testserver.Server, pathStyle bool) *minio.Client {
	t.Helper()
	endpoint := srv.Addr
	lookup := minio.BucketLookupPath
	if !pathStyle {
		_, port, _ := net.SplitHostPort(srv.Addr)
		endpoint = vhostDomain + ":" + port
		lookup = minio.BucketLookupDNS
	}
	mc, err := minio.New(endpoint, &minio.Options{
		Creds:        mcreds.NewStaticV4(srv.AccessKey, srv.SecretKey, ""),
		Secure:       false,
		Region:       srv.Region,
		BucketLookup: lookup,
		Transport:    loopbackTransport(srv),
	})
	if err != nil {
		t.Fatal(err)
	}
	return mc
}

// TestMinioPresigned drives minio-go v7's PresignedGetObject,
// PresignedPutObject, PresignedHeadObject and PresignedPostPolicy.
func TestMinioPresigned(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	c := sdkClient(t, srv, true)
	for _, pathStyle := range []bool{true, false} {
		name := "virtual-host"
		if pathStyle {
			name = "path-style"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			mc := minioClient(t, srv, pathStyle)
			hc := anon(srv)
			b := s3test.NewBucket(t, c, "minio")
			key := "photos/2024/cat ü.jpg"
			body := s3test.RandBytes(41, 130<<10)

			pu, err := mc.PresignedPutObject(s3test.Ctx(t), b, key, 5*time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			checkStyle(t, srv, pu.String(), b, pathStyle)
			r := do(t, hc, "PUT", pu.String(), nil, body)
			wantStatus(t, "minio presigned PUT", r, 200)
			if r.Header.Get("ETag") != s3test.Quoted(s3test.MD5Hex(body)) {
				t.Errorf("PUT ETag %q", r.Header.Get("ETag"))
			}
			wantObject(t, c, b, key, body)

			params := url.Values{"response-content-disposition": {`attachment; filename="cat.jpg"`}}
			pg, err := mc.PresignedGetObject(s3test.Ctx(t), b, key, 5*time.Minute, params)
			if err != nil {
				t.Fatal(err)
			}
			checkStyle(t, srv, pg.String(), b, pathStyle)
			r = do(t, hc, "GET", pg.String(), nil, nil)
			wantStatus(t, "minio presigned GET", r, 200)
			s3test.EqualBytes(t, "minio presigned GET", r.Body, body)
			if got := r.Header.Get("Content-Disposition"); got != `attachment; filename="cat.jpg"` {
				t.Errorf("response-content-disposition: got %q", got)
			}

			ph, err := mc.PresignedHeadObject(s3test.Ctx(t), b, key, 5*time.Minute, nil)
			if err != nil {
				t.Fatal(err)
			}
			r = do(t, hc, "HEAD", ph.String(), nil, nil)
			wantStatus(t, "minio presigned HEAD", r, 200)
			if r.Header.Get("Content-Length") != strconv.Itoa(len(body)) || r.Header.Get("ETag") != s3test.Quoted(s3test.MD5Hex(body)) {
				t.Errorf("HEAD: Content-Length %q ETag %q", r.Header.Get("Content-Length"), r.Header.Get("ETag"))
			}
			// The PUT URL does not allow reading.
			r = do(t, hc, "GET", pu.String(), nil, nil)
			wantError(t, "GET with minio's PUT URL", r, 403, "SignatureDoesNotMatch", "")

			// PresignedPostPolicy, then a multipart/form-data POST.
			pp := minio.NewPostPolicy()
			pp.SetBucket(b)
			pp.SetKey("uploads/form.bin")
			pp.SetExpires(time.Now().UTC().Add(10 * time.Minute))
			pp.SetContentType("application/x-form")
			pp.SetContentLengthRange(1, 200<<10)
			pp.SetSuccessStatusAction("201")
			pp.SetUserMetadata("origin", "browser")
			u, form, err := mc.PresignedPostPolicy(s3test.Ctx(t), pp)
			if err != nil {
				t.Fatal(err)
			}
			if pathStyle && u.Host != srv.Addr || !pathStyle && u.Host == srv.Addr {
				t.Fatalf("POST URL %s in the wrong style", u)
			}
			up := s3test.RandBytes(42, 150<<10)
			r = postForm(t, hc, u.String(), mapFields(form), "form.bin", up)
			wantStatus(t, "minio POST policy upload", r, 201)
			var pr struct {
				XMLName                     xml.Name `xml:"PostResponse"`
				Location, Bucket, Key, ETag string
			}
			if err := xml.Unmarshal(r.Body, &pr); err != nil || pr.Bucket != b || pr.Key != "uploads/form.bin" || pr.ETag != s3test.Quoted(s3test.MD5Hex(up)) || pr.Location == "" {
				t.Errorf("PostResponse %+v (%v)\n%s", pr, err, r.Body)
			}
			out := wantObject(t, c, b, "uploads/form.bin", up)
			if aws.ToString(out.ContentType) != "application/x-form" || out.Metadata["origin"] != "browser" {
				t.Errorf("POST object Content-Type %q metadata %v", aws.ToString(out.ContentType), out.Metadata)
			}
			// The same form with a file over the policy's range is refused.
			r = postForm(t, hc, u.String(), mapFields(form), "form.bin", s3test.RandBytes(43, 200<<10+1))
			wantError(t, "minio POST over the range", r, 400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size")
			wantObject(t, c, b, "uploads/form.bin", up)
		})
	}
}
