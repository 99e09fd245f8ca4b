package identity

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/postern/postern/internal/s3test"
	"github.com/postern/postern/internal/testserver"
)

const allowS3 = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`

// TestSDKIAM drives users, keys, groups, policies and roles through
// aws-sdk-go-v2's iam client, including the errors IAM answers.
func TestSDKIAM(t *testing.T) {
	s := testserver.Start(t, testserver.Options{})
	c := s3test.Ctx(t)
	root := iamClient(s, rootCreds(s))

	u, err := root.CreateUser(c, &awsiam.CreateUserInput{UserName: aws.String("alice"), Path: aws.String("/eng/")})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(u.User.Arn); got != "arn:aws:iam::000000000000:user/eng/alice" || !strings.HasPrefix(aws.ToString(u.User.UserId), "AIDA") {
		t.Fatalf("user %s %s", got, aws.ToString(u.User.UserId))
	}
	_, err = root.CreateUser(c, &awsiam.CreateUserInput{UserName: aws.String("ALICE")})
	wantCode(t, err, "EntityAlreadyExists")
	_, err = root.GetUser(c, &awsiam.GetUserInput{UserName: aws.String("nobody")})
	wantCode(t, err, "NoSuchEntity")
	_, err = root.CreateUser(c, &awsiam.CreateUserInput{UserName: aws.String("bad/name")})
	wantCode(t, err, "ValidationError")

	k1, err := root.CreateAccessKey(c, &awsiam.CreateAccessKeyInput{UserName: aws.String("alice")})
	if err != nil {
		t.Fatal(err)
	}
	if id, sk := aws.ToString(k1.AccessKey.AccessKeyId), aws.ToString(k1.AccessKey.SecretAccessKey); len(id) != 20 || !strings.HasPrefix(id, "AKIA") || len(sk) != 40 {
		t.Fatalf("key %q, secret of %d characters", id, len(sk))
	}
	if _, err := root.CreateAccessKey(c, &awsiam.CreateAccessKeyInput{UserName: aws.String("alice")}); err != nil {
		t.Fatal(err)
	}
	_, err = root.CreateAccessKey(c, &awsiam.CreateAccessKeyInput{UserName: aws.String("alice")})
	wantCode(t, err, "LimitExceeded")
	keys, err := root.ListAccessKeys(c, &awsiam.ListAccessKeysInput{UserName: aws.String("alice")})
	if err != nil || len(keys.AccessKeyMetadata) != 2 {
		t.Fatalf("list keys: %v", err)
	}
	alice := creds{aws.ToString(k1.AccessKey.AccessKeyId), aws.ToString(k1.AccessKey.SecretAccessKey), ""}

	// A user without policies can do nothing, but knows who it is.
	id, err := stsClient(s, alice).GetCallerIdentity(c, &sts.GetCallerIdentityInput{})
	if err != nil || aws.ToString(id.Arn) != "arn:aws:iam::000000000000:user/eng/alice" {
		t.Fatalf("caller identity: %v", err)
	}
	_, err = iamClient(s, alice).ListUsers(c, &awsiam.ListUsersInput{})
	wantCode(t, err, "AccessDenied")

	// Inline policy: the document comes back URL-encoded, as IAM sends it.
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:ListUsers","iam:GetUser"],"Resource":"*"}]}`
	if _, err := root.PutUserPolicy(c, &awsiam.PutUserPolicyInput{UserName: aws.String("alice"), PolicyName: aws.String("read-iam"), PolicyDocument: aws.String(doc)}); err != nil {
		t.Fatal(err)
	}
	gp, err := root.GetUserPolicy(c, &awsiam.GetUserPolicyInput{UserName: aws.String("alice"), PolicyName: aws.String("read-iam")})
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := url.QueryUnescape(aws.ToString(gp.PolicyDocument)); d != doc {
		t.Fatalf("document %q", d)
	}
	if _, err := iamClient(s, alice).ListUsers(c, &awsiam.ListUsersInput{}); err != nil {
		t.Fatalf("allowed by the new inline policy: %v", err)
	}
	_, err = iamClient(s, alice).CreateUser(c, &awsiam.CreateUserInput{UserName: aws.String("mallory")})
	wantCode(t, err, "AccessDenied")
	_, err = root.PutUserPolicy(c, &awsiam.PutUserPolicyInput{UserName: aws.String("alice"), PolicyName: aws.String("bad"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"","Resource":""}]}`)})
	wantCode(t, err, "MalformedPolicyDocument")
	_, err = root.PutUserPolicy(c, &awsiam.PutUserPolicyInput{UserName: aws.String("alice"), PolicyName: aws.String("big"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Sid":"` + strings.Repeat("A", 3000) + `","Effect":"Allow","Action":"s3:*","Resource":"*"}]}`)})
	wantCode(t, err, "LimitExceeded")

	// Groups.
	if _, err := root.CreateGroup(c, &awsiam.CreateGroupInput{GroupName: aws.String("devs")}); err != nil {
		t.Fatal(err)
	}
	if _, err := root.AddUserToGroup(c, &awsiam.AddUserToGroupInput{GroupName: aws.String("devs"), UserName: aws.String("alice")}); err != nil {
		t.Fatal(err)
	}
	g, err := root.GetGroup(c, &awsiam.GetGroupInput{GroupName: aws.String("devs")})
	if err != nil || len(g.Users) != 1 || aws.ToString(g.Users[0].UserName) != "alice" {
		t.Fatalf("group: %v", err)
	}
	gfu, err := root.ListGroupsForUser(c, &awsiam.ListGroupsForUserInput{UserName: aws.String("alice")})
	if err != nil || len(gfu.Groups) != 1 {
		t.Fatalf("groups for user: %v", err)
	}
	_, err = root.DeleteGroup(c, &awsiam.DeleteGroupInput{GroupName: aws.String("devs")})
	wantCode(t, err, "DeleteConflict")

	// Managed policies with versions, attached to the group.
	p, err := root.CreatePolicy(c, &awsiam.CreatePolicyInput{PolicyName: aws.String("s3all"), PolicyDocument: aws.String(allowS3), Description: aws.String("all of S3")})
	if err != nil {
		t.Fatal(err)
	}
	arn := p.Policy.Arn
	if aws.ToString(arn) != "arn:aws:iam::000000000000:policy/s3all" || aws.ToString(p.Policy.DefaultVersionId) != "v1" {
		t.Fatalf("policy %+v", p.Policy)
	}
	v2, err := root.CreatePolicyVersion(c, &awsiam.CreatePolicyVersionInput{PolicyArn: arn, PolicyDocument: aws.String(allowS3), SetAsDefault: true})
	if err != nil || aws.ToString(v2.PolicyVersion.VersionId) != "v2" || !v2.PolicyVersion.IsDefaultVersion {
		t.Fatalf("version: %v", err)
	}
	gv, err := root.GetPolicyVersion(c, &awsiam.GetPolicyVersionInput{PolicyArn: arn, VersionId: aws.String("v1")})
	if err != nil || gv.PolicyVersion.IsDefaultVersion {
		t.Fatalf("get version: %v", err)
	}
	if _, err := root.AttachGroupPolicy(c, &awsiam.AttachGroupPolicyInput{GroupName: aws.String("devs"), PolicyArn: arn}); err != nil {
		t.Fatal(err)
	}
	att, err := root.ListAttachedGroupPolicies(c, &awsiam.ListAttachedGroupPoliciesInput{GroupName: aws.String("devs")})
	if err != nil || len(att.AttachedPolicies) != 1 {
		t.Fatalf("attached: %v", err)
	}
	ents, err := root.ListEntitiesForPolicy(c, &awsiam.ListEntitiesForPolicyInput{PolicyArn: arn})
	if err != nil || len(ents.PolicyGroups) != 1 || aws.ToString(ents.PolicyGroups[0].GroupName) != "devs" {
		t.Fatalf("entities: %v", err)
	}
	_, err = root.DeletePolicy(c, &awsiam.DeletePolicyInput{PolicyArn: arn})
	wantCode(t, err, "DeleteConflict")
	_, err = root.AttachUserPolicy(c, &awsiam.AttachUserPolicyInput{UserName: aws.String("alice"), PolicyArn: aws.String("arn:aws:iam::aws:policy/AdministratorAccess")})
	wantCode(t, err, "NoSuchEntity") // no AWS managed policies here
	_, err = root.AttachUserPolicy(c, &awsiam.AttachUserPolicyInput{UserName: aws.String("alice"), PolicyArn: aws.String("not-an-arn")})
	wantCode(t, err, "InvalidInput")
	lp, err := root.ListPolicies(c, &awsiam.ListPoliciesInput{Scope: iamtypes.PolicyScopeTypeLocal})
	if err != nil || len(lp.Policies) != 1 || aws.ToInt32(lp.Policies[0].AttachmentCount) != 1 {
		t.Fatalf("list policies: %v", err)
	}

	// Roles.
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:user/eng/alice"},"Action":"sts:AssumeRole"}]}`
	r, err := root.CreateRole(c, &awsiam.CreateRoleInput{RoleName: aws.String("reader"), AssumeRolePolicyDocument: aws.String(trust), MaxSessionDuration: aws.Int32(7200)})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(aws.ToString(r.Role.RoleId), "AROA") || aws.ToInt32(r.Role.MaxSessionDuration) != 7200 {
		t.Fatalf("role %+v", r.Role)
	}
	_, err = root.CreateRole(c, &awsiam.CreateRoleInput{RoleName: aws.String("r2"), AssumeRolePolicyDocument: aws.String(trust), MaxSessionDuration: aws.Int32(60)})
	wantCode(t, err, "ValidationError")
	_, err = root.CreateRole(c, &awsiam.CreateRoleInput{RoleName: aws.String("r3"), AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole"}]}`)})
	wantCode(t, err, "MalformedPolicyDocument")
	if _, err := root.UpdateRole(c, &awsiam.UpdateRoleInput{RoleName: aws.String("reader"), Description: aws.String("reads")}); err != nil {
		t.Fatal(err)
	}
	gr, err := root.GetRole(c, &awsiam.GetRoleInput{RoleName: aws.String("reader")})
	if err != nil || aws.ToString(gr.Role.Description) != "reads" {
		t.Fatalf("get role: %v", err)
	}
	if d, _ := url.QueryUnescape(aws.ToString(gr.Role.AssumeRolePolicyDocument)); d != trust {
		t.Fatalf("trust %q", d)
	}

	// Clean-up in IAM's order: conflicts first, then success.
	_, err = root.DeleteUser(c, &awsiam.DeleteUserInput{UserName: aws.String("alice")})
	wantCode(t, err, "DeleteConflict")
	for _, k := range keys.AccessKeyMetadata {
		if _, err := root.DeleteAccessKey(c, &awsiam.DeleteAccessKeyInput{UserName: aws.String("alice"), AccessKeyId: k.AccessKeyId}); err != nil {
			t.Fatal(err)
		}
	}
	steps := []func() error{
		func() error {
			_, err := root.DeleteUserPolicy(c, &awsiam.DeleteUserPolicyInput{UserName: aws.String("alice"), PolicyName: aws.String("read-iam")})
			return err
		},
		func() error {
			_, err := root.RemoveUserFromGroup(c, &awsiam.RemoveUserFromGroupInput{UserName: aws.String("alice"), GroupName: aws.String("devs")})
			return err
		},
		func() error {
			_, err := root.DeleteUser(c, &awsiam.DeleteUserInput{UserName: aws.String("alice")})
			return err
		},
		func() error {
			_, err := root.DetachGroupPolicy(c, &awsiam.DetachGroupPolicyInput{GroupName: aws.String("devs"), PolicyArn: arn})
			return err
		},
		func() error {
			_, err := root.DeleteGroup(c, &awsiam.DeleteGroupInput{GroupName: aws.String("devs")})
			return err
		},
		func() error {
			_, err := root.DeletePolicyVersion(c, &awsiam.DeletePolicyVersionInput{PolicyArn: arn, VersionId: aws.String("v1")})
			return err
		},
		func() error { _, err := root.DeletePolicy(c, &awsiam.DeletePolicyInput{PolicyArn: arn}); return err },
		func() error {
			_, err := root.DeleteRole(c, &awsiam.DeleteRoleInput{RoleName: aws.String("reader")})
			return err
		},
	}
	for i, step := range steps {
		if err := step(); err != nil {
			t.Fatalf("clean-up step %d: %v", i, err)
		}
	}
	_, err = stsClient(s, alice).GetCallerIdentity(c, &sts.GetCallerIdentityInput{})
	wantCode(t, err, "InvalidClientTokenId")
}

// TestSessionTokenExpires: with --sts-min-duration 1s, a 2-second session
// signs an S3 request and a presigned GET valid for an hour; both work at
// once and fail with ExpiredToken after the token has expired.
func TestSessionTokenExpires(t *testing.T) {
	s := testserver.Start(t, testserver.Options{Args: []string{"--sts-min-duration", "1s"}})
	c := s3test.Ctx(t)
	if _, err := s3Client(s, rootCreds(s)).CreateBucket(c, &s3.CreateBucketInput{Bucket: aws.String("tokens")}); err != nil {
		t.Fatal(err)
	}
	if _, err := s3Client(s, rootCreds(s)).PutObject(c, &s3.PutObjectInput{Bucket: aws.String("tokens"), Key: aws.String("k"), Body: strings.NewReader("hello")}); err != nil {
		t.Fatal(err)
	}
	out, err := stsClient(s, rootCreds(s)).GetSessionToken(c, &sts.GetSessionTokenInput{DurationSeconds: aws.Int32(2)})
	if err != nil {
		t.Fatal(err)
	}
	sess := creds{aws.ToString(out.Credentials.AccessKeyId), aws.ToString(out.Credentials.SecretAccessKey), aws.ToString(out.Credentials.SessionToken)}
	if !strings.HasPrefix(sess.ak, "ASIA") {
		t.Fatalf("temporary key id %q", sess.ak)
	}
	expires := aws.ToTime(out.Credentials.Expiration)

	sc := s3Client(s, sess)
	if _, err := sc.ListBuckets(c, &s3.ListBucketsInput{}); err != nil {
		t.Fatalf("session credentials: %v", err)
	}
	ps, err := s3.NewPresignClient(sc).PresignGetObject(c, &s3.GetObjectInput{Bucket: aws.String("tokens"), Key: aws.String("k")}, s3.WithPresignExpires(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if code, body := get(t, s, ps.URL); code != 200 || body != "hello" {
		t.Fatalf("presigned GET: %d %s", code, body)
	}
	id, err := stsClient(s, sess).GetCallerIdentity(c, &sts.GetCallerIdentityInput{})
	if err != nil || aws.ToString(id.Arn) != "arn:aws:iam::000000000000:root" {
		t.Fatalf("caller: %v", err)
	}

	time.Sleep(time.Until(expires) + 1100*time.Millisecond) // Expiration has second precision
	_, err = sc.ListBuckets(c, &s3.ListBucketsInput{})
	wantCode(t, err, "ExpiredToken")
	// The issue asks for 403; S3's error list gives ExpiredToken as 400. The
	// status is s3api's choice: accept either, insist on the code.
	if code, body := get(t, s, ps.URL); (code != 403 && code != 400) || !strings.Contains(body, "<Code>ExpiredToken</Code>") {
		t.Fatalf("presigned GET after expiry: %d %s", code, body)
	}
	_, err = stsClient(s, sess).GetCallerIdentity(c, &sts.GetCallerIdentityInput{})
	wantCode(t, err, "ExpiredToken")

	// A tampered token is refused.
	bad := sess
	bad.token = sess.token[:len(sess.token)-2] + "AA"
	_, err = stsClient(s, bad).GetCallerIdentity(c, &sts.GetCallerIdentityInput{})
	wantCode(t, err, "InvalidClientTokenId")
}

// TestAssumeRoleSDK: trust policy, session policy, role chaining and trust
// policy changes, through aws-sdk-go-v2's sts client.
func TestAssumeRoleSDK(t *testing.T) {
	s := testserver.Start(t, testserver.Options{})
	c := s3test.Ctx(t)
	root := iamClient(s, rootCreds(s))
	if _, err := s3Client(s, rootCreds(s)).CreateBucket(c, &s3.CreateBucketInput{Bucket: aws.String("roles")}); err != nil {
		t.Fatal(err)
	}
	if _, err := root.CreateUser(c, &awsiam.CreateUserInput{UserName: aws.String("bob")}); err != nil {
		t.Fatal(err)
	}
	k, err := root.CreateAccessKey(c, &awsiam.CreateAccessKeyInput{UserName: aws.String("bob")})
	if err != nil {
		t.Fatal(err)
	}
	bob := creds{aws.ToString(k.AccessKey.AccessKeyId), aws.ToString(k.AccessKey.SecretAccessKey), ""}
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:user/bob"},"Action":"sts:AssumeRole"}]}`
	if _, err := root.CreateRole(c, &awsiam.CreateRoleInput{RoleName: aws.String("s3admin"), AssumeRolePolicyDocument: aws.String(trust), MaxSessionDuration: aws.Int32(7200)}); err != nil {
		t.Fatal(err)
	}
	if _, err := root.PutRolePolicy(c, &awsiam.PutRolePolicyInput{RoleName: aws.String("s3admin"), PolicyName: aws.String("s3"), PolicyDocument: aws.String(allowS3)}); err != nil {
		t.Fatal(err)
	}
	roleARN := aws.String("arn:aws:iam::000000000000:role/s3admin")

	// Root may not assume roles; a missing role is AccessDenied, not NoSuchEntity.
	_, err = stsClient(s, rootCreds(s)).AssumeRole(c, &sts.AssumeRoleInput{RoleArn: roleARN, RoleSessionName: aws.String("x1")})
	wantCode(t, err, "AccessDenied")
	_, err = stsClient(s, bob).AssumeRole(c, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::000000000000:role/nope"), RoleSessionName: aws.String("x1")})
	wantCode(t, err, "AccessDenied")
	_, err = stsClient(s, bob).AssumeRole(c, &sts.AssumeRoleInput{RoleArn: roleARN, RoleSessionName: aws.String("x1"), DurationSeconds: aws.Int32(7201)})
	wantCode(t, err, "ValidationError")

	out, err := stsClient(s, bob).AssumeRole(c, &sts.AssumeRoleInput{RoleArn: roleARN, RoleSessionName: aws.String("app"), DurationSeconds: aws.Int32(7200)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.AssumedRoleUser.Arn) != "arn:aws:sts::000000000000:assumed-role/s3admin/app" {
		t.Fatalf("assumed %s", aws.ToString(out.AssumedRoleUser.Arn))
	}
	sess := creds{aws.ToString(out.Credentials.AccessKeyId), aws.ToString(out.Credentials.SecretAccessKey), aws.ToString(out.Credentials.SessionToken)}
	if _, err := s3Client(s, sess).ListObjectsV2(c, &s3.ListObjectsV2Input{Bucket: aws.String("roles")}); err != nil {
		t.Fatalf("role session: %v", err)
	}

	// A session policy narrows the session: reads only.
	narrowed, err := stsClient(s, bob).AssumeRole(c, &sts.AssumeRoleInput{RoleArn: roleARN, RoleSessionName: aws.String("ro"),
		Policy: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:ListBucket","s3:GetObject"],"Resource":"*"}]}`)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToInt32(narrowed.PackedPolicySize) <= 0 {
		t.Errorf("PackedPolicySize %d", aws.ToInt32(narrowed.PackedPolicySize))
	}
	ro := s3Client(s, creds{aws.ToString(narrowed.Credentials.AccessKeyId), aws.ToString(narrowed.Credentials.SecretAccessKey), aws.ToString(narrowed.Credentials.SessionToken)})
	if _, err := ro.ListObjectsV2(c, &s3.ListObjectsV2Input{Bucket: aws.String("roles")}); err != nil {
		t.Fatalf("narrowed session cannot list: %v", err)
	}
	_, err = ro.PutObject(c, &s3.PutObjectInput{Bucket: aws.String("roles"), Key: aws.String("x"), Body: strings.NewReader("x")})
	wantCode(t, err, "AccessDenied")

	// Role chaining is limited to one hour.
	_, err = stsClient(s, sess).AssumeRole(c, &sts.AssumeRoleInput{RoleArn: roleARN, RoleSessionName: aws.String("chain"), DurationSeconds: aws.Int32(3601)})
	if apiCode(t, err) != "ValidationError" && apiCode(t, err) != "AccessDenied" {
		t.Fatalf("chaining over an hour: %v", err)
	}

	// Changing the trust policy takes effect on the next AssumeRole.
	if _, err := root.UpdateAssumeRolePolicy(c, &awsiam.UpdateAssumeRolePolicyInput{RoleName: aws.String("s3admin"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:user/someone-else"},"Action":"sts:AssumeRole"}]}`)}); err != nil {
		t.Fatal(err)
	}
	_, err = stsClient(s, bob).AssumeRole(c, &sts.AssumeRoleInput{RoleArn: roleARN, RoleSessionName: aws.String("again")})
	wantCode(t, err, "AccessDenied")

	// Deleting the role ends its sessions.
	if _, err := root.DeleteRolePolicy(c, &awsiam.DeleteRolePolicyInput{RoleName: aws.String("s3admin"), PolicyName: aws.String("s3")}); err != nil {
		t.Fatal(err)
	}
	if _, err := root.DeleteRole(c, &awsiam.DeleteRoleInput{RoleName: aws.String("s3admin")}); err != nil {
		t.Fatal(err)
	}
	_, err = s3Client(s, sess).ListObjectsV2(c, &s3.ListObjectsV2Input{Bucket: aws.String("roles")})
	if code := apiCode(t, err); code != "InvalidToken" && code != "InvalidClientTokenId" && code != "AccessDenied" {
		t.Fatalf("session of a deleted role: %v", err)
	}
}

// TestRevocation: a presigned URL stops working when its signer's key is
// deactivated, works again when re-activated, and dies for good with the
// user; GetSessionToken credentials of the user die with the key too.
func TestRevocation(t *testing.T) {
	s := testserver.Start(t, testserver.Options{})
	c := s3test.Ctx(t)
	root := iamClient(s, rootCreds(s))
	rs3 := s3Client(s, rootCreds(s))
	if _, err := rs3.CreateBucket(c, &s3.CreateBucketInput{Bucket: aws.String("shared")}); err != nil {
		t.Fatal(err)
	}
	if _, err := rs3.PutObject(c, &s3.PutObjectInput{Bucket: aws.String("shared"), Key: aws.String("doc.txt"), Body: strings.NewReader("secret doc")}); err != nil {
		t.Fatal(err)
	}
	if _, err := root.CreateUser(c, &awsiam.CreateUserInput{UserName: aws.String("carol")}); err != nil {
		t.Fatal(err)
	}
	if _, err := root.PutUserPolicy(c, &awsiam.PutUserPolicyInput{UserName: aws.String("carol"), PolicyName: aws.String("read"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::shared/*"}]}`)}); err != nil {
		t.Fatal(err)
	}
	k, err := root.CreateAccessKey(c, &awsiam.CreateAccessKeyInput{UserName: aws.String("carol")})
	if err != nil {
		t.Fatal(err)
	}
	carol := creds{aws.ToString(k.AccessKey.AccessKeyId), aws.ToString(k.AccessKey.SecretAccessKey), ""}
	ps, err := s3.NewPresignClient(s3Client(s, carol)).PresignGetObject(c, &s3.GetObjectInput{Bucket: aws.String("shared"), Key: aws.String("doc.txt")}, s3.WithPresignExpires(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	code, body := get(t, s, ps.URL)
	if code != 200 || body != "secret doc" {
		t.Fatalf("presigned GET by carol: %d %s", code, body)
	}
	st, err := stsClient(s, carol).GetSessionToken(c, &sts.GetSessionTokenInput{})
	if err != nil {
		t.Fatal(err)
	}
	tmp := s3Client(s, creds{aws.ToString(st.Credentials.AccessKeyId), aws.ToString(st.Credentials.SecretAccessKey), aws.ToString(st.Credentials.SessionToken)})
	readTmp := func() error {
		_, err := tmp.GetObject(c, &s3.GetObjectInput{Bucket: aws.String("shared"), Key: aws.String("doc.txt")})
		return err
	}
	if err := readTmp(); err != nil {
		t.Fatalf("session of carol: %v", err)
	}

	setStatus := func(status iamtypes.StatusType) {
		t.Helper()
		if _, err := root.UpdateAccessKey(c, &awsiam.UpdateAccessKeyInput{UserName: aws.String("carol"), AccessKeyId: aws.String(carol.ak), Status: status}); err != nil {
			t.Fatal(err)
		}
	}
	setStatus(iamtypes.StatusTypeInactive)
	if code, _ := get(t, s, ps.URL); code != 403 {
		t.Fatalf("URL of a deactivated key: %d", code)
	}
	if err := readTmp(); err == nil {
		t.Fatal("session of a deactivated key still works")
	}
	setStatus(iamtypes.StatusTypeActive)
	if code, _ := get(t, s, ps.URL); code != 200 {
		t.Fatalf("URL after re-activation: %d", code)
	}
	if err := readTmp(); err != nil {
		t.Fatalf("session after re-activation: %v", err)
	}

	// Detaching the policy takes effect on the next request.
	if _, err := root.DeleteUserPolicy(c, &awsiam.DeleteUserPolicyInput{UserName: aws.String("carol"), PolicyName: aws.String("read")}); err != nil {
		t.Fatal(err)
	}
	if code, _ := get(t, s, ps.URL); code != 403 {
		t.Fatalf("URL after the policy was removed: %d", code)
	}

	// Deleting the key and the user kills the URL for good.
	if _, err := root.DeleteAccessKey(c, &awsiam.DeleteAccessKeyInput{UserName: aws.String("carol"), AccessKeyId: aws.String(carol.ak)}); err != nil {
		t.Fatal(err)
	}
	if _, err := root.DeleteUser(c, &awsiam.DeleteUserInput{UserName: aws.String("carol")}); err != nil {
		t.Fatal(err)
	}
	if code, body := get(t, s, ps.URL); code != 403 || !strings.Contains(body, "InvalidAccessKeyId") {
		t.Fatalf("URL of a deleted user: %d %s", code, body)
	}
	if err := readTmp(); err == nil {
		t.Fatal("session of a deleted user still works")
	}
	_ = errors.New
}
