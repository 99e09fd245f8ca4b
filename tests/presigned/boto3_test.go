package presigned

import (
	"github.com/postern/postern/internal/s3test"

	"bytes"
	"encoding/json"
	"encoding/xml"
	"os"
	"os/exec"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// boto3Script prints, as JSON, presigned URLs and a presigned POST made by
// boto3 for the bucket and endpoint given on the command line. Go then uses
// them with net/http: Python does no HTTP at all.
const boto3Script = `
import json, sys
import boto3
from botocore.config import Config

endpoint, ak, sk, region, bucket = sys.argv[1:6]
s3 = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=ak,
                  aws_secret_access_key=sk, region_name=region,
                  config=Config(signature_version="s3v4", s3={"addressing_style": "path"}))
out = {
    "get": s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "boto/get me.bin"}, ExpiresIn=300),
    "get_disposition": s3.generate_presigned_url("get_object", Params={
        "Bucket": bucket, "Key": "boto/get me.bin",
        "ResponseContentDisposition": 'attachment; filename="data.bin"',
        "ResponseContentType": "application/x-boto"}, ExpiresIn=300),
    "put": s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "boto/put.csv", "ContentType": "text/csv"}, ExpiresIn=300),
    "put_plain": s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "boto/plain.bin"}, ExpiresIn=300),
    "post": s3.generate_presigned_post(
        bucket, "boto/uploads/${filename}",
        Fields={"Content-Type": "image/png", "success_action_status": "201"},
        Conditions=[
            ["content-length-range", 100, 200000],
            ["starts-with", "$key", "boto/uploads/"],
            {"Content-Type": "image/png"},
            {"success_action_status": "201"},
        ],
        ExpiresIn=300),
}
print(json.dumps(out))
`

// needBoto3 fails (or skips with POSTERN_SKIP_PY=1) when python3 with boto3
// is not installed.
func needBoto3(t *testing.T) {
	t.Helper()
	out, err := exec.Command("python3", "-c", "import boto3").CombinedOutput()
	if err == nil {
		return
	}
	if os.Getenv("POSTERN_SKIP_PY") == "1" {
		t.Skipf("python3 with boto3 not available (POSTERN_SKIP_PY=1): %v %s", err, out)
	}
	t.Fatalf("python3 with boto3 is required (Debian package python3-boto3): run scripts/test.sh, which installs it, or set POSTERN_SKIP_PY=1 to skip: %v\n%s", err, out)
}

// TestBoto3 uses boto3's generate_presigned_url (get_object, put_object) and
// generate_presigned_post.
func TestBoto3(t *testing.T) {
	t.Parallel()
	needBoto3(t)
	srv := startServer(t)
	c := sdkClient(t, srv, true)
	hc := anon(srv)
	b := s3test.NewBucket(t, c, "boto")
	getBody := s3test.RandBytes(51, 70_000)
	s3test.Put(t, c, b, "boto/get me.bin", getBody)

	cmd := exec.Command("python3", "-c", boto3Script, srv.URL, srv.AccessKey, srv.SecretKey, srv.Region, b)
	cmd.Env = envFor(srv)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	raw, err := cmd.Output()
	if err != nil {
		t.Fatalf("boto3 script: %v\n%s", err, stderr.String())
	}
	var out struct {
		Get, GetDisposition, Put, PutPlain string
		Post                               struct {
			URL    string            `json:"url"`
			Fields map[string]string `json:"fields"`
		}
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("boto3 output %s: %v", raw, err)
	}
	json.Unmarshal(m["get"], &out.Get)
	json.Unmarshal(m["get_disposition"], &out.GetDisposition)
	json.Unmarshal(m["put"], &out.Put)
	json.Unmarshal(m["put_plain"], &out.PutPlain)
	json.Unmarshal(m["post"], &out.Post)
	for _, u := range []string{out.Get, out.GetDisposition, out.Put, out.PutPlain} {
		checkStyle(t, srv, u, b, true)
	}

	t.Run("get_object", func(t *testing.T) {
		t.Parallel()
		r := do(t, hc, "GET", out.Get, nil, nil)
		wantStatus(t, "boto3 presigned GET", r, 200)
		s3test.EqualBytes(t, "boto3 presigned GET", r.Body, getBody)
		r = do(t, hc, "GET", out.GetDisposition, nil, nil)
		wantStatus(t, "boto3 presigned GET with overrides", r, 200)
		if r.Header.Get("Content-Disposition") != `attachment; filename="data.bin"` || r.Header.Get("Content-Type") != "application/x-boto" {
			t.Errorf("overrides: Content-Disposition %q Content-Type %q", r.Header.Get("Content-Disposition"), r.Header.Get("Content-Type"))
		}
	})

	t.Run("put_object", func(t *testing.T) {
		t.Parallel()
		csv := []byte("a,b,c\n1,2,3\n")
		if sh := param(t, out.Put, "X-Amz-SignedHeaders"); sh != "content-type;host" {
			t.Fatalf("boto3 signed %q, want content-type;host", sh)
		}
		// boto3 signed the Content-Type: another one is refused.
		r := do(t, hc, "PUT", out.Put, map[string][]string{"Content-Type": {"text/plain"}}, csv)
		wantError(t, "boto3 PUT with another Content-Type", r, 403, "SignatureDoesNotMatch", "")
		wantAbsent(t, c, b, "boto/put.csv")
		r = do(t, hc, "PUT", out.Put, map[string][]string{"Content-Type": {"text/csv"}}, csv)
		wantStatus(t, "boto3 presigned PUT", r, 200)
		o := wantObject(t, c, b, "boto/put.csv", csv)
		if aws.ToString(o.ContentType) != "text/csv" {
			t.Errorf("stored Content-Type %q", aws.ToString(o.ContentType))
		}
		big := s3test.RandBytes(52, 300<<10)
		wantStatus(t, "boto3 presigned PUT (no content type)", do(t, hc, "PUT", out.PutPlain, nil, big), 200)
		wantObject(t, c, b, "boto/plain.bin", big)
	})

	t.Run("generate_presigned_post", func(t *testing.T) {
		t.Parallel()
		f := out.Post.Fields
		if f["key"] != "boto/uploads/${filename}" || f["policy"] == "" || f["x-amz-signature"] == "" {
			t.Fatalf("boto3 POST fields %v", f)
		}
		png := append([]byte("\x89PNG\r\n\x1a\n"), s3test.RandBytes(53, 120_000)...)
		r := postForm(t, hc, out.Post.URL, mapFields(f), "kitten.png", png)
		wantStatus(t, "boto3 presigned POST", r, 201)
		var pr struct {
			XMLName                     xml.Name `xml:"PostResponse"`
			Location, Bucket, Key, ETag string
		}
		if err := xml.Unmarshal(r.Body, &pr); err != nil || pr.Key != "boto/uploads/kitten.png" || pr.Bucket != b || pr.ETag != s3test.Quoted(s3test.MD5Hex(png)) {
			t.Errorf("PostResponse %+v (%v)", pr, err)
		}
		o := wantObject(t, c, b, "boto/uploads/kitten.png", png)
		if aws.ToString(o.ContentType) != "image/png" {
			t.Errorf("POST Content-Type %q", aws.ToString(o.ContentType))
		}
		// Under the content-length-range minimum.
		r = postForm(t, hc, out.Post.URL, mapFields(f), "tiny.png", []byte("tiny"))
		wantError(t, "boto3 POST under the minimum", r, 400, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size")
		// A Content-Type the policy does not allow.
		bad := mapFields(f)
		for i := range bad {
			if bad[i].Name == "Content-Type" {
				bad[i].Value = "text/html"
			}
		}
		r = postForm(t, hc, out.Post.URL, bad, "x.html", s3test.RandBytes(54, 1000))
		wantError(t, "boto3 POST with another Content-Type", r, 403, "AccessDenied", `Invalid according to Policy: Policy Condition failed: ["eq", "$Content-Type", "image/png"]`)
		wantAbsent(t, c, b, "boto/uploads/tiny.png")
		wantAbsent(t, c, b, "boto/uploads/x.html")
	})
}
