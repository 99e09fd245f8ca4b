package iamapi

import (
	"errors"
	"net/url"
	"strings"
	"testing"
)

func TestParseForm(t *testing.T) {
	f, err := parseForm("Action=ListUsers", []byte("Version=2010-05-08&PolicyDocument=%7B%22a%22%3A+1%7D&Tags.member.1.Key=k&Names.member.1=a&Names.member.2=b&&"))
	if err != nil {
		t.Fatal(err)
	}
	if f.get("Action") != "ListUsers" || f.get("PolicyDocument") != `{"a": 1}` || f.get("Version") != "2010-05-08" {
		t.Fatalf("%v", f)
	}
	if got := f.list("Names"); len(got) != 2 || got[1] != "b" {
		t.Fatalf("list: %q", got)
	}
	for _, tc := range []struct {
		q, body string
		want    error
	}{
		{"Action=A", "Action=B", errDuplicate},
		{"", "a=%zz", errBadEncoding},
		{"", "%zz=1", errBadEncoding},
		{"", "=x", errBadKey},
		{"", strings.Repeat("k", maxKeyLen+1) + "=1", errBadKey},
		{"", strings.Repeat("a=1&", 1) + manyParams(maxParams+1), errTooManyParams},
	} {
		if _, err := parseForm(tc.q, []byte(tc.body)); !errors.Is(err, tc.want) {
			t.Errorf("%.40q: got %v, want %v", tc.body, err, tc.want)
		}
	}
}

func manyParams(n int) string {
	v := url.Values{}
	for i := 0; i < n; i++ {
		v.Set("p"+strings.Repeat("x", i%7)+string(rune('a'+i%26))+itoa(i), "1")
	}
	return v.Encode()
}

func itoa(i int) string {
	s := ""
	for {
		s = string(rune('0'+i%10)) + s
		i /= 10
		if i == 0 {
			return s
		}
	}
}

// FuzzParseForm: the query-form parser never panics, bounds its output, and
// whatever it accepts re-encodes and parses back to the same parameters.
func FuzzParseForm(f *testing.F) {
	f.Add("Action=ListUsers&Version=2010-05-08", "")
	f.Add("", "Action=PutUserPolicy&UserName=a&PolicyDocument=%7B%7D&Version=2010-05-08")
	f.Add("a=1&a=2", "")
	f.Add("", "%zz")
	f.Add("x=%E2%82%AC+y", "Tags.member.1.Key=k&Tags.member.1.Value=v")
	f.Fuzz(func(t *testing.T, q, body string) {
		form, err := parseForm(q, []byte(body))
		if err != nil {
			return
		}
		if len(form) > maxParams {
			t.Fatalf("%d parameters", len(form))
		}
		v := url.Values{}
		for k, val := range form {
			if k == "" || len(k) > maxKeyLen {
				t.Fatalf("bad key %q", k)
			}
			v.Set(k, val)
		}
		again, err := parseForm("", []byte(v.Encode()))
		if err != nil {
			t.Fatalf("re-encoded form does not parse: %v", err)
		}
		if len(again) != len(form) {
			t.Fatalf("round trip changed the parameters")
		}
		for k, val := range form {
			if again[k] != val {
				t.Fatalf("round trip changed %q", k)
			}
		}
	})
}
