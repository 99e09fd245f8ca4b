package pgnode

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/postern/postern/internal/pgtest"
	"github.com/postern/postern/internal/s3test"
	"github.com/postern/postern/internal/testserver"
)

// Two nodes on one database, each with its node cache of buckets: a bucket
// policy written on node A (a Deny on GetObject) is enforced by node B,
// which had the bucket cached from the GET before; deleting the policy on
// A lifts it on B; deleting the bucket on A makes B answer NoSuchBucket.
// Each change is waited for (B's answer), bounded by hangGuard only; the
// latencies are logged, not asserted.
func TestBucketChangesAcrossNodes(t *testing.T) {
	dsn := pgtest.DSN(t)
	key := serverKey()
	a := testserver.Start(t, testserver.Options{Args: []string{"--meta", dsn, "--server-key", key}})
	b := testserver.Start(t, testserver.Options{Args: []string{"--meta", dsn, "--server-key", key}})
	ca := s3test.Client(a, s3test.Options{RetryMaxAttempts: 1})
	cb := s3test.Client(b, s3test.Options{RetryMaxAttempts: 1})
	bucket := s3test.NewBucket(t, ca, "pgcache")
	s3test.Put(t, ca, bucket, "k", []byte("hello"))
	deny := `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::` + bucket + `/k"}]}`

	// status of node B's GetObject: 200 or the S3 error's status and code.
	status := func() (int, string) {
		_, err := s3test.GetObject(s3test.Ctx(t), cb, bucket, "k")
		if err == nil {
			return http.StatusOK, ""
		}
		st, code, _ := s3test.APIErr(err)
		return st, code
	}
	waitFor := func(what string, wantStatus int, wantCode string) time.Duration {
		t.Helper()
		start := time.Now()
		for {
			st, code := status()
			if st == wantStatus && code == wantCode {
				return time.Since(start)
			}
			// Until B learns of the change it gives the answer before it:
			// any of these; never anything else (a 5xx, say).
			if st != http.StatusOK && code != "AccessDenied" && code != "NoSuchKey" {
				t.Fatalf("%s: node B answered %d %s", what, st, code)
			}
			if time.Since(start) > hangGuard {
				t.Fatalf("%s: node B still answers %d %s after %v", what, st, code, hangGuard)
			}
			time.Sleep(time.Millisecond)
		}
	}
	var lat []time.Duration
	for range 5 {
		waitFor("before", http.StatusOK, "") // B reads (and keeps) the bucket
		start := time.Now()
		if _, err := ca.PutBucketPolicy(s3test.Ctx(t), &s3.PutBucketPolicyInput{Bucket: aws.String(bucket), Policy: aws.String(deny)}); err != nil {
			t.Fatal(err)
		}
		// Node A enforces its own write at once.
		if _, err := s3test.GetObject(s3test.Ctx(t), ca, bucket, "k"); err == nil {
			t.Fatal("node A serves the object right after its own Deny")
		}
		waitFor("Deny written on A", http.StatusForbidden, "AccessDenied")
		lat = append(lat, time.Since(start))
		if _, err := ca.DeleteBucketPolicy(s3test.Ctx(t), &s3.DeleteBucketPolicyInput{Bucket: aws.String(bucket)}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor("policy deleted on A", http.StatusOK, "")
	if _, err := ca.DeleteObject(s3test.Ctx(t), &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String("k")}); err != nil {
		t.Fatal(err)
	}
	if _, err := ca.DeleteBucket(s3test.Ctx(t), &s3.DeleteBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	waitFor("bucket deleted on A", http.StatusNotFound, "NoSuchBucket")
	slices.Sort(lat)
	t.Logf("Deny on node A → enforced by node B, %d times: p50 %v, max %v", len(lat), lat[len(lat)/2], lat[len(lat)-1])
}
