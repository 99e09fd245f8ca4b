// Package sigv4 verifies AWS Signature Version 4 requests the way Amazon S3
// does. It is pure: no I/O, no package-level state, standard library only
// (plus the leaf proto/s3err, its error type).
//
// A Verifier authenticates an *http.Request signed either with an
// "Authorization: AWS4-HMAC-SHA256 ..." header or as a presigned URL
// (X-Amz-Algorithm=AWS4-HMAC-SHA256 in the query), without reading the body.
// Failures are *s3err.Error values carrying the S3 error code, HTTP status, message
// and extra XML elements AWS returns, so the HTTP layer can render them as is.
//
// S3 rules, which differ from the generic SigV4 ones:
//   - the canonical URI is the path as sent, never normalised ("a//b", "../x"
//     and trailing slashes are signed verbatim) and encoded once; "%2F" in the
//     wire path stays distinct from '/';
//   - the payload hash is the x-amz-content-sha256 header (required for header
//     auth), or UNSIGNED-PAYLOAD for presigned URLs unless a hash is signed;
//     the caller enforces it while reading the body (Result.PayloadHash);
//   - every x-amz-* header sent must be signed.
//
// Services that sign the body hash themselves (iam, sts) pass the hash to
// VerifyWithPayloadHash. Their paths are encoded once, like S3's (the AWS SDKs
// encode non-S3 paths twice; for those services the path is always "/").
//
// The building blocks (CanonicalRequest, StringToSign, SigningKey, Signature,
// EncodeURIComponent, EncodePath, ParseAuthorization, ParsePresigned) are
// exported for chunk-signature verification, tooling and tests.
package sigv4
