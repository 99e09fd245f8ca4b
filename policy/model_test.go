package policy

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// This file checks Evaluate against a reference model written straight from
// AWS's documented evaluation rules ("Policy evaluation logic", "Cross-account
// policy evaluation logic", "How IAM roles differ from resource-based
// policies", "Session policies"), over random callers and random statements
// whose Principal elements name users, roles, sessions, accounts or everyone.

// Principal forms a model statement can carry.
const (
	pfNone       = iota // identity/session policy statement: no Principal
	pfStar              // "*"
	pfAWSStar           // {"AWS":"*"}
	pfAccountA          // "111122223333"
	pfRootARNA          // arn:aws:iam::111122223333:root
	pfAccountB          // "444455556666"
	pfAlice             // arn:aws:iam::111122223333:user/alice
	pfBob               // arn:aws:iam::444455556666:user/bob
	pfRoleReader        // arn:aws:iam::111122223333:role/Reader
	pfSessionS1         // arn:aws:sts::111122223333:assumed-role/Reader/s1
	pfCount
)

var pfJSON = [pfCount]string{
	pfStar:       `"*"`,
	pfAWSStar:    `{"AWS":"*"}`,
	pfAccountA:   `{"AWS":"111122223333"}`,
	pfRootARNA:   `{"AWS":"arn:aws:iam::111122223333:root"}`,
	pfAccountB:   `{"AWS":"444455556666"}`,
	pfAlice:      `{"AWS":"arn:aws:iam::111122223333:user/alice"}`,
	pfBob:        `{"AWS":"arn:aws:iam::444455556666:user/bob"}`,
	pfRoleReader: `{"AWS":"arn:aws:iam::111122223333:role/Reader"}`,
	pfSessionS1:  `{"AWS":"arn:aws:sts::111122223333:assumed-role/Reader/s1"}`,
}

type modelStmt struct {
	deny    bool
	pf      int
	notPrin bool
	matches bool // Action and Resource name the request
}

// Model callers.
var modelCallers = []Principal{
	alice, bob, rootA, anon, session,
	{Root: true, Account: acctB, ARN: "arn:aws:iam::444455556666:root"},
	{Account: acctB, ARN: "arn:aws:sts::444455556666:assumed-role/Writer/w", RoleARN: "arn:aws:iam::444455556666:role/Writer"},
}

// names reports how the principal form names the caller: "" (not at all),
// "everyone", "account", "role", or "self" (the caller's own user or session
// ARN).
func (s modelStmt) names(p Principal) string {
	acct := func(a string) string {
		if !p.Anonymous && p.Account == a {
			return "account"
		}
		return ""
	}
	eq := func(arn string) string {
		if !p.Anonymous && p.ARN == arn {
			return "self"
		}
		return ""
	}
	switch s.pf {
	case pfStar, pfAWSStar:
		return "everyone"
	case pfAccountA, pfRootARNA:
		if p.Root && p.Account == acctA {
			return "self"
		}
		return acct(acctA)
	case pfAccountB:
		if p.Root && p.Account == acctB {
			return "self"
		}
		return acct(acctB)
	case pfAlice:
		return eq(alice.ARN)
	case pfBob:
		return eq(bob.ARN)
	case pfRoleReader:
		if !p.Anonymous && p.RoleARN == "arn:aws:iam::111122223333:role/Reader" {
			return "role"
		}
	case pfSessionS1:
		return eq(session.ARN)
	}
	return ""
}

func (s modelStmt) json(withPrincipal bool) string {
	var b strings.Builder
	b.WriteString(`{"Effect":"`)
	if s.deny {
		b.WriteString("Deny")
	} else {
		b.WriteString("Allow")
	}
	b.WriteString(`"`)
	if withPrincipal {
		key := "Principal"
		if s.notPrin {
			key = "NotPrincipal"
		}
		b.WriteString(`,"` + key + `":` + pfJSON[s.pf])
	}
	act := "s3:GetObject"
	if !s.matches {
		act = "s3:PutObject"
	}
	b.WriteString(`,"Action":"` + act + `","Resource":"arn:aws:s3:::b/*"}`)
	return b.String()
}

type modelCase struct {
	caller       Principal
	resAcct      string
	mustAllow    bool
	identity     [][]modelStmt
	session      [][]modelStmt
	resource     []modelStmt
	haveResource bool
}

func docOf(stmts []modelStmt, withPrincipal bool) string {
	parts := make([]string, len(stmts))
	for i, s := range stmts {
		parts[i] = s.json(withPrincipal)
	}
	return `{"Version":"2012-10-17","Statement":[` + strings.Join(parts, ",") + `]}`
}

// model is the reference: AWS's rules, spelled out one by one.
func model(c *modelCase) bool {
	p := c.caller
	resAcct := c.resAcct
	// A resource statement applies when its (Not)Principal names the caller.
	applies := func(s modelStmt) (bool, string) {
		if !s.matches {
			return false, ""
		}
		how := s.names(p)
		if s.notPrin {
			return how == "", "everyone"
		}
		return how != "", how
	}
	// 1. Any explicit deny, anywhere that applies to the caller, denies.
	for _, s := range c.resource {
		if ok, _ := applies(s); ok && s.deny {
			return false
		}
	}
	if !p.Anonymous && !p.Root {
		for _, pol := range append(append([][]modelStmt{}, c.identity...), c.session...) {
			for _, s := range pol {
				if s.deny && s.matches {
					return false
				}
			}
		}
	}
	// Resource-policy allows, by how they name the caller.
	resSelf, resOther, resAccount := false, false, false
	for _, s := range c.resource {
		ok, how := applies(s)
		if !ok || s.deny {
			continue
		}
		switch how {
		case "self":
			resSelf = true
		case "account":
			resAccount = true
		default: // everyone, role
			resOther = true
		}
	}
	resAny := resSelf || resOther || resAccount
	same := !p.Anonymous && p.Account == resAcct
	// 2. Anonymous callers: only a resource policy naming everyone.
	if p.Anonymous {
		return resOther
	}
	// 3. The root user: everything in its own account, save a resource
	// that must itself allow (a role's trust policy); elsewhere only what a
	// resource policy grants its account.
	if p.Root {
		if same && !c.mustAllow {
			return true
		}
		return resAny
	}
	idAllow := false
	for _, pol := range c.identity {
		for _, s := range pol {
			if !s.deny && s.matches {
				idAllow = true
			}
		}
	}
	// Every session policy must allow what the identity side grants, and
	// what a resource policy grants the role or everyone; a grant naming
	// the session itself is not limited.
	sessOK := true
	for _, pol := range c.session {
		ok := false
		for _, s := range pol {
			if !s.deny && s.matches {
				ok = true
			}
		}
		sessOK = sessOK && ok
	}
	identity := idAllow && sessOK
	if !same {
		// 4. Cross-account: both sides must allow; naming the account is
		// enough on the resource side.
		return identity && resAny
	}
	// 5. Same account. Naming the account only delegates to it.
	direct := resSelf || (resOther && sessOK)
	if c.mustAllow {
		return direct || (identity && resAny)
	}
	return direct || identity
}

func genModelCase(r *rand.Rand) *modelCase {
	c := &modelCase{
		caller:    pick(r, modelCallers),
		resAcct:   pick(r, []string{acctA, acctA, acctB}),
		mustAllow: r.IntN(3) == 0,
	}
	stmt := func(withPrincipal bool) modelStmt {
		s := modelStmt{deny: r.IntN(5) == 0, matches: r.IntN(4) != 0}
		if withPrincipal {
			s.pf = 1 + r.IntN(pfCount-1)
			s.notPrin = s.deny && r.IntN(5) == 0
		}
		return s
	}
	pol := func(withPrincipal bool) []modelStmt {
		n := 1 + r.IntN(3)
		out := make([]modelStmt, n)
		for i := range out {
			out[i] = stmt(withPrincipal)
		}
		return out
	}
	for i := r.IntN(3); i > 0; i-- {
		c.identity = append(c.identity, pol(false))
	}
	if c.caller.RoleARN != "" {
		for i := r.IntN(3); i > 0; i-- {
			c.session = append(c.session, pol(false))
		}
	}
	if r.IntN(5) != 0 {
		c.haveResource = true
		c.resource = pol(true)
	}
	return c
}

func checkModelCase(t *testing.T, c *modelCase) {
	t.Helper()
	in := &Input{}
	for _, p := range c.identity {
		in.Identity = append(in.Identity, mustParse(t, docOf(p, false), Identity))
	}
	for _, p := range c.session {
		in.Session = append(in.Session, mustParse(t, docOf(p, false), Identity))
	}
	if c.haveResource {
		in.Resource = mustParse(t, docOf(c.resource, true), Resource)
	}
	req := &Request{Principal: c.caller, Action: get, Resource: objRes, ResourceAccount: c.resAcct, ResourceMustAllow: c.mustAllow}
	got := Evaluate(in, req).Allowed
	if want := model(c); got != want {
		var b strings.Builder
		fmt.Fprintf(&b, "caller %+v, resource account %s, mustAllow %v\n", c.caller, c.resAcct, c.mustAllow)
		for _, p := range c.identity {
			fmt.Fprintf(&b, "identity %s\n", docOf(p, false))
		}
		for _, p := range c.session {
			fmt.Fprintf(&b, "session  %s\n", docOf(p, false))
		}
		if c.haveResource {
			fmt.Fprintf(&b, "resource %s\n", docOf(c.resource, true))
		}
		t.Fatalf("Evaluate allowed=%v, model says %v\n%s", got, want, b.String())
	}
}

func TestEvaluateAgainstModel(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 2026))
	for i := 0; i < 20000; i++ {
		checkModelCase(t, genModelCase(r))
	}
}

func FuzzEvaluateAgainstModel(f *testing.F) {
	for _, s := range []uint64{0, 1, 17, 2026, 1 << 40} {
		var b [16]byte
		binary.LittleEndian.PutUint64(b[:], s)
		f.Add(b[:])
	}
	f.Fuzz(func(t *testing.T, seed []byte) {
		var b [16]byte
		copy(b[:], seed)
		r := rand.New(rand.NewPCG(binary.LittleEndian.Uint64(b[:8]), binary.LittleEndian.Uint64(b[8:])))
		checkModelCase(t, genModelCase(r))
	})
}
