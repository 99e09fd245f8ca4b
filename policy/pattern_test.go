package policy

import "testing"

func TestPatterns(t *testing.T) {
	c := ctx("aws:username", "alice", "aws:userid", "AIDAEXAMPLE", "aws:PrincipalAccount", acctA, "aws:multi", "a", "aws:multi", "b")
	cases := []struct {
		pat  string
		o    compileOpts
		in   string
		want bool
	}{
		{"*", compileOpts{wild: true}, "anything", true},
		{"*", compileOpts{wild: true}, "", true},
		{"abc", compileOpts{wild: true}, "abc", true},
		{"abc", compileOpts{wild: true}, "abd", false},
		{"s3:get*", compileOpts{wild: true, fold: true}, "s3:GetObject", true},
		{"S3:GETOBJECT", compileOpts{wild: true, fold: true}, "s3:getobject", true},
		{"s3:*Object", compileOpts{wild: true, fold: true}, "s3:PutObject", true},
		{"s3:*Object", compileOpts{wild: true, fold: true}, "s3:PutObjectAcl", false},
		{"s3:*Object*", compileOpts{wild: true, fold: true}, "s3:PutObjectAcl", true},
		{"s3:?etObject", compileOpts{wild: true, fold: true}, "s3:GetObject", true},
		{"s3:?etObject", compileOpts{wild: true, fold: true}, "s3:GGetObject", false},
		{"a*b*c", compileOpts{wild: true}, "aXbYbZc", true},
		{"a*b*c", compileOpts{wild: true}, "aXbYbZ", false},
		{"a**?", compileOpts{wild: true}, "a", false},
		{"a**?", compileOpts{wild: true}, "ab", true},
		{"é?", compileOpts{wild: true}, "éü", true},
		{"*ü", compileOpts{wild: true}, "éü", true},
		{"arn:aws:s3:::b/*", compileOpts{wild: true}, "arn:aws:s3:::B/x", false},
		{"arn:aws:s3:::b/${aws:username}/*", compileOpts{wild: true, vars: true}, "arn:aws:s3:::b/alice/x", true},
		{"arn:aws:s3:::b/${aws:username}/*", compileOpts{wild: true, vars: true}, "arn:aws:s3:::b/bob/x", false},
		{"arn:aws:s3:::b/${AWS:UserName}", compileOpts{wild: true, vars: true}, "arn:aws:s3:::b/alice", true},
		{"arn:aws:s3:::b/${aws:userid}/*", compileOpts{wild: true, vars: true}, "arn:aws:s3:::b/AIDAEXAMPLE/k", true},
		{"arn:aws:s3:::b/${aws:PrincipalAccount}", compileOpts{wild: true, vars: true}, "arn:aws:s3:::b/111122223333", true},
		{"arn:aws:s3:::b/${aws:missing}/*", compileOpts{wild: true, vars: true}, "arn:aws:s3:::b//x", false},
		{"arn:aws:s3:::b/${aws:multi}", compileOpts{wild: true, vars: true}, "arn:aws:s3:::b/a", false},
		{"arn:aws:s3:::b/${aws:missing, 'guest'}/*", compileOpts{wild: true, vars: true}, "arn:aws:s3:::b/guest/x", true},
		{"${aws:missing,'it''s'}", compileOpts{wild: true, vars: true}, "it's", true},
		{"${aws:username, 'guest'}", compileOpts{wild: true, vars: true}, "alice", true},
		{"a${*}b", compileOpts{wild: true, vars: true}, "a*b", true},
		{"a${*}b", compileOpts{wild: true, vars: true}, "aXb", false},
		{"a${?}b", compileOpts{wild: true, vars: true}, "a?b", true},
		{"a${$}b", compileOpts{wild: true, vars: true}, "a$b", true},
		{"${aws:username}*", compileOpts{wild: true, vars: true}, "alice-1", true},
		{"*${aws:username}", compileOpts{wild: true, vars: true}, "x-alice", true},
		{"a${unterminated", compileOpts{wild: true, vars: true}, "a${unterminated", true},
		{"a${}", compileOpts{wild: true, vars: true}, "a${}", true},
		{"${aws:username}", compileOpts{wild: true}, "${aws:username}", true},
		{"h*", compileOpts{}, "h*", true},
		{"h*", compileOpts{}, "hx", false},
	}
	for _, tc := range cases {
		p := compilePattern(tc.pat, tc.o)
		if got := p.match(tc.in, c); got != tc.want {
			t.Errorf("%q %+v match %q = %v, want %v", tc.pat, tc.o, tc.in, got, tc.want)
		}
	}
}
