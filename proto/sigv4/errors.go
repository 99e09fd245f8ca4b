package sigv4

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/postern/postern/proto/s3err"
)

func newErr(code string, status int, msg string, extra ...s3err.KV) *s3err.Error {
	return s3err.New(status, code, msg, extra...)
}

// Messages AWS S3 uses; kept as constants so tests and callers can compare.
const (
	msgSignatureMismatch = "The request signature we calculated does not match the signature you provided. Check your key and signing method."
	msgInvalidAccessKey  = "The AWS Access Key Id you provided does not exist in our records."
	msgSkew              = "The difference between the request time and the current time is too large."
	msgOnlyOneAuth       = "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified"
	msgQueryRequires     = "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters."
	msgExpiresTooLarge   = "X-Amz-Expires must be less than a week (in seconds) that is; 604800"
	msgExpiresNegative   = "X-Amz-Expires must be non-negative"
	msgExpiresNumber     = "X-Amz-Expires should be a number"
	msgHeaderMalformed   = "The authorization header is malformed; "
	msgCredentialParse   = "Error parsing the X-Amz-Credential parameter; "
	msgCredentialFormat  = "the Credential is mal-formed; expecting \"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\"."
	msgThreeComponents   = "the authorization header requires three components: Credential, SignedHeaders, and Signature."
	msgMissingDate       = "AWS authentication requires a valid Date or x-amz-date header"
	msgMissingSHA256     = "Missing required header for this request: x-amz-content-sha256"
	msgBadSHA256         = "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER or a valid sha256 value."
	msgSHA256Mismatch    = "The provided 'x-amz-content-sha256' header does not match what was computed."
	msgExpired           = "Request has expired"
	msgNotYetValid       = "Request is not valid yet"
	msgUnsignedHeaders   = "There were headers present in the request which were not signed"
	msgAccessDenied      = "Access Denied"
	msgUnsupportedAuth   = "Unsupported Authorization Type"
	msgQueryAlgorithm    = "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\""
	msgQueryDate         = "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\""
	msgHostNotSigned     = "the host header must be signed."
)

// malformed builds the error for a bad Authorization header (presigned=false) or
// bad query parameters (presigned=true); AWS words the two differently.
func malformed(presigned bool, detail string, extra ...s3err.KV) *s3err.Error {
	if presigned {
		return newErr("AuthorizationQueryParametersError", http.StatusBadRequest, msgCredentialParse+detail, extra...)
	}
	return newErr("AuthorizationHeaderMalformed", http.StatusBadRequest, msgHeaderMalformed+detail, extra...)
}

func errSkew(requestTime string, now time.Time, maxSkew time.Duration) *s3err.Error {
	return newErr("RequestTimeTooSkewed", http.StatusForbidden, msgSkew,
		s3err.KV{Key: "RequestTime", Value: requestTime},
		s3err.KV{Key: "ServerTime", Value: now.UTC().Format(time.RFC3339)},
		s3err.KV{Key: "MaxAllowedSkewMilliseconds", Value: strconv.FormatInt(maxSkew.Milliseconds(), 10)})
}

// HexBytes renders s as space separated lower-case hex bytes, the format AWS
// uses for StringToSignBytes and CanonicalRequestBytes (SigV2 uses it too).
func HexBytes(s string) string {
	if s == "" {
		return ""
	}
	var b strings.Builder
	b.Grow(len(s) * 3)
	for i := 0; i < len(s); i++ {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteByte(hexLower[s[i]>>4])
		b.WriteByte(hexLower[s[i]&15])
	}
	return b.String()
}

const (
	hexLower = "0123456789abcdef"
	hexUpper = "0123456789ABCDEF"
)
