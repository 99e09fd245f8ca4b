package policy

// restrictingKeys are the condition keys that, with fixed (non-wildcard)
// values, make a statement granting to "*" non-public in S3's sense
// ("The meaning of public" in the S3 Block Public Access documentation).
var restrictingKeys = map[string]bool{
	"aws:sourceip":         true,
	"aws:sourcearn":        true,
	"aws:sourcevpc":        true,
	"aws:sourcevpce":       true,
	"aws:sourceowner":      true,
	"aws:sourceaccount":    true,
	"aws:principalaccount": true,
	"aws:principalarn":     true,
	"aws:principalorgid":   true,
	"aws:userid":           true,
	"s3:x-amz-server-side-encryption-aws-kms-key-id": true,
	"s3:dataaccesspointaccount":                      true,
	"s3:dataaccesspointarn":                          true,
}

// IsPublic reports whether a resource policy grants access to everyone:
// an Allow whose principal is "*" (or a NotPrincipal) and that no condition
// on a restricting key (source IP or network, principal account, …) narrows.
// IP conditions count as restricting only when no prefix is wider than /8
// (IPv4) or /32 (IPv6), as S3 does.
func (p *Policy) IsPublic() bool {
	if p == nil {
		return false
	}
	for i := range p.allows {
		st := &p.allows[i]
		if !st.hasPrincipal {
			continue
		}
		if !(st.principal.any || st.notPrincipal) {
			continue
		}
		if !restricted(st.conds) {
			return true
		}
	}
	return false
}

func restricted(conds []cond) bool {
	for i := range conds {
		c := &conds[i]
		if c.negate || c.ifExists || !restrictingKeys[c.key] {
			continue
		}
		if len(c.nets) > 0 {
			narrow := true
			for _, n := range c.nets {
				if (n.Addr().Is4() && n.Bits() < 8) || (!n.Addr().Is4() && n.Bits() < 32) {
					narrow = false
				}
			}
			if narrow {
				return true
			}
			continue
		}
		wild := false
		for _, s := range c.strs {
			if s.hasWildcard() {
				wild = true
			}
		}
		if !wild {
			return true
		}
	}
	return false
}

// hasWildcard reports whether the pattern matches more than one literal value.
func (p *pattern) hasWildcard() bool {
	switch p.kind {
	case patAny, patPrefix:
		return true
	case patGlob:
		for _, it := range p.items {
			if it.kind == itStar || it.kind == itQuest {
				return true
			}
		}
	}
	return false
}

// Resources returns every Resource and NotResource value as written, in
// statement order, so that a caller can check a policy stays within its
// resource (a bucket policy may only name its own bucket).
func (p *Policy) Resources() []string {
	var out []string
	for _, sts := range [][]statement{p.denies, p.allows} {
		for i := range sts {
			out = append(out, sts[i].rawResources...)
		}
	}
	return out
}
