package cluster

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/postern/postern/internal/s3test"
)

// revokeDeadline bounds how long a revoke on B may take to stop a URL on
// C. The promised bound is 1 s (docs/security.md); the assertion is
// generous so that a busy machine cannot fail it, and the measured figures
// are logged.
const revokeDeadline = 10 * time.Second

// A URL presigned against A with a user's key works on C; a revoke on B —
// the key deactivated, the user's policy deleted, a Deny added to the
// bucket policy — stops it on C. The time from the revoke call's response
// to C's first 403 is measured for each of ~20 revokes (C polled
// continuously), and p50/max logged.
func TestRevokeOnBStopsURLOnC(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		ctx := s3test.Ctx(t)
		bucket := s3test.NewBucket(t, c.s3[0], "revoke")
		body := []byte("shared through a presigned URL")
		s3test.Put(t, c.s3[0], bucket, "doc.txt", body)

		iamA, iamB := c.iam(0), c.iam(1)
		user, err := iamA.CreateUser(ctx, &awsiam.CreateUserInput{UserName: aws.String("signer")})
		if err != nil {
			t.Fatal(err)
		}
		allow := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::%s/*"}]}`, bucket)
		putPolicy := func(cl *awsiam.Client) {
			t.Helper()
			if _, err := cl.PutUserPolicy(ctx, &awsiam.PutUserPolicyInput{UserName: aws.String("signer"), PolicyName: aws.String("read"), PolicyDocument: aws.String(allow)}); err != nil {
				t.Fatal(err)
			}
		}
		putPolicy(iamA)
		key, err := iamA.CreateAccessKey(ctx, &awsiam.CreateAccessKeyInput{UserName: aws.String("signer")})
		if err != nil {
			t.Fatal(err)
		}
		ak, sk := aws.ToString(key.AccessKey.AccessKeyId), aws.ToString(key.AccessKey.SecretAccessKey)
		url := presign(t, c.s3As(0, ak, sk), http.MethodGet, bucket, "doc.txt")

		// curl, connecting to C with A's Host: the URL works there.
		if status, got := curl(t, "--connect-to", connectTo(t, url, c.nodes[2].Addr), url); status != 200 || string(got) != string(body) {
			t.Fatalf("URL presigned against A, on C: %d %s", status, got)
		}

		onC := viaNode(c.nodes[2].Addr)
		status := func() (int, []byte) {
			resp, err := onC.Get(url)
			if err != nil {
				t.Fatalf("GET on C: %v", err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, b
		}
		deny := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":{"AWS":%q},"Action":"s3:GetObject","Resource":"arn:aws:s3:::%s/*"}]}`, aws.ToString(user.User.Arn), bucket)
		kinds := []struct {
			name            string
			revoke, restore func()
		}{
			{"key deactivated", func() {
				if _, err := iamB.UpdateAccessKey(ctx, &awsiam.UpdateAccessKeyInput{UserName: aws.String("signer"), AccessKeyId: aws.String(ak), Status: iamtypes.StatusTypeInactive}); err != nil {
					t.Fatal(err)
				}
			}, func() {
				if _, err := iamB.UpdateAccessKey(ctx, &awsiam.UpdateAccessKeyInput{UserName: aws.String("signer"), AccessKeyId: aws.String(ak), Status: iamtypes.StatusTypeActive}); err != nil {
					t.Fatal(err)
				}
			}},
			{"user policy deleted", func() {
				if _, err := iamB.DeleteUserPolicy(ctx, &awsiam.DeleteUserPolicyInput{UserName: aws.String("signer"), PolicyName: aws.String("read")}); err != nil {
					t.Fatal(err)
				}
			}, func() { putPolicy(iamB) }},
			{"Deny bucket policy", func() {
				if _, err := c.s3[1].PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(bucket), Policy: aws.String(deny)}); err != nil {
					t.Fatal(err)
				}
			}, func() {
				if _, err := c.s3[1].DeleteBucketPolicy(ctx, &s3.DeleteBucketPolicyInput{Bucket: aws.String(bucket)}); err != nil {
					t.Fatal(err)
				}
			}},
		}
		const rounds = 21
		var all []time.Duration
		per := map[string][]time.Duration{}
		for r := 0; r < rounds; r++ {
			k := kinds[r%len(kinds)]
			// The URL works on C before the revoke (after the previous
			// round's restore has reached C).
			waitFor(t, fmt.Sprintf("round %d: URL working on C again", r), revokeDeadline, func() bool {
				code, _ := status()
				return code == 200
			})
			k.revoke()
			start := time.Now()
			var code int
			var last []byte
			for {
				code, last = status()
				if code != 200 {
					break
				}
				if time.Since(start) > revokeDeadline {
					t.Fatalf("round %d (%s on B): URL still works on C %v after the revoke", r, k.name, revokeDeadline)
				}
			}
			d := time.Since(start)
			if e, ok := parseS3Error(last); code != 403 || !ok {
				t.Fatalf("round %d (%s on B): C answered %d %s, want 403 with an S3 error", r, k.name, code, last)
			} else if k.name != "key deactivated" && e.Code != "AccessDenied" {
				t.Fatalf("round %d (%s on B): C answered %s, want AccessDenied", r, k.name, e.Code)
			}
			all = append(all, d)
			per[k.name] = append(per[k.name], d)
			k.restore()
		}
		for _, k := range kinds {
			p50, max := stats(per[k.name])
			t.Logf("revoke on B → first 403 on C, %s: p50 %v, max %v (%d revokes)", k.name, p50, max, len(per[k.name]))
		}
		p50, max := stats(all)
		t.Logf("revoke on B → first 403 on C, all kinds: p50 %v, max %v (%d revokes)", p50, max, len(all))
	})
}

// stats returns the median and the maximum of ds.
func stats(ds []time.Duration) (p50, max time.Duration) {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2].Round(100 * time.Microsecond), s[len(s)-1].Round(100 * time.Microsecond)
}
