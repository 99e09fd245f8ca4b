package iamapi

import (
	"net/http/httptest"
	"strings"
	"testing"
)

func TestWants(t *testing.T) {
	const cred = "AKID%2F20260101%2Fus-east-1%2F"
	for _, tt := range []struct {
		name, method, target, auth string
		want                       bool
	}{
		{"header-signed IAM", "POST", "/", "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=x", true},
		{"header-signed STS", "POST", "/", "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/sts/aws4_request, SignedHeaders=host, Signature=x", true},
		{"header-signed S3 ListBuckets", "GET", "/", "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=x", false},
		{"presigned STS", "GET", "/?Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Credential=" + cred + "sts%2Faws4_request", "", true},
		{"presigned S3 object", "GET", "/bucket/key?X-Amz-Credential=" + cred + "s3%2Faws4_request", "", false},
		{"unsigned query API", "GET", "/?Action=ListUsers&Version=2010-05-08", "", true},
		{"unsigned, other version", "GET", "/?Action=ListUsers&Version=2006-03-01", "", false},
		{"IAM-signed, not at /", "GET", "/bucket?X-Amz-Credential=" + cred + "iam%2Faws4_request", "", false},
		{"S3 bucket", "GET", "/bucket", "", false},
	} {
		r := httptest.NewRequest(tt.method, tt.target, nil)
		if tt.auth != "" {
			r.Header.Set("Authorization", tt.auth)
		}
		if got := Wants(r); got != tt.want {
			t.Errorf("%s: Wants = %v, want %v", tt.name, got, tt.want)
		}
	}
	// An unsigned form POST names its action in the body, which is put back.
	body := "Action=CreateUser&UserName=u&Version=2010-05-08"
	r := httptest.NewRequest("POST", "/", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if !Wants(r) {
		t.Error("unsigned form POST: Wants = false")
	}
	var sb strings.Builder
	buf := make([]byte, 8)
	for {
		n, err := r.Body.Read(buf)
		sb.Write(buf[:n])
		if err != nil {
			break
		}
	}
	if sb.String() != body {
		t.Errorf("body after Wants: %q", sb.String())
	}
}
