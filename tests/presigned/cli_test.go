package presigned

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/postern/postern/internal/s3test"
	"github.com/postern/postern/internal/testserver"
)

// runCLI runs the postern binary with env only (no config of this machine)
// and returns stdout, stderr and the exit code.
func runCLI(t testing.TB, env []string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(testserver.Binary(t), args...)
	cmd.Env = env
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("postern %v: %v", args, err)
		}
		code = ee.ExitCode()
	}
	return so.String(), se.String(), code
}

// cliEnv is the environment of `postern presign` for srv: the credentials
// chain and endpoint from AWS_* variables, no config file.
func cliEnv(srv *testserver.Server) []string {
	return append(envFor(srv), "AWS_ENDPOINT_URL="+srv.URL, "AWS_CONFIG_FILE=/dev/null")
}

// presignCLI runs `postern presign` and returns the URL it printed.
func presignCLI(t testing.TB, srv *testserver.Server, args ...string) string {
	t.Helper()
	out, errOut, code := runCLI(t, cliEnv(srv), append([]string{"presign"}, args...)...)
	if code != 0 {
		t.Fatalf("postern presign %v: exit %d\n%s", args, code, errOut)
	}
	if strings.Count(out, "\n") != 1 || !strings.HasSuffix(out, "\n") {
		t.Fatalf("postern presign %v printed more than the URL: %q", args, out)
	}
	u := strings.TrimSpace(out)
	if !strings.HasPrefix(u, srv.URL+"/") {
		t.Fatalf("postern presign URL %q is not on %s", u, srv.URL)
	}
	return u
}

// TestCLIPresign covers `postern presign` and `postern presign-post`.
func TestCLIPresign(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	c := sdkClient(t, srv, true)
	hc := anon(srv)
	b := s3test.NewBucket(t, c, "cli")
	body := s3test.RandBytes(61, 80_000)
	s3test.Put(t, c, b, "dir/file name+1.bin", body)

	t.Run("Methods", func(t *testing.T) {
		t.Parallel()
		u := presignCLI(t, srv, "s3://"+b+"/dir/file name+1.bin")
		if param(t, u, "X-Amz-Expires") != "3600" {
			t.Errorf("default X-Amz-Expires %q, want 3600", param(t, u, "X-Amz-Expires"))
		}
		checkStyle(t, srv, u, b, true)
		r := do(t, hc, "GET", u, nil, nil)
		wantStatus(t, "CLI GET", r, 200)
		s3test.EqualBytes(t, "CLI GET", r.Body, body)

		u = presignCLI(t, srv, "s3://"+b+"/dir/file name+1.bin", "--method", "HEAD", "--expires-in", "90m")
		if param(t, u, "X-Amz-Expires") != "5400" {
			t.Errorf("--expires-in 90m: X-Amz-Expires %q, want 5400", param(t, u, "X-Amz-Expires"))
		}
		r = do(t, hc, "HEAD", u, nil, nil)
		wantStatus(t, "CLI HEAD", r, 200)
		if r.Header.Get("Content-Length") != strconv.Itoa(len(body)) {
			t.Errorf("CLI HEAD Content-Length %q", r.Header.Get("Content-Length"))
		}

		up := s3test.RandBytes(62, 120_000)
		u = presignCLI(t, srv, "s3://"+b+"/cli/put.bin", "--method", "put", "--expires-in", "7d")
		if param(t, u, "X-Amz-Expires") != "604800" {
			t.Errorf("--expires-in 7d: X-Amz-Expires %q, want 604800", param(t, u, "X-Amz-Expires"))
		}
		wantStatus(t, "CLI PUT", do(t, hc, "PUT", u, nil, up), 200)
		wantObject(t, c, b, "cli/put.bin", up)

		u = presignCLI(t, srv, "s3://"+b+"/cli/put.bin", "--method", "DELETE", "--expires-in", "60")
		wantStatus(t, "CLI DELETE", do(t, hc, "DELETE", u, nil, nil), 204)
		wantAbsent(t, c, b, "cli/put.bin")

		// --region signs for another region: the server names the mistake.
		u = presignCLI(t, srv, "s3://"+b+"/dir/file name+1.bin", "--region", "eu-west-1")
		wantError(t, "CLI URL for another region", do(t, hc, "GET", u, nil, nil), 400, "AuthorizationQueryParametersError",
			"Error parsing the X-Amz-Credential parameter; the region 'eu-west-1' is wrong; expecting '"+srv.Region+"'")
		// --endpoint-url wins over AWS_ENDPOINT_URL.
		out, errOut, code := runCLI(t, append(envFor(srv), "AWS_ENDPOINT_URL=http://127.0.0.1:1"), "presign", "s3://"+b+"/dir/file name+1.bin", "--endpoint-url", srv.URL)
		if code != 0 || !strings.HasPrefix(out, srv.URL+"/"+b+"/") {
			t.Errorf("--endpoint-url: exit %d, %q %s", code, out, errOut)
		} else {
			wantStatus(t, "CLI GET via --endpoint-url", do(t, hc, "GET", strings.TrimSpace(out), nil, nil), 200)
		}
	})

	t.Run("SignedContentTypeAndLength", func(t *testing.T) {
		t.Parallel()
		up := []byte("hello, signed world\n")
		u := presignCLI(t, srv, "s3://"+b+"/cli/typed.txt", "--method", "PUT", "--content-type", "text/plain", "--content-length", strconv.Itoa(len(up)))
		sh := param(t, u, "X-Amz-SignedHeaders")
		if !strings.Contains(sh, "content-type") || !strings.Contains(sh, "content-length") {
			t.Fatalf("X-Amz-SignedHeaders %q lacks content-type/content-length", sh)
		}
		r := do(t, hc, "PUT", u, http.Header{"Content-Type": {"application/json"}}, up)
		wantError(t, "CLI PUT with another Content-Type", r, 403, "SignatureDoesNotMatch", "")
		r = do(t, hc, "PUT", u, nil, up)
		wantError(t, "CLI PUT without the Content-Type", r, 403, "SignatureDoesNotMatch", "")
		r = do(t, hc, "PUT", u, http.Header{"Content-Type": {"text/plain"}}, append(up, '!'))
		wantError(t, "CLI PUT with another length", r, 403, "SignatureDoesNotMatch", "")
		wantAbsent(t, c, b, "cli/typed.txt")
		r = do(t, hc, "PUT", u, http.Header{"Content-Type": {"text/plain"}}, up)
		wantStatus(t, "CLI PUT as signed", r, 200)
		o := wantObject(t, c, b, "cli/typed.txt", up)
		if aws.ToString(o.ContentType) != "text/plain" {
			t.Errorf("stored Content-Type %q", aws.ToString(o.ContentType))
		}
	})

	t.Run("Validation", func(t *testing.T) {
		t.Parallel()
		for _, v := range []string{"0", "604801", "8d", "-5", "abc", "1.5s"} {
			out, errOut, code := runCLI(t, cliEnv(srv), "presign", "s3://"+b+"/k", "--expires-in", v)
			if code == 0 || out != "" {
				t.Errorf("--expires-in %s: exit %d stdout %q, want a failure and no URL", v, code, out)
			}
			if !strings.Contains(errOut, "--expires-in") || !strings.Contains(errOut, v) {
				t.Errorf("--expires-in %s: unclear message %q", v, errOut)
			}
			if v == "0" || v == "604801" || v == "8d" {
				if !strings.Contains(errOut, "7 days") && !strings.Contains(errOut, "604800") {
					t.Errorf("--expires-in %s: the message does not give the limit: %q", v, errOut)
				}
			}
			_, errOut, code = runCLI(t, cliEnv(srv), "presign-post", "s3://"+b+"/k", "--expires-in", v)
			if code == 0 || !strings.Contains(errOut, "--expires-in") {
				t.Errorf("presign-post --expires-in %s: exit %d %q", v, code, errOut)
			}
		}
		for _, args := range [][]string{
			{"presign", "s3://" + b + "/k", "--method", "POST"},
			{"presign", "s3://" + b + "/k", "--content-type", "text/plain"}, // GET
			{"presign", "http://example.com/b/k"},
			{"presign", "s3://" + b},
			{"presign-post", "s3://" + b + "/k", "--content-length-range", "10,1"},
			{"presign-post", "s3://" + b + "/k", "--condition", "not json"},
		} {
			out, errOut, code := runCLI(t, cliEnv(srv), args...)
			if code == 0 || out != "" || strings.TrimSpace(errOut) == "" {
				t.Errorf("postern %v: exit %d stdout %q stderr %q, want a failure with a message", args, code, out, errOut)
			}
		}
		// No credentials anywhere: a clear error, quickly.
		env := []string{"PATH=/usr/bin:/bin", "HOME=" + t.TempDir(), "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_EC2_METADATA_DISABLED=true", "AWS_ENDPOINT_URL=" + srv.URL}
		out, errOut, code := runCLI(t, env, "presign", "s3://"+b+"/k")
		if code == 0 || out != "" || !strings.Contains(errOut, "AWS_ACCESS_KEY_ID") {
			t.Errorf("no credentials: exit %d stdout %q stderr %q", code, out, errOut)
		}
	})

	t.Run("PresignPost", func(t *testing.T) {
		t.Parallel()
		out, errOut, code := runCLI(t, cliEnv(srv), "presign-post", "s3://"+b+"/cli/uploads/${filename}",
			"--expires-in", "10m", "--content-length-range", "10,200000",
			"--field", "success_action_status=201",
			"--condition", `["starts-with", "$Content-Type", "text/"]`)
		if code != 0 {
			t.Fatalf("presign-post: exit %d\n%s", code, errOut)
		}
		var pp struct {
			URL    string            `json:"url"`
			Fields map[string]string `json:"fields"`
		}
		if err := json.Unmarshal([]byte(out), &pp); err != nil {
			t.Fatalf("presign-post output %q: %v", out, err)
		}
		if pp.URL != srv.URL+"/"+b+"/" || pp.Fields["key"] != "cli/uploads/${filename}" || pp.Fields["success_action_status"] != "201" {
			t.Fatalf("presign-post output %+v", pp)
		}
		for _, f := range []string{"policy", "x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-signature"} {
			if pp.Fields[f] == "" {
				t.Errorf("presign-post: no %s field", f)
			}
		}
		fields := append(mapFields(pp.Fields), formField{"Content-Type", "text/markdown"})
		doc := append([]byte("# notes\n"), bytes.Repeat([]byte("line of text\n"), 10_000)...)
		r := postForm(t, hc, pp.URL, fields, "notes.md", doc)
		wantStatus(t, "presign-post upload", r, 201)
		var pr struct {
			XMLName                     xml.Name `xml:"PostResponse"`
			Location, Bucket, Key, ETag string
		}
		if err := xml.Unmarshal(r.Body, &pr); err != nil || pr.Key != "cli/uploads/notes.md" || pr.ETag != s3test.Quoted(s3test.MD5Hex(doc)) {
			t.Errorf("PostResponse %+v (%v)", pr, err)
		}
		o := wantObject(t, c, b, "cli/uploads/notes.md", doc)
		if aws.ToString(o.ContentType) != "text/markdown" {
			t.Errorf("Content-Type %q", aws.ToString(o.ContentType))
		}
		// The policy's conditions hold: another Content-Type, a file too big.
		bad := append(mapFields(pp.Fields), formField{"Content-Type", "image/png"})
		r = postForm(t, hc, pp.URL, bad, "img.png", doc)
		wantError(t, "presign-post with image/png", r, 403, "AccessDenied", `Invalid according to Policy: Policy Condition failed: ["starts-with", "$Content-Type", "text/"]`)
		r = postForm(t, hc, pp.URL, fields, "big.md", bytes.Repeat([]byte("x"), 200001))
		wantError(t, "presign-post over the range", r, 400, "EntityTooLarge", "")
		wantAbsent(t, c, b, "cli/uploads/img.png")
		wantAbsent(t, c, b, "cli/uploads/big.md")
	})

	// The aws CLI's own `aws s3 presign` (installed by scripts/test.sh).
	t.Run("AWSCLI", func(t *testing.T) {
		t.Parallel()
		if _, err := exec.LookPath("aws"); err != nil {
			t.Fatal("aws CLI not installed: run scripts/test.sh, which installs it")
		}
		cmd := exec.Command("aws", "s3", "presign", "s3://"+b+"/dir/file name+1.bin", "--expires-in", "120", "--endpoint-url", srv.URL)
		cmd.Env = envFor(srv)
		var se bytes.Buffer
		cmd.Stderr = &se
		start := time.Now()
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("aws s3 presign: %v (%v)\n%s", err, time.Since(start), se.String())
		}
		u := strings.TrimSpace(string(out))
		r := do(t, hc, "GET", u, nil, nil)
		wantStatus(t, "aws s3 presign URL", r, 200)
		s3test.EqualBytes(t, "aws s3 presign URL", r.Body, body)
	})
}
