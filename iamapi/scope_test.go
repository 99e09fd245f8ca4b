package iamapi

import (
	"net/url"
	"strings"
	"testing"
)

func TestScopePart(t *testing.T) {
	for _, tt := range []struct {
		cred string
		i    int
		want string
	}{
		{"AKID/20260101/us-east-1/iam/aws4_request", 3, "iam"},
		{"AKID/20260101/us-east-1/sts/aws4_request", 2, "us-east-1"},
		{"AKID/20260101/us-east-1/iam", 3, ""},
		{"AKID/20260101/us-east-1/iam/aws4_request/x", 3, ""},
		{"", 3, ""},
		{"a/b/c/d/e", 0, "a"},
		{"a/b/c/d/e", 4, "e"},
	} {
		if got := scopePart(tt.cred, tt.i); got != tt.want {
			t.Errorf("scopePart(%q, %d) = %q, want %q", tt.cred, tt.i, got, tt.want)
		}
	}
}

// rawScopePart must agree with decoding the value first.
func FuzzRawScopePart(f *testing.F) {
	for _, s := range []string{"AK%2F20260101%2Fus-east-1%2Fs3%2Faws4_request", "AK/20260101/us-east-1/iam/aws4_request",
		"AK%2f20260101%2fus-east-1%2fsts%2faws4_request", "AK%2F2026%2Fr%2F%69am%2Faws4_request", "a%252Fb%2Fc%2Fd%2Fe", "a+b/c/d/e/f", "%zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		want := ""
		if v, err := url.QueryUnescape(raw); err == nil {
			want = scopePart(strings.TrimSpace(v), 3)
		}
		if got := rawScopePart(raw, 3); got != want {
			t.Fatalf("%q: %q, want %q", raw, got, want)
		}
	})
}
