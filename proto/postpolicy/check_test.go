package postpolicy

import (
	"testing"
	"time"
)

func TestCheck(t *testing.T) {
	now := time.Date(2026, 11, 25, 11, 0, 0, 0, time.UTC)
	sig := map[string]string{ // exempt fields every form carries
		"policy": "eyJ...", "x-amz-signature": "abc",
	}
	tests := []struct {
		name     string
		conds    string
		fields   map[string]string
		fileName string
		bucket   string
		now      time.Time
		want     string // "" means allowed
	}{
		{name: "eq object", conds: `{"bucket": "b"}, {"key": "uploads/a.txt"}`,
			fields: map[string]string{"key": "uploads/a.txt"}},
		{name: "eq object mismatch", conds: `{"key": "uploads/a.txt"}`,
			fields: map[string]string{"key": "uploads/b.txt"},
			want:   `Policy Condition failed: ["eq", "$key", "uploads/a.txt"]`},
		{name: "eq array", conds: `["eq", "$acl", "public-read"]`,
			fields: map[string]string{"acl": "public-read"}},
		{name: "eq is case-sensitive on values", conds: `["eq", "$success_action_redirect", "http://x/"]`,
			fields: map[string]string{"success_action_redirect": "HTTP://x/"},
			want:   `Policy Condition failed: ["eq", "$success_action_redirect", "http://x/"]`},
		{name: "starts-with", conds: `["starts-with", "$key", "user/eric/"]`,
			fields: map[string]string{"key": "user/eric/a.jpg"}},
		{name: "starts-with mismatch", conds: `["starts-with", "$key", "user/eric/"]`,
			fields: map[string]string{"key": "user/bob/a.jpg"},
			want:   `Policy Condition failed: ["starts-with", "$key", "user/eric/"]`},
		{name: "starts-with empty matches anything", conds: `["starts-with", "$x-amz-meta-tag", ""]`,
			fields: map[string]string{"x-amz-meta-tag": "anything at all"}},
		{name: "starts-with empty matches empty", conds: `["starts-with", "$x-amz-meta-tag", ""]`,
			fields: map[string]string{"x-amz-meta-tag": ""}},
		{name: "condition on absent field fails", conds: `["starts-with", "$Content-Type", ""]`,
			fields: map[string]string{},
			want:   `Policy Condition failed: ["starts-with", "$Content-Type", ""]`},
		{name: "eq empty on absent field fails", conds: `["eq", "$x-amz-meta-foo", ""]`,
			fields: map[string]string{},
			want:   `Policy Condition failed: ["eq", "$x-amz-meta-foo", ""]`},
		{name: "content-type list all match", conds: `["starts-with", "$Content-Type", "image/"]`,
			fields: map[string]string{"content-type": "image/jpg,image/png, image/gif"}},
		{name: "content-type list one fails", conds: `["starts-with", "$Content-Type", "image/"]`,
			fields: map[string]string{"content-type": "image/jpg,text/plain"},
			want:   `Policy Condition failed: ["starts-with", "$Content-Type", "image/"]`},
		{name: "content-type eq compares whole value", conds: `["eq", "$Content-Type", "image/jpg"]`,
			fields: map[string]string{"content-type": "image/jpg,image/jpg"},
			want:   `Policy Condition failed: ["eq", "$Content-Type", "image/jpg"]`},
		{name: "commas are plain text elsewhere", conds: `["starts-with", "$x-amz-meta-tag", "a"]`,
			fields: map[string]string{"x-amz-meta-tag": "ab,cd"}},
		{name: "case-insensitive condition names", conds: `{"AcL": "private"}, ["starts-with", "$CoNtEnT-TyPe", "text/"], ["eq", "$X-Amz-Meta-TEST-2", "v"]`,
			fields: map[string]string{"acl": "private", "content-type": "text/plain", "x-amz-meta-test-2": "v"}},
		{name: "bucket from URL", conds: `{"bucket": "b"}`, bucket: "b", fields: map[string]string{}},
		{name: "bucket mismatch", conds: `{"bucket": "b"}`, bucket: "other", fields: map[string]string{},
			want: `Policy Condition failed: ["eq", "$bucket", "b"]`},
		{name: "bucket field checked against URL", conds: `["eq", "$bucket", "b"]`, bucket: "other",
			fields: map[string]string{"bucket": "b"},
			want:   `Policy Condition failed: ["eq", "$bucket", "b"]`},
		{name: "bucket field covered", conds: `{"bucket": "b"}`, bucket: "b", fields: map[string]string{"bucket": "b"}},
		{name: "missing dollar fails", conds: `["eq", "key", "a"]`, fields: map[string]string{"key": "a"},
			want: `Policy Condition failed: ["eq", "key", "a"]`},
		{name: "non-numeric range fails", conds: `["content-length-range", "test", "10"]`, fields: map[string]string{},
			want: `Policy Condition failed: ["content-length-range", "test", "10"]`},
		{name: "range does not cover a field", conds: `["content-length-range", 0, 10]`,
			fields: map[string]string{"content-length-range": "5"},
			want:   `Extra input fields: content-length-range`},
		{name: "extra field", conds: `{"key": "a"}`, fields: map[string]string{"key": "a", "filename": "x"},
			want: `Extra input fields: filename`},
		{name: "extra fields sorted", conds: ``, fields: map[string]string{"zeta": "", "acl": "private"},
			want: `Extra input fields: acl, zeta`},
		{name: "exempt fields", conds: ``, fields: map[string]string{
			"awsaccesskeyid": "AK", "signature": "s", "x-ignore-foo": "bar", "x-ignore-": ""}},
		{name: "condition failure reported before extra fields", conds: `{"key": "a"}`,
			fields: map[string]string{"key": "b", "extra": "x"},
			want:   `Policy Condition failed: ["eq", "$key", "a"]`},
		{name: "first failing condition in order", conds: `{"acl": "private"}, {"key": "a"}`,
			fields: map[string]string{"key": "b", "acl": "public-read"},
			want:   `Policy Condition failed: ["eq", "$acl", "private"]`},
		{name: "several conditions on one field", conds: `["starts-with", "$key", "u/"], ["starts-with", "$key", "u/1/"]`,
			fields: map[string]string{"key": "u/2/a"},
			want:   `Policy Condition failed: ["starts-with", "$key", "u/1/"]`},
		{name: "repeated field joined", conds: `{"x-amz-meta-tag": "Ninja,Stallman"}`,
			fields: map[string]string{"x-amz-meta-tag": "Ninja,Stallman"}},
		{name: "filename expanded before matching", conds: `["eq", "$key", "user/betty/lolcatz.jpg"]`,
			fields: map[string]string{"key": "user/betty/${filename}"}, fileName: "lolcatz.jpg"},
		{name: "filename expanded in every field", conds: `["starts-with", "$key", ""], {"x-amz-meta-name": "a.txt"}`,
			fields: map[string]string{"key": "k", "x-amz-meta-name": "${filename}"}, fileName: "a.txt"},
		{name: "unexpanded condition does not match", conds: `["starts-with", "$key", "user/betty/${filename}"]`,
			fields: map[string]string{"key": "user/betty/${filename}"}, fileName: "lolcatz.jpg",
			want: `Policy Condition failed: ["starts-with", "$key", "user/betty/${filename}"]`},
		{name: "expired", conds: `{"key": "a"}`, fields: map[string]string{"key": "a"},
			now: time.Date(2026, 11, 25, 12, 0, 0, 1, time.UTC), want: `Policy expired.`},
		{name: "valid at the expiration instant", conds: `{"key": "a"}`, fields: map[string]string{"key": "a"},
			now: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)},
		{name: "expired reported before conditions", conds: `{"key": "a"}`, fields: map[string]string{"key": "b"},
			now: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), want: `Policy expired.`},
		{name: "quotes escaped in message", conds: `["eq", "$Content-Disposition", "filename=\"test.png\""]`,
			fields: map[string]string{"content-disposition": "inline"},
			want:   `Policy Condition failed: ["eq", "$Content-Disposition", "filename=\"test.png\""]`},
		{name: "sigv4 fields need conditions", conds: `{"x-amz-algorithm": "AWS4-HMAC-SHA256"}, {"x-amz-credential": "AK/20260101/us-east-1/s3/aws4_request"}, {"x-amz-date": "20260101T000000Z"}`,
			fields: map[string]string{"x-amz-algorithm": "AWS4-HMAC-SHA256", "x-amz-credential": "AK/20260101/us-east-1/s3/aws4_request",
				"x-amz-date": "20260101T000000Z", "x-amz-security-token": "tok"},
			want: `Extra input fields: x-amz-security-token`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := ParsePolicy(b64(doc(tc.conds)))
			if err != nil {
				t.Fatal(err)
			}
			f := &Form{Fields: map[string]string{}, FileName: tc.fileName}
			for k, v := range sig {
				f.Fields[k] = v
			}
			for k, v := range tc.fields {
				f.Fields[k] = v
			}
			bucket := tc.bucket
			if bucket == "" {
				bucket = "b"
			}
			at := tc.now
			if at.IsZero() {
				at = now
			}
			err = p.Check(f, bucket, at)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("rejected: %v", err)
				}
				return
			}
			e := asError(t, err)
			want := "Invalid according to Policy: " + tc.want
			if e.Code != CodeAccessDenied || e.Status != 403 || e.Message != want {
				t.Errorf("got %d %s %q\nwant 403 AccessDenied %q", e.Status, e.Code, e.Message, want)
			}
		})
	}
}

func TestExempt(t *testing.T) {
	for name, want := range map[string]bool{
		"policy": true, "Policy": true, "X-Amz-Signature": true, "file": true,
		"AWSAccessKeyId": true, "signature": true, "x-ignore-foo": true, "X-Ignore-Bar": true,
		"key": false, "bucket": false, "x-amz-date": false, "x-ignore": false, "content-md5": false,
	} {
		if Exempt(name) != want {
			t.Errorf("Exempt(%q) = %v", name, !want)
		}
	}
}

func TestFormKey(t *testing.T) {
	tests := []struct {
		key, fileName, want string
	}{
		{"uploads/${filename}", "a.txt", "uploads/a.txt"},
		{"${filename}/${filename}", "a", "a/a"},
		{"uploads/${filename}", "", "uploads/"},
		{"plain", "a.txt", "plain"},
		{"${FILENAME}", "a.txt", "${FILENAME}"},
	}
	for _, tc := range tests {
		f := &Form{Fields: map[string]string{"key": tc.key}, FileName: tc.fileName}
		if got := f.Key(); got != tc.want {
			t.Errorf("Key(%q, %q) = %q, want %q", tc.key, tc.fileName, got, tc.want)
		}
	}
	if got := (&Form{}).Key(); got != "" {
		t.Errorf("no key field: %q", got)
	}
}
