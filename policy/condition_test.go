package policy

import "testing"

// condAllows reports whether an Allow statement carrying cond grants a request
// with context c.
func condAllows(t *testing.T, cond string, c Context) bool {
	t.Helper()
	doc := `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"*","Condition":` + cond + `}}`
	return identityAllows(t, doc, "s3:GetObject", "arn:aws:s3:::b/k", c)
}

func TestConditionOperators(t *testing.T) {
	none := ctx()
	cases := []struct {
		name string
		cond string
		c    MapContext
		want bool
	}{
		// String
		{"StringEquals match", `{"StringEquals":{"s3:prefix":"home/"}}`, ctx("s3:prefix", "home/"), true},
		{"StringEquals case-sensitive", `{"StringEquals":{"s3:prefix":"home/"}}`, ctx("s3:prefix", "HOME/"), false},
		{"StringEquals absent", `{"StringEquals":{"s3:prefix":"home/"}}`, none, false},
		{"StringEquals star is literal", `{"StringEquals":{"s3:prefix":"h*"}}`, ctx("s3:prefix", "home"), false},
		{"StringEquals several values OR", `{"StringEquals":{"s3:prefix":["a","b"]}}`, ctx("s3:prefix", "b"), true},
		{"StringNotEquals match", `{"StringNotEquals":{"s3:prefix":"a"}}`, ctx("s3:prefix", "b"), true},
		{"StringNotEquals equal", `{"StringNotEquals":{"s3:prefix":["a","b"]}}`, ctx("s3:prefix", "b"), false},
		{"StringNotEquals absent", `{"StringNotEquals":{"s3:prefix":"a"}}`, none, true},
		{"StringEqualsIgnoreCase", `{"StringEqualsIgnoreCase":{"s3:prefix":"HoMe"}}`, ctx("s3:prefix", "home"), true},
		{"StringNotEqualsIgnoreCase", `{"StringNotEqualsIgnoreCase":{"s3:prefix":"HoMe"}}`, ctx("s3:prefix", "home"), false},
		{"StringNotEqualsIgnoreCase absent", `{"StringNotEqualsIgnoreCase":{"s3:prefix":"x"}}`, none, true},
		{"StringLike star", `{"StringLike":{"s3:prefix":"home/*"}}`, ctx("s3:prefix", "home/a/b"), true},
		{"StringLike question", `{"StringLike":{"s3:prefix":"h?me"}}`, ctx("s3:prefix", "hime"), true},
		{"StringLike no match", `{"StringLike":{"s3:prefix":"home/*"}}`, ctx("s3:prefix", "other/"), false},
		{"StringLike absent", `{"StringLike":{"s3:prefix":"*"}}`, none, false},
		{"StringNotLike", `{"StringNotLike":{"s3:prefix":"home/*"}}`, ctx("s3:prefix", "other/"), true},
		{"StringNotLike absent", `{"StringNotLike":{"s3:prefix":"home/*"}}`, none, true},
		{"key case-insensitive", `{"StringEquals":{"S3:PREFIX":"x"}}`, ctx("s3:prefix", "x"), true},
		{"number value as string", `{"StringEquals":{"s3:max-keys":10}}`, ctx("s3:max-keys", "10"), true},
		// Numeric
		{"NumericEquals", `{"NumericEquals":{"s3:max-keys":"10"}}`, ctx("s3:max-keys", "10.0"), true},
		{"NumericNotEquals", `{"NumericNotEquals":{"s3:max-keys":10}}`, ctx("s3:max-keys", "11"), true},
		{"NumericNotEquals absent", `{"NumericNotEquals":{"s3:max-keys":10}}`, none, true},
		{"NumericLessThan", `{"NumericLessThan":{"s3:max-keys":10}}`, ctx("s3:max-keys", "9"), true},
		{"NumericLessThan equal", `{"NumericLessThan":{"s3:max-keys":10}}`, ctx("s3:max-keys", "10"), false},
		{"NumericLessThanEquals", `{"NumericLessThanEquals":{"s3:max-keys":10}}`, ctx("s3:max-keys", "10"), true},
		{"NumericGreaterThan", `{"NumericGreaterThan":{"s3:max-keys":10}}`, ctx("s3:max-keys", "11"), true},
		{"NumericGreaterThanEquals", `{"NumericGreaterThanEquals":{"s3:max-keys":10}}`, ctx("s3:max-keys", "9"), false},
		{"Numeric bad request value", `{"NumericGreaterThan":{"s3:max-keys":10}}`, ctx("s3:max-keys", "lots"), false},
		{"Numeric absent", `{"NumericLessThan":{"s3:max-keys":10}}`, none, false},
		// Date
		{"DateEquals", `{"DateEquals":{"aws:CurrentTime":"2024-01-01T00:00:00Z"}}`, ctx("aws:CurrentTime", "2024-01-01T00:00:00Z"), true},
		{"DateEquals epoch vs ISO", `{"DateEquals":{"aws:CurrentTime":"1704067200"}}`, ctx("aws:CurrentTime", "2024-01-01T00:00:00Z"), true},
		{"DateNotEquals", `{"DateNotEquals":{"aws:CurrentTime":"2024-01-01"}}`, ctx("aws:CurrentTime", "2024-01-02T00:00:00Z"), true},
		{"DateNotEquals absent", `{"DateNotEquals":{"aws:CurrentTime":"2024-01-01"}}`, none, true},
		{"DateLessThan", `{"DateLessThan":{"aws:CurrentTime":"2024-06-30T00:00:00Z"}}`, ctx("aws:CurrentTime", "2024-01-01T00:00:00Z"), true},
		{"DateLessThan false", `{"DateLessThan":{"aws:CurrentTime":"2024-06-30T00:00:00Z"}}`, ctx("aws:CurrentTime", "2025-01-01T00:00:00Z"), false},
		{"DateLessThanEquals", `{"DateLessThanEquals":{"aws:CurrentTime":"2024-01-01T00:00:00Z"}}`, ctx("aws:CurrentTime", "1704067200"), true},
		{"DateGreaterThan", `{"DateGreaterThan":{"aws:CurrentTime":"2024-01-01T00:00:00+02:00"}}`, ctx("aws:CurrentTime", "2024-01-01T00:00:00Z"), true},
		{"DateGreaterThanEquals", `{"DateGreaterThanEquals":{"aws:CurrentTime":1704067200}}`, ctx("aws:CurrentTime", "2023-12-31T23:59:59Z"), false},
		{"Date absent", `{"DateGreaterThan":{"aws:CurrentTime":1}}`, none, false},
		// Bool
		{"Bool true", `{"Bool":{"aws:SecureTransport":"true"}}`, ctx("aws:SecureTransport", "true"), true},
		{"Bool JSON true", `{"Bool":{"aws:SecureTransport":true}}`, ctx("aws:SecureTransport", "TRUE"), true},
		{"Bool mismatch", `{"Bool":{"aws:SecureTransport":"false"}}`, ctx("aws:SecureTransport", "true"), false},
		{"Bool absent", `{"Bool":{"aws:SecureTransport":"false"}}`, none, false},
		{"BoolIfExists absent", `{"BoolIfExists":{"aws:SecureTransport":"false"}}`, none, true},
		// Binary
		{"BinaryEquals", `{"BinaryEquals":{"aws:x":"QmluYXJ5VmFsdWU="}}`, ctx("aws:x", "QmluYXJ5VmFsdWU="), true},
		{"BinaryEquals mismatch", `{"BinaryEquals":{"aws:x":"QmluYXJ5VmFsdWU="}}`, ctx("aws:x", "AAAA"), false},
		// IP
		{"IpAddress v4 CIDR", `{"IpAddress":{"aws:SourceIp":"192.0.2.0/24"}}`, ctx("aws:SourceIp", "192.0.2.77"), true},
		{"IpAddress v4 outside", `{"IpAddress":{"aws:SourceIp":"192.0.2.0/24"}}`, ctx("aws:SourceIp", "192.0.3.1"), false},
		{"IpAddress plain address", `{"IpAddress":{"aws:SourceIp":"203.0.113.5"}}`, ctx("aws:SourceIp", "203.0.113.5"), true},
		{"IpAddress v6", `{"IpAddress":{"aws:SourceIp":"2001:db8::/32"}}`, ctx("aws:SourceIp", "2001:db8:1::1"), true},
		{"IpAddress mapped v4", `{"IpAddress":{"aws:SourceIp":"192.0.2.0/24"}}`, ctx("aws:SourceIp", "::ffff:192.0.2.1"), true},
		{"IpAddress v4 vs v6 list", `{"IpAddress":{"aws:SourceIp":["192.0.2.0/24","2001:db8::/32"]}}`, ctx("aws:SourceIp", "2001:db8::9"), true},
		{"IpAddress garbage", `{"IpAddress":{"aws:SourceIp":"0.0.0.0/0"}}`, ctx("aws:SourceIp", "nope"), false},
		{"IpAddress absent", `{"IpAddress":{"aws:SourceIp":"0.0.0.0/0"}}`, none, false},
		{"NotIpAddress", `{"NotIpAddress":{"aws:SourceIp":"192.0.2.0/24"}}`, ctx("aws:SourceIp", "10.0.0.1"), true},
		{"NotIpAddress inside", `{"NotIpAddress":{"aws:SourceIp":"192.0.2.0/24"}}`, ctx("aws:SourceIp", "192.0.2.1"), false},
		{"NotIpAddress absent", `{"NotIpAddress":{"aws:SourceIp":"192.0.2.0/24"}}`, none, true},
		// ARN
		{"ArnEquals", `{"ArnEquals":{"aws:SourceArn":"arn:aws:sns:us-east-1:111122223333:topic"}}`, ctx("aws:SourceArn", "arn:aws:sns:us-east-1:111122223333:topic"), true},
		{"ArnLike wildcard region", `{"ArnLike":{"aws:SourceArn":"arn:aws:sns:*:111122223333:*"}}`, ctx("aws:SourceArn", "arn:aws:sns:eu-west-1:111122223333:topic:x"), true},
		{"ArnLike star does not cross components", `{"ArnLike":{"aws:SourceArn":"arn:aws:sns:us-*:111122223333:topic"}}`, ctx("aws:SourceArn", "arn:aws:sns:us-east-1:x:111122223333:topic"), false},
		{"ArnLike not an ARN", `{"ArnLike":{"aws:SourceArn":"arn:aws:*:*:*:*"}}`, ctx("aws:SourceArn", "bucket"), false},
		{"ArnNotEquals", `{"ArnNotEquals":{"aws:SourceArn":"arn:aws:sns:us-east-1:111122223333:topic"}}`, ctx("aws:SourceArn", "arn:aws:sns:us-east-1:111122223333:other"), true},
		{"ArnNotLike absent", `{"ArnNotLike":{"aws:SourceArn":"arn:aws:sns:*:*:*"}}`, none, true},
		{"ArnLike absent", `{"ArnLike":{"aws:SourceArn":"arn:aws:sns:*:*:*"}}`, none, false},
		// Null
		{"Null true absent", `{"Null":{"aws:TokenIssueTime":"true"}}`, none, true},
		{"Null true present", `{"Null":{"aws:TokenIssueTime":"true"}}`, ctx("aws:TokenIssueTime", "x"), false},
		{"Null false present", `{"Null":{"aws:TokenIssueTime":false}}`, ctx("aws:TokenIssueTime", "x"), true},
		{"Null false absent", `{"Null":{"aws:TokenIssueTime":"false"}}`, none, false},
		// IfExists
		{"StringEqualsIfExists absent", `{"StringEqualsIfExists":{"s3:prefix":"a"}}`, none, true},
		{"StringEqualsIfExists present mismatch", `{"StringEqualsIfExists":{"s3:prefix":"a"}}`, ctx("s3:prefix", "b"), false},
		{"StringNotEqualsIfExists present equal", `{"StringNotEqualsIfExists":{"s3:prefix":"a"}}`, ctx("s3:prefix", "a"), false},
		{"NumericLessThanIfExists absent", `{"NumericLessThanIfExists":{"s3:max-keys":1}}`, none, true},
		{"DateLessThanIfExists absent", `{"DateLessThanIfExists":{"aws:CurrentTime":1}}`, none, true},
		{"IpAddressIfExists absent", `{"IpAddressIfExists":{"aws:SourceIp":"10.0.0.0/8"}}`, none, true},
		{"NotIpAddressIfExists inside", `{"NotIpAddressIfExists":{"aws:SourceIp":"10.0.0.0/8"}}`, ctx("aws:SourceIp", "10.1.1.1"), false},
		{"ArnLikeIfExists absent", `{"ArnLikeIfExists":{"aws:SourceArn":"arn:aws:sns:*:*:*"}}`, none, true},
		{"BinaryEqualsIfExists absent", `{"BinaryEqualsIfExists":{"aws:x":"AAAA"}}`, none, true},
		// Set operators
		{"ForAnyValue one matches", `{"ForAnyValue:StringEquals":{"aws:TagKeys":["a","b"]}}`, ctx("aws:TagKeys", "z", "aws:TagKeys", "b"), true},
		{"ForAnyValue none matches", `{"ForAnyValue:StringEquals":{"aws:TagKeys":["a","b"]}}`, ctx("aws:TagKeys", "z", "aws:TagKeys", "y"), false},
		{"ForAnyValue absent", `{"ForAnyValue:StringEquals":{"aws:TagKeys":["a"]}}`, none, false},
		{"ForAnyValue IfExists absent", `{"ForAnyValue:StringEqualsIfExists":{"aws:TagKeys":["a"]}}`, none, true},
		{"ForAnyValue empty list", `{"ForAnyValue:StringEquals":{"aws:TagKeys":["a"]}}`, MapContext{"aws:tagkeys": {}}, false},
		{"ForAllValues all match", `{"ForAllValues:StringEquals":{"aws:TagKeys":["a","b"]}}`, ctx("aws:TagKeys", "a", "aws:TagKeys", "b"), true},
		{"ForAllValues one outside", `{"ForAllValues:StringEquals":{"aws:TagKeys":["a","b"]}}`, ctx("aws:TagKeys", "a", "aws:TagKeys", "c"), false},
		{"ForAllValues absent", `{"ForAllValues:StringEquals":{"aws:TagKeys":["a"]}}`, none, true},
		{"ForAllValues empty", `{"ForAllValues:StringEquals":{"aws:TagKeys":["a"]}}`, MapContext{"aws:tagkeys": {}}, true},
		{"ForAllValues StringLike", `{"ForAllValues:StringLike":{"aws:TagKeys":["env*"]}}`, ctx("aws:TagKeys", "env", "aws:TagKeys", "environment"), true},
		{"ForAnyValue StringNotEquals", `{"ForAnyValue:StringNotEquals":{"aws:TagKeys":["a"]}}`, ctx("aws:TagKeys", "a", "aws:TagKeys", "b"), true},
		{"ForAllValues StringNotEquals", `{"ForAllValues:StringNotEquals":{"aws:TagKeys":["a"]}}`, ctx("aws:TagKeys", "a", "aws:TagKeys", "b"), false},
		{"ForAnyValue NumericLessThan", `{"ForAnyValue:NumericLessThan":{"aws:n":5}}`, ctx("aws:n", "9", "aws:n", "1"), true},
		{"plain op multi-valued any", `{"StringEquals":{"aws:TagKeys":"b"}}`, ctx("aws:TagKeys", "a", "aws:TagKeys", "b"), true},
		{"plain negated multi-valued", `{"StringNotEquals":{"aws:TagKeys":"b"}}`, ctx("aws:TagKeys", "a", "aws:TagKeys", "b"), false},
		// Combination: several keys AND, several operators AND
		{"two keys AND both", `{"StringEquals":{"s3:prefix":"a","s3:delimiter":"/"}}`, ctx("s3:prefix", "a", "s3:delimiter", "/"), true},
		{"two keys AND one", `{"StringEquals":{"s3:prefix":"a","s3:delimiter":"/"}}`, ctx("s3:prefix", "a"), false},
		{"two operators AND", `{"StringEquals":{"s3:prefix":"a"},"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}`, ctx("s3:prefix", "a", "aws:SourceIp", "11.0.0.1"), false},
		{"two operators AND both", `{"StringEquals":{"s3:prefix":"a"},"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}`, ctx("s3:prefix", "a", "aws:SourceIp", "10.0.0.1"), true},
		// Variables in condition values
		{"variable in StringLike", `{"StringLike":{"s3:prefix":["${aws:username}/*"]}}`, ctx("s3:prefix", "alice/x", "aws:username", "alice"), true},
		{"variable absent no match", `{"StringLike":{"s3:prefix":["${aws:username}/*"]}}`, ctx("s3:prefix", "alice/x"), false},
		{"variable absent in negated op", `{"StringNotEquals":{"s3:prefix":["${aws:username}"]}}`, ctx("s3:prefix", "alice"), true},
		{"variable default", `{"StringEquals":{"s3:prefix":"${aws:username, 'guest'}"}}`, ctx("s3:prefix", "guest"), true},
		{"variable in StringEqualsIgnoreCase", `{"StringEqualsIgnoreCase":{"s3:prefix":"${aws:username}"}}`, ctx("s3:prefix", "ALICE", "aws:username", "alice"), true},
		{"variable in ArnEquals", `{"ArnEquals":{"aws:PrincipalArn":"arn:aws:iam::${aws:PrincipalAccount}:user/*"}}`, ctx("aws:PrincipalArn", "arn:aws:iam::111122223333:user/alice", "aws:PrincipalAccount", "111122223333"), true},
		{"variable value is literal", `{"StringEquals":{"s3:prefix":"${aws:username}"}}`, ctx("s3:prefix", "alice", "aws:username", "a*"), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := condAllows(t, tc.cond, tc.c); got != tc.want {
				t.Fatalf("cond %s with %v: got %v, want %v", tc.cond, tc.c, got, tc.want)
			}
		})
	}
}

func TestVersion2008NoVariables(t *testing.T) {
	doc := `{"Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/${aws:username}/*"}}`
	p := mustParse(t, doc, Identity)
	if p.Version() != Version2008 {
		t.Fatalf("version %q", p.Version())
	}
	c := ctx("aws:username", "alice")
	if identityAllows(t, doc, "s3:GetObject", "arn:aws:s3:::b/alice/x", c) {
		t.Fatal("2008-10-17 policy substituted a variable")
	}
	if !identityAllows(t, doc, "s3:GetObject", "arn:aws:s3:::b/${aws:username}/x", c) {
		t.Fatal("2008-10-17 policy should match the variable text literally")
	}
	doc12 := `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/${aws:username}/*"}}`
	if !identityAllows(t, doc12, "s3:GetObject", "arn:aws:s3:::b/alice/x", c) {
		t.Fatal("2012-10-17 policy did not substitute")
	}
}
