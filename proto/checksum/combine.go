package checksum

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"strconv"
)

// gf2 holds the arithmetic modulo a reflected CRC polynomial, used to
// combine CRCs of adjacent byte ranges without the data (the method of
// zlib's crc32_combine: crc(A‖B) = crc(A)·x^(8·len(B)) mod P ⊕ crc(B),
// which holds for CRCs whose init and xorout are equal, as for all three
// CRCs here).
type gf2 struct {
	poly uint64 // reflected polynomial
	one  uint64 // x^0 in reflected form: the top bit of the register
	x2n  [72]uint64
}

func newGF2(poly uint64, width uint) *gf2 {
	g := &gf2{poly: poly, one: 1 << (width - 1)}
	p := g.one >> 1 // x^1
	g.x2n[0] = p
	for k := 1; k < len(g.x2n); k++ {
		p = g.mul(p, p)
		g.x2n[k] = p // x^(2^k)
	}
	return g
}

// mul returns a·b mod P.
func (g *gf2) mul(a, b uint64) uint64 {
	if a == 0 {
		return 0
	}
	m := g.one
	var p uint64
	for {
		if a&m != 0 {
			p ^= b
			if a&(m-1) == 0 {
				break
			}
		}
		m >>= 1
		if b&1 != 0 {
			b = b>>1 ^ g.poly
		} else {
			b >>= 1
		}
	}
	return p
}

// xpow8n returns x^(8n) mod P.
func (g *gf2) xpow8n(n uint64) uint64 {
	p := g.one
	for k := 3; n != 0; k++ {
		if n&1 != 0 {
			p = g.mul(g.x2n[k], p)
		}
		n >>= 1
	}
	return p
}

func (g *gf2) combine(crc1, crc2 uint64, len2 uint64) uint64 {
	if crc1 == 0 && len2 == 0 {
		return crc2
	}
	return g.mul(g.xpow8n(len2), crc1) ^ crc2
}

var (
	gfCRC32     = newGF2(0xedb88320, 32)
	gfCRC32C    = newGF2(0x82f63b78, 32)
	gfCRC64NVME = newGF2(crc64NVMEPoly, 64)
)

func gfFor(id algID) *gf2 {
	switch id {
	case idCRC32:
		return gfCRC32
	case idCRC32C:
		return gfCRC32C
	case idCRC64NVME:
		return gfCRC64NVME
	}
	return nil
}

// CombineCRC returns the CRC of the concatenation A‖B given crc1 = CRC(A),
// crc2 = CRC(B) and len2 = len(B), for CRC32, CRC32C or CRC64NVME (32-bit
// CRCs in the low bits).
func CombineCRC(alg string, crc1, crc2 uint64, len2 int64) (uint64, error) {
	g := gfFor(lookup(alg))
	if g == nil || len2 < 0 {
		return 0, fmt.Errorf("%w: %q cannot be combined", ErrUnknownAlgorithm, alg)
	}
	return g.combine(crc1, crc2, uint64(len2)), nil
}

// Part is one part of a multipart upload, for FullObject: its raw
// (big-endian) CRC and its length in bytes.
type Part struct {
	Checksum []byte
	Size     int64
}

// FullObject combines the CRCs of consecutive parts into the CRC of the
// whole object, for multipart uploads with the FULL_OBJECT checksum type.
// It returns the raw big-endian checksum; Encode it for the header form.
// alg must be CRC32, CRC32C or CRC64NVME.
func FullObject(alg string, parts []Part) ([]byte, error) {
	id := lookup(alg)
	g := gfFor(id)
	if g == nil {
		return nil, fmt.Errorf("%w: %q has no full-object checksum", ErrUnknownAlgorithm, alg)
	}
	size := algSizes[id]
	var crc uint64
	for i, p := range parts {
		if len(p.Checksum) != size || p.Size < 0 {
			return nil, fmt.Errorf("%w: part %d: bad %s checksum or size", ErrInvalidValue, i+1, algNames[id])
		}
		var c uint64
		if size == 4 {
			c = uint64(binary.BigEndian.Uint32(p.Checksum))
		} else {
			c = binary.BigEndian.Uint64(p.Checksum)
		}
		crc = g.combine(crc, c, uint64(p.Size))
	}
	if size == 4 {
		return binary.BigEndian.AppendUint32(nil, uint32(crc)), nil
	}
	return binary.BigEndian.AppendUint64(nil, crc), nil
}

// Composite returns the COMPOSITE multipart checksum of an object: the
// base64 of alg applied to the concatenated raw part checksums, followed
// by "-N" where N is the number of parts. It returns "" for an unknown
// algorithm. (S3 itself refuses COMPOSITE for CRC64NVME; see
// SupportsComposite.)
func Composite(alg string, partChecksums [][]byte) string {
	id := lookup(alg)
	if id == idNone {
		return ""
	}
	h := newHash(id)
	for _, c := range partChecksums {
		h.Write(c)
	}
	var buf [64]byte
	sum := h.Sum(buf[:0])
	return base64.StdEncoding.EncodeToString(sum) + "-" + strconv.Itoa(len(partChecksums))
}
