package sigv2e2e

import (
	"bytes"
	"encoding/xml"
	"mime/multipart"
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/postern/postern/internal/s3test"
	"github.com/postern/postern/internal/testserver"
)

// presignedPost is boto3's generate_presigned_post result.
type presignedPost struct {
	URL    string            `json:"url"`
	Fields map[string]string `json:"fields"`
}

// boto3Post has boto3 (signature_version='s3') make a SigV2 POST policy for
// bucket: keys under up/, 1…100 bytes, a text/ Content-Type, status 201.
func boto3Post(t testing.TB, s *testserver.Server, bucket string) presignedPost {
	t.Helper()
	var p presignedPost
	python(t, s, boto3Client+`
p = s3.generate_presigned_post(a['bucket'], 'up/${filename}',
    Fields={'success_action_status': '201', 'Content-Type': 'text/plain'},
    Conditions=[['starts-with', '$key', 'up/'], ['content-length-range', 1, 100],
                {'success_action_status': '201'}, ['starts-with', '$Content-Type', 'text/']],
    ExpiresIn=600)
print(json.dumps(p))
`, botoArgs(s, map[string]any{"bucket": bucket}), &p)
	for _, f := range []string{"AWSAccessKeyId", "policy", "signature"} {
		if p.Fields[f] == "" {
			t.Fatalf("generate_presigned_post fields %v lack %s: not a SigV2 form", p.Fields, f)
		}
	}
	if _, v4 := p.Fields["x-amz-signature"]; v4 {
		t.Fatalf("generate_presigned_post gave a SigV4 form: %v", p.Fields)
	}
	return p
}

// postForm sends a browser-style multipart POST of the fields (with
// overrides) and a file part, without credentials.
func postForm(t testing.TB, p presignedPost, override map[string]string, filename string, file []byte) (int, http.Header, []byte) {
	t.Helper()
	fields := map[string]string{}
	for k, v := range p.Fields {
		fields[k] = v
	}
	for k, v := range override {
		fields[k] = v
	}
	names := make([]string, 0, len(fields))
	for k := range fields {
		names = append(names, k)
	}
	sort.Strings(names)
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, k := range names {
		if err := mw.WriteField(k, fields[k]); err != nil {
			t.Fatal(err)
		}
	}
	fw, err := mw.CreateFormFile("file", filename)
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(file)
	mw.Close()
	return do(t, http.MethodPost, p.URL, &buf, http.Header{"Content-Type": {mw.FormDataContentType()}})
}

// TestBoto3 drives boto3 with Config(signature_version='s3'): presigned GET
// URLs (with a signed response-* override), SigV2 header auth, and
// generate_presigned_post forms.
func TestBoto3(t *testing.T) {
	t.Parallel()
	needBoto3(t)
	srv := testserver.Start(t, testserver.Options{})
	sdk := sdkClient(srv)
	b := s3test.NewBucket(t, sdk, "boto")
	body := s3test.RandBytes(11, 123_457)
	s3test.Put(t, sdk, b, "docs/report.bin", body)

	t.Run("PresignedGet", func(t *testing.T) {
		t.Parallel()
		var out struct{ Plain, Override string }
		python(t, srv, boto3Client+`
plain = s3.generate_presigned_url('get_object', Params={'Bucket': a['bucket'], 'Key': 'docs/report.bin'}, ExpiresIn=600)
over = s3.generate_presigned_url('get_object', Params={'Bucket': a['bucket'], 'Key': 'docs/report.bin',
    'ResponseContentDisposition': 'attachment; filename="r.bin"', 'ResponseContentType': 'application/x-report'}, ExpiresIn=600)
print(json.dumps({'Plain': plain, 'Override': over}))
`, botoArgs(srv, map[string]any{"bucket": b}), &out)
		wantSigV2URL(t, "boto3 generate_presigned_url", out.Plain)
		wantSigV2URL(t, "boto3 generate_presigned_url", out.Override)
		st, got := get(t, out.Plain)
		wantOK(t, "boto3 presigned GET", st, got, body)

		st, hdr, got := do(t, http.MethodGet, out.Override, nil, nil)
		wantOK(t, "boto3 presigned GET with response-* overrides", st, got, body)
		if cd := hdr.Get("Content-Disposition"); cd != `attachment; filename="r.bin"` {
			t.Errorf("Content-Disposition %q, want the signed override", cd)
		}
		if ct := hdr.Get("Content-Type"); ct != "application/x-report" {
			t.Errorf("Content-Type %q, want the signed override", ct)
		}
		// The overrides are signed sub-resources: changing one breaks the signature.
		st, got = get(t, setQuery(t, out.Override, "response-content-type", "text/html"))
		e := wantErr(t, "tampered response-content-type", st, got, http.StatusForbidden, "SignatureDoesNotMatch")
		if !strings.Contains(e.StringToSign, "response-content-type=text/html") {
			t.Errorf("<StringToSign> %q does not contain the sub-resource response-content-type=text/html", e.StringToSign)
		}
	})

	t.Run("PresignedPut", func(t *testing.T) {
		t.Parallel()
		var out struct{ URL string }
		python(t, srv, boto3Client+`
print(json.dumps({'URL': s3.generate_presigned_url('put_object', Params={'Bucket': a['bucket'], 'Key': 'put/via-url.json',
    'ContentType': 'application/json'}, ExpiresIn=600)}))
`, botoArgs(srv, map[string]any{"bucket": b}), &out)
		wantSigV2URL(t, "boto3 presigned put_object", out.URL)
		payload := []byte(`{"uploaded":"with a SigV2 presigned PUT"}`)
		// Content-Type is part of the SigV2 string to sign.
		st, _, rb := do(t, http.MethodPut, out.URL, bytes.NewReader(payload), http.Header{"Content-Type": {"text/plain"}})
		e := wantErr(t, "presigned PUT with another Content-Type", st, rb, http.StatusForbidden, "SignatureDoesNotMatch")
		if !strings.HasPrefix(e.StringToSign, "PUT\n\ntext/plain\n") {
			t.Errorf("<StringToSign> %q, want it to start with PUT, empty MD5, text/plain", e.StringToSign)
		}
		st, _, rb = do(t, http.MethodPut, out.URL, bytes.NewReader(payload), http.Header{"Content-Type": {"application/json"}})
		if st != http.StatusOK {
			t.Fatalf("presigned PUT: status %d; body %s", st, shortBody(rb))
		}
		got, err := s3test.GetObject(s3test.Ctx(t), sdk, b, "put/via-url.json")
		if err != nil {
			t.Fatal(err)
		}
		equalBytes(t, "object stored through a SigV2 presigned PUT", got, payload)
	})

	t.Run("HeaderAuth", func(t *testing.T) {
		t.Parallel()
		var out struct {
			Body string
			Keys []string
		}
		python(t, srv, boto3Client+`
s3.put_object(Bucket=a['bucket'], Key='boto/x y+z.txt', Body=b'written by boto3 with SigV2', Metadata={'origin': 'boto3'})
body = s3.get_object(Bucket=a['bucket'], Key='boto/x y+z.txt')['Body'].read().decode()
keys = [o['Key'] for o in s3.list_objects_v2(Bucket=a['bucket'], Prefix='boto/')['Contents']]
print(json.dumps({'Body': body, 'Keys': keys}))
`, botoArgs(srv, map[string]any{"bucket": b}), &out)
		if out.Body != "written by boto3 with SigV2" || len(out.Keys) != 1 || out.Keys[0] != "boto/x y+z.txt" {
			t.Fatalf("boto3 SigV2 put/get/list gave %+v", out)
		}
		got, err := s3test.GetObject(s3test.Ctx(t), sdk, b, "boto/x y+z.txt")
		if err != nil {
			t.Fatal(err)
		}
		equalBytes(t, "SDK read of boto3's object", got, []byte("written by boto3 with SigV2"))
	})

	t.Run("PresignedPost", func(t *testing.T) {
		t.Parallel()
		pb := s3test.NewBucket(t, sdk, "bpost")
		p := boto3Post(t, srv, pb)
		file := []byte("uploaded through a SigV2 POST policy\n")
		st, _, rb := postForm(t, p, nil, "note.txt", file)
		if st != http.StatusCreated {
			t.Fatalf("POST upload: status %d, want 201; body %s", st, shortBody(rb))
		}
		var pr struct{ Bucket, Key, ETag string }
		if err := xml.Unmarshal(rb, &pr); err != nil || pr.Bucket != pb || pr.Key != "up/note.txt" {
			t.Fatalf("PostResponse %s (%v), want bucket %s key up/note.txt", rb, err, pb)
		}
		got, err := s3test.GetObject(s3test.Ctx(t), sdk, pb, "up/note.txt")
		if err != nil {
			t.Fatalf("GetObject of the POSTed object: %v", err)
		}
		equalBytes(t, "POSTed object", got, file)

		t.Run("TooLarge", func(t *testing.T) {
			st, _, rb := postForm(t, p, nil, "big.txt", bytes.Repeat([]byte("x"), 101))
			wantErr(t, "POST of 101 bytes with content-length-range 1..100", st, rb, http.StatusBadRequest, "EntityTooLarge")
			if _, err := s3test.GetObject(s3test.Ctx(t), sdk, pb, "up/big.txt"); err == nil || !strings.Contains(err.Error(), "NoSuchKey") {
				t.Errorf("GetObject after refused POST: %v, want NoSuchKey", err)
			}
		})
		t.Run("KeyOutsidePolicy", func(t *testing.T) {
			st, _, rb := postForm(t, p, map[string]string{"key": "elsewhere/x.txt"}, "x.txt", file)
			e := wantErr(t, "POST with a key outside starts-with up/", st, rb, http.StatusForbidden, "AccessDenied")
			if !strings.Contains(e.Message, "Policy") {
				t.Errorf("Message %q, want a policy condition failure", e.Message)
			}
		})
		t.Run("ContentTypeOutsidePolicy", func(t *testing.T) {
			st, _, rb := postForm(t, p, map[string]string{"Content-Type": "image/png"}, "x.txt", file)
			wantErr(t, "POST with Content-Type outside starts-with text/", st, rb, http.StatusForbidden, "AccessDenied")
		})
		t.Run("TamperedSignature", func(t *testing.T) {
			sig := []byte(p.Fields["signature"])
			if sig[0] == 'A' {
				sig[0] = 'B'
			} else {
				sig[0] = 'A'
			}
			st, _, rb := postForm(t, p, map[string]string{"signature": string(sig)}, "y.txt", file)
			e := wantErr(t, "POST with a changed signature", st, rb, http.StatusForbidden, "SignatureDoesNotMatch")
			if e.StringToSign != p.Fields["policy"] {
				t.Errorf("<StringToSign> %q, want the base64 policy", e.StringToSign)
			}
		})
		t.Run("UnknownKey", func(t *testing.T) {
			st, _, rb := postForm(t, p, map[string]string{"AWSAccessKeyId": "AKIAUNKNOWNKEY000000"}, "z.txt", file)
			wantErr(t, "POST with an unknown AWSAccessKeyId", st, rb, http.StatusForbidden, "InvalidAccessKeyId")
		})
	})
}
