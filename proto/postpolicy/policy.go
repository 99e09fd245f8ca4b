package postpolicy

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/postern/postern/proto/s3err"
)

// Condition operators, as stored in Condition.Op.
const (
	OpEq                 = "eq"
	OpStartsWith         = "starts-with"
	OpContentLengthRange = "content-length-range"
)

// Policy is a decoded POST policy document.
type Policy struct {
	// Expiration is the instant after which the policy is no longer valid.
	Expiration time.Time
	// Conditions are in document order; Check reports the first that fails.
	Conditions []Condition
}

// Condition is one entry of a policy's "conditions" list. An object
// condition {"acl": "private"} is stored as Op "eq".
type Condition struct {
	// Op is OpEq, OpStartsWith or OpContentLengthRange (always lower case;
	// operators are matched case-insensitively).
	Op string
	// Key is the form field the condition applies to, lower-cased and
	// without the '$' of the array form. Empty for content-length-range.
	Key string
	// Value is the operand of eq and starts-with.
	Value string
	// Min and Max are the inclusive bounds of content-length-range.
	Min, Max int64

	// never marks a condition S3 accepts in the document but that can
	// never hold: an array condition whose field lacks the '$' prefix, or a
	// content-length-range bound given as a string that is not an integer.
	never bool
	// text is the condition as S3 prints it in "Policy Condition failed".
	text string
}

// String renders the condition the way S3 prints it in error messages:
// a JSON array such as ["eq", "$key", "uploads/a.txt"], with object
// conditions shown as eq arrays and field names spelled as in the policy.
func (c Condition) String() string { return c.text }

// ParsePolicy decodes the base64 policy form field and parses the JSON
// document. It returns an *s3err.Error with code InvalidPolicyDocument (400) and an
// S3-style message ("Invalid Policy: ...") when the document is malformed.
//
// The document must be a JSON object with exactly the members "expiration"
// (an ISO 8601 UTC time such as 2026-11-25T12:00:00.000Z, with or without
// fractional seconds) and "conditions" (a list); member names are
// case-sensitive, as in S3. Each condition is an object with exactly one
// string-valued property (exact match) or a list: ["eq", "$field", "v"],
// ["starts-with", "$field", "prefix"] or ["content-length-range", min, max]
// where the bounds are non-negative integers (S3 also accepts numeric
// strings). Operators and field names are case-insensitive.
func ParsePolicy(b64 string) (*Policy, error) {
	if len(b64) > 2*base64.StdEncoding.EncodedLen(MaxPolicySize) {
		return nil, invalidPolicy("Policy document too large.")
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		raw, err = base64.RawStdEncoding.DecodeString(b64)
		if err != nil {
			return nil, invalidPolicy("invalid Base64 encoding.")
		}
	}
	if len(raw) > MaxPolicySize {
		return nil, invalidPolicy("Policy document too large.")
	}
	return parseJSON(raw)
}

var errInvalidJSON = invalidPolicy("Invalid JSON.")

func parseJSON(raw []byte) (*Policy, error) {
	if !utf8.Valid(raw) || firstByte(raw) != '{' {
		return nil, errInvalidJSON
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, errInvalidJSON
	}
	var unknown []string
	for k := range doc {
		if k != "expiration" && k != "conditions" {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return nil, invalidPolicy("Unexpected: '" + strings.ToLower(unknown[0]) + "'")
	}
	expRaw, ok := doc["expiration"]
	if !ok {
		return nil, invalidPolicy("Policy missing expiration.")
	}
	condRaw, ok := doc["conditions"]
	if !ok {
		return nil, invalidPolicy("Policy missing conditions.")
	}
	p := &Policy{}
	exp, err := parseExpiration(expRaw)
	if err != nil {
		return nil, err
	}
	p.Expiration = exp

	var conds []json.RawMessage
	if firstByte(condRaw) != '[' || json.Unmarshal(condRaw, &conds) != nil {
		return nil, invalidPolicy("Invalid 'conditions' value: must be a List.")
	}
	p.Conditions = make([]Condition, 0, len(conds))
	for _, cr := range conds {
		var c Condition
		var err error
		switch firstByte(cr) {
		case '{':
			c, err = parseObjectCondition(cr)
		case '[':
			c, err = parseListCondition(cr)
		default:
			err = invalidPolicy("Invalid condition test: must be a List or Object.")
		}
		if err != nil {
			return nil, err
		}
		p.Conditions = append(p.Conditions, c)
	}
	return p, nil
}

// Accepted expiration layouts: UTC with a literal Z, fractional seconds
// optional. S3 refuses offsets and a space in place of the T.
const expirationLayout = "2006-01-02T15:04:05.999999999Z"

func parseExpiration(raw json.RawMessage) (time.Time, error) {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return time.Time{}, invalidPolicy("Invalid 'expiration' value: '" + string(raw) + "'")
	}
	t, err := time.Parse(expirationLayout, s)
	if err != nil {
		return time.Time{}, invalidPolicy("Invalid 'expiration' value: '" + s + "'")
	}
	return t, nil
}

// parseObjectCondition parses {"field": "value"}. S3 requires exactly one
// property per object.
func parseObjectCondition(raw json.RawMessage) (Condition, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil { // '{'
		return Condition{}, errInvalidJSON
	}
	var name string
	var val json.RawMessage
	n := 0
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return Condition{}, errInvalidJSON
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return Condition{}, errInvalidJSON
		}
		if n == 0 {
			name, _ = tok.(string)
			val = v
		}
		n++
	}
	if n != 1 {
		return Condition{}, invalidPolicy("Invalid Simple-Condition: Simple-Conditions must have exactly one property specified.")
	}
	switch firstByte(val) {
	case '"':
	case 'n': // null: S3 answers "Invalid JSON." here
		return Condition{}, errInvalidJSON
	default:
		return Condition{}, invalidPolicy("Invalid Simple-Condition: value must be a string.")
	}
	var s string
	if err := json.Unmarshal(val, &s); err != nil {
		return Condition{}, errInvalidJSON
	}
	return Condition{
		Op:    OpEq,
		Key:   strings.ToLower(name),
		Value: s,
		text:  render([]any{OpEq, "$" + name, s}),
	}, nil
}

// parseListCondition parses ["op", ...].
func parseListCondition(raw json.RawMessage) (Condition, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var items []any
	if err := dec.Decode(&items); err != nil {
		return Condition{}, errInvalidJSON
	}
	if len(items) == 0 {
		return Condition{}, invalidPolicy("Invalid Condition: missing operation identifier.")
	}
	opName, ok := items[0].(string)
	if !ok {
		return Condition{}, invalidPolicy("Invalid Condition: missing operation identifier.")
	}
	op := strings.ToLower(opName)
	switch op {
	case OpEq, OpStartsWith, OpContentLengthRange:
	default:
		return Condition{}, invalidPolicy("Invalid Condition: unknown operation '" + opName + "'.")
	}
	if len(items) != 3 {
		return Condition{}, invalidPolicy("Invalid " + opName + ": wrong number of arguments.")
	}
	c := Condition{Op: op, text: render(items)}
	if op == OpContentLengthRange {
		var err error
		if c.Min, err = parseBound(items[1], &c.never); err != nil {
			return Condition{}, err
		}
		if c.Max, err = parseBound(items[2], &c.never); err != nil {
			return Condition{}, err
		}
		return c, nil
	}
	field, ok1 := items[1].(string)
	value, ok2 := items[2].(string)
	if !ok1 || !ok2 {
		return Condition{}, errInvalidJSON
	}
	if name, ok := strings.CutPrefix(field, "$"); ok {
		c.Key = strings.ToLower(name)
	} else {
		// S3 accepts the document and then fails the condition.
		c.Key = strings.ToLower(field)
		c.never = true
	}
	c.Value = value
	return c, nil
}

// parseBound reads one content-length-range bound: a JSON integer, or a
// string S3 evaluates as one. A string that is not a non-negative integer
// makes the condition unsatisfiable (S3 fails it at check time) rather than
// the document invalid.
func parseBound(v any, never *bool) (int64, error) {
	switch b := v.(type) {
	case json.Number:
		n, err := strconv.ParseInt(string(b), 10, 64)
		if err != nil {
			return 0, errInvalidJSON // floats, exponents, overflow
		}
		if n < 0 {
			return 0, invalidPolicy("Invalid content-length-range: bounds must not be negative.")
		}
		return n, nil
	case string:
		n, err := strconv.ParseInt(b, 10, 64)
		if err != nil || n < 0 {
			*never = true
			return 0, nil
		}
		return n, nil
	}
	return 0, errInvalidJSON
}

// LengthRange returns the inclusive bounds the policy puts on the file's
// size: the intersection of all content-length-range conditions. ok is
// false when the policy has none. min may exceed max, in which case no size
// is acceptable.
func (p *Policy) LengthRange() (min, max int64, ok bool) {
	for _, c := range p.Conditions {
		if c.Op != OpContentLengthRange || c.never {
			continue
		}
		if !ok {
			min, max, ok = c.Min, c.Max, true
			continue
		}
		min = maxInt(min, c.Min)
		max = minInt(max, c.Max)
	}
	return min, max, ok
}

// CheckLength checks a file size against LengthRange. It returns nil when
// the size is allowed, else an *s3err.Error with EntityTooLarge or EntityTooSmall
// (400) and the ProposedSize and MaxSizeAllowed/MinSizeAllowed elements S3
// sends. A caller streaming the file can call it with the running count as
// soon as that count passes max, and again with the total at the end.
func (p *Policy) CheckLength(size int64) error {
	min, max, ok := p.LengthRange()
	if !ok {
		return nil
	}
	if size > max {
		return &s3err.Error{Code: CodeEntityTooLarge, Status: 400,
			Message: "Your proposed upload exceeds the maximum allowed size",
			Extra: []s3err.KV{{Key: "ProposedSize", Value: strconv.FormatInt(size, 10)},
				{Key: "MaxSizeAllowed", Value: strconv.FormatInt(max, 10)}}}
	}
	if size < min {
		return &s3err.Error{Code: CodeEntityTooSmall, Status: 400,
			Message: "Your proposed upload is smaller than the minimum allowed size",
			Extra: []s3err.KV{{Key: "ProposedSize", Value: strconv.FormatInt(size, 10)},
				{Key: "MinSizeAllowed", Value: strconv.FormatInt(min, 10)}}}
	}
	return nil
}

func maxInt(a, b int64) int64 {
	if a > b {
		return a
	}
	return b
}

func minInt(a, b int64) int64 {
	if a < b {
		return a
	}
	return b
}

// firstByte returns the first non-whitespace byte of a JSON text, or 0.
func firstByte(b []byte) byte {
	for _, c := range b {
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		}
		return c
	}
	return 0
}

// render prints a condition as S3 does: a JSON array with ", " between
// elements, strings JSON-quoted (quotes escaped) and numbers as written.
func render(items []any) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, it := range items {
		if i > 0 {
			b.WriteString(", ")
		}
		switch v := it.(type) {
		case string:
			b.WriteString(quote(v))
		case json.Number:
			b.WriteString(string(v))
		default:
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			if enc.Encode(v) == nil {
				b.WriteString(strings.TrimSuffix(buf.String(), "\n"))
			}
		}
	}
	b.WriteByte(']')
	return b.String()
}

func quote(s string) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return strings.TrimSuffix(buf.String(), "\n")
}
