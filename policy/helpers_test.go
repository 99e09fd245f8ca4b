package policy

import (
	"errors"
	"testing"
)

const (
	acctA = "111122223333"
	acctB = "444455556666"
)

var (
	alice   = Principal{Account: acctA, ARN: "arn:aws:iam::111122223333:user/alice"}
	bob     = Principal{Account: acctB, ARN: "arn:aws:iam::444455556666:user/bob"}
	rootA   = Principal{Root: true, Account: acctA, ARN: "arn:aws:iam::111122223333:root"}
	anon    = Principal{Anonymous: true}
	session = Principal{Account: acctA, ARN: "arn:aws:sts::111122223333:assumed-role/Reader/s1", RoleARN: "arn:aws:iam::111122223333:role/Reader"}
)

func mustParse(t testing.TB, doc string, k Kind) *Policy {
	t.Helper()
	p, err := Parse([]byte(doc), k)
	if err != nil {
		t.Fatalf("Parse(%s): %v", doc, err)
	}
	return p
}

func parseErr(t testing.TB, doc string, k Kind) *Error {
	t.Helper()
	_, err := Parse([]byte(doc), k)
	if err == nil {
		t.Fatalf("Parse(%s) succeeded, want error", doc)
	}
	var pe *Error
	if !errors.As(err, &pe) {
		t.Fatalf("Parse error %T is not *Error", err)
	}
	return pe
}

// ctx builds a MapContext from key, value pairs; a key repeated adds values.
func ctx(kv ...string) MapContext {
	m := MapContext{}
	for i := 0; i+1 < len(kv); i += 2 {
		k := kv[i]
		vals, _ := m.Get(lower(k))
		m.Set(k, append(vals, kv[i+1])...)
	}
	return m
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		b[i] = lowerASCII(c)
	}
	return string(b)
}

// identityAllows evaluates a single identity policy for alice.
func identityAllows(t testing.TB, doc string, action, resource string, c Context) bool {
	t.Helper()
	p := mustParse(t, doc, Identity)
	return Evaluate(&Input{Identity: []*Policy{p}}, &Request{Principal: alice, Action: action, Resource: resource, Context: c}).Allowed
}
