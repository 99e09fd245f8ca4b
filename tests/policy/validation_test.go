package policye2e

import (
	"github.com/postern/postern/internal/s3test"

	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// sizedPolicy returns a valid deny-only policy for bucket whose size as AWS
// counts it (characters other than white space) is just above or below n.
func sizedPolicy(bucket string, n int, above bool) string {
	var stmts []string
	size := len(doc())
	for i := 0; ; i++ {
		s := fmt.Sprintf(`{"Sid":"S%05d","Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::%s/p%05d/*"}`, i, bucket, i)
		next := size + len(s) + 1
		if !above && next > n {
			break
		}
		stmts = append(stmts, s)
		size = next
		if above && size > n {
			break
		}
	}
	return doc(stmts...)
}

func TestBucketPolicyValidation(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	c := sdk(t, srv, clientOpts{})
	b := s3test.NewBucket(t, c, "valid")

	stmt := func(extra string) string {
		return `{"Sid":"S1","Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::` + b + `/*"` + extra + `}`
	}
	over := sizedPolicy(b, 20480, true)
	if len(over) <= 20480 || strings.ContainsAny(over, " \n\t") {
		t.Fatalf("test bug: oversized policy is %d bytes", len(over))
	}
	cases := []struct {
		name   string
		policy string
		want   []string // the message must contain each (case-insensitive)
		cli    bool     // also through the aws CLI
	}{
		{"malformed JSON", `{"Version":"2012-10-17","Statement":[`, []string{"JSON"}, true},
		{"not an object", `["Version"]`, []string{"JSON"}, false},
		{"unknown operator", doc(stmt(`,"Condition":{"StringEqualz":{"aws:UserAgent":"curl"}}`)), []string{"StringEqualz"}, true},
		{"invalid CIDR", doc(stmt(`,"Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.300/8"}}`)), []string{"10.0.0.300/8"}, true},
		{"empty Action", doc(`{"Sid":"S1","Effect":"Deny","Principal":"*","Action":"","Resource":"arn:aws:s3:::` + b + `/*"}`), []string{"action"}, true},
		{"empty Resource", doc(`{"Sid":"S1","Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":""}`), []string{"resource"}, false},
		{"invalid Effect", doc(`{"Effect":"Permit","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::` + b + `/*"}`), []string{"Permit"}, false},
		{"invalid Version", `{"Version":"2012-10-18","Statement":[` + stmt("") + `]}`, []string{"2012-10-18"}, false},
		{"missing Principal", doc(`{"Effect":"Deny","Action":"s3:GetObject","Resource":"arn:aws:s3:::` + b + `/*"}`), []string{"Principal"}, false},
		{"invalid resource ARN", doc(`{"Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"` + b + `/*"}`), []string{"resource"}, false},
		// S3 accepts only resources of the bucket the policy is attached to.
		{"resource of another bucket", doc(`{"Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::some-other-bucket/*"}`), []string{"resource"}, false},
		{"over 20 KB", over, []string{"size"}, true},
	}
	// Each case through the SDK (status, code, message) and, for the main
	// ones, through the aws CLI (code and message as a user sees them).
	dir := t.TempDir()
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := putPolicy(t, c, b, tc.policy)
			if err == nil {
				mustDeletePolicy(t, c, b)
				t.Fatalf("PutBucketPolicy accepted the policy, want 400 MalformedPolicy")
			}
			st, code, msg := s3test.APIErr(err)
			if st != http.StatusBadRequest || code != "MalformedPolicy" {
				t.Errorf("SDK: got %d %s (%q), want 400 MalformedPolicy", st, code, msg)
			}
			for _, w := range tc.want {
				if !strings.Contains(strings.ToLower(msg), strings.ToLower(w)) {
					t.Errorf("SDK: message %q does not name the problem (want it to mention %q)", msg, w)
				}
			}
			if !tc.cli {
				return // the CLI is slow to start: only the main cases
			}
			f := filepath.Join(dir, fmt.Sprintf("p%d.json", i))
			os.WriteFile(f, []byte(tc.policy), 0o600)
			_, stderr, exit := awsCLI(t, srv, "s3api", "put-bucket-policy", "--bucket", b, "--policy", "file://"+f)
			if exit == 0 {
				mustDeletePolicy(t, c, b)
				t.Fatalf("aws s3api put-bucket-policy accepted the policy, want MalformedPolicy")
			}
			ec, cmsg := cliError(stderr)
			if ec != "MalformedPolicy" {
				t.Errorf("aws CLI: %q, want MalformedPolicy", strings.TrimSpace(stderr))
			}
			for _, w := range tc.want {
				if !strings.Contains(strings.ToLower(cmsg), strings.ToLower(w)) {
					t.Errorf("aws CLI shows %q, which does not mention %q", cmsg, w)
				}
			}
		})
	}
	// Nothing was stored by the rejected attempts.
	_, err := c.GetBucketPolicy(ctx(t), &s3.GetBucketPolicyInput{Bucket: aws.String(b)})
	wantErr(t, "GetBucketPolicy after rejected policies", err, http.StatusNotFound, "NoSuchBucketPolicy")

	t.Run("just under 20 KB is accepted", func(t *testing.T) {
		under := sizedPolicy(b, 20480, false)
		if len(under) > 20480 || len(under) < 20000 {
			t.Fatalf("test bug: policy is %d bytes", len(under))
		}
		mustPutPolicy(t, c, b, under)
		out, err := c.GetBucketPolicy(ctx(t), &s3.GetBucketPolicyInput{Bucket: aws.String(b)})
		if err != nil || aws.ToString(out.Policy) != under {
			t.Fatalf("GetBucketPolicy: %v; round trip equal: %v", err, err == nil && aws.ToString(out.Policy) == under)
		}
		mustDeletePolicy(t, c, b)
	})

	t.Run("round trip with the CLI", func(t *testing.T) {
		// Indented, as people write them: returned exactly as stored.
		pol := "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {\n      \"Sid\": \"OnlyFromProxy\",\n      \"Effect\": \"Allow\",\n      \"Principal\": \"*\",\n      \"Action\": [\"s3:GetObject\", \"s3:ListBucket\"],\n      \"Resource\": [\"arn:aws:s3:::" + b + "\", \"arn:aws:s3:::" + b + "/*\"],\n      \"Condition\": {\"IpAddress\": {\"aws:SourceIp\": [\"127.0.0.2/32\", \"::1/128\"]}}\n    }\n  ]\n}\n"
		f := filepath.Join(t.TempDir(), "policy.json")
		os.WriteFile(f, []byte(pol), 0o600)
		if _, stderr, code := awsCLI(t, srv, "s3api", "put-bucket-policy", "--bucket", b, "--policy", "file://"+f); code != 0 {
			t.Fatalf("put-bucket-policy of a policy narrowed to source addresses (not public, so allowed under Block Public Access): %s", stderr)
		}
		out, stderr, code := awsCLI(t, srv, "s3api", "get-bucket-policy", "--bucket", b)
		if code != 0 {
			t.Fatalf("get-bucket-policy: %s", stderr)
		}
		var got struct{ Policy string }
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("get-bucket-policy output %q: %v", out, err)
		}
		if got.Policy != pol {
			t.Errorf("get-bucket-policy returned %q, want the document as put: %q", got.Policy, pol)
		}
		out, stderr, code = awsCLI(t, srv, "s3api", "get-bucket-policy-status", "--bucket", b)
		if code != 0 {
			t.Fatalf("get-bucket-policy-status: %s", stderr)
		}
		var st struct{ PolicyStatus struct{ IsPublic *bool } }
		if err := json.Unmarshal([]byte(out), &st); err != nil || st.PolicyStatus.IsPublic == nil {
			t.Fatalf("get-bucket-policy-status output %q: %v", out, err)
		}
		if *st.PolicyStatus.IsPublic {
			t.Errorf("IsPublic = true for a policy restricted to source addresses /32 and /128, want false")
		}

		if _, stderr, code := awsCLI(t, srv, "s3api", "delete-bucket-policy", "--bucket", b); code != 0 {
			t.Fatalf("delete-bucket-policy: %s", stderr)
		}
		_, stderr, code = awsCLI(t, srv, "s3api", "get-bucket-policy", "--bucket", b)
		if ec, _ := cliError(stderr); code == 0 || ec != "NoSuchBucketPolicy" {
			t.Errorf("get-bucket-policy after delete-bucket-policy: exit %d, %q; want NoSuchBucketPolicy", code, stderr)
		}
		_, err := c.GetBucketPolicy(ctx(t), &s3.GetBucketPolicyInput{Bucket: aws.String(b)})
		wantErr(t, "GetBucketPolicy after DeleteBucketPolicy", err, http.StatusNotFound, "NoSuchBucketPolicy")
		_, err = c.GetBucketPolicyStatus(ctx(t), &s3.GetBucketPolicyStatusInput{Bucket: aws.String(b)})
		wantErr(t, "GetBucketPolicyStatus without a policy", err, http.StatusNotFound, "NoSuchBucketPolicy")
	})

	t.Run("IsPublic", func(t *testing.T) {
		// Block Public Access off, so that public policies may be stored.
		if _, err := c.DeletePublicAccessBlock(ctx(t), &s3.DeletePublicAccessBlockInput{Bucket: aws.String(b)}); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name   string
			policy string
			public bool
		}{
			{"deny to everyone", doc(stmt("")), false},
			{"allow to everyone", doc(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::` + b + `/*"}`), true},
			{"allow to AWS *", doc(`{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::` + b + `/*"}`), true},
			{"allow to everyone from a /8", doc(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::` + b + `/*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}`), false},
			{"allow to everyone from a /7", doc(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::` + b + `/*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/7"}}}`), true},
			{"allow to everyone through a VPC endpoint", doc(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::` + b + `/*","Condition":{"StringEquals":{"aws:SourceVpce":"vpce-222"}}}`), false},
			{"allow to one account", doc(`{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::` + b + `/*"}`), false},
			{"allow to everyone with an unrestricting condition", doc(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::` + b + `/*","Condition":{"Bool":{"aws:SecureTransport":"true"}}}`), true},
		} {
			mustPutPolicy(t, c, b, tc.policy)
			out, err := c.GetBucketPolicyStatus(ctx(t), &s3.GetBucketPolicyStatusInput{Bucket: aws.String(b)})
			if err != nil {
				t.Fatalf("%s: GetBucketPolicyStatus: %v", tc.name, err)
			}
			if got := aws.ToBool(out.PolicyStatus.IsPublic); got != tc.public {
				t.Errorf("%s: IsPublic = %v, want %v", tc.name, got, tc.public)
			}
		}
		mustDeletePolicy(t, c, b)
	})
}
