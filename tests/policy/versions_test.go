package policye2e

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/postern/postern/internal/s3test"
)

// TestListBucketVersionsAction checks that ListObjectVersions is authorized
// as s3:ListBucketVersions on the bucket (not s3:ListBucket), with the
// s3:prefix, s3:delimiter and s3:max-keys condition keys of a listing, and
// that bucket policies naming the action both allow and deny it.
func TestListBucketVersionsAction(t *testing.T) {
	t.Parallel()
	srv := startInProcess(t, "--account-id", outpostAccount)
	root := sdk(t, srv, clientOpts{})
	b := s3test.NewBucket(t, root, "lbv")
	for _, k := range []string{"pub/a", "pub/b", "priv/c"} {
		mustPut(t, root, b, k, []byte(k))
	}
	bARN := bucketARN(b)

	userARN, user, userWho := iamUser(t, srv, "lister", "")

	versions := func(c *s3.Client, prefix string) ([]string, error) {
		in := &s3.ListObjectVersionsInput{Bucket: aws.String(b)}
		if prefix != "" {
			in.Prefix = aws.String(prefix)
		}
		out, err := c.ListObjectVersions(ctx(t), in)
		if err != nil {
			return nil, err
		}
		var ks []string
		for _, v := range out.Versions {
			ks = append(ks, aws.ToString(v.Key))
		}
		return ks, nil
	}
	wantKeys := func(what string, got []string, err error, want ...string) {
		t.Helper()
		if err != nil || strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("%s: %v, %v; want %v", what, got, err, want)
		}
	}
	listV2 := func(c *s3.Client) error {
		_, err := c.ListObjectsV2(ctx(t), &s3.ListObjectsV2Input{Bucket: aws.String(b)})
		return err
	}

	// Without any policy the user may not list versions; the denial names
	// the action and the bucket.
	_, err := versions(user, "")
	wantDenied(t, "user without policies", err, denial{who: userWho, action: "s3:ListBucketVersions", resource: bARN,
		why: "because no identity-based policy allows the s3:ListBucketVersions action"})

	// s3:ListBucket does not grant ListObjectVersions.
	mustPutPolicy(t, root, b, doc(`{"Effect":"Allow","Principal":{"AWS":"`+userARN+`"},"Action":"s3:ListBucket","Resource":"`+bARN+`"}`))
	if err := listV2(user); err != nil {
		t.Fatalf("ListObjectsV2 allowed by s3:ListBucket: %v", err)
	}
	_, err = versions(user, "")
	wantDenied(t, "ListObjectVersions with only s3:ListBucket", err, denial{who: userWho, action: "s3:ListBucketVersions", resource: bARN})

	// A bucket policy allowing s3:ListBucketVersions, under a condition on
	// s3:prefix (and s3:max-keys, which clients send unasked or not at all).
	mustPutPolicy(t, root, b, doc(`{"Effect":"Allow","Principal":{"AWS":"`+userARN+`"},"Action":"s3:ListBucketVersions","Resource":"`+bARN+`",`+
		`"Condition":{"StringEquals":{"s3:prefix":"pub/"},"NumericLessThanEqualsIfExists":{"s3:max-keys":"100"}}}`))
	got, err := versions(user, "pub/")
	wantKeys("allowed by the bucket policy", got, err, "pub/a", "pub/b")
	_, err = versions(user, "priv/")
	wantDenied(t, "prefix the condition does not allow", err, denial{who: userWho, action: "s3:ListBucketVersions", resource: bARN})
	_, err = user.ListObjectVersions(ctx(t), &s3.ListObjectVersionsInput{Bucket: aws.String(b), Prefix: aws.String("pub/"), MaxKeys: aws.Int32(500)})
	wantDenied(t, "max-keys the condition does not allow", err, denial{who: userWho, action: "s3:ListBucketVersions", resource: bARN})
	_, err = user.ListObjectVersions(ctx(t), &s3.ListObjectVersionsInput{Bucket: aws.String(b), Prefix: aws.String("pub/"), MaxKeys: aws.Int32(50)})
	if err != nil {
		t.Fatalf("max-keys 50: %v", err)
	}
	if err := listV2(user); err == nil {
		t.Fatal("s3:ListBucketVersions allowed ListObjectsV2 (s3:ListBucket)")
	}

	// An explicit deny of s3:ListBucketVersions wins over the user's own
	// s3:* allow, and denies nothing else.
	putUserPolicy(t, srv, "lister", "all", doc(`{"Effect":"Allow","Action":"s3:*","Resource":"*"}`))
	mustPutPolicy(t, root, b, doc(`{"Effect":"Deny","Principal":{"AWS":"`+userARN+`"},"Action":"s3:ListBucketVersions","Resource":"`+bARN+`",`+
		`"Condition":{"StringNotEquals":{"s3:delimiter":"/"}}}`))
	_, err = versions(user, "pub/")
	wantDenied(t, "denied by the bucket policy", err, denial{who: userWho, action: "s3:ListBucketVersions", resource: bARN, why: explicitDenyResource})
	if err := listV2(user); err != nil {
		t.Fatalf("ListObjectsV2 under a deny of s3:ListBucketVersions: %v", err)
	}
	// The statement's condition reads s3:delimiter: with "/" it does not apply.
	out, err := user.ListObjectVersions(ctx(t), &s3.ListObjectVersionsInput{Bucket: aws.String(b), Delimiter: aws.String("/")})
	if err != nil || len(out.CommonPrefixes) != 2 {
		t.Fatalf("delimiter / (deny does not apply): %+v, %v", out, err)
	}
	got, err = versions(root, "")
	wantKeys("the root (not named by the deny)", got, err, "priv/c", "pub/a", "pub/b")
}
