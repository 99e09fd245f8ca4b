package iam

import (
	"bytes"
	"compress/flate"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"time"
)

// Session tokens are self-contained: everything needed to authenticate a
// request signed with temporary credentials travels inside the token, sealed
// with AES-256-GCM under a key derived from the server key. Any node holding
// the server key verifies a token with no lookup; nobody without it can read
// one (the secret access key is inside) or forge or alter one.
//
// Wire format (then base64url without padding):
//
//	0x01 (format version) || 12-byte nonce || AES-GCM(flag || claims JSON)
//
// where flag is 0 for plain JSON and 1 for DEFLATE-compressed JSON (used
// when a session policy makes the claims large). The version byte and a
// fixed label are the additional data, so a token cannot be replayed under
// another format.

const (
	tokenVersion = 1
	// MaxSessionTokenLen bounds the token accepted from a request before any
	// decoding. Real tokens are well under 4 KiB (claims plus a compressed
	// session policy of at most MaxSessionPolicySize characters).
	MaxSessionTokenLen = 8192
	// maxClaimsLen bounds the decompressed claims.
	maxClaimsLen = 64 << 10
	// compressAbove: claims longer than this are compressed.
	compressAbove = 512
)

var tokenAAD = []byte{tokenVersion, 'p', 'o', 's', 't', 'e', 'r', 'n', '-', 's', 't', 's'}

// sessionClaims is what a session token carries. Short JSON names keep
// tokens small.
type sessionClaims struct {
	Account   string `json:"a"`
	Kind      Kind   `json:"k"`
	ARN       string `json:"arn"`
	UserID    string `json:"uid"`
	Name      string `json:"n,omitempty"`
	RoleARN   string `json:"r,omitempty"`
	RoleID    string `json:"rid,omitempty"`
	Session   string `json:"s,omitempty"`
	AccessKey string `json:"ak"`
	Secret    string `json:"sk"`
	// ParentKey is the long-term access key the credentials derive from
	// (through any chain of sessions), and ParentUser its user's id: the
	// session dies when that key is deactivated or deleted. Empty for
	// sessions of a root user.
	ParentKey  string `json:"pk,omitempty"`
	ParentUser string `json:"pu,omitempty"`
	IssuedMs   int64  `json:"iat"`
	ExpiresMs  int64  `json:"exp"`
	Policy     string `json:"pol,omitempty"`
}

func (c *sessionClaims) expires() time.Time { return time.UnixMilli(c.ExpiresMs).UTC() }
func (c *sessionClaims) issued() time.Time  { return time.UnixMilli(c.IssuedMs).UTC() }

// sealToken encodes and encrypts claims.
func (k *keyring) sealToken(c *sessionClaims) (string, error) {
	js, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	pt := make([]byte, 0, len(js)+1)
	if len(js) > compressAbove {
		var buf bytes.Buffer
		buf.WriteByte(1)
		w, _ := flate.NewWriter(&buf, flate.BestCompression)
		w.Write(js)
		if err := w.Close(); err != nil {
			return "", err
		}
		pt = buf.Bytes()
	} else {
		pt = append(append(pt, 0), js...)
	}
	sealed := seal(k.tokens, pt, tokenAAD)
	raw := append([]byte{tokenVersion}, sealed...)
	tok := base64.RawURLEncoding.EncodeToString(raw)
	if len(tok) > MaxSessionTokenLen {
		return "", errors.New("iam: session token too large")
	}
	return tok, nil
}

// openToken authenticates and decodes a token, then checks its expiry
// against now. A token that fails authentication in any way is
// ErrInvalidToken; an authentic but expired one is ErrExpiredToken.
func (k *keyring) openToken(tok string, now time.Time) (*sessionClaims, error) {
	c, err := k.decodeToken(tok)
	if err != nil {
		return nil, ErrInvalidToken
	}
	if !now.Before(c.expires()) {
		return nil, ErrExpiredToken
	}
	return c, nil
}

func (k *keyring) decodeToken(tok string) (*sessionClaims, error) {
	if len(tok) == 0 || len(tok) > MaxSessionTokenLen {
		return nil, ErrInvalidToken
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(tok)
	if err != nil || len(raw) < 1 || raw[0] != tokenVersion {
		return nil, ErrInvalidToken
	}
	pt, err := open(k.tokens, raw[1:], tokenAAD)
	if err != nil || len(pt) < 1 {
		return nil, ErrInvalidToken
	}
	var js []byte
	switch pt[0] {
	case 0:
		js = pt[1:]
	case 1:
		r := flate.NewReader(bytes.NewReader(pt[1:]))
		js, err = io.ReadAll(io.LimitReader(r, maxClaimsLen+1))
		if err != nil || len(js) > maxClaimsLen {
			return nil, ErrInvalidToken
		}
	default:
		return nil, ErrInvalidToken
	}
	var c sessionClaims
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, ErrInvalidToken
	}
	if c.AccessKey == "" || c.Secret == "" || c.Account == "" || c.ExpiresMs <= 0 {
		return nil, ErrInvalidToken
	}
	switch c.Kind {
	case KindRoot, KindUser:
	case KindAssumedRole:
		if c.RoleID == "" || c.RoleARN == "" {
			return nil, ErrInvalidToken
		}
	default:
		return nil, ErrInvalidToken
	}
	return &c, nil
}
