package sigv2

import (
	"bytes"
	"encoding/json"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// These tests sign requests with independent SigV2 implementations, botocore's
// HmacV1Auth / HmacV1QueryAuth / HmacV1PostAuth (through a real botocore S3
// client with signature_version "s3", see testdata/botocore_sign.py) and
// s3cmd's signurl, and verify them with ours. They are skipped, saying why,
// when python3 with botocore (or s3cmd) is not installed.

const (
	crossEndpoint = "http://postern.test:9000"
	crossDomain   = "postern.test"
)

var crossNow = time.Unix(1795626000, 0).UTC() // 2026-11-25T17:00:00Z

type botoCase struct {
	Name        string         `json:"name"`
	Op          string         `json:"op,omitempty"`
	Params      map[string]any `json:"params"`
	Style       string         `json:"style,omitempty"`
	Token       string         `json:"token,omitempty"`
	Presign     bool           `json:"presign,omitempty"`
	PresignPost bool           `json:"presign_post,omitempty"`
	HTTPMethod  string         `json:"http_method,omitempty"`
	ExpiresIn   int            `json:"expires_in,omitempty"`
	Conditions  []any          `json:"conditions,omitempty"`
}

type botoResult struct {
	Name    string            `json:"name"`
	Method  string            `json:"method"`
	URL     string            `json:"url"`
	Headers [][2]string       `json:"headers"`
	Fields  map[string]string `json:"fields"`
	Error   string            `json:"error"`
}

func needPython(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 not installed: botocore cross-check skipped")
	}
	if out, err := exec.Command("python3", "-c", "import botocore").CombinedOutput(); err != nil {
		t.Skipf("botocore not importable (%v: %s): cross-check skipped", err, bytes.TrimSpace(out))
	}
}

func runBotocore(t *testing.T, cases []botoCase) []botoResult {
	t.Helper()
	needPython(t)
	in, err := json.Marshal(map[string]any{
		"now": crossNow.Unix(), "endpoint": crossEndpoint,
		"access_key": docAccessKey, "secret_key": docSecret, "cases": cases,
	})
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("python3", filepath.Join("testdata", "botocore_sign.py"))
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("botocore_sign.py: %v\n%s", err, stderr.String())
	}
	var res []botoResult
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("botocore_sign.py output: %v\n%s", err, out)
	}
	if len(res) != len(cases) {
		t.Fatalf("%d results for %d cases", len(res), len(cases))
	}
	return res
}

// wireRequest turns a signed URL and headers into the request a server reads.
// Body framing headers are dropped: the body is not part of SigV2.
func wireRequest(t *testing.T, method, rawURL string, headers [][2]string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	target := u.EscapedPath()
	if u.RawPath == "" && u.Path != "" {
		// url.Parse dropped a non-canonical escaping: take the path verbatim.
		rest := strings.TrimPrefix(rawURL, u.Scheme+"://"+u.Host)
		target, _, _ = strings.Cut(rest, "?")
	}
	if u.RawQuery != "" {
		target += "?" + u.RawQuery
	}
	var b strings.Builder
	b.WriteString(method + " " + target + " HTTP/1.1\nHost: " + u.Host + "\n")
	for _, h := range headers {
		switch strings.ToLower(h[0]) {
		case "content-length", "expect", "transfer-encoding", "host":
			continue
		}
		b.WriteString(h[0] + ": " + h[1] + "\n")
	}
	return b.String()
}

func crossCases() []botoCase {
	keys := []string{
		"plain.txt",
		"a b c.txt",
		"ünïcödé/ключ/日本語.bin",
		"a+b~c=d&e;f,g:h@i$j",
		"dir//double//slash/",
		"100% sure %41",
		"emoji 😀 'q' \"dq\" (p) [b] {c} !*",
		"tab\tand\\backslash",
		"?question#hash",
	}
	var cs []botoCase
	add := func(c botoCase) { cs = append(cs, c) }
	for i, k := range keys {
		style := "path"
		if i%2 == 1 {
			style = "virtual"
		}
		token := ""
		if i%3 == 0 {
			token = testToken
		}
		n := "key" + string(rune('0'+i))
		add(botoCase{Name: n + " get header", Op: "get_object", Params: map[string]any{"Bucket": "bkt", "Key": k}, Style: style, Token: token})
		add(botoCase{Name: n + " get presigned", Op: "get_object", Params: map[string]any{"Bucket": "bkt", "Key": k}, Style: style, Token: token, Presign: true})
		add(botoCase{Name: n + " put header", Op: "put_object", Params: map[string]any{"Bucket": "bkt", "Key": k, "Body": map[string]any{"__bytes__": "hello"}, "ContentType": "text/plain; charset=utf-8"}, Style: style, Token: token})
	}
	overrides := map[string]any{
		"Bucket": "bkt", "Key": "report 2026.pdf", "VersionId": "3/L4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY+MTRCxf3vjVBH40Nr8X8gdRQBpUMLUo",
		"ResponseContentDisposition": `attachment; filename="report 2026.pdf"; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf`,
		"ResponseContentType":        "application/pdf",
		"ResponseCacheControl":       "no-cache, max-age=0",
		"ResponseContentLanguage":    "fr-CA",
		"ResponseContentEncoding":    "identity",
		"ResponseExpires":            "Thu, 01 Dec 1994 16:00:00 GMT",
	}
	for _, style := range []string{"path", "virtual"} {
		add(botoCase{Name: "overrides header " + style, Op: "get_object", Params: overrides, Style: style})
		add(botoCase{Name: "overrides presigned " + style, Op: "get_object", Params: overrides, Style: style, Presign: true, Token: testToken})
	}
	meta := map[string]any{"Bucket": "bkt", "Key": "up/load.bin", "ContentType": "application/octet-stream", "ACL": "public-read",
		"Metadata": map[string]any{"reviewed-by": "joe  and  jane", "note": "x,y"}, "ContentMD5": "XUFAKrxLKna5cZ2REBfFkg=="}
	add(botoCase{Name: "put meta header", Op: "put_object", Params: withBody(meta), Token: testToken})
	add(botoCase{Name: "put meta presigned", Op: "put_object", Params: meta, Presign: true, HTTPMethod: "PUT", Style: "virtual", Token: testToken})
	add(botoCase{Name: "presigned 7 days", Op: "get_object", Params: map[string]any{"Bucket": "bkt", "Key": "k"}, Presign: true, ExpiresIn: 7 * 24 * 3600})
	for _, c := range []struct {
		op     string
		params map[string]any
	}{
		{"list_buckets", nil},
		{"list_objects", map[string]any{"Bucket": "bkt", "Prefix": "a b/", "Delimiter": "/", "MaxKeys": 5}},
		{"list_objects_v2", map[string]any{"Bucket": "bkt", "Prefix": "ü+"}},
		{"list_object_versions", map[string]any{"Bucket": "bkt"}},
		{"get_object_acl", map[string]any{"Bucket": "bkt", "Key": "a b", "VersionId": "v 1"}},
		{"get_bucket_acl", map[string]any{"Bucket": "bkt"}},
		{"get_bucket_location", map[string]any{"Bucket": "bkt"}},
		{"get_bucket_versioning", map[string]any{"Bucket": "bkt"}},
		{"get_bucket_cors", map[string]any{"Bucket": "bkt"}},
		{"get_bucket_policy", map[string]any{"Bucket": "bkt"}},
		{"get_bucket_lifecycle_configuration", map[string]any{"Bucket": "bkt"}},
		{"get_bucket_tagging", map[string]any{"Bucket": "bkt"}},
		{"get_object_tagging", map[string]any{"Bucket": "bkt", "Key": "k"}},
		{"head_object", map[string]any{"Bucket": "bkt", "Key": "k+1", "VersionId": "v1", "PartNumber": 1}},
		{"delete_object", map[string]any{"Bucket": "bkt", "Key": "x y", "VersionId": "v1"}},
		{"create_multipart_upload", map[string]any{"Bucket": "bkt", "Key": "big file", "Metadata": map[string]any{"a": "b"}}},
		{"upload_part", map[string]any{"Bucket": "bkt", "Key": "big file", "UploadId": "abc+/=def ghi", "PartNumber": 7, "Body": map[string]any{"__bytes__": "x"}}},
		{"list_parts", map[string]any{"Bucket": "bkt", "Key": "big file", "UploadId": "abc+/=def"}},
		{"abort_multipart_upload", map[string]any{"Bucket": "bkt", "Key": "big file", "UploadId": "abc"}},
		{"list_multipart_uploads", map[string]any{"Bucket": "bkt"}},
		{"delete_objects", map[string]any{"Bucket": "bkt", "Delete": map[string]any{"Objects": []any{map[string]any{"Key": "a"}}}}},
		{"copy_object", map[string]any{"Bucket": "bkt", "Key": "dst", "CopySource": "src/a b+c ü", "MetadataDirective": "REPLACE"}},
		{"restore_object", map[string]any{"Bucket": "bkt", "Key": "cold", "RestoreRequest": map[string]any{"Days": 1}}},
	} {
		for _, style := range []string{"path", "virtual"} {
			if c.op == "list_buckets" && style == "virtual" {
				continue
			}
			p := c.params
			if p == nil {
				p = map[string]any{}
			}
			add(botoCase{Name: c.op + " " + style, Op: c.op, Params: p, Style: style})
		}
	}
	return cs
}

func withBody(p map[string]any) map[string]any {
	q := map[string]any{"Body": map[string]any{"__bytes__": "hello"}}
	for k, v := range p {
		q[k] = v
	}
	return q
}

func TestBotocore(t *testing.T) {
	cases := crossCases()
	results := runBotocore(t, cases)
	v := NewVerifier(VerifierConfig{Lookup: lookupFor(t), Domain: crossDomain})
	for i, res := range results {
		c := cases[i]
		t.Run(c.Name, func(t *testing.T) {
			if res.Error != "" {
				t.Fatalf("botocore: %s", res.Error)
			}
			r := rawRequest(t, wireRequest(t, res.Method, res.URL, res.Headers))
			if !IsSigV2(r) {
				t.Fatalf("IsSigV2 false for %s", res.URL)
			}
			got, err := v.Verify(r, crossNow)
			if err != nil {
				t.Fatalf("%v\nurl %s\nheaders %q", err, res.URL, res.Headers)
			}
			if got.AccessKey != docAccessKey || got.SessionToken != c.Token {
				t.Fatalf("result %+v", got)
			}
			if c.Presign {
				want := crossNow.Add(3600 * time.Second)
				if c.ExpiresIn != 0 {
					want = crossNow.Add(time.Duration(c.ExpiresIn) * time.Second)
				}
				if got.AuthType != "REST-QUERY-STRING" || !got.Expires.Equal(want) {
					t.Fatalf("result %+v", got)
				}
			} else if got.AuthType != "REST-HEADER" || !got.SignedAt.Equal(crossNow) {
				t.Fatalf("result %+v", got)
			}
			// A presigned URL is valid until it expires, not after.
			if c.Presign {
				if _, err := v.Verify(r, got.Expires.Add(time.Second)); err == nil {
					t.Fatal("accepted after expiry")
				}
			}
		})
	}
}

// TestBotocoreLongPresign: botocore happily presigns for 8 days; we refuse.
func TestBotocoreLongPresign(t *testing.T) {
	cases := []botoCase{{Name: "8 days", Op: "get_object", Params: map[string]any{"Bucket": "bkt", "Key": "k"}, Presign: true, ExpiresIn: 8 * 24 * 3600}}
	res := runBotocore(t, cases)[0]
	if res.Error != "" {
		t.Fatal(res.Error)
	}
	r := rawRequest(t, wireRequest(t, res.Method, res.URL, nil))
	_, err := NewVerifier(VerifierConfig{Lookup: lookupFor(t), Domain: crossDomain}).Verify(r, crossNow)
	e := wantCode(t, err, "AccessDenied", 403)
	if !strings.Contains(e.Message, "expires in 8 days") {
		t.Fatalf("%q", e.Message)
	}
}

func TestBotocorePOST(t *testing.T) {
	cases := []botoCase{
		{Name: "post", PresignPost: true, Params: map[string]any{"Bucket": "bkt", "Key": "uploads/${filename}"},
			Conditions: []any{[]any{"starts-with", "$key", "uploads/"}, map[string]any{"acl": "private"}}},
		{Name: "post token", PresignPost: true, Token: testToken, Params: map[string]any{"Bucket": "bkt", "Key": "ü b"}},
	}
	for _, res := range runBotocore(t, cases) {
		if res.Error != "" {
			t.Fatal(res.Error)
		}
		f := res.Fields
		if f["AWSAccessKeyId"] != docAccessKey || f["policy"] == "" {
			t.Fatalf("fields %v", f)
		}
		if !VerifyPOST(docSecret, f["policy"], f["signature"]) {
			t.Fatalf("%s: POST signature rejected: %v", res.Name, f)
		}
		if VerifyPOST(docSecret, f["policy"]+"A", f["signature"]) {
			t.Fatal("tampered policy accepted")
		}
	}
}

// TestS3cmdSignurl verifies URLs from `s3cmd signurl` (path and virtual host,
// awkward keys).
func TestS3cmdSignurl(t *testing.T) {
	s3cmd, err := exec.LookPath("s3cmd")
	if err != nil {
		t.Skip("s3cmd not installed: cross-check skipped")
	}
	dir := t.TempDir()
	expires := crossNow.Add(time.Hour)
	v := NewVerifier(VerifierConfig{Lookup: lookupFor(t), Domain: crossDomain})
	for _, hostBucket := range []string{"%(bucket)s." + crossDomain + ":9000", crossDomain + ":9000"} {
		cfg := filepath.Join(dir, "s3cfg")
		conf := "[default]\naccess_key = " + docAccessKey + "\nsecret_key = " + docSecret +
			"\nhost_base = " + crossDomain + ":9000\nhost_bucket = " + hostBucket + "\nsignurl_use_https = False\nuse_https = False\n"
		if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		for _, key := range []string{"plain.txt", "a b/c+d~e.txt", "ünï 日本.bin", "x=y&z"} {
			cmd := exec.Command(s3cmd, "-c", cfg, "signurl", "s3://bkt/"+key, strconv.FormatInt(expires.Unix(), 10))
			cmd.Env = append(os.Environ(), "HOME="+dir)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("s3cmd signurl: %v\n%s", err, out)
			}
			lines := strings.Split(strings.TrimSpace(string(out)), "\n")
			u := strings.TrimSpace(lines[len(lines)-1])
			r := rawRequest(t, wireRequest(t, "GET", u, nil))
			res, err := v.Verify(r, crossNow)
			if err != nil {
				t.Fatalf("%s (%s): %v", key, u, err)
			}
			if !res.Expires.Equal(expires) {
				t.Fatalf("expires %v", res.Expires)
			}
		}
	}
}
