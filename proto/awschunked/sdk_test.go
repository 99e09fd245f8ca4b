package awschunked

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/postern/postern/proto/checksum"
)

type captured struct {
	header http.Header
	body   []byte
}

// TestSDKPutObject decodes bodies sent by the real aws-sdk-go-v2 S3
// client (PutObject over HTTPS, which uses STREAMING-UNSIGNED-PAYLOAD-
// TRAILER) and checks the SDK's trailing checksum with package checksum.
func TestSDKPutObject(t *testing.T) {
	var mu sync.Mutex
	var got []captured
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, captured{r.Header.Clone(), b})
		mu.Unlock()
		w.Header().Set("ETag", `"d41d8cd98f00b204e9800998ecf8427e"`)
		w.WriteHeader(200)
	}))
	defer srv.Close()

	client := s3.New(s3.Options{
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""),
		BaseEndpoint:     aws.String(srv.URL),
		UsePathStyle:     true,
		HTTPClient:       srv.Client(),
		RetryMaxAttempts: 1,
	})
	rnd := rand.New(rand.NewPCG(9, 10))
	algs := []types.ChecksumAlgorithm{
		types.ChecksumAlgorithmCrc32, types.ChecksumAlgorithmCrc32c, types.ChecksumAlgorithmCrc64nvme,
		types.ChecksumAlgorithmSha1, types.ChecksumAlgorithmSha256,
	}
	streamed, nonStreamed := 0, 0
	for _, size := range []int{0, 1, 5000, 70000, 1 << 20} {
		for _, alg := range algs {
			data := randBytes(rnd, size)
			// A non-seekable body makes the SDK stream it.
			_, err := client.PutObject(context.Background(), &s3.PutObjectInput{
				Bucket:            aws.String("bucket"),
				Key:               aws.String("key"),
				Body:              io.MultiReader(bytes.NewReader(data)),
				ContentLength:     aws.Int64(int64(size)),
				ChecksumAlgorithm: alg,
			})
			if err != nil {
				t.Fatalf("PutObject: %v", err)
			}
			mu.Lock()
			c := got[len(got)-1]
			mu.Unlock()
			sha := c.header.Get("X-Amz-Content-Sha256")
			signed, trailer, ok := ParseContentSHA256(sha)
			if !ok {
				// Not streamed (e.g. an empty body): the checksum is a
				// plain header, which must still agree with ours.
				set, _ := checksum.NewSet(false, string(alg))
				set.Write(c.body)
				h := checksum.HeaderName(string(alg))
				if c.header.Get(h) == "" || set.Verify(map[string]string{h: c.header.Get(h)}) != nil {
					t.Fatalf("size %d %s: x-amz-content-sha256 %q, header checksum %q", size, alg, sha, c.header.Get(h))
				}
				nonStreamed++
				continue
			}
			streamed++
			if signed || !trailer {
				t.Fatalf("unexpected mode %q", sha)
			}
			if !strings.Contains(c.header.Get("Content-Encoding"), "aws-chunked") {
				t.Fatalf("content-encoding %q", c.header.Get("Content-Encoding"))
			}
			declared, err := strconv.ParseInt(c.header.Get("X-Amz-Decoded-Content-Length"), 10, 64)
			if err != nil || declared != int64(size) {
				t.Fatalf("decoded length header %q", c.header.Get("X-Amz-Decoded-Content-Length"))
			}
			r := NewReader(bytes.NewReader(c.body), nil, trailer)
			r.ExpectDecodedLength(declared)
			set, err := checksum.NewSet(false, string(alg))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.Copy(set, r); err != nil {
				t.Fatalf("size %d %s: decode: %v\n%q", size, alg, err, c.body[:min(len(c.body), 200)])
			}
			if set.Size() != int64(size) {
				t.Fatal("size")
			}
			// The trailer named by x-amz-trailer carries the SDK's checksum.
			name := c.header.Get("X-Amz-Trailer")
			a, ok := checksum.Parse(name)
			if !ok || a != string(alg) || checksum.HeaderName(a) != name {
				t.Fatalf("x-amz-trailer %q", name)
			}
			trs := r.Trailers()
			if len(trs) != 1 || trs[name] == "" {
				t.Fatalf("trailers %v", trs)
			}
			if err := set.Verify(trs); err != nil {
				t.Fatalf("size %d %s: SDK checksum vs ours: %v", size, alg, err)
			}
		}
	}
	t.Logf("%d streamed aws-chunked bodies, %d plain", streamed, nonStreamed)
	if streamed < 4*len(algs) {
		t.Fatal("the SDK did not stream the bodies")
	}
}
