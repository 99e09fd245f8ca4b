package presigned

import (
	"encoding/xml"
	"net"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/postern/postern/internal/s3test"
	"github.com/postern/postern/internal/testserver"
)

// postResponse is the XML body of success_action_status 201.
type postResponse struct {
	XMLName                     xml.Name `xml:"PostResponse"`
	Location, Bucket, Key, ETag string
}

// uploadPolicy is the usual browser-upload policy of these tests: into
// bucket, keys under uploads/, 1000 to 300000 bytes, plus extra conditions.
func uploadPolicy(bucket string, extra ...any) []any {
	return append([]any{
		map[string]string{"bucket": bucket},
		[]any{"starts-with", "$key", "uploads/"},
		[]any{"content-length-range", 1000, 300000},
	}, extra...)
}

// TestPostObject covers browser POST uploads with a SigV4 policy.
func TestPostObject(t *testing.T) {
	t.Parallel()
	srv := startInProcess(t)
	c := sdkClient(t, srv, true)
	hc := anon(srv)
	b := s3test.NewBucket(t, c, "post")
	b2 := s3test.NewBucket(t, c, "post-other")
	bucketURL := srv.URL + "/" + b + "/"
	soon := time.Now().Add(10 * time.Minute)

	t.Run("Status201", func(t *testing.T) {
		t.Parallel()
		f := postPolicy(t, srv, soon, uploadPolicy(b, map[string]string{"success_action_status": "201"}),
			[]formField{{"key", "uploads/a b+c.bin"}, {"success_action_status", "201"}})
		file := s3test.RandBytes(71, 5000)
		r := postForm(t, hc, bucketURL, f, "a.bin", file)
		wantStatus(t, "POST success_action_status=201", r, 201)
		var pr postResponse
		if err := xml.Unmarshal(r.Body, &pr); err != nil {
			t.Fatalf("PostResponse: %v\n%s", err, r.Body)
		}
		want := postResponse{XMLName: pr.XMLName, Location: pr.Location, Bucket: b, Key: "uploads/a b+c.bin", ETag: s3test.Quoted(s3test.MD5Hex(file))}
		if pr != want {
			t.Errorf("PostResponse\n got %+v\nwant %+v", pr, want)
		}
		wantLocation(t, pr.Location, srv.URL, "/"+b+"/uploads/a b+c.bin")
		if r.Header.Get("ETag") != s3test.Quoted(s3test.MD5Hex(file)) || r.Header.Get("Location") != pr.Location {
			t.Errorf("headers: ETag %q Location %q (body Location %q)", r.Header.Get("ETag"), r.Header.Get("Location"), pr.Location)
		}
		wantObject(t, c, b, "uploads/a b+c.bin", file)
	})

	t.Run("VirtualHost", func(t *testing.T) {
		t.Parallel()
		_, port, _ := net.SplitHostPort(srv.Addr)
		host := b + "." + vhostDomain + ":" + port
		f := postPolicy(t, srv, soon, uploadPolicy(b, map[string]string{"success_action_status": "201"}),
			[]formField{{"key", "uploads/vhost.bin"}, {"success_action_status", "201"}})
		file := s3test.RandBytes(70, 7000)
		r := postForm(t, hc, "http://"+host+"/", f, "v.bin", file)
		wantStatus(t, "virtual-host POST", r, 201)
		var pr postResponse
		if err := xml.Unmarshal(r.Body, &pr); err != nil || pr.Bucket != b || pr.Key != "uploads/vhost.bin" {
			t.Errorf("virtual-host PostResponse %+v (%v)", pr, err)
		}
		wantLocation(t, pr.Location, "http://"+host, "/uploads/vhost.bin")
		wantObject(t, c, b, "uploads/vhost.bin", file)
	})

	t.Run("Status204Default", func(t *testing.T) {
		t.Parallel()
		f := postPolicy(t, srv, soon, uploadPolicy(b), []formField{{"key", "uploads/default.bin"}})
		file := s3test.RandBytes(72, 2000)
		r := postForm(t, hc, bucketURL, f, "d.bin", file)
		wantStatus(t, "POST without success_action_status", r, 204)
		if len(r.Body) != 0 || r.Header.Get("ETag") != s3test.Quoted(s3test.MD5Hex(file)) {
			t.Errorf("204: body %q ETag %q", r.Body, r.Header.Get("ETag"))
		}
		wantObject(t, c, b, "uploads/default.bin", file)

		f = postPolicy(t, srv, soon, uploadPolicy(b, map[string]string{"success_action_status": "200"}), []formField{{"key", "uploads/200.bin"}, {"success_action_status", "200"}})
		r = postForm(t, hc, bucketURL, f, "d.bin", file)
		wantStatus(t, "POST success_action_status=200", r, 200)
		if len(r.Body) != 0 {
			t.Errorf("200: body %q, want empty", r.Body)
		}
		wantObject(t, c, b, "uploads/200.bin", file)
	})

	t.Run("Redirect", func(t *testing.T) {
		t.Parallel()
		redirect := "https://app.example.com/done?session=42"
		f := postPolicy(t, srv, soon, uploadPolicy(b, map[string]string{"success_action_redirect": redirect}),
			[]formField{{"key", "uploads/r.bin"}, {"success_action_redirect", redirect}})
		file := s3test.RandBytes(73, 3000)
		r := postForm(t, hc, bucketURL, f, "r.bin", file)
		wantStatus(t, "POST success_action_redirect", r, 303)
		loc, err := url.Parse(r.Header.Get("Location"))
		if err != nil {
			t.Fatal(err)
		}
		q := loc.Query()
		if loc.Scheme != "https" || loc.Host != "app.example.com" || loc.Path != "/done" || q.Get("session") != "42" ||
			q.Get("bucket") != b || q.Get("key") != "uploads/r.bin" || q.Get("etag") != s3test.Quoted(s3test.MD5Hex(file)) {
			t.Errorf("redirect Location %s", loc)
		}
		wantObject(t, c, b, "uploads/r.bin", file)
	})

	t.Run("Filename", func(t *testing.T) {
		t.Parallel()
		f := postPolicy(t, srv, soon, uploadPolicy(b), []formField{{"key", "uploads/${filename}"}})
		file := s3test.RandBytes(74, 4000)
		r := postForm(t, hc, bucketURL, f, "holiday photo.jpg", file)
		wantStatus(t, "POST ${filename}", r, 204)
		wantObject(t, c, b, "uploads/holiday photo.jpg", file)
		wantAbsent(t, c, b, "uploads/${filename}")
	})

	t.Run("CaseInsensitiveFieldsAndMetadata", func(t *testing.T) {
		t.Parallel()
		f := postPolicy(t, srv, soon, uploadPolicy(b,
			map[string]string{"Content-Type": "image/jpeg"},
			[]any{"starts-with", "$x-amz-meta-album", ""},
		), []formField{{"Key", "uploads/meta.jpg"}, {"content-type", "image/jpeg"}, {"X-Amz-Meta-Album", "summer"}, {"x-ignore-tracking", "anything"}})
		for i := range f {
			if f[i].Name == "x-amz-signature" {
				f[i].Name = "X-Amz-Signature"
			}
			if f[i].Name == "policy" {
				f[i].Name = "Policy"
			}
		}
		file := s3test.RandBytes(75, 1500)
		r := postForm(t, hc, bucketURL, f, "m.jpg", file)
		wantStatus(t, "POST with mixed-case field names", r, 204)
		o := wantObject(t, c, b, "uploads/meta.jpg", file)
		if aws.ToString(o.ContentType) != "image/jpeg" || o.Metadata["album"] != "summer" {
			t.Errorf("Content-Type %q metadata %v", aws.ToString(o.ContentType), o.Metadata)
		}
	})

	t.Run("RangeBoundaries", func(t *testing.T) {
		t.Parallel()
		// content-length-range is inclusive at both ends.
		for _, n := range []int{1000, 300000} {
			key := "uploads/edge-" + strconv.Itoa(n)
			file := s3test.RandBytes(uint64(n), n)
			r := postForm(t, hc, bucketURL, postPolicy(t, srv, soon, uploadPolicy(b), []formField{{"key", key}}), "e.bin", file)
			wantStatus(t, "POST of exactly "+strconv.Itoa(n)+" bytes", r, 204)
			wantObject(t, c, b, key, file)
		}
	})

	t.Run("Rejections", func(t *testing.T) {
		t.Parallel()
		file := s3test.RandBytes(76, 5000)
		std := func(key string) []formField { return []formField{{"key", key}} }
		cases := []struct {
			name   string
			url    string
			fields []formField
			file   []byte
			status int
			code   string
			msg    string
			extra  map[string]string
		}{
			{"over range", bucketURL, postPolicy(t, srv, soon, uploadPolicy(b), std("uploads/big")), s3test.RandBytes(77, 300001), 400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size", map[string]string{"MaxSizeAllowed": "300000"}},
			{"under range", bucketURL, postPolicy(t, srv, soon, uploadPolicy(b), std("uploads/small")), s3test.RandBytes(78, 999), 400, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size", map[string]string{"MinSizeAllowed": "1000", "ProposedSize": "999"}},
			{"wrong key prefix", bucketURL, postPolicy(t, srv, soon, uploadPolicy(b), std("private/x")), file, 403, "AccessDenied", `Invalid according to Policy: Policy Condition failed: ["starts-with", "$key", "uploads/"]`, nil},
			{"expired policy", bucketURL, postPolicy(t, srv, time.Now().Add(-time.Minute), uploadPolicy(b), std("uploads/late")), file, 403, "AccessDenied", "Invalid according to Policy: Policy expired.", nil},
			{"extra field", bucketURL, postPolicy(t, srv, soon, uploadPolicy(b), []formField{{"key", "uploads/extra"}, {"x-amz-meta-color", "red"}}), file, 403, "AccessDenied", "Invalid according to Policy: Extra input fields: x-amz-meta-color", nil},
			{"other bucket", srv.URL + "/" + b2 + "/", postPolicy(t, srv, soon, uploadPolicy(b), std("uploads/elsewhere")), file, 403, "AccessDenied", `Invalid according to Policy: Policy Condition failed: ["eq", "$bucket", "` + b + `"]`, nil},
			{"bad signature", bucketURL, badSignature(postPolicy(t, srv, soon, uploadPolicy(b), std("uploads/forged"))), file, 403, "SignatureDoesNotMatch", "", nil},
			{"changed policy", bucketURL, swapPolicy(postPolicy(t, srv, soon, uploadPolicy(b), std("uploads/forged2")), postPolicy(t, srv, soon, []any{map[string]string{"bucket": b}, []any{"starts-with", "$key", ""}}, nil)), file, 403, "SignatureDoesNotMatch", "", nil},
		}
		for _, tc := range cases {
			r := postForm(t, hc, tc.url, tc.fields, "f.bin", tc.file)
			e := wantError(t, "POST "+tc.name, r, tc.status, tc.code, tc.msg)
			for k, v := range tc.extra {
				if e.Fields[k] != v {
					t.Errorf("POST %s: <%s> %q, want %q", tc.name, k, e.Fields[k], v)
				}
			}
			if tc.code == "EntityTooLarge" {
				if n, err := strconv.Atoi(e.Fields["ProposedSize"]); err != nil || n <= 300000 {
					t.Errorf("POST %s: <ProposedSize> %q, want more than 300000", tc.name, e.Fields["ProposedSize"])
				}
			}
		}
		for _, k := range []string{"uploads/big", "uploads/small", "private/x", "uploads/late", "uploads/extra", "uploads/forged", "uploads/forged2"} {
			wantAbsent(t, c, b, k)
		}
		wantAbsent(t, c, b2, "uploads/elsewhere")
	})

	// aws-sdk-go-v2's PresignPostObject, a real client's policy.
	t.Run("SDKPresignPostObject", func(t *testing.T) {
		t.Parallel()
		pc := s3.NewPresignClient(c)
		pp, err := pc.PresignPostObject(s3test.Ctx(t), &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String("sdk/post.bin")}, func(o *s3.PresignPostOptions) {
			o.Expires = 5 * time.Minute
			o.Conditions = []any{[]any{"content-length-range", 1, 100000}}
		})
		if err != nil {
			t.Fatal(err)
		}
		file := s3test.RandBytes(79, 90_000)
		r := postForm(t, anon(srv), pp.URL, mapFields(pp.Values), "post.bin", file)
		wantStatus(t, "SDK PresignPostObject upload", r, 204)
		wantObject(t, c, b, "sdk/post.bin", file)
		r = postForm(t, anon(srv), pp.URL, mapFields(pp.Values), "post.bin", s3test.RandBytes(80, 100001))
		wantError(t, "SDK PresignPostObject over range", r, 400, "EntityTooLarge", "")
		wantObject(t, c, b, "sdk/post.bin", file)
	})
}

// wantLocation checks the Location of a POST upload: the object's URL as the
// client addressed the server (S3 escapes the key; how much is not
// documented, so the path is compared unescaped).
func wantLocation(t testing.TB, loc, origin, path string) {
	t.Helper()
	rest, ok := strings.CutPrefix(loc, origin)
	if !ok {
		t.Errorf("Location %q is not on %s", loc, origin)
		return
	}
	if p, err := url.PathUnescape(rest); err != nil || p != path {
		t.Errorf("Location %q: path %q (%v), want %q", loc, p, err, path)
	}
}

// badSignature flips the last hex digit of x-amz-signature.
func badSignature(f []formField) []formField {
	for i := range f {
		if f[i].Name == "x-amz-signature" {
			s := f[i].Value
			last := "0"
			if s[len(s)-1] == '0' {
				last = "1"
			}
			f[i].Value = s[:len(s)-1] + last
		}
	}
	return f
}

// swapPolicy puts other's (more permissive) policy document into f while
// keeping f's signature.
func swapPolicy(f, other []formField) []formField {
	for _, o := range other {
		if o.Name == "policy" {
			for i := range f {
				if f[i].Name == "policy" {
					f[i].Value = o.Value
				}
			}
		}
	}
	return f
}

// TestPostRejectedLeavesNothing checks on a server of its own (so no other
// upload runs meanwhile) that a refused POST of a file larger than the
// inline limit leaves no object and no file in DATA/blobs.
func TestPostRejectedLeavesNothing(t *testing.T) {
	t.Parallel()
	srv := testserver.InProcess(t, testserver.Options{})
	c := sdkClient(t, srv, true)
	hc := anon(srv)
	b := s3test.NewBucket(t, c, "post-nothing")
	bucketURL := srv.URL + "/" + b + "/"
	soon := time.Now().Add(10 * time.Minute)
	pol := func(extra ...any) []any {
		return append([]any{
			map[string]string{"bucket": b},
			[]any{"starts-with", "$key", "uploads/"},
			[]any{"content-length-range", 150 << 10, 300 << 10},
		}, extra...)
	}
	file := s3test.RandBytes(81, 200<<10)
	before := countBlobFiles(t, srv)
	for _, tc := range []struct {
		name   string
		fields []formField
		file   []byte
		status int
		code   string
	}{
		{"over range", postPolicy(t, srv, soon, pol(), []formField{{"key", "uploads/big"}}), s3test.RandBytes(82, 400<<10), 400, "EntityTooLarge"},
		{"under range", postPolicy(t, srv, soon, pol(), []formField{{"key", "uploads/small"}}), s3test.RandBytes(83, 100<<10), 400, "EntityTooSmall"},
		{"wrong key prefix", postPolicy(t, srv, soon, pol(), []formField{{"key", "other/x"}}), file, 403, "AccessDenied"},
		{"expired policy", postPolicy(t, srv, time.Now().Add(-time.Second), pol(), []formField{{"key", "uploads/late"}}), file, 403, "AccessDenied"},
		{"extra field", postPolicy(t, srv, soon, pol(), []formField{{"key", "uploads/extra"}, {"acl", "public-read"}}), file, 403, "AccessDenied"},
		{"bad signature", badSignature(postPolicy(t, srv, soon, pol(), []formField{{"key", "uploads/forged"}})), file, 403, "SignatureDoesNotMatch"},
	} {
		r := postForm(t, hc, bucketURL, tc.fields, "f.bin", tc.file)
		wantError(t, "POST "+tc.name, r, tc.status, tc.code, "")
		if n := countBlobFiles(t, srv); n != before {
			t.Errorf("POST %s: %d files under DATA/blobs, %d before: the refused upload left data behind", tc.name, n, before)
			before = n
		}
	}
	lo, err := c.ListObjectsV2(s3test.Ctx(t), &s3.ListObjectsV2Input{Bucket: aws.String(b)})
	if err != nil {
		t.Fatal(err)
	}
	if len(lo.Contents) != 0 {
		t.Errorf("refused uploads left %d objects, first %q", len(lo.Contents), aws.ToString(lo.Contents[0].Key))
	}
	// The counter does see a real upload of that size (control).
	r := postForm(t, hc, bucketURL, postPolicy(t, srv, soon, pol(), []formField{{"key", "uploads/ok"}}), "f.bin", file)
	wantStatus(t, "POST within the policy", r, 204)
	if n := countBlobFiles(t, srv); n <= before {
		t.Errorf("a 200 KiB upload added no file under DATA/blobs (%d before, %d after): the check above proves nothing", before, n)
	}
	wantObject(t, c, b, "uploads/ok", file)
}
