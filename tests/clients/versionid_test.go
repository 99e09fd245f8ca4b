package clients

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/postern/postern/internal/s3test"
	"github.com/postern/postern/internal/testserver"
)

// bogusVersion has the form of a version id AWS issues; Postern never
// issued it (every object is its key's version "null").
const bogusVersion = "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrH"

// TestVersionIDOnObjects checks that object operations honour a versionId as
// AWS does on a bucket that never had versioning: "null" names the object,
// any other id names a version that is not there, and a request for it must
// never read, copy or delete the current object instead (issue 17: a
// DeleteObjects entry with a VersionId deleted the current object).
func TestVersionIDOnObjects(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, testserver.Options{})
	c, rec := sdkClient(t, srv)
	e := &sdkEnv{srv: srv, c: c, rec: rec}
	for _, tc := range []struct {
		name string
		fn   func(*testing.T, *sdkEnv)
	}{
		{"DeleteObjects", testVersionIDDeleteObjects},
		{"GetHeadDelete", testVersionIDGetHeadDelete},
		{"Copy", testVersionIDCopy},
		{"Wire", testVersionIDWire},
		{"Boto3", testVersionIDBoto3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, e)
		})
	}
}

// exists reports whether key is there, and fails the test if its body is
// not body.
func exists(t *testing.T, c *s3.Client, b, key string, body []byte) bool {
	t.Helper()
	got, err := s3test.GetObject(s3test.Ctx(t), c, b, key)
	if st, code, _ := s3test.APIErr(err); st == 404 && code == "NoSuchKey" {
		return false
	}
	if err != nil {
		t.Fatalf("GetObject %q: %v", key, err)
	}
	s3test.EqualBytes(t, key, got, body)
	return true
}

func testVersionIDDeleteObjects(t *testing.T, e *sdkEnv) {
	c := e.c
	b := s3test.NewBucket(t, c, "vid-delobjs")
	for _, k := range []string{"bogus", "empty", "null", "plain", "keep"} {
		s3test.Put(t, c, b, k, []byte("body of "+k))
	}
	out, err := c.DeleteObjects(s3test.Ctx(t), &s3.DeleteObjectsInput{Bucket: aws.String(b), Delete: &types.Delete{Objects: []types.ObjectIdentifier{
		{Key: aws.String("bogus"), VersionId: aws.String(bogusVersion)},
		{Key: aws.String("empty"), VersionId: aws.String("")},
		{Key: aws.String("null"), VersionId: aws.String("null")},
		{Key: aws.String("plain")},
		{Key: aws.String("gone"), VersionId: aws.String("null")},
	}}})
	if err != nil {
		t.Fatalf("DeleteObjects: %v", err)
	}
	var deleted, errs []string
	for _, d := range out.Deleted {
		deleted = append(deleted, aws.ToString(d.Key)+"@"+aws.ToString(d.VersionId))
	}
	for _, x := range out.Errors {
		errs = append(errs, aws.ToString(x.Key)+"@"+aws.ToString(x.VersionId)+" "+aws.ToString(x.Code)+": "+aws.ToString(x.Message))
	}
	sort.Strings(deleted)
	sort.Strings(errs)
	eqList(t, "Deleted", deleted, []string{"gone@null", "null@null", "plain@"})
	eqList(t, "Errors", errs, []string{
		"bogus@" + bogusVersion + " NoSuchVersion: The specified version does not exist.",
		"empty@ NoSuchVersion: The specified version does not exist.",
	})
	// The entries naming a version the key does not have deleted nothing.
	for k, want := range map[string]bool{"bogus": true, "empty": true, "null": false, "plain": false, "keep": true} {
		if got := exists(t, c, b, k, []byte("body of "+k)); got != want {
			t.Errorf("after DeleteObjects, %q exists: %v, want %v", k, got, want)
		}
	}
	// Quiet mode reports the refused entry all the same.
	out, err = c.DeleteObjects(s3test.Ctx(t), &s3.DeleteObjectsInput{Bucket: aws.String(b), Delete: &types.Delete{Quiet: aws.Bool(true), Objects: []types.ObjectIdentifier{
		{Key: aws.String("bogus"), VersionId: aws.String("NULL")},
		{Key: aws.String("keep"), VersionId: aws.String("null")},
	}}})
	if err != nil || len(out.Deleted) != 0 || len(out.Errors) != 1 || aws.ToString(out.Errors[0].Key) != "bogus" || aws.ToString(out.Errors[0].VersionId) != "NULL" {
		t.Fatalf("quiet DeleteObjects: %+v, %v", out, err)
	}
	if !exists(t, c, b, "bogus", []byte("body of bogus")) || exists(t, c, b, "keep", nil) {
		t.Error("quiet DeleteObjects deleted the wrong objects")
	}
}

func testVersionIDGetHeadDelete(t *testing.T, e *sdkEnv) {
	c := e.c
	b := s3test.NewBucket(t, c, "vid-ghd")
	body := []byte("the only version")
	s3test.Put(t, c, b, "k", body)
	ctx := s3test.Ctx(t)

	// versionId=null is the object. A never-versioned bucket reports no
	// version id, asked for one or not.
	g, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String("k"), VersionId: aws.String("null")})
	if err != nil {
		t.Fatalf("GetObject versionId=null: %v", err)
	}
	got, err := io.ReadAll(g.Body)
	g.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	s3test.EqualBytes(t, "GetObject versionId=null", got, body)
	if g.VersionId != nil {
		t.Errorf("GetObject versionId=null: x-amz-version-id %q", aws.ToString(g.VersionId))
	}
	h, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(b), Key: aws.String("k"), VersionId: aws.String("null")})
	if err != nil || aws.ToInt64(h.ContentLength) != int64(len(body)) || h.VersionId != nil {
		t.Fatalf("HeadObject versionId=null: %+v, %v", h, err)
	}

	// Any other id is 400 InvalidArgument, and reads nothing.
	for _, v := range []string{bogusVersion, "NULL", "abc"} {
		_, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String("k"), VersionId: aws.String(v)})
		if st, code, msg := s3test.APIErr(err); st != 400 || code != "InvalidArgument" || msg != "Invalid version id specified" {
			t.Errorf("GetObject versionId=%s: %d %s %q (%v)", v, st, code, msg, err)
		}
		_, err = c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(b), Key: aws.String("k"), VersionId: aws.String(v)})
		if st, _, _ := s3test.APIErr(err); st != 400 {
			t.Errorf("HeadObject versionId=%s: %v, want 400", v, err)
		}
		_, err = c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(b), Key: aws.String("k"), VersionId: aws.String(v)})
		if st, code, msg := s3test.APIErr(err); st != 400 || code != "InvalidArgument" || msg != "Invalid version id specified" {
			t.Errorf("DeleteObject versionId=%s: %d %s %q (%v)", v, st, code, msg, err)
		}
	}
	_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String("k"), VersionId: aws.String("")})
	if st, code, msg := s3test.APIErr(err); st != 400 || code != "InvalidArgument" || msg != "Version id cannot be the empty string" {
		t.Errorf("GetObject versionId='': %d %s %q (%v)", st, code, msg, err)
	}
	if !exists(t, c, b, "k", body) {
		t.Fatal("a DeleteObject for another version deleted the object")
	}

	// The null version of a key without an object does not exist.
	_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b), Key: aws.String("missing"), VersionId: aws.String("null")})
	if st, code, _ := s3test.APIErr(err); st != 404 || code != "NoSuchVersion" {
		t.Errorf("GetObject missing versionId=null: %v, want 404 NoSuchVersion", err)
	}
	_, err = c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(b), Key: aws.String("missing"), VersionId: aws.String("null")})
	if st, _, _ := s3test.APIErr(err); st != 404 {
		t.Errorf("HeadObject missing versionId=null: %v, want 404", err)
	}

	// DeleteObject versionId=null deletes the object; again, it is a no-op.
	for i := 0; i < 2; i++ {
		d, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(b), Key: aws.String("k"), VersionId: aws.String("null")})
		if err != nil || d.VersionId != nil || aws.ToBool(d.DeleteMarker) {
			t.Fatalf("DeleteObject versionId=null (%d): %+v, %v", i, d, err)
		}
	}
	if exists(t, c, b, "k", nil) {
		t.Error("DeleteObject versionId=null left the object")
	}
}

func testVersionIDCopy(t *testing.T, e *sdkEnv) {
	c := e.c
	b := s3test.NewBucket(t, c, "vid-copy")
	body := []byte("copy source")
	s3test.Put(t, c, b, "src key?", body)
	ctx := s3test.Ctx(t)
	src := b + "/" + url.PathEscape("src key?")

	// ?versionId=null copies the object.
	if _, err := c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(b), Key: aws.String("dst"), CopySource: aws.String(src + "?versionId=null")}); err != nil {
		t.Fatalf("CopyObject versionId=null: %v", err)
	}
	if !exists(t, c, b, "dst", body) {
		t.Fatal("CopyObject versionId=null made no copy")
	}
	// Another id copies nothing: AWS answers CopyObject with a bare
	// InvalidRequest, and an empty id with InvalidArgument.
	for _, tc := range []struct{ v, code, msg string }{
		{bogusVersion, "InvalidRequest", "Invalid Request"},
		{"abc", "InvalidRequest", "Invalid Request"},
		{"", "InvalidArgument", "Version id cannot be the empty string"},
	} {
		_, err := c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(b), Key: aws.String("dst2"), CopySource: aws.String(src + "?versionId=" + tc.v)})
		if st, code, msg := s3test.APIErr(err); st != 400 || code != tc.code || msg != tc.msg {
			t.Errorf("CopyObject versionId=%q: %d %s %q (%v), want 400 %s %q", tc.v, st, code, msg, err, tc.code, tc.msg)
		}
	}
	if exists(t, c, b, "dst2", nil) {
		t.Error("a CopyObject from another version made a copy")
	}
	_, err := c.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(b), Key: aws.String("dst3"), CopySource: aws.String(b + "/missing?versionId=null")})
	s3test.WantAPIError(t, err, 404, "NoSuchVersion")

	// UploadPartCopy: null copies, another id is InvalidArgument.
	up, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(b), Key: aws.String("mp")})
	if err != nil {
		t.Fatal(err)
	}
	pc, err := c.UploadPartCopy(ctx, &s3.UploadPartCopyInput{Bucket: aws.String(b), Key: aws.String("mp"), UploadId: up.UploadId, PartNumber: aws.Int32(1),
		CopySource: aws.String(src + "?versionId=null")})
	if err != nil || pc.CopyPartResult == nil || aws.ToString(pc.CopyPartResult.ETag) != s3test.Quoted(s3test.MD5Hex(body)) {
		t.Fatalf("UploadPartCopy versionId=null: %+v, %v", pc, err)
	}
	_, err = c.UploadPartCopy(ctx, &s3.UploadPartCopyInput{Bucket: aws.String(b), Key: aws.String("mp"), UploadId: up.UploadId, PartNumber: aws.Int32(2),
		CopySource: aws.String(src + "?versionId=" + bogusVersion)})
	if st, code, msg := s3test.APIErr(err); st != 400 || code != "InvalidArgument" || msg != "Invalid version id specified" {
		t.Errorf("UploadPartCopy bogus version: %d %s %q (%v)", st, code, msg, err)
	}
	parts, err := c.ListParts(ctx, &s3.ListPartsInput{Bucket: aws.String(b), Key: aws.String("mp"), UploadId: up.UploadId})
	if err != nil || len(parts.Parts) != 1 {
		t.Errorf("ListParts after the refused copy: %+v, %v", parts, err)
	}
}

// testVersionIDWire checks what the SDKs cannot send or do not show: the
// error elements, HEAD's bodyless 400, a versionId that does not decode, and
// UploadPart with a versionId.
func testVersionIDWire(t *testing.T, e *sdkEnv) {
	c := e.c
	b := s3test.NewBucket(t, c, "vid-wire")
	s3test.Put(t, c, b, "k", []byte("k"))
	for _, tc := range []struct{ method, query, msg, value string }{
		{"GET", "versionId=abc", "Invalid version id specified", "abc"},
		{"GET", "versionId=", "Version id cannot be the empty string", ""},
		{"DELETE", "versionId=" + bogusVersion, "Invalid version id specified", bogusVersion},
	} {
		resp, body := s3test.DoSigned(t, e.srv, tc.method, "/"+b+"/k?"+tc.query, nil, nil)
		eb, _ := s3test.ParseError(body)
		if resp.StatusCode != 400 || eb.Code != "InvalidArgument" || eb.Message != tc.msg || eb.Fields["ArgumentName"] != "versionId" || eb.Fields["ArgumentValue"] != tc.value {
			t.Errorf("%s ?%s: %d %s", tc.method, tc.query, resp.StatusCode, body)
		}
	}
	resp, body := s3test.DoSigned(t, e.srv, "HEAD", "/"+b+"/k?versionId=abc", nil, nil)
	if resp.StatusCode != 400 || len(body) != 0 {
		t.Errorf("HEAD ?versionId=abc: %d %q", resp.StatusCode, body)
	}
	resp, body = s3test.DoSigned(t, e.srv, "GET", "/"+b+"/missing?versionId=null", nil, nil)
	if eb, _ := s3test.ParseError(body); resp.StatusCode != 404 || eb.Code != "NoSuchVersion" || eb.Fields["Key"] != "missing" || eb.Fields["VersionId"] != "null" {
		t.Errorf("GET missing ?versionId=null: %d %s", resp.StatusCode, body)
	}
	hdr := http.Header{"X-Amz-Copy-Source": {b + "/k?versionId="}}
	resp, body = s3test.DoSigned(t, e.srv, "PUT", "/"+b+"/copy", nil, hdr)
	if eb, _ := s3test.ParseError(body); resp.StatusCode != 400 || eb.Code != "InvalidArgument" || eb.Fields["ArgumentName"] != "x-amz-copy-source" {
		t.Errorf("CopyObject ?versionId=: %d %s", resp.StatusCode, body)
	}
	if !exists(t, c, b, "k", []byte("k")) {
		t.Fatal("a refused request deleted the object")
	}

	// A versionId that url.ParseQuery drops, or two that disagree, is no
	// versionId at all to a naive reader: sent as is (an SDK's signer would
	// re-encode the query), by anyone the bucket policy lets delete. It
	// still names a version: with s3:DeleteObject alone it is denied as
	// s3:DeleteObjectVersion; with both it is refused as invalid.
	ctx := s3test.Ctx(t)
	if _, err := c.DeletePublicAccessBlock(ctx, &s3.DeletePublicAccessBlockInput{Bucket: aws.String(b)}); err != nil {
		t.Fatal(err)
	}
	for _, actions := range []string{`"s3:DeleteObject","s3:GetObject"`, `"s3:DeleteObject","s3:DeleteObjectVersion","s3:GetObject"`} {
		policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":[` + actions + `],"Resource":"arn:aws:s3:::` + b + `/*"}]}`
		if _, err := c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(b), Policy: aws.String(policy)}); err != nil {
			t.Fatal(err)
		}
		versionAllowed := strings.Contains(actions, "s3:DeleteObjectVersion")
		for _, tc := range []struct{ query, value string }{
			{"versionId=%zz", "%zz"},
			{"versionId=null;x", "null;x"},
			{"versionId=null&versionId=abc", "abc"},
		} {
			req, err := http.NewRequest("DELETE", e.srv.URL+"/"+b+"/k?"+tc.query, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := e.srv.HTTPClient().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			eb, _ := s3test.ParseError(body)
			switch {
			case !versionAllowed && (resp.StatusCode != 403 || eb.Code != "AccessDenied" || !strings.Contains(eb.Message, "s3:DeleteObjectVersion")):
				t.Errorf("anonymous DELETE ?%s allowed s3:DeleteObject only: %d %s", tc.query, resp.StatusCode, body)
			case versionAllowed && (resp.StatusCode != 400 || eb.Code != "InvalidArgument" || eb.Fields["ArgumentValue"] != tc.value):
				t.Errorf("anonymous DELETE ?%s: %d %s", tc.query, resp.StatusCode, body)
			}
		}
	}
	if !exists(t, c, b, "k", []byte("k")) {
		t.Fatal("an anonymous DELETE with an undecodable versionId deleted the object")
	}

	up, err := c.CreateMultipartUpload(s3test.Ctx(t), &s3.CreateMultipartUploadInput{Bucket: aws.String(b), Key: aws.String("mp")})
	if err != nil {
		t.Fatal(err)
	}
	resp, body = s3test.DoSigned(t, e.srv, "PUT", "/"+b+"/mp?partNumber=1&uploadId="+url.QueryEscape(aws.ToString(up.UploadId))+"&versionId=null", []byte("part"), nil)
	if eb, _ := s3test.ParseError(body); resp.StatusCode != 400 || eb.Message != "This operation does not accept a version-id." || eb.Fields["ArgumentValue"] != "null" {
		t.Errorf("UploadPart ?versionId=null: %d %s", resp.StatusCode, body)
	}
}

// boto3VersionID drives the same requests with boto3, as the clean-up code
// of tools written in Python sends them.
const boto3VersionID = `
import json, os, sys
import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

bucket, bogus = sys.argv[1], sys.argv[2]
cfg = Config(signature_version="s3v4", s3={"addressing_style": "path"}, retries={"max_attempts": 1})
s3 = boto3.client("s3", endpoint_url=os.environ["EP"], config=cfg)
for k in ("a", "b", "c"):
    s3.put_object(Bucket=bucket, Key=k, Body=k.encode())

def err(fn, **kw):
    try:
        fn(**kw)
        return None
    except ClientError as e:
        return [e.response["ResponseMetadata"]["HTTPStatusCode"], e.response["Error"].get("Code"), e.response["Error"].get("Message")]

out = {}
r = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "a", "VersionId": bogus}, {"Key": "b", "VersionId": "null"}]})
out["deleted"] = [[d["Key"], d.get("VersionId")] for d in r.get("Deleted", [])]
out["errors"] = [[e["Key"], e.get("VersionId"), e["Code"]] for e in r.get("Errors", [])]
out["get_null"] = s3.get_object(Bucket=bucket, Key="a", VersionId="null")["Body"].read().decode()
out["get_bogus"] = err(s3.get_object, Bucket=bucket, Key="a", VersionId=bogus)
out["head_bogus"] = err(s3.head_object, Bucket=bucket, Key="a", VersionId=bogus)
out["delete_bogus"] = err(s3.delete_object, Bucket=bucket, Key="a", VersionId=bogus)
out["copy_bogus"] = err(s3.copy_object, Bucket=bucket, Key="copy", CopySource={"Bucket": bucket, "Key": "a", "VersionId": bogus})
s3.copy_object(Bucket=bucket, Key="copy", CopySource={"Bucket": bucket, "Key": "c", "VersionId": "null"})
s3.delete_object(Bucket=bucket, Key="c", VersionId="null")
out["left"] = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", []))
print(json.dumps(out))
`

func testVersionIDBoto3(t *testing.T, e *sdkEnv) {
	needBoto3(t)
	b := s3test.NewBucket(t, e.c, "vid-boto")
	cmd := exec.Command("python3", "-c", boto3VersionID, b, bogusVersion)
	cmd.Env = s3test.CLIEnv(e.srv, "EP="+e.srv.URL)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	raw, err := cmd.Output()
	if err != nil {
		t.Fatalf("boto3: %v\n%s", err, stderr.String())
	}
	var out struct {
		Deleted, Errors [][]any
		GetNull         string `json:"get_null"`
		GetBogus        []any  `json:"get_bogus"`
		HeadBogus       []any  `json:"head_bogus"`
		DeleteBogus     []any  `json:"delete_bogus"`
		CopyBogus       []any  `json:"copy_bogus"`
		Left            []string
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("boto3 output %s: %v", raw, err)
	}
	str := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	for _, tc := range []struct{ what, got, want string }{
		{"delete_objects Deleted", str(out.Deleted), `[["b","null"]]`},
		{"delete_objects Errors", str(out.Errors), `[["a","` + bogusVersion + `","NoSuchVersion"]]`},
		{"get_object VersionId=null", out.GetNull, "a"},
		{"get_object bogus", str(out.GetBogus), `[400,"InvalidArgument","Invalid version id specified"]`},
		{"head_object bogus", str(out.HeadBogus), `[400,"400","Bad Request"]`},
		{"delete_object bogus", str(out.DeleteBogus), `[400,"InvalidArgument","Invalid version id specified"]`},
		{"copy_object bogus", str(out.CopyBogus), `[400,"InvalidRequest","Invalid Request"]`},
		{"objects left", str(out.Left), `["a","copy"]`},
	} {
		if tc.got != tc.want {
			t.Errorf("boto3 %s: %s, want %s", tc.what, tc.got, tc.want)
		}
	}
}
