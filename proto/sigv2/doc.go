// Package sigv2 verifies AWS Signature Version 2 requests the way Amazon S3
// does, for legacy clients (aws CLI v1 `aws s3 presign`, s3cmd, boto with
// signature_version "s3"). It is pure: no I/O, no package-level state, standard
// library only (plus proto/s3err, the error type both versions return so the
// HTTP layer renders them the same way, and the sigv4 package, whose Lookup
// and AuthType types it reuses).
//
// A Verifier authenticates an *http.Request signed either with an
// "Authorization: AWS AccessKeyId:Signature" header or as a presigned URL
// (AWSAccessKeyId, Expires and Signature in the query), without reading the
// body. The signature is base64(HMAC-SHA1(secret, StringToSign)) where
//
//	StringToSign = Verb "\n" Content-MD5 "\n" Content-Type "\n"
//	               (Date | "" when x-amz-date is sent | Expires for presigned) "\n"
//	               CanonicalizedAmzHeaders CanonicalizedResource
//
// Rules as implemented (see StringToSign for details):
//   - CanonicalizedResource is "/"+bucket for virtual-host-style requests
//     (Host BUCKET.domain), then the path exactly as sent (still %-encoded,
//     never normalised), then the signed sub-resources (SignedSubresources())
//     sorted by name, their values %-decoded as AWS and botocore sign them;
//   - every x-amz-* header is signed (x-amz-security-token included); for
//     presigned URLs the x-amz-* query parameters count as such headers, which
//     is how botocore and AWS carry x-amz-security-token, x-amz-acl... in a
//     presigned URL, so the session token is always signed;
//   - header auth needs a Date or x-amz-date within maxSkew of now; presigned
//     URLs must not be expired nor expire more than maxExpiry after now (a
//     Postern rule: no legacy link outlives what a SigV4 link may).
//
// Browser POST uploads signed with SigV2 are checked with VerifyPOST.
package sigv2
