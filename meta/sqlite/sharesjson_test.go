package sqlite

import (
	"encoding/json"
	"testing"
	"unicode/utf8"

	"github.com/postern/postern/share"
)

// appendJSONString is what AddAudit sends SQLite client text in: whatever
// the text (after share.CleanText), the JSON must decode to that text.
func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "curl/8.5.0", `a"b\c`, "tab\tnl\nnul\x00", "\x7f\x1f\u2028é😀", "\xff\xfe bad", "</script>&"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		s = share.CleanText(s)
		b := appendJSONString([]byte("x"), s)
		if b[0] != 'x' {
			t.Fatal("prefix lost")
		}
		var got string
		if err := json.Unmarshal(b[1:], &got); err != nil {
			t.Fatalf("%q: %s: %v", s, b[1:], err)
		}
		if got != s || !utf8.Valid(b) {
			t.Fatalf("%q encoded as %s decodes to %q", s, b[1:], got)
		}
	})
}
