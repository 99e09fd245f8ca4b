package checksum

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"testing"
)

// joint is an MD5SHA256 built from the standard library's digests.
type joint struct {
	hash.Hash // MD5
	sha       hash.Hash
}

func (j *joint) Write(p []byte) (int, error) {
	j.sha.Write(p)
	return j.Hash.Write(p)
}
func (j *joint) SumSHA256(b []byte) []byte { return j.sha.Sum(b) }
func (j *joint) Reset()                    { j.Hash.Reset(); j.sha.Reset() }

// A Set given an MD5SHA256 takes the SHA-256 (content and checksum) from
// it and hashes each byte into it once.
func TestSetWithJointDigest(t *testing.T) {
	s, err := NewSetMD5(&joint{md5.New(), sha256.New()}, true, "SHA256", "CRC32")
	if err != nil {
		t.Fatal(err)
	}
	body := []byte("hello, joint digest")
	s.Write(body[:5])
	s.Write(body[5:])
	sha := sha256.Sum256(body)
	if err := s.VerifyContentSHA256(hex.EncodeToString(sha[:])); err != nil {
		t.Fatal(err)
	}
	if got := s.Checksums()[SHA256]; got != Encode(sha[:]) {
		t.Fatalf("SHA256 checksum %q, want %q", got, Encode(sha[:]))
	}
	if err := s.Verify(map[string]string{"x-amz-checksum-sha256": Encode(make([]byte, 32))}); err == nil {
		t.Fatal("a wrong SHA256 checksum verified")
	}
	m := md5.Sum(body)
	if s.ETag() != hex.EncodeToString(m[:]) {
		t.Fatal("ETag differs")
	}
	s.Reset()
	s.Write([]byte("x"))
	sha = sha256.Sum256([]byte("x"))
	if err := s.VerifyContentSHA256(hex.EncodeToString(sha[:])); err != nil {
		t.Fatalf("after Reset: %v", err)
	}
}
