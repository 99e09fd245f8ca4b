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
// Every failure is an *s3err.Error carrying the S3 error code, message and HTTP
// status to answer with.
package postpolicy

import "github.com/postern/postern/proto/s3err"

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

func invalidPolicy(msg string) *s3err.Error {
	return &s3err.Error{Code: CodeInvalidPolicyDocument, Status: 400, Message: "Invalid Policy: " + msg}
}

func denied(msg string) *s3err.Error {
	return &s3err.Error{Code: CodeAccessDenied, Status: 403, Message: "Invalid according to Policy: " + msg}
}

func errMalformed() *s3err.Error {
	return &s3err.Error{Code: CodeMalformedPOSTRequest, Status: 400,
		Message: "The body of your POST request is not well-formed multipart/form-data."}
}

func errPreDataTooLarge() *s3err.Error {
	// "preceeding ... was" is S3's wording, kept byte for byte.
	return &s3err.Error{Code: CodeMaxPostPreDataLengthExceeded, Status: 400,
		Message: "Your POST request fields preceeding the upload file was too large.",
		Extra:   []s3err.KV{{Key: "MaxPostPreDataLengthBytes", Value: "20480"}}}
}

func errNoFile() *s3err.Error {
	return &s3err.Error{Code: CodeInvalidArgument, Status: 400,
		Message: "POST requires exactly one file upload per request.",
		Extra:   []s3err.KV{{Key: "ArgumentName", Value: "file"}, {Key: "ArgumentValue", Value: "0"}}}
}
