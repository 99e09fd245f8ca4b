package clients

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/postern/postern/internal/testserver"
)

// Objects kept in memory (inline) and in files are served whole over
// HTTP/1.1 (where small responses leave in one write) and over HTTP/2 (which
// flow-controls bodies itself), with keep-alive.
func TestHTTPVersions(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, testserver.Options{TLS: true})
	c, _ := sdkClient(t, srv)
	ctx := context.Background()
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("proto")}); err != nil {
		t.Fatal(err)
	}
	sizes := map[string]int{"tiny": 1, "4k": 4096, "inline-max": 64 << 10, "file": 64<<10 + 1, "big": 3 << 20}
	bodies := map[string][]byte{}
	for name, n := range sizes {
		b := bytes.Repeat([]byte{byte(n)}, n)
		bodies[name] = b
		if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("proto"), Key: aws.String(name), Body: bytes.NewReader(b)}); err != nil {
			t.Fatal(err)
		}
	}
	pc := s3.NewPresignClient(c)
	h1 := &http.Client{Timeout: time.Minute, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: srv.CertPool},
		TLSNextProto:    map[string]func(string, *tls.Conn) http.RoundTripper{}, // no HTTP/2
	}}
	h2 := srv.HTTPClient()
	for _, v := range []struct {
		hc    *http.Client
		major int
	}{{h1, 1}, {h2, 2}} {
		for round := 0; round < 2; round++ { // the second round reuses connections
			for name, want := range bodies {
				u, err := pc.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("proto"), Key: aws.String(name)})
				if err != nil {
					t.Fatal(err)
				}
				resp, err := v.hc.Get(u.URL)
				if err != nil {
					t.Fatalf("HTTP/%d GET %s: %v", v.major, name, err)
				}
				got, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil || resp.StatusCode != 200 || !bytes.Equal(got, want) || resp.ProtoMajor != v.major {
					t.Fatalf("HTTP/%d GET %s: status %d, proto %s, %d bytes (want %d), %v", v.major, name, resp.StatusCode, resp.Proto, len(got), len(want), err)
				}
			}
		}
	}
}
