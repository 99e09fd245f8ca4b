package s3api

import (
	"net/url"
	"strings"
	"testing"
)

// parseQuery must read every query exactly as url.ParseQuery does.
func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{
		"", "a", "a=", "=b", "a=1&a=2", "uploads", "list-type=2&prefix=x%2Fy&max-keys=10",
		"X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AK%2F20260101%2Fus-east-1%2Fs3%2Faws4_request",
		"a;b=c&d=e", "a=%zz&b=1", "%75ploads", "a+b=c+d", "&&a&&", "response-content-disposition=attachment%3B%20filename%3D%22x.txt%22",
		strings.Repeat("a&", maxQueryParams),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		want, _ := url.ParseQuery(raw)
		got := parseQuery(nil, raw)
		n := 0
		for k, vs := range want {
			n += len(vs)
			if v, ok := got.Lookup(k); !ok || v != vs[0] {
				t.Fatalf("%q: Lookup(%q) = %q, %v; want %q", raw, k, v, ok, vs[0])
			}
		}
		if n != len(got) {
			t.Fatalf("%q: %d params, want %d", raw, len(got), n)
		}
	})
}

func TestQueryLookup(t *testing.T) {
	q := parseQuery(nil, "uploads&prefix=a%2Fb&prefix=second&empty=")
	if !q.Has("uploads") || q.Get("uploads") != "" {
		t.Fatal("valueless key")
	}
	if q.Get("prefix") != "a/b" {
		t.Fatalf("prefix %q", q.Get("prefix"))
	}
	if v, ok := q.Lookup("empty"); !ok || v != "" {
		t.Fatal("empty value")
	}
	if q.Has("missing") {
		t.Fatal("missing key found")
	}
}
