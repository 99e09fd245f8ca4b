package policy

import (
	"math/rand/v2"
	"strings"
	"testing"
)

var (
	propActions   = []string{"s3:GetObject", "s3:PutObject", "s3:ListBucket", "s3:DeleteObject"}
	propActPats   = []string{"s3:*", "s3:Get*", "s3:GetObject", "s3:?utObject", "*", "s3:List*"}
	propResources = []string{"arn:aws:s3:::b", "arn:aws:s3:::b/k", "arn:aws:s3:::b/home/alice/x", "arn:aws:s3:::c/k"}
	propResPats   = []string{"*", "arn:aws:s3:::b", "arn:aws:s3:::b/*", "arn:aws:s3:::b/home/${aws:username}/*", "arn:aws:s3:::?/k", "arn:aws:s3:::c*"}
	propConds     = []string{
		``,
		`,"Condition":{"Bool":{"aws:SecureTransport":"true"}}`,
		`,"Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}`,
		`,"Condition":{"StringNotEqualsIfExists":{"s3:prefix":"x"}}`,
		`,"Condition":{"ForAllValues:StringLike":{"aws:TagKeys":["a*"]}}`,
		`,"Condition":{"Null":{"aws:username":"false"}}`,
	}
	propPrincipals = []string{`"*"`, `{"AWS":"111122223333"}`, `{"AWS":"444455556666"}`, `{"AWS":"arn:aws:iam::111122223333:user/alice"}`, `{"AWS":"arn:aws:iam::111122223333:role/Reader"}`}
	propCallers    = []Principal{alice, bob, rootA, anon, session}
)

func pick[T any](r *rand.Rand, s []T) T { return s[r.IntN(len(s))] }

func randStatement(r *rand.Rand, effect string, withPrincipal bool) string {
	var b strings.Builder
	b.WriteString(`{"Effect":"` + effect + `"`)
	if withPrincipal {
		key := "Principal"
		if r.IntN(6) == 0 {
			key = "NotPrincipal"
		}
		b.WriteString(`,"` + key + `":` + pick(r, propPrincipals))
	}
	ak := "Action"
	if r.IntN(6) == 0 {
		ak = "NotAction"
	}
	b.WriteString(`,"` + ak + `":"` + pick(r, propActPats) + `"`)
	rk := "Resource"
	if r.IntN(6) == 0 {
		rk = "NotResource"
	}
	b.WriteString(`,"` + rk + `":"` + pick(r, propResPats) + `"`)
	b.WriteString(pick(r, propConds))
	b.WriteString("}")
	return b.String()
}

func randDoc(r *rand.Rand, n int, withPrincipal bool, extra string) string {
	stmts := make([]string, 0, n+1)
	for i := 0; i < n; i++ {
		eff := "Allow"
		if r.IntN(4) == 0 {
			eff = "Deny"
		}
		stmts = append(stmts, randStatement(r, eff, withPrincipal))
	}
	if extra != "" {
		stmts = append(stmts, extra)
	}
	return `{"Version":"2012-10-17","Statement":[` + strings.Join(stmts, ",") + `]}`
}

func randRequest(r *rand.Rand) *Request {
	c := MapContext{}
	if r.IntN(2) == 0 {
		c.Set("aws:SecureTransport", pick(r, []string{"true", "false"}))
	}
	if r.IntN(2) == 0 {
		c.Set("aws:SourceIp", pick(r, []string{"10.1.2.3", "192.0.2.1"}))
	}
	if r.IntN(2) == 0 {
		c.Set("aws:username", "alice")
	}
	if r.IntN(3) == 0 {
		c.Set("aws:TagKeys", pick(r, []string{"ab", "b"}), "a")
	}
	if r.IntN(3) == 0 {
		c.Set("s3:prefix", pick(r, []string{"x", "y"}))
	}
	return &Request{
		Principal:       pick(r, propCallers),
		Action:          pick(r, propActions),
		Resource:        pick(r, propResources),
		ResourceAccount: pick(r, []string{acctA, acctB}),
		Context:         c,
	}
}

type propScenario struct {
	idN, sessN int
	resource   bool
}

// build parses random identity, session and resource policies; extra is
// appended to the policy selected by where (0 identity, 1 session, 2 resource).
func (s propScenario) build(t *testing.T, seed uint64, where int, extra string) *Input {
	r := rand.New(rand.NewPCG(seed, 7))
	in := &Input{}
	for i := 0; i < s.idN; i++ {
		e := ""
		if where == 0 && i == 0 {
			e = extra
		}
		in.Identity = append(in.Identity, mustParse(t, randDoc(r, 1+r.IntN(3), false, e), Identity))
	}
	for i := 0; i < s.sessN; i++ {
		e := ""
		if where == 1 && i == 0 {
			e = extra
		}
		in.Session = append(in.Session, mustParse(t, randDoc(r, 1+r.IntN(3), false, e), Identity))
	}
	if s.resource {
		e := ""
		if where == 2 {
			e = extra
		}
		in.Resource = mustParse(t, randDoc(r, 1+r.IntN(4), true, e), Resource)
	}
	return in
}

// TestPropertyMonotonic checks that adding a Deny statement never turns a
// denial into an allow, and adding an Allow never turns an allow into a
// denial.
func TestPropertyMonotonic(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for iter := 0; iter < 3000; iter++ {
		s := propScenario{idN: 1 + r.IntN(2), sessN: r.IntN(2), resource: true}
		seed := r.Uint64()
		where := r.IntN(3)
		if where == 1 && s.sessN == 0 {
			where = 0
		}
		withPrincipal := where == 2
		base := s.build(t, seed, where, "")
		deny := s.build(t, seed, where, randStatement(r, "Deny", withPrincipal))
		allow := s.build(t, seed, where, randStatement(r, "Allow", withPrincipal))
		for k := 0; k < 5; k++ {
			req := randRequest(r)
			b := Evaluate(base, req)
			if d := Evaluate(deny, req); d.Allowed && !b.Allowed {
				t.Fatalf("adding a Deny allowed a denied request\nbase %+v\nnew %+v\nreq %+v", b, d, req)
			}
			if a := Evaluate(allow, req); b.Allowed && !a.Allowed {
				t.Fatalf("adding an Allow denied an allowed request\nbase %+v\nnew %+v\nreq %+v", b, a, req)
			}
			if b.ExplicitDeny && b.Allowed {
				t.Fatalf("explicit deny and allowed: %+v", b)
			}
		}
	}
}
