package postpolicy

import (
	"slices"
	"strings"
	"time"
)

// exemptFields need no condition. The SigV4 POST policy page: "Each form
// field that you specify in a form (except x-amz-signature, file, policy,
// and field names that have an x-ignore- prefix) must appear in the list of
// conditions"; the SigV2 page exempts AWSAccessKeyId and signature in
// place of x-amz-signature. Names are lower case, as in Form.Fields.
var exemptFields = [...]string{"policy", "x-amz-signature", "file", "awsaccesskeyid", "signature"}

const ignorePrefix = "x-ignore-"

// Exempt reports whether a form field needs no policy condition: policy,
// file, the signature fields (x-amz-signature; AWSAccessKeyId and signature
// of SigV2) and any field whose name starts with x-ignore-. The match is
// case-insensitive.
func Exempt(name string) bool {
	name = strings.ToLower(name)
	return slices.Contains(exemptFields[:], name) || strings.HasPrefix(name, ignorePrefix)
}

// Check validates the form against the policy at time now for a request to
// bucket (the bucket named by the URL). It returns nil or an *s3err.Error:
//
//   - 403 AccessDenied "Invalid according to Policy: Policy expired." when
//     now is after p.Expiration;
//   - 403 AccessDenied "Invalid according to Policy: Policy Condition
//     failed: [...]" for the first condition, in policy order, that does not
//     hold, printed as S3 prints it (see Condition.String);
//   - 403 AccessDenied "Invalid according to Policy: Extra input fields:
//     a, b" naming, lower-cased and sorted, every form field that is neither
//     exempt (see Exempt) nor named by an eq or starts-with condition.
//
// Conditions are evaluated against the form's values after ${filename}
// expansion (Form.Value); callers should leave Form.Fields unexpanded.
// Field names match case-insensitively, values case-sensitively. A
// condition on a field the form lacks fails, even starts-with "" (as S3
// does). A "bucket" condition is matched against the bucket argument, not a
// form field. For Content-Type, a starts-with value containing commas is a
// list and every element (trimmed of spaces) must start with the prefix.
// content-length-range is not checked here: the size is known only while
// streaming; see LengthRange and CheckLength.
func (p *Policy) Check(f *Form, bucket string, now time.Time) error {
	if now.After(p.Expiration) {
		return denied("Policy expired.")
	}
	covered := map[string]bool{}
	for _, c := range p.Conditions {
		if !c.holds(f, bucket) {
			return denied("Policy Condition failed: " + c.text)
		}
		if c.Op != OpContentLengthRange {
			covered[c.Key] = true
		}
	}
	var extra []string
	for name := range f.Fields {
		if !covered[name] && !Exempt(name) {
			extra = append(extra, name)
		}
	}
	if len(extra) > 0 {
		slices.Sort(extra)
		return denied("Extra input fields: " + strings.Join(extra, ", "))
	}
	return nil
}

// holds evaluates one condition; content-length-range always holds here
// unless malformed.
func (c Condition) holds(f *Form, bucket string) bool {
	if c.never {
		return false
	}
	if c.Op == OpContentLengthRange {
		return true
	}
	var v string
	if c.Key == "bucket" {
		v = bucket
	} else {
		var ok bool
		if v, ok = f.Value(c.Key); !ok {
			return false
		}
	}
	switch c.Op {
	case OpEq:
		return v == c.Value
	case OpStartsWith:
		if c.Key == "content-type" && strings.Contains(v, ",") {
			for _, part := range strings.Split(v, ",") {
				if !strings.HasPrefix(strings.TrimSpace(part), c.Value) {
					return false
				}
			}
			return true
		}
		return strings.HasPrefix(v, c.Value)
	}
	return false
}
