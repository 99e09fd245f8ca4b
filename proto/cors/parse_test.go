package cors

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/postern/postern/proto/s3err"
)

func intp(n int) *int { return &n }

// doc wraps rule bodies in a CORSConfiguration in S3's namespace.
func doc(rules ...string) string {
	var b strings.Builder
	b.WriteString(`<CORSConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">`)
	for _, r := range rules {
		b.WriteString("<CORSRule>" + r + "</CORSRule>")
	}
	b.WriteString("</CORSConfiguration>")
	return b.String()
}

const minimalRule = `<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod>`

func TestParseValid(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want Config
	}{
		{
			name: "minimal",
			doc:  doc(minimalRule),
			want: Config{Rules: []Rule{{AllowedOrigins: []string{"*"}, AllowedMethods: []string{"GET"}}}},
		},
		{
			name: "no namespace, declaration, comments, pretty-printed",
			doc: `<?xml version="1.0" encoding="UTF-8"?>
<!-- leading comment -->
<CORSConfiguration>
  <CORSRule>
    <ID>rule-1</ID>
    <AllowedOrigin>http://www.example.com</AllowedOrigin>
    <AllowedMethod>PUT</AllowedMethod>
    <AllowedMethod>POST</AllowedMethod>
    <AllowedMethod>DELETE</AllowedMethod>
    <AllowedHeader>*</AllowedHeader>
    <MaxAgeSeconds> 3000 </MaxAgeSeconds>
    <ExposeHeader>x-amz-server-side-encryption</ExposeHeader>
    <ExposeHeader>x-amz-request-id</ExposeHeader>
  </CORSRule>
</CORSConfiguration>
<!-- trailing comment -->
`,
			want: Config{Rules: []Rule{{
				ID:             "rule-1",
				AllowedOrigins: []string{"http://www.example.com"},
				AllowedMethods: []string{"PUT", "POST", "DELETE"},
				AllowedHeaders: []string{"*"},
				ExposeHeaders:  []string{"x-amz-server-side-encryption", "x-amz-request-id"},
				MaxAgeSeconds:  intp(3000),
			}}},
		},
		{
			name: "all five methods, several rules in order, one wildcard each",
			doc: doc(
				`<AllowedOrigin>https://*.example.com</AllowedOrigin><AllowedOrigin>http://test.com:80</AllowedOrigin>`+
					`<AllowedMethod>GET</AllowedMethod><AllowedMethod>PUT</AllowedMethod><AllowedMethod>POST</AllowedMethod>`+
					`<AllowedMethod>DELETE</AllowedMethod><AllowedMethod>HEAD</AllowedMethod><AllowedHeader>x-amz-*</AllowedHeader>`,
				`<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><MaxAgeSeconds>0</MaxAgeSeconds>`,
			),
			want: Config{Rules: []Rule{
				{
					AllowedOrigins: []string{"https://*.example.com", "http://test.com:80"},
					AllowedMethods: []string{"GET", "PUT", "POST", "DELETE", "HEAD"},
					AllowedHeaders: []string{"x-amz-*"},
				},
				{AllowedOrigins: []string{"*"}, AllowedMethods: []string{"GET"}, MaxAgeSeconds: intp(0)},
			}},
		},
		{
			name: "empty origin accepted as S3 does, escapes decoded",
			doc:  doc(`<AllowedOrigin></AllowedOrigin><AllowedOrigin>http://a&amp;b</AllowedOrigin><AllowedMethod>HEAD</AllowedMethod>`),
			want: Config{Rules: []Rule{{AllowedOrigins: []string{"", "http://a&b"}, AllowedMethods: []string{"HEAD"}}}},
		},
		{
			name: "255-character ID",
			doc:  doc(`<ID>` + strings.Repeat("é", 255) + `</ID>` + minimalRule),
			want: Config{Rules: []Rule{{ID: strings.Repeat("é", 255), AllowedOrigins: []string{"*"}, AllowedMethods: []string{"GET"}}}},
		},
		{
			name: "exactly 100 rules",
			doc:  doc(repeat(minimalRule, 100)...),
			want: Config{Rules: repeatRule(Rule{AllowedOrigins: []string{"*"}, AllowedMethods: []string{"GET"}}, 100)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse([]byte(tt.doc))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("Parse =\n%#v\nwant\n%#v", *got, tt.want)
			}
		})
	}
}

func repeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

func repeatRule(r Rule, n int) []Rule {
	out := make([]Rule, n)
	for i := range out {
		out[i] = r
	}
	return out
}

func TestParseErrors(t *testing.T) {
	const malformed = "MalformedXML"
	const invalid = "InvalidRequest"
	tests := []struct {
		name string
		doc  string
		code string
		msg  string // exact message; empty to skip the check
	}{
		{"empty body", ``, malformed, malformedMessage},
		{"not XML", `hello`, malformed, ""},
		{"truncated", `<CORSConfiguration><CORSRule>`, malformed, ""},
		{"mismatched tags", `<CORSConfiguration></CORSRule>`, malformed, ""},
		{"wrong root", `<LifecycleConfiguration>` + `<CORSRule>` + minimalRule + `</CORSRule></LifecycleConfiguration>`, malformed, ""},
		{"foreign namespace", `<CORSConfiguration xmlns="urn:other"><CORSRule>` + minimalRule + `</CORSRule></CORSConfiguration>`, malformed, ""},
		{"second root", doc(minimalRule) + doc(minimalRule), malformed, ""},
		{"text after root", doc(minimalRule) + "junk", malformed, ""},
		{"no rules", doc(), malformed, malformedMessage},
		{"empty rule", doc(""), malformed, ""},
		{"rule without origin", doc(`<AllowedMethod>GET</AllowedMethod>`), malformed, ""},
		{"rule without method", doc(`<AllowedOrigin>*</AllowedOrigin>`), malformed, ""},
		{"unknown element in rule", doc(minimalRule + `<AllowedMethods>GET</AllowedMethods>`), malformed, ""},
		{"unknown element in config", doc(minimalRule)[:len(doc(minimalRule))-len("</CORSConfiguration>")] + `<Foo/></CORSConfiguration>`, malformed, ""},
		{"two IDs", doc(`<ID>a</ID><ID>b</ID>` + minimalRule), malformed, ""},
		{"two MaxAgeSeconds", doc(minimalRule + `<MaxAgeSeconds>1</MaxAgeSeconds><MaxAgeSeconds>2</MaxAgeSeconds>`), malformed, ""},
		{"MaxAgeSeconds not a number", doc(minimalRule + `<MaxAgeSeconds>soon</MaxAgeSeconds>`), malformed, ""},
		{"MaxAgeSeconds over int32", doc(minimalRule + `<MaxAgeSeconds>2147483648</MaxAgeSeconds>`), malformed, ""},
		{"MaxAgeSeconds negative", doc(minimalRule + `<MaxAgeSeconds>-1</MaxAgeSeconds>`), invalid, "MaxAgeSeconds must not be negative."},
		{"undeclared entity", doc(`<AllowedOrigin>&nbsp;</AllowedOrigin><AllowedMethod>GET</AllowedMethod>`), malformed, ""},
		{"non-UTF-8 encoding", `<?xml version="1.0" encoding="ISO-8859-1"?>` + doc(minimalRule), malformed, ""},
		{
			"unsupported method PATCH",
			doc(`<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><AllowedMethod>PATCH</AllowedMethod>`),
			invalid, "Found unsupported HTTP method in CORS config. Unsupported method is PATCH",
		},
		{
			"OPTIONS is not allowed",
			doc(`<AllowedOrigin>*</AllowedOrigin><AllowedMethod>OPTIONS</AllowedMethod>`),
			invalid, "Found unsupported HTTP method in CORS config. Unsupported method is OPTIONS",
		},
		{
			"lower-case method",
			doc(`<AllowedOrigin>*</AllowedOrigin><AllowedMethod>get</AllowedMethod>`),
			invalid, "Found unsupported HTTP method in CORS config. Unsupported method is get",
		},
		{
			"empty method",
			doc(`<AllowedOrigin>*</AllowedOrigin><AllowedMethod></AllowedMethod>`),
			invalid, "Found unsupported HTTP method in CORS config. Unsupported method is ",
		},
		{
			"wildcard as method",
			doc(`<AllowedOrigin>*</AllowedOrigin><AllowedMethod>*</AllowedMethod>`),
			invalid, "Found unsupported HTTP method in CORS config. Unsupported method is *",
		},
		{
			"origin with two wildcards",
			doc(`<AllowedOrigin>*example*.com</AllowedOrigin><AllowedMethod>GET</AllowedMethod>`),
			invalid, `AllowedOrigin "*example*.com" can not have more than one wildcard.`,
		},
		{
			"header with two wildcards",
			doc(minimalRule + `<AllowedHeader>x-*-*</AllowedHeader>`),
			invalid, `AllowedHeader "x-*-*" can not have more than one wildcard.`,
		},
		{
			"101 rules",
			doc(repeat(minimalRule, 101)...),
			invalid, "The number of CORS rules should not exceed allowed limit of 100 rules.",
		},
		{
			"101 rules, even when some are invalid",
			doc(append(repeat(minimalRule, 100), `<AllowedOrigin>*</AllowedOrigin><AllowedMethod>PATCH</AllowedMethod>`)...),
			invalid, "The number of CORS rules should not exceed allowed limit of 100 rules.",
		},
		{
			"ID over 255 characters",
			doc(`<ID>` + strings.Repeat("a", 256) + `</ID>` + minimalRule),
			invalid, "The ID of a CORS rule cannot be longer than 255 characters.",
		},
		{
			"over 64 KiB",
			doc(minimalRule) + "<!--" + strings.Repeat("x", MaxDocumentSize) + "-->",
			"MaxMessageLengthExceeded", "Your request was too big.",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse([]byte(tt.doc))
			if err == nil {
				t.Fatalf("Parse succeeded: %#v", cfg)
			}
			if cfg != nil {
				t.Errorf("Parse returned a config with an error")
			}
			var e *s3err.Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T %v is not *s3err.Error", err, err)
			}
			if e.Code != tt.code || e.Status != 400 {
				t.Errorf("error = %s (%d), want %s (400)", e.Code, e.Status, tt.code)
			}
			if tt.msg != "" && e.Message != tt.msg {
				t.Errorf("message = %q, want %q", e.Message, tt.msg)
			}
			if !strings.HasPrefix(e.Error(), e.Code+": ") {
				t.Errorf("Error() = %q", e.Error())
			}
		})
	}
}

func TestMarshal(t *testing.T) {
	cfg := &Config{Rules: []Rule{
		{
			ID:             "a<b",
			AllowedOrigins: []string{"https://*.example.com"},
			AllowedMethods: []string{"GET", "HEAD"},
			AllowedHeaders: []string{"x-amz-*"},
			ExposeHeaders:  []string{"ETag"},
			MaxAgeSeconds:  intp(60),
		},
		{AllowedOrigins: []string{"*"}, AllowedMethods: []string{"PUT"}},
	}}
	want := `<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
		`<CORSConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">` +
		`<CORSRule><ID>a&lt;b</ID><AllowedHeader>x-amz-*</AllowedHeader>` +
		`<AllowedMethod>GET</AllowedMethod><AllowedMethod>HEAD</AllowedMethod>` +
		`<AllowedOrigin>https://*.example.com</AllowedOrigin><ExposeHeader>ETag</ExposeHeader>` +
		`<MaxAgeSeconds>60</MaxAgeSeconds></CORSRule>` +
		`<CORSRule><AllowedMethod>PUT</AllowedMethod><AllowedOrigin>*</AllowedOrigin></CORSRule>` +
		`</CORSConfiguration>`
	if got := string(cfg.Marshal()); got != want {
		t.Errorf("Marshal =\n%s\nwant\n%s", got, want)
	}
}

func TestRoundTrip(t *testing.T) {
	docs := []string{
		doc(minimalRule),
		doc(
			`<ID>r1</ID><AllowedOrigin>http://www.example1.com</AllowedOrigin><AllowedMethod>PUT</AllowedMethod>`+
				`<AllowedMethod>POST</AllowedMethod><AllowedHeader>*</AllowedHeader><MaxAgeSeconds>3000</MaxAgeSeconds>`+
				`<ExposeHeader>x-amz-request-id</ExposeHeader><ExposeHeader>x-amz-id-2</ExposeHeader>`,
			`<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><MaxAgeSeconds>0</MaxAgeSeconds>`,
		),
		// Characters that need escaping, and white space that must survive.
		doc(`<ID> a &amp; "b" </ID><AllowedOrigin>&lt;o&gt;&#xD;&#x9;</AllowedOrigin><AllowedOrigin></AllowedOrigin>` +
			`<AllowedMethod>DELETE</AllowedMethod><AllowedHeader>X-Amz-Meta-*</AllowedHeader><ExposeHeader>&apos;</ExposeHeader>`),
		doc(repeat(minimalRule, 100)...),
	}
	for i, d := range docs {
		first, err := Parse([]byte(d))
		if err != nil {
			t.Fatalf("doc %d: Parse: %v", i, err)
		}
		out := first.Marshal()
		second, err := Parse(out)
		if err != nil {
			t.Fatalf("doc %d: Parse(Marshal): %v\n%s", i, err, out)
		}
		if !reflect.DeepEqual(first, second) {
			t.Errorf("doc %d: round trip changed the config:\n%#v\n%#v", i, first, second)
		}
		if again := second.Marshal(); string(again) != string(out) {
			t.Errorf("doc %d: Marshal not stable:\n%s\n%s", i, out, again)
		}
	}
}

func TestMarshalNilAndEmpty(t *testing.T) {
	want := `<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
		`<CORSConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"></CORSConfiguration>`
	var nilCfg *Config
	for _, c := range []*Config{nilCfg, {}} {
		if got := string(c.Marshal()); got != want {
			t.Errorf("Marshal = %s", got)
		}
	}
}
