package checksum

import (
	"encoding/binary"
	"errors"
	"hash"
)

// CRC-64/NVME: polynomial 0xad93d23594c93659 (reflected 0x9a6c9329ac4bc9b5),
// reflected input and output, init and xorout all ones.
//
// hash/crc64 can compute it too, but for a table other than ISO and ECMA
// it rebuilds (and allocates) its slicing table on every large write, so
// the package carries its own slicing-by-8 implementation.
const crc64NVMEPoly = 0x9a6c9329ac4bc9b5

var nvmeTable = makeSlicing8(crc64NVMEPoly)

func makeSlicing8(poly uint64) *[8][256]uint64 {
	t := new([8][256]uint64)
	for i := 0; i < 256; i++ {
		crc := uint64(i)
		for j := 0; j < 8; j++ {
			if crc&1 == 1 {
				crc = crc>>1 ^ poly
			} else {
				crc >>= 1
			}
		}
		t[0][i] = crc
	}
	for i := 0; i < 256; i++ {
		crc := t[0][i]
		for j := 1; j < 8; j++ {
			crc = t[0][crc&0xff] ^ crc>>8
			t[j][i] = crc
		}
	}
	return t
}

// UpdateCRC64NVME returns the CRC-64/NVME of p appended to data whose
// checksum is crc (0 for no data).
func UpdateCRC64NVME(crc uint64, p []byte) uint64 {
	t := nvmeTable
	crc = ^crc
	for len(p) >= 8 {
		crc ^= binary.LittleEndian.Uint64(p)
		crc = t[7][crc&0xff] ^
			t[6][crc>>8&0xff] ^
			t[5][crc>>16&0xff] ^
			t[4][crc>>24&0xff] ^
			t[3][crc>>32&0xff] ^
			t[2][crc>>40&0xff] ^
			t[1][crc>>48&0xff] ^
			t[0][crc>>56]
		p = p[8:]
	}
	for _, v := range p {
		crc = t[0][byte(crc)^v] ^ crc>>8
	}
	return ^crc
}

type crc64nvme struct{ crc uint64 }

// NewCRC64NVME returns a hash.Hash64 computing CRC-64/NVME. Its Sum is the
// big-endian 8-byte value.
func NewCRC64NVME() hash.Hash64 { return &crc64nvme{} }

func (d *crc64nvme) Size() int      { return 8 }
func (d *crc64nvme) BlockSize() int { return 1 }
func (d *crc64nvme) Reset()         { d.crc = 0 }
func (d *crc64nvme) Sum64() uint64  { return d.crc }

func (d *crc64nvme) Write(p []byte) (int, error) {
	d.crc = UpdateCRC64NVME(d.crc, p)
	return len(p), nil
}

func (d *crc64nvme) Sum(in []byte) []byte {
	return binary.BigEndian.AppendUint64(in, d.crc)
}

const nvmeMagic = "crc64nvme\x01"

// MarshalBinary lets the state be saved, like the standard library hashes.
func (d *crc64nvme) MarshalBinary() ([]byte, error) {
	b := append([]byte(nvmeMagic), 0, 0, 0, 0, 0, 0, 0, 0)
	binary.BigEndian.PutUint64(b[len(nvmeMagic):], d.crc)
	return b, nil
}

// UnmarshalBinary restores a state saved by MarshalBinary.
func (d *crc64nvme) UnmarshalBinary(b []byte) error {
	if len(b) != len(nvmeMagic)+8 || string(b[:len(nvmeMagic)]) != nvmeMagic {
		return errors.New("checksum: invalid crc64nvme state")
	}
	d.crc = binary.BigEndian.Uint64(b[len(nvmeMagic):])
	return nil
}
