package postpolicy

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/postern/postern/proto/s3err"
)

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

const exp = `"expiration": "2026-11-25T12:00:00.000Z"`

func doc(conds string) string { return `{` + exp + `, "conditions": [` + conds + `]}` }

func asError(t *testing.T, err error) *s3err.Error {
	t.Helper()
	var e *s3err.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not *s3err.Error", err, err)
	}
	return e
}

func TestParsePolicyValid(t *testing.T) {
	tests := []struct {
		name  string
		json  string
		exp   time.Time
		conds []Condition // text and never not compared here
	}{
		{"object", doc(`{"bucket": "b"}, {"Content-Type": "image/png"}`), time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC),
			[]Condition{{Op: OpEq, Key: "bucket", Value: "b"}, {Op: OpEq, Key: "content-type", Value: "image/png"}}},
		{"eq array", doc(`["eq", "$Key", "uploads/a.txt"]`), time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC),
			[]Condition{{Op: OpEq, Key: "key", Value: "uploads/a.txt"}}},
		{"starts-with", doc(`["starts-with", "$x-amz-meta-TAG", ""]`), time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC),
			[]Condition{{Op: OpStartsWith, Key: "x-amz-meta-tag", Value: ""}}},
		{"operator case-insensitive", doc(`["StArTs-WiTh", "$KeY", "foo"]`), time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC),
			[]Condition{{Op: OpStartsWith, Key: "key", Value: "foo"}}},
		{"content-length-range", doc(`["content-length-range", 1, 10485760]`), time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC),
			[]Condition{{Op: OpContentLengthRange, Min: 1, Max: 10485760}}},
		{"content-length-range strings", doc(`["content-length-range", "5", "10"]`), time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC),
			[]Condition{{Op: OpContentLengthRange, Min: 5, Max: 10}}},
		{"no millis", `{"expiration": "2015-12-29T01:00:00Z", "conditions": []}`, time.Date(2015, 12, 29, 1, 0, 0, 0, time.UTC), []Condition{}},
		{"micros", `{"conditions": [], "expiration": "2015-12-29T01:00:00.123456Z"}`, time.Date(2015, 12, 29, 1, 0, 0, 123456000, time.UTC), []Condition{}},
		{"CRLF whitespace", "{ \"expiration\": \"2015-12-30T12:00:00.000Z\",\r\n  \"conditions\": [\r\n    {\"bucket\": \"b\"}\r\n  ]\r\n}",
			time.Date(2015, 12, 30, 12, 0, 0, 0, time.UTC), []Condition{{Op: OpEq, Key: "bucket", Value: "b"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := ParsePolicy(b64(tc.json))
			if err != nil {
				t.Fatal(err)
			}
			if !p.Expiration.Equal(tc.exp) {
				t.Errorf("expiration %v, want %v", p.Expiration, tc.exp)
			}
			if len(p.Conditions) != len(tc.conds) {
				t.Fatalf("got %d conditions, want %d", len(p.Conditions), len(tc.conds))
			}
			for i, c := range p.Conditions {
				w := tc.conds[i]
				if c.Op != w.Op || c.Key != w.Key || c.Value != w.Value || c.Min != w.Min || c.Max != w.Max || c.never {
					t.Errorf("condition %d = %+v, want %+v", i, c, w)
				}
			}
		})
	}
}

func TestParsePolicyUnpaddedAndWrapped(t *testing.T) {
	s := b64(doc(`{"bucket": "b"}`))
	for _, in := range []string{strings.TrimRight(s, "="), s[:10] + "\r\n" + s[10:]} {
		if _, err := ParsePolicy(in); err != nil {
			t.Errorf("%q: %v", in, err)
		}
	}
}

func TestParsePolicyInvalid(t *testing.T) {
	tests := []struct {
		name string
		b64  string // used when json is empty
		json string
		msg  string
	}{
		{"bad base64", "!!!not base64", "", "Invalid Policy: invalid Base64 encoding."},
		{"not json", "", `hello`, "Invalid Policy: Invalid JSON."},
		{"trailing comma", "", doc(`{"bucket": "b"},`), "Invalid Policy: Invalid JSON."},
		{"trailing garbage", "", doc(``) + `x`, "Invalid Policy: Invalid JSON."},
		{"array document", "", `[]`, "Invalid Policy: Invalid JSON."},
		{"null document", "", `null`, "Invalid Policy: Invalid JSON."},
		{"invalid utf-8", "", `{"expiration": "2026-11-25T12:00:00Z", "conditions": [{"key": "` + "\xff" + `"}]}`, "Invalid Policy: Invalid JSON."},
		{"unknown member", "", `{"Statement": [], ` + exp + `, "conditions": []}`, "Invalid Policy: Unexpected: 'statement'"},
		{"expiration case-sensitive", "", `{"EXPIRATION": "2026-11-25T12:00:00Z", "conditions": []}`, "Invalid Policy: Unexpected: 'expiration'"},
		{"missing expiration", "", `{"conditions": []}`, "Invalid Policy: Policy missing expiration."},
		{"missing conditions", "", `{` + exp + `}`, "Invalid Policy: Policy missing conditions."},
		{"conditions object", "", `{` + exp + `, "conditions": {}}`, "Invalid Policy: Invalid 'conditions' value: must be a List."},
		{"conditions null", "", `{` + exp + `, "conditions": null}`, "Invalid Policy: Invalid 'conditions' value: must be a List."},
		{"expiration offset", "", `{"expiration": "2011-09-13T07:52:58+02:00", "conditions": []}`, "Invalid Policy: Invalid 'expiration' value: '2011-09-13T07:52:58+02:00'"},
		{"expiration space", "", `{"expiration": "2015-10-17 03:15:59 UTC", "conditions": []}`, "Invalid Policy: Invalid 'expiration' value: '2015-10-17 03:15:59 UTC'"},
		{"expiration number", "", `{"expiration": 12, "conditions": []}`, "Invalid Policy: Invalid 'expiration' value: '12'"},
		{"condition string", "", doc(`"bucket"`), "Invalid Policy: Invalid condition test: must be a List or Object."},
		{"empty array", "", doc(`[]`), "Invalid Policy: Invalid Condition: missing operation identifier."},
		{"operator not string", "", doc(`[1, "$key", "a"]`), "Invalid Policy: Invalid Condition: missing operation identifier."},
		{"unknown operator", "", doc(`["ends-with", "$key", "a"]`), "Invalid Policy: Invalid Condition: unknown operation 'ends-with'."},
		{"eq too few", "", doc(`["eq", "$key"]`), "Invalid Policy: Invalid eq: wrong number of arguments."},
		{"starts-with too many", "", doc(`["starts-with", "$key", "a", "b"]`), "Invalid Policy: Invalid starts-with: wrong number of arguments."},
		{"range too few", "", doc(`["content-length-range", 0]`), "Invalid Policy: Invalid content-length-range: wrong number of arguments."},
		{"range float", "", doc(`["content-length-range", 0, 512.0]`), "Invalid Policy: Invalid JSON."},
		{"range negative", "", doc(`["content-length-range", -1, 0]`), "Invalid Policy: Invalid content-length-range: bounds must not be negative."},
		{"range bool", "", doc(`["content-length-range", 0, true]`), "Invalid Policy: Invalid JSON."},
		{"eq value number", "", doc(`["eq", "$key", 5]`), "Invalid Policy: Invalid JSON."},
		{"two properties", "", doc(`{"bucket": "b", "acl": "private"}`), "Invalid Policy: Invalid Simple-Condition: Simple-Conditions must have exactly one property specified."},
		{"empty object", "", doc(`{}`), "Invalid Policy: Invalid Simple-Condition: Simple-Conditions must have exactly one property specified."},
		{"object number value", "", doc(`{"Content-Length": 6199034}`), "Invalid Policy: Invalid Simple-Condition: value must be a string."},
		{"object null value", "", doc(`{"success_action_redirect": null}`), "Invalid Policy: Invalid JSON."},
		{"too large", "", doc(`{"key": "` + strings.Repeat("a", MaxPolicySize) + `"}`), "Invalid Policy: Policy document too large."},
		{"too large encoded", strings.Repeat("A", 4*MaxPolicySize), "", "Invalid Policy: Policy document too large."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.b64
			if tc.json != "" {
				in = b64(tc.json)
			}
			p, err := ParsePolicy(in)
			if err == nil {
				t.Fatalf("parsed: %+v", p)
			}
			e := asError(t, err)
			if e.Code != CodeInvalidPolicyDocument || e.Status != 400 || e.Message != tc.msg {
				t.Errorf("got %d %s %q, want 400 InvalidPolicyDocument %q", e.Status, e.Code, e.Message, tc.msg)
			}
		})
	}
}

func TestConditionString(t *testing.T) {
	p, err := ParsePolicy(b64(doc(`{"Success_Action_Redirect": "http://x/?a=\"b\"&c<d>"},
		["eq", "$key", "uploads/a.txt"],
		["starts-with", "key", "x"],
		["content-length-range", "test", "10"],
		["content-length-range", 1, 10485760]`)))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`["eq", "$Success_Action_Redirect", "http://x/?a=\"b\"&c<d>"]`,
		`["eq", "$key", "uploads/a.txt"]`,
		`["starts-with", "key", "x"]`,
		`["content-length-range", "test", "10"]`,
		`["content-length-range", 1, 10485760]`,
	}
	for i, c := range p.Conditions {
		if c.String() != want[i] {
			t.Errorf("condition %d renders %s, want %s", i, c.String(), want[i])
		}
	}
}

func TestLengthRange(t *testing.T) {
	tests := []struct {
		name     string
		conds    string
		min, max int64
		ok       bool
	}{
		{"none", `{"bucket": "b"}`, 0, 0, false},
		{"one", `["content-length-range", 5, 10]`, 5, 10, true},
		{"intersection", `["content-length-range", 5, 10], ["content-length-range", 7, 20]`, 7, 10, true},
		{"unsatisfiable ignored", `["content-length-range", "x", 10]`, 0, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := ParsePolicy(b64(doc(tc.conds)))
			if err != nil {
				t.Fatal(err)
			}
			min, max, ok := p.LengthRange()
			if min != tc.min || max != tc.max || ok != tc.ok {
				t.Errorf("got %d %d %v, want %d %d %v", min, max, ok, tc.min, tc.max, tc.ok)
			}
		})
	}
}

func TestCheckLength(t *testing.T) {
	p, err := ParsePolicy(b64(doc(`["content-length-range", 5, 10]`)))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		size  int64
		code  string
		extra []s3err.KV
	}{
		{5, "", nil},
		{10, "", nil},
		{4, CodeEntityTooSmall, []s3err.KV{{Key: "ProposedSize", Value: "4"}, {Key: "MinSizeAllowed", Value: "5"}}},
		{0, CodeEntityTooSmall, []s3err.KV{{Key: "ProposedSize", Value: "0"}, {Key: "MinSizeAllowed", Value: "5"}}},
		{11, CodeEntityTooLarge, []s3err.KV{{Key: "ProposedSize", Value: "11"}, {Key: "MaxSizeAllowed", Value: "10"}}},
	}
	for _, tc := range tests {
		err := p.CheckLength(tc.size)
		if tc.code == "" {
			if err != nil {
				t.Errorf("size %d: %v", tc.size, err)
			}
			continue
		}
		e := asError(t, err)
		if e.Code != tc.code || e.Status != 400 || len(e.Extra) != len(tc.extra) {
			t.Fatalf("size %d: %+v", tc.size, e)
		}
		for i := range e.Extra {
			if e.Extra[i] != tc.extra[i] {
				t.Errorf("size %d: extra %v, want %v", tc.size, e.Extra, tc.extra)
			}
		}
	}
	if e := asError(t, p.CheckLength(11)); e.Message != "Your proposed upload exceeds the maximum allowed size" {
		t.Errorf("message %q", e.Message)
	}
	if e := asError(t, p.CheckLength(1)); e.Message != "Your proposed upload is smaller than the minimum allowed size" {
		t.Errorf("message %q", e.Message)
	}
	none, _ := ParsePolicy(b64(doc(``)))
	if err := none.CheckLength(1 << 40); err != nil {
		t.Errorf("no range: %v", err)
	}
}
