package presigned

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/postern/postern/internal/s3test"
	"github.com/postern/postern/internal/testserver"
)

// headersOf returns the headers a presigned request must be sent with
// (everything the SDK signed except Host, which net/http sets from the URL).
func headersOf(p *v4.PresignedHTTPRequest) http.Header {
	h := http.Header{}
	for k, v := range p.SignedHeader {
		if !strings.EqualFold(k, "Host") {
			h[k] = v
		}
	}
	return h
}

// checkStyle fails unless the presigned URL has the addressing style wanted.
func checkStyle(t testing.TB, srv *testserver.Server, rawURL, bucket string, pathStyle bool) {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := strings.Cut(srv.Addr, ":")
	if pathStyle {
		if u.Host != srv.Addr || !strings.HasPrefix(u.Path, "/"+bucket+"/") {
			t.Fatalf("not a path-style URL for %s: %s", bucket, rawURL)
		}
	} else if u.Host != bucket+"."+vhostDomain+":"+port || strings.HasPrefix(u.Path, "/"+bucket) {
		t.Fatalf("not a virtual-host-style URL for %s: %s", bucket, rawURL)
	}
	if !strings.Contains(u.RawQuery, "X-Amz-Signature=") || !strings.Contains(u.RawQuery, "X-Amz-Credential=") {
		t.Fatalf("not a presigned URL: %s", rawURL)
	}
}

// TestSDKPresignClient drives aws-sdk-go-v2's s3.PresignClient for GET, PUT,
// HEAD, DELETE and UploadPart, path-style and virtual-host style, and uses
// every URL with plain net/http.
func TestSDKPresignClient(t *testing.T) {
	t.Parallel()
	srv := startInProcess(t)
	for _, pathStyle := range []bool{true, false} {
		name := "virtual-host"
		if pathStyle {
			name = "path-style"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c := sdkClient(t, srv, pathStyle)
			pc := s3.NewPresignClient(c, s3.WithPresignExpires(10*time.Minute))
			hc := anon(srv)
			b := s3test.NewBucket(t, c, "sdk")

			t.Run("PutGetHeadDelete", func(t *testing.T) {
				t.Parallel()
				key := "docs/report 2024 ü.bin"
				body := s3test.RandBytes(11, 150<<10)
				pp, err := pc.PresignPutObject(s3test.Ctx(t), &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String(key), ContentType: aws.String("application/x-report")})
				if err != nil {
					t.Fatal(err)
				}
				checkStyle(t, srv, pp.URL, b, pathStyle)
				if pp.Method != "PUT" {
					t.Fatalf("PresignPutObject method %s", pp.Method)
				}
				if got := pp.SignedHeader.Get("Content-Type"); got != "application/x-report" {
					t.Fatalf("the SDK did not sign Content-Type (signed headers %v)", pp.SignedHeader)
				}
				r := do(t, hc, "PUT", pp.URL, headersOf(pp), body)
				wantStatus(t, "presigned PUT", r, 200)
				if got := r.Header.Get("ETag"); got != s3test.Quoted(s3test.MD5Hex(body)) {
					t.Errorf("presigned PUT ETag %s, want %s", got, s3test.Quoted(s3test.MD5Hex(body)))
				}
				out := wantObject(t, c, b, key, body)
				if aws.ToString(out.ContentType) != "application/x-report" {
					t.Errorf("stored Content-Type %q", aws.ToString(out.ContentType))
				}

				pg, err := pc.PresignGetObject(s3test.Ctx(t), &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String(key)})
				if err != nil {
					t.Fatal(err)
				}
				checkStyle(t, srv, pg.URL, b, pathStyle)
				r = do(t, hc, "GET", pg.URL, headersOf(pg), nil)
				wantStatus(t, "presigned GET", r, 200)
				s3test.EqualBytes(t, "presigned GET body", r.Body, body)
				if r.Header.Get("Content-Type") != "application/x-report" || r.Header.Get("ETag") != s3test.Quoted(s3test.MD5Hex(body)) {
					t.Errorf("presigned GET headers: Content-Type %q ETag %q", r.Header.Get("Content-Type"), r.Header.Get("ETag"))
				}
				// The same URL works again until it expires.
				r = do(t, hc, "GET", pg.URL, headersOf(pg), nil)
				wantStatus(t, "presigned GET again", r, 200)
				s3test.EqualBytes(t, "presigned GET body again", r.Body, body)
				// Without its signature it is an anonymous request, which
				// the bucket (private by default) refuses.
				r = do(t, hc, "GET", strings.Split(pg.URL, "?")[0], nil, nil)
				wantError(t, "GET without the query", r, 403, "AccessDenied", "")

				ph, err := pc.PresignHeadObject(s3test.Ctx(t), &s3.HeadObjectInput{Bucket: aws.String(b), Key: aws.String(key)})
				if err != nil {
					t.Fatal(err)
				}
				checkStyle(t, srv, ph.URL, b, pathStyle)
				r = do(t, hc, "HEAD", ph.URL, headersOf(ph), nil)
				wantStatus(t, "presigned HEAD", r, 200)
				if r.Header.Get("Content-Length") != strconv.Itoa(len(body)) || r.Header.Get("ETag") != s3test.Quoted(s3test.MD5Hex(body)) || len(r.Body) != 0 {
					t.Errorf("presigned HEAD: Content-Length %q ETag %q body %d bytes", r.Header.Get("Content-Length"), r.Header.Get("ETag"), len(r.Body))
				}
				// A HEAD URL does not allow a GET.
				r = do(t, hc, "GET", ph.URL, headersOf(ph), nil)
				wantError(t, "GET with a HEAD URL", r, 403, "SignatureDoesNotMatch", "")

				pd, err := pc.PresignDeleteObject(s3test.Ctx(t), &s3.DeleteObjectInput{Bucket: aws.String(b), Key: aws.String(key)})
				if err != nil {
					t.Fatal(err)
				}
				checkStyle(t, srv, pd.URL, b, pathStyle)
				r = do(t, hc, "DELETE", pd.URL, headersOf(pd), nil)
				wantStatus(t, "presigned DELETE", r, 204)
				wantAbsent(t, c, b, key)
				r = do(t, hc, "HEAD", ph.URL, headersOf(ph), nil)
				wantStatus(t, "presigned HEAD after delete", r, 404)
				r = do(t, hc, "GET", pg.URL, headersOf(pg), nil)
				wantError(t, "presigned GET after delete", r, 404, "NoSuchKey", "The specified key does not exist.")
			})

			t.Run("UploadPart", func(t *testing.T) {
				t.Parallel()
				key := "big/multi.bin"
				parts := [][]byte{s3test.RandBytes(21, 5<<20), s3test.RandBytes(22, 777_777)}
				cu, err := c.CreateMultipartUpload(s3test.Ctx(t), &s3.CreateMultipartUploadInput{Bucket: aws.String(b), Key: aws.String(key)})
				if err != nil {
					t.Fatal(err)
				}
				var done []types.CompletedPart
				for i, p := range parts {
					n := int32(i + 1)
					pu, err := pc.PresignUploadPart(s3test.Ctx(t), &s3.UploadPartInput{Bucket: aws.String(b), Key: aws.String(key), UploadId: cu.UploadId, PartNumber: aws.Int32(n)})
					if err != nil {
						t.Fatal(err)
					}
					checkStyle(t, srv, pu.URL, b, pathStyle)
					if !strings.Contains(pu.URL, "uploadId=") || !strings.Contains(pu.URL, "partNumber="+strconv.Itoa(int(n))) {
						t.Fatalf("UploadPart URL lacks uploadId/partNumber: %s", pu.URL)
					}
					r := do(t, hc, "PUT", pu.URL, headersOf(pu), p)
					wantStatus(t, fmt.Sprintf("presigned UploadPart %d", n), r, 200)
					if got := r.Header.Get("ETag"); got != s3test.Quoted(s3test.MD5Hex(p)) {
						t.Fatalf("part %d ETag %s, want %s", n, got, s3test.Quoted(s3test.MD5Hex(p)))
					}
					done = append(done, types.CompletedPart{PartNumber: aws.Int32(n), ETag: aws.String(r.Header.Get("ETag"))})
				}
				cmp, err := c.CompleteMultipartUpload(s3test.Ctx(t), &s3.CompleteMultipartUploadInput{Bucket: aws.String(b), Key: aws.String(key), UploadId: cu.UploadId,
					MultipartUpload: &types.CompletedMultipartUpload{Parts: done}})
				if err != nil {
					t.Fatalf("CompleteMultipartUpload: %v", err)
				}
				if aws.ToString(cmp.ETag) != s3test.MultipartETag(parts...) {
					t.Errorf("multipart ETag %s, want %s", aws.ToString(cmp.ETag), s3test.MultipartETag(parts...))
				}
				want := append(append([]byte{}, parts[0]...), parts[1]...)
				wantObject(t, c, b, key, want)
			})

			// The rest of a multipart upload presigned too, with the SDK's
			// signer: create, complete and abort (the PresignClient has no
			// method for them, a browser app signs them server-side).
			t.Run("MultipartCreateCompleteAbort", func(t *testing.T) {
				t.Parallel()
				key := "big/all-presigned.bin"
				base := strings.Split(mustPresignGet(t, pc, b, key), "?")[0]
				u, _ := presignV4(t, srv, "POST", base+"?uploads=", 600, time.Now(), nil)
				r := do(t, hc, "POST", u, nil, nil)
				wantStatus(t, "presigned CreateMultipartUpload", r, 200)
				var init struct{ UploadId string }
				if err := xml.Unmarshal(r.Body, &init); err != nil || init.UploadId == "" {
					t.Fatalf("CreateMultipartUpload answer %s (%v)", s3test.ShortBody(r.Body, 300), err)
				}
				part := s3test.RandBytes(31, 300_000)
				pu, err := pc.PresignUploadPart(s3test.Ctx(t), &s3.UploadPartInput{Bucket: aws.String(b), Key: aws.String(key), UploadId: aws.String(init.UploadId), PartNumber: aws.Int32(1)})
				if err != nil {
					t.Fatal(err)
				}
				r = do(t, hc, "PUT", pu.URL, headersOf(pu), part)
				wantStatus(t, "presigned UploadPart", r, 200)
				etag := r.Header.Get("ETag")
				u, _ = presignV4(t, srv, "POST", base+"?uploadId="+url.QueryEscape(init.UploadId), 600, time.Now(), nil)
				doc := `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>` + etag + `</ETag></Part></CompleteMultipartUpload>`
				r = do(t, hc, "POST", u, http.Header{"Content-Type": {"application/xml"}}, []byte(doc))
				wantStatus(t, "presigned CompleteMultipartUpload", r, 200)
				var res struct {
					XMLName xml.Name `xml:"CompleteMultipartUploadResult"`
					Bucket  string
					Key     string
					ETag    string
				}
				if err := xml.Unmarshal(r.Body, &res); err != nil || res.Bucket != b || res.Key != key || res.ETag != s3test.MultipartETag(part) {
					t.Errorf("CompleteMultipartUpload answer %+v (%v), want bucket %s key %s ETag %s", res, err, b, key, s3test.MultipartETag(part))
				}
				wantObject(t, c, b, key, part)

				// Abort through a presigned DELETE ?uploadId=.
				cu, err := c.CreateMultipartUpload(s3test.Ctx(t), &s3.CreateMultipartUploadInput{Bucket: aws.String(b), Key: aws.String("big/aborted")})
				if err != nil {
					t.Fatal(err)
				}
				abase := strings.Split(mustPresignGet(t, pc, b, "big/aborted"), "?")[0]
				u, _ = presignV4(t, srv, "DELETE", abase+"?uploadId="+url.QueryEscape(aws.ToString(cu.UploadId)), 600, time.Now(), nil)
				r = do(t, hc, "DELETE", u, nil, nil)
				wantStatus(t, "presigned AbortMultipartUpload", r, 204)
				_, err = c.ListParts(s3test.Ctx(t), &s3.ListPartsInput{Bucket: aws.String(b), Key: aws.String("big/aborted"), UploadId: cu.UploadId})
				s3test.WantAPIError(t, err, 404, "NoSuchUpload")
			})
		})
	}
}

// mustPresignGet returns a presigned GET URL (used for its object address in
// the client's addressing style).
func mustPresignGet(t testing.TB, pc *s3.PresignClient, bucket, key string) string {
	t.Helper()
	p, err := pc.PresignGetObject(s3test.Ctx(t), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatal(err)
	}
	return p.URL
}
