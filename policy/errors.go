package policy

// Error codes returned in Error.Code.
const (
	// CodeMalformedPolicy is S3's code for an invalid bucket policy.
	CodeMalformedPolicy = "MalformedPolicy"
	// CodeMalformedPolicyDocument is IAM's code for an invalid identity policy.
	CodeMalformedPolicyDocument = "MalformedPolicyDocument"
	// CodeLimitExceeded is IAM's code for a policy over its size quota.
	CodeLimitExceeded = "LimitExceeded"
)

// Error is returned by Parse and CheckSize. Code is an AWS error code and
// Message a human-readable explanation naming what is wrong.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }
