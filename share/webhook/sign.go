package webhook

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"
)

// SignaturePrefix starts the X-Postern-Signature header's value.
const SignaturePrefix = "sha256="

// DefaultTolerance is how far a notification's timestamp may be from the
// receiver's clock when Verify is given no tolerance.
const DefaultTolerance = 5 * time.Minute

// Errors of Verify.
var (
	ErrNoSignature  = errors.New("webhook: no X-Postern-Signature")
	ErrBadSignature = errors.New("webhook: signature does not match")
	ErrTimestamp    = errors.New("webhook: timestamp missing, malformed or outside the tolerance")
)

// Sign returns the X-Postern-Signature header of a notification: "sha256="
// and the lowercase hex HMAC-SHA256, keyed with secret, of timestamp (the
// X-Postern-Timestamp header: unix seconds), a dot and the body.
func Sign(secret []byte, timestamp string, body []byte) string {
	return SignaturePrefix + hex.EncodeToString(mac(secret, timestamp, body))
}

func mac(secret []byte, timestamp string, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(timestamp))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// Verify checks a notification as its receiver gets it: header is the
// X-Postern-Signature header, timestamp the X-Postern-Timestamp header and
// body the raw request body (before any JSON decoding). It fails unless the
// signature is secret's, compared in constant time, and the timestamp is
// within tolerance of now (DefaultTolerance when tolerance ≤ 0), which
// bounds replays. Keep the X-Postern-Delivery ids seen within the
// tolerance to refuse replays altogether.
func Verify(secret []byte, header, timestamp string, body []byte, now time.Time, tolerance time.Duration) error {
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	if header == "" {
		return ErrNoSignature
	}
	if len(timestamp) == 0 || len(timestamp) > 12 || strings.Trim(timestamp, "0123456789") != "" {
		return ErrTimestamp
	}
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return ErrTimestamp
	}
	if d := now.Sub(time.Unix(ts, 0)); d > tolerance || d < -tolerance {
		return ErrTimestamp
	}
	hexSum, ok := strings.CutPrefix(header, SignaturePrefix)
	if !ok || len(hexSum) != 2*sha256.Size {
		return ErrBadSignature
	}
	got, err := hex.DecodeString(hexSum)
	if err != nil {
		return ErrBadSignature
	}
	if !hmac.Equal(got, mac(secret, timestamp, body)) {
		return ErrBadSignature
	}
	return nil
}

// ShareSecretPrefix starts every per-share signing secret.
const ShareSecretPrefix = "pwhsec_"

// ShareSecret returns the secret that signs the notifications sent to a
// share's own webhook: ShareSecretPrefix and the hex HMAC-SHA256, keyed
// with key (a key the server derives from its server key, see
// ShareKeyFromServerKey), of the share's id. The receiver verifies with
// the string's bytes as the HMAC key. It is never stored: every node
// derives the same value, and only who may see the share is shown it.
func ShareSecret(key []byte, shareID string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("share-webhook-secret\x00"))
	m.Write([]byte(shareID))
	return ShareSecretPrefix + hex.EncodeToString(m.Sum(nil))
}

// ShareKeyFromServerKey derives the key of ShareSecret from the server
// key, for this purpose alone (HKDF-SHA256, purpose
// "postern/v1/share-webhook-secrets").
func ShareKeyFromServerKey(serverKey []byte) []byte {
	k, err := hkdf.Key(sha256.New, serverKey, nil, "postern/v1/share-webhook-secrets", sha256.Size)
	if err != nil { // only for a length HKDF cannot give; 32 it can
		panic("webhook: " + err.Error())
	}
	return k
}
