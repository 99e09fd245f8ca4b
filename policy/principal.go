package policy

import "strings"

// Principal identifies the caller of a request.
//
// For an IAM user set Account and ARN ("arn:aws:iam::111122223333:user/alice").
// For a role session set ARN to the assumed-role session ARN
// ("arn:aws:sts::111122223333:assumed-role/Reader/session") and RoleARN to the
// role's ARN ("arn:aws:iam::111122223333:role/Reader"). For the account root
// user set Root, Account and ARN ("arn:aws:iam::111122223333:root"). For an
// unauthenticated request set Anonymous and nothing else. Service,
// CanonicalUser and Federated are matched against the corresponding
// Principal element types of resource policies.
type Principal struct {
	Anonymous     bool
	Root          bool
	Account       string
	ARN           string
	RoleARN       string
	Service       string
	CanonicalUser string
	Federated     string
}

// principalSet is a compiled Principal or NotPrincipal element.
type principalSet struct {
	any       bool     // "*" or {"AWS": "*"}: everyone, including anonymous
	accounts  []string // account ids (from "111122223333" or ".../root")
	arns      []string // exact principal ARNs (users, sessions, federated users)
	roles     []string // role ARNs: match the role and its sessions
	services  []string
	canonical []string
	federated []string
}

func parsePrincipal(v *jval, ps *principalSet, e *errs) bool {
	const invalid = "Invalid principal in policy"
	switch v.kind {
	case jString:
		if v.s == "*" {
			ps.any = true
			return true
		}
		return e.fail(invalid + ": " + v.s)
	case jObject:
	default:
		return e.fail(invalid)
	}
	if len(v.obj) == 0 {
		return e.fail(invalid + ": empty Principal")
	}
	for i := range v.obj {
		m := &v.obj[i]
		var ids []string
		switch m.val.kind {
		case jString:
			ids = []string{m.val.s}
		case jArray:
			for j := range m.val.arr {
				if m.val.arr[j].kind != jString {
					return e.fail(invalid + ": " + m.key + " values must be strings")
				}
				ids = append(ids, m.val.arr[j].s)
			}
		default:
			return e.fail(invalid + ": " + m.key + " values must be strings")
		}
		if len(ids) == 0 {
			return e.fail(invalid + ": " + m.key + " has no values")
		}
		for _, id := range ids {
			if id == "" {
				return e.fail(invalid + ": empty " + m.key + " value")
			}
			switch m.key {
			case "AWS":
				if !addAWSPrincipal(ps, id) {
					return e.fail(invalid + ": " + id)
				}
			case "Service":
				ps.services = append(ps.services, id)
			case "CanonicalUser":
				ps.canonical = append(ps.canonical, id)
			case "Federated":
				ps.federated = append(ps.federated, id)
			default:
				return e.fail(invalid + ": unknown principal type " + m.key)
			}
		}
	}
	return true
}

func addAWSPrincipal(ps *principalSet, id string) bool {
	if id == "*" {
		ps.any = true
		return true
	}
	if isAccountID(id) {
		ps.accounts = append(ps.accounts, id)
		return true
	}
	a, ok := parseARN(id)
	if !ok || !isAccountID(a.account) || a.region != "" || strings.ContainsAny(id, "*?") {
		return false
	}
	switch a.service {
	case "iam":
		switch {
		case a.resource == "root":
			ps.accounts = append(ps.accounts, a.account)
		case strings.HasPrefix(a.resource, "role/") && len(a.resource) > len("role/"):
			ps.roles = append(ps.roles, id)
		case strings.HasPrefix(a.resource, "user/") && len(a.resource) > len("user/"):
			ps.arns = append(ps.arns, id)
		default:
			return false
		}
	case "sts":
		if !strings.HasPrefix(a.resource, "assumed-role/") && !strings.HasPrefix(a.resource, "federated-user/") {
			return false
		}
		ps.arns = append(ps.arns, id)
	default:
		return false
	}
	return true
}

// How a Principal element names the caller. AWS treats them differently
// within one account: naming the caller (or everyone) grants on its own, while
// naming the caller's account only delegates to that account, whose own
// identity-based policies must then allow as well.
type principalMatch uint8

const (
	matchNone    principalMatch = iota
	matchAccount                // the caller's account ("111122223333", ".../root"): delegation
	matchNamed                  // "*", the caller's role, service, canonical user or federated provider
	matchExact                  // the caller's own user, session or federated-user ARN
)

// match reports how the set names the principal.
func (ps *principalSet) match(p *Principal) principalMatch {
	if ps.any {
		return matchNamed
	}
	if p.Anonymous {
		return matchNone
	}
	for _, a := range ps.arns {
		if a == p.ARN {
			return matchExact
		}
	}
	for _, r := range ps.roles {
		if r == p.ARN || (p.RoleARN != "" && r == p.RoleARN) {
			return matchNamed
		}
	}
	if p.Service != "" {
		for _, s := range ps.services {
			if s == p.Service {
				return matchNamed
			}
		}
	}
	if p.CanonicalUser != "" {
		for _, s := range ps.canonical {
			if s == p.CanonicalUser {
				return matchNamed
			}
		}
	}
	if p.Federated != "" {
		for _, s := range ps.federated {
			if s == p.Federated {
				return matchNamed
			}
		}
	}
	if p.Account != "" {
		for _, a := range ps.accounts {
			if a == p.Account {
				return matchAccount
			}
		}
	}
	return matchNone
}
