package clients

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/postern/postern/internal/s3test"
	"github.com/postern/postern/internal/testserver"
)

// TestVirtualHost sends virtual-host-style requests (Host: BUCKET.DOMAIN:PORT)
// to a server started with --domain, dialling 127.0.0.1 whatever the name.
func TestVirtualHost(t *testing.T) {
	t.Parallel()
	const domain = "s3.localtest"
	srv := testserver.Start(t, testserver.Options{Args: []string{"--domain", domain}})
	_, port, err := net.SplitHostPort(srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	dialer := &net.Dialer{Timeout: 10 * time.Second}
	tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		return dialer.DialContext(ctx, network, srv.Addr)
	}
	rec := &recorder{next: tr}
	o := sdkOptions(&http.Client{Transport: rec, Timeout: time.Minute})
	o.Endpoint, o.VirtualHost = "http://"+domain+":"+port, true
	c := s3test.Client(srv, o)

	b := s3test.BucketName("vhost")
	if _, err := c.CreateBucket(s3test.Ctx(t), &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
		t.Fatalf("CreateBucket: %v", err)
	}
	body := s3test.RandBytes(101, 5000)
	keys := []string{"dir/obj.bin", "top", "dir/with space"}
	for _, k := range keys {
		po, err := c.PutObject(s3test.Ctx(t), &s3.PutObjectInput{Bucket: aws.String(b), Key: aws.String(k), Body: bytes.NewReader(body)})
		if err != nil {
			t.Fatalf("PutObject %s: %v", k, err)
		}
		if aws.ToString(po.ETag) != s3test.Quoted(s3test.MD5Hex(body)) {
			t.Errorf("PutObject %s ETag %s", k, aws.ToString(po.ETag))
		}
	}
	s3test.EqualBytes(t, "GetObject", getBytes(t, c, b, "dir/obj.bin"), body)
	lo, err := c.ListObjectsV2(s3test.Ctx(t), &s3.ListObjectsV2Input{Bucket: aws.String(b)})
	if err != nil {
		t.Fatalf("ListObjectsV2: %v", err)
	}
	eqList(t, "virtual-host listing", keysOf(lo.Contents), sorted(keys))
	if aws.ToString(lo.Name) != b {
		t.Errorf("ListObjectsV2 Name = %q, want %q", aws.ToString(lo.Name), b)
	}
	lb, err := c.ListBuckets(s3test.Ctx(t), &s3.ListBucketsInput{})
	if err != nil {
		t.Fatalf("ListBuckets on the bare domain: %v", err)
	}
	if len(lb.Buckets) != 1 || aws.ToString(lb.Buckets[0].Name) != b {
		t.Errorf("ListBuckets = %d buckets, want just %s", len(lb.Buckets), b)
	}

	// A missing bucket named by the host answers NoSuchBucket.
	_, err = c.GetObject(s3test.Ctx(t), &s3.GetObjectInput{Bucket: aws.String(s3test.BucketName("vhost-absent")), Key: aws.String("top")})
	s3test.WantAPIError(t, err, 404, "NoSuchBucket")

	// The requests really were virtual-host style: bucket in Host, not in the path.
	wantHost := b + "." + domain + ":" + port
	sent := rec.find(func(r sentRequest) bool { return r.Host == wantHost })
	if len(sent) < len(keys)+3 {
		t.Fatalf("only %d requests went to Host %s", len(sent), wantHost)
	}
	for _, r := range sent {
		if strings.HasPrefix(r.Path, "/"+b) {
			t.Errorf("%s %s: the bucket is in the path too", r.Method, r.Path)
		}
	}
	if len(rec.find(func(r sentRequest) bool { return r.Host == domain+":"+port && r.Path == "/" })) != 1 {
		t.Error("ListBuckets did not go to the bare domain")
	}

	// Path-style requests to the same server still work alongside.
	ps, _ := sdkClient(t, srv)
	s3test.EqualBytes(t, "path-style GetObject on a --domain server", getBytes(t, ps, b, "top"), body)
}
