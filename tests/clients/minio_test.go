package clients

import (
	"bytes"
	"crypto/tls"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	miniocreds "github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/postern/postern/internal/s3test"
	"github.com/postern/postern/internal/testserver"
)

// TestMinio drives the server with minio-go v7, path-style, over HTTP and
// over TLS with a transport that trusts the test certificate.
func TestMinio(t *testing.T) {
	t.Parallel()
	for _, mode := range []struct {
		name string
		tls  bool
	}{{"HTTP", false}, {"TLS", true}} {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			srv := testserver.InProcess(t, testserver.Options{TLS: mode.tls})
			tr := http.DefaultTransport.(*http.Transport).Clone()
			if mode.tls {
				tr.TLSClientConfig = &tls.Config{RootCAs: srv.CertPool}
			}
			mc, err := minio.New(srv.Addr, &minio.Options{
				Creds:        miniocreds.NewStaticV4(srv.AccessKey, srv.SecretKey, ""),
				Secure:       mode.tls,
				Transport:    tr,
				Region:       srv.Region,
				BucketLookup: minio.BucketLookupPath,
			})
			if err != nil {
				t.Fatal(err)
			}
			b := s3test.BucketName("minio")
			if err := mc.MakeBucket(s3test.Ctx(t), b, minio.MakeBucketOptions{}); err != nil {
				t.Fatalf("MakeBucket: %v", err)
			}
			ok, err := mc.BucketExists(s3test.Ctx(t), b)
			if err != nil || !ok {
				t.Fatalf("BucketExists = %v, %v", ok, err)
			}
			ok, err = mc.BucketExists(s3test.Ctx(t), s3test.BucketName("absent"))
			if err != nil || ok {
				t.Fatalf("BucketExists(absent) = %v, %v", ok, err)
			}
			err = mc.MakeBucket(s3test.Ctx(t), b, minio.MakeBucketOptions{})
			if minio.ToErrorResponse(err).Code != "BucketAlreadyOwnedByYou" {
				t.Errorf("MakeBucket again: %v, want BucketAlreadyOwnedByYou", err)
			}

			t.Run("SmallObject", func(t *testing.T) {
				t.Parallel()
				body := s3test.RandBytes(81, 33_333)
				info, err := mc.PutObject(s3test.Ctx(t), b, "small/obj.bin", bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{
					ContentType: "application/x-small", UserMetadata: map[string]string{"color": "blue"},
				})
				if err != nil {
					t.Fatalf("PutObject: %v", err)
				}
				if info.ETag != s3test.MD5Hex(body) || info.Size != int64(len(body)) {
					t.Errorf("PutObject info ETag %s Size %d, want %s %d", info.ETag, info.Size, s3test.MD5Hex(body), len(body))
				}
				s3test.EqualBytes(t, "GetObject", minioGet(t, mc, b, "small/obj.bin"), body)
				st, err := mc.StatObject(s3test.Ctx(t), b, "small/obj.bin", minio.StatObjectOptions{})
				if err != nil {
					t.Fatalf("StatObject: %v", err)
				}
				if st.Size != int64(len(body)) || st.ETag != s3test.MD5Hex(body) || st.ContentType != "application/x-small" || st.Metadata.Get("X-Amz-Meta-Color") != "blue" {
					t.Errorf("StatObject = size %d etag %s type %q meta %v", st.Size, st.ETag, st.ContentType, st.Metadata)
				}
				if time.Since(st.LastModified) > time.Minute {
					t.Errorf("StatObject LastModified = %v", st.LastModified)
				}
				// A ranged read.
				o, err := mc.GetObject(s3test.Ctx(t), b, "small/obj.bin", minio.GetObjectOptions{})
				if err != nil {
					t.Fatal(err)
				}
				part := make([]byte, 100)
				if _, err := o.ReadAt(part, 1000); err != nil {
					t.Fatalf("ReadAt: %v", err)
				}
				o.Close()
				s3test.EqualBytes(t, "ReadAt(1000)", part, body[1000:1100])

				_, err = mc.StatObject(s3test.Ctx(t), b, "small/missing", minio.StatObjectOptions{})
				if r := minio.ToErrorResponse(err); r.StatusCode != 404 || r.Code != "NoSuchKey" {
					t.Errorf("StatObject missing: %d %q (%v), want 404 NoSuchKey", r.StatusCode, r.Code, err)
				}
			})

			t.Run("StreamingUnknownSize", func(t *testing.T) {
				t.Parallel()
				const partSize = 5 * mib
				body := s3test.RandBytes(82, 20*mib+777)
				// Size -1 and a plain io.Reader: minio-go streams it as multipart,
				// reading PartSize at a time.
				info, err := mc.PutObject(s3test.Ctx(t), b, "stream/big.bin", struct{ io.Reader }{bytes.NewReader(body)}, -1, minio.PutObjectOptions{PartSize: partSize})
				if err != nil {
					t.Fatalf("PutObject(-1): %v", err)
				}
				var parts [][]byte
				for off := 0; off < len(body); off += partSize {
					parts = append(parts, body[off:min(off+partSize, len(body))])
				}
				want := strings.Trim(s3test.MultipartETag(parts...), `"`)
				if info.ETag != want {
					t.Errorf("streamed upload ETag %s, want %s (5 parts)", info.ETag, want)
				}
				if info.Size != int64(len(body)) {
					t.Errorf("streamed upload Size %d, want %d", info.Size, len(body))
				}
				s3test.EqualBytes(t, "GetObject of the streamed object", minioGet(t, mc, b, "stream/big.bin"), body)
				st, err := mc.StatObject(s3test.Ctx(t), b, "stream/big.bin", minio.StatObjectOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if st.ETag != want || st.Size != int64(len(body)) {
					t.Errorf("StatObject ETag %s Size %d, want %s %d", st.ETag, st.Size, want, len(body))
				}
			})

			t.Run("ListRemoveCopy", func(t *testing.T) {
				t.Parallel()
				lb := s3test.BucketName("minio-list")
				if err := mc.MakeBucket(s3test.Ctx(t), lb, minio.MakeBucketOptions{}); err != nil {
					t.Fatal(err)
				}
				keys := []string{"a.txt", "dir/b.txt", "dir/sub/c.txt", "dir/sub/d.txt", "z ключ.txt"}
				for _, k := range keys {
					if _, err := mc.PutObject(s3test.Ctx(t), lb, k, strings.NewReader("body:"+k), int64(len("body:"+k)), minio.PutObjectOptions{}); err != nil {
						t.Fatalf("PutObject %s: %v", k, err)
					}
				}
				bodies := map[string]string{}
				for _, k := range keys {
					bodies[k] = "body:" + k
				}
				bodies["copy/of-a.txt"] = bodies["a.txt"]
				bodies["copy/of-uni.txt"] = bodies["z ключ.txt"]
				list := func(prefix string, recursive bool) []string {
					var out []string
					for o := range mc.ListObjects(s3test.Ctx(t), lb, minio.ListObjectsOptions{Prefix: prefix, Recursive: recursive}) {
						if o.Err != nil {
							t.Fatalf("ListObjects: %v", o.Err)
						}
						if want, isObj := bodies[o.Key]; isObj && (o.Size != int64(len(want)) || o.ETag != s3test.MD5Hex([]byte(want))) {
							t.Errorf("ListObjects %s: size %d etag %s", o.Key, o.Size, o.ETag)
						}
						out = append(out, o.Key)
					}
					return sorted(out)
				}
				eqList(t, "recursive listing", list("", true), keys)
				eqList(t, "top-level listing", list("", false), []string{"a.txt", "dir/", "z ключ.txt"})
				eqList(t, "dir/ listing", list("dir/", false), []string{"dir/b.txt", "dir/sub/"})
				eqList(t, "dir/sub/ recursive", list("dir/sub/", true), []string{"dir/sub/c.txt", "dir/sub/d.txt"})

				_, err := mc.CopyObject(s3test.Ctx(t), minio.CopyDestOptions{Bucket: lb, Object: "copy/of-a.txt"}, minio.CopySrcOptions{Bucket: lb, Object: "a.txt"})
				if err != nil {
					t.Fatalf("CopyObject: %v", err)
				}
				s3test.EqualBytes(t, "copied object", minioGet(t, mc, lb, "copy/of-a.txt"), []byte("body:a.txt"))
				_, err = mc.CopyObject(s3test.Ctx(t), minio.CopyDestOptions{Bucket: lb, Object: "copy/of-uni.txt", ReplaceMetadata: true, UserMetadata: map[string]string{"k": "v"}},
					minio.CopySrcOptions{Bucket: lb, Object: "z ключ.txt"})
				if err != nil {
					t.Fatalf("CopyObject with REPLACE: %v", err)
				}
				st, err := mc.StatObject(s3test.Ctx(t), lb, "copy/of-uni.txt", minio.StatObjectOptions{})
				if err != nil || st.Metadata.Get("X-Amz-Meta-K") != "v" {
					t.Errorf("copied object metadata %v, %v", st.Metadata, err)
				}

				if err := mc.RemoveObject(s3test.Ctx(t), lb, "a.txt", minio.RemoveObjectOptions{}); err != nil {
					t.Fatalf("RemoveObject: %v", err)
				}
				objs := make(chan minio.ObjectInfo, 10)
				for _, k := range []string{"dir/b.txt", "dir/sub/c.txt", "copy/of-a.txt", "never-existed"} {
					objs <- minio.ObjectInfo{Key: k}
				}
				close(objs)
				for e := range mc.RemoveObjects(s3test.Ctx(t), lb, objs, minio.RemoveObjectsOptions{}) {
					t.Errorf("RemoveObjects: %s: %v", e.ObjectName, e.Err)
				}
				eqList(t, "after removals", list("", true), []string{"copy/of-uni.txt", "dir/sub/d.txt", "z ключ.txt"})
			})

			t.Run("PresignedGet", func(t *testing.T) {
				t.Parallel()
				body := []byte("presigned body")
				if _, err := mc.PutObject(s3test.Ctx(t), b, "presigned/obj", bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{}); err != nil {
					t.Fatal(err)
				}
				u, err := mc.PresignedGetObject(s3test.Ctx(t), b, "presigned/obj", 10*time.Minute, nil)
				if err != nil {
					t.Fatalf("PresignedGetObject: %v", err)
				}
				resp, err := srv.HTTPClient().Get(u.String())
				if err != nil {
					t.Fatal(err)
				}
				got, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					t.Fatalf("GET presigned URL: %d %s", resp.StatusCode, got)
				}
				s3test.EqualBytes(t, "presigned GET", got, body)
			})
		})
	}
}

func minioGet(t *testing.T, mc *minio.Client, b, k string) []byte {
	t.Helper()
	o, err := mc.GetObject(s3test.Ctx(t), b, k, minio.GetObjectOptions{})
	if err != nil {
		t.Fatalf("GetObject %s: %v", k, err)
	}
	defer o.Close()
	got, err := io.ReadAll(o)
	if err != nil {
		t.Fatalf("GetObject %s: read: %v", k, err)
	}
	return got
}
