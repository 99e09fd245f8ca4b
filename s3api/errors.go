package s3api

import (
	"encoding/xml"
	"errors"
	"net/http"
	"strings"
	"syscall"

	"github.com/postern/postern/diskspace"
	"github.com/postern/postern/proto/sigv4"
)

// Error is an S3 error response. Every failure a handler returns is turned into
// one of these in writeError, the single place where errors become HTTP.
type Error struct {
	Code    string
	Message string
	Status  int
	// Resource overrides the request path in the error body.
	Resource string
	// Extra holds additional elements AWS includes for some codes.
	Extra []sigv4.KV
	// Header holds response headers to add (e.g. x-amz-delete-marker).
	Header http.Header
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

func errorf(status int, code, msg string) *Error {
	return &Error{Code: code, Message: msg, Status: status}
}

// The S3 error catalogue: codes, statuses and messages as AWS documents them
// (https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html).
var (
	errAccessDenied = func() *Error { return errorf(403, "AccessDenied", "Access Denied") }
	errNoSuchBucket = func() *Error { return errorf(404, "NoSuchBucket", "The specified bucket does not exist") }
	errNoSuchKey    = func() *Error { return errorf(404, "NoSuchKey", "The specified key does not exist.") }
	errNoSuchUpload = func() *Error {
		return errorf(404, "NoSuchUpload", "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.")
	}
	errBucketNotEmpty      = func() *Error { return errorf(409, "BucketNotEmpty", "The bucket you tried to delete is not empty") }
	errBucketAlreadyExists = func() *Error {
		return errorf(409, "BucketAlreadyExists", "The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again.")
	}
	errBucketAlreadyOwned = func() *Error {
		return errorf(409, "BucketAlreadyOwnedByYou", "Your previous request to create the named bucket succeeded and you already own it.")
	}
	errInvalidBucketName = func() *Error { return errorf(400, "InvalidBucketName", "The specified bucket is not valid.") }
	errKeyTooLong        = func() *Error { return errorf(400, "KeyTooLongError", "Your key is too long") }
	errMalformedXML      = func() *Error {
		return errorf(400, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema")
	}
	errBadDigest = func() *Error {
		return errorf(400, "BadDigest", "The Content-MD5 you specified did not match what we received.")
	}
	errInvalidDigest  = func() *Error { return errorf(400, "InvalidDigest", "The Content-MD5 you specified is not valid.") }
	errSHA256Mismatch = func() *Error {
		return errorf(400, "XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' header does not match what was computed.")
	}
	errIncompleteBody = func() *Error {
		return errorf(400, "IncompleteBody", "You did not provide the number of bytes specified by the Content-Length HTTP header")
	}
	errMissingContentLength = func() *Error {
		return errorf(411, "MissingContentLength", "You must provide the Content-Length HTTP header.")
	}
	errEntityTooLarge = func() *Error {
		return errorf(400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed object size.")
	}
	errEntityTooSmall = func() *Error {
		return errorf(400, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed object size.")
	}
	errInvalidPart = func() *Error {
		return errorf(400, "InvalidPart", "One or more of the specified parts could not be found.  The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.")
	}
	errInvalidPartOrder = func() *Error {
		return errorf(400, "InvalidPartOrder", "The list of parts was not in ascending order. The parts list must be specified in order by part number.")
	}
	errPreconditionFailed = func() *Error {
		return errorf(412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold")
	}
	errInvalidRange   = func() *Error { return errorf(416, "InvalidRange", "The requested range is not satisfiable") }
	errNotImplemented = func() *Error {
		return errorf(501, "NotImplemented", "A header you provided implies functionality that is not implemented")
	}
	errInternal = func() *Error {
		return errorf(500, "InternalError", "We encountered an internal error. Please try again.")
	}
	// errInsufficientStorage is not in S3's catalogue (AWS never runs out of
	// space); 507 and this code name the condition plainly. SDKs do not
	// retry it: the client must wait until space is freed.
	errInsufficientStorage = func() *Error {
		return errorf(http.StatusInsufficientStorage, "InsufficientStorage",
			"The server's storage is nearly full: uploads are refused so that the space kept in reserve stays available for deletes. Delete objects or ask the administrator to free space, then try again.")
	}
	errInvalidArgument = func(msg string) *Error { return errorf(400, "InvalidArgument", msg) }
	errInvalidRequest  = func(msg string) *Error { return errorf(400, "InvalidRequest", msg) }
	errMalformedPolicy = func(msg string) *Error { return errorf(400, "MalformedPolicy", msg) }
	errRequestTimeout  = func() *Error {
		return errorf(400, "RequestTimeout", "Your socket connection to the server was not read from or written to within the timeout period. Idle connections will be closed.")
	}
	errInvalidStorageClass = func() *Error {
		return errorf(400, "InvalidStorageClass", "The storage class you specified is not valid")
	}
	errMetadataTooLarge = func() *Error {
		return errorf(400, "MetadataTooLarge", "Your metadata headers exceed the maximum allowed metadata size.")
	}
	errNoSuchBucketPolicy    = func() *Error { return errorf(404, "NoSuchBucketPolicy", "The bucket policy does not exist") }
	errInvalidLocationConstr = func(msg string) *Error { return errorf(400, "InvalidLocationConstraint", msg) }
)

// errorBody is the XML shape of an S3 error.
type errorBody struct {
	XMLName   xml.Name `xml:"Error"`
	Code      string   `xml:"Code"`
	Message   string   `xml:"Message"`
	Extra     []extraElem
	Resource  string `xml:"Resource,omitempty"`
	RequestID string `xml:"RequestId"`
	HostID    string `xml:"HostId"`
}

type extraElem struct {
	XMLName xml.Name
	Value   string `xml:",chardata"`
}

// toError maps any error to an S3 error. Unknown errors become InternalError;
// the caller logs them.
func toError(err error) (*Error, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e, true
	}
	var se *sigv4.Error
	if errors.As(err, &se) {
		return &Error{Code: se.Code, Message: se.Message, Status: se.Status, Extra: se.Extra}, true
	}
	if diskFull(err) {
		return errInsufficientStorage(), true
	}
	return errInternal(), false
}

// diskFull reports whether err is a write that failed, or was refused, for
// lack of disk space.
func diskFull(err error) bool {
	return errors.Is(err, diskspace.ErrFull) || errors.Is(err, syscall.ENOSPC)
}

// writeError writes e as S3 error XML. HEAD responses carry no body.
func writeError(w http.ResponseWriter, r *http.Request, requestID string, e *Error) {
	h := w.Header()
	for k, v := range e.Header {
		h[k] = v
	}
	h.Set("Content-Type", "application/xml")
	h.Del("Content-Length")
	h.Del("ETag")
	h.Del("Last-Modified")
	if r.Method == http.MethodHead {
		w.WriteHeader(e.Status)
		return
	}
	body := errorBody{Code: e.Code, Message: e.Message, Resource: e.Resource, RequestID: requestID, HostID: requestID}
	if body.Resource == "" {
		body.Resource = r.URL.Path
	}
	for _, kv := range e.Extra {
		if validXMLName(kv.Key) {
			body.Extra = append(body.Extra, extraElem{XMLName: xml.Name{Local: kv.Key}, Value: kv.Value})
		}
	}
	w.WriteHeader(e.Status)
	w.Write([]byte(xml.Header))
	xml.NewEncoder(w).Encode(body)
}

func validXMLName(s string) bool {
	if s == "" || strings.ContainsAny(s, " <>&\"'/") {
		return false
	}
	return true
}
