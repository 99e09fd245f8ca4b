package pgnode

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/jackc/pgx/v5"

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

// Two nodes on one database, each with its node cache of small (inline)
// objects. Node B serves a small object from its cache: a change made to
// the row behind the nodes' backs (standing for a lost notification) is
// not seen by B. An overwrite on node A, then a delete on A, are seen by
// B's GET: each waited for (hangGuard bounds the wait; the latencies are
// logged, not asserted), and every answer B gives meanwhile is a whole
// version — its body matches its ETag and is the body before or after.
func TestObjectChangesAcrossNodes(t *testing.T) {
	dsn := pgtest.DSN(t)
	key := serverKey()
	a := testserver.Start(t, testserver.Options{Args: []string{"--meta", dsn, "--server-key", key}})
	b := testserver.Start(t, testserver.Options{Args: []string{"--meta", dsn, "--server-key", key}})
	ca := s3test.Client(a, s3test.Options{RetryMaxAttempts: 1})
	cb := s3test.Client(b, s3test.Options{RetryMaxAttempts: 1})
	ctx := s3test.Ctx(t)
	bucket := s3test.NewBucket(t, ca, "pgobj")
	db, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(context.Background())

	// onB is node B's answer for k: its body, or "<" + error code + ">".
	onB := func(k string) string {
		out, err := cb.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(k)})
		if err != nil {
			st, code, _ := s3test.APIErr(err)
			if st != http.StatusNotFound {
				t.Fatalf("GET %s on node B: %v", k, err)
			}
			return "<" + code + ">"
		}
		defer out.Body.Close()
		body, err := io.ReadAll(out.Body)
		if err != nil {
			t.Fatal(err)
		}
		if etag := aws.ToString(out.ETag); etag != s3test.Quoted(s3test.MD5Hex(body)) {
			t.Fatalf("GET %s on node B: body %q does not match ETag %s", k, body, etag)
		}
		return string(body)
	}
	// wait waits until B answers want, accepting only old meanwhile.
	var lat []time.Duration
	wait := func(what, k, old, want string, start time.Time) {
		t.Helper()
		for {
			got := onB(k)
			if got == want {
				lat = append(lat, time.Since(start))
				return
			}
			if got != old {
				t.Fatalf("%s: node B answers %q, neither %q nor %q", what, got, old, want)
			}
			if time.Since(start) > hangGuard {
				t.Fatalf("%s: node B still answers %q after %v", what, got, hangGuard)
			}
			time.Sleep(time.Millisecond)
		}
	}

	// B's cache is used: once B has read k, a change behind its back is
	// not seen. (Until B's listener is confirmed alive B keeps nothing: a
	// fresh key is tried until B has kept one.)
	var k string
	for i := 0; ; i++ {
		k = fmt.Sprintf("k%d", i)
		s3test.Put(t, ca, bucket, k, []byte("old"))
		onB(k)
		sum := s3test.MD5Hex([]byte("new"))
		if _, err := db.Exec(ctx, `UPDATE objects SET inline_data = 'new', etag = $1 WHERE bucket = $2 AND key = $3`,
			sum, bucket, []byte(k)); err != nil {
			t.Fatal(err)
		}
		if got := onB(k); got == "old" {
			break
		} else if got != "new" {
			t.Fatalf("node B answers %q", got)
		}
		if i >= 200 {
			t.Fatal("node B served none of 200 objects from its cache")
		}
	}
	prev := "old"
	for i := range 5 {
		v := fmt.Sprintf("v%d", i)
		start := time.Now()
		s3test.Put(t, ca, bucket, k, []byte(v))
		// A sees its own write at once.
		if got, _ := s3test.Get(t, ca, bucket, k); string(got) != v {
			t.Fatalf("node A reads %q right after writing %q", got, v)
		}
		wait("overwrite on A", k, prev, v, start)
		prev = v
	}
	start := time.Now()
	if _, err := ca.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(k)}); err != nil {
		t.Fatal(err)
	}
	wait("delete on A", k, prev, "<NoSuchKey>", start)
	slices.Sort(lat)
	t.Logf("object overwrite/delete on node A → seen by node B, %d times: p50 %v, max %v", len(lat), lat[len(lat)/2], lat[len(lat)-1])
}

// With --node-object-cache=false a node reads every object from the
// database: a change made behind the nodes' backs is seen on B's next GET,
// and so is every overwrite and delete made on A (strict read-after-write
// across nodes, as S3).
func TestNoObjectCacheIsStrict(t *testing.T) {
	dsn := pgtest.DSN(t)
	key := serverKey()
	args := []string{"--meta", dsn, "--server-key", key, "--node-object-cache=false"}
	a := testserver.Start(t, testserver.Options{Args: args})
	b := testserver.Start(t, testserver.Options{Args: args})
	ca := s3test.Client(a, s3test.Options{RetryMaxAttempts: 1})
	cb := s3test.Client(b, s3test.Options{RetryMaxAttempts: 1})
	ctx := s3test.Ctx(t)
	bucket := s3test.NewBucket(t, ca, "pgstrict")
	db, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(context.Background())

	s3test.Put(t, ca, bucket, "k", []byte("old"))
	for range 3 { // read it on B, more than once: nothing may be kept
		if got, _ := s3test.Get(t, cb, bucket, "k"); string(got) != "old" {
			t.Fatalf("node B reads %q, want old", got)
		}
	}
	if _, err := db.Exec(ctx, `UPDATE objects SET inline_data = 'new', etag = $1 WHERE bucket = $2 AND key = $3`,
		s3test.MD5Hex([]byte("new")), bucket, []byte("k")); err != nil {
		t.Fatal(err)
	}
	if got, _ := s3test.Get(t, cb, bucket, "k"); string(got) != "new" {
		t.Fatalf("node B reads %q after the row changed, want new: it served a cached copy", got)
	}
	for i := range 5 {
		v := fmt.Sprintf("v%d", i)
		s3test.Put(t, ca, bucket, "k", []byte(v))
		if got, _ := s3test.Get(t, cb, bucket, "k"); string(got) != v {
			t.Fatalf("node B reads %q right after node A wrote %q", got, v)
		}
	}
	if _, err := ca.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String("k")}); err != nil {
		t.Fatal(err)
	}
	_, err = cb.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("k")})
	if st, code, _ := s3test.APIErr(err); st != http.StatusNotFound || code != "NoSuchKey" {
		t.Fatalf("node B right after node A deleted the key: %d %s (%v), want 404 NoSuchKey", st, code, err)
	}
}
