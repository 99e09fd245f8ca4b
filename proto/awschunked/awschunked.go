// Package awschunked decodes S3 "aws-chunked" request bodies:
//
//	STREAMING-AWS4-HMAC-SHA256-PAYLOAD          signed chunks
//	STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER  signed chunks and a signed trailer
//	STREAMING-UNSIGNED-PAYLOAD-TRAILER          plain chunks and a trailer
//
// A Reader streams the decoded payload through with bounded memory: chunk
// data is passed to the caller as it arrives while being hashed, and each
// chunk's signature is verified when the chunk ends. A bad signature or
// malformed framing therefore surfaces as an error from Read at the latest
// when the chunk (or trailer) ends, and always before io.EOF: callers must
// commit an object only after reading io.EOF.
package awschunked

import (
	"errors"
	"strings"

	"github.com/postern/postern/proto/s3err"
)

// Values of the x-amz-content-sha256 header announcing an aws-chunked body.
const (
	StreamingSigned          = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
	StreamingSignedTrailer   = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
	StreamingUnsignedTrailer = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
)

// ParseContentSHA256 maps an x-amz-content-sha256 value to the decoding
// mode: whether chunks are signed and whether a trailer follows. ok is
// false for any other value, including the SigV4a (ECDSA) streaming modes,
// which this package does not implement.
func ParseContentSHA256(v string) (signed, trailer, ok bool) {
	switch v {
	case StreamingSigned:
		return true, false, true
	case StreamingSignedTrailer:
		return true, true, true
	case StreamingUnsignedTrailer:
		return false, true, true
	}
	return false, false, false
}

// Signer carries what is needed to verify chunk and trailer signatures of
// a SigV4 streaming upload.
type Signer struct {
	Key     []byte // SigV4 signing key, see SigningKey
	AmzDate string // request timestamp, e.g. "20130524T000000Z" (x-amz-date)
	Scope   string // credential scope, e.g. "20130524/us-east-1/s3/aws4_request"
	Seed    string // hex signature from the Authorization header
}

// Decoding failures are *s3err.Error values carrying the code, status and
// message S3 answers with; the detail of what was wrong (for logs) is their
// Err. Compare with errors.Is against the sentinels, which match any error
// with the same Code.
var (
	// A chunk or trailer signature is wrong or missing.
	ErrSignatureDoesNotMatch = &s3err.Error{Code: "SignatureDoesNotMatch", Status: 403,
		Message: "The request signature we calculated does not match the signature you provided. Check your key and signing method."}
	// The body ended early, or held fewer or more bytes than declared.
	ErrIncompleteBody = &s3err.Error{Code: "IncompleteBody", Status: 400,
		Message: "The request body terminated unexpectedly"}
	// A chunk-size line is malformed or too long. The message is the detail.
	ErrInvalidChunkSize = &s3err.Error{Code: "InvalidChunkSizeError", Status: 400}
	// A chunk other than the last is smaller than MinChunkSize (checked
	// only after RequireMinChunkSize). It has the code of
	// ErrInvalidChunkSize, as in S3, so errors.Is matches both. The error
	// returned carries the number of the chunk that followed the small one
	// (from 1) and the small one's size, as S3 reports them in <Chunk> and
	// <BadChunkSize>.
	ErrChunkTooSmall = &s3err.Error{Code: "InvalidChunkSizeError", Status: 403,
		Message: "Only the last chunk is allowed to have a size less than 8192 bytes"}
	// Other malformed framing: missing CRLF after chunk data, bad
	// trailers, data after the end. The message is the detail.
	ErrMalformed = &s3err.Error{Code: "InvalidRequest", Status: 400}
)

// newErr returns a fresh error of base's kind. detail becomes the message
// when base has none, else the cause.
func newErr(base *s3err.Error, detail string) *s3err.Error {
	e := &s3err.Error{Code: base.Code, Status: base.Status, Message: base.Message}
	if e.Message == "" {
		e.Message = detail
	} else {
		e.Err = errors.New("awschunked: " + detail)
	}
	return e
}

// MinChunkSize is S3's smallest chunk but for the last one carrying data:
// "The chunk size must be at least 8 KB ... This chunk size applies to all
// chunks except the last one" (AWS, sigv4-streaming.html).
const MinChunkSize = 8192

// Limits on the framing; exceeding them is an error.
const (
	MaxLineLength = 4096 // chunk-size line or trailer line, with CRLF
	MaxTrailers   = 16   // trailer lines, excluding x-amz-trailer-signature
)

func isHex(s []byte) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			return strings.ToLower(s)
		}
	}
	return s
}
