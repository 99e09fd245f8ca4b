package iam

import (
	"errors"
	"fmt"
)

// Errors of temporary credentials, returned by Service.Credentials. The HTTP
// layers map them to their API's error: S3 answers 403 ExpiredToken "The
// provided token has expired." and 403 InvalidToken "The security token
// included in the request is invalid."; IAM and STS answer ExpiredToken and
// InvalidClientTokenId.
var (
	ErrExpiredToken = errors.New("iam: the session token has expired")
	ErrInvalidToken = errors.New("iam: the session token is invalid")
)

// IAM error codes, as the IAM query API spells them.
const (
	CodeNoSuchEntity            = "NoSuchEntity"
	CodeEntityAlreadyExists     = "EntityAlreadyExists"
	CodeLimitExceeded           = "LimitExceeded"
	CodeDeleteConflict          = "DeleteConflict"
	CodeMalformedPolicyDocument = "MalformedPolicyDocument"
	CodeValidationError         = "ValidationError"
	CodeInvalidInput            = "InvalidInput"
)

// Error is an IAM-level failure with the code and message the IAM API
// returns. Stores and the Service return it (possibly wrapped); errors.Is
// matches it against the Err… sentinels below by code.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return "iam: " + e.Code + ": " + e.Message }

// Is makes errors.Is(err, ErrNoSuchEntity) true for every *Error with that code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Message == "" && t.Code == e.Code
}

// Sentinels for errors.Is; they carry no message.
var (
	ErrNoSuchEntity        = &Error{Code: CodeNoSuchEntity}
	ErrEntityAlreadyExists = &Error{Code: CodeEntityAlreadyExists}
	ErrLimitExceeded       = &Error{Code: CodeLimitExceeded}
	ErrDeleteConflict      = &Error{Code: CodeDeleteConflict}
	ErrValidation          = &Error{Code: CodeValidationError}
)

// Errorf builds an *Error with a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}
