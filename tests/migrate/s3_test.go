package migrate

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/postern/postern/internal/pgtest"
	"github.com/postern/postern/internal/s3test"
	"github.com/postern/postern/internal/testserver"
)

// backEnv is the environment of a process whose blobs live in back: its
// root credentials through the standard AWS chain, nothing of the machine's.
func backEnv(back *testserver.Server) []string {
	return []string{
		"AWS_ACCESS_KEY_ID=" + back.AccessKey, "AWS_SECRET_ACCESS_KEY=" + back.SecretKey,
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_EC2_METADATA_DISABLED=true",
	}
}

var progressManyRe = regexp.MustCompile(`bucket many: copying: (\d+) objects \((\d+) copied`)

// TestMigrateToS3: an embedded deployment (identities, a bucket with a
// policy, inline, single-blob, 12 MiB and multipart objects, an upload in
// progress, and 60 more objects) is migrated into PostgreSQL and an S3
// back end (a second, real postern); the first run is killed (-9) half
// way, the second completes it, the third has nothing to do. A node on
// that PostgreSQL and s3:// blobs then serves every object byte-identical
// with its size and ETag, to the SDK and the aws CLI, and the migrated
// key and policies work.
func TestMigrateToS3(t *testing.T) {
	back := testserver.Start(t, testserver.Options{Args: []string{"--console-listen", "off"}})
	bc := s3test.Client(back, s3test.Options{})
	s3test.CreateBucket(t, bc, "backbucket")
	blobsURL := "s3://backbucket/migrated/?endpoint=" + back.URL + "&region=us-east-1"

	src := testserver.Start(t, testserver.Options{})
	ctx := s3test.Ctx(t)
	root := s3test.Client(src, s3test.Options{})
	iamc := awsiam.NewFromConfig(s3test.Config(src, s3test.Options{}))
	_, err := iamc.CreateUser(ctx, &awsiam.CreateUserInput{UserName: aws.String("alice")})
	must(t, err)
	key, err := iamc.CreateAccessKey(ctx, &awsiam.CreateAccessKeyInput{UserName: aws.String("alice")})
	must(t, err)
	ak, sk := *key.AccessKey.AccessKeyId, *key.AccessKey.SecretAccessKey
	_, err = iamc.PutUserPolicy(ctx, &awsiam.PutUserPolicyInput{UserName: aws.String("alice"), PolicyName: aws.String("read-data"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","s3:ListBucket"],"Resource":["arn:aws:s3:::data","arn:aws:s3:::data/*"]}]}`)})
	must(t, err)
	user, err := iamc.GetUser(ctx, &awsiam.GetUserInput{UserName: aws.String("alice")})
	must(t, err)
	s3test.CreateBucket(t, root, "data")
	_, err = root.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String("data"), Policy: aws.String(fmt.Sprintf(
		`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":{"AWS":%q},"Action":"s3:GetObject","Resource":"arn:aws:s3:::data/secret/*"}]}`, *user.User.Arn))})
	must(t, err)

	type obj struct {
		bucket, key string
		body        []byte
		etag        string
	}
	var objects []obj
	put := func(bucket, k string, body []byte) {
		out := s3test.Put(t, root, bucket, k, body)
		objects = append(objects, obj{bucket, k, body, *out.ETag})
	}
	put("data", "empty", nil)
	put("data", "small.txt", []byte("hello, migrated world"))
	put("data", "secret/plan.txt", s3test.RandBytes(10, 100<<10))
	put("data", "mid.bin", s3test.RandBytes(11, 300<<10))
	// 12 MiB in one PUT: one blob, sent to the back end in two parts.
	put("data", "twelve.bin", s3test.RandBytes(12, 12<<20))
	// Multipart: 3 parts of 5 MiB and a short last one; each part a blob.
	mp := s3test.RandBytes(13, 15<<20+12345)
	up, err := root.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("data"), Key: aws.String("multi.bin")})
	must(t, err)
	var parts []types.CompletedPart
	for i := 0; i*5<<20 < len(mp); i++ {
		p, err := root.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("data"), Key: aws.String("multi.bin"), UploadId: up.UploadId,
			PartNumber: aws.Int32(int32(i + 1)), Body: bytes.NewReader(mp[i*5<<20 : min((i+1)*5<<20, len(mp))])})
		must(t, err)
		parts = append(parts, types.CompletedPart{ETag: p.ETag, PartNumber: aws.Int32(int32(i + 1))})
	}
	done, err := root.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("data"), Key: aws.String("multi.bin"), UploadId: up.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}})
	must(t, err)
	if !strings.HasSuffix(strings.Trim(*done.ETag, `"`), "-4") {
		t.Fatalf("multipart ETag %s", *done.ETag)
	}
	objects = append(objects, obj{"data", "multi.bin", mp, *done.ETag})
	// An upload in progress with one part.
	pending, err := root.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("data"), Key: aws.String("pending.bin")})
	must(t, err)
	part1 := s3test.RandBytes(14, 5<<20)
	p1, err := root.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("data"), Key: aws.String("pending.bin"), UploadId: pending.UploadId, PartNumber: aws.Int32(1), Body: bytes.NewReader(part1)})
	must(t, err)
	// Enough objects for the kill to land in the middle.
	s3test.CreateBucket(t, root, "many")
	const n = 60
	for i := 0; i < n; i++ {
		put("many", fmt.Sprintf("obj/%03d", i), s3test.RandBytes(uint64(100+i), 200<<10+i))
	}
	must(t, src.Stop(30*time.Second))
	before := tree(t, src.DataDir)
	dsn := pgtest.DSN(t)
	env := append(s3test.EnvWithoutAWS(), backEnv(back)...)
	args := []string{"migrate", "--from", src.DataDir, "--meta", dsn, "--blobs", blobsURL}

	// Run 1, killed once it has copied a few objects of "many" ("data"
	// comes first and is complete by then).
	cmd := exec.Command(testserver.Binary(t), append(args, "--progress", "0")...)
	cmd.Env = env
	stderr, err := cmd.StderrPipe()
	must(t, err)
	must(t, cmd.Start())
	sc := bufio.NewScanner(stderr)
	var log strings.Builder
	killed := false
	for sc.Scan() {
		log.WriteString(sc.Text() + "\n")
		if m := progressManyRe.FindStringSubmatch(sc.Text()); m != nil {
			if c, _ := strconv.Atoi(m[2]); c >= 3 {
				must(t, cmd.Process.Signal(syscall.SIGKILL))
				killed = true
				break
			}
		}
	}
	go io.Copy(io.Discard, stderr)
	cmd.Wait()
	if !killed {
		t.Fatalf("no progress line in bucket many before the end:\n%s", log.String())
	}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
		t.Fatalf("migrate ended before the kill (%v):\n%s", cmd.ProcessState, log.String())
	}

	run := func() (string, int) {
		t.Helper()
		cmd := exec.Command(testserver.Binary(t), args...)
		cmd.Env = env
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return out.String(), code
	}
	// Run 2 resumes: some objects were there, the rest is copied.
	out, code := run()
	t.Logf("second run:\n%s", out)
	m := regexp.MustCompile(`objects +(\d+) +\((\d+) copied, (\d+) already there\)`).FindStringSubmatch(out)
	if code != 0 || m == nil || m[1] != strconv.Itoa(len(objects)) || m[2] == "0" || m[3] == "0" {
		t.Fatalf("second run: exit %d, objects %v, want %d in all, some copied, some already there", code, m, len(objects))
	}
	for _, want := range []string{"users                         1", "access keys                   1", "buckets                       2", "multipart uploads             1", "upload parts                  1"} {
		if !strings.Contains(out, want) {
			t.Errorf("second run's summary lacks %q", want)
		}
	}
	// Run 3: nothing left to do.
	if out, code := run(); code != 0 || !strings.Contains(out, "nothing to do") {
		t.Fatalf("third run: exit %d\n%s", code, out)
	}
	sameTree(t, before, tree(t, src.DataDir))

	// The back end holds blob keys only (plus the killed run's orphans):
	// no object or bucket name reached it.
	blobKeyRe := regexp.MustCompile(`^migrated/([0-9a-f]{2})/([0-9a-f]{32})$`)
	var backKeys int
	p := s3.NewListObjectsV2Paginator(bc, &s3.ListObjectsV2Input{Bucket: aws.String("backbucket")})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		must(t, err)
		for _, o := range page.Contents {
			if km := blobKeyRe.FindStringSubmatch(*o.Key); km == nil || km[1] != km[2][:2] {
				t.Errorf("back-end key %q is not migrated/xx/ID", *o.Key)
			}
			backKeys++
		}
	}
	// Blobs: secret, mid, twelve, 4 parts, the pending part, 60 in "many".
	if want := 3 + 4 + 1 + n; backKeys < want {
		t.Errorf("the back end holds %d blobs, want at least %d", backKeys, want)
	}

	// A node on the migrated stores serves every object byte-identical,
	// with its size and ETag.
	node := testserver.Start(t, testserver.Options{
		Args: []string{"--console-listen", "off", "--meta", dsn, "--blobs", blobsURL, "--server-key", serverKeyHex(t, src.DataDir)},
		Env:  backEnv(back),
	})
	nc := s3test.Client(node, s3test.Options{})
	for _, o := range objects {
		h, err := nc.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(o.bucket), Key: aws.String(o.key)})
		must(t, err)
		if aws.ToInt64(h.ContentLength) != int64(len(o.body)) || *h.ETag != o.etag {
			t.Errorf("%s/%s: HEAD says %d bytes, ETag %s; want %d, %s", o.bucket, o.key, aws.ToInt64(h.ContentLength), *h.ETag, len(o.body), o.etag)
		}
		body, got := s3test.Get(t, nc, o.bucket, o.key)
		s3test.EqualBytes(t, o.bucket+"/"+o.key, body, o.body)
		if *got.ETag != o.etag {
			t.Errorf("%s/%s: GET's ETag %s, want %s", o.bucket, o.key, *got.ETag, o.etag)
		}
	}
	// The aws CLI downloads the multipart object (ranged GETs in parallel).
	file := t.TempDir() + "/multi.bin"
	awsCLI(t, node, "s3", "cp", "s3://data/multi.bin", file)
	if b, err := os.ReadFile(file); err != nil || !bytes.Equal(b, mp) {
		t.Errorf("the aws CLI's multi.bin differs (%d bytes)", len(b))
	}
	// alice's migrated key and inline policy work; the bucket policy's
	// Deny holds.
	alice := s3test.Client(node, s3test.Options{AccessKey: ak, SecretKey: sk, RetryMaxAttempts: 1})
	body, _ := s3test.Get(t, alice, "data", "twelve.bin")
	s3test.EqualBytes(t, "alice's GET", body, objects[4].body)
	_, err = s3test.GetObject(ctx, alice, "data", "secret/plan.txt")
	s3test.WantAPIError(t, err, 403, "AccessDenied")
	// The upload in progress completes on the node with its migrated part.
	part2 := s3test.RandBytes(15, 1<<20)
	p2, err := nc.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("data"), Key: aws.String("pending.bin"), UploadId: pending.UploadId, PartNumber: aws.Int32(2), Body: bytes.NewReader(part2)})
	must(t, err)
	_, err = nc.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("data"), Key: aws.String("pending.bin"), UploadId: pending.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{{ETag: p1.ETag, PartNumber: aws.Int32(1)}, {ETag: p2.ETag, PartNumber: aws.Int32(2)}}}})
	must(t, err)
	body, _ = s3test.Get(t, nc, "data", "pending.bin")
	s3test.EqualBytes(t, "completed upload", body, append(append([]byte{}, part1...), part2...))
}
