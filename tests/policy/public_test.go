package policye2e

import (
	"github.com/postern/postern/internal/s3test"

	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

type pabConfig struct {
	BlockPublicAcls, IgnorePublicAcls, BlockPublicPolicy, RestrictPublicBuckets bool
}

// getPAB reads the bucket's Block Public Access settings with the aws CLI;
// ok is false for NoSuchPublicAccessBlockConfiguration.
func getPAB(t *testing.T, run func(args ...string) (string, string, int), b string) (pabConfig, bool) {
	t.Helper()
	out, stderr, code := run("s3api", "get-public-access-block", "--bucket", b)
	if code != 0 {
		if ec, _ := cliError(stderr); ec == "NoSuchPublicAccessBlockConfiguration" {
			return pabConfig{}, false
		}
		t.Fatalf("get-public-access-block: %s", stderr)
	}
	var v struct{ PublicAccessBlockConfiguration *pabConfig }
	if err := json.Unmarshal([]byte(out), &v); err != nil || v.PublicAccessBlockConfiguration == nil {
		t.Fatalf("get-public-access-block output %q: %v", out, err)
	}
	return *v.PublicAccessBlockConfiguration, true
}

func TestPublicAccess(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	root := sdk(t, srv, clientOpts{})
	anon := sdk(t, srv, clientOpts{anonymous: true})
	cli := func(args ...string) (string, string, int) { return awsCLI(t, srv, args...) }
	b := s3test.NewBucket(t, root, "public")
	body := []byte("for everyone")
	mustPut(t, root, b, "pub.txt", body)
	objURL := srv.URL + "/" + b + "/pub.txt"
	anonWho := regexp.MustCompile(`^Anonymous`)
	public := doc(`{"Sid":"PublicRead","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::` + b + `/*"}`)
	putPAB := func(c pabConfig) {
		t.Helper()
		arg := "BlockPublicAcls=" + bs(c.BlockPublicAcls) + ",IgnorePublicAcls=" + bs(c.IgnorePublicAcls) +
			",BlockPublicPolicy=" + bs(c.BlockPublicPolicy) + ",RestrictPublicBuckets=" + bs(c.RestrictPublicBuckets)
		if _, stderr, code := cli("s3api", "put-public-access-block", "--bucket", b, "--public-access-block-configuration", arg); code != 0 {
			t.Fatalf("put-public-access-block %s: %s", arg, stderr)
		}
		got, ok := getPAB(t, cli, b)
		if !ok || got != c {
			t.Fatalf("get-public-access-block after put %+v: got %+v (found %v)", c, got, ok)
		}
	}
	anonGet := func(what string, want int) {
		t.Helper()
		r := curl(t, ip1, "GET", objURL)
		if r.status != want {
			t.Fatalf("%s: anonymous curl GET: got %v, want %d", what, r, want)
		}
		if want == http.StatusOK && string(r.body) != string(body) {
			t.Fatalf("%s: anonymous GET body %q", what, r.body)
		}
		if want == http.StatusForbidden {
			if r.code != "AccessDenied" {
				t.Fatalf("%s: anonymous GET: got %v, want AccessDenied", what, r)
			}
			checkDenialMessage(t, what, r.msg, denial{who: anonWho, action: "s3:GetObject", resource: objARN(b, "pub.txt")})
		}
	}

	// New buckets block public access entirely.
	if got, ok := getPAB(t, cli, b); !ok || got != (pabConfig{true, true, true, true}) {
		t.Fatalf("new bucket's public access block: %+v (found %v), want all four on", got, ok)
	}
	out, err := root.GetPublicAccessBlock(ctx(t), &s3.GetPublicAccessBlockInput{Bucket: aws.String(b)})
	if err != nil {
		t.Fatalf("SDK GetPublicAccessBlock: %v", err)
	}
	if c := out.PublicAccessBlockConfiguration; !aws.ToBool(c.BlockPublicAcls) || !aws.ToBool(c.IgnorePublicAcls) || !aws.ToBool(c.BlockPublicPolicy) || !aws.ToBool(c.RestrictPublicBuckets) {
		t.Fatalf("SDK GetPublicAccessBlock of a new bucket: %+v, want all true", c)
	}
	anonGet("no policy", http.StatusForbidden)

	// A public policy is refused while BlockPublicPolicy is on.
	err = putPolicy(t, root, b, public)
	msg := wantErr(t, "PutBucketPolicy of a public policy under BlockPublicPolicy", err, http.StatusForbidden, "AccessDenied")
	if !strings.Contains(msg, "BlockPublicPolicy") || !strings.Contains(msg, "s3:PutBucketPolicy") {
		t.Errorf("refusal message %q should name s3:PutBucketPolicy and the BlockPublicPolicy setting", msg)
	}
	_, stderr, code := cli("s3api", "put-bucket-policy", "--bucket", b, "--policy", public)
	if ec, _ := cliError(stderr); code == 0 || ec != "AccessDenied" {
		t.Errorf("aws s3api put-bucket-policy of a public policy under BlockPublicPolicy: exit %d %q, want AccessDenied", code, stderr)
	}
	_, err = root.GetBucketPolicy(ctx(t), &s3.GetBucketPolicyInput{Bucket: aws.String(b)})
	wantErr(t, "GetBucketPolicy after the refused public policy", err, http.StatusNotFound, "NoSuchBucketPolicy")
	anonGet("refused public policy", http.StatusForbidden)

	// Removing the block makes public grants possible.
	if _, stderr, code := cli("s3api", "delete-public-access-block", "--bucket", b); code != 0 {
		t.Fatalf("delete-public-access-block: %s", stderr)
	}
	if got, ok := getPAB(t, cli, b); ok {
		t.Fatalf("get-public-access-block after delete: %+v, want NoSuchPublicAccessBlockConfiguration", got)
	}
	mustPutPolicy(t, root, b, public)
	st, err := root.GetBucketPolicyStatus(ctx(t), &s3.GetBucketPolicyStatusInput{Bucket: aws.String(b)})
	if err != nil || !aws.ToBool(st.PolicyStatus.IsPublic) {
		t.Fatalf("GetBucketPolicyStatus of a public policy: %v, IsPublic %v; want true", err, st != nil && aws.ToBool(st.PolicyStatus.IsPublic))
	}
	anonGet("public policy, no block", http.StatusOK)
	mustGet(t, anon, b, "pub.txt", body)
	wantOK(t, "anonymous net/http GET", do(t, httpFrom(ip2), "GET", objURL, nil, nil), body)
	// Only what the policy grants: no anonymous uploads or listings.
	err = putObject(anon, t, b, "anon-upload", []byte("x"))
	wantDenied(t, "anonymous PutObject", err, denial{who: anonWho, action: "s3:PutObject", resource: objARN(b, "anon-upload")})
	_, err = anon.ListObjectsV2(ctx(t), &s3.ListObjectsV2Input{Bucket: aws.String(b)})
	wantDenied(t, "anonymous ListObjectsV2", err, denial{who: anonWho, action: "s3:ListBucket", resource: bucketARN(b)})

	// RestrictPublicBuckets alone blocks the existing public grant again.
	putPAB(pabConfig{RestrictPublicBuckets: true})
	anonGet("RestrictPublicBuckets on", http.StatusForbidden)
	_, err = s3test.GetObject(ctx(t), anon, b, "pub.txt")
	wantDenied(t, "anonymous SDK GetObject under RestrictPublicBuckets", err, denial{who: anonWho, action: "s3:GetObject", resource: objARN(b, "pub.txt")})
	mustGet(t, root, b, "pub.txt", body) // the owner is not affected

	// All off: public again, and a public policy may be put anew.
	putPAB(pabConfig{})
	anonGet("all settings off", http.StatusOK)
	mustDeletePolicy(t, root, b)
	anonGet("all settings off, policy deleted", http.StatusForbidden)
	mustPutPolicy(t, root, b, public)
	anonGet("all settings off, public policy put again", http.StatusOK)

	// BlockPublicPolicy does not touch the policy already in place, but
	// refuses new public ones.
	putPAB(pabConfig{BlockPublicPolicy: true})
	anonGet("BlockPublicPolicy on, existing public policy", http.StatusOK)
	err = putPolicy(t, root, b, doc(`{"Sid":"PublicRead2","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::`+b+`/*"}`))
	wantErr(t, "PutBucketPolicy of another public policy under BlockPublicPolicy", err, http.StatusForbidden, "AccessDenied")

	// Back to the default: everything on.
	if _, err := root.PutPublicAccessBlock(ctx(t), &s3.PutPublicAccessBlockInput{Bucket: aws.String(b), PublicAccessBlockConfiguration: &types.PublicAccessBlockConfiguration{
		BlockPublicAcls: aws.Bool(true), IgnorePublicAcls: aws.Bool(true), BlockPublicPolicy: aws.Bool(true), RestrictPublicBuckets: aws.Bool(true),
	}}); err != nil {
		t.Fatalf("SDK PutPublicAccessBlock: %v", err)
	}
	anonGet("all settings on", http.StatusForbidden)
}

func bs(v bool) string {
	if v {
		return "true"
	}
	return "false"
}
