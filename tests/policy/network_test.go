package policye2e

import (
	"github.com/postern/postern/internal/s3test"

	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// onlyFrom denies everything on bucket b (and its objects) to requests whose
// aws:SourceIp is not cidr.
func onlyFrom(b, cidr string) string {
	return doc(`{"Sid":"OnlyFrom","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::` + b + `","arn:aws:s3:::` + b + `/*"],
		"Condition":{"NotIpAddress":{"aws:SourceIp":"` + cidr + `"}}}`)
}

// getFrom GETs u with net/http from the loopback address ip, with an
// X-Forwarded-For header when xff is not empty.
func getFrom(t testing.TB, ip, u, xff string) response {
	t.Helper()
	var hdr http.Header
	if xff != "" {
		hdr = http.Header{"X-Forwarded-For": {xff}}
	}
	return do(t, httpFrom(ip), http.MethodGet, u, nil, hdr)
}

func TestSourceIp(t *testing.T) {
	t.Parallel()
	srv := startInProcess(t)
	from1 := sdk(t, srv, clientOpts{ip: ip1})
	from2 := sdk(t, srv, clientOpts{ip: ip2})
	b := s3test.NewBucket(t, from1, "srcip")
	body := []byte("source ip")
	mustPut(t, from1, b, "k", body)
	u := presignGet(t, from1, b, "k")
	// Control: before the policy, both addresses read.
	wantOK(t, "net/http from 127.0.0.1, no policy", getFrom(t, ip1, u, ""), body)

	mustPutPolicy(t, from1, b, onlyFrom(b, "127.0.0.2/32"))

	mustGet(t, from2, b, "k", body)
	if _, err := from2.ListObjectsV2(ctx(t), &s3.ListObjectsV2Input{Bucket: aws.String(b)}); err != nil {
		t.Errorf("ListObjectsV2 from 127.0.0.2: %v", err)
	}
	_, err := s3test.GetObject(ctx(t), from1, b, "k")
	wantDenied(t, "SDK GetObject from 127.0.0.1", err, denial{action: "s3:GetObject", resource: objARN(b, "k"), why: explicitDenyResource})
	_, err = from1.ListObjectsV2(ctx(t), &s3.ListObjectsV2Input{Bucket: aws.String(b)})
	wantDenied(t, "SDK ListObjectsV2 from 127.0.0.1", err, denial{action: "s3:ListBucket", resource: bucketARN(b), why: explicitDenyResource})

	wantOK(t, "net/http from 127.0.0.2 presigned GET", getFrom(t, ip2, u, ""), body)
	wantRawDenied(t, "net/http from 127.0.0.1 presigned GET", getFrom(t, ip1, u, ""), denial{action: "s3:GetObject", resource: objARN(b, "k"), why: explicitDenyResource})
	wantRawDenied(t, "net/http from 127.0.0.3 presigned GET", getFrom(t, ip3, u, ""), denial{action: "s3:GetObject", resource: objARN(b, "k"), why: explicitDenyResource})

	// No --trusted-proxy: X-Forwarded-For from 127.0.0.1 is ignored.
	xff := sdk(t, srv, clientOpts{ip: ip1, hdr: http.Header{"X-Forwarded-For": {"127.0.0.2"}}})
	_, err = s3test.GetObject(ctx(t), xff, b, "k")
	wantDenied(t, "GetObject from 127.0.0.1 claiming X-Forwarded-For 127.0.0.2 without --trusted-proxy", err, denial{action: "s3:GetObject", resource: objARN(b, "k")})
	if r := getFrom(t, ip1, u, "127.0.0.2"); r.status != http.StatusForbidden {
		t.Errorf("net/http from 127.0.0.1 with X-Forwarded-For: 127.0.0.2 without --trusted-proxy: got %v, want 403", r)
	}

	// The owner's root can always manage the policy, even from a denied address.
	if _, err := from1.GetBucketPolicy(ctx(t), &s3.GetBucketPolicyInput{Bucket: aws.String(b)}); err != nil {
		t.Errorf("GetBucketPolicy by the owner's root from a denied address: %v", err)
	}
	mustDeletePolicy(t, from1, b)
	mustGet(t, from1, b, "k", body)

	// A wider CIDR: 127.0.0.0/24 admits .1, .2 and .3.
	mustPutPolicy(t, from1, b, onlyFrom(b, "127.0.0.0/24"))
	mustGet(t, from1, b, "k", body)
	wantOK(t, "net/http from 127.0.0.3 under 127.0.0.0/24", getFrom(t, ip3, u, ""), body)
	mustDeletePolicy(t, from1, b)
}

func TestTrustedProxy(t *testing.T) {
	t.Parallel()
	srv := startInProcess(t, "--trusted-proxy", "127.0.0.1/32")
	root := sdk(t, srv, clientOpts{ip: ip2})
	b := s3test.NewBucket(t, root, "proxy")
	body := []byte("behind a proxy")
	mustPut(t, root, b, "k", body)
	mustPutPolicy(t, root, b, onlyFrom(b, "127.0.0.2/32"))
	u := presignGet(t, root, b, "k")
	d := denial{action: "s3:GetObject", resource: objARN(b, "k"), why: explicitDenyResource}

	// From the trusted proxy, the forwarded address counts.
	viaProxy := sdk(t, srv, clientOpts{ip: ip1, hdr: http.Header{"X-Forwarded-For": {"127.0.0.2"}}})
	mustGet(t, viaProxy, b, "k", body)
	wantOK(t, "net/http from the proxy forwarding 127.0.0.2", getFrom(t, ip1, u, "127.0.0.2"), body)
	// A chain: the right-most address the proxy appended is the client.
	wantOK(t, "X-Forwarded-For chain ending in 127.0.0.2", getFrom(t, ip1, u, "10.9.9.9, 127.0.0.2"), body)
	// A client cannot smuggle an address to the left of what the proxy appended.
	wantRawDenied(t, "X-Forwarded-For spoofed by the client, then appended by the proxy",
		getFrom(t, ip1, u, "127.0.0.2, 10.9.9.9"), d)
	wantRawDenied(t, "proxy forwarding 127.0.0.3", getFrom(t, ip1, u, "127.0.0.3"), d)
	// The proxy itself, without the header, is 127.0.0.1: denied.
	_, err := s3test.GetObject(ctx(t), sdk(t, srv, clientOpts{ip: ip1}), b, "k")
	wantDenied(t, "GetObject from the proxy without X-Forwarded-For", err, d)

	// From an untrusted peer, X-Forwarded-For is ignored.
	untrusted := sdk(t, srv, clientOpts{ip: ip3, hdr: http.Header{"X-Forwarded-For": {"127.0.0.2"}}})
	_, err = s3test.GetObject(ctx(t), untrusted, b, "k")
	wantDenied(t, "GetObject from untrusted 127.0.0.3 claiming X-Forwarded-For 127.0.0.2", err, d)
	wantRawDenied(t, "net/http from untrusted 127.0.0.3 claiming 127.0.0.2", getFrom(t, ip3, u, "127.0.0.2"), d)
	// And a direct client at 127.0.0.2 passes.
	wantOK(t, "net/http direct from 127.0.0.2", getFrom(t, ip2, u, ""), body)
}

func TestSourceVpc(t *testing.T) {
	t.Parallel()
	srv := startInProcess(t, "--network", "vpc=vpc-111,vpce=vpce-222,cidr=127.0.0.3/32")
	from1 := sdk(t, srv, clientOpts{ip: ip1})
	from2 := sdk(t, srv, clientOpts{ip: ip2})
	from3 := sdk(t, srv, clientOpts{ip: ip3})
	b := s3test.NewBucket(t, from1, "vpc")
	body := []byte("through the endpoint")
	mustPut(t, from1, b, "k", body)
	u := presignGet(t, from1, b, "k")
	d := denial{action: "s3:GetObject", resource: objARN(b, "k"), why: explicitDenyResource}
	deny := func(sid, cond string) string {
		return doc(`{"Sid":"` + sid + `","Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::` + b + `/*","Condition":` + cond + `}`)
	}

	t.Run("only through the endpoint", func(t *testing.T) {
		mustPutPolicy(t, from1, b, deny("OnlyThroughVpce", `{"StringNotEquals":{"aws:SourceVpce":"vpce-222"}}`))
		mustGet(t, from3, b, "k", body)
		wantOK(t, "net/http from 127.0.0.3", getFrom(t, ip3, u, ""), body)
		_, err := s3test.GetObject(ctx(t), from1, b, "k")
		wantDenied(t, "GetObject from 127.0.0.1 (not through the endpoint)", err, d)
		wantRawDenied(t, "net/http from 127.0.0.1", getFrom(t, ip1, u, ""), d)
	})
	t.Run("only from the VPC", func(t *testing.T) {
		mustPutPolicy(t, from1, b, deny("OnlyFromVpc", `{"StringNotEquals":{"aws:SourceVpc":"vpc-111"}}`))
		mustGet(t, from3, b, "k", body)
		_, err := s3test.GetObject(ctx(t), from2, b, "k")
		wantDenied(t, "GetObject from 127.0.0.2", err, d)
	})
	t.Run("another endpoint", func(t *testing.T) {
		mustPutPolicy(t, from1, b, deny("OnlyThroughOtherVpce", `{"StringNotEquals":{"aws:SourceVpce":"vpce-999"}}`))
		_, err := s3test.GetObject(ctx(t), from3, b, "k")
		wantDenied(t, "GetObject through vpce-222 when only vpce-999 may", err, d)
	})
	t.Run("VpcSourceIp", func(t *testing.T) {
		mustPutPolicy(t, from1, b, deny("DenyVpcHost", `{"IpAddress":{"aws:VpcSourceIp":"127.0.0.3/32"}}`))
		_, err := s3test.GetObject(ctx(t), from3, b, "k")
		wantDenied(t, "GetObject from VPC address 127.0.0.3", err, d)
		mustGet(t, from1, b, "k", body) // no aws:VpcSourceIp outside the VPC
	})
	t.Run("SourceIp is absent through the endpoint", func(t *testing.T) {
		// Were aws:SourceIp present for 127.0.0.3, this would deny it.
		mustPutPolicy(t, from1, b, deny("DenyHost3", `{"IpAddress":{"aws:SourceIp":"127.0.0.3/32"}}`))
		mustGet(t, from3, b, "k", body)
		wantOK(t, "net/http from 127.0.0.3", getFrom(t, ip3, u, ""), body)

		mustPutPolicy(t, from1, b, deny("DenyWithoutSourceIp", `{"Null":{"aws:SourceIp":"true"}}`))
		_, err := s3test.GetObject(ctx(t), from3, b, "k")
		wantDenied(t, "GetObject from 127.0.0.3 when aws:SourceIp is null", err, d)
		mustGet(t, from1, b, "k", body)
		mustGet(t, from2, b, "k", body)

		// AWS's rule for …IfExists: an absent key matches. So a Deny with
		// NotIpAddressIfExists alone also denies requests through a VPC
		// endpoint (as in AWS); the data-perimeter pattern pairs it with an
		// aws:SourceVpc condition that lets them through.
		mustPutPolicy(t, from1, b, deny("NotIpIfExists", `{"NotIpAddressIfExists":{"aws:SourceIp":"127.0.0.1/32"}}`))
		mustGet(t, from1, b, "k", body)
		_, err = s3test.GetObject(ctx(t), from2, b, "k")
		wantDenied(t, "NotIpAddressIfExists: GetObject from 127.0.0.2", err, d)
		_, err = s3test.GetObject(ctx(t), from3, b, "k")
		wantDenied(t, "NotIpAddressIfExists: GetObject from 127.0.0.3 (aws:SourceIp absent: IfExists matches)", err, d)

		mustPutPolicy(t, from1, b, deny("DataPerimeter", `{"NotIpAddressIfExists":{"aws:SourceIp":"127.0.0.1/32"},"StringNotEqualsIfExists":{"aws:SourceVpc":"vpc-111"}}`))
		mustGet(t, from1, b, "k", body)
		mustGet(t, from3, b, "k", body)
		wantOK(t, "data perimeter: net/http from 127.0.0.3", getFrom(t, ip3, u, ""), body)
		_, err = s3test.GetObject(ctx(t), from2, b, "k")
		wantDenied(t, "data perimeter: GetObject from 127.0.0.2", err, d)
	})
	mustDeletePolicy(t, from1, b)
}
