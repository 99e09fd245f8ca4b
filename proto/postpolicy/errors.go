// Package postpolicy parses and checks S3 browser-based uploads: a
// multipart/form-data POST Object request carrying a POST policy.
//
// The package is pure: it reads only from the io.Reader it is given, keeps no
// package-level mutable state, and performs no signature verification (the
// caller verifies x-amz-signature over the policy field as received, before
// calling ParsePolicy, as S3 does).
//
// A typical handler:
//
//	form, err := postpolicy.ReadForm(r.Body, boundary) // fields read, file not yet
//	// ... verify the signature over form.Fields["policy"] ...
//	pol, err := postpolicy.ParsePolicy(form.Fields["policy"])
//	err = pol.Check(form, bucket, time.Now())
//	key := form.Key()
//	// stream form.File, counting bytes; then pol.CheckLength(n)
//
// Every failure is an *Error carrying the S3 error code, message and HTTP
// status to answer with.
package postpolicy

// Limits applied by ReadForm and ParsePolicy.
const (
	// MaxPreDataSize bounds the form data before the file part: the field
	// names, values, part headers and boundaries. S3 documents "The form data
	// and boundaries (excluding the contents of the file) cannot exceed
	// 20KB" and reports MaxPostPreDataLengthBytes 20480 when it is exceeded.
	MaxPreDataSize = 20480
	// MaxFields bounds the number of parts before the file part.
	MaxFields = 100
	// MaxPolicySize bounds the decoded policy JSON. The policy is itself a
	// form field, so it can never legitimately exceed MaxPreDataSize.
	MaxPolicySize = 20480
)

// KV is one extra XML element of an S3 error body (for example
// MaxSizeAllowed), kept as an ordered pair.
type KV struct{ Key, Value string }

// Error is a failure as S3 reports it: Code and Message become <Code> and
// <Message>, Status is the HTTP status, and each Extra pair is an additional
// element of the error body, in order.
type Error struct {
	Code    string
	Message string
	Status  int
	Extra   []KV
}

// Error implements error as "Code: Message".
func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Get returns the value of the extra element named key, or "" when absent.
func (e *Error) Get(key string) string {
	for _, kv := range e.Extra {
		if kv.Key == key {
			return kv.Value
		}
	}
	return ""
}

// S3 error codes this package returns.
const (
	CodeAccessDenied          = "AccessDenied"
	CodeInvalidPolicyDocument = "InvalidPolicyDocument"
	CodeInvalidArgument       = "InvalidArgument"
	CodeMalformedPOSTRequest  = "MalformedPOSTRequest"
	// CodeMaxPostPreDataLengthExceeded is the code S3 sends on the wire; its
	// error table spells it MaxPostPreDataLengthExceededError, but every
	// captured response reads MaxPostPreDataLengthExceeded.
	CodeMaxPostPreDataLengthExceeded = "MaxPostPreDataLengthExceeded"
	CodeEntityTooLarge               = "EntityTooLarge"
	CodeEntityTooSmall               = "EntityTooSmall"
)

func invalidPolicy(msg string) *Error {
	return &Error{Code: CodeInvalidPolicyDocument, Status: 400, Message: "Invalid Policy: " + msg}
}

func denied(msg string) *Error {
	return &Error{Code: CodeAccessDenied, Status: 403, Message: "Invalid according to Policy: " + msg}
}

func errMalformed() *Error {
	return &Error{Code: CodeMalformedPOSTRequest, Status: 400,
		Message: "The body of your POST request is not well-formed multipart/form-data."}
}

func errPreDataTooLarge() *Error {
	// "preceeding ... was" is S3's wording, kept byte for byte.
	return &Error{Code: CodeMaxPostPreDataLengthExceeded, Status: 400,
		Message: "Your POST request fields preceeding the upload file was too large.",
		Extra:   []KV{{"MaxPostPreDataLengthBytes", "20480"}}}
}

func errNoFile() *Error {
	return &Error{Code: CodeInvalidArgument, Status: 400,
		Message: "POST requires exactly one file upload per request.",
		Extra:   []KV{{"ArgumentName", "file"}, {"ArgumentValue", "0"}}}
}
