package policy

import (
	"strings"
	"testing"
)

func benchInput(b testing.TB) (*Input, *Request) {
	id1 := mustParse(b, `{"Version":"2012-10-17","Statement":[
		{"Sid":"List","Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::data","Condition":{"StringLike":{"s3:prefix":["home/${aws:username}/*"]}}},
		{"Sid":"Home","Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":"arn:aws:s3:::data/home/${aws:username}/*"}]}`, Identity)
	id2 := mustParse(b, `{"Version":"2012-10-17","Statement":[
		{"Sid":"Net","Effect":"Deny","Action":"*","Resource":"*","Condition":{"NotIpAddressIfExists":{"aws:SourceIp":["10.0.0.0/8","192.168.0.0/16"]},"BoolIfExists":{"aws:ViaAWSService":"false"}}}]}`, Identity)
	id3 := mustParse(b, `{"Version":"2012-10-17","Statement":[
		{"Sid":"Read","Effect":"Allow","Action":["s3:Get*","s3:List*"],"Resource":["arn:aws:s3:::shared","arn:aws:s3:::shared/*"]}]}`, Identity)
	var stmts []string
	for i := 0; i < 8; i++ {
		stmts = append(stmts, `{"Sid":"Allow`+string(rune('A'+i))+`","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::444455556666:user/u`+string(rune('a'+i))+`"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::data/team`+string(rune('a'+i))+`/*"}`)
	}
	stmts = append(stmts,
		`{"Sid":"TLS","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::data","arn:aws:s3:::data/*"],"Condition":{"Bool":{"aws:SecureTransport":"false"}}}`,
		`{"Sid":"Unsigned","Effect":"Deny","Principal":{"AWS":"111122223333"},"Action":"s3:PutObject","Resource":"arn:aws:s3:::data/*","Condition":{"StringEquals":{"s3:x-amz-content-sha256":"UNSIGNED-PAYLOAD"}}}`)
	bp := mustParse(b, `{"Version":"2012-10-17","Statement":[`+strings.Join(stmts, ",")+`]}`, Resource)
	c := MapContext{}
	c.Set("aws:SourceIp", "10.1.2.3")
	c.Set("aws:SecureTransport", "true")
	c.Set("aws:ViaAWSService", "false")
	c.Set("aws:username", "alice")
	c.Set("s3:x-amz-content-sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
	req := &Request{Principal: alice, Action: "s3:GetObject", Resource: "arn:aws:s3:::data/home/alice/report.pdf", ResourceAccount: acctA, Context: c}
	return &Input{Identity: []*Policy{id1, id2, id3}, Resource: bp}, req
}

func BenchmarkEvaluate(b *testing.B) {
	in, req := benchInput(b)
	if d := Evaluate(in, req); !d.Allowed {
		b.Fatalf("benchmark request denied: %+v", d)
	}
	b.ReportAllocs()
	for b.Loop() {
		Evaluate(in, req)
	}
}

func BenchmarkEvaluateDenied(b *testing.B) {
	in, req := benchInput(b)
	r2 := *req
	r2.Resource = "arn:aws:s3:::data/home/bob/x"
	if d := Evaluate(in, &r2); d.Allowed {
		b.Fatal("should be denied")
	}
	b.ReportAllocs()
	for b.Loop() {
		Evaluate(in, &r2)
	}
}

func BenchmarkParse(b *testing.B) {
	doc := []byte(outpostsPresignedAge)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(doc, Resource); err != nil {
			b.Fatal(err)
		}
	}
}

func TestEvaluateDoesNotAllocate(t *testing.T) {
	in, req := benchInput(t)
	if n := testing.AllocsPerRun(100, func() { Evaluate(in, req) }); n != 0 {
		t.Fatalf("Evaluate allocates %v times", n)
	}
}
