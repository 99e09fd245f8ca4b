package iam

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"

	"github.com/postern/postern/policy"
)

// ParseTrustPolicy parses a role trust policy (AssumeRolePolicyDocument). A
// trust policy is a resource-based policy attached to the role: each
// statement names a Principal and has no Resource (the role is the
// resource), so a Resource or NotResource element is refused, as IAM does.
// It is evaluated as the role's resource policy for sts:AssumeRole.
//
// The policy package's resource-policy parser requires a Resource element,
// so the document is handed to it with "Resource":"*" inserted at the start
// of every statement object; everything else — duplicate keys, unknown
// elements, operators — is still validated by policy.Parse on the original
// text. Errors are *Error with code MalformedPolicyDocument or LimitExceeded.
func ParseTrustPolicy(doc string) (*policy.Policy, error) {
	if err := policy.CheckSize([]byte(doc), MaxTrustPolicySize); err != nil {
		return nil, Errorf(CodeLimitExceeded, "Cannot exceed quota for ACLSizePerRole: %d", MaxTrustPolicySize)
	}
	patched, msg := withStatementResources([]byte(doc))
	if msg != "" {
		return nil, Errorf(CodeMalformedPolicyDocument, "%s", msg)
	}
	p, err := policy.Parse(patched, policy.Resource)
	if err != nil {
		var pe *policy.Error
		if errors.As(err, &pe) {
			return nil, Errorf(CodeMalformedPolicyDocument, "%s", pe.Message)
		}
		return nil, Errorf(CodeMalformedPolicyDocument, "%s", err.Error())
	}
	return p, nil
}

// withStatementResources returns doc with "Resource":"*", inserted at the
// start of each statement object, or a message saying why the document is
// not an acceptable trust policy. Syntax errors are left for policy.Parse to
// report (the document is returned unchanged).
func withStatementResources(doc []byte) ([]byte, string) {
	const (
		roleOther = iota
		roleDocument
		roleStatementList
		roleStatement
	)
	type frame struct {
		obj       bool
		expectKey bool
		key       string // last key read (objects)
		role      int
	}
	dec := json.NewDecoder(bytes.NewReader(doc))
	var stack []frame
	var inserts []int64 // offsets just after each statement's '{'
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return doc, "" // policy.Parse reports the syntax error
		}
		var top *frame
		if n := len(stack); n > 0 {
			top = &stack[n-1]
		}
		d, isDelim := tok.(json.Delim)
		if top != nil && top.obj && top.expectKey && !(isDelim && d == '}') {
			k, _ := tok.(string) // the decoder guarantees object keys are strings
			top.key, top.expectKey = k, false
			if top.role == roleStatement && (k == "Resource" || k == "NotResource") {
				return nil, "Has prohibited field " + k
			}
			continue
		}
		switch {
		case isDelim && (d == '{' || d == '['):
			role := roleOther
			switch {
			case top == nil:
				role = roleDocument
			case top.role == roleDocument && top.key == "Statement":
				role = roleStatementList
				if d == '{' {
					role = roleStatement
				}
			case top.role == roleStatementList:
				role = roleStatement
			}
			if role == roleStatement && d == '{' {
				inserts = append(inserts, dec.InputOffset())
			}
			stack = append(stack, frame{obj: d == '{', expectKey: d == '{', role: role})
		case isDelim: // '}' or ']'
			stack = stack[:len(stack)-1]
			if n := len(stack); n > 0 && stack[n-1].obj {
				stack[n-1].expectKey = true
			}
		default: // a scalar value
			if top != nil && top.obj {
				top.expectKey = true
			}
		}
	}
	if len(inserts) == 0 {
		return doc, ""
	}
	out := make([]byte, 0, len(doc)+len(inserts)*16)
	prev := int64(0)
	for _, at := range inserts {
		out = append(out, doc[prev:at]...)
		out = append(out, `"Resource":"*"`...)
		if !objectEmptyAt(doc, at) {
			out = append(out, ',')
		}
		prev = at
	}
	out = append(out, doc[prev:]...)
	return out, ""
}

// objectEmptyAt reports whether the object whose '{' ends at offset at is
// empty (the next non-space byte is '}').
func objectEmptyAt(doc []byte, at int64) bool {
	for i := at; i < int64(len(doc)); i++ {
		switch doc[i] {
		case ' ', '\t', '\n', '\r':
			continue
		case '}':
			return true
		}
		return false
	}
	return false
}
