package sigv2e2e

import (
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/postern/postern/internal/s3test"
	"github.com/postern/postern/internal/testserver"
)

// TestS3cmd: `s3cmd signurl` links work with curl, and s3cmd's own SigV2 mode
// (--signature-v2) makes buckets, uploads (single and multipart), downloads,
// lists and deletes.
func TestS3cmd(t *testing.T) {
	t.Parallel()
	needTool(t, "s3cmd")
	srv := testserver.Start(t, testserver.Options{})
	sdk := sdkClient(srv)

	t.Run("SignURL", func(t *testing.T) {
		t.Parallel()
		b := s3test.NewBucket(t, sdk, "signurl")
		body := s3test.RandBytes(3, 70_000)
		s3test.Put(t, sdk, b, "shared/file.bin", body)
		sc := newS3cmd(t, srv, srv.Addr, srv.AccessKey, srv.SecretKey)
		u := sc.signurl(t, b, "shared/file.bin", 600)
		st, got := curl(t, u)
		wantOK(t, "curl of s3cmd signurl URL", st, got, body)
	})

	t.Run("SignatureV2Mode", func(t *testing.T) {
		t.Parallel()
		px := newProxy(t, srv)
		sc := newS3cmd(t, srv, px.Addr, srv.AccessKey, srv.SecretKey)
		b := s3test.BucketName("s3cmd")
		dir := t.TempDir()
		small := []byte("small file from s3cmd\n")
		big := s3test.RandBytes(5, 20*mib) // over s3cmd's 15 MiB multipart chunk
		smallF, bigF := filepath.Join(dir, "small.txt"), filepath.Join(dir, "big.bin")
		if err := os.WriteFile(smallF, small, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(bigF, big, 0o644); err != nil {
			t.Fatal(err)
		}
		const smallKey = "dir/small file+1.txt" // space and plus in the signed resource

		sc.ok(t, "--signature-v2", "mb", "s3://"+b)
		wantAllSigV2(t, "s3cmd mb", px.take())

		sc.ok(t, "--signature-v2", "put", smallF, "s3://"+b+"/"+smallKey)
		wantAllSigV2(t, "s3cmd put (small)", px.take())

		sc.ok(t, "--signature-v2", "put", bigF, "s3://"+b+"/big.bin")
		reqs := px.take()
		wantAllSigV2(t, "s3cmd put (20 MiB)", reqs)
		var initiate, parts, complete int
		for _, r := range reqs {
			switch {
			case r.Method == http.MethodPost && r.Query == "uploads":
				initiate++
			case r.Method == http.MethodPut && strings.Contains(r.Query, "partNumber="):
				parts++
			case r.Method == http.MethodPost && strings.HasPrefix(r.Query, "uploadId="):
				complete++
			}
		}
		if initiate != 1 || parts != 2 || complete != 1 {
			t.Fatalf("s3cmd put of 20 MiB: %d initiate, %d part uploads, %d complete; want a 2-part multipart upload (requests %+v)", initiate, parts, complete, reqs)
		}

		out := sc.ok(t, "--signature-v2", "ls", "s3://"+b+"/", "--recursive")
		wantAllSigV2(t, "s3cmd ls", px.take())
		wantLs(t, out, map[string]int{"s3://" + b + "/" + smallKey: len(small), "s3://" + b + "/big.bin": len(big)})

		gSmall, gBig := filepath.Join(dir, "got-small"), filepath.Join(dir, "got-big")
		sc.ok(t, "--signature-v2", "get", "--force", "s3://"+b+"/"+smallKey, gSmall)
		sc.ok(t, "--signature-v2", "get", "--force", "s3://"+b+"/big.bin", gBig)
		wantAllSigV2(t, "s3cmd get", px.take())
		for f, want := range map[string][]byte{gSmall: small, gBig: big} {
			got, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			equalBytes(t, "s3cmd get "+filepath.Base(f), got, want)
		}
		// What s3cmd stored is what any other client reads.
		if got, err := s3test.GetObject(s3test.Ctx(t), sdk, b, "big.bin"); err != nil {
			t.Fatalf("SDK GetObject of s3cmd's multipart object: %v", err)
		} else {
			equalBytes(t, "SDK read of s3cmd's multipart object", got, big)
		}

		sc.ok(t, "--signature-v2", "del", "s3://"+b+"/"+smallKey)
		out = sc.ok(t, "--signature-v2", "ls", "s3://"+b+"/", "--recursive")
		wantAllSigV2(t, "s3cmd del, ls", px.take())
		wantLs(t, out, map[string]int{"s3://" + b + "/big.bin": len(big)})
		if _, err := s3test.GetObject(s3test.Ctx(t), sdk, b, smallKey); err == nil || !strings.Contains(err.Error(), "NoSuchKey") {
			t.Errorf("GetObject after s3cmd del: %v, want NoSuchKey", err)
		}

		sc.ok(t, "--signature-v2", "del", "s3://"+b+"/big.bin")
		sc.ok(t, "--signature-v2", "rb", "s3://"+b)
		wantAllSigV2(t, "s3cmd del, rb", px.take())
		out = sc.ok(t, "--signature-v2", "ls")
		if strings.Contains(out, "s3://"+b) {
			t.Errorf("s3cmd ls after rb still lists %s:\n%s", b, out)
		}
	})
}

var s3cmdLsLine = regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d +(\d+) +(s3://.+)$`)

// wantLs checks s3cmd ls output lists exactly the objects in want, with sizes.
func wantLs(t testing.TB, out string, want map[string]int) {
	t.Helper()
	got := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		m := s3cmdLsLine.FindStringSubmatch(strings.TrimSpace(line))
		if m == nil {
			t.Fatalf("unexpected s3cmd ls line %q in:\n%s", line, out)
		}
		got[m[2]] = m[1]
	}
	if len(got) != len(want) {
		t.Fatalf("s3cmd ls listed %v, want %v", got, want)
	}
	for k, n := range want {
		if got[k] != itoa(n) {
			t.Fatalf("s3cmd ls: %s has size %q, want %d (listing %v)", k, got[k], n, got)
		}
	}
}
