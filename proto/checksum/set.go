package checksum

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"strings"
)

// MismatchError reports that a digest computed over a body differs from
// the value the client sent.
type MismatchError struct {
	// Algorithm is "MD5" for Content-MD5, otherwise a checksum algorithm
	// name ("SHA256" also for x-amz-content-sha256).
	Algorithm string
	// Header is the request header whose value did not match, e.g.
	// "Content-MD5", "x-amz-content-sha256" or "x-amz-checksum-crc32".
	Header   string
	Expected string // as sent by the client
	Computed string // in the same encoding
}

func (e *MismatchError) Error() string {
	return fmt.Sprintf("checksum: %s mismatch: expected %s, computed %s", e.Header, e.Expected, e.Computed)
}

// Code returns the S3 error code for the mismatch: XAmzContentSHA256Mismatch
// for x-amz-content-sha256, BadDigest otherwise.
func (e *MismatchError) Code() string {
	if e.Header == "x-amz-content-sha256" {
		return "XAmzContentSHA256Mismatch"
	}
	return "BadDigest"
}

// Set hashes a stream once into an MD5 (always, for the ETag), optionally
// a SHA-256 of the content (for x-amz-content-sha256) and any number of
// checksum algorithms. It is an io.Writer; Write never fails and does not
// allocate. A Set is not safe for concurrent use.
type Set struct {
	md5     hash.Hash
	hs      [numAlgs]hash.Hash
	content bool        // SHA-256 of the content wanted
	shaSum  bool        // SHA256 requested as a checksum algorithm
	active  []hash.Hash // every distinct hasher, MD5 first
	size    int64
	written bool
}

// NewSet returns a Set computing MD5, the SHA-256 of the content when
// contentSHA256 is true, and the checksums named by algs (any spelling
// Parse accepts; duplicates are ignored).
func NewSet(contentSHA256 bool, algs ...string) (*Set, error) {
	return NewSetMD5(md5.New(), contentSHA256, algs...)
}

// MD5SHA256 is an MD5 digest that also computes the SHA-256 of the bytes
// written to it, for callers that batch both (package bodyhash).
type MD5SHA256 interface {
	hash.Hash // the MD5
	SumSHA256(b []byte) []byte
}

// NewSetMD5 is NewSet with the MD5 digest supplied by the caller (for
// example one that hashes many streams at once with SIMD instructions).
// If md5h is an MD5SHA256, the Set takes its SHA-256 from it.
func NewSetMD5(md5h hash.Hash, contentSHA256 bool, algs ...string) (*Set, error) {
	s := &Set{md5: md5h, content: contentSHA256}
	s.active = make([]hash.Hash, 1, 1+numAlgs)
	s.active[0] = s.md5
	if j, ok := md5h.(MD5SHA256); ok {
		s.hs[idSHA256] = sha256Half{j} // its bytes arrive through md5h
	}
	if contentSHA256 {
		s.enable(idSHA256)
	}
	for _, a := range algs {
		if err := s.Add(a); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (s *Set) enable(id algID) {
	if s.hs[id] == nil {
		h := newHash(id)
		s.hs[id] = h
		s.active = append(s.active, h)
	}
}

// Add requests one more checksum algorithm. It must be called before the
// first Write.
func (s *Set) Add(alg string) error {
	id := lookup(alg)
	if id == idNone {
		return fmt.Errorf("%w: %q", ErrUnknownAlgorithm, alg)
	}
	if s.written && s.hs[id] == nil {
		return errors.New("checksum: Add after Write")
	}
	if id == idSHA256 {
		s.shaSum = true
	}
	s.enable(id)
	return nil
}

// Write hashes p into every requested digest.
func (s *Set) Write(p []byte) (int, error) {
	// MD5 (active[0]) last: the others then read p while it is still in
	// the CPU's cache, and an MD5 that hands p to another goroutine
	// (md5-simd) may make this one wait.
	for _, h := range s.active[1:] {
		h.Write(p)
	}
	s.active[0].Write(p)
	s.size += int64(len(p))
	s.written = true
	return len(p), nil
}

// Reset clears all digests, keeping the requested algorithms.
func (s *Set) Reset() {
	for _, h := range s.active {
		h.Reset()
	}
	s.size = 0
	s.written = false
}

// Size returns the number of bytes written.
func (s *Set) Size() int64 { return s.size }

// MD5 returns the raw MD5 of the bytes written.
func (s *Set) MD5() []byte { return s.md5.Sum(nil) }

// ETag returns the hex MD5, the ETag of a single-part object (unquoted).
func (s *Set) ETag() string { return hex.EncodeToString(s.MD5()) }

// ContentSHA256 returns the raw SHA-256 of the content, or nil if the Set
// was created without it (and SHA256 was not requested as a checksum).
func (s *Set) ContentSHA256() []byte { return s.Sum(SHA256) }

// Has reports whether the Set computes alg.
func (s *Set) Has(alg string) bool {
	id := lookup(alg)
	return id != idNone && s.hs[id] != nil
}

// Sum returns the raw digest for alg, or nil if it is not computed.
func (s *Set) Sum(alg string) []byte {
	id := lookup(alg)
	if id == idNone || s.hs[id] == nil {
		return nil
	}
	return s.hs[id].Sum(nil)
}

// Encoded returns the base64 digest for alg, or "" if it is not computed.
func (s *Set) Encoded(alg string) string {
	sum := s.Sum(alg)
	if sum == nil {
		return ""
	}
	return Encode(sum)
}

// Checksums returns the base64 digests of the requested checksum
// algorithms keyed by algorithm name. SHA256 appears only when requested
// as a checksum, not when computed only for x-amz-content-sha256.
func (s *Set) Checksums() map[string]string {
	out := make(map[string]string)
	for id, h := range s.hs {
		if h == nil || (algID(id) == idSHA256 && !s.shaSum) {
			continue
		}
		out[algNames[id]] = Encode(h.Sum(nil))
	}
	return out
}

// Verify compares the computed checksums with expected, keyed by
// algorithm (any spelling Parse accepts, e.g. header names) with base64
// values. It returns nil if all match; otherwise an error wrapping
// ErrUnknownAlgorithm, ErrInvalidValue or ErrNotComputed, or a
// *MismatchError naming the first algorithm (in a fixed order) that
// differs.
func (s *Set) Verify(expected map[string]string) error {
	var want [numAlgs]string
	var have [numAlgs]bool
	for k, v := range expected {
		id := lookup(k)
		if id == idNone {
			return fmt.Errorf("%w: %q", ErrUnknownAlgorithm, k)
		}
		if have[id] && want[id] != v {
			return fmt.Errorf("%w: conflicting values for %s", ErrInvalidValue, algNames[id])
		}
		want[id], have[id] = v, true
	}
	for id := algID(0); id < numAlgs; id++ {
		if !have[id] {
			continue
		}
		raw, err := decodeID(id, strings.TrimSpace(want[id]))
		if err != nil {
			return err
		}
		if s.hs[id] == nil {
			return fmt.Errorf("%w: %s", ErrNotComputed, algNames[id])
		}
		var buf [64]byte
		got := s.hs[id].Sum(buf[:0])
		if string(got) != string(raw) {
			return &MismatchError{
				Algorithm: algNames[id],
				Header:    headerNames[id],
				Expected:  want[id],
				Computed:  Encode(got),
			}
		}
	}
	return nil
}

// VerifyContentSHA256 compares the content SHA-256 with the hex value of
// x-amz-content-sha256 (case-insensitive).
func (s *Set) VerifyContentSHA256(hexValue string) error {
	if s.hs[idSHA256] == nil {
		return fmt.Errorf("%w: content SHA256", ErrNotComputed)
	}
	var buf [sha256.Size]byte
	got := s.hs[idSHA256].Sum(buf[:0])
	want, err := hex.DecodeString(hexValue)
	if err != nil || len(want) != sha256.Size {
		return fmt.Errorf("%w: x-amz-content-sha256 is not a hex SHA-256", ErrInvalidValue)
	}
	if string(want) != string(got) {
		return &MismatchError{Algorithm: SHA256, Header: "x-amz-content-sha256", Expected: hexValue, Computed: hex.EncodeToString(got)}
	}
	return nil
}

// VerifyContentMD5 compares the MD5 with a base64 Content-MD5 value.
func (s *Set) VerifyContentMD5(b64 string) error {
	want, err := base64.StdEncoding.DecodeString(strings.TrimSpace(b64))
	if err != nil || len(want) != md5.Size {
		return fmt.Errorf("%w: Content-MD5 is not a base64 MD5", ErrInvalidValue)
	}
	var buf [md5.Size]byte
	got := s.md5.Sum(buf[:0])
	if string(want) != string(got) {
		return &MismatchError{Algorithm: "MD5", Header: "Content-MD5", Expected: b64, Computed: Encode(got)}
	}
	return nil
}

// sha256Half is the SHA-256 of an MD5SHA256, for Sum. Its bytes arrive
// through the MD5 digest's Write (Set.active holds only that), and it is
// reset with it.
type sha256Half struct{ j MD5SHA256 }

func (h sha256Half) Write(p []byte) (int, error) {
	panic("checksum: the SHA-256 of an MD5SHA256 is written through its MD5")
}
func (h sha256Half) Sum(b []byte) []byte { return h.j.SumSHA256(b) }
func (h sha256Half) Reset()              {}
func (h sha256Half) Size() int           { return sha256.Size }
func (h sha256Half) BlockSize() int      { return sha256.BlockSize }
