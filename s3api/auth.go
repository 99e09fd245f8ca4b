package s3api

import (
	"context"
	"errors"
	"net/http"

	"github.com/postern/postern/authz"
	"github.com/postern/postern/iam"
	"github.com/postern/postern/meta"
	"github.com/postern/postern/policy"
	"github.com/postern/postern/proto/s3err"
	"github.com/postern/postern/proto/sigv2"
	"github.com/postern/postern/proto/sigv4"
)

// Authorizer makes the access decision for every request: nil means allowed,
// *authz.Denied means denied. *authz.Engine is the implementation.
type Authorizer interface {
	Authorize(ctx context.Context, r *authz.Request) error
}

// authenticate verifies the request's signature, if any, and sets the principal.
func (h *Handler) authenticate(req *request) error {
	r := req.r
	// SigV2 first: its query form has a Signature parameter that SigV4's
	// detection would also claim.
	if sigv2.IsSigV2(r) {
		return h.authenticateV2(req)
	}
	if !sigv4.IsSigV4(r) {
		if r.Header.Get("Authorization") != "" {
			return s3err.New(http.StatusBadRequest, "InvalidArgument", "Unsupported Authorization Type")
		}
		req.principal = iam.Anonymous
		return nil
	}
	res, err := h.verifier.Verify(r, h.now())
	if err != nil {
		return shareExpired(r, credentialError(err))
	}
	p, _ := res.Identity.(*iam.Principal)
	if p == nil {
		return s3err.InternalError()
	}
	req.auth = res
	req.principal = p
	if h.opts.KeyUsed != nil {
		h.opts.KeyUsed(res.AccessKey, "s3", h.deps.Region)
	}
	return nil
}

// authenticateV2 verifies a Signature Version 2 request (legacy clients:
// aws CLI v1 presign, s3cmd, boto3 with signature_version='s3').
func (h *Handler) authenticateV2(req *request) error {
	if h.opts.DisableSigV2 {
		return s3err.New(http.StatusBadRequest, "InvalidRequest", "Signature Version 2 is disabled on this server (--sigv2=false). "+
			"Make the client sign with Signature Version 4: for the aws CLI, `aws configure set default.s3.signature_version s3v4`; "+
			"for boto3, Config(signature_version='s3v4'); for s3cmd, drop --signature-v2.")
	}
	res, err := h.verifierV2.Verify(req.r, h.now())
	if err != nil {
		return credentialError(err)
	}
	p, _ := res.Identity.(*iam.Principal)
	if p == nil {
		return s3err.InternalError()
	}
	req.sigV2 = true
	req.auth = &sigv4.Result{
		AccessKey: res.AccessKey, SessionToken: res.SessionToken, AuthType: res.AuthType,
		SignedAt: res.SignedAt, Expires: res.Expires, PayloadHash: unsignedPayload, Service: "s3", Region: h.deps.Region,
	}
	req.principal = p
	return nil
}

// credentialError maps failures of the credential lookup to S3 errors.
func credentialError(err error) error {
	switch {
	case errors.Is(err, iam.ErrUnknownKey):
		return s3err.New(http.StatusForbidden, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.")
	case errors.Is(err, iam.ErrExpiredToken):
		return s3err.New(http.StatusForbidden, "ExpiredToken", "The provided token has expired.")
	case errors.Is(err, iam.ErrInvalidToken):
		return s3err.New(http.StatusBadRequest, "InvalidToken", "The provided token is malformed or otherwise invalid.")
	}
	var se *iam.ShareError
	if errors.As(err, &se) {
		return shareDenied(se.Err)
	}
	return err
}

// objectVersion is the version of an object a request names: ?versionId= on
// GetObject, HeadObject and DeleteObject, a DeleteObjects entry's
// <VersionId>, or ?versionId= after a copy source.
type objectVersion struct {
	named bool
	// id is the version id as named; "" when it is empty or could not be
	// decoded (such a request fails validation after authorization).
	id string
}

// versionActions maps an object action to the action AWS authorizes instead
// when the request names a version of the object ("Required permissions for
// Amazon S3 API operations"): reading a version is s3:GetObjectVersion, not
// s3:GetObject, and deleting one is s3:DeleteObjectVersion, not
// s3:DeleteObject. They are separate actions: each grants or is denied
// alone.
var versionActions = map[string]string{
	"s3:GetObject":    "s3:GetObjectVersion",
	"s3:DeleteObject": "s3:DeleteObjectVersion",
}

// authorize is the single place where access is decided for S3 operations.
func (h *Handler) authorize(req *request, action string, bucket *meta.Bucket, key string) error {
	return h.authorizeVersion(req, action, bucket, key, objectVersion{})
}

// authorizeVersion is authorize for a request that may name a version of the
// object: then the action checked is the version action of action, and the
// condition key s3:versionid holds the version id.
func (h *Handler) authorizeVersion(req *request, action string, bucket *meta.Bucket, key string, v objectVersion) error {
	if v.named {
		va, ok := versionActions[action]
		if !ok {
			// A caller named a version for an action that has no version
			// form: a bug, and no reason to allow anything.
			h.log.Error("authorize: version named for an action without a version action", "request_id", req.id, "action", action)
			return s3err.InternalError()
		}
		action = va
	}
	cc := h.conditionContext(req)
	// The context is kept for the whole request, which may authorize
	// several objects (DeleteObjects) or a source and a destination
	// (CopyObject): s3:versionid is the version of this object only.
	if v.named && v.id != "" {
		if cc.Extra == nil {
			cc.Extra = policy.MapContext{}
		}
		cc.Extra["s3:versionid"] = []string{v.id}
	} else {
		delete(cc.Extra, "s3:versionid")
	}
	// Kept in the request: no allocation of its own.
	req.authzReq = authz.Request{
		Principal: req.principal,
		Action:    action,
		Context:   cc,
	}
	ar := &req.authzReq
	switch {
	case bucket != nil && key != "":
		ar.Resource = "arn:aws:s3:::" + bucket.Name + "/" + key
	case bucket != nil:
		ar.Resource = "arn:aws:s3:::" + bucket.Name
	case req.bucket != "":
		ar.Resource = "arn:aws:s3:::" + req.bucket
	default:
		ar.Resource = "*"
	}
	if bucket != nil {
		ar.ResourceAccount = bucket.Owner
		pol, err := h.bucketPolicy(bucket)
		if err != nil {
			return err
		}
		ar.ResourcePolicy = pol
		ar.RestrictPublic = h.publicAccessBlock(bucket).RestrictPublicBuckets
	}
	if o := h.opts.Outpost; o != nil {
		pr := policy.Request{Action: ar.Action, Resource: ar.Resource}
		o.Alias(&pr)
		ar.ActionAliases, ar.ResourceAliases = pr.ActionAliases, pr.ResourceAliases
	}
	sh := req.principal.Share
	if sh != nil {
		// A share's request must be within the share's scope, in addition
		// to what its creator may do.
		b := req.bucket
		if bucket != nil {
			b = bucket.Name
		}
		if ok, why := sh.Permits(req.r.Method, action, b, key); !ok {
			e := s3err.AccessDenied()
			e.Message = why
			return e
		}
	}
	err := h.authz.Authorize(req.r.Context(), ar)
	if err == nil {
		if sh != nil {
			// Then its upload limits, and a use of a limited share.
			return h.useShare(req, sh)
		}
		return nil
	}
	var d *authz.Denied
	if errors.As(err, &d) {
		// The bucket owner's root can always manage the bucket policy, so
		// that a policy can never lock its owner out (as in S3).
		if bucket != nil && req.principal.IsRoot() && req.principal.Share == nil && req.principal.AccountID == bucket.Owner && ownerAlwaysAllowed[action] {
			return nil
		}
		e := s3err.AccessDenied()
		e.Message = d.Message
		return e
	}
	return err
}

var ownerAlwaysAllowed = map[string]bool{
	"s3:GetBucketPolicy": true, "s3:PutBucketPolicy": true, "s3:DeleteBucketPolicy": true,
}

// conditionHeaders are the request headers that become s3: condition keys:
// canonical header name, condition key.
var conditionHeaders = [][2]string{
	{"X-Amz-Acl", "s3:x-amz-acl"},
	{"X-Amz-Copy-Source", "s3:x-amz-copy-source"},
	{"X-Amz-Metadata-Directive", "s3:x-amz-metadata-directive"},
	{"X-Amz-Server-Side-Encryption", "s3:x-amz-server-side-encryption"},
	{"X-Amz-Storage-Class", "s3:x-amz-storage-class"},
}

// conditionContext returns the request's condition keys. They are computed
// only if a policy condition asks for them, and at most once per request.
func (h *Handler) conditionContext(req *request) *authz.RequestContext {
	if req.condCtx != nil {
		return req.condCtx
	}
	var sig *authz.Signature
	if a := req.auth; a != nil {
		sig = &authz.Signature{
			AuthType:      string(a.AuthType),
			Version:       req.sigVersion(),
			ContentSHA256: a.PayloadHash,
			SignedAt:      a.SignedAt,
			Age:           a.AuthType != sigv4.AuthHeader,
		}
		if a.AuthType == AuthTypePOST || req.sigV2 {
			sig.ContentSHA256 = ""
		}
		if req.sigV2 && a.AuthType != AuthTypePOST {
			sig.Age = false // SigV2 URLs carry no signing time
		}
	}
	c := &authz.RequestContext{
		R: req.r, Now: h.now(), P: req.principal, Sig: sig, Net: h.opts.Network, Region: h.deps.Region,
		OutpostAliases: h.opts.Outpost != nil,
	}
	r := req.r
	if req.op == "ListObjects" || req.op == "ListObjectsV2" || req.op == "ListObjectVersions" {
		q := req.query()
		c.Extra = policy.MapContext{"s3:prefix": {q.Get("prefix")}}
		if d, ok := q.Lookup("delimiter"); ok {
			c.Extra["s3:delimiter"] = []string{d}
		}
		if m, ok := q.Lookup("max-keys"); ok {
			c.Extra["s3:max-keys"] = []string{m}
		}
	}
	for _, hk := range conditionHeaders {
		if v := r.Header[hk[0]]; len(v) > 0 && v[0] != "" {
			if c.Extra == nil {
				c.Extra = policy.MapContext{}
			}
			c.Extra[hk[1]] = v[:1]
		}
	}
	req.condCtx = c
	return c
}
