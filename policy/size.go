package policy

import "strconv"

// Size limits for policy documents. Sizes are counted by CheckSize, which,
// like IAM, ignores white space.
const (
	// MaxBucketPolicySize is the S3 bucket policy limit (20 KB); Parse
	// enforces it for Resource documents.
	MaxBucketPolicySize = 20480
	// MaxManagedPolicySize is the IAM managed policy limit in characters.
	MaxManagedPolicySize = 6144
	// MaxUserInlinePolicySize is the aggregate inline policy limit of a user.
	MaxUserInlinePolicySize = 2048
	// MaxRoleInlinePolicySize is the aggregate inline policy limit of a role.
	MaxRoleInlinePolicySize = 10240
	// MaxGroupInlinePolicySize is the aggregate inline policy limit of a group.
	MaxGroupInlinePolicySize = 5120
)

// PolicySize returns the size of doc as AWS counts it: the number of
// characters (runes) that are not white space.
func PolicySize(doc []byte) int {
	n := 0
	for _, r := range string(doc) {
		switch r {
		case ' ', '\t', '\n', '\r':
		default:
			n++
		}
	}
	return n
}

// CheckSize reports an *Error with Code LimitExceeded when doc is larger than
// limit (one of the Max…Size constants, chosen by the caller).
func CheckSize(doc []byte, limit int) error {
	if PolicySize(doc) > limit {
		return &Error{Code: CodeLimitExceeded, Message: "Cannot exceed quota for PolicySize: " + strconv.Itoa(limit)}
	}
	return nil
}
