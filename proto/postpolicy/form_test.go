package postpolicy

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"maps"
	"strings"
	"testing"
)

const bnd = "9431149156168"

// field renders one form-data part of a body using boundary bnd.
func field(name, value string) string {
	return "--" + bnd + "\r\nContent-Disposition: form-data; name=\"" + name + "\"\r\n\r\n" + value + "\r\n"
}

func filePart(name, fileName, ctype, content string) string {
	h := "--" + bnd + "\r\nContent-Disposition: form-data; name=\"" + name + "\""
	if fileName != "-" {
		h += "; filename=\"" + fileName + "\""
	}
	h += "\r\n"
	if ctype != "" {
		h += "Content-Type: " + ctype + "\r\n"
	}
	return h + "\r\n" + content + "\r\n"
}

const closing = "--" + bnd + "--\r\n"

func TestReadForm(t *testing.T) {
	tests := []struct {
		name     string
		body     string
		fields   map[string]string
		fileName string
		ctype    string
		content  string
	}{
		{name: "basic",
			body: field("key", "user/eric/${filename}") + field("acl", "public-read") + field("policy", "eyJ9") +
				filePart("file", "MyPicture.jpg", "image/jpeg", "JPEGDATA") + closing,
			fields:   map[string]string{"key": "user/eric/${filename}", "acl": "public-read", "policy": "eyJ9"},
			fileName: "MyPicture.jpg", ctype: "image/jpeg", content: "JPEGDATA"},
		{name: "names lower-cased",
			body: field("Key", "k") + field("X-Amz-Meta-UUID", "14365123651274") + field("Policy", "p") +
				field("X-Amz-Signature", "s") + filePart("File", "a.txt", "", "x") + closing,
			fields:   map[string]string{"key": "k", "x-amz-meta-uuid": "14365123651274", "policy": "p", "x-amz-signature": "s"},
			fileName: "a.txt", content: "x"},
		{name: "fields after file ignored",
			body: field("key", "k") + filePart("file", "a.txt", "text/plain", "hello") +
				field("submit", "Upload to Amazon S3") + field("acl", "public-read") + closing,
			fields: map[string]string{"key": "k"}, fileName: "a.txt", ctype: "text/plain", content: "hello"},
		{name: "no closing delimiter after file part still streams",
			body:   field("key", "k") + filePart("file", "a.txt", "", "hello") + "--" + bnd + "\r\n",
			fields: map[string]string{"key": "k"}, fileName: "a.txt", content: "hello"},
		{name: "repeated fields joined with commas",
			body:   field("x-amz-meta-tag", "Ninja") + field("X-Amz-Meta-Tag", "Stallman") + filePart("file", "f", "", "") + closing,
			fields: map[string]string{"x-amz-meta-tag": "Ninja,Stallman"}, fileName: "f"},
		{name: "windows path reduced to base name",
			body:   filePart("file", `C:\Program Files\directory1\file.txt`, "", "z") + closing,
			fields: map[string]string{}, fileName: "file.txt", content: "z"},
		{name: "unix path reduced to base name",
			body:   filePart("file", "../../etc/passwd", "", "z") + closing,
			fields: map[string]string{}, fileName: "passwd", content: "z"},
		{name: "file part without filename",
			body:   filePart("file", "-", "", "text area") + closing,
			fields: map[string]string{}, content: "text area"},
		{name: "a filename does not make a part the file",
			body:   filePart("key", "key", "", "foo.txt") + filePart("file", "file", "", "bar") + closing,
			fields: map[string]string{"key": "foo.txt"}, fileName: "file", content: "bar"},
		{name: "non form-data part ignored",
			body: "--" + bnd + "\r\nContent-Disposition: file; name=\"file\"\r\n\r\nnot the file\r\n" +
				"--" + bnd + "\r\n\r\nno headers\r\n" + field("key", "k") + filePart("file", "a", "", "real") + closing,
			fields: map[string]string{"key": "k"}, fileName: "a", content: "real"},
		{name: "preamble ignored",
			body:   "this is a preamble\r\n" + field("key", "k") + filePart("file", "a", "", "v") + closing,
			fields: map[string]string{"key": "k"}, fileName: "a", content: "v"},
		{name: "binary file content kept raw",
			body:   filePart("file", "b.bin", "application/octet-stream", "\x00\x01\r\n--not-the-boundary\r\n\xff") + closing,
			fields: map[string]string{}, fileName: "b.bin", ctype: "application/octet-stream", content: "\x00\x01\r\n--not-the-boundary\r\n\xff"},
		{name: "empty field values",
			body:   field("x-amz-meta-tag", "") + filePart("file", "", "", "") + closing,
			fields: map[string]string{"x-amz-meta-tag": ""}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := ReadForm(strings.NewReader(tc.body), bnd)
			if err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(f.Fields, tc.fields) {
				t.Errorf("fields %q, want %q", f.Fields, tc.fields)
			}
			if f.FileName != tc.fileName || f.FileContentType != tc.ctype {
				t.Errorf("file %q %q, want %q %q", f.FileName, f.FileContentType, tc.fileName, tc.ctype)
			}
			got, err := io.ReadAll(f.File)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.content {
				t.Errorf("content %q, want %q", got, tc.content)
			}
		})
	}
}

func TestReadFormErrors(t *testing.T) {
	big := strings.Repeat("v", MaxPreDataSize)
	var many strings.Builder
	for i := range MaxFields + 1 {
		many.WriteString(field(fmt.Sprintf("x-ignore-%d", i), "v"))
	}
	tests := []struct {
		name     string
		body     string
		boundary string
		code     string
	}{
		{"no file", field("key", "k") + closing, bnd, CodeInvalidArgument},
		{"no file, only submit after", field("key", "k") + field("submit", "go") + closing, bnd, CodeInvalidArgument},
		{"empty multipart", closing, bnd, CodeInvalidArgument},
		{"empty body", "", bnd, CodeMalformedPOSTRequest},
		{"truncated before file", field("key", "k") + "--" + bnd + "\r\nContent-Disposition: form-data; name=\"acl\"\r\n\r\npubl", bnd, CodeMalformedPOSTRequest},
		{"wrong boundary", field("key", "k") + filePart("file", "a", "", "x") + closing, "other", CodeMalformedPOSTRequest},
		{"empty boundary", field("key", "k"), "", CodeMalformedPOSTRequest},
		{"long boundary", field("key", "k"), strings.Repeat("b", 71), CodeMalformedPOSTRequest},
		{"boundary with newline", field("key", "k"), "a\r\nb", CodeMalformedPOSTRequest},
		{"one value too large", field("key", big) + filePart("file", "a", "", "x") + closing, bnd, CodeMaxPostPreDataLengthExceeded},
		{"sum too large", field("a", big[:MaxPreDataSize/2]) + field("b", big[:MaxPreDataSize/2]) + filePart("file", "a", "", "x") + closing, bnd, CodeMaxPostPreDataLengthExceeded},
		{"too many fields", many.String() + filePart("file", "a", "", "x") + closing, bnd, CodeMaxPostPreDataLengthExceeded},
		{"huge part header", "--" + bnd + "\r\nContent-Disposition: form-data; name=\"" + strings.Repeat("n", 1<<20) + "\"\r\n\r\nv\r\n" + closing, bnd, CodeMaxPostPreDataLengthExceeded},
		{"huge preamble", strings.Repeat("preamble\r\n", 1<<17) + filePart("file", "a", "", "x") + closing, bnd, CodeMaxPostPreDataLengthExceeded},
		{"preamble line longer than the parser's buffer", strings.Repeat("p", 1<<20) + "\r\n" + filePart("file", "a", "", "x") + closing, bnd, CodeMalformedPOSTRequest},
		{"truncated in part headers", field("key", "k") + "--" + bnd + "\r\nContent-Disposition: form-da", bnd, CodeMalformedPOSTRequest},
		{"truncated after delimiter", field("key", "k") + "--" + bnd, bnd, CodeMalformedPOSTRequest},
		{"close delimiter without CRLF", field("key", "k") + "--" + bnd + "--", bnd, CodeInvalidArgument},
		{"close delimiter then epilogue", field("key", "k") + closing + "epilogue", bnd, CodeInvalidArgument},
		{"file named field too large", filePart("upload", "a.jpg", "image/jpeg", strings.Repeat("x", 1<<20)) + closing, bnd, CodeMaxPostPreDataLengthExceeded},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := ReadForm(strings.NewReader(tc.body), tc.boundary)
			if err == nil {
				t.Fatalf("accepted: %+v", f)
			}
			e := asError(t, err)
			if e.Code != tc.code || e.Status != 400 {
				t.Errorf("got %d %s %q, want 400 %s", e.Status, e.Code, e.Message, tc.code)
			}
		})
	}

	_, err := ReadForm(strings.NewReader(field("key", "k")+closing), bnd)
	if e := asError(t, err); e.Message != "POST requires exactly one file upload per request." ||
		e.Get("ArgumentName") != "file" || e.Get("ArgumentValue") != "0" {
		t.Errorf("no file: %+v", e)
	}
	_, err = ReadForm(strings.NewReader(field("key", big)), bnd)
	if e := asError(t, err); e.Message != "Your POST request fields preceeding the upload file was too large." ||
		e.Get("MaxPostPreDataLengthBytes") != "20480" {
		t.Errorf("too large: %+v", e)
	}
}

// The limit is on the bytes before the file: a form just under it passes.
func TestReadFormPreDataBound(t *testing.T) {
	pre := field("key", "") + filePart("file", "a", "", "")
	room := MaxPreDataSize - len(pre) + len("\r\n") // the file part's value CRLF is not counted
	for _, tc := range []struct {
		n  int
		ok bool
	}{{room - 100, true}, {room + 100, false}} {
		body := field("key", strings.Repeat("k", tc.n)) + filePart("file", "a", "", "x") + closing
		_, err := ReadForm(strings.NewReader(body), bnd)
		if (err == nil) != tc.ok {
			t.Errorf("value of %d bytes: err %v, want ok=%v", tc.n, err, tc.ok)
		}
	}
}

func TestReadFormTruncatedFile(t *testing.T) {
	f, err := ReadForm(strings.NewReader(filePart("file", "a", "", "partial")[:80]), bnd)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(f.File); err == nil {
		t.Error("truncated file read without error")
	}
}

// pattern produces deterministic bytes that never form a CRLF.
type pattern struct{ off int64 }

func (p *pattern) Read(b []byte) (int, error) {
	for i := range b {
		b[i] = byte('a' + (p.off+int64(i))%26)
	}
	p.off += int64(len(b))
	return len(b), nil
}

type counter struct {
	r io.Reader
	n int64
}

func (c *counter) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n += int64(n)
	return n, err
}

func TestReadFormStreamsLargeFile(t *testing.T) {
	const size = 50 << 20
	src := &counter{r: io.LimitReader(&pattern{}, size)}
	head := field("key", "big/${filename}") + field("policy", "p") + filePart("file", "big.bin", "application/octet-stream", "")
	head = strings.TrimSuffix(head, "\r\n") // the content follows the blank line directly
	body := io.MultiReader(strings.NewReader(head), src, strings.NewReader("\r\n"+field("submit", "x")+closing))

	f, err := ReadForm(body, bnd)
	if err != nil {
		t.Fatal(err)
	}
	if src.n > 64<<10 {
		t.Fatalf("ReadForm consumed %d bytes of the file before returning", src.n)
	}
	if f.Key() != "big/big.bin" {
		t.Errorf("key %q", f.Key())
	}
	h := sha256.New()
	n, err := io.Copy(h, f.File)
	if err != nil {
		t.Fatal(err)
	}
	if n != size || src.n != size {
		t.Fatalf("read %d bytes (source gave %d), want %d", n, src.n, size)
	}
	want := sha256.New()
	if _, err := io.Copy(want, io.LimitReader(&pattern{}, size)); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(h.Sum(nil), want.Sum(nil)) {
		t.Error("file content differs")
	}
}

// End to end: read a form, parse its policy, check it, stream with the range.
func TestEndToEnd(t *testing.T) {
	pol := b64(`{"expiration": "2026-11-25T12:00:00Z", "conditions": [
		{"bucket": "photos"}, ["starts-with", "$key", "user/eric/"], {"acl": "public-read"},
		["starts-with", "$Content-Type", "image/"], ["content-length-range", 1, 1024],
		{"x-amz-algorithm": "AWS4-HMAC-SHA256"}]}`)
	body := field("key", "user/eric/${filename}") + field("acl", "public-read") + field("Content-Type", "image/jpeg") +
		field("X-Amz-Algorithm", "AWS4-HMAC-SHA256") + field("Policy", pol) + field("X-Amz-Signature", "00") +
		field("x-ignore-dzuuid", "1") + filePart("file", "C:\\pics\\cat.jpg", "image/jpeg", "meow") + closing
	f, err := ReadForm(strings.NewReader(body), bnd)
	if err != nil {
		t.Fatal(err)
	}
	p, err := ParsePolicy(f.Fields["policy"])
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Check(f, "photos", p.Expiration.Add(-1)); err != nil {
		t.Fatal(err)
	}
	if f.Key() != "user/eric/cat.jpg" {
		t.Errorf("key %q", f.Key())
	}
	data, err := io.ReadAll(f.File)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.CheckLength(int64(len(data))); err != nil {
		t.Error(err)
	}
}
