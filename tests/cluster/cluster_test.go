package cluster

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/postern/postern/internal/s3test"
)

// An object written on A is read and listed on B and C at once (S3's
// strong read-after-write consistency), small (inline in the database) and
// large (a blob) alike, and the aws CLI on C sees what the SDK wrote on A.
func TestWriteOnAReadOnBC(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		a := c.s3[0]
		bucket := s3test.NewBucket(t, a, "rw")
		objs := map[string][]byte{
			"small.txt":      []byte("hello from A"),
			"dir/large.bin":  s3test.RandBytes(1, 3<<20+17),
			"dir/medium.bin": s3test.RandBytes(2, 100<<10),
		}
		for k, v := range objs {
			s3test.Put(t, a, bucket, k, v)
		}
		for i := 1; i < 3; i++ {
			keys := listKeys(t, c.s3[i], bucket)
			if len(keys) != len(objs) {
				t.Fatalf("node %s lists %v, want the %d keys written on A", name(i), keys, len(objs))
			}
			for k, v := range objs {
				if keys[k] != int64(len(v)) {
					t.Errorf("node %s lists %s with size %d, want %d", name(i), k, keys[k], len(v))
				}
				got, etag := get(t, c.s3[i], bucket, k)
				sameBytes(t, fmt.Sprintf("GET %s on node %s", k, name(i)), got, v)
				if etag != s3test.Quoted(s3test.MD5Hex(v)) {
					t.Errorf("node %s: ETag %s of %s, want %s", name(i), etag, k, s3test.MD5Hex(v))
				}
			}
		}
		// A delete on C is seen on A.
		if _, err := c.s3[2].DeleteObject(s3test.Ctx(t), &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String("small.txt")}); err != nil {
			t.Fatal(err)
		}
		_, err := c.s3[0].HeadObject(s3test.Ctx(t), &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("small.txt")})
		s3test.WantAPIError(t, err, 404, "NotFound")

		// The aws CLI on C: list and download what A wrote.
		if _, err := exec.LookPath("aws"); err != nil {
			t.Fatal("aws CLI not installed: run scripts/deps.sh")
		}
		cNode := c.nodes[2]
		out, err := awsCLI(t, cNode.URL, s3test.CLIEnv(cNode), "s3", "ls", "--recursive", "s3://"+bucket)
		if err != nil {
			t.Fatalf("aws s3 ls on C: %v\n%s", err, out)
		}
		if !strings.Contains(out, "dir/large.bin") || !strings.Contains(out, "dir/medium.bin") || strings.Contains(out, "small.txt") {
			t.Fatalf("aws s3 ls on C:\n%s", out)
		}
		dst := filepath.Join(t.TempDir(), "large.bin")
		if out, err := awsCLI(t, cNode.URL, s3test.CLIEnv(cNode), "s3", "cp", "s3://"+bucket+"/dir/large.bin", dst); err != nil {
			t.Fatalf("aws s3 cp on C: %v\n%s", err, out)
		}
		got, _ := os.ReadFile(dst)
		sameBytes(t, "aws s3 cp from C", got, objs["dir/large.bin"])
	})
}

// awsCLI runs the aws CLI against endpoint and returns its combined output.
func awsCLI(t *testing.T, endpoint string, env []string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("aws", append([]string{"--endpoint-url", endpoint}, args...)...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// presign returns a SigV4 query-signed URL for method on bucket/key at
// endpoint, valid for an hour.
func presign(t *testing.T, c *s3.Client, method, bucket, key string) string {
	t.Helper()
	p := s3.NewPresignClient(c, func(o *s3.PresignOptions) { o.Expires = time.Hour })
	var req *v4.PresignedHTTPRequest
	var err error
	switch method {
	case http.MethodGet:
		req, err = p.PresignGetObject(s3test.Ctx(t), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	case http.MethodPut:
		req, err = p.PresignPutObject(s3test.Ctx(t), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	default:
		t.Fatalf("presign %s", method)
	}
	if err != nil {
		t.Fatal(err)
	}
	return req.URL
}

// A URL presigned against A works when the request reaches C (curl
// connecting to C, the URL's Host kept, as a load balancer passes it), for
// GET and PUT.
func TestPresignedOnAWorksOnC(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		a := c.s3[0]
		bucket := s3test.NewBucket(t, a, "presign")
		body := s3test.RandBytes(3, 200<<10)
		s3test.Put(t, a, bucket, "shared.bin", body)

		getURL := presign(t, a, http.MethodGet, bucket, "shared.bin")
		if !strings.HasPrefix(getURL, c.nodes[0].URL+"/") {
			t.Fatalf("presigned URL %s is not for A (%s)", getURL, c.nodes[0].URL)
		}
		status, got := curl(t, "--connect-to", connectTo(t, getURL, c.nodes[2].Addr), getURL)
		if status != 200 {
			t.Fatalf("presigned GET (signed for A) on C: %d %s", status, got)
		}
		sameBytes(t, "presigned GET on C", got, body)

		putBody := s3test.RandBytes(4, 90<<10)
		src := filepath.Join(t.TempDir(), "put.bin")
		if err := os.WriteFile(src, putBody, 0o600); err != nil {
			t.Fatal(err)
		}
		putURL := presign(t, a, http.MethodPut, bucket, "uploaded.bin")
		status, resp := curl(t, "--connect-to", connectTo(t, putURL, c.nodes[2].Addr), "-T", src, putURL)
		if status != 200 {
			t.Fatalf("presigned PUT (signed for A) on C: %d %s", status, resp)
		}
		got, _ = get(t, c.s3[1], bucket, "uploaded.bin")
		sameBytes(t, "object PUT through C, read on B", got, putBody)

		// The signature still covers the Host: the same URL sent with C's
		// own Host is refused (a load balancer must not rewrite it).
		other := strings.Replace(getURL, c.nodes[0].Addr, c.nodes[2].Addr, 1)
		status, errBody := curl(t, other)
		if e, ok := parseS3Error(errBody); status != 403 || !ok || e.Code != "SignatureDoesNotMatch" {
			t.Fatalf("URL signed for A's Host sent with C's Host: %d %s, want 403 SignatureDoesNotMatch", status, errBody)
		}
	})
}

// Concurrent overwrites of one key from all three nodes, round after
// round, end in one complete version everywhere: every node answers the
// same ETag, the body matches it and is one of the bodies written.
func TestConcurrentOverwrites(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		bucket := s3test.NewBucket(t, c.s3[0], "overwrite")
		const rounds = 15
		for r := 0; r < rounds; r++ {
			bodies := make([][]byte, 3)
			for i := range bodies {
				// Sizes alternate between inline (small) and blob
				// (large) objects so that replacing one kind by the
				// other races too.
				size := 1000 + i
				if (r+i)%2 == 0 {
					size = 300<<10 + 1000*i
				}
				bodies[i] = s3test.RandBytes(uint64(1000*r+i), size)
			}
			var wg sync.WaitGroup
			errs := make([]error, 3)
			for i := range bodies {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, errs[i] = s3test.PutObject(s3test.Ctx(t), c.s3[i], bucket, "hot", bodies[i])
				}()
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Fatalf("round %d: PUT on %s: %v", r, name(i), err)
				}
			}
			var etags []string
			var first []byte
			for i := range c.s3 {
				got, etag := get(t, c.s3[i], bucket, "hot")
				if etag != s3test.Quoted(s3test.MD5Hex(got)) {
					t.Fatalf("round %d: node %s serves a body (md5 %s) that does not match its ETag %s", r, name(i), s3test.MD5Hex(got), etag)
				}
				if i == 0 {
					first = got
					found := false
					for _, b := range bodies {
						found = found || bytes.Equal(got, b)
					}
					if !found {
						t.Fatalf("round %d: node A serves %d bytes that none of the PUTs wrote", r, len(got))
					}
				} else {
					sameBytes(t, fmt.Sprintf("round %d: node %s against node A", r, name(i)), got, first)
				}
				etags = append(etags, etag)
			}
			if etags[0] != etags[1] || etags[1] != etags[2] {
				t.Fatalf("round %d: ETags differ between nodes: %v", r, etags)
			}
			if keys := listKeys(t, c.s3[r%3], bucket); len(keys) != 1 || keys["hot"] != int64(len(first)) {
				t.Fatalf("round %d: listing %v", r, keys)
			}
		}
	})
}

// A multipart upload whose parts go to different nodes (create on A,
// parts on A, B and C, complete on B) reads back whole from every node.
func TestMultipartAcrossNodes(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		bucket := s3test.NewBucket(t, c.s3[0], "mpu")
		ctx := s3test.Ctx(t)
		created, err := c.s3[0].CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String("parts/obj")})
		if err != nil {
			t.Fatal(err)
		}
		parts := [][]byte{s3test.RandBytes(10, 5<<20), s3test.RandBytes(11, 5<<20), s3test.RandBytes(12, 1<<20+3)}
		var done []types.CompletedPart
		for i, p := range parts {
			out, err := c.s3[i].UploadPart(ctx, &s3.UploadPartInput{
				Bucket: aws.String(bucket), Key: aws.String("parts/obj"), UploadId: created.UploadId,
				PartNumber: aws.Int32(int32(i + 1)), Body: bytes.NewReader(p),
			})
			if err != nil {
				t.Fatalf("UploadPart %d on %s: %v", i+1, name(i), err)
			}
			done = append(done, types.CompletedPart{ETag: out.ETag, PartNumber: aws.Int32(int32(i + 1))})
		}
		// The parts uploaded on A, B and C are all listed on C.
		lp, err := c.s3[2].ListParts(ctx, &s3.ListPartsInput{Bucket: aws.String(bucket), Key: aws.String("parts/obj"), UploadId: created.UploadId})
		if err != nil {
			t.Fatal(err)
		}
		if len(lp.Parts) != 3 {
			t.Fatalf("ListParts on C: %d parts, want 3", len(lp.Parts))
		}
		comp, err := c.s3[1].CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
			Bucket: aws.String(bucket), Key: aws.String("parts/obj"), UploadId: created.UploadId,
			MultipartUpload: &types.CompletedMultipartUpload{Parts: done},
		})
		if err != nil {
			t.Fatalf("CompleteMultipartUpload on B: %v", err)
		}
		wantETag := s3test.MultipartETag(parts...)
		if aws.ToString(comp.ETag) != wantETag {
			t.Fatalf("ETag %s, want %s", aws.ToString(comp.ETag), wantETag)
		}
		whole := bytes.Join(parts, nil)
		for i := range c.s3 {
			got, etag := get(t, c.s3[i], bucket, "parts/obj")
			sameBytes(t, "multipart object read on "+name(i), got, whole)
			if etag != wantETag {
				t.Errorf("node %s: ETag %s, want %s", name(i), etag, wantETag)
			}
		}
		// The upload is gone everywhere.
		lu, err := c.s3[2].ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String(bucket)})
		if err != nil {
			t.Fatal(err)
		}
		if len(lu.Uploads) != 0 {
			t.Fatalf("ListMultipartUploads on C after completion: %d uploads", len(lu.Uploads))
		}
	})
}
