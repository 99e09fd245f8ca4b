package sigv2

import (
	"net/http"
	"strconv"
	"time"

	"github.com/postern/postern/proto/s3err"
)

// Messages AWS S3 uses for SigV2 failures; constants so tests can compare.
const (
	msgSignatureMismatch = "The request signature we calculated does not match the signature you provided. Check your key and signing method."
	msgInvalidAccessKey  = "The AWS Access Key Id you provided does not exist in our records."
	msgSkew              = "The difference between the request time and the current time is too large."
	msgOnlyOneAuth       = "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified"
	msgBadAuthHeader     = "AWS authorization header is invalid.  Expected AwsAccessKeyId:signature"
	msgUnsupportedAuth   = "Unsupported Authorization Type"
	msgMissingDate       = "AWS authentication requires a valid Date or x-amz-date header"
	msgQueryRequires     = "Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters"
	msgBadExpires        = "Invalid date (should be seconds since epoch): "
	msgExpired           = "Request has expired"
	msgAccessDenied      = "Access Denied"
	msgTooManyParams     = "Too many query parameters."
	msgDuplicateParam    = "Query-string authentication parameters may appear only once."
	msgTokenConflict     = "The provided token is malformed or otherwise invalid."
)

// Bounds on what is parsed and echoed back.
const (
	maxAuthorizationLen = 1024 // "AWS " + access key + ':' + 28-char signature
	maxSignatureLen     = 256
	maxQueryParams      = 1000 // as sigv4.MaxQueryParams
	maxEcho             = 256  // longest client value echoed in an error
)

func newErr(code string, status int, msg string, extra ...s3err.KV) *s3err.Error {
	return &s3err.Error{Code: code, Status: status, Message: msg, Extra: extra}
}

// echo bounds a client-supplied value before it is put in an error body.
func echo(s string) string {
	if len(s) > maxEcho {
		return s[:maxEcho]
	}
	return s
}

func errInvalidAuthorization(h string) *s3err.Error {
	return newErr("InvalidArgument", http.StatusBadRequest, msgBadAuthHeader,
		s3err.KV{Key: "ArgumentName", Value: "Authorization"},
		s3err.KV{Key: "ArgumentValue", Value: echo(h)})
}

func errSkew(requestTime string, now time.Time, maxSkew time.Duration) *s3err.Error {
	return newErr("RequestTimeTooSkewed", http.StatusForbidden, msgSkew,
		s3err.KV{Key: "RequestTime", Value: echo(requestTime)},
		s3err.KV{Key: "ServerTime", Value: now.UTC().Format(time.RFC3339)},
		s3err.KV{Key: "MaxAllowedSkewMilliseconds", Value: strconv.FormatInt(maxSkew.Milliseconds(), 10)})
}

// errTooLong is Postern's own rule: a SigV2 presigned URL may not be valid
// for longer than a SigV4 one may (maxExpiry, 7 days by default).
func errTooLong(expires, now time.Time, maxExpiry time.Duration) *s3err.Error {
	const day = 24 * time.Hour
	days := func(d time.Duration) string {
		n := int64(d / day)
		if d%day != 0 {
			n++ // "expires in 8 days" for 7 days and an hour
		}
		if n == 1 {
			return "1 day"
		}
		return strconv.FormatInt(n, 10) + " days"
	}
	msg := "Signature Version 2 presigned URLs may be valid for at most " + days(maxExpiry) +
		"; this one expires in " + days(expires.Sub(now)) +
		". Sign with Signature Version 4 and X-Amz-Expires (at most " +
		strconv.FormatInt(int64(maxExpiry/time.Second), 10) + " seconds)."
	return newErr("AccessDenied", http.StatusForbidden, msg,
		s3err.KV{Key: "Expires", Value: expires.UTC().Format(time.RFC3339)},
		s3err.KV{Key: "ServerTime", Value: now.UTC().Format(time.RFC3339)},
		s3err.KV{Key: "MaxExpiresSeconds", Value: strconv.FormatInt(int64(maxExpiry/time.Second), 10)})
}
