// Package authz makes Postern's access decisions: one call, Authorize, for
// every S3, IAM and STS request. It gathers the policies in force — the
// caller's identity and session policies and the resource's policy — and asks
// the policy engine, then words a denial the way AWS does.
package authz

import (
	"context"
	"fmt"

	"github.com/postern/postern/iam"
	"github.com/postern/postern/policy"
)

// Request is one authorization question.
type Request struct {
	Principal *iam.Principal
	Action    string // e.g. s3:GetObject
	Resource  string // e.g. arn:aws:s3:::bucket/key
	// ResourceAccount owns the resource; empty means the principal's own account.
	ResourceAccount string
	// ResourcePolicy is the bucket policy (nil when there is none).
	ResourcePolicy *policy.Policy
	// RestrictPublic is S3 Block Public Access's RestrictPublicBuckets: a
	// public resource policy then grants nothing to anonymous or other-account callers.
	RestrictPublic bool
	// Context supplies the request's condition keys (lower-cased lookups);
	// *RequestContext builds them lazily, policy.MapContext holds them ready.
	Context policy.Context
	// Aliases let S3 on Outposts names match their S3 counterparts.
	ActionAliases, ResourceAliases []string
	// ResourceMustAllow: ResourcePolicy is a role trust policy, which must
	// allow the request itself (see policy.Request.ResourceMustAllow).
	ResourceMustAllow bool
}

// Identities finds the identity-based and session policies of a principal.
type Identities interface {
	Policies(ctx context.Context, p *iam.Principal) (identity, session []*policy.Policy, err error)
}

// Denied is an access denial with AWS's explanation.
type Denied struct {
	Message string
	// Explicit is true when a Deny statement decided.
	Explicit bool
}

func (d *Denied) Error() string { return "access denied: " + d.Message }

// Engine decides. A nil Identities means principals have no identity
// policies (only roots and resource policies grant).
type Engine struct {
	Identities Identities
}

// Authorize returns nil when r is allowed, *Denied when it is not, or
// another error when the policies could not be loaded.
func (e *Engine) Authorize(ctx context.Context, r *Request) error {
	p := r.Principal
	if p == nil {
		p = iam.Anonymous
	}
	pp := policyPrincipal(p)
	req := policy.Request{
		Principal:       pp,
		Action:          r.Action,
		Resource:        r.Resource,
		ResourceAccount: r.ResourceAccount,
		ActionAliases:   r.ActionAliases,
		ResourceAliases: r.ResourceAliases,

		ResourceMustAllow: r.ResourceMustAllow,
	}
	if req.ResourceAccount == "" {
		req.ResourceAccount = p.AccountID
	}
	if r.Context == nil {
		r.Context = policy.MapContext{}
	}
	req.Context = r.Context
	in := policy.Input{Resource: r.ResourcePolicy}
	if e.Identities != nil && p.Kind != iam.KindAnonymous && p.Kind != iam.KindRoot {
		id, sess, err := e.Identities.Policies(ctx, p)
		if err != nil {
			return fmt.Errorf("authz: loading policies of %s: %w", p.ARN, err)
		}
		in.Identity, in.Session = id, sess
	}
	d := policy.Evaluate(&in, &req)
	if !d.Allowed {
		return &Denied{Message: d.Message(&req), Explicit: d.ExplicitDeny}
	}
	// Block Public Access: a public bucket policy grants nothing outside the
	// owner's account. Re-decide without the bucket policy's allows.
	if r.RestrictPublic && r.ResourcePolicy != nil && r.ResourcePolicy.IsPublic() &&
		(p.Kind == iam.KindAnonymous || p.AccountID != req.ResourceAccount) {
		in.Resource = nil
		d2 := policy.Evaluate(&in, &req)
		if !d2.Allowed {
			return &Denied{Message: d2.Message(&req) + " (the bucket's public access is blocked by RestrictPublicBuckets)"}
		}
	}
	return nil
}

func policyPrincipal(p *iam.Principal) policy.Principal {
	if p.Kind == iam.KindAnonymous {
		return policy.Principal{Anonymous: true}
	}
	return policy.Principal{
		Root:    p.Kind == iam.KindRoot,
		Account: p.AccountID,
		ARN:     p.ARN,
		RoleARN: p.RoleARN,
	}
}
