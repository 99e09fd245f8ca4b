package simdhash

import "encoding/binary"

// SHA256State is a SHA-256 chaining value: the eight words h0…h7.
type SHA256State [8]uint32

// SHA256Init is the initial state of every SHA-256 digest.
var SHA256Init = SHA256State{0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19}

// k holds the 64 SHA-256 round constants (FIPS 180-4, 4.2.2).
var k = [64]uint32{
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
}

// table is k as the kernel reads it: each constant in all sixteen 32-bit
// lanes of a 512-bit vector.
var table = func() (t [512]uint64) {
	for i, c := range k {
		for j := 0; j < 8; j++ {
			t[i*8+j] = uint64(c)<<32 | uint64(c)
		}
	}
	return t
}()

// SHA256 is scratch space for SHA-256 Blocks calls. The zero value is
// ready; a SHA256 is not safe for concurrent use.
type SHA256 struct {
	digests [512]byte // state word w of lane i at (w*16+i)*4, little-endian
	scratch [512]byte
	masks   []uint64
}

// Blocks advances states[i] over in[i] for every lane i whose in[i] is not
// empty; len(in[i]) must be a multiple of BlockSize. states[i] may be nil
// where in[i] is empty. It returns false, and changes nothing, when the
// CPU lacks AVX-512: callers then hash with crypto/sha256.
func (h *SHA256) Blocks(states *[Lanes]*SHA256State, in *[Lanes][]byte) bool {
	if !Available {
		return false
	}
	if _, hi := span(states, in); hi == 0 {
		return true
	}
	rounds := 0
	for _, p := range in {
		rounds = max(rounds, len(p)/BlockSize)
	}
	// Round r hashes the lanes that still have a block r.
	h.masks = h.masks[:0]
	for r := 0; r < rounds; r++ {
		var m uint64
		for i, p := range in {
			if len(p)/BlockSize > r {
				m |= 1 << i
			}
		}
		h.masks = append(h.masks, m)
	}
	for i, s := range states {
		if s == nil {
			continue
		}
		for w, v := range s {
			binary.LittleEndian.PutUint32(h.digests[(w*16+i)*4:], v)
		}
	}
	sha256Kernel(&h.digests, &h.scratch, &table, h.masks, *in)
	for i, s := range states {
		if s == nil || len(in[i]) == 0 {
			continue
		}
		for w := range s {
			s[w] = binary.LittleEndian.Uint32(h.digests[(w*16+i)*4:])
		}
	}
	return true
}
