package policy

import "testing"

func FuzzParse(f *testing.F) {
	for _, s := range []string{outpostsPresignedAge, outpostsHeaderOnly, outpostsUnsigned, networkRestriction,
		`{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b/${aws:username, 'x'}/*"}}`} {
		f.Add([]byte(s))
	}
	reqs := []*Request{
		{Principal: alice, Action: "s3:GetObject", Resource: "arn:aws:s3:::b/k", Context: ctx("aws:SourceIp", "10.0.0.1", "aws:username", "alice", "s3:prefix", "a")},
		{Principal: anon, Action: "s3-outposts:PutObject", Resource: "arn:aws:s3-outposts:us-east-1:111122223333:outpost/op-1/bucket/b/object/k", Context: ctx("s3-outposts:signatureAge", "700000", "aws:CurrentTime", "2024-01-01T00:00:00Z")},
		{Principal: session, Action: "s3:ListBucket", Resource: "arn:aws:s3:::b", ResourceAccount: acctB},
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		for _, k := range []Kind{Identity, Resource} {
			p, err := Parse(doc, k)
			if err != nil {
				if _, ok := err.(*Error); !ok {
					t.Fatalf("error %T is not *Error", err)
				}
				continue
			}
			for _, req := range reqs {
				in := &Input{Identity: []*Policy{p}, Session: []*Policy{p}}
				if k == Resource {
					in = &Input{Resource: p}
				}
				d := Evaluate(in, req)
				_ = d.Message(req)
			}
		}
	})
}
