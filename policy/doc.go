// Package policy implements the AWS IAM JSON policy language as used by
// Postern: parsing and validating identity-based and resource-based (bucket)
// policy documents, and evaluating a request against them with the AWS
// policy evaluation logic.
//
// The package is pure: it performs no I/O, keeps no global mutable state and
// has no init function. A parsed *Policy is immutable and safe for concurrent
// use; all wildcard patterns, condition values, CIDR blocks and dates are
// compiled once by Parse so that Evaluate does not allocate in the common case.
//
// Strictness: a document containing an element, a principal type or a
// condition operator this package does not know is refused with an *Error,
// never silently ignored, because ignoring part of a Deny statement would
// widen access.
//
// Evaluation summary (see Evaluate for details):
//   - an explicit Deny in any applicable policy wins;
//   - within one account, an Allow from an identity-based policy or from the
//     resource-based policy grants access;
//   - across accounts, both the caller's identity-based policy and the
//     resource-based policy must allow;
//   - session policies narrow what identity-based policies grant (and what a
//     resource-based policy grants to the role, though not a grant naming the
//     session ARN itself);
//   - the account root user is not subject to identity or session policies but
//     is subject to explicit denies in resource-based policies;
//   - the anonymous principal is granted only by a resource-based policy whose
//     Principal is "*" (or {"AWS": "*"});
//   - otherwise access is denied by default.
package policy
