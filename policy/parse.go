package policy

import (
	"sort"
	"strconv"
	"strings"
)

// Kind is the kind of policy document, which decides the validation rules
// and the error code.
type Kind int

const (
	// Identity is an identity-based policy (attached to a user, group or
	// role, or passed as a session policy). It must not name a Principal.
	// Errors carry Code MalformedPolicyDocument.
	Identity Kind = iota
	// Resource is a resource-based policy (an S3 bucket policy). Every
	// statement must name a Principal or NotPrincipal, and the document must
	// not exceed MaxBucketPolicySize. Errors carry Code MalformedPolicy.
	Resource
)

func (k Kind) String() string {
	switch k {
	case Identity:
		return "identity-based policy"
	case Resource:
		return "resource-based policy"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Policy versions.
const (
	Version2012 = "2012-10-17"
	Version2008 = "2008-10-17"
)

// Policy is a parsed, validated policy document. It is immutable and safe
// for concurrent use.
type Policy struct {
	kind    Kind
	version string
	id      string
	// Statements are split by effect so that Evaluate can look for explicit
	// denies first and stop at the first allow.
	denies []statement
	allows []statement
	n      int
}

// Kind returns the kind the policy was parsed as.
func (p *Policy) Kind() Kind { return p.kind }

// Version returns the effective policy language version; a document without
// a Version element is "2008-10-17", in which policy variables are literal.
func (p *Policy) Version() string { return p.version }

// ID returns the optional Id element.
func (p *Policy) ID() string { return p.id }

// NumStatements returns the number of statements in the policy.
func (p *Policy) NumStatements() int { return p.n }

type statement struct {
	sid          string
	deny         bool
	hasPrincipal bool
	notPrincipal bool
	principal    principalSet
	notAction    bool
	actions      []pattern
	notResource  bool
	resources    []pattern
	rawResources []string // as written, for callers that check scope
	conds        []cond
}

// errs records the first validation error of a Parse call.
type errs struct {
	kind Kind
	err  *Error
}

// fail records msg and returns false, for use as "return e.fail(…)".
func (e *errs) fail(msg string) bool {
	if e.err == nil {
		code := CodeMalformedPolicyDocument
		if e.kind == Resource {
			code = CodeMalformedPolicy
		}
		e.err = &Error{Code: code, Message: msg}
	}
	return false
}

// pick returns the IAM wording for identity policies and the S3 wording for
// bucket policies.
func (e *errs) pick(identity, resource string) string {
	if e.kind == Resource {
		return resource
	}
	return identity
}

// Parse parses and validates a policy document of the given kind. On failure
// it returns an *Error whose Code is MalformedPolicy (Resource) or
// MalformedPolicyDocument (Identity) and whose Message names the problem.
func Parse(doc []byte, kind Kind) (*Policy, error) {
	e := &errs{kind: kind}
	if kind != Identity && kind != Resource {
		e.fail("unknown policy kind " + kind.String())
		return nil, e.err
	}
	if kind == Resource && PolicySize(doc) > MaxBucketPolicySize {
		e.fail("Policy exceeds the maximum allowed document size.")
		return nil, e.err
	}
	root, dup, err := decodeJSON(doc)
	if err != nil {
		if dup != "" {
			e.fail("Duplicate field " + dup)
		} else {
			e.fail(e.pick("Syntax errors in policy.", "Policies must be valid JSON and the first byte must be '{'") + " (" + err.Error() + ")")
		}
		return nil, e.err
	}
	p := parseDocument(&root, e)
	if e.err != nil {
		return nil, e.err
	}
	return p, nil
}

func parseDocument(root *jval, e *errs) *Policy {
	if root.kind != jObject {
		e.fail(e.pick("Syntax errors in policy.", "Policies must be valid JSON and the first byte must be '{'"))
		return nil
	}
	p := &Policy{kind: e.kind, version: Version2008}
	var stmts *jval
	for i := range root.obj {
		m := &root.obj[i]
		switch m.key {
		case "Version":
			if m.val.kind != jString || (m.val.s != Version2012 && m.val.s != Version2008) {
				t, _ := m.val.scalarText()
				e.fail("Invalid policy version " + strconv.Quote(t) + ": the Version must be \"2012-10-17\" or \"2008-10-17\"")
				return nil
			}
			p.version = m.val.s
		case "Id":
			if m.val.kind != jString {
				e.fail("Id must be a string")
				return nil
			}
			p.id = m.val.s
		case "Statement":
			stmts = &m.val
		default:
			e.fail("Unknown field " + m.key)
			return nil
		}
	}
	if stmts == nil {
		e.fail("Missing required field Statement")
		return nil
	}
	var list []jval
	switch stmts.kind {
	case jObject:
		list = []jval{*stmts}
	case jArray:
		list = stmts.arr
	default:
		e.fail("Statement must be an object or an array of objects")
		return nil
	}
	if len(list) == 0 {
		e.fail(e.pick("Policy must contain at least one statement.", "Could not parse the policy: Statement is empty!"))
		return nil
	}
	vars := p.version == Version2012
	sids := map[string]bool{}
	for i := range list {
		s, ok := parseStatement(&list[i], i, vars, e)
		if !ok {
			return nil
		}
		if s.sid != "" {
			if sids[s.sid] {
				e.fail("Statement IDs (SID) in a single policy must be unique: " + strconv.Quote(s.sid))
				return nil
			}
			sids[s.sid] = true
		}
		if s.deny {
			p.denies = append(p.denies, s)
		} else {
			p.allows = append(p.allows, s)
		}
	}
	p.n = len(list)
	return p
}

func parseStatement(v *jval, idx int, vars bool, e *errs) (statement, bool) {
	var s statement
	if v.kind != jObject {
		return s, e.fail("Statement " + strconv.Itoa(idx) + " must be an object")
	}
	var effect, principal, notPrincipal, action, notAction, resource, notResource, condition *jval
	for i := range v.obj {
		m := &v.obj[i]
		switch m.key {
		case "Sid":
			if m.val.kind != jString {
				return s, e.fail("Sid must be a string")
			}
			s.sid = m.val.s
		case "Effect":
			effect = &m.val
		case "Principal":
			principal = &m.val
		case "NotPrincipal":
			notPrincipal = &m.val
		case "Action":
			action = &m.val
		case "NotAction":
			notAction = &m.val
		case "Resource":
			resource = &m.val
		case "NotResource":
			notResource = &m.val
		case "Condition":
			condition = &m.val
		default:
			return s, e.fail("Unknown field " + m.key + " in statement " + stmtName(s.sid, idx))
		}
	}
	if e.kind == Identity && s.sid != "" && !isAlnum(s.sid) {
		return s, e.fail("Statement IDs (SID) must be alpha-numeric: " + strconv.Quote(s.sid))
	}
	// Effect
	if effect == nil {
		return s, e.fail("Missing required field Effect")
	}
	switch {
	case effect.kind == jString && effect.s == "Allow":
	case effect.kind == jString && effect.s == "Deny":
		s.deny = true
	default:
		t, _ := effect.scalarText()
		return s, e.fail("Invalid effect: " + t)
	}
	// Principal
	if principal != nil && notPrincipal != nil {
		return s, e.fail("Statement " + stmtName(s.sid, idx) + " must not contain both Principal and NotPrincipal")
	}
	if e.kind == Identity && (principal != nil || notPrincipal != nil) {
		return s, e.fail("Policy document should not specify a principal.")
	}
	if e.kind == Resource {
		if principal == nil && notPrincipal == nil {
			return s, e.fail("Missing required field Principal")
		}
		pv := principal
		if pv == nil {
			pv, s.notPrincipal = notPrincipal, true
		}
		if !parsePrincipal(pv, &s.principal, e) {
			return s, false
		}
		s.hasPrincipal = true
	}
	// Action
	if action != nil && notAction != nil {
		return s, e.fail("Statement " + stmtName(s.sid, idx) + " must not contain both Action and NotAction")
	}
	av := action
	if av == nil {
		av, s.notAction = notAction, true
	}
	if av == nil {
		return s, e.fail("Policy statement must contain actions.")
	}
	acts, ok := stringList(av, "Action", e)
	if !ok {
		return s, false
	}
	if len(acts) == 0 {
		return s, e.fail("Policy statement must contain actions.")
	}
	for _, a := range acts {
		if msg := checkAction(a); msg != "" {
			return s, e.fail(e.pick(msg, "Policy has invalid action") + ": " + strconv.Quote(a))
		}
		s.actions = append(s.actions, compilePattern(a, compileOpts{wild: true, fold: true}))
	}
	// Resource
	if resource != nil && notResource != nil {
		return s, e.fail("Statement " + stmtName(s.sid, idx) + " must not contain both Resource and NotResource")
	}
	rv := resource
	if rv == nil {
		rv, s.notResource = notResource, true
	}
	if rv == nil {
		return s, e.fail("Policy statement must contain resources.")
	}
	res, ok := stringList(rv, "Resource", e)
	if !ok {
		return s, false
	}
	if len(res) == 0 {
		return s, e.fail("Policy statement must contain resources.")
	}
	for _, r := range res {
		if r != "*" {
			if _, ok := splitARN6(r, vars); !ok || !strings.HasPrefix(r, "arn:") || strings.HasPrefix(r, "arn::") {
				return s, e.fail(e.pick("Resource "+r+" must be in ARN format or \"*\".", "Policy has invalid resource: "+strconv.Quote(r)))
			}
			if parts, _ := splitARN6(r, vars); parts[2] == "" {
				return s, e.fail(e.pick("Resource "+r+" must be in ARN format or \"*\".", "Policy has invalid resource: "+strconv.Quote(r)))
			}
		}
		s.resources = append(s.resources, compilePattern(r, compileOpts{wild: true, vars: vars}))
		s.rawResources = append(s.rawResources, r)
	}
	// Condition
	if condition != nil {
		if !parseConditionBlock(condition, vars, &s, e) {
			return s, false
		}
	}
	return s, true
}

func stmtName(sid string, idx int) string {
	if sid != "" {
		return strconv.Quote(sid)
	}
	return strconv.Itoa(idx)
}

func isAlnum(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// stringList accepts a string or an array of strings. An empty string or an
// empty array yields an empty list (the caller reports it).
func stringList(v *jval, field string, e *errs) ([]string, bool) {
	switch v.kind {
	case jString:
		if v.s == "" {
			return nil, true
		}
		return []string{v.s}, true
	case jArray:
		out := make([]string, 0, len(v.arr))
		for i := range v.arr {
			if v.arr[i].kind != jString {
				return nil, e.fail(field + " must be a string or an array of strings")
			}
			out = append(out, v.arr[i].s)
		}
		if len(out) == 1 && out[0] == "" {
			return nil, true
		}
		return out, true
	}
	return nil, e.fail(field + " must be a string or an array of strings")
}

// checkAction validates "service:Action" (or "*"), returning an IAM-style
// message on failure.
func checkAction(a string) string {
	if a == "*" {
		return ""
	}
	svc, name, ok := strings.Cut(a, ":")
	if !ok || svc == "" {
		return "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."
	}
	if strings.IndexByte(name, ':') >= 0 {
		return "Actions/Condition can contain only one colon."
	}
	if name == "" {
		return "Action is missing its name after the vendor prefix"
	}
	for i := 0; i < len(svc); i++ {
		c := svc[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return "Vendor " + svc + " is not valid"
		}
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '*' || c == '?') {
			return "Action name contains an invalid character"
		}
	}
	return ""
}

func parseConditionBlock(v *jval, vars bool, s *statement, e *errs) bool {
	if v.kind != jObject {
		return e.fail("Condition must be an object mapping condition operators to key/value objects")
	}
	for i := range v.obj {
		op := &v.obj[i]
		if _, _, _, ok := parseOperator(op.key); !ok {
			return e.fail("Invalid Condition type : " + op.key)
		}
		if op.val.kind != jObject || len(op.val.obj) == 0 {
			return e.fail("Condition operator " + op.key + " must map condition keys to values")
		}
		seen := map[string]bool{}
		for j := range op.val.obj {
			kv := &op.val.obj[j]
			lk := strings.ToLower(kv.key)
			if seen[lk] {
				return e.fail("Duplicate condition key " + kv.key + " in " + op.key)
			}
			seen[lk] = true
			var vals []string
			switch kv.val.kind {
			case jString, jNumber, jBool:
				t, _ := kv.val.scalarText()
				vals = []string{t}
			case jArray:
				for k := range kv.val.arr {
					t, ok := kv.val.arr[k].scalarText()
					if !ok {
						return e.fail("Condition values for " + kv.key + " must be strings, numbers or booleans")
					}
					vals = append(vals, t)
				}
			default:
				return e.fail("Condition values for " + kv.key + " must be strings, numbers or booleans")
			}
			if len(vals) == 0 {
				return e.fail("Condition key " + kv.key + " in " + op.key + " has no values")
			}
			c, ok := compileCondition(op.key, kv.key, vals, vars, e)
			if !ok {
				return false
			}
			s.conds = append(s.conds, c)
		}
	}
	// Evaluate cheap, selective conditions first; order does not change the
	// result because all conditions are ANDed.
	sort.SliceStable(s.conds, func(a, b int) bool { return condCost(&s.conds[a]) < condCost(&s.conds[b]) })
	return true
}

func condCost(c *cond) int {
	switch c.op {
	case opNull, opBool:
		return 0
	case opString, opStringIgnoreCase, opBinary, opIP:
		return 1
	case opNumericEq, opNumericLt, opNumericLe, opNumericGt, opNumericGe:
		return 2
	}
	return 3
}
