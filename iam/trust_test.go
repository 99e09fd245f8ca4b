package iam

import (
	"errors"
	"testing"

	"github.com/postern/postern/policy"
)

func TestParseTrustPolicy(t *testing.T) {
	alice := policy.Principal{Account: "111122223333", ARN: "arn:aws:iam::111122223333:user/alice"}
	bob := policy.Principal{Account: "111122223333", ARN: "arn:aws:iam::111122223333:user/bob"}
	tests := []struct {
		name, doc string
		ok        bool
		allows    []policy.Principal
		denies    []policy.Principal
	}{
		{"object statement", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/alice"},"Action":"sts:AssumeRole"}}`,
			true, []policy.Principal{alice}, []policy.Principal{bob}},
		{"array, white space", "{\n \"Version\": \"2012-10-17\",\n \"Statement\": [ {\"Effect\":\"Allow\", \"Principal\": {\"AWS\": [\"arn:aws:iam::111122223333:user/alice\", \"arn:aws:iam::111122223333:user/bob\"]}, \"Action\": \"sts:AssumeRole\"} ]\n}",
			true, []policy.Principal{alice, bob}, nil},
		{"condition keeps working", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"x"}}}]}`,
			true, nil, []policy.Principal{alice}},
		{"Resource is prohibited", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole","Resource":"*"}]}`, false, nil, nil},
		{"NotResource is prohibited", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole","NotResource":"*"}]}`, false, nil, nil},
		{"principal required", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole"}]}`, false, nil, nil},
		{"unknown element", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Bogus":1}]}`, false, nil, nil},
		{"duplicate key", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Effect":"Deny","Principal":"*","Action":"sts:AssumeRole"}]}`, false, nil, nil},
		{"empty statement", `{"Version":"2012-10-17","Statement":[{}]}`, false, nil, nil},
		{"not JSON", `{"Version":`, false, nil, nil},
		{"a value named Resource is fine", `{"Version":"2012-10-17","Statement":[{"Sid":"Resource","Effect":"Allow","Principal":{"AWS":["arn:aws:iam::111122223333:user/alice"]},"Action":["sts:AssumeRole"]}]}`, true, []policy.Principal{alice}, []policy.Principal{bob}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := ParseTrustPolicy(tc.doc)
			if (err == nil) != tc.ok {
				t.Fatalf("err = %v, want ok=%v", err, tc.ok)
			}
			if err != nil {
				var ie *Error
				if !errors.As(err, &ie) || ie.Code != CodeMalformedPolicyDocument {
					t.Fatalf("error %v is not MalformedPolicyDocument", err)
				}
				return
			}
			for _, pr := range tc.allows {
				d := policy.Evaluate(&policy.Input{Resource: p}, &policy.Request{Principal: pr, Action: "sts:AssumeRole", Resource: "arn:aws:iam::111122223333:role/r", ResourceAccount: "111122223333"})
				if !d.Allowed {
					t.Errorf("%s denied: %s", pr.ARN, d.Reason)
				}
			}
			for _, pr := range tc.denies {
				d := policy.Evaluate(&policy.Input{Resource: p}, &policy.Request{Principal: pr, Action: "sts:AssumeRole", Resource: "arn:aws:iam::111122223333:role/r", ResourceAccount: "111122223333"})
				if d.Allowed {
					t.Errorf("%s allowed", pr.ARN)
				}
			}
		})
	}
}

func TestTrustPolicySizeLimit(t *testing.T) {
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"` + string(make([]byte, 0)) + pad(MaxTrustPolicySize) + `"}}}]}`
	if _, err := ParseTrustPolicy(doc); !errors.Is(err, ErrLimitExceeded) {
		t.Fatalf("got %v, want LimitExceeded", err)
	}
}

func pad(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = 'x'
	}
	return string(b)
}
