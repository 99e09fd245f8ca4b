package policy

import (
	"strings"
	"testing"
)

const (
	objRes = "arn:aws:s3:::b/k"
	get    = "s3:GetObject"
)

func bucketPolicy(t *testing.T, stmts ...string) *Policy {
	t.Helper()
	return mustParse(t, `{"Version":"2012-10-17","Statement":[`+strings.Join(stmts, ",")+`]}`, Resource)
}

func identityPolicy(t *testing.T, stmts ...string) *Policy {
	t.Helper()
	return mustParse(t, `{"Version":"2012-10-17","Statement":[`+strings.Join(stmts, ",")+`]}`, Identity)
}

func TestEvaluateMatrix(t *testing.T) {
	idAllow := identityPolicy(t, `{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}`)
	idDeny := identityPolicy(t, `{"Sid":"NoGet","Effect":"Deny","Action":"s3:Get*","Resource":"*"}`)
	idOther := identityPolicy(t, `{"Effect":"Allow","Action":"s3:PutObject","Resource":"*"}`)
	sessAllow := identityPolicy(t, `{"Effect":"Allow","Action":"s3:*","Resource":"*"}`)
	sessOther := identityPolicy(t, `{"Effect":"Allow","Action":"s3:PutObject","Resource":"*"}`)
	sessDeny := identityPolicy(t, `{"Effect":"Deny","Action":"s3:GetObject","Resource":"*"}`)
	bpAlice := bucketPolicy(t, `{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/alice"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}`)
	bpBobAcct := bucketPolicy(t, `{"Effect":"Allow","Principal":{"AWS":"444455556666"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}`)
	bpBobRootARN := bucketPolicy(t, `{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::444455556666:root"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}`)
	bpPublic := bucketPolicy(t, `{"Sid":"Public","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}`)
	bpAWSStar := bucketPolicy(t, `{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}`)
	bpDenyAll := bucketPolicy(t, `{"Sid":"DenyAll","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::b/*"}`)
	bpRole := bucketPolicy(t, `{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/Reader"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}`)
	bpSession := bucketPolicy(t, `{"Effect":"Allow","Principal":{"AWS":"arn:aws:sts::111122223333:assumed-role/Reader/s1"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}`)
	bpOtherSession := bucketPolicy(t, `{"Effect":"Allow","Principal":{"AWS":"arn:aws:sts::111122223333:assumed-role/Reader/s2"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}`)
	bpAcctA := bucketPolicy(t, `{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}`)
	bpRootARNA := bucketPolicy(t, `{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}`)
	bpDenyAcctA := bucketPolicy(t, `{"Effect":"Deny","Principal":{"AWS":"111122223333"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}`)
	bpNotAlice := bucketPolicy(t, `{"Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:iam::111122223333:user/alice"},"Action":"s3:*","Resource":"arn:aws:s3:::b/*"}`)
	bpNotReaderRole := bucketPolicy(t, `{"Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:iam::111122223333:role/Reader"},"Action":"s3:*","Resource":"arn:aws:s3:::b/*"}`)

	cases := []struct {
		name     string
		p        Principal
		resAcct  string
		in       Input
		allowed  bool
		explicit bool
		denyIn   string
	}{
		{"default deny", alice, acctA, Input{}, false, false, InIdentityPolicy},
		{"identity allow", alice, acctA, Input{Identity: []*Policy{idAllow}}, true, false, ""},
		{"identity allow, other action", alice, acctA, Input{Identity: []*Policy{idOther}}, false, false, InIdentityPolicy},
		{"identity allow + identity deny", alice, acctA, Input{Identity: []*Policy{idAllow, idDeny}}, false, true, InIdentityPolicy},
		{"resource allow same account", alice, acctA, Input{Resource: bpAlice}, true, false, ""},
		{"resource deny beats identity allow", alice, acctA, Input{Identity: []*Policy{idAllow}, Resource: bpDenyAll}, false, true, InResourcePolicy},
		{"identity deny beats resource allow", alice, acctA, Input{Identity: []*Policy{idDeny}, Resource: bpAlice}, false, true, InIdentityPolicy},
		{"resource allow names someone else", alice, acctA, Input{Resource: bpBobAcct}, false, false, InIdentityPolicy},
		{"cross-account: both allow", bob, acctA, Input{Identity: []*Policy{idAllow}, Resource: bpBobAcct}, true, false, ""},
		{"cross-account: root ARN form", bob, acctA, Input{Identity: []*Policy{idAllow}, Resource: bpBobRootARN}, true, false, ""},
		{"cross-account: resource only", bob, acctA, Input{Resource: bpBobAcct}, false, false, InIdentityPolicy},
		{"cross-account: identity only", bob, acctA, Input{Identity: []*Policy{idAllow}}, false, false, InResourcePolicy},
		{"cross-account: public bucket still needs identity", bob, acctA, Input{Resource: bpPublic}, false, false, InIdentityPolicy},
		{"root own account", rootA, acctA, Input{}, true, false, ""},
		{"root ignores identity policies", rootA, acctA, Input{Identity: []*Policy{idDeny}}, true, false, ""},
		{"root denied by bucket policy", rootA, acctA, Input{Resource: bpDenyAll}, false, true, InResourcePolicy},
		{"root cross-account without grant", rootA, acctB, Input{}, false, false, InResourcePolicy},
		{"root cross-account with grant", Principal{Root: true, Account: acctB, ARN: "arn:aws:iam::444455556666:root"}, acctA, Input{Resource: bpBobAcct}, true, false, ""},
		{"anonymous default deny", anon, acctA, Input{}, false, false, InResourcePolicy},
		{"anonymous public", anon, acctA, Input{Resource: bpPublic}, true, false, ""},
		{"anonymous AWS star", anon, acctA, Input{Resource: bpAWSStar}, true, false, ""},
		{"anonymous named principal", anon, acctA, Input{Resource: bpAlice}, false, false, InResourcePolicy},
		{"anonymous ignores identity", anon, acctA, Input{Identity: []*Policy{idAllow}}, false, false, InResourcePolicy},
		{"anonymous explicit deny", anon, acctA, Input{Resource: bpDenyAll}, false, true, InResourcePolicy},
		{"session: identity narrowed", session, acctA, Input{Identity: []*Policy{idAllow}, Session: []*Policy{sessOther}}, false, false, InSessionPolicy},
		{"session: identity allowed", session, acctA, Input{Identity: []*Policy{idAllow}, Session: []*Policy{sessAllow}}, true, false, ""},
		{"session: every session policy must allow", session, acctA, Input{Identity: []*Policy{idAllow}, Session: []*Policy{sessAllow, sessOther}}, false, false, InSessionPolicy},
		{"session: deny", session, acctA, Input{Identity: []*Policy{idAllow}, Session: []*Policy{sessAllow, sessDeny}}, false, true, InSessionPolicy},
		{"session: no identity allow", session, acctA, Input{Session: []*Policy{sessAllow}}, false, false, InIdentityPolicy},
		{"session: resource allow to role narrowed", session, acctA, Input{Resource: bpRole, Session: []*Policy{sessOther}}, false, false, InSessionPolicy},
		{"session: resource allow to role, session allows", session, acctA, Input{Resource: bpRole, Session: []*Policy{sessAllow}}, true, false, ""},
		{"session: resource allow to session ARN not narrowed", session, acctA, Input{Resource: bpSession, Session: []*Policy{sessOther}}, true, false, ""},
		{"session: other session ARN", session, acctA, Input{Resource: bpOtherSession}, false, false, InIdentityPolicy},
		{"session: role ARN matches", session, acctA, Input{Resource: bpRole}, true, false, ""},
		{"NotPrincipal deny spares alice", alice, acctA, Input{Identity: []*Policy{idAllow}, Resource: bpNotAlice}, true, false, ""},
		{"NotPrincipal deny hits others", Principal{Account: acctA, ARN: "arn:aws:iam::111122223333:user/carol"}, acctA, Input{Identity: []*Policy{idAllow}, Resource: bpNotAlice}, false, true, InResourcePolicy},
		{"NotPrincipal deny hits anonymous", anon, acctA, Input{Resource: bpNotAlice}, false, true, InResourcePolicy},
		{"NotPrincipal role spares its sessions", session, acctA, Input{Identity: []*Policy{idAllow}, Resource: bpNotReaderRole}, true, false, ""},
		{"empty resource account = same account", alice, "", Input{Resource: bpAlice}, true, false, ""},
		// Naming an account delegates to it: within that account the
		// caller's own identity policies must allow too.
		{"same account: account principal alone grants nothing", alice, acctA, Input{Resource: bpAcctA}, false, false, InIdentityPolicy},
		{"same account: root ARN principal alone grants nothing", alice, acctA, Input{Resource: bpRootARNA}, false, false, InIdentityPolicy},
		{"same account: account principal + identity allow", alice, acctA, Input{Identity: []*Policy{idAllow}, Resource: bpAcctA}, true, false, ""},
		{"same account: session, account principal alone", session, acctA, Input{Resource: bpAcctA}, false, false, InIdentityPolicy},
		{"same account: session, account principal + identity", session, acctA, Input{Identity: []*Policy{idAllow}, Resource: bpAcctA}, true, false, ""},
		{"same account: public principal grants users", alice, acctA, Input{Resource: bpPublic}, true, false, ""},
		{"same account: root, account principal", rootA, acctA, Input{Resource: bpAcctA}, true, false, ""},
		{"same account: account principal deny still denies", alice, acctA, Input{Identity: []*Policy{idAllow}, Resource: bpDenyAcctA}, false, true, InResourcePolicy},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := &Request{Principal: tc.p, Action: get, Resource: objRes, ResourceAccount: tc.resAcct}
			d := Evaluate(&tc.in, req)
			if d.Allowed != tc.allowed || d.ExplicitDeny != tc.explicit || d.DenyIn != tc.denyIn {
				t.Fatalf("got %+v, want allowed=%v explicit=%v denyIn=%q", d, tc.allowed, tc.explicit, tc.denyIn)
			}
			if d.Allowed != (d.Message(req) == "") {
				t.Fatalf("message %q inconsistent with %+v", d.Message(req), d)
			}
		})
	}
}

// TestEvaluateRoleTrust covers sts:AssumeRole, where the role's trust policy
// is the resource policy and must allow: an identity-based allow alone never
// suffices, and a trust policy naming an account delegates to that account's
// identity policies.
func TestEvaluateRoleTrust(t *testing.T) {
	const role = "arn:aws:iam::111122223333:role/Target"
	trust := func(principal string) *Policy {
		return mustParse(t, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":`+principal+`,"Action":"sts:AssumeRole","Resource":"*"}]}`, Resource)
	}
	idAssume := identityPolicy(t, `{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"`+role+`"}`)
	idAssumeOther := identityPolicy(t, `{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"arn:aws:iam::111122223333:role/Other"}`)
	sessNoAssume := identityPolicy(t, `{"Effect":"Allow","Action":"s3:*","Resource":"*"}`)
	carol := Principal{Account: acctA, ARN: "arn:aws:iam::111122223333:user/carol"}
	trustAcct := trust(`{"AWS":"111122223333"}`)
	trustRoot := trust(`{"AWS":"arn:aws:iam::111122223333:root"}`)
	trustAlice := trust(`{"AWS":"arn:aws:iam::111122223333:user/alice"}`)
	trustBobAcct := trust(`{"AWS":"444455556666"}`)
	trustBob := trust(`{"AWS":"arn:aws:iam::444455556666:user/bob"}`)
	trustReader := trust(`{"AWS":"arn:aws:iam::111122223333:role/Reader"}`)
	trustStar := trust(`{"AWS":"*"}`)
	cases := []struct {
		name    string
		p       Principal
		in      Input
		allowed bool
		denyIn  string
	}{
		{"account principal, no identity policy", alice, Input{Resource: trustAcct}, false, InIdentityPolicy},
		{"account principal (root ARN), no identity policy", alice, Input{Resource: trustRoot}, false, InIdentityPolicy},
		{"account principal + identity allow", alice, Input{Identity: []*Policy{idAssume}, Resource: trustAcct}, true, ""},
		{"account principal + identity allow on another role", alice, Input{Identity: []*Policy{idAssumeOther}, Resource: trustAcct}, false, InIdentityPolicy},
		{"user named, no identity policy", alice, Input{Resource: trustAlice}, true, ""},
		{"someone else named, identity allow", carol, Input{Identity: []*Policy{idAssume}, Resource: trustAlice}, false, InResourcePolicy},
		{"no trust policy, identity allow", alice, Input{Identity: []*Policy{idAssume}}, false, InResourcePolicy},
		{"other account named, identity allow", alice, Input{Identity: []*Policy{idAssume}, Resource: trustBobAcct}, false, InResourcePolicy},
		{"cross-account: account named + identity", bob, Input{Identity: []*Policy{idAssume}, Resource: trustBobAcct}, true, ""},
		{"cross-account: account named, no identity", bob, Input{Resource: trustBobAcct}, false, InIdentityPolicy},
		{"cross-account: user named, no identity", bob, Input{Resource: trustBob}, false, InIdentityPolicy},
		{"cross-account: user named + identity", bob, Input{Identity: []*Policy{idAssume}, Resource: trustBob}, true, ""},
		{"cross-account: identity only", bob, Input{Identity: []*Policy{idAssume}, Resource: trustAcct}, false, InResourcePolicy},
		{"role chaining: role named", session, Input{Resource: trustReader}, true, ""},
		{"role chaining: role named, session policy lacks it", session, Input{Resource: trustReader, Session: []*Policy{sessNoAssume}}, false, InSessionPolicy},
		{"role chaining: account named, no identity", session, Input{Resource: trustAcct}, false, InIdentityPolicy},
		{"everyone named, same account", alice, Input{Resource: trustStar}, true, ""},
		{"everyone named, cross-account needs identity", bob, Input{Resource: trustStar}, false, InIdentityPolicy},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := &Request{Principal: tc.p, Action: "sts:AssumeRole", Resource: role, ResourceAccount: acctA, ResourceMustAllow: true}
			d := Evaluate(&tc.in, req)
			if d.Allowed != tc.allowed || d.DenyIn != tc.denyIn {
				t.Fatalf("got %+v, want allowed=%v denyIn=%q", d, tc.allowed, tc.denyIn)
			}
		})
	}
}

func TestActionResourceNegation(t *testing.T) {
	notAction := `{"Version":"2012-10-17","Statement":{"Effect":"Allow","NotAction":"s3:Delete*","Resource":"*"}}`
	if !identityAllows(t, notAction, "s3:GetObject", objRes, nil) {
		t.Error("NotAction should allow other actions")
	}
	if identityAllows(t, notAction, "s3:DeleteObject", objRes, nil) {
		t.Error("NotAction should not allow the listed action")
	}
	if identityAllows(t, notAction, "S3:deleteobject", objRes, nil) {
		t.Error("actions are case-insensitive")
	}
	notRes := `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","NotResource":"arn:aws:s3:::secret/*"}}`
	if !identityAllows(t, notRes, get, objRes, nil) || identityAllows(t, notRes, get, "arn:aws:s3:::secret/x", nil) {
		t.Error("NotResource")
	}
	all := `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`
	if !identityAllows(t, all, "iam:CreateUser", "arn:aws:iam::111122223333:user/x", nil) {
		t.Error("Action *")
	}
}

func TestMessage(t *testing.T) {
	req := &Request{Principal: alice, Action: get, Resource: objRes, ResourceAccount: acctA}
	d := Evaluate(&Input{}, req)
	want := `User: arn:aws:iam::111122223333:user/alice is not authorized to perform: s3:GetObject on resource: "arn:aws:s3:::b/k" because no identity-based policy allows the s3:GetObject action`
	if got := d.Message(req); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	bp := bucketPolicy(t, `{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::b/*"}`)
	d = Evaluate(&Input{Resource: bp}, req)
	want = `User: arn:aws:iam::111122223333:user/alice is not authorized to perform: s3:GetObject on resource: "arn:aws:s3:::b/k" with an explicit deny in a resource-based policy`
	if got := d.Message(req); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	ip := identityPolicy(t, `{"Effect":"Deny","Action":"s3:*","Resource":"*"}`)
	d = Evaluate(&Input{Identity: []*Policy{ip}}, req)
	if got := d.Message(req); !strings.HasSuffix(got, "with an explicit deny in an identity-based policy") {
		t.Errorf("identity deny message %q", got)
	}
	areq := &Request{Principal: anon, Action: get, Resource: objRes}
	if got := Evaluate(&Input{}, areq).Message(areq); !strings.HasPrefix(got, "Anonymous user is not authorized to perform: s3:GetObject") || !strings.Contains(got, "no resource-based policy allows") {
		t.Errorf("anonymous message %q", got)
	}
}

// AWS documentation examples.
func TestAWSExamples(t *testing.T) {
	t.Run("deny insecure transport", func(t *testing.T) {
		bp := bucketPolicy(t,
			`{"Sid":"AllowGet","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}`,
			`{"Sid":"RestrictToTLSRequestsOnly","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::b","arn:aws:s3:::b/*"],"Condition":{"Bool":{"aws:SecureTransport":"false"}}}`)
		for _, tc := range []struct {
			secure string
			want   bool
		}{{"true", true}, {"false", false}} {
			req := &Request{Principal: anon, Action: get, Resource: objRes, Context: ctx("aws:SecureTransport", tc.secure)}
			if d := Evaluate(&Input{Resource: bp}, req); d.Allowed != tc.want {
				t.Errorf("SecureTransport=%s: %+v", tc.secure, d)
			}
		}
	})
	t.Run("IP restriction", func(t *testing.T) {
		bp := bucketPolicy(t, `{"Sid":"IPAllow","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::b","arn:aws:s3:::b/*"],"Condition":{"NotIpAddress":{"aws:SourceIp":["192.0.2.0/24","2001:DB8:1234:5678::/64"]}}}`)
		ip := identityPolicy(t, `{"Effect":"Allow","Action":"s3:*","Resource":"*"}`)
		for _, tc := range []struct {
			ip   string
			want bool
		}{{"192.0.2.10", true}, {"2001:db8:1234:5678::1", true}, {"198.51.100.1", false}, {"2001:db8:1234:5679::1", false}} {
			req := &Request{Principal: alice, Action: get, Resource: objRes, ResourceAccount: acctA, Context: ctx("aws:SourceIp", tc.ip)}
			if d := Evaluate(&Input{Identity: []*Policy{ip}, Resource: bp}, req); d.Allowed != tc.want {
				t.Errorf("ip %s: %+v", tc.ip, d)
			}
		}
	})
	t.Run("home folders with s3:prefix", func(t *testing.T) {
		ip := identityPolicy(t,
			`{"Sid":"AllowListingOfUserFolder","Action":["s3:ListBucket"],"Effect":"Allow","Resource":["arn:aws:s3:::b"],"Condition":{"StringLike":{"s3:prefix":["","home/","home/${aws:username}/*"]}}}`,
			`{"Sid":"AllowAllS3ActionsInUserFolder","Effect":"Allow","Action":["s3:*"],"Resource":["arn:aws:s3:::b/home/${aws:username}/*"]}`)
		in := &Input{Identity: []*Policy{ip}}
		for _, tc := range []struct {
			action, resource, prefix string
			user                     string
			want                     bool
		}{
			{"s3:ListBucket", "arn:aws:s3:::b", "home/alice/docs/", "alice", true},
			{"s3:ListBucket", "arn:aws:s3:::b", "home/", "alice", true},
			{"s3:ListBucket", "arn:aws:s3:::b", "", "alice", true},
			{"s3:ListBucket", "arn:aws:s3:::b", "home/bob/", "alice", false},
			{"s3:GetObject", "arn:aws:s3:::b/home/alice/a.txt", "", "alice", true},
			{"s3:PutObject", "arn:aws:s3:::b/home/bob/a.txt", "", "alice", false},
			{"s3:GetObject", "arn:aws:s3:::b/home/alice/a.txt", "", "", false}, // no aws:username: variable does not match
		} {
			c := MapContext{}
			if tc.prefix != "" || tc.action == "s3:ListBucket" {
				c.Set("s3:prefix", tc.prefix)
			}
			if tc.user != "" {
				c.Set("aws:username", tc.user)
			}
			req := &Request{Principal: alice, Action: tc.action, Resource: tc.resource, Context: c}
			if d := Evaluate(in, req); d.Allowed != tc.want {
				t.Errorf("%s %s prefix=%q user=%q: %+v", tc.action, tc.resource, tc.prefix, tc.user, d)
			}
		}
	})
	t.Run("network restriction for IAM principal", func(t *testing.T) {
		deny := mustParse(t, networkRestriction, Identity)
		allow := identityPolicy(t, `{"Effect":"Allow","Action":"s3:*","Resource":"*"}`)
		in := &Input{Identity: []*Policy{allow, deny}}
		for _, tc := range []struct {
			name string
			c    MapContext
			want bool
		}{
			{"from localhost", ctx("aws:SourceIp", "127.0.0.1", "aws:ViaAWSService", "false"), true},
			{"from elsewhere", ctx("aws:SourceIp", "10.0.0.1", "aws:ViaAWSService", "false"), false},
			{"elsewhere via AWS service", ctx("aws:SourceIp", "10.0.0.1", "aws:ViaAWSService", "true"), true},
			{"elsewhere, no ViaAWSService key", ctx("aws:SourceIp", "10.0.0.1"), false},
			{"no keys at all", ctx(), false},
		} {
			req := &Request{Principal: alice, Action: get, Resource: objRes, Context: tc.c}
			if d := Evaluate(in, req); d.Allowed != tc.want {
				t.Errorf("%s: %+v", tc.name, d)
			}
		}
	})
}

func TestOutposts(t *testing.T) {
	o := Outpost{Region: "us-east-1", Account: acctA, ID: "op-01ac5d28a6a232904"}
	idAll := identityPolicy(t, `{"Effect":"Allow","Action":["s3:*","s3-outposts:*"],"Resource":"*"}`)
	mk := func(p Principal, c MapContext) *Request {
		req := &Request{Principal: p, Action: "s3:PutObject", Resource: "arn:aws:s3:::example-outpost-bucket/photos/cat.jpg", ResourceAccount: acctA, Context: c}
		o.Alias(req)
		o.AliasContext(c)
		return req
	}
	if a := o.Action("s3:GetObject"); a != "s3-outposts:GetObject" {
		t.Fatal(a)
	}
	if r, _ := o.ResourceARN("arn:aws:s3:::example-outpost-bucket"); r != "arn:aws:s3-outposts:us-east-1:111122223333:outpost/op-01ac5d28a6a232904/bucket/example-outpost-bucket" {
		t.Fatal(r)
	}
	cases := []struct {
		name string
		doc  string
		p    Principal
		c    MapContext
		want bool // allowed
	}{
		{"age: old presigned from 4444", outpostsPresignedAge, bob, ctx("s3:signatureAge", "600001", "s3:authType", "REST-QUERY-STRING"), false},
		{"age: fresh presigned from 4444", outpostsPresignedAge, bob, ctx("s3:signatureAge", "1000", "s3:authType", "REST-QUERY-STRING"), true},
		{"age: old header auth from 4444", outpostsPresignedAge, bob, ctx("s3:signatureAge", "900000", "s3:authType", "REST-HEADER"), true},
		{"age: other account not affected", outpostsPresignedAge, alice, ctx("s3:signatureAge", "900000", "s3:authType", "REST-QUERY-STRING"), true},
		{"header only: presigned denied", outpostsHeaderOnly, alice, ctx("s3:authType", "REST-QUERY-STRING"), false},
		{"header only: header allowed", outpostsHeaderOnly, alice, ctx("s3:authType", "REST-HEADER"), true},
		{"header only: key absent is denied", outpostsHeaderOnly, alice, ctx(), false},
		{"unsigned: denied", outpostsUnsigned, alice, ctx("s3:x-amz-content-sha256", "UNSIGNED-PAYLOAD"), false},
		{"unsigned: signed allowed", outpostsUnsigned, alice, ctx("s3:x-amz-content-sha256", "abc123"), true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			deny := mustParse(t, tc.doc, Resource)
			// The bucket policy only denies; the grant comes from an
			// identity policy.
			req := mk(tc.p, tc.c)
			in := &Input{Identity: []*Policy{idAll}, Resource: deny}
			d := Evaluate(in, req)
			if tc.p.Account != acctA {
				// Cross-account: the deny-only bucket policy grants nothing,
				// so only check the explicit deny part.
				if d.ExplicitDeny == tc.want {
					t.Fatalf("cross-account %+v, want explicit deny %v", d, !tc.want)
				}
				return
			}
			if d.Allowed != tc.want {
				t.Fatalf("%+v, want allowed %v", d, tc.want)
			}
		})
	}
}

// TestPosternActions: Postern's own actions (postern:CreateShare …) and
// condition keys parse; "*" covers them, "s3:*" does not.
func TestPosternActions(t *testing.T) {
	res := "arn:aws:s3:::b/k"
	if !identityAllows(t, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`, "postern:CreateShare", res, ctx()) {
		t.Error(`"*" does not allow postern:CreateShare`)
	}
	if identityAllows(t, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`, "postern:CreateShare", res, ctx()) {
		t.Error(`"s3:*" allows postern:CreateShare`)
	}
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["postern:CreateShare","postern:RevokeShare"],"Resource":"*",
		"Condition":{"NumericLessThanEquals":{"postern:ExpiresIn":"86400","postern:MaxUses":"10"},"StringEquals":{"postern:ShareMethod":"GET"}}}]}`
	if !identityAllows(t, doc, "postern:CreateShare", res, ctx("postern:ExpiresIn", "3600", "postern:MaxUses", "5", "postern:ShareMethod", "GET")) {
		t.Error("conditions within the bounds deny")
	}
	if identityAllows(t, doc, "postern:CreateShare", res, ctx("postern:ExpiresIn", "86401", "postern:MaxUses", "5", "postern:ShareMethod", "GET")) {
		t.Error("postern:ExpiresIn over the bound allows")
	}
	if identityAllows(t, doc, "postern:ListShares", res, ctx("postern:ExpiresIn", "1", "postern:MaxUses", "1", "postern:ShareMethod", "GET")) {
		t.Error("postern:ListShares allowed by a statement naming other actions")
	}
}
