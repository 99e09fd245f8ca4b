package policye2e

import (
	"github.com/postern/postern/internal/s3test"

	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// benchPolicy is a realistic 10-statement bucket policy that a presigned GET
// must get through: denies on signature age, auth type, payload signing,
// source network and transport that do not apply to it, and allows that do
// not concern it. Each is evaluated on every request.
func benchPolicy(b string) string {
	obj := `"arn:aws:s3:::` + b + `/*"`
	return doc(
		`{"Sid":"OldSignatures","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":`+obj+`,"Condition":{"NumericGreaterThan":{"s3:signatureAge":"600000"}}}`,
		`{"Sid":"NoPost","Effect":"Deny","Principal":"*","Action":"s3:PutObject","Resource":`+obj+`,"Condition":{"StringEquals":{"s3:authType":"POST"}}}`,
		`{"Sid":"NoUnsignedPut","Effect":"Deny","Principal":"*","Action":"s3:PutObject","Resource":`+obj+`,"Condition":{"StringEquals":{"s3:x-amz-content-sha256":"UNSIGNED-PAYLOAD"}}}`,
		`{"Sid":"Network","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":`+obj+`,"Condition":{"NotIpAddress":{"aws:SourceIp":["127.0.0.0/8","10.0.0.0/8","192.168.0.0/16","::1/128"]}}}`,
		`{"Sid":"NoSigV2","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":`+obj+`,"Condition":{"StringNotEquals":{"s3:signatureversion":"AWS4-HMAC-SHA256"}}}`,
		`{"Sid":"NoSecretPrefix","Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::`+b+`/secret/*"}`,
		`{"Sid":"NoDeleteOld","Effect":"Deny","Principal":"*","Action":["s3:DeleteObject","s3:DeleteObjectVersion"],"Resource":`+obj+`,"Condition":{"DateGreaterThan":{"aws:CurrentTime":"2000-01-01T00:00:00Z"}}}`,
		`{"Sid":"PartnerRead","Effect":"Allow","Principal":{"AWS":"444455556666"},"Action":["s3:GetObject","s3:GetObjectVersion"],"Resource":`+obj+`}`,
		`{"Sid":"PartnerList","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::444455556666:root"},"Action":"s3:ListBucket","Resource":"arn:aws:s3:::`+b+`","Condition":{"StringLike":{"s3:prefix":["shared/*","public/*"]}}}`,
		`{"Sid":"Agents","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":`+obj+`,"Condition":{"StringLike":{"aws:UserAgent":["*BadBot*","*scanner*"]}}}`,
	)
}

// BenchmarkPresignedGetWithPolicy and BenchmarkPresignedGetWithoutPolicy
// measure presigned 4 KiB GETs against a real server process, from an
// in-process net/http client (parallel, keep-alive). The target: with
// policies within 10% of the rate without.
func BenchmarkPresignedGetWithPolicy(b *testing.B)    { benchPresignedGet(b, true) }
func BenchmarkPresignedGetWithoutPolicy(b *testing.B) { benchPresignedGet(b, false) }

func benchPresignedGet(b *testing.B, withPolicy bool) {
	srv := startServer(b)
	root := sdk(b, srv, clientOpts{})
	body := []byte(strings.Repeat("x", 4096))
	bucket := s3test.NewBucket(b, root, "bench")
	mustPut(b, root, bucket, "obj", body)
	if withPolicy {
		mustPutPolicy(b, root, bucket, benchPolicy(bucket))
	}
	u := presignGet(b, root, bucket, "obj")
	hc := &http.Client{Transport: transportFrom("")}
	get := func() error {
		resp, err := hc.Get(u)
		if err != nil {
			return err
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || n != 4096 {
			return fmt.Errorf("status %d, %d bytes", resp.StatusCode, n)
		}
		return nil
	}
	if err := get(); err != nil { // warm up, and check the policy lets it through
		b.Fatal(err)
	}
	b.SetBytes(4096)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := get(); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
}
