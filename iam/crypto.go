package iam

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
)

// ServerKeySize is the size of the server key: 256 bits.
const ServerKeySize = 32

// Purposes of the keys derived from the server key. Each use gets its own
// key, so that a ciphertext of one kind can never be passed off as another.
const (
	infoSecrets = "postern/v1/secret-keys-at-rest"
	infoTokens  = "postern/v1/sts-session-tokens"
	infoShares  = "postern/v1/share-link-secrets"
)

// keyring holds the AEADs derived from the server key.
type keyring struct {
	secrets cipher.AEAD // secret access keys at rest
	tokens  cipher.AEAD // session tokens
	// shares is the HMAC key share links' secrets are derived with
	// (shareSecret); it never leaves the keyring.
	shares []byte
}

func newKeyring(serverKey []byte) (*keyring, error) {
	if len(serverKey) != ServerKeySize {
		return nil, fmt.Errorf("iam: the server key must be %d bytes, got %d", ServerKeySize, len(serverKey))
	}
	secrets, err := deriveAEAD(serverKey, infoSecrets)
	if err != nil {
		return nil, err
	}
	tokens, err := deriveAEAD(serverKey, infoTokens)
	if err != nil {
		return nil, err
	}
	shares, err := hkdf.Key(sha256.New, serverKey, nil, infoShares, 32)
	if err != nil {
		return nil, fmt.Errorf("iam: derive key: %w", err)
	}
	return &keyring{secrets: secrets, tokens: tokens, shares: shares}, nil
}

// shareSecret derives the secret of a share link's access key:
// HMAC-SHA256 over the access key with the shares key, its first 30 bytes
// in base64 — 40 characters of the alphabet of AWS secrets. It is never
// stored: the server derives it again whenever it signs or verifies.
func (k *keyring) shareSecret(accessKey string) string {
	mac := hmac.New(sha256.New, k.shares)
	mac.Write([]byte(accessKey))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil)[:30])
}

func deriveAEAD(serverKey []byte, info string) (cipher.AEAD, error) {
	k, err := hkdf.Key(sha256.New, serverKey, nil, info, 32)
	if err != nil {
		return nil, fmt.Errorf("iam: derive key: %w", err)
	}
	block, err := aes.NewCipher(k)
	if err != nil {
		return nil, fmt.Errorf("iam: %w", err)
	}
	return cipher.NewGCM(block)
}

// seal encrypts plaintext with a random nonce, binding it to aad. The result
// is nonce || ciphertext || tag.
func seal(aead cipher.AEAD, plaintext, aad []byte) []byte {
	out := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plaintext)+aead.Overhead())
	if _, err := rand.Read(out); err != nil {
		panic("iam: crypto/rand failed: " + err.Error())
	}
	return aead.Seal(out, out, plaintext, aad)
}

var errDecrypt = errors.New("iam: decryption failed")

// open reverses seal; any change to the ciphertext or aad fails.
func open(aead cipher.AEAD, sealed, aad []byte) ([]byte, error) {
	n := aead.NonceSize()
	if len(sealed) < n+aead.Overhead() {
		return nil, errDecrypt
	}
	pt, err := aead.Open(nil, sealed[:n], sealed[n:], aad)
	if err != nil {
		return nil, errDecrypt
	}
	return pt, nil
}

// The additional data of a stored secret binds it to its access key id, so a
// row's ciphertext copied into another row does not decrypt.
func secretAAD(accessKey string) []byte { return []byte("postern secret key for " + accessKey) }

// encryptSecret encrypts a secret access key for storage.
func (k *keyring) encryptSecret(accessKey, secret string) []byte {
	return seal(k.secrets, []byte(secret), secretAAD(accessKey))
}

// decryptSecret decrypts a stored secret access key.
func (k *keyring) decryptSecret(accessKey string, sealed []byte) (string, error) {
	pt, err := open(k.secrets, sealed, secretAAD(accessKey))
	if err != nil {
		return "", fmt.Errorf("iam: secret of %s does not decrypt with this server key: %w", accessKey, err)
	}
	return string(pt), nil
}

// SecretChecker reports whether stored secrets (access keys' and
// accounts' root secrets) open with a server key, without returning them:
// postern migrate copies sealed secrets as they are and checks first that
// the key the new nodes will use opens every one.
type SecretChecker struct{ k *keyring }

// NewSecretChecker returns a checker for serverKey.
func NewSecretChecker(serverKey []byte) (*SecretChecker, error) {
	k, err := newKeyring(serverKey)
	if err != nil {
		return nil, err
	}
	return &SecretChecker{k: k}, nil
}

// Check returns nil if sealed is accessKey's secret sealed with the key.
func (c *SecretChecker) Check(accessKey string, sealed []byte) error {
	pt, err := open(c.k.secrets, sealed, secretAAD(accessKey))
	clear(pt)
	if err != nil {
		return fmt.Errorf("iam: the secret of %s does not open with this server key", accessKey)
	}
	return nil
}

// SeedKeyCheck has store keep a server key check sealed with the
// checker's key, unless it keeps one already, and fails with
// ErrServerKeyMismatch when the one it keeps was sealed with another key:
// postern migrate seeds its target with the source's key, so that a node
// later started with another key refuses to start rather than failing
// every migrated secret.
func (c *SecretChecker) SeedKeyCheck(ctx context.Context, store Store) error {
	kept, err := store.ServerKeyCheck(ctx, seal(c.k.secrets, checkPlaintext, checkAAD))
	if err != nil {
		return fmt.Errorf("iam: server key check: %w", err)
	}
	pt, err := open(c.k.secrets, kept, checkAAD)
	if err != nil || !bytes.Equal(pt, checkPlaintext) {
		return ErrServerKeyMismatch
	}
	return nil
}

// ErrServerKeyMismatch: the store's secrets were sealed with another server
// key. Every node sharing a database must be given the same key.
var ErrServerKeyMismatch = errors.New("this database's secrets were sealed with another server key; give every node the same --server-key")

// The server key check is a constant sealed with the secrets key under its
// own additional data (no access key id can produce it), kept by the store.
var (
	checkPlaintext = []byte("postern server key check v1")
	checkAAD       = []byte("postern server key check")
)

// checkServerKey has the store keep a sealed check value if it keeps none
// (the first start of a database) and opens the one it keeps: a value this
// key cannot open means the store's secrets were sealed with another key.
func (s *Service) checkServerKey(ctx context.Context) error {
	kept, err := s.store.ServerKeyCheck(ctx, seal(s.keys.secrets, checkPlaintext, checkAAD))
	if err != nil {
		return fmt.Errorf("iam: server key check: %w", err)
	}
	pt, err := open(s.keys.secrets, kept, checkAAD)
	if err != nil || !bytes.Equal(pt, checkPlaintext) {
		return ErrServerKeyMismatch
	}
	return nil
}
