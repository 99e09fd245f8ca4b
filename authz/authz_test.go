package authz

import (
	"context"
	"errors"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/postern/postern/iam"
	"github.com/postern/postern/policy"
)

func TestSourceAddr(t *testing.T) {
	nc := &NetConfig{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("10.0.0.0/8")}}
	for _, tt := range []struct {
		remote, xff, want string
	}{
		{"192.0.2.7:5000", "", "192.0.2.7"},
		{"192.0.2.7:5000", "198.51.100.1", "192.0.2.7"}, // untrusted peer: header ignored
		{"127.0.0.1:5000", "198.51.100.1", "198.51.100.1"},
		{"127.0.0.1:5000", "203.0.113.9, 198.51.100.1, 10.1.2.3", "198.51.100.1"}, // right-most untrusted
		{"127.0.0.1:5000", "garbage", "127.0.0.1"},
		{"[::ffff:127.0.0.1]:5000", "198.51.100.1", "198.51.100.1"},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tt.remote
		if tt.xff != "" {
			r.Header.Set("X-Forwarded-For", tt.xff)
		}
		got, ok := nc.SourceAddr(r)
		if !ok || got.String() != tt.want {
			t.Errorf("remote %s xff %q: %v %v, want %s", tt.remote, tt.xff, got, ok, tt.want)
		}
	}
}

func TestBaseContextNetworks(t *testing.T) {
	nc := &NetConfig{Networks: []Network{{VPC: "vpc-1", VPCE: "vpce-2", CIDRs: []netip.Prefix{netip.MustParsePrefix("127.0.0.3/32")}}}}
	now := time.Unix(1_800_000_000, 0)
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "127.0.0.3:1"
	c := BaseContext(r, now, iam.Anonymous, nil, nc, "us-east-1")
	if _, ok := c["aws:sourceip"]; ok {
		t.Error("aws:SourceIp present for a VPC endpoint request")
	}
	if c["aws:sourcevpce"][0] != "vpce-2" || c["aws:sourcevpc"][0] != "vpc-1" || c["aws:vpcsourceip"][0] != "127.0.0.3" {
		t.Errorf("vpc keys: %v", c)
	}
	r.RemoteAddr = "127.0.0.1:1"
	sig := &Signature{AuthType: "REST-QUERY-STRING", Version: "AWS4-HMAC-SHA256", ContentSHA256: "UNSIGNED-PAYLOAD", SignedAt: now.Add(-90 * time.Second), Age: true}
	p := &iam.Principal{Kind: iam.KindUser, AccountID: "111122223333", ARN: "arn:aws:iam::111122223333:user/alice", Name: "alice", UserID: "AIDAEXAMPLE"}
	c = BaseContext(r, now, p, sig, nc, "us-east-1")
	want := map[string]string{
		"aws:sourceip": "127.0.0.1", "s3:signatureage": "90000", "s3:authtype": "REST-QUERY-STRING",
		"aws:username": "alice", "aws:principaltype": "User", "aws:userid": "AIDAEXAMPLE",
		"s3:x-amz-content-sha256": "UNSIGNED-PAYLOAD", "aws:securetransport": "false", "aws:epochtime": "1800000000",
	}
	for k, v := range want {
		if got := c[k]; len(got) != 1 || got[0] != v {
			t.Errorf("%s = %v, want %s", k, got, v)
		}
	}
}

func TestAuthorizeRestrictPublic(t *testing.T) {
	pub, err := policy.Parse([]byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}`), policy.Resource)
	if err != nil {
		t.Fatal(err)
	}
	e := &Engine{}
	req := func(p *iam.Principal, restrict bool) *Request {
		return &Request{Principal: p, Action: "s3:GetObject", Resource: "arn:aws:s3:::b/k", ResourceAccount: "111122223333", ResourcePolicy: pub, RestrictPublic: restrict}
	}
	ctx := context.Background()
	if err := e.Authorize(ctx, req(iam.Anonymous, false)); err != nil {
		t.Fatalf("public policy without restriction: %v", err)
	}
	var d *Denied
	if err := e.Authorize(ctx, req(iam.Anonymous, true)); !errors.As(err, &d) {
		t.Fatalf("RestrictPublicBuckets should deny anonymous: %v", err)
	}
	root := &iam.Principal{Kind: iam.KindRoot, AccountID: "111122223333", ARN: "arn:aws:iam::111122223333:root"}
	if err := e.Authorize(ctx, req(root, true)); err != nil {
		t.Fatalf("owner root denied: %v", err)
	}
	other := &iam.Principal{Kind: iam.KindRoot, AccountID: "444455556666", ARN: "arn:aws:iam::444455556666:root"}
	if err := e.Authorize(ctx, req(other, true)); !errors.As(err, &d) {
		t.Fatalf("other account should be denied under RestrictPublicBuckets: %v", err)
	}
	if err := e.Authorize(ctx, &Request{Principal: iam.Anonymous, Action: "s3:GetObject", Resource: "arn:aws:s3:::b/k", ResourceAccount: "111122223333"}); !errors.As(err, &d) || d.Message == "" {
		t.Fatalf("anonymous without policy: %v", err)
	}
}

func TestRequestContextLazy(t *testing.T) {
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "127.0.0.9:1"
	c := &RequestContext{R: r, Now: time.Unix(0, 0), P: iam.Anonymous, Region: "us-east-1",
		Sig: &Signature{AuthType: "REST-HEADER", Version: "AWS4-HMAC-SHA256"}, OutpostAliases: true,
		Extra: policy.MapContext{"s3:prefix": {"docs/"}}}
	if v, ok := c.Get("s3:prefix"); !ok || v[0] != "docs/" {
		t.Fatalf("extra key: %v %v", v, ok)
	}
	if c.base != nil {
		t.Fatal("base keys built before any was asked for")
	}
	if v, ok := c.Get("aws:sourceip"); !ok || v[0] != "127.0.0.9" {
		t.Fatalf("aws:SourceIp: %v %v", v, ok)
	}
	if v, ok := c.Get("s3-outposts:authtype"); !ok || v[0] != "REST-HEADER" {
		t.Fatalf("outposts alias: %v %v", v, ok)
	}
	if _, ok := c.Get("s3:signatureage"); ok {
		t.Fatal("signatureAge present for a header-signed request")
	}
}
