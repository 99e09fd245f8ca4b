package clients

import (
	"encoding/json"
	"encoding/xml"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/postern/postern/internal/s3test"
	"github.com/postern/postern/internal/testserver"
)

// TestListObjectVersions drives ListObjectVersions (GET /bucket?versions),
// which every S3 bucket answers: an unversioned bucket lists each object
// once, as version "null", the latest. Tools call it unasked (rclone,
// Terraform's force_destroy, the clean-up of s3-tests), so it must work with
// the clients themselves: aws-sdk-go-v2 and its paginator, boto3 (its
// paginator, and bucket.object_versions.all().delete()), and the aws CLI.
func TestListObjectVersions(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, testserver.Options{})
	c, rec := sdkClient(t, srv)
	e := &sdkEnv{srv: srv, c: c, rec: rec}
	for _, tc := range []struct {
		name string
		fn   func(*testing.T, *sdkEnv)
	}{
		{"SDK", testVersionsSDK},
		{"SDKPaging", testVersionsPaging},
		{"SDKEncodingURL", testVersionsEncodingURL},
		{"Errors", testVersionsErrors},
		{"Wire", testVersionsWire},
		{"Boto3", testVersionsBoto3},
		{"CLI", testVersionsCLI},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, e)
		})
	}
}

func versionKeys(vs []types.ObjectVersion) []string {
	var ks []string
	for _, v := range vs {
		ks = append(ks, aws.ToString(v.Key))
	}
	return ks
}

func listVersions(t *testing.T, c *s3.Client, in *s3.ListObjectVersionsInput) *s3.ListObjectVersionsOutput {
	t.Helper()
	out, err := c.ListObjectVersions(s3test.Ctx(t), in)
	if err != nil {
		t.Fatalf("ListObjectVersions(%+v): %v", *in, err)
	}
	return out
}

func testVersionsSDK(t *testing.T, e *sdkEnv) {
	c := e.c
	b := fillListing(t, c, "versions")
	out := listVersions(t, c, &s3.ListObjectVersionsInput{Bucket: aws.String(b)})
	eqList(t, "versions", versionKeys(out.Versions), listingKeys)
	if len(out.DeleteMarkers) != 0 || aws.ToBool(out.IsTruncated) || aws.ToInt32(out.MaxKeys) != 1000 || aws.ToString(out.Name) != b ||
		out.NextKeyMarker != nil || out.NextVersionIdMarker != nil {
		t.Errorf("listing: %d delete markers, IsTruncated %v, MaxKeys %d, Name %q, NextKeyMarker %v, NextVersionIdMarker %v",
			len(out.DeleteMarkers), aws.ToBool(out.IsTruncated), aws.ToInt32(out.MaxKeys), aws.ToString(out.Name), out.NextKeyMarker, out.NextVersionIdMarker)
	}
	// Each version is what HeadObject says of the object, as version null.
	for _, v := range out.Versions {
		k := aws.ToString(v.Key)
		h, err := c.HeadObject(s3test.Ctx(t), &s3.HeadObjectInput{Bucket: aws.String(b), Key: aws.String(k)})
		if err != nil {
			t.Fatalf("HeadObject %q: %v", k, err)
		}
		if aws.ToString(v.VersionId) != "null" || !aws.ToBool(v.IsLatest) || aws.ToString(v.ETag) != aws.ToString(h.ETag) ||
			aws.ToInt64(v.Size) != int64(len(k)) || v.LastModified == nil || !v.LastModified.Truncate(time.Second).Equal(aws.ToTime(h.LastModified)) ||
			v.StorageClass != types.ObjectVersionStorageClassStandard || v.Owner == nil || aws.ToString(v.Owner.ID) == "" {
			t.Errorf("version of %q: VersionId %q IsLatest %v ETag %s (HEAD %s) Size %d LastModified %v (HEAD %v) StorageClass %q Owner %+v",
				k, aws.ToString(v.VersionId), aws.ToBool(v.IsLatest), aws.ToString(v.ETag), aws.ToString(h.ETag), aws.ToInt64(v.Size),
				v.LastModified, h.LastModified, v.StorageClass, v.Owner)
		}
	}

	// Prefix and delimiter, as for ListObjects.
	for _, tc := range []struct {
		prefix, delim string
		keys, prefs   []string
	}{
		{"", "/", []string{" spaced key ", "a", "zeta"}, []string{"../", "a/", "dir/", "ключ/"}},
		{"a/", "/", []string{"a/b"}, []string{"a//"}},
		{"dir/", "/", []string{"dir/", "dir/file2"}, []string{"dir/sub/", "dir/sub2/"}},
		{"dir/s", "", []string{"dir/sub/file.txt", "dir/sub2/z"}, nil},
		{"", "b", []string{" spaced key ", "../x", "a", "dir/", "dir/file2", "zeta", "ключ/日本語"}, []string{"a//b", "a/b", "dir/sub"}},
		{"nothing", "/", nil, nil},
	} {
		out := listVersions(t, c, &s3.ListObjectVersionsInput{Bucket: aws.String(b), Prefix: aws.String(tc.prefix), Delimiter: aws.String(tc.delim)})
		what := "prefix=" + tc.prefix + " delimiter=" + tc.delim
		eqList(t, what+": versions", versionKeys(out.Versions), tc.keys)
		eqList(t, what+": common prefixes", prefixesOf(out.CommonPrefixes), tc.prefs)
		if aws.ToString(out.Prefix) != tc.prefix || aws.ToString(out.Delimiter) != tc.delim {
			t.Errorf("%s: echoed Prefix %q Delimiter %q", what, aws.ToString(out.Prefix), aws.ToString(out.Delimiter))
		}
	}

	// key-marker alone lists the keys after it; with version-id-marker null
	// (that key's only version) too; a marker naming a key that does not
	// exist still resumes after it.
	for _, tc := range []struct{ key, vid string }{{"a/b", ""}, {"a/b", "null"}, {"dir/f", "null"}, {"dir/", ""}} {
		in := &s3.ListObjectVersionsInput{Bucket: aws.String(b), KeyMarker: aws.String(tc.key)}
		if tc.vid != "" {
			in.VersionIdMarker = aws.String(tc.vid)
		}
		out := listVersions(t, c, in)
		eqList(t, "key-marker "+tc.key+" version-id-marker "+tc.vid, versionKeys(out.Versions), keysAfter(listingKeys, tc.key))
		if aws.ToString(out.KeyMarker) != tc.key || aws.ToString(out.VersionIdMarker) != tc.vid {
			t.Errorf("echoed KeyMarker %q VersionIdMarker %q, want %q %q", aws.ToString(out.KeyMarker), aws.ToString(out.VersionIdMarker), tc.key, tc.vid)
		}
	}

	// max-keys 0 lists nothing and is not truncated.
	out = listVersions(t, c, &s3.ListObjectVersionsInput{Bucket: aws.String(b), MaxKeys: aws.Int32(0)})
	if len(out.Versions) != 0 || aws.ToBool(out.IsTruncated) {
		t.Errorf("max-keys 0: %v, IsTruncated %v", versionKeys(out.Versions), aws.ToBool(out.IsTruncated))
	}

	// The listing follows writes: an overwrite is still one version, a
	// delete removes the key's only version.
	s3test.Put(t, c, b, "zeta", []byte("longer body"))
	if _, err := c.DeleteObject(s3test.Ctx(t), &s3.DeleteObjectInput{Bucket: aws.String(b), Key: aws.String("a")}); err != nil {
		t.Fatal(err)
	}
	out = listVersions(t, c, &s3.ListObjectVersionsInput{Bucket: aws.String(b), Prefix: aws.String("zeta")})
	if len(out.Versions) != 1 || aws.ToInt64(out.Versions[0].Size) != int64(len("longer body")) {
		t.Errorf("after overwriting zeta: %d versions", len(out.Versions))
	}
	out = listVersions(t, c, &s3.ListObjectVersionsInput{Bucket: aws.String(b), Prefix: aws.String("a"), Delimiter: aws.String("/")})
	eqList(t, "after deleting a", versionKeys(out.Versions), nil)

	// A bucket's versioning state is unset (never enabled): empty configuration.
	v, err := c.GetBucketVersioning(s3test.Ctx(t), &s3.GetBucketVersioningInput{Bucket: aws.String(b)})
	if err != nil || v.Status != "" || v.MFADelete != "" {
		t.Errorf("GetBucketVersioning: %+v, %v", v, err)
	}
}

func testVersionsPaging(t *testing.T, e *sdkEnv) {
	c := e.c
	b := fillListing(t, c, "vpaging")
	// The SDK's paginator: pages of 3, resumed with the NextKeyMarker and
	// NextVersionIdMarker of each page.
	p := s3.NewListObjectVersionsPaginator(c, &s3.ListObjectVersionsInput{Bucket: aws.String(b)}, func(o *s3.ListObjectVersionsPaginatorOptions) {
		o.Limit = 3
		o.StopOnDuplicateToken = true
	})
	var got []string
	pages := 0
	for p.HasMorePages() {
		out, err := p.NextPage(s3test.Ctx(t))
		if err != nil {
			t.Fatalf("page %d: %v", pages, err)
		}
		pages++
		got = append(got, versionKeys(out.Versions)...)
		if len(out.Versions) > 3 || aws.ToInt32(out.MaxKeys) != 3 {
			t.Errorf("page %d: %d versions, MaxKeys %d", pages, len(out.Versions), aws.ToInt32(out.MaxKeys))
		}
		if aws.ToBool(out.IsTruncated) {
			last := out.Versions[len(out.Versions)-1]
			if aws.ToString(out.NextKeyMarker) != aws.ToString(last.Key) || aws.ToString(out.NextVersionIdMarker) != "null" {
				t.Errorf("page %d: NextKeyMarker %q NextVersionIdMarker %q, want %q null", pages, aws.ToString(out.NextKeyMarker), aws.ToString(out.NextVersionIdMarker), aws.ToString(last.Key))
			}
		} else if out.NextKeyMarker != nil || out.NextVersionIdMarker != nil {
			t.Errorf("last page has NextKeyMarker %v NextVersionIdMarker %v", out.NextKeyMarker, out.NextVersionIdMarker)
		}
		if pages > 20 {
			t.Fatal("paging does not end")
		}
	}
	eqList(t, "paged versions", got, listingKeys)
	if want := (len(listingKeys) + 2) / 3; pages != want {
		t.Errorf("paging took %d pages, want %d", pages, want)
	}
	// The paginator really sent the markers.
	sent := e.rec.find(func(r sentRequest) bool {
		return strings.HasPrefix(r.Path, "/"+b) && strings.Contains(r.Query, "version-id-marker=null") && strings.Contains(r.Query, "key-marker=")
	})
	if len(sent) != pages-1 {
		t.Errorf("%d requests carried key-marker and version-id-marker=null, want %d", len(sent), pages-1)
	}

	// With a delimiter, common prefixes count towards max-keys; a page that
	// ends on one resumes after it (no version marker), never repeating it.
	p = s3.NewListObjectVersionsPaginator(c, &s3.ListObjectVersionsInput{Bucket: aws.String(b), Delimiter: aws.String("/")}, func(o *s3.ListObjectVersionsPaginatorOptions) {
		o.Limit = 2
	})
	var keys, prefs []string
	for i := 0; p.HasMorePages(); i++ {
		out, err := p.NextPage(s3test.Ctx(t))
		if err != nil {
			t.Fatalf("delimited page %d: %v", i, err)
		}
		if n := len(out.Versions) + len(out.CommonPrefixes); n > 2 {
			t.Errorf("delimited page %d: %d entries", i, n)
		}
		if i == 0 && (aws.ToString(out.NextKeyMarker) != "../" || out.NextVersionIdMarker != nil) {
			t.Errorf("first delimited page: NextKeyMarker %q NextVersionIdMarker %v, want \"../\" and none", aws.ToString(out.NextKeyMarker), out.NextVersionIdMarker)
		}
		keys = append(keys, versionKeys(out.Versions)...)
		prefs = append(prefs, prefixesOf(out.CommonPrefixes)...)
		if i > 20 {
			t.Fatal("delimited paging does not end")
		}
	}
	eqList(t, "delimited paged versions", keys, []string{" spaced key ", "a", "zeta"})
	eqList(t, "delimited paged prefixes", prefs, []string{"../", "a/", "dir/", "ключ/"})
}

func testVersionsEncodingURL(t *testing.T, e *sdkEnv) {
	c := e.c
	b := fillListing(t, c, "venc")
	out := listVersions(t, c, &s3.ListObjectVersionsInput{Bucket: aws.String(b), EncodingType: types.EncodingTypeUrl,
		Prefix: aws.String(" "), KeyMarker: aws.String(" a"), Delimiter: aws.String(" ")})
	if out.EncodingType != types.EncodingTypeUrl {
		t.Errorf("EncodingType echoed %q", out.EncodingType)
	}
	if aws.ToString(out.Prefix) != "+" || aws.ToString(out.KeyMarker) != "+a" || aws.ToString(out.Delimiter) != "+" {
		t.Errorf("encoded Prefix %q KeyMarker %q Delimiter %q, want + +a +", aws.ToString(out.Prefix), aws.ToString(out.KeyMarker), aws.ToString(out.Delimiter))
	}
	eqList(t, "encoded common prefixes", prefixesOf(out.CommonPrefixes), []string{"+spaced+"})

	// Keys, KeyMarker and NextKeyMarker are encoded like query values, '/' kept.
	out = listVersions(t, c, &s3.ListObjectVersionsInput{Bucket: aws.String(b), EncodingType: types.EncodingTypeUrl, KeyMarker: aws.String("zeta")})
	eqList(t, "encoded keys", versionKeys(out.Versions), []string{"%D0%BA%D0%BB%D1%8E%D1%87/%E6%97%A5%E6%9C%AC%E8%AA%9E"})
	out = listVersions(t, c, &s3.ListObjectVersionsInput{Bucket: aws.String(b), EncodingType: types.EncodingTypeUrl, MaxKeys: aws.Int32(1), KeyMarker: aws.String("   ")})
	eqList(t, "encoded keys after '   '", versionKeys(out.Versions), []string{"+spaced+key+"})
	if aws.ToString(out.KeyMarker) != "+++" || aws.ToString(out.NextKeyMarker) != "+spaced+key+" || aws.ToString(out.NextVersionIdMarker) != "null" {
		t.Errorf("encoded KeyMarker %q NextKeyMarker %q NextVersionIdMarker %q", aws.ToString(out.KeyMarker), aws.ToString(out.NextKeyMarker), aws.ToString(out.NextVersionIdMarker))
	}
	// A page resumed from the decoded marker goes on where it stopped.
	out = listVersions(t, c, &s3.ListObjectVersionsInput{Bucket: aws.String(b), EncodingType: types.EncodingTypeUrl, MaxKeys: aws.Int32(1),
		KeyMarker: aws.String(" spaced key "), VersionIdMarker: aws.String("null")})
	eqList(t, "encoded page after ' spaced key '", versionKeys(out.Versions), []string{"../x"})
	_, err := c.ListObjectVersions(s3test.Ctx(t), &s3.ListObjectVersionsInput{Bucket: aws.String(b), EncodingType: "base64"})
	s3test.WantAPIError(t, err, 400, "InvalidArgument")
}

func testVersionsErrors(t *testing.T, e *sdkEnv) {
	c := e.c
	b := s3test.NewBucket(t, c, "verrors")
	s3test.Put(t, c, b, "k", []byte("k"))
	for _, tc := range []struct {
		name string
		in   s3.ListObjectVersionsInput
		msg  string
	}{
		{"version-id-marker without key-marker", s3.ListObjectVersionsInput{VersionIdMarker: aws.String("null")}, "A version-id marker cannot be specified without a key marker."},
		{"unknown version-id-marker", s3.ListObjectVersionsInput{KeyMarker: aws.String("k"), VersionIdMarker: aws.String("3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY")}, "Invalid version id specified"},
		{"empty version-id-marker", s3.ListObjectVersionsInput{KeyMarker: aws.String("k"), VersionIdMarker: aws.String("")}, "A version-id marker cannot be empty."},
		{"negative max-keys", s3.ListObjectVersionsInput{MaxKeys: aws.Int32(-1)}, "Argument max-keys must be an integer between 0 and 2147483647"},
	} {
		in := tc.in
		in.Bucket = aws.String(b)
		_, err := c.ListObjectVersions(s3test.Ctx(t), &in)
		st, code, msg := s3test.APIErr(err)
		if st != 400 || code != "InvalidArgument" || msg != tc.msg {
			t.Errorf("%s: got %d %s %q, want 400 InvalidArgument %q", tc.name, st, code, msg, tc.msg)
		}
	}
	_, err := c.ListObjectVersions(s3test.Ctx(t), &s3.ListObjectVersionsInput{Bucket: aws.String(b + "-missing")})
	s3test.WantAPIError(t, err, 404, "NoSuchBucket")

	// What the SDK's types cannot send: a max-keys that is not a number.
	resp, body := s3test.DoSigned(t, e.srv, "GET", "/"+b+"?versions&max-keys=ten", nil, nil)
	eb, _ := s3test.ParseError(body)
	if resp.StatusCode != 400 || eb.Code != "InvalidArgument" || eb.Fields["ArgumentName"] != "max-keys" || eb.Fields["ArgumentValue"] != "ten" {
		t.Errorf("max-keys=ten: %d %s", resp.StatusCode, body)
	}
	resp, body = s3test.DoSigned(t, e.srv, "GET", "/"+b+"?versions&key-marker=k&version-id-marker=v1", nil, nil)
	eb, _ = s3test.ParseError(body)
	if resp.StatusCode != 400 || eb.Message != "Invalid version id specified" || eb.Fields["ArgumentName"] != "version-id-marker" || eb.Fields["ArgumentValue"] != "v1" {
		t.Errorf("version-id-marker=v1: %d %s", resp.StatusCode, body)
	}
}

// testVersionsWire checks the body itself against AWS's ListVersionsResult,
// element by element, as clients other than the SDKs parse it.
func testVersionsWire(t *testing.T, e *sdkEnv) {
	c := e.c
	b := s3test.NewBucket(t, c, "vwire")
	s3test.Put(t, c, b, "a/1", []byte("one"))
	s3test.Put(t, c, b, "b", []byte("bee"))
	resp, body := s3test.DoSigned(t, e.srv, "GET", "/"+b+"?versions&max-keys=1&delimiter=/", nil, nil)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/xml" {
		t.Fatalf("%d %s: %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	var top struct {
		XMLName xml.Name
		Elems   []struct {
			XMLName xml.Name
			Inner   string `xml:",innerxml"`
		} `xml:",any"`
	}
	if err := xml.Unmarshal(body, &top); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, el := range top.Elems {
		names = append(names, el.XMLName.Local+"="+el.Inner)
	}
	if top.XMLName.Local != "ListVersionsResult" || top.XMLName.Space != "http://s3.amazonaws.com/doc/2006-03-01/" {
		t.Errorf("root element %v", top.XMLName)
	}
	eqList(t, "top-level elements", names, []string{"Name=" + b, "Prefix=", "KeyMarker=", "VersionIdMarker=", "NextKeyMarker=a/",
		"MaxKeys=1", "Delimiter=/", "IsTruncated=true", "CommonPrefixes=<Prefix>a/</Prefix>"})

	resp, body = s3test.DoSigned(t, e.srv, "GET", "/"+b+"?versions&key-marker=a/&prefix=b", nil, nil)
	var res struct {
		Versions []struct {
			Key, VersionId, IsLatest, LastModified, ETag, Size, StorageClass string
			Owner                                                            struct{ ID, DisplayName string }
		} `xml:"Version"`
		DeleteMarkers []struct{} `xml:"DeleteMarker"`
	}
	if err := xml.Unmarshal(body, &res); err != nil || resp.StatusCode != 200 {
		t.Fatalf("%d %s: %v", resp.StatusCode, body, err)
	}
	if len(res.Versions) != 1 || len(res.DeleteMarkers) != 0 {
		t.Fatalf("body %s", body)
	}
	v := res.Versions[0]
	if v.Key != "b" || v.VersionId != "null" || v.IsLatest != "true" || v.ETag != s3test.Quoted(s3test.MD5Hex([]byte("bee"))) || v.Size != "3" ||
		v.StorageClass != "STANDARD" || v.Owner.ID == "" || v.Owner.DisplayName == "" || len(v.LastModified) != len("2006-01-02T15:04:05.000Z") {
		t.Errorf("Version %+v", v)
	}
}

// needBoto3 fails (or skips with POSTERN_SKIP_PY=1) when python3 with boto3
// is not installed; scripts/test.sh installs it.
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

// boto3Versions lists with boto3's list_object_versions paginator (which
// asks for encoding-type=url and decodes the keys), then empties the bucket
// as force-destroy tools do, with bucket.object_versions.all().delete(), and
// deletes it.
const boto3Versions = `
import json, os, sys
import boto3
from botocore.config import Config

bucket = sys.argv[1]
cfg = Config(signature_version="s3v4", s3={"addressing_style": "path"}, retries={"max_attempts": 1})
s3 = boto3.client("s3", endpoint_url=os.environ["EP"], config=cfg)
out = {"pages": [], "versions": [], "prefixes": []}
for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, PaginationConfig={"PageSize": 4}):
    out["pages"].append([page["IsTruncated"], page.get("NextKeyMarker"), page.get("NextVersionIdMarker"), page.get("EncodingType")])
    for v in page.get("Versions", []):
        out["versions"].append([v["Key"], v["VersionId"], v["IsLatest"], v["Size"]])
for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Delimiter="/", PaginationConfig={"PageSize": 2}):
    out["prefixes"] += [p["Prefix"] for p in page.get("CommonPrefixes", [])]
res = boto3.resource("s3", endpoint_url=os.environ["EP"], config=cfg)
b = res.Bucket(bucket)
deleted = b.object_versions.all().delete()
out["deleted"] = sorted(d["Key"] for r in deleted for d in r.get("Deleted", []))
out["errors"] = [e for r in deleted for e in r.get("Errors", [])]
out["left"] = [v.key for v in b.object_versions.all()]
b.delete()
print(json.dumps(out))
`

func testVersionsBoto3(t *testing.T, e *sdkEnv) {
	needBoto3(t)
	c := e.c
	b := fillListing(t, c, "vboto")
	cmd := exec.Command("python3", "-c", boto3Versions, b)
	cmd.Env = s3test.CLIEnv(e.srv, "EP="+e.srv.URL)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	raw, err := cmd.Output()
	if err != nil {
		t.Fatalf("boto3: %v\n%s", err, stderr.String())
	}
	var out struct {
		Pages    [][]any
		Versions [][]any
		Prefixes []string
		Deleted  []string
		Errors   []any
		Left     []string
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("boto3 output %s: %v", raw, err)
	}
	var keys []string
	for _, v := range out.Versions {
		keys = append(keys, v[0].(string))
		if v[1] != "null" || v[2] != true || v[3] != float64(len(v[0].(string))) {
			t.Errorf("boto3 version %v", v)
		}
	}
	eqList(t, "boto3 paged versions", keys, listingKeys)
	if want := (len(listingKeys) + 3) / 4; len(out.Pages) != want {
		t.Errorf("boto3 took %d pages, want %d: %v", len(out.Pages), want, out.Pages)
	}
	for i, p := range out.Pages {
		if p[3] != "url" {
			t.Errorf("boto3 page %d: EncodingType %v (botocore asks for url)", i, p[3])
		}
	}
	eqList(t, "boto3 delimited prefixes", out.Prefixes, []string{"../", "a/", "dir/", "ключ/"})
	eqList(t, "boto3 object_versions.all().delete()", out.Deleted, listingKeys)
	if len(out.Errors) != 0 || len(out.Left) != 0 {
		t.Errorf("boto3 delete errors %v, left %v", out.Errors, out.Left)
	}
	if _, err := c.HeadBucket(s3test.Ctx(t), &s3.HeadBucketInput{Bucket: aws.String(b)}); err == nil {
		t.Error("the bucket boto3 emptied and deleted still exists")
	}
}

func testVersionsCLI(t *testing.T, e *sdkEnv) {
	cl := newCLI(t, e.srv)
	b := fillListing(t, e.c, "vcli")
	// --page-size makes the CLI page with key-marker and version-id-marker.
	var out struct {
		Versions []struct {
			Key, VersionId string
			IsLatest       bool
		}
		DeleteMarkers []any
	}
	cl.json(&out, "s3api", "list-object-versions", "--bucket", b, "--page-size", "3")
	var keys []string
	for _, v := range out.Versions {
		keys = append(keys, v.Key)
		if v.VersionId != "null" || !v.IsLatest {
			t.Errorf("CLI version %+v", v)
		}
	}
	eqList(t, "CLI versions", keys, listingKeys)
	if len(out.DeleteMarkers) != 0 {
		t.Errorf("CLI delete markers %v", out.DeleteMarkers)
	}
	var pref struct {
		Versions       []struct{ Key string }
		CommonPrefixes []struct{ Prefix string }
	}
	cl.json(&pref, "s3api", "list-object-versions", "--bucket", b, "--prefix", "dir/", "--delimiter", "/")
	if len(pref.Versions) != 2 || len(pref.CommonPrefixes) != 2 || pref.CommonPrefixes[1].Prefix != "dir/sub2/" {
		t.Errorf("CLI prefix dir/ delimiter /: %+v", pref)
	}
	_, stderr, code := cl.run("s3api", "list-object-versions", "--bucket", b, "--version-id-marker", "null")
	if code == 0 || !strings.Contains(stderr, "InvalidArgument") || !strings.Contains(stderr, "without a key marker") {
		t.Errorf("CLI version-id-marker without key-marker: exit %d: %s", code, stderr)
	}
}
