// Package s3blob drives a postern whose object bytes live in an S3 service
// (--blobs s3://…): the service is a second, real postern process, and the
// clients are aws-sdk-go-v2 and the aws CLI.
package s3blob

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/postern/postern/internal/s3test"
	"github.com/postern/postern/internal/testserver"
)

// stack is a back-end postern with the bucket "backbucket" and a front
// postern storing its object bytes there under "prefix/".
type stack struct {
	back, front *testserver.Server
	bc, fc      *s3.Client
}

func start(t *testing.T) *stack {
	t.Helper()
	back := testserver.Start(t, testserver.Options{Args: []string{"--console-listen", "off"}})
	bc := s3test.Client(back, s3test.Options{})
	s3test.CreateBucket(t, bc, "backbucket")
	front := testserver.Start(t, testserver.Options{
		Args: []string{"--console-listen", "off", "--blobs", "s3://backbucket/prefix?endpoint=" + back.URL + "&region=us-east-1"},
		// The back end's root credentials, through the standard AWS chain.
		Env: []string{
			"AWS_ACCESS_KEY_ID=" + back.AccessKey, "AWS_SECRET_ACCESS_KEY=" + back.SecretKey,
			"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_EC2_METADATA_DISABLED=true",
		},
	})
	return &stack{back: back, front: front, bc: bc, fc: s3test.Client(front, s3test.Options{})}
}

// backKeys lists the back-end bucket.
func (s *stack) backKeys(t *testing.T) []string {
	t.Helper()
	var keys []string
	p := s3.NewListObjectsV2Paginator(s.bc, &s3.ListObjectsV2Input{Bucket: aws.String("backbucket")})
	for p.HasMorePages() {
		out, err := p.NextPage(s3test.Ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range out.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
	}
	return keys
}

var blobKey = regexp.MustCompile(`^prefix/([0-9a-f]{2})/([0-9a-f]{32})$`)

func vmHWM(t *testing.T, pid int) int64 {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmHWM in /proc/PID/status")
	return 0
}

// Objects of every size and shape through the front: bytes in the back end
// under opaque keys only, read back whole and in ranges, copied, deleted;
// a 64 MiB upload does not grow the front's memory by its size.
func TestObjectsOnS3(t *testing.T) {
	s := start(t)
	fc := s.fc
	s3test.CreateBucket(t, fc, "front")
	small := s3test.RandBytes(1, 100<<10)
	s3test.Put(t, fc, "front", "secret-name/small.txt", small)
	got, _ := s3test.Get(t, fc, "front", "secret-name/small.txt")
	s3test.EqualBytes(t, "small object", got, small)

	big := s3test.RandBytes(2, 64<<20)
	before := vmHWM(t, s.front.PID())
	s3test.Put(t, fc, "front", "secret-name/big.bin", big)
	got, _ = s3test.Get(t, fc, "front", "secret-name/big.bin")
	grew := vmHWM(t, s.front.PID()) - before
	s3test.EqualBytes(t, "64 MiB object", got, big)
	// The writer holds at most 3 parts of 8 MiB (~42 MiB of growth
	// measured, with the GET and the garbage collector's slack); growing
	// by the object's size would mean it was buffered whole.
	if grew >= 64<<20 {
		t.Errorf("the front's peak RSS grew by %d MiB for a 64 MiB PUT and GET", grew>>20)
	}
	t.Logf("front peak RSS: %d MiB before, +%d MiB after the 64 MiB PUT and GET", before>>20, grew>>20)

	for _, r := range [][2]int{{0, 0}, {1000, 1999}, {8<<20 - 5, 8<<20 + 5}, {64<<20 - 10, 64<<20 - 1}} {
		out, err := fc.GetObject(s3test.Ctx(t), &s3.GetObjectInput{Bucket: aws.String("front"), Key: aws.String("secret-name/big.bin"), Range: aws.String(fmt.Sprintf("bytes=%d-%d", r[0], r[1]))})
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(out.Body)
		out.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		s3test.EqualBytes(t, fmt.Sprintf("range %d-%d", r[0], r[1]), b, big[r[0]:r[1]+1])
	}

	// Multipart through the front: each part is a blob of its own.
	ctx := s3test.Ctx(t)
	mp, err := fc.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("front"), Key: aws.String("secret-name/mp")})
	if err != nil {
		t.Fatal(err)
	}
	parts := [][]byte{s3test.RandBytes(3, 5<<20), s3test.RandBytes(4, 1<<20+7)}
	var done []types.CompletedPart
	for i, p := range parts {
		out, err := fc.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("front"), Key: aws.String("secret-name/mp"), UploadId: mp.UploadId, PartNumber: aws.Int32(int32(i + 1)), Body: bytes.NewReader(p)})
		if err != nil {
			t.Fatal(err)
		}
		done = append(done, types.CompletedPart{PartNumber: aws.Int32(int32(i + 1)), ETag: out.ETag})
	}
	if _, err := fc.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("front"), Key: aws.String("secret-name/mp"), UploadId: mp.UploadId, MultipartUpload: &types.CompletedMultipartUpload{Parts: done}}); err != nil {
		t.Fatal(err)
	}
	got, _ = s3test.Get(t, fc, "front", "secret-name/mp")
	s3test.EqualBytes(t, "multipart object", got, append(append([]byte{}, parts[0]...), parts[1]...))

	if _, err := fc.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("front"), Key: aws.String("secret-name/copy"), CopySource: aws.String("front/secret-name/big.bin")}); err != nil {
		t.Fatal(err)
	}
	got, _ = s3test.Get(t, fc, "front", "secret-name/copy")
	s3test.EqualBytes(t, "copied object", got, big)

	// The back end holds opaque blob keys only (the 100 KiB object, the
	// 64 MiB one, two parts, the copy), no object name.
	keys := s.backKeys(t)
	for _, k := range keys {
		m := blobKey.FindStringSubmatch(k)
		if m == nil || m[1] != m[2][:2] {
			t.Errorf("back-end key %q is not prefix/xx/ID", k)
		}
		if strings.Contains(k, "secret") || strings.Contains(k, "front") {
			t.Errorf("back-end key %q carries an object or bucket name", k)
		}
	}
	if len(keys) != 5 {
		t.Errorf("back end holds %d blobs, want 5: %v", len(keys), keys)
	}

	for _, k := range []string{"secret-name/small.txt", "secret-name/big.bin", "secret-name/mp", "secret-name/copy"} {
		if _, err := fc.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("front"), Key: aws.String(k)}); err != nil {
			t.Fatal(err)
		}
	}
	if keys := s.backKeys(t); len(keys) != 0 {
		t.Errorf("after deleting every object the back end still holds %v", keys)
	}
}

// The aws CLI through the front: a multipart upload (the CLI's own 8 MiB
// parts), a listing and a download.
func TestAWSCLIOnS3(t *testing.T) {
	if _, err := exec.LookPath("aws"); err != nil {
		t.Skip("aws CLI not installed")
	}
	s := start(t)
	dir := t.TempDir()
	data := s3test.RandBytes(5, 20<<20+3)
	src, dst := filepath.Join(dir, "up.bin"), filepath.Join(dir, "down.bin")
	if err := os.WriteFile(src, data, 0o600); err != nil {
		t.Fatal(err)
	}
	aws := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("aws", append([]string{"--endpoint-url", s.front.URL}, args...)...)
		cmd.Env = s3test.CLIEnv(s.front)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	aws("s3", "mb", "s3://clibucket")
	aws("s3", "cp", src, "s3://clibucket/dir/file.bin")
	if out := aws("s3", "ls", "s3://clibucket/dir/"); !strings.Contains(out, strconv.Itoa(len(data))+" file.bin") {
		t.Fatalf("aws s3 ls: %q", out)
	}
	aws("s3", "cp", "s3://clibucket/dir/file.bin", dst)
	got, err := os.ReadFile(dst)
	if err != nil {
		t.Fatal(err)
	}
	s3test.EqualBytes(t, "downloaded file", got, data)
	if keys := s.backKeys(t); len(keys) != 3 { // three parts of 8 MiB or less
		t.Errorf("back end holds %v, want the 3 parts' blobs", keys)
	}
}

// With the back end stopped, object reads and writes through the front are
// answered at once with 503 ServiceUnavailable (S3 XML), metadata-only
// requests still work, and everything works again once the back end is
// back, without restarting the front.
func TestBackEndDown(t *testing.T) {
	s := start(t)
	fc := s3test.Client(s.front, s3test.Options{RetryMaxAttempts: 1})
	s3test.CreateBucket(t, fc, "front")
	data := s3test.RandBytes(6, 1<<20)
	s3test.Put(t, fc, "front", "obj", data)

	s.back.Kill()
	ctx := s3test.Ctx(t) // a hang fails here, not after the test's timeout
	_, err := s3test.GetObject(ctx, fc, "front", "obj")
	s3test.WantAPIError(t, err, http.StatusServiceUnavailable, "ServiceUnavailable")
	_, err = s3test.PutObject(ctx, fc, "front", "obj2", data)
	s3test.WantAPIError(t, err, http.StatusServiceUnavailable, "ServiceUnavailable")
	// Larger than a part: the failure comes while the body is being
	// stored, and must not be taken for the client's (IncompleteBody).
	_, err = s3test.PutObject(ctx, fc, "front", "obj3", s3test.RandBytes(7, 10<<20))
	s3test.WantAPIError(t, err, http.StatusServiceUnavailable, "ServiceUnavailable")
	// Metadata alone does not need the back end.
	if _, err := fc.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("front"), Key: aws.String("obj")}); err != nil {
		t.Fatalf("HEAD with the back end down: %v", err)
	}
	// The same with the raw error document.
	resp, body := s3test.DoSigned(t, s.front, "GET", "/front/obj", nil, nil)
	if resp.StatusCode != http.StatusServiceUnavailable || !bytes.Contains(body, []byte("<Code>ServiceUnavailable</Code>")) {
		t.Fatalf("GET with the back end down: %d %s", resp.StatusCode, body)
	}

	s.back.Restart()
	got, err := s3test.GetObject(s3test.Ctx(t), fc, "front", "obj")
	if err != nil {
		t.Fatalf("GET once the back end is back: %v", err)
	}
	s3test.EqualBytes(t, "object after recovery", got, data)
	s3test.Put(t, fc, "front", "obj2", data)
	got, _ = s3test.Get(t, fc, "front", "obj2")
	s3test.EqualBytes(t, "object written after recovery", got, data)
}

// A bucket that does not exist in the back end is a configuration error:
// the front refuses to start and says so.
func TestMissingBackBucket(t *testing.T) {
	back := testserver.Start(t, testserver.Options{Args: []string{"--console-listen", "off"}})
	cmd := exec.Command(testserver.Binary(t), "server", "--data", t.TempDir(), "--listen", "127.0.0.1:0", "--console-listen", "off",
		"--blobs", "s3://nosuchbucket/p?endpoint="+back.URL+"&region=us-east-1")
	cmd.Env = append(s3test.EnvWithoutAWS(), "AWS_ACCESS_KEY_ID="+back.AccessKey, "AWS_SECRET_ACCESS_KEY="+back.SecretKey, "AWS_EC2_METADATA_DISABLED=true")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), `bucket "nosuchbucket" answered 404`) {
		t.Fatalf("exit %v, output %s; want a refusal naming the bucket", err, out)
	}
}
