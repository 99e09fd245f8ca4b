package simdhash

import (
	"math"
	"runtime"
	"unsafe"
)

// MD5State is an MD5 chaining value: the words a, b, c, d.
type MD5State [4]uint32

// MD5Init is the initial state of every MD5 digest.
var MD5Init = MD5State{0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476}

// MD5 is scratch space for MD5 Blocks calls. The zero value is ready; an
// MD5 is not safe for concurrent use.
type MD5 struct {
	work [4][Lanes]uint32 // word w of lane i at work[w][i], as the kernel keeps them
}

// Blocks advances states[i] over in[i] for every lane i whose in[i] is not
// empty; len(in[i]) must be a multiple of BlockSize. states[i] may be nil
// where in[i] is empty. It returns false, and changes nothing, when the
// CPU lacks AVX-512 or when the inputs lie too far apart in memory for
// the kernel's 32-bit offsets: callers then hash with crypto/md5.
func (h *MD5) Blocks(states *[Lanes]*MD5State, in *[Lanes][]byte) bool {
	if !Available {
		return false
	}
	lo, hi := span(states, in)
	if hi == 0 {
		return true
	}
	if hi-lo > math.MaxInt32 {
		return false
	}
	var offs [Lanes]int32
	for i, p := range in {
		if len(p) > 0 {
			offs[i] = int32(uintptr(unsafe.Pointer(unsafe.SliceData(p))) - lo)
		}
		if s := states[i]; s != nil {
			for w := range s {
				h.work[w][i] = s[w]
			}
		}
	}
	// The kernel hashes the same number of bytes in every lane it is given
	// (mask); lanes drop out, shortest first, segment by segment.
	done := 0 // bytes hashed in every lane still active
	for {
		var mask uint64
		next := math.MaxInt
		for i, p := range in {
			if len(p) > done {
				mask |= 1 << i
				next = min(next, len(p))
			}
		}
		if mask == 0 {
			break
		}
		n := next - done
		md5Kernel(&h.work[0][0], lo, &offs[0], mask, n)
		for i := range offs {
			offs[i] += int32(n)
			if mask&(1<<i) != 0 {
				for w := range states[i] {
					states[i][w] = h.work[w][i]
				}
			}
		}
		done = next
	}
	runtime.KeepAlive(in)
	return true
}
