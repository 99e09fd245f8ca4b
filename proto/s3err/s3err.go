// Package s3err is the one S3 error type: the codecs under proto/ return it,
// and the HTTP front ends render it as S3's XML error body. It is a leaf:
// standard library only, no I/O, no package-level mutable state.
//
// An *Error carries everything the response needs: the S3 error code, the
// human message AWS sends, the HTTP status, extra elements of the body in
// the order AWS writes them (e.g. StringToSign for SignatureDoesNotMatch),
// headers to add, and, optionally, the cause it wraps.
//
// The catalogue (catalogue.go) holds the errors shared across packages, one
// plain constructor per code, each returning a fresh value so that callers
// may add Extra elements or headers. Codes a single codec owns (SigV4's
// AuthorizationHeaderMalformed, POST policy's InvalidPolicyDocument...) are
// built in that codec with New, next to the rule that raises them.
package s3err

import "net/http"

// Error is an S3 error response.
type Error struct {
	Code    string // S3 error code: <Code>
	Message string // human message: <Message>
	Status  int    // HTTP status
	// Extra holds additional elements of the error body, in order (a slice,
	// not a map: clients and tooling read them in AWS's order).
	Extra []KV
	// Header holds response headers to add (e.g. x-amz-delete-marker).
	Header http.Header
	// Err is the cause, if any: a detail for logs, never sent to the client.
	Err error
}

// KV is one extra element of an error body.
type KV struct{ Key, Value string }

// New returns an error with the given status, code, message and extra
// elements.
func New(status int, code, message string, extra ...KV) *Error {
	return &Error{Code: code, Message: message, Status: status, Extra: extra}
}

// Error implements error as "Code: Message" (and the cause in parentheses),
// so logs stay greppable by code.
func (e *Error) Error() string {
	if e.Err != nil {
		return e.Code + ": " + e.Message + " (" + e.Err.Error() + ")"
	}
	return e.Code + ": " + e.Message
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is an *Error with the same Code, so that
// errors.Is(err, sentinel) matches by code whatever the message.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// Get returns the value of the extra element named key, or "" when absent.
func (e *Error) Get(key string) string {
	for _, kv := range e.Extra {
		if kv.Key == key {
			return kv.Value
		}
	}
	return ""
}
