package shareapi

import (
	"errors"
	"strings"
	"testing"
)

func TestParseCreate(t *testing.T) {
	ok := []struct {
		body string
		want createParams
	}{
		{`{"bucket":"b","key":"k"}`, createParams{Bucket: "b", Key: "k", Method: "GET", ExpiresIn: 3600}},
		{`{"bucket":"b","key":"","method":"POST","maxSize":10,"contentType":"image/jpeg","overwrite":true,"expiresIn":604800,"maxUses":1000000000,"endpoint":"https://files.example.com/"}`,
			createParams{Bucket: "b", Method: "POST", ExpiresIn: 604800, MaxUses: 1e9, MaxSize: 10, ContentType: "image/jpeg", Overwrite: true, Endpoint: "https://files.example.com"}},
	}
	for _, c := range ok {
		got, err := parseCreate([]byte(c.body))
		if err != nil || got != c.want {
			t.Errorf("%s: %+v %v, want %+v", c.body, got, err, c.want)
		}
	}
	bad := map[string]string{
		``:                               "MalformedJSON",
		`[]`:                             "MalformedJSON",
		`{"bucket":"b","key":"k"} {}`:    "MalformedJSON",
		`{"bucket":"b","key":"k"`:        "MalformedJSON",
		`{"bucket":"b","key":"k","x":1}`: `InvalidArgument:Unknown field "x".`,
		`{"bucket":"b"}`:                 "InvalidArgument:The field key is required.",
		`{"key":"k"}`:                    "InvalidArgument:The field bucket is required.",
		`{"bucket":"b","key":""}`:        "InvalidArgument",
		`{"bucket":"b","key":"k","method":"get"}`:                                  "InvalidArgument",
		`{"bucket":"b","key":"k","expiresIn":0}`:                                   "InvalidArgument",
		`{"bucket":"b","key":"k","expiresIn":604801}`:                              "InvalidArgument",
		`{"bucket":"b","key":"k","expiresIn":1.5}`:                                 "InvalidArgument:The field expiresIn must be an integer.",
		`{"bucket":"b","key":"k","maxUses":-1}`:                                    "InvalidArgument",
		`{"bucket":"b","key":"k","maxSize":5}`:                                     "InvalidArgument",
		`{"bucket":"b","key":"k","overwrite":true}`:                                "InvalidArgument",
		`{"bucket":"b","key":"k","method":"PUT","contentType":"not a type"}`:       "InvalidArgument",
		`{"bucket":"b","key":"k","webhook":"ftp://x"}`:                             "InvalidArgument",
		`{"bucket":"b","key":"k","endpoint":"http://h/path"}`:                      "InvalidArgument",
		`{"bucket":"b","key":"k","endpoint":"http://u:p@h"}`:                       "InvalidArgument",
		`{"bucket":"b","key":"k","note":` + `"` + strings.Repeat("n", 1025) + `"}`: "InvalidArgument",
		`{"bucket":"b","key":"a\u0001b"}`:                                          "InvalidArgument",
		`{"bucket":7,"key":"k"}`:                                                   "InvalidArgument:The field bucket must be a string.",
	}
	for body, want := range bad {
		_, err := parseCreate([]byte(body))
		var e *apiError
		if !errors.As(err, &e) || e.Status != 400 {
			t.Errorf("%q: %v, want a 400", body, err)
			continue
		}
		code, msg, _ := strings.Cut(want, ":")
		if e.Code != code || (msg != "" && e.Message != msg) {
			t.Errorf("%q: %s %q, want %s %q", body, e.Code, e.Message, code, msg)
		}
	}
}

// FuzzParseCreate: any body is either valid parameters within every limit
// or a 400 error; never a panic or another status.
func FuzzParseCreate(f *testing.F) {
	for _, s := range []string{
		`{"bucket":"b","key":"k"}`,
		`{"bucket":"b","key":"","method":"POST","maxSize":10,"contentType":"text/plain","expiresIn":60}`,
		`{"bucket":"b","key":"k","webhook":"https://h/x","endpoint":"http://h:1"}`,
		`{"bucket":"b","key":"k","maxUses":1e3}`,
		`{"bucket":"b","key":null}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := parseCreate(body)
		if err != nil {
			var e *apiError
			if !errors.As(err, &e) || e.Status != 400 {
				t.Fatalf("%q: %v", body, err)
			}
			return
		}
		if p.Bucket == "" || (p.Key == "" && p.Method != "POST") || p.ExpiresIn < 1 || p.ExpiresIn > 604800 ||
			p.MaxUses < 0 || p.MaxUses > maxMaxUses || p.MaxSize < 0 || len(p.Note) > 1024 || len(p.Webhook) > 2048 {
			t.Fatalf("%q: accepted %+v", body, p)
		}
	})
}

func TestIDs(t *testing.T) {
	id, ak := newID(), newAccessKey()
	if !validID(id) || len(id) != 24 || len(ak) != 20 || !strings.HasPrefix(ak, "PSHR") || strings.ToUpper(ak) != ak {
		t.Fatalf("id %q key %q", id, ak)
	}
	for _, bad := range []string{"", "shr-", "shr-AAAAAAAAAAAAAAAAAAAA", "shr-aaaaaaaaaaaaaaaaaaa1", "shr-aaaaaaaaaaaaaaaaaaaaa", "xyz-aaaaaaaaaaaaaaaaaaaa"} {
		if validID(bad) {
			t.Errorf("validID(%q)", bad)
		}
	}
}
