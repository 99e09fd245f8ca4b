package policy

// Request is one authorization question.
type Request struct {
	Principal Principal
	// Action is "service:Action", e.g. "s3:GetObject". Matching is
	// case-insensitive.
	Action string
	// Resource is the ARN acted on, e.g. "arn:aws:s3:::bucket/key".
	// Matching is case-sensitive.
	Resource string
	// ResourceAccount is the account owning the resource. Empty means the
	// principal's own account (single-account deployments).
	ResourceAccount string
	// ActionAliases and ResourceAliases are equivalent names of Action and
	// Resource (see Outpost); a statement names the request if it names the
	// primary value or any alias.
	ActionAliases   []string
	ResourceAliases []string
	// Context holds condition keys and policy variables. May be nil.
	Context Context
}

// Input is the set of policies applicable to a request.
type Input struct {
	// Identity holds the caller's identity-based policies (user, group and
	// role policies). Ignored for the root user and anonymous callers.
	Identity []*Policy
	// Session holds session policies passed when the role session or
	// federated session was created. When non-empty, every one must allow.
	Session []*Policy
	// Resource is the bucket policy, or nil.
	Resource *Policy
}

// Values of Decision.DenyIn.
const (
	InIdentityPolicy = "identity-based policy"
	InResourcePolicy = "resource-based policy"
	InSessionPolicy  = "session policy"
)

// Decision is the outcome of Evaluate.
type Decision struct {
	Allowed bool
	// ExplicitDeny is set when a Deny statement matched.
	ExplicitDeny bool
	// DenyIn names the kind of policy responsible for a denial: the one with
	// the explicit deny, or, for an implicit deny, the one that lacked an
	// allow. Empty when allowed.
	DenyIn string
	// Reason is a short, static explanation.
	Reason string
	// Sid is the Sid of the deciding statement (the deny, or the allow that
	// granted access), if it had one.
	Sid string
}

// Reasons.
const (
	ReasonExplicitDeny     = "explicit deny"
	ReasonIdentityAllow    = "allowed by an identity-based policy"
	ReasonResourceAllow    = "allowed by the resource-based policy"
	ReasonBothAllow        = "allowed by both identity-based and resource-based policies (cross-account)"
	ReasonRoot             = "account root user acting on its own account's resource"
	ReasonNoAllow          = "implicit deny: no applicable policy allows the request"
	ReasonSessionNarrowed  = "implicit deny: a session policy does not allow the request"
	ReasonCrossAccountMiss = "implicit deny: cross-account access needs both an identity-based and a resource-based allow"
)

// Evaluate decides req against the policies in in, following the AWS policy
// evaluation logic:
//
//  1. An explicit Deny in the resource policy, an identity policy or a session
//     policy denies. Statements of the resource policy apply only if their
//     Principal/NotPrincipal names the caller.
//  2. The root user is allowed on resources of its own account (and needs a
//     resource-policy allow across accounts); identity and session policies do
//     not apply to it.
//  3. Otherwise, within one account, an allow from an identity policy (narrowed
//     by every session policy) or from the resource policy grants. A
//     resource-policy allow naming the role, rather than the session ARN, is
//     narrowed by session policies too; one naming the session ARN is not.
//  4. Across accounts the identity side (narrowed by session policies) and the
//     resource policy must both allow. Anonymous callers can only be allowed
//     by the resource policy.
//  5. Everything else is an implicit deny.
//
// Evaluate does not allocate.
func Evaluate(in *Input, req *Request) Decision {
	p := &req.Principal
	subject := !p.Anonymous && !p.Root // identity and session policies apply

	// Phase 1: explicit denies.
	if in.Resource != nil {
		if i, ok := firstMatch(in.Resource.denies, req); ok {
			return denyExplicit(InResourcePolicy, in.Resource.denies[i].sid)
		}
	}
	if subject {
		for _, pol := range in.Identity {
			if pol == nil {
				continue
			}
			if i, ok := firstMatch(pol.denies, req); ok {
				return denyExplicit(InIdentityPolicy, pol.denies[i].sid)
			}
		}
		for _, pol := range in.Session {
			if pol == nil {
				continue
			}
			if i, ok := firstMatch(pol.denies, req); ok {
				return denyExplicit(InSessionPolicy, pol.denies[i].sid)
			}
		}
	}

	// Phase 2: allows.
	sameAccount := !p.Anonymous && (req.ResourceAccount == "" || req.ResourceAccount == p.Account)
	var resAllow, resExact bool
	var resSid string
	if in.Resource != nil {
		for i := range in.Resource.allows {
			st := &in.Resource.allows[i]
			if ok, exact := st.applies(req); ok {
				if !resAllow {
					resAllow, resSid = true, st.sid
				}
				if exact {
					resExact, resSid = true, st.sid
					break
				}
			}
		}
	}
	if p.Root {
		if sameAccount {
			return Decision{Allowed: true, Reason: ReasonRoot}
		}
		if resAllow {
			return Decision{Allowed: true, Reason: ReasonResourceAllow, Sid: resSid}
		}
		return Decision{DenyIn: InResourcePolicy, Reason: ReasonCrossAccountMiss}
	}
	if p.Anonymous {
		if resAllow {
			return Decision{Allowed: true, Reason: ReasonResourceAllow, Sid: resSid}
		}
		return Decision{DenyIn: InResourcePolicy, Reason: ReasonNoAllow}
	}

	idAllow := false
	var idSid string
	for _, pol := range in.Identity {
		if pol == nil {
			continue
		}
		if i, ok := firstMatch(pol.allows, req); ok {
			idAllow, idSid = true, pol.allows[i].sid
			break
		}
	}
	sessionOK := true
	for _, pol := range in.Session {
		if pol == nil {
			continue
		}
		if _, ok := firstMatch(pol.allows, req); !ok {
			sessionOK = false
			break
		}
	}
	idOK := idAllow && sessionOK
	resOK := resAllow && (sessionOK || resExact)

	if sameAccount {
		switch {
		case idOK:
			return Decision{Allowed: true, Reason: ReasonIdentityAllow, Sid: idSid}
		case resOK:
			return Decision{Allowed: true, Reason: ReasonResourceAllow, Sid: resSid}
		case (idAllow || resAllow) && !sessionOK:
			return Decision{DenyIn: InSessionPolicy, Reason: ReasonSessionNarrowed}
		}
		return Decision{DenyIn: InIdentityPolicy, Reason: ReasonNoAllow}
	}
	switch {
	case idOK && resAllow:
		return Decision{Allowed: true, Reason: ReasonBothAllow, Sid: resSid}
	case idAllow && !sessionOK:
		return Decision{DenyIn: InSessionPolicy, Reason: ReasonSessionNarrowed}
	case !idAllow:
		return Decision{DenyIn: InIdentityPolicy, Reason: ReasonCrossAccountMiss}
	}
	return Decision{DenyIn: InResourcePolicy, Reason: ReasonCrossAccountMiss}
}

func denyExplicit(in, sid string) Decision {
	return Decision{ExplicitDeny: true, DenyIn: in, Reason: ReasonExplicitDeny, Sid: sid}
}

// firstMatch returns the index of the first statement that applies to req.
func firstMatch(stmts []statement, req *Request) (int, bool) {
	for i := range stmts {
		if ok, _ := stmts[i].applies(req); ok {
			return i, true
		}
	}
	return -1, false
}

// applies reports whether the statement applies to the request (ignoring its
// effect). exact reports that its Principal named the caller's own ARN.
func (s *statement) applies(req *Request) (ok, exact bool) {
	if matchAny(s.actions, req.Action, req.ActionAliases, nil) == s.notAction {
		return false, false
	}
	if matchAny(s.resources, req.Resource, req.ResourceAliases, req.Context) == s.notResource {
		return false, false
	}
	if s.hasPrincipal {
		m, ex := s.principal.match(&req.Principal)
		if m == s.notPrincipal {
			return false, false
		}
		exact = ex && !s.notPrincipal
	}
	for i := range s.conds {
		if !s.conds[i].eval(req.Context) {
			return false, false
		}
	}
	return true, exact
}

// matchAny reports whether v or any alias matches any pattern.
func matchAny(pats []pattern, v string, aliases []string, ctx Context) bool {
	for i := range pats {
		if pats[i].match(v, ctx) {
			return true
		}
		for _, a := range aliases {
			if pats[i].match(a, ctx) {
				return true
			}
		}
	}
	return false
}

// Message renders an AWS-style AccessDenied message for a denied decision,
// for example:
//
//	User: arn:aws:iam::111122223333:user/alice is not authorized to perform: s3:GetObject on resource: "arn:aws:s3:::b/k" because no identity-based policy allows the s3:GetObject action
//	User: arn:aws:iam::111122223333:user/alice is not authorized to perform: s3:GetObject on resource: "arn:aws:s3:::b/k" with an explicit deny in a resource-based policy
//	User: arn:aws:iam::111122223333:user/alice is not authorized to perform: s3:GetObject on resource: "arn:aws:s3:::b/k" with an explicit deny in an identity-based policy
//
// Anonymous callers are named "Anonymous user". It returns "" when allowed.
func (d Decision) Message(req *Request) string {
	if d.Allowed {
		return ""
	}
	who := "User: " + req.Principal.ARN
	switch {
	case req.Principal.Anonymous:
		who = "Anonymous user"
	case req.Principal.ARN == "" && req.Principal.Account != "":
		who = "User: arn:aws:iam::" + req.Principal.Account + ":root"
	}
	msg := who + " is not authorized to perform: " + req.Action + " on resource: \"" + req.Resource + "\""
	in := d.DenyIn
	if in == "" {
		in = InIdentityPolicy
	}
	if d.ExplicitDeny {
		article := " a "
		if in == InIdentityPolicy {
			article = " an "
		}
		return msg + " with an explicit deny in" + article + in
	}
	return msg + " because no " + in + " allows the " + req.Action + " action"
}
