package policy

import (
	"strings"
	"testing"
)

// The documents the issue requires to be accepted verbatim.
var (
	outpostsPresignedAge = `{"Version":"2012-10-17","Statement":[{"Sid":"Deny a presigned URL request if the signature is more than 10 minutes old","Effect":"Deny","Principal":{"AWS":"444455556666"},"Action":"s3-outposts:*","Resource":"arn:aws:s3-outposts:us-east-1:111122223333:outpost/op-01ac5d28a6a232904/bucket/example-outpost-bucket/object/*","Condition":{"NumericGreaterThan":{"s3-outposts:signatureAge":600000},"StringEquals":{"s3-outposts:authType":"REST-QUERY-STRING"}}}]}`
	outpostsHeaderOnly   = `{"Version":"2012-10-17","Statement":[{"Sid":"Allow only requests that use the Authorization header for request authentication. Deny presigned URL requests.","Effect":"Deny","Principal":{"AWS":"111122223333"},"Action":"s3-outposts:*","Resource":"arn:aws:s3-outposts:us-east-1:111122223333:outpost/op-01ac5d28a6a232904/bucket/example-outpost-bucket/object/*","Condition":{"StringNotEquals":{"s3-outposts:authType":"REST-HEADER"}}}]}`
	outpostsUnsigned     = `{"Version":"2012-10-17","Statement":[{"Sid":"Deny uploads with unsigned payloads.","Effect":"Deny","Principal":{"AWS":"111122223333"},"Action":"s3-outposts:*","Resource":"arn:aws:s3-outposts:us-east-1:111122223333:outpost/op-01ac5d28a6a232904/bucket/example-outpost-bucket/object/*","Condition":{"StringEquals":{"s3-outposts:x-amz-content-sha256":"UNSIGNED-PAYLOAD"}}}]}`
	networkRestriction   = `{"Version":"2012-10-17","Statement":[{"Sid":"NetworkRestrictionForIAMPrincipal","Effect":"Deny","Action":"*","Resource":"*","Condition":{"NotIpAddressIfExists":{"aws:SourceIp":"127.0.0.1/32"},"BoolIfExists":{"aws:ViaAWSService":"false"}}}]}`
)

func TestRequiredDocumentsParse(t *testing.T) {
	for _, d := range []string{outpostsPresignedAge, outpostsHeaderOnly, outpostsUnsigned} {
		mustParse(t, d, Resource)
	}
	mustParse(t, networkRestriction, Identity)
}

func TestParseShapes(t *testing.T) {
	ok := []struct {
		name string
		doc  string
		kind Kind
	}{
		{"statement object", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}`, Identity},
		{"statement array", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:Get*","s3:List?ucket"],"Resource":["arn:aws:s3:::b","arn:aws:s3:::b/*"]}]}`, Identity},
		{"no version", `{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}`, Identity},
		{"2008 version", `{"Version":"2008-10-17","Id":"x","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}`, Identity},
		{"NotAction NotResource", `{"Version":"2012-10-17","Statement":{"Effect":"Deny","NotAction":"s3:Get*","NotResource":"arn:aws:s3:::b/*"}}`, Identity},
		{"principal star", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}}`, Resource},
		{"principal types", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":["111122223333","arn:aws:iam::444455556666:root","arn:aws:iam::111122223333:user/a/b","arn:aws:iam::111122223333:role/R","arn:aws:sts::111122223333:assumed-role/R/s"],"Service":"cloudfront.amazonaws.com","CanonicalUser":"79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be","Federated":"cognito-identity.amazonaws.com"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}}`, Resource},
		{"NotPrincipal", `{"Version":"2012-10-17","Statement":{"Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:iam::111122223333:user/a"},"Action":"s3:*","Resource":"arn:aws:s3:::b/*"}}`, Resource},
		{"condition array values", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"ForAnyValue:StringLike":{"aws:TagKeys":["a*",1,true]}}}}`, Identity},
		{"resource with variable colon", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b/${aws:PrincipalAccount}/*"}}`, Identity},
	}
	for _, tc := range ok {
		t.Run(tc.name, func(t *testing.T) { mustParse(t, tc.doc, tc.kind) })
	}
}

func TestParseErrors(t *testing.T) {
	stmt := func(body string) string {
		return `{"Version":"2012-10-17","Statement":[{` + body + `}]}`
	}
	allowAll := `"Effect":"Allow","Action":"s3:*","Resource":"*"`
	bucketStmt := `"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"`
	cases := []struct {
		name string
		doc  string
		kind Kind
		msg  string // substring of the message
	}{
		{"empty action", strings.Replace(networkRestriction, `"Action":"*"`, `"Action":""`, 1), Identity, "Policy statement must contain actions."},
		{"empty action and resource", strings.Replace(strings.Replace(networkRestriction, `"Action":"*"`, `"Action":""`, 1), `"Resource":"*"`, `"Resource":""`, 1), Identity, "Policy statement must contain actions."},
		{"empty resource", strings.Replace(networkRestriction, `"Resource":"*"`, `"Resource":""`, 1), Identity, "Policy statement must contain resources."},
		{"empty action list", stmt(`"Effect":"Allow","Action":[],"Resource":"*"`), Identity, "Policy statement must contain actions."},
		{"missing action", stmt(`"Effect":"Allow","Resource":"*"`), Identity, "Policy statement must contain actions."},
		{"missing resource", stmt(`"Effect":"Allow","Action":"s3:*"`), Identity, "Policy statement must contain resources."},
		{"unknown operator", stmt(allowAll + `,"Condition":{"StringEqualz":{"aws:x":"y"}}`), Identity, "Invalid Condition type : StringEqualz"},
		{"unknown set qualifier", stmt(allowAll + `,"Condition":{"ForSomeValues:StringEquals":{"aws:x":"y"}}`), Identity, "Invalid Condition type : ForSomeValues:StringEquals"},
		{"NullIfExists", stmt(allowAll + `,"Condition":{"NullIfExists":{"aws:x":"true"}}`), Identity, "Invalid Condition type : NullIfExists"},
		{"operator case", stmt(allowAll + `,"Condition":{"stringequals":{"aws:x":"y"}}`), Identity, "Invalid Condition type : stringequals"},
		{"bad CIDR", stmt(allowAll + `,"Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/33"}}`), Identity, "not an IP address or CIDR block"},
		{"bad IP", stmt(allowAll + `,"Condition":{"IpAddress":{"aws:SourceIp":"300.1.1.1"}}`), Identity, "not an IP address or CIDR block"},
		{"bad ARN in condition", stmt(allowAll + `,"Condition":{"ArnLike":{"aws:SourceArn":"sns:topic"}}`), Identity, "not an ARN"},
		{"bad number", stmt(allowAll + `,"Condition":{"NumericLessThan":{"s3:max-keys":"ten"}}`), Identity, "not a number"},
		{"bad date", stmt(allowAll + `,"Condition":{"DateLessThan":{"aws:CurrentTime":"yesterday"}}`), Identity, "not an ISO 8601 date"},
		{"bad bool", stmt(allowAll + `,"Condition":{"Bool":{"aws:SecureTransport":"yes"}}`), Identity, "not true or false"},
		{"bad base64", stmt(allowAll + `,"Condition":{"BinaryEquals":{"aws:x":"!!"}}`), Identity, "not base64"},
		{"bad condition key", stmt(allowAll + `,"Condition":{"StringEquals":{"prefix":"y"}}`), Identity, "invalid condition key"},
		{"empty condition values", stmt(allowAll + `,"Condition":{"StringEquals":{"aws:x":[]}}`), Identity, "has no values"},
		{"object condition value", stmt(allowAll + `,"Condition":{"StringEquals":{"aws:x":{"a":1}}}`), Identity, "must be strings, numbers or booleans"},
		{"null condition value", stmt(allowAll + `,"Condition":{"StringEquals":{"aws:x":null}}`), Identity, "must be strings, numbers or booleans"},
		{"invalid resource ARN", stmt(`"Effect":"Allow","Action":"s3:*","Resource":"bucket/key"`), Identity, `Resource bucket/key must be in ARN format or "*".`},
		{"invalid resource bucket policy", stmt(`"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3"`), Resource, "Policy has invalid resource"},
		{"unknown top-level element", `{"Version":"2012-10-17","Statment":[]}`, Identity, "Unknown field Statment"},
		{"unknown statement element", stmt(allowAll + `,"Conditions":{}`), Identity, "Unknown field Conditions"},
		{"effect", stmt(`"Effect":"allow","Action":"s3:*","Resource":"*"`), Identity, "Invalid effect: allow"},
		{"missing effect", stmt(`"Action":"s3:*","Resource":"*"`), Identity, "Missing required field Effect"},
		{"Action and NotAction", stmt(allowAll + `,"NotAction":"s3:Get*"`), Identity, "both Action and NotAction"},
		{"Resource and NotResource", stmt(allowAll + `,"NotResource":"*"`), Identity, "both Resource and NotResource"},
		{"principal in identity policy", stmt(allowAll + `,"Principal":"*"`), Identity, "Policy document should not specify a principal."},
		{"NotPrincipal in identity policy", stmt(allowAll + `,"NotPrincipal":{"AWS":"111122223333"}`), Identity, "Policy document should not specify a principal."},
		{"resource policy without principal", stmt(`"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b"`), Resource, "Missing required field Principal"},
		{"invalid principal string", stmt(`"Effect":"Allow","Principal":"alice","Action":"s3:*","Resource":"arn:aws:s3:::b"`), Resource, "Invalid principal in policy"},
		{"invalid principal ARN", stmt(`"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::1234:user/x"},"Action":"s3:*","Resource":"arn:aws:s3:::b"`), Resource, "Invalid principal in policy"},
		{"wildcard principal ARN", stmt(`"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/*"},"Action":"s3:*","Resource":"arn:aws:s3:::b"`), Resource, "Invalid principal in policy"},
		{"unknown principal type", stmt(`"Effect":"Allow","Principal":{"Aws":"*"},"Action":"s3:*","Resource":"arn:aws:s3:::b"`), Resource, "unknown principal type Aws"},
		{"invalid action no vendor", stmt(`"Effect":"Allow","Action":"GetObject","Resource":"*"`), Identity, "prefaced by a vendor"},
		{"invalid action two colons", stmt(`"Effect":"Allow","Action":"s3:Get:Object","Resource":"*"`), Identity, "only one colon"},
		{"invalid action bucket policy", stmt(`"Effect":"Allow","Principal":"*","Action":"invalid_action","Resource":"arn:aws:s3:::b"`), Resource, "Policy has invalid action"},
		{"version", `{"Version":"2012-10-18","Statement":{` + allowAll + `}}`, Identity, "Invalid policy version"},
		{"missing statement", `{"Version":"2012-10-17"}`, Identity, "Missing required field Statement"},
		{"empty statement", `{"Version":"2012-10-17","Statement":[]}`, Resource, "Statement is empty"},
		{"not JSON", `{"Version":`, Identity, "Syntax errors in policy."},
		{"trailing data", `{"Statement":{` + allowAll + `}} {}`, Identity, "trailing data"},
		{"array document", `[]`, Resource, "first byte must be '{'"},
		{"duplicate element", `{"Version":"2012-10-17","Version":"2012-10-17","Statement":{` + allowAll + `}}`, Identity, "Duplicate field Version"},
		{"duplicate sid", `{"Version":"2012-10-17","Statement":[{"Sid":"A",` + allowAll + `},{"Sid":"A",` + allowAll + `}]}`, Identity, "must be unique"},
		{"non-alnum sid in identity policy", stmt(`"Sid":"a b",` + allowAll), Identity, "alpha-numeric"},
		{"bucket policy too large", `{"Version":"2012-10-17","Statement":[{"Sid":"` + strings.Repeat("x", MaxBucketPolicySize) + `",` + bucketStmt + `}]}`, Resource, "Policy exceeds the maximum allowed document size."},
		{"deep nesting", `{"Version":"2012-10-17","Statement":{` + allowAll + `,"Condition":{"StringEquals":{"aws:x":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}}}}`, Identity, "nested too deeply"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := parseErr(t, tc.doc, tc.kind)
			wantCode := CodeMalformedPolicyDocument
			if tc.kind == Resource {
				wantCode = CodeMalformedPolicy
			}
			if e.Code != wantCode {
				t.Errorf("code %q, want %q", e.Code, wantCode)
			}
			if !strings.Contains(e.Message, tc.msg) {
				t.Errorf("message %q does not contain %q", e.Message, tc.msg)
			}
		})
	}
}

func TestSizeLimits(t *testing.T) {
	doc := []byte(`{ "Version" : "2012-10-17",` + "\n" + strings.Repeat(" ", 10000) + `"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}`)
	if err := CheckSize(doc, MaxUserInlinePolicySize); err != nil {
		t.Fatalf("white space counted: %v", err)
	}
	big := []byte(`{"Version":"2012-10-17","Statement":{"Sid":"` + strings.Repeat("a", MaxManagedPolicySize) + `","Effect":"Allow","Action":"s3:*","Resource":"*"}}`)
	err := CheckSize(big, MaxManagedPolicySize)
	e, ok := err.(*Error)
	if !ok || e.Code != CodeLimitExceeded || e.Message != "Cannot exceed quota for PolicySize: 6144" {
		t.Fatalf("CheckSize = %v", err)
	}
	if CheckSize(big, MaxRoleInlinePolicySize) != nil {
		t.Fatal("role limit should accept a 6 KB policy")
	}
	// A bucket policy that is large only because of white space is accepted.
	padded := `{"Version":"2012-10-17",` + strings.Repeat(" ", MaxBucketPolicySize) + `"Statement":{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}}`
	mustParse(t, padded, Resource)
}

func TestPolicyAccessors(t *testing.T) {
	p := mustParse(t, `{"Version":"2012-10-17","Id":"P1","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"},{"Effect":"Deny","Action":"s3:*","Resource":"*"}]}`, Identity)
	if p.Kind() != Identity || p.Version() != Version2012 || p.ID() != "P1" || p.NumStatements() != 2 {
		t.Fatalf("accessors: %v %v %v %v", p.Kind(), p.Version(), p.ID(), p.NumStatements())
	}
	if Identity.String() != "identity-based policy" || Resource.String() != "resource-based policy" {
		t.Fatal("Kind.String")
	}
	if _, err := Parse([]byte(`{}`), Kind(7)); err == nil {
		t.Fatal("unknown kind accepted")
	}
}
