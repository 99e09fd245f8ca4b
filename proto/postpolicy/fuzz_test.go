package postpolicy

import (
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/postern/postern/proto/s3err"
)

// FuzzParsePolicy checks that any policy text either parses or fails with
// InvalidPolicyDocument, and that a parsed policy can be used without panics.
// Seeds are in testdata/fuzz/FuzzParsePolicy.
func FuzzParsePolicy(f *testing.F) {
	f.Add(b64(doc(`{"bucket": "b"}, ["starts-with", "$key", ""], ["content-length-range", 0, 10]`)))
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePolicy(s)
		if err != nil {
			var e *s3err.Error
			if !errors.As(err, &e) || e.Code != CodeInvalidPolicyDocument || e.Status != 400 {
				t.Fatalf("unexpected error %#v", err)
			}
			return
		}
		for _, c := range p.Conditions {
			if !strings.HasPrefix(c.String(), "[") {
				t.Fatalf("condition renders as %q", c.String())
			}
		}
		form := &Form{Fields: map[string]string{"key": "k", "x-amz-meta-a": "${filename}"}, FileName: "f"}
		_ = p.Check(form, "b", time.Time{})
		_, _, _ = p.LengthRange()
		_ = p.CheckLength(5)
	})
}

// FuzzReadForm checks that any body either yields a form whose limits hold
// or fails with a 400 *s3err.Error. Seeds are in testdata/fuzz/FuzzReadForm.
func FuzzReadForm(f *testing.F) {
	f.Add([]byte(field("key", "k")+filePart("file", "a.txt", "text/plain", "x")+closing), bnd)
	f.Fuzz(func(t *testing.T, body []byte, boundary string) {
		form, err := ReadForm(strings.NewReader(string(body)), boundary)
		if err != nil {
			var e *s3err.Error
			if !errors.As(err, &e) || e.Status != 400 {
				t.Fatalf("unexpected error %#v", err)
			}
			return
		}
		total := 0
		for k, v := range form.Fields {
			if k != strings.ToLower(k) {
				t.Fatalf("field name %q not lower-cased", k)
			}
			total += len(k) + len(v)
		}
		if total > MaxPreDataSize || len(form.Fields) > MaxFields {
			t.Fatalf("limits exceeded: %d bytes, %d fields", total, len(form.Fields))
		}
		if strings.ContainsAny(form.FileName, `/\`) {
			t.Fatalf("file name %q keeps a path", form.FileName)
		}
		_ = form.Key()
		_, _ = io.Copy(io.Discard, form.File)
	})
}
