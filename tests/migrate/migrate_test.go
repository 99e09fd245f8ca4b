// Package migrate tests `postern migrate` end to end: a deployment built
// by a real postern process and real clients (aws-sdk-go-v2, the aws CLI)
// is copied by the postern binary into PostgreSQL (internal/pgtest) and a
// blobs directory, and a `postern server --meta … --blobs …` on the result
// is checked with the same clients.
package migrate

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
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

func TestMain(m *testing.M) { pgtest.Main(m) }

// migrateCmd runs `postern migrate args...` and returns its stderr and exit code.
func migrateCmd(t *testing.T, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(testserver.Binary(t), append([]string{"migrate"}, args...)...)
	cmd.Env = s3test.EnvWithoutAWS()
	var errb bytes.Buffer
	cmd.Stderr, cmd.Stdout = &errb, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return errb.String(), code
}

// tree returns every file under dir with its size, mtime and SHA-256.
func tree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		v := fi.Mode().String() + " " + fi.ModTime().Format(time.RFC3339Nano)
		if d.Type().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(b)
			v += " " + hex.EncodeToString(sum[:])
		}
		rel, _ := filepath.Rel(dir, p)
		out[rel] = v
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func sameTree(t *testing.T, before, after map[string]string) {
	t.Helper()
	for name, v := range before {
		if after[name] != v {
			t.Errorf("source %s changed: %q → %q", name, v, after[name])
		}
	}
	for name := range after {
		if _, ok := before[name]; !ok && name != "." {
			t.Errorf("source gained %s", name)
		}
	}
}

func serverKeyHex(t *testing.T, data string) string {
	b, err := os.ReadFile(filepath.Join(data, "server.key"))
	if err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func awsCLI(t *testing.T, s *testserver.Server, args ...string) string {
	t.Helper()
	bin, err := exec.LookPath("aws")
	if err != nil {
		t.Fatal("the aws CLI is needed (scripts/deps.sh installs it)")
	}
	cmd := exec.Command(bin, append([]string{"--endpoint-url", s.URL, "--region", s.Region}, args...)...)
	cmd.Env = s3test.CLIEnv(s)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

type object struct {
	body []byte
	etag string
}

// TestMigrateToPostgres: identities, policies, keys, buckets with policies
// and CORS, inline, 20 MiB multipart objects and an upload in progress,
// copied from an embedded deployment into PostgreSQL and a blobs
// directory; a server on the copy answers as the original did.
func TestMigrateToPostgres(t *testing.T) {
	src := testserver.Start(t, testserver.Options{})
	ctx := s3test.Ctx(t)
	root := s3test.Client(src, s3test.Options{})
	iamc := awsiam.NewFromConfig(s3test.Config(src, s3test.Options{}))

	// A user with a key, a managed policy (two versions) and an inline policy.
	_, err := iamc.CreateUser(ctx, &awsiam.CreateUserInput{UserName: aws.String("alice")})
	must(t, err)
	key, err := iamc.CreateAccessKey(ctx, &awsiam.CreateAccessKeyInput{UserName: aws.String("alice")})
	must(t, err)
	ak, sk := *key.AccessKey.AccessKeyId, *key.AccessKey.SecretAccessKey
	pol, err := iamc.CreatePolicy(ctx, &awsiam.CreatePolicyInput{PolicyName: aws.String("read-data"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::data"}]}`)})
	must(t, err)
	_, err = iamc.CreatePolicyVersion(ctx, &awsiam.CreatePolicyVersionInput{PolicyArn: pol.Policy.Arn, SetAsDefault: true,
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:ListBucket","s3:GetObject"],"Resource":["arn:aws:s3:::data","arn:aws:s3:::data/*"]}]}`)})
	must(t, err)
	_, err = iamc.AttachUserPolicy(ctx, &awsiam.AttachUserPolicyInput{UserName: aws.String("alice"), PolicyArn: pol.Policy.Arn})
	must(t, err)
	_, err = iamc.PutUserPolicy(ctx, &awsiam.PutUserPolicyInput{UserName: aws.String("alice"), PolicyName: aws.String("own-prefix"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:PutObject","Resource":"arn:aws:s3:::data/alice/*"}]}`)})
	must(t, err)
	user, err := iamc.GetUser(ctx, &awsiam.GetUserInput{UserName: aws.String("alice")})
	must(t, err)

	// A bucket with a policy that denies alice one prefix, and CORS.
	s3test.CreateBucket(t, root, "data")
	_, err = root.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String("data"), Policy: aws.String(fmt.Sprintf(
		`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":{"AWS":%q},"Action":"s3:GetObject","Resource":"arn:aws:s3:::data/secret/*"}]}`, *user.User.Arn))})
	must(t, err)
	_, err = root.PutBucketCors(ctx, &s3.PutBucketCorsInput{Bucket: aws.String("data"), CORSConfiguration: &types.CORSConfiguration{
		CORSRules: []types.CORSRule{{AllowedMethods: []string{"GET"}, AllowedOrigins: []string{"https://example.com"}}}}})
	must(t, err)
	objects := map[string]object{}
	put := func(k string, body []byte) {
		out := s3test.Put(t, root, "data", k, body)
		objects[k] = object{body, strings.Trim(*out.ETag, `"`)}
	}
	put("empty", nil)
	put("small.txt", []byte("hello, migrated world"))
	put("secret/plan.txt", []byte("not for alice"))
	put("mid.bin", s3test.RandBytes(1, 300<<10))
	// 20 MiB multipart by the SDK (4 parts) and by the aws CLI.
	big := s3test.RandBytes(2, 20<<20)
	up, err := root.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("data"), Key: aws.String("big/sdk.bin"), ContentType: aws.String("application/x-test")})
	must(t, err)
	var parts []types.CompletedPart
	for i := 0; i < 4; i++ {
		p, err := root.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("data"), Key: aws.String("big/sdk.bin"), UploadId: up.UploadId,
			PartNumber: aws.Int32(int32(i + 1)), Body: bytes.NewReader(big[i*5<<20 : (i+1)*5<<20])})
		must(t, err)
		parts = append(parts, types.CompletedPart{ETag: p.ETag, PartNumber: aws.Int32(int32(i + 1))})
	}
	done, err := root.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("data"), Key: aws.String("big/sdk.bin"), UploadId: up.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}})
	must(t, err)
	objects["big/sdk.bin"] = object{big, strings.Trim(*done.ETag, `"`)}
	cliBig := s3test.RandBytes(3, 20<<20)
	file := filepath.Join(t.TempDir(), "cli.bin")
	must(t, os.WriteFile(file, cliBig, 0o600))
	awsCLI(t, src, "s3", "cp", file, "s3://data/big/cli.bin")
	head, err := root.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("data"), Key: aws.String("big/cli.bin")})
	must(t, err)
	if !strings.Contains(*head.ETag, "-") {
		t.Fatalf("the aws CLI did not upload in parts: ETag %s", *head.ETag)
	}
	objects["big/cli.bin"] = object{cliBig, strings.Trim(*head.ETag, `"`)}
	// An upload in progress, one part uploaded.
	pending, err := root.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("data"), Key: aws.String("pending.bin")})
	must(t, err)
	part1 := s3test.RandBytes(4, 5<<20)
	p1, err := root.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("data"), Key: aws.String("pending.bin"), UploadId: pending.UploadId, PartNumber: aws.Int32(1), Body: bytes.NewReader(part1)})
	must(t, err)

	// While the server runs, migrate refuses and names its PID.
	lock, err := os.ReadFile(filepath.Join(src.DataDir, "postern.lock"))
	must(t, err)
	pid := strings.TrimSpace(string(lock))
	dsn := pgtest.DSN(t)
	blobs := t.TempDir()
	out, code := migrateCmd(t, "--from", src.DataDir, "--meta", dsn, "--blobs", blobs)
	if code == 0 || !strings.Contains(out, "(pid "+pid+")") {
		t.Fatalf("migrate with the server running: exit %d\n%s", code, out)
	}
	must(t, src.Stop(30*time.Second))
	before := tree(t, src.DataDir)

	out, code = migrateCmd(t, "--from", src.DataDir, "--meta", dsn, "--blobs", blobs)
	t.Logf("migrate:\n%s", out)
	if code != 0 {
		t.Fatalf("migrate: exit %d", code)
	}
	for _, want := range []string{"objects                       6  (6 copied, 0 already there)", "multipart uploads             1  (1 copied", "upload parts                  1  (1 copied", "access keys                   1  (1 copied"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q", want)
		}
	}
	sameTree(t, before, tree(t, src.DataDir))

	// A server on the copy.
	dst := testserver.Start(t, testserver.Options{Args: []string{"--meta", dsn, "--blobs", blobs, "--server-key", serverKeyHex(t, src.DataDir)}})
	root = s3test.Client(dst, s3test.Options{})
	list, err := root.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("data")})
	must(t, err)
	if len(list.Contents) != len(objects) {
		t.Fatalf("the copy lists %d objects, want %d", len(list.Contents), len(objects))
	}
	for k, o := range objects {
		body, got := s3test.Get(t, root, "data", k)
		s3test.EqualBytes(t, k, body, o.body)
		if strings.Trim(*got.ETag, `"`) != o.etag {
			t.Errorf("%s: ETag %s, want %s", k, *got.ETag, o.etag)
		}
	}
	cors, err := root.GetBucketCors(ctx, &s3.GetBucketCorsInput{Bucket: aws.String("data")})
	must(t, err)
	if len(cors.CORSRules) != 1 || cors.CORSRules[0].AllowedOrigins[0] != "https://example.com" {
		t.Errorf("CORS on the copy: %+v", cors.CORSRules)
	}
	// alice's key works, her policies (managed v2, inline) and the bucket
	// policy's Deny are enforced.
	alice := s3test.Client(dst, s3test.Options{AccessKey: ak, SecretKey: sk, RetryMaxAttempts: 1})
	body, _ := s3test.Get(t, alice, "data", "small.txt")
	s3test.EqualBytes(t, "alice's GET", body, objects["small.txt"].body)
	_, err = s3test.GetObject(ctx, alice, "data", "secret/plan.txt")
	s3test.WantAPIError(t, err, 403, "AccessDenied")
	_, err = s3test.PutObject(ctx, alice, "data", "alice/new.txt", []byte("mine"))
	must(t, err)
	_, err = s3test.PutObject(ctx, alice, "data", "elsewhere.txt", []byte("no"))
	s3test.WantAPIError(t, err, 403, "AccessDenied")
	// A URL presigned with alice's migrated key.
	ps, err := s3.NewPresignClient(alice).PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("data"), Key: aws.String("mid.bin")})
	must(t, err)
	resp, err := http.Get(ps.URL)
	must(t, err)
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Equal(got, objects["mid.bin"].body) {
		t.Fatalf("presigned GET on the copy: %d, %d bytes", resp.StatusCode, len(got))
	}
	// A second run over the migrated target (the server on it running) is
	// a no-op that says so.
	out, code = migrateCmd(t, "--from", src.DataDir, "--meta", dsn, "--blobs", blobs)
	if code != 0 || !strings.Contains(out, "(0 copied, 6 already there)") || !strings.Contains(out, "nothing to do") {
		t.Fatalf("second run: exit %d\n%s", code, out)
	}
	sameTree(t, before, tree(t, src.DataDir))

	// The upload in progress completes on the copy with its migrated part.
	part2 := s3test.RandBytes(5, 1<<20)
	p2, err := root.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("data"), Key: aws.String("pending.bin"), UploadId: pending.UploadId, PartNumber: aws.Int32(2), Body: bytes.NewReader(part2)})
	must(t, err)
	_, err = root.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("data"), Key: aws.String("pending.bin"), UploadId: pending.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{{ETag: p1.ETag, PartNumber: aws.Int32(1)}, {ETag: p2.ETag, PartNumber: aws.Int32(2)}}}})
	must(t, err)
	body, _ = s3test.Get(t, root, "data", "pending.bin")
	s3test.EqualBytes(t, "completed upload", body, append(append([]byte{}, part1...), part2...))

}

var progressRe = regexp.MustCompile(`bucket many: copying: (\d+) objects \((\d+) copied`)

// TestMigrateResumesAfterKill: kill -9 during the copy; the next run
// completes without duplicating or losing anything, and the one after is
// a no-op.
func TestMigrateResumesAfterKill(t *testing.T) {
	src := testserver.Start(t, testserver.Options{})
	root := s3test.Client(src, s3test.Options{})
	s3test.CreateBucket(t, root, "many")
	const n = 120
	etags := map[string]string{}
	for i := 0; i < n; i++ {
		k := fmt.Sprintf("obj/%04d", i)
		out := s3test.Put(t, root, "many", k, s3test.RandBytes(uint64(100+i), 200<<10))
		etags[k] = *out.ETag
	}
	must(t, src.Stop(30*time.Second))
	dsn := pgtest.DSN(t)
	blobs := t.TempDir()

	cmd := exec.Command(testserver.Binary(t), "migrate", "--from", src.DataDir, "--meta", dsn, "--blobs", blobs, "--progress", "0")
	cmd.Env = s3test.EnvWithoutAWS()
	stderr, err := cmd.StderrPipe()
	must(t, err)
	must(t, cmd.Start())
	sc := bufio.NewScanner(stderr)
	var log strings.Builder
	killed := false
	for sc.Scan() {
		log.WriteString(sc.Text() + "\n")
		if m := progressRe.FindStringSubmatch(sc.Text()); m != nil {
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
		t.Fatalf("no progress line before the end:\n%s", log.String())
	}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
		t.Fatalf("migrate ended before the kill (%v):\n%s", cmd.ProcessState, log.String())
	}

	out, code := migrateCmd(t, "--from", src.DataDir, "--meta", dsn, "--blobs", blobs)
	t.Logf("second run:\n%s", out)
	m := regexp.MustCompile(`objects +(\d+) +\((\d+) copied, (\d+) already there\)`).FindStringSubmatch(out)
	if code != 0 || m == nil || m[1] != strconv.Itoa(n) || m[3] == "0" || m[2] == "0" {
		t.Fatalf("second run: exit %d, objects %v", code, m)
	}
	out, code = migrateCmd(t, "--from", src.DataDir, "--meta", dsn, "--blobs", blobs)
	if code != 0 || !strings.Contains(out, "nothing to do") {
		t.Fatalf("third run: exit %d\n%s", code, out)
	}

	dst := testserver.Start(t, testserver.Options{Args: []string{"--meta", dsn, "--blobs", blobs, "--server-key", serverKeyHex(t, src.DataDir)}})
	c := s3test.Client(dst, s3test.Options{})
	seen := map[string]string{}
	p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String("many"), MaxKeys: aws.Int32(50)})
	for p.HasMorePages() {
		page, err := p.NextPage(s3test.Ctx(t))
		must(t, err)
		for _, o := range page.Contents {
			if _, dup := seen[*o.Key]; dup {
				t.Fatalf("%s listed twice", *o.Key)
			}
			seen[*o.Key] = *o.ETag
		}
	}
	if len(seen) != n {
		t.Fatalf("the copy holds %d objects, want %d", len(seen), n)
	}
	for k, e := range etags {
		if seen[k] != e {
			t.Errorf("%s: ETag %s, want %s", k, seen[k], e)
		}
	}
	body, _ := s3test.Get(t, c, "many", "obj/0007")
	s3test.EqualBytes(t, "obj/0007", body, s3test.RandBytes(107, 200<<10))
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
