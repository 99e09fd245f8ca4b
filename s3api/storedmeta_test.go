package s3api

import (
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/postern/postern/meta"
	"github.com/postern/postern/proto/s3err"
)

func TestCheckStoredMetadata(t *testing.T) {
	ok := []meta.Object{
		{},
		{ContentType: "text/plain; charset=utf-8", ContentDisposition: `attachment; filename="été.txt"`, UserMeta: map[string]string{"city": "Zürich 東京 😀", "tab": "a\tb", "empty": ""}},
	}
	for _, o := range ok {
		if err := checkStoredMetadata(&o); err != nil {
			t.Errorf("%+v: %v", o, err)
		}
	}
	bad := []struct {
		o      meta.Object
		header string
	}{
		{meta.Object{ContentType: "a\xff"}, "Content-Type"},
		{meta.Object{ContentEncoding: "\x80"}, "Content-Encoding"},
		{meta.Object{ContentDisposition: "a\x00"}, "Content-Disposition"},
		{meta.Object{ContentLanguage: "\xed\xa0\x80"}, "Content-Language"},
		{meta.Object{CacheControl: "a\nb"}, "Cache-Control"},
		{meta.Object{Expires: "\x7f"}, "Expires"},
		{meta.Object{UserMeta: map[string]string{"a": "Z\xfcrich"}}, "x-amz-meta-a"},
		{meta.Object{UserMeta: map[string]string{"a": "\x1b[0m"}}, "x-amz-meta-a"},
		// Bad names: shown with the bad bytes replaced, never raw.
		{meta.Object{UserMeta: map[string]string{"\xe9": "v"}}, "x-amz-meta-\uFFFD"},
		{meta.Object{UserMeta: map[string]string{"a\x00b": "v"}}, "x-amz-meta-a\uFFFDb"},
		// Several bad headers: always the first in sorted order.
		{meta.Object{UserMeta: map[string]string{"z": "\xff", "b": "\xff", "m": "\xff"}}, "x-amz-meta-b"},
	}
	for _, tc := range bad {
		err := checkStoredMetadata(&tc.o)
		var e *s3err.Error
		if !errors.As(err, &e) || e.Status != 400 || e.Code != "InvalidArgument" || !strings.Contains(e.Message, tc.header) ||
			len(e.Extra) != 1 || e.Extra[0] != (s3err.KV{Key: "ArgumentName", Value: tc.header}) {
			t.Errorf("%+v: %#v, want InvalidArgument naming %q", tc.o, err, tc.header)
		}
	}
}

// FuzzStorableText checks that a value is accepted exactly when it is
// UTF-8 without control characters but tab, and that a refusal's message
// and ArgumentName are always printable UTF-8 (they go into XML and logs)
// whatever the bytes of the header name.
func FuzzStorableText(f *testing.F) {
	for _, s := range []string{"", "plain", "Zürich", "a\tb", "\xff", "a\x00b", "\xc0\xaf", "\xed\xa0\x80", "\x7f", "line\r\n", "😀\xf0\x9f"} {
		f.Add("x-amz-meta-"+s, s)
	}
	f.Fuzz(func(t *testing.T, header, value string) {
		err := storableText(header, value, "value")
		want := utf8.ValidString(value) && !strings.ContainsFunc(value, func(r rune) bool { return r < ' ' && r != '\t' || r == 0x7f })
		if (err == nil) != want {
			t.Fatalf("storableText(%q) = %v, want accepted %v", value, err, want)
		}
		if err == nil {
			return
		}
		var e *s3err.Error
		if !errors.As(err, &e) || e.Code != "InvalidArgument" {
			t.Fatalf("storableText(%q): %#v", value, err)
		}
		for _, s := range []string{e.Message, e.Extra[0].Value} {
			if !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool { return r < ' ' || r == 0x7f }) {
				t.Fatalf("refusal text %q is not printable UTF-8", s)
			}
			if err := xml.EscapeText(io.Discard, []byte(s)); err != nil {
				t.Fatalf("refusal text %q: %v", s, err)
			}
		}
	})
}
