// Package sha256x16 advances up to sixteen SHA-256 states at once with one
// pass of AVX-512 code, for servers that hash many upload bodies at the
// same time. On one core that is about twice the throughput of SHA-NI
// (crypto/sha256) when all sixteen lanes are busy.
//
// The AVX-512 kernel is github.com/minio/sha256-simd's (Intel's
// multi-buffer code); that package exposes it only behind a scheduler
// goroutine that keeps the caller's slices after Write returns, so this
// package calls the kernel directly and leaves scheduling to its caller.
// Everything else here (state layout, round masks) is plain Go.
package sha256x16

import "encoding/binary"

// Lanes is the number of states Blocks advances at once.
const Lanes = 16

// BlockSize is SHA-256's block size; Blocks takes whole blocks only.
const BlockSize = 64

// State is a SHA-256 chaining value: the eight 32-bit words h0…h7.
type State [8]uint32

// Init is the initial State of every SHA-256 digest.
var Init = State{0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19}

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

// Hasher holds the scratch space for Blocks. The zero value is ready; a
// Hasher is not safe for concurrent use.
type Hasher struct {
	digests [512]byte // state word w of lane i at (w*16+i)*4, little-endian
	scratch [512]byte
	masks   []uint64
}

// Blocks advances states[i] over in[i] for every lane i whose in[i] is not
// empty; len(in[i]) must be a multiple of BlockSize. states[i] may be nil
// where in[i] is empty. It returns false, and changes nothing, when the
// CPU lacks AVX-512: callers then hash with crypto/sha256.
func (h *Hasher) Blocks(states *[Lanes]*State, in *[Lanes][]byte) bool {
	if !Available {
		return false
	}
	rounds := 0
	for i, p := range in {
		if len(p)%BlockSize != 0 {
			panic("sha256x16: input is not a whole number of blocks")
		}
		if len(p) > 0 && states[i] == nil {
			panic("sha256x16: input without a state")
		}
		rounds = max(rounds, len(p)/BlockSize)
	}
	if rounds == 0 {
		return true
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
	kernel(&h.digests, &h.scratch, &table, h.masks, *in)
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
