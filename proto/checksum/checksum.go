// Package checksum implements the additional object checksums of the S3 API
// (CRC32, CRC32C, CRC64NVME, SHA1, SHA256): naming and header parsing,
// base64 value validation, a single-pass multi-hasher for request bodies,
// and the multipart composite and full-object combinations.
//
// The package is pure and depends only on the standard library.
package checksum

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"strings"
)

// Algorithm names as S3 spells them (x-amz-checksum-algorithm values).
const (
	CRC32     = "CRC32"
	CRC32C    = "CRC32C"
	CRC64NVME = "CRC64NVME"
	SHA1      = "SHA1"
	SHA256    = "SHA256"
)

// HeaderPrefix is the common prefix of the per-algorithm checksum headers.
const HeaderPrefix = "x-amz-checksum-"

// Checksum types of a multipart upload (x-amz-checksum-type).
const (
	TypeComposite  = "COMPOSITE"
	TypeFullObject = "FULL_OBJECT"
)

var (
	// ErrUnknownAlgorithm is returned for an algorithm name this package
	// does not implement. S3 answers such requests with InvalidRequest.
	ErrUnknownAlgorithm = errors.New("checksum: unknown algorithm")
	// ErrInvalidValue is returned for a checksum value that is not the
	// standard base64 encoding of a digest of the algorithm's size. S3
	// answers such requests with InvalidRequest.
	ErrInvalidValue = errors.New("checksum: invalid checksum value")
	// ErrNotComputed is returned by Set.Verify when asked to verify an
	// algorithm the Set was not hashing.
	ErrNotComputed = errors.New("checksum: algorithm not computed")
)

type algID uint8

const (
	idCRC32 algID = iota
	idCRC32C
	idCRC64NVME
	idSHA1
	idSHA256
	numAlgs
	idNone algID = 255
)

var algNames = [numAlgs]string{CRC32, CRC32C, CRC64NVME, SHA1, SHA256}

var algSizes = [numAlgs]int{crc32.Size, crc32.Size, 8, sha1.Size, sha256.Size}

var headerNames = [numAlgs]string{
	HeaderPrefix + "crc32",
	HeaderPrefix + "crc32c",
	HeaderPrefix + "crc64nvme",
	HeaderPrefix + "sha1",
	HeaderPrefix + "sha256",
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Algorithms returns all supported algorithm names.
func Algorithms() []string {
	out := make([]string, numAlgs)
	copy(out, algNames[:])
	return out
}

func lookup(alg string) algID {
	for i, n := range algNames {
		if n == alg {
			return algID(i)
		}
	}
	// Tolerate other spellings so callers may pass raw header values.
	if a, ok := Parse(alg); ok {
		return lookup(a)
	}
	return idNone
}

// Parse recognises an algorithm from a header name such as
// "x-amz-checksum-crc32" or from a value of x-amz-checksum-algorithm or
// x-amz-sdk-checksum-algorithm ("CRC32", "crc32c", …). Matching is
// case-insensitive and ignores surrounding white space. It returns the
// canonical algorithm name.
func Parse(name string) (alg string, ok bool) {
	name = strings.TrimSpace(name)
	if len(name) > len(HeaderPrefix) && strings.EqualFold(name[:len(HeaderPrefix)], HeaderPrefix) {
		name = name[len(HeaderPrefix):]
	}
	for _, n := range algNames {
		if strings.EqualFold(name, n) {
			return n, true
		}
	}
	return "", false
}

// HeaderName returns the lower-case header carrying a checksum of alg,
// e.g. "x-amz-checksum-crc32", or "" for an unknown algorithm.
func HeaderName(alg string) string {
	id := lookup(alg)
	if id == idNone {
		return ""
	}
	return headerNames[id]
}

// Size returns the size in bytes of a raw digest of alg, or 0 for an
// unknown algorithm.
func Size(alg string) int {
	id := lookup(alg)
	if id == idNone {
		return 0
	}
	return algSizes[id]
}

// EncodedLen returns the length of the base64 encoding of a digest of alg,
// or 0 for an unknown algorithm.
func EncodedLen(alg string) int {
	return base64.StdEncoding.EncodedLen(Size(alg))
}

// New returns a new hash computing alg. CRC sums are big-endian, as S3
// encodes them.
func New(alg string) (hash.Hash, error) {
	id := lookup(alg)
	if id == idNone {
		return nil, fmt.Errorf("%w: %q", ErrUnknownAlgorithm, alg)
	}
	return newHash(id), nil
}

func newHash(id algID) hash.Hash {
	switch id {
	case idCRC32:
		return crc32.NewIEEE()
	case idCRC32C:
		return crc32.New(castagnoli)
	case idCRC64NVME:
		return NewCRC64NVME()
	case idSHA1:
		return sha1.New()
	case idSHA256:
		return sha256.New()
	}
	panic("checksum: bad algorithm id")
}

// Encode returns the standard base64 encoding of a raw digest, the form
// used by the x-amz-checksum-* headers.
func Encode(sum []byte) string {
	return base64.StdEncoding.EncodeToString(sum)
}

// Decode validates an encoded checksum value for alg and returns the raw
// digest. It fails with ErrUnknownAlgorithm or ErrInvalidValue.
func Decode(alg, value string) ([]byte, error) {
	id := lookup(alg)
	if id == idNone {
		return nil, fmt.Errorf("%w: %q", ErrUnknownAlgorithm, alg)
	}
	return decodeID(id, value)
}

func decodeID(id algID, value string) ([]byte, error) {
	if len(value) != base64.StdEncoding.EncodedLen(algSizes[id]) {
		return nil, fmt.Errorf("%w: %s value has length %d", ErrInvalidValue, algNames[id], len(value))
	}
	raw, err := base64.StdEncoding.Strict().DecodeString(value)
	if err != nil || len(raw) != algSizes[id] {
		return nil, fmt.Errorf("%w: %s value is not valid base64", ErrInvalidValue, algNames[id])
	}
	return raw, nil
}

// Valid reports whether value is a well-formed encoded checksum for alg.
func Valid(alg, value string) bool {
	_, err := Decode(alg, value)
	return err == nil
}

// SupportsFullObject reports whether alg can be used with the FULL_OBJECT
// multipart checksum type (the CRC family only).
func SupportsFullObject(alg string) bool {
	switch lookup(alg) {
	case idCRC32, idCRC32C, idCRC64NVME:
		return true
	}
	return false
}

// SupportsComposite reports whether S3 allows alg with the COMPOSITE
// multipart checksum type (everything except CRC64NVME).
func SupportsComposite(alg string) bool {
	switch lookup(alg) {
	case idCRC32, idCRC32C, idSHA1, idSHA256:
		return true
	}
	return false
}
