package s3api

import (
	"context"
	"net/http"

	"github.com/postern/postern/iam"
	"github.com/postern/postern/meta"
	"github.com/postern/postern/sigv4"
)

// AuthzRequest is everything an authorization decision looks at.
type AuthzRequest struct {
	Principal *iam.Principal
	Action    string // e.g. s3:GetObject
	Resource  string // e.g. arn:aws:s3:::bucket/key
	// Bucket is the bucket the request is about (nil for ListBuckets/CreateBucket).
	Bucket *meta.Bucket
	// Context holds the request's condition keys (aws:SourceIp, s3:authType, …).
	Context map[string][]string
}

// Authorizer makes the access decision for every request: nil means allowed,
// an error (usually *Error AccessDenied) means denied.
type Authorizer interface {
	Authorize(ctx context.Context, ar *AuthzRequest) error
}

// OwnerOnly allows an account's root user everything on its own buckets, and
// nothing else. It is the policy in force until the policy engine replaces it.
type OwnerOnly struct{}

// Authorize implements Authorizer.
func (OwnerOnly) Authorize(_ context.Context, ar *AuthzRequest) error {
	p := ar.Principal
	if p == nil || p.Kind == iam.KindAnonymous {
		return errAccessDenied()
	}
	if !p.IsRoot() {
		return errAccessDenied()
	}
	if ar.Bucket != nil && ar.Bucket.Owner != p.AccountID {
		return errAccessDenied()
	}
	return nil
}

// authenticate verifies the request's signature, if any, and sets the principal.
func (h *Handler) authenticate(req *request) error {
	r := req.r
	if !sigv4.IsSigV4(r) {
		if r.Header.Get("Authorization") != "" {
			return errorf(http.StatusBadRequest, "InvalidArgument", "Unsupported Authorization Type")
		}
		req.principal = iam.Anonymous
		return nil
	}
	res, err := h.verifier.Verify(r, h.now())
	if err != nil {
		return err
	}
	_, p, err := h.cfg.Directory.Credentials(r.Context(), res.AccessKey, res.SessionToken)
	if err != nil {
		return errorf(http.StatusForbidden, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.")
	}
	req.auth = res
	req.principal = p
	return nil
}

// authorize is the single place where access is decided for S3 operations.
func (h *Handler) authorize(req *request, action string, bucket *meta.Bucket, key string) error {
	res := "arn:aws:s3:::" + req.bucket
	if bucket != nil {
		res = "arn:aws:s3:::" + bucket.Name
	}
	if key != "" {
		res += "/" + key
	}
	if req.bucket == "" {
		res = "*"
	}
	return h.authz.Authorize(req.r.Context(), &AuthzRequest{
		Principal: req.principal,
		Action:    action,
		Resource:  res,
		Bucket:    bucket,
		Context:   h.conditionContext(req),
	})
}

// conditionContext builds the request's condition keys once.
func (h *Handler) conditionContext(req *request) map[string][]string {
	c := map[string][]string{}
	if host, _, err := splitHostPort(req.r.RemoteAddr); err == nil {
		c["aws:SourceIp"] = []string{host}
	}
	if req.r.TLS != nil {
		c["aws:SecureTransport"] = []string{"true"}
	} else {
		c["aws:SecureTransport"] = []string{"false"}
	}
	if req.auth != nil {
		c["s3:authType"] = []string{string(req.auth.AuthType)}
		c["s3:signatureversion"] = []string{"AWS4-HMAC-SHA256"}
		c["s3:x-amz-content-sha256"] = []string{req.auth.PayloadHash}
		age := h.now().Sub(req.auth.SignedAt).Milliseconds()
		if age < 0 {
			age = 0
		}
		c["s3:signatureAge"] = []string{itoa(age)}
	}
	return c
}
