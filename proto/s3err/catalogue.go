package s3err

import "net/http"

// The S3 error catalogue: codes, statuses and messages as AWS documents them
// (https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html). Each
// constructor is named after its code and returns a fresh *Error.

func AccessDenied() *Error { return New(403, "AccessDenied", "Access Denied") }

func NoSuchBucket() *Error { return New(404, "NoSuchBucket", "The specified bucket does not exist") }

func NoSuchKey() *Error { return New(404, "NoSuchKey", "The specified key does not exist.") }

func NoSuchUpload() *Error {
	return New(404, "NoSuchUpload", "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.")
}

func BucketNotEmpty() *Error {
	return New(409, "BucketNotEmpty", "The bucket you tried to delete is not empty")
}

func BucketAlreadyExists() *Error {
	return New(409, "BucketAlreadyExists", "The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again.")
}

func BucketAlreadyOwnedByYou() *Error {
	return New(409, "BucketAlreadyOwnedByYou", "Your previous request to create the named bucket succeeded and you already own it.")
}

func InvalidBucketName() *Error {
	return New(400, "InvalidBucketName", "The specified bucket is not valid.")
}

func KeyTooLongError() *Error { return New(400, "KeyTooLongError", "Your key is too long") }

func MalformedXML() *Error {
	return New(400, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema")
}

func BadDigest() *Error {
	return New(400, "BadDigest", "The Content-MD5 you specified did not match what we received.")
}

func InvalidDigest() *Error {
	return New(400, "InvalidDigest", "The Content-MD5 you specified is not valid.")
}

func XAmzContentSHA256Mismatch() *Error {
	return New(400, "XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' header does not match what was computed.")
}

func IncompleteBody() *Error {
	return New(400, "IncompleteBody", "You did not provide the number of bytes specified by the Content-Length HTTP header")
}

func MissingContentLength() *Error {
	return New(411, "MissingContentLength", "You must provide the Content-Length HTTP header.")
}

func EntityTooLarge() *Error {
	return New(400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed object size.")
}

func EntityTooSmall() *Error {
	return New(400, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed object size.")
}

func InvalidPart() *Error {
	return New(400, "InvalidPart", "One or more of the specified parts could not be found.  The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.")
}

func InvalidPartOrder() *Error {
	return New(400, "InvalidPartOrder", "The list of parts was not in ascending order. The parts list must be specified in order by part number.")
}

func PreconditionFailed() *Error {
	return New(412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold")
}

func InvalidRange() *Error { return New(416, "InvalidRange", "The requested range is not satisfiable") }

func NotImplemented() *Error {
	return New(501, "NotImplemented", "A header you provided implies functionality that is not implemented")
}

func InternalError() *Error {
	return New(500, "InternalError", "We encountered an internal error. Please try again.")
}

// InsufficientStorage is not in S3's catalogue (AWS never runs out of
// space); 507 and this code name the condition plainly. SDKs do not retry
// it: the client must wait until space is freed.
func InsufficientStorage() *Error {
	return New(http.StatusInsufficientStorage, "InsufficientStorage",
		"The server's storage is nearly full: uploads are refused so that the space kept in reserve stays available for deletes. Delete objects or ask the administrator to free space, then try again.")
}

// ServiceUnavailable is AWS's 503 for a request the service cannot serve
// now but may later, unchanged; SDKs retry it with back-off. Postern
// answers it when a store behind it (what: "metadata store", "blob store")
// does not answer.
func ServiceUnavailable(what string) *Error {
	return New(http.StatusServiceUnavailable, "ServiceUnavailable",
		"Service is unable to handle request: the "+what+" is unreachable. Please try again.")
}

func InvalidArgument(msg string) *Error { return New(400, "InvalidArgument", msg) }

func InvalidRequest(msg string) *Error { return New(400, "InvalidRequest", msg) }

func MalformedPolicy(msg string) *Error { return New(400, "MalformedPolicy", msg) }

func RequestTimeout() *Error {
	return New(400, "RequestTimeout", "Your socket connection to the server was not read from or written to within the timeout period. Idle connections will be closed.")
}

func InvalidStorageClass() *Error {
	return New(400, "InvalidStorageClass", "The storage class you specified is not valid")
}

func MetadataTooLarge() *Error {
	return New(400, "MetadataTooLarge", "Your metadata headers exceed the maximum allowed metadata size.")
}

func NoSuchBucketPolicy() *Error {
	return New(404, "NoSuchBucketPolicy", "The bucket policy does not exist")
}

func InvalidLocationConstraint(msg string) *Error { return New(400, "InvalidLocationConstraint", msg) }
