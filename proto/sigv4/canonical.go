package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
	"time"
)

// Payload hash values a client can put in x-amz-content-sha256 instead of a
// hex digest.
const (
	UnsignedPayload                 = "UNSIGNED-PAYLOAD"
	StreamingPayload                = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
	StreamingPayloadTrailer         = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
	StreamingUnsignedPayloadTrailer = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
	// EmptySHA256 is the hex SHA-256 of an empty body.
	EmptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
)

// ValidPayloadHash reports whether s is acceptable in x-amz-content-sha256:
// 64 hex digits or one of the special values above.
func ValidPayloadHash(s string) bool {
	switch s {
	case UnsignedPayload, StreamingPayload, StreamingPayloadTrailer, StreamingUnsignedPayloadTrailer:
		return true
	}
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if _, ok := Unhex(s[i]); !ok {
			return false
		}
	}
	return true
}

// canonicalKey writes the net/http canonical form of a header name ("x-amz-date"
// → "X-Amz-Date") into buf, so r.Header can be indexed without allocating.
func canonicalKey(buf []byte, name string) []byte {
	upper := true
	for i := 0; i < len(name); i++ {
		c := name[i]
		if upper && 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		} else if !upper && 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		upper = c == '-'
		buf = append(buf, c)
	}
	return buf
}

// headerValues returns the values of the (lower-case) header name. Host is not
// in r.Header (net/http moves it to r.Host), nor always are Content-Length and
// Transfer-Encoding, so those come from the request fields when needed.
func headerValues(r *http.Request, name string) []string {
	if len(name) <= 64 {
		var kb [64]byte
		if vs, ok := r.Header[string(canonicalKey(kb[:0], name))]; ok {
			return vs
		}
	} else if vs, ok := r.Header[textproto.CanonicalMIMEHeaderKey(name)]; ok {
		return vs
	}
	for k, vs := range r.Header { // keys set without canonicalisation
		if strings.EqualFold(k, name) {
			return vs
		}
	}
	return nil
}

// appendHeaderValue appends v trimmed, with runs of spaces folded to one space
// (the SigV4 "Trimall").
func appendHeaderValue(dst []byte, v string) []byte {
	v = strings.Trim(v, " \t")
	space := false
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == ' ' {
			space = true
			continue
		}
		if space {
			dst = append(dst, ' ')
			space = false
		}
		dst = append(dst, c)
	}
	return dst
}

// appendCanonicalHeaders appends "name:value\n" for each signed header, in the
// order of the SignedHeaders list (which clients send sorted).
func appendCanonicalHeaders(dst []byte, r *http.Request, signed []string) []byte {
	for _, name := range signed {
		start := len(dst)
		dst = append(dst, name...)
		for i := start; i < len(dst); i++ { // lower-case the name in place
			if c := dst[i]; 'A' <= c && c <= 'Z' {
				dst[i] = c + 'a' - 'A'
			}
		}
		dst = append(dst, ':')
		switch {
		case strings.EqualFold(name, "host"):
			host := r.Host
			if host == "" && r.URL != nil {
				host = r.URL.Host
			}
			dst = appendHeaderValue(dst, host)
			dst = append(dst, '\n')
			continue
		case strings.EqualFold(name, "content-length"):
			if vs := headerValues(r, name); len(vs) == 0 && r.ContentLength >= 0 {
				dst = strconv.AppendInt(dst, r.ContentLength, 10)
				dst = append(dst, '\n')
				continue
			}
		case strings.EqualFold(name, "transfer-encoding"):
			if vs := headerValues(r, name); len(vs) == 0 && len(r.TransferEncoding) > 0 {
				dst = append(dst, strings.Join(r.TransferEncoding, ",")...)
				dst = append(dst, '\n')
				continue
			}
		}
		for i, v := range headerValues(r, name) {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendHeaderValue(dst, v)
		}
		dst = append(dst, '\n')
	}
	return dst
}

// appendCanonicalRequest appends the canonical request:
//
//	method \n URI \n query \n headers \n signed headers \n payload hash
//
// params are the parsed query parameters (sorted in place).
func appendCanonicalRequest(dst []byte, r *http.Request, params []queryParam, signed []string, signedRaw, payloadHash string) []byte {
	dst = append(dst, r.Method...)
	dst = append(dst, '\n')
	dst = appendCanonicalURI(dst, r)
	dst = append(dst, '\n')
	dst = appendCanonicalQuery(dst, params)
	dst = append(dst, '\n')
	dst = appendCanonicalHeaders(dst, r, signed)
	dst = append(dst, '\n')
	dst = append(dst, signedRaw...)
	dst = append(dst, '\n')
	dst = append(dst, payloadHash...)
	return dst
}

// CanonicalRequest returns the SigV4 canonical request of r with S3's rules
// (no path normalisation, see CanonicalURI and CanonicalQuery), for the given
// signed header names (lower case, in signing order) and payload hash.
func CanonicalRequest(r *http.Request, signedHeaders []string, payloadHash string) string {
	var params []queryParam
	if r.URL != nil {
		params = parseQuery(nil, r.URL.RawQuery)
	}
	return string(appendCanonicalRequest(make([]byte, 0, 512), r, params, signedHeaders, strings.Join(signedHeaders, ";"), payloadHash))
}

// appendStringToSign appends the string to sign for a canonical request hash.
func appendStringToSign(dst []byte, amzDate, scope string, crHash *[sha256.Size]byte) []byte {
	dst = append(dst, Algorithm+"\n"...)
	dst = append(dst, amzDate...)
	dst = append(dst, '\n')
	dst = append(dst, scope...)
	dst = append(dst, '\n')
	return hex.AppendEncode(dst, crHash[:])
}

// appendStringToSignCred is appendStringToSign with the scope taken from c,
// sparing the verifier the allocation of the scope string.
func appendStringToSignCred(dst []byte, amzDate string, c *Credential, crHash *[sha256.Size]byte) []byte {
	dst = append(dst, Algorithm+"\n"...)
	dst = append(dst, amzDate...)
	dst = append(dst, '\n')
	dst = append(dst, c.Date...)
	dst = append(dst, '/')
	dst = append(dst, c.Region...)
	dst = append(dst, '/')
	dst = append(dst, c.Service...)
	dst = append(dst, '/')
	dst = append(dst, c.Terminator...)
	dst = append(dst, '\n')
	return hex.AppendEncode(dst, crHash[:])
}

// StringToSign returns
//
//	AWS4-HMAC-SHA256 \n <yyyymmddThhmmssZ> \n <scope> \n hex(sha256(canonicalRequest))
func StringToSign(signedAt time.Time, scope, canonicalRequest string) string {
	h := sha256.Sum256([]byte(canonicalRequest))
	return string(appendStringToSign(nil, signedAt.UTC().Format(amzDateLayout), scope, &h))
}

// SigningKey derives the SigV4 signing key:
// HMAC(HMAC(HMAC(HMAC("AWS4"+secret, date), region), service), "aws4_request").
func SigningKey(secret, date, region, service string) []byte {
	k := hmacSum([]byte("AWS4"+secret), date)
	k = hmacSum(k, region)
	k = hmacSum(k, service)
	return hmacSum(k, "aws4_request")
}

func hmacSum(key []byte, msg string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(msg))
	return h.Sum(nil)
}

// Signature returns hex(HMAC-SHA256(signingKey, stringToSign)).
func Signature(signingKey []byte, stringToSign string) string {
	return hex.EncodeToString(hmacSum(signingKey, stringToSign))
}

// ScopeString builds "date/region/service/aws4_request".
func ScopeString(date, region, service string) string {
	return date + "/" + region + "/" + service + "/aws4_request"
}

// hmacInto computes HMAC-SHA256 with a key of at most 64 bytes over the message
// that buf holds after its first 64 bytes, without allocating: buf[:64] is
// overwritten with the inner padded key. (crypto/hmac allocates several hash
// states per call, which is most of a verification's garbage.)
func hmacInto(out *[sha256.Size]byte, key []byte, buf []byte) {
	const block = 64
	for i := 0; i < block; i++ {
		var k byte
		if i < len(key) {
			k = key[i]
		}
		buf[i] = k ^ 0x36
	}
	inner := sha256.Sum256(buf)
	var ob [block + sha256.Size]byte
	for i := 0; i < block; i++ {
		var k byte
		if i < len(key) {
			k = key[i]
		}
		ob[i] = k ^ 0x5c
	}
	copy(ob[block:], inner[:])
	*out = sha256.Sum256(ob[:])
}
