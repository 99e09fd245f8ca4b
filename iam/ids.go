package iam

import (
	"crypto/rand"
	"strings"
)

// Prefixes of AWS unique identifiers ("IAM identifiers" in the IAM User Guide).
const (
	PrefixAccessKey     = "AKIA" // long-term access key
	PrefixTempAccessKey = "ASIA" // temporary (STS) access key
	PrefixUser          = "AIDA"
	PrefixGroup         = "AGPA"
	PrefixRole          = "AROA"
	PrefixPolicy        = "ANPA"
)

// Alphabets: ids use upper-case base32 like AWS's; secrets use the base64
// alphabet. Both have a power-of-two size, so a random byte maps to a
// character with no bias.
const (
	idAlphabet     = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	secretAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
)

// SecretKeyLen is the length of a generated secret access key.
const SecretKeyLen = 40

func randomString(alphabet string, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("iam: crypto/rand failed: " + err.Error()) // never happens on supported platforms
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// NewAccessKeyID returns a 20-character AKIA… id.
func NewAccessKeyID() string { return PrefixAccessKey + randomString(idAlphabet, 16) }

// NewTempAccessKeyID returns a 20-character ASIA… id.
func NewTempAccessKeyID() string { return PrefixTempAccessKey + randomString(idAlphabet, 16) }

// NewSecretKey returns a 40-character secret access key (240 random bits).
func NewSecretKey() string { return randomString(secretAlphabet, SecretKeyLen) }

// NewUniqueID returns a 21-character unique id with the given prefix, e.g.
// AIDA… for users.
func NewUniqueID(prefix string) string { return prefix + randomString(idAlphabet, 17) }

// ValidName reports whether s is a valid IAM user, group, role or policy name
// of at most max characters: the pattern [\w+=,.@-]+.
func ValidName(s string, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("_+=,.@-", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// ValidPath reports whether s is a valid IAM path: "/" alone, or a string
// starting and ending with "/" of printable ASCII (\u0021-\u007E) and at most
// MaxPathLen characters.
func ValidPath(s string) bool {
	if len(s) == 0 || len(s) > MaxPathLen || s[0] != '/' || s[len(s)-1] != '/' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// ValidSessionName reports whether s is a valid RoleSessionName:
// [\w+=,.@-]{2,64}.
func ValidSessionName(s string) bool {
	return len(s) >= MinRoleSessionNameLen && ValidName(s, MaxRoleSessionNameLen)
}
