package iamapi

import "testing"

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
