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
	// ResourceMustAllow says the resource policy is one that must grant
	// every request, as a role's trust policy must for sts:AssumeRole: an
	// identity-based allow alone is then never enough, in the same account
	// or across accounts.
	ResourceMustAllow bool
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
	ReasonAccountDelegated = "implicit deny: the resource-based policy names the caller's account, whose identity-based policies must also allow"
	ReasonResourceMissing  = "implicit deny: the resource-based policy (e.g. a role trust policy) must allow the request"
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
//     by every session policy) grants, and so does a resource-policy allow
//     that names the caller itself, its role, or everyone. A resource-policy
//     allow that names only the caller's account delegates to that account:
//     it grants nothing unless an identity policy allows too. A
//     resource-policy allow naming the role, rather than the session ARN, is
//     narrowed by session policies too; one naming the session ARN is not.
//  4. Across accounts the identity side (narrowed by session policies) and the
//     resource policy must both allow. Anonymous callers can only be allowed
//     by the resource policy.
//     With Request.ResourceMustAllow (a role trust policy), the resource
//     policy must allow in every case, and rule 3's identity allow counts
//     only together with it.
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

	// Phase 2: allows. How the resource policy names the caller matters: a
	// statement naming the caller's account only delegates to that account
	// (its identity policies must allow too); one naming the caller, its
	// role or everyone grants on its own within the account.
	sameAccount := !p.Anonymous && (req.ResourceAccount == "" || req.ResourceAccount == p.Account)
	var resNamed, resExact, resDelegated bool
	var resSid string
	if in.Resource != nil {
		for i := range in.Resource.allows {
			st := &in.Resource.allows[i]
			ok, how := st.applies(req)
			if !ok {
				continue
			}
			switch how {
			case matchExact:
				resNamed, resExact, resSid = true, true, st.sid
			case matchNamed:
				if !resNamed {
					resSid = st.sid
				}
				resNamed = true
			case matchAccount:
				if !resNamed && !resDelegated {
					resSid = st.sid
				}
				resDelegated = true
			}
			if resExact {
				break
			}
		}
	}
	resAllow := resNamed || resDelegated
	if p.Root {
		switch {
		case sameAccount && !req.ResourceMustAllow:
			return Decision{Allowed: true, Reason: ReasonRoot}
		case resAllow:
			return Decision{Allowed: true, Reason: ReasonResourceAllow, Sid: resSid}
		case sameAccount:
			return Decision{DenyIn: InResourcePolicy, Reason: ReasonResourceMissing}
		}
		return Decision{DenyIn: InResourcePolicy, Reason: ReasonCrossAccountMiss}
	}
	if p.Anonymous {
		if resNamed {
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
	// A resource-policy allow naming the session ARN is not narrowed by
	// session policies; one naming the role (or everyone) is.
	directOK := resNamed && (sessionOK || resExact)

	if !sameAccount {
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
	switch {
	case directOK:
		return Decision{Allowed: true, Reason: ReasonResourceAllow, Sid: resSid}
	case idOK && (resAllow || !req.ResourceMustAllow):
		if req.ResourceMustAllow {
			return Decision{Allowed: true, Reason: ReasonBothAllow, Sid: resSid}
		}
		return Decision{Allowed: true, Reason: ReasonIdentityAllow, Sid: idSid}
	case req.ResourceMustAllow && !resAllow:
		return Decision{DenyIn: InResourcePolicy, Reason: ReasonResourceMissing}
	case (idAllow || resNamed) && !sessionOK:
		return Decision{DenyIn: InSessionPolicy, Reason: ReasonSessionNarrowed}
	case resDelegated:
		return Decision{DenyIn: InIdentityPolicy, Reason: ReasonAccountDelegated}
	}
	return Decision{DenyIn: InIdentityPolicy, Reason: ReasonNoAllow}
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
// effect) and, for a statement with a Principal, how it names the caller.
func (s *statement) applies(req *Request) (ok bool, how principalMatch) {
	if matchAny(s.actions, req.Action, req.ActionAliases, nil) == s.notAction {
		return false, matchNone
	}
	if matchAny(s.resources, req.Resource, req.ResourceAliases, req.Context) == s.notResource {
		return false, matchNone
	}
	how = matchNamed
	if s.hasPrincipal {
		m := s.principal.match(&req.Principal)
		switch {
		case s.notPrincipal && m != matchNone:
			return false, matchNone
		case !s.notPrincipal && m == matchNone:
			return false, matchNone
		case !s.notPrincipal:
			how = m
		}
	}
	for i := range s.conds {
		if !s.conds[i].eval(req.Context) {
			return false, matchNone
		}
	}
	return true, how
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
