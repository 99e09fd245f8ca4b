package sigv4

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestPresignVerifies(t *testing.T) {
	creds := Credentials{AccessKey: "AKIDEXAMPLE", SecretKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}
	lookup := func(_ context.Context, ak, tok string) (Secret, error) {
		if ak == creds.AccessKey && tok == creds.SessionToken {
			return Secret{Key: creds.SecretKey}, nil
		}
		return Secret{}, ErrUnknownAccessKey
	}
	v := NewVerifier(VerifierConfig{Region: "us-east-1", Services: []string{"s3"}, MaxSkew: 15 * time.Minute, Lookup: lookup})
	at := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name, method, rawURL string
		hdr                  http.Header
		token                string
	}{
		{"get", "GET", "http://127.0.0.1:9000/bucket/a%20key/ключ.txt", nil, ""},
		{"get with overrides", "GET", "http://127.0.0.1:9000/bucket/k?response-content-disposition=attachment%3B%20filename%3D%22x.txt%22", nil, ""},
		{"put with content-type", "PUT", "http://bucket.s3.local:9000/k", http.Header{"Content-Type": {"text/plain"}}, ""},
		{"with token", "DELETE", "http://127.0.0.1:9000/b/k", nil, "TOKEN/with+chars="},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := creds
			c.SessionToken = tc.token
			creds.SessionToken = tc.token
			s, err := Presign(c, PresignOptions{Method: tc.method, URL: tc.rawURL, Region: "us-east-1", Header: tc.hdr, SignAt: at, Expires: time.Hour})
			if err != nil {
				t.Fatal(err)
			}
			u, _ := url.Parse(s)
			r := &http.Request{Method: tc.method, URL: u, Host: u.Host, Header: tc.hdr.Clone()}
			if r.Header == nil {
				r.Header = http.Header{}
			}
			res, err := v.Verify(r, at.Add(30*time.Minute))
			if err != nil {
				t.Fatalf("verify %s: %v", s, err)
			}
			if res.AuthType != "REST-QUERY-STRING" || res.SessionToken != tc.token {
				t.Fatalf("result %+v", res)
			}
			if _, err := v.Verify(r, at.Add(61*time.Minute)); err == nil || !strings.Contains(err.Error(), "expired") {
				t.Fatalf("after expiry: %v", err)
			}
			r.Method = "POST"
			if _, err := v.Verify(r, at.Add(time.Minute)); err == nil {
				t.Fatal("method change verified")
			}
		})
	}
	if _, err := Presign(creds, PresignOptions{Method: "GET", URL: "http://h/b/k", Region: "us-east-1", SignAt: at, Expires: MaxPresignExpiry + time.Second}); err == nil {
		t.Fatal("over-long expiry accepted")
	}
}
