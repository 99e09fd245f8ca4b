package console

import (
	"errors"
	"strings"
)

// A small QR Code encoder (ISO/IEC 18004): byte mode, error correction
// level M, versions 1–40 (up to 2331 bytes, enough for any presigned URL).
// It renders on the server so the browser needs no QR library; the page draws
// the module matrix as SVG.

// qrECM holds, for each version 1–40 at error correction level M, the EC
// codewords per block and the two groups of blocks (count × data codewords).
// Source: ISO/IEC 18004:2015 table 9. qr_test.go checks every row against the
// symbol's raw capacity.
var qrECM = [41]struct{ ec, b1, d1, b2, d2 int }{
	{},
	{10, 1, 16, 0, 0}, {16, 1, 28, 0, 0}, {26, 1, 44, 0, 0}, {18, 2, 32, 0, 0}, {24, 2, 43, 0, 0},
	{16, 4, 27, 0, 0}, {18, 4, 31, 0, 0}, {22, 2, 38, 2, 39}, {22, 3, 36, 2, 37}, {26, 4, 43, 1, 44},
	{30, 1, 50, 4, 51}, {22, 6, 36, 2, 37}, {22, 8, 37, 1, 38}, {24, 4, 40, 5, 41}, {24, 5, 41, 5, 42},
	{28, 7, 45, 3, 46}, {28, 10, 46, 1, 47}, {26, 9, 43, 4, 44}, {26, 3, 44, 11, 45}, {26, 3, 41, 13, 42},
	{26, 17, 42, 0, 0}, {28, 17, 46, 0, 0}, {28, 4, 47, 14, 48}, {28, 6, 45, 14, 46}, {28, 8, 47, 13, 48},
	{28, 19, 46, 4, 47}, {28, 22, 45, 3, 46}, {28, 3, 45, 23, 46}, {28, 21, 45, 7, 46}, {28, 19, 47, 10, 48},
	{28, 2, 46, 29, 47}, {28, 10, 46, 23, 47}, {28, 14, 46, 21, 47}, {28, 14, 46, 23, 47}, {28, 12, 47, 26, 48},
	{28, 6, 47, 34, 48}, {28, 29, 46, 14, 47}, {28, 13, 46, 32, 47}, {28, 40, 47, 7, 48}, {28, 18, 47, 31, 48},
}

// errQRTooLong is returned for data beyond version 40-M's capacity.
var errQRTooLong = errors.New("qr: data too long for a QR code (max 2331 bytes)")

// QR is an encoded symbol: Size×Size modules, true = dark.
type QR struct {
	Version int
	Mask    int
	Size    int
	dark    [][]bool
	fn      [][]bool // function pattern modules (not data)
}

// Dark reports whether the module at column x, row y is dark.
func (q *QR) Dark(x, y int) bool { return q.dark[y][x] }

// Rows returns the matrix as strings of '1' (dark) and '0' (light), top to bottom.
func (q *QR) Rows() []string {
	rows := make([]string, q.Size)
	var b strings.Builder
	for y := range q.Size {
		b.Reset()
		for x := range q.Size {
			if q.dark[y][x] {
				b.WriteByte('1')
			} else {
				b.WriteByte('0')
			}
		}
		rows[y] = b.String()
	}
	return rows
}

// qrDataCodewords is the number of data codewords of version v at level M.
func qrDataCodewords(v int) int { e := qrECM[v]; return e.b1*e.d1 + e.b2*e.d2 }

// qrRawModules is the number of modules of version v available for data
// and EC codewords (including remainder bits): everything but the function patterns.
func qrRawModules(v int) int {
	n := (16*v+128)*v + 64
	if v >= 2 {
		na := v/7 + 2
		n -= (25*na-10)*na - 55
		if v >= 7 {
			n -= 36
		}
	}
	return n
}

func qrCountBits(v int) int {
	if v <= 9 {
		return 8
	}
	return 16
}

// EncodeQR encodes data in byte mode at error correction level M, in the
// smallest version that holds it, with the best mask by the standard's
// penalty rules.
func EncodeQR(data []byte) (*QR, error) { return encodeQR(data, -1) }

// encodeQR is EncodeQR with a fixed mask (0–7) when mask >= 0.
func encodeQR(data []byte, mask int) (*QR, error) {
	v := 0
	for ver := 1; ver <= 40; ver++ {
		if 4+qrCountBits(ver)+8*len(data) <= 8*qrDataCodewords(ver) {
			v = ver
			break
		}
	}
	if v == 0 {
		return nil, errQRTooLong
	}
	// Bit stream: mode 0100, count, bytes, terminator, padding.
	var bb bitBuffer
	bb.append(0b0100, 4)
	bb.append(uint32(len(data)), qrCountBits(v))
	for _, c := range data {
		bb.append(uint32(c), 8)
	}
	capBits := 8 * qrDataCodewords(v)
	bb.append(0, min(4, capBits-len(bb)))
	bb.append(0, (8-len(bb)%8)%8)
	for pad := uint32(0xEC); len(bb) < capBits; pad ^= 0xEC ^ 0x11 {
		bb.append(pad, 8)
	}
	codewords := make([]byte, len(bb)/8)
	for i, bit := range bb {
		if bit {
			codewords[i>>3] |= 1 << (7 - i&7)
		}
	}
	all := qrInterleave(v, codewords)

	q := &QR{Version: v, Size: 4*v + 17}
	q.dark = make([][]bool, q.Size)
	q.fn = make([][]bool, q.Size)
	for i := range q.Size {
		q.dark[i] = make([]bool, q.Size)
		q.fn[i] = make([]bool, q.Size)
	}
	q.drawFunctionPatterns()
	q.placeData(all)
	if mask < 0 {
		best := 0
		for m := range 8 {
			q.applyMask(m)
			q.drawFormat(m)
			if p := q.penalty(); m == 0 || p < best {
				best, mask = p, m
			}
			q.applyMask(m) // XOR again undoes it
		}
	}
	q.Mask = mask
	q.applyMask(mask)
	q.drawFormat(mask)
	return q, nil
}

type bitBuffer []bool

func (b *bitBuffer) append(v uint32, n int) {
	for i := n - 1; i >= 0; i-- {
		*b = append(*b, v>>uint(i)&1 == 1)
	}
}

// qrInterleave splits the data codewords into blocks, appends each block's
// Reed–Solomon codewords, and interleaves them as the symbol stores them.
func qrInterleave(v int, data []byte) []byte {
	e := qrECM[v]
	div := rsDivisor(e.ec)
	var blocks, ecs [][]byte
	off := 0
	for i := 0; i < e.b1+e.b2; i++ {
		n := e.d1
		if i >= e.b1 {
			n = e.d2
		}
		blk := data[off : off+n]
		off += n
		blocks = append(blocks, blk)
		ecs = append(ecs, rsRemainder(blk, div))
	}
	out := make([]byte, 0, qrRawModules(v)/8)
	for i := 0; i < max(e.d1, e.d2); i++ {
		for _, blk := range blocks {
			if i < len(blk) {
				out = append(out, blk[i])
			}
		}
	}
	for i := 0; i < e.ec; i++ {
		for _, ec := range ecs {
			out = append(out, ec[i])
		}
	}
	return out
}

// gfMul multiplies in GF(2^8) modulo x^8+x^4+x^3+x^2+1 (0x11D).
func gfMul(x, y byte) byte {
	var z byte
	for i := 7; i >= 0; i-- {
		z = z<<1 ^ (z>>7)*0x1D
		z ^= (y >> uint(i) & 1) * x
	}
	return z
}

// rsDivisor returns the coefficients (highest first, leading 1 omitted) of
// the generator polynomial ∏(x − α^i), i = 0…degree−1.
func rsDivisor(degree int) []byte {
	r := make([]byte, degree)
	r[degree-1] = 1
	root := byte(1)
	for range degree {
		for j := range r {
			r[j] = gfMul(r[j], root)
			if j+1 < len(r) {
				r[j] ^= r[j+1]
			}
		}
		root = gfMul(root, 2)
	}
	return r
}

// rsRemainder returns data·x^n mod the generator: the EC codewords.
func rsRemainder(data, div []byte) []byte {
	r := make([]byte, len(div))
	for _, b := range data {
		f := b ^ r[0]
		copy(r, r[1:])
		r[len(r)-1] = 0
		for i := range r {
			r[i] ^= gfMul(div[i], f)
		}
	}
	return r
}

func (q *QR) setFn(x, y int, dark bool) {
	q.dark[y][x] = dark
	q.fn[y][x] = true
}

// qrAlignment returns the alignment pattern centre coordinates of version v.
func qrAlignment(v int) []int {
	if v == 1 {
		return nil
	}
	n := v/7 + 2
	step := (v*8 + n*3 + 5) / (n*4 - 4) * 2
	pos := make([]int, n)
	pos[0] = 6
	for i, p := n-1, 4*v+17-7; i >= 1; i, p = i-1, p-step {
		pos[i] = p
	}
	return pos
}

func (q *QR) drawFunctionPatterns() {
	s := q.Size
	for i := range s { // timing patterns
		q.setFn(6, i, i%2 == 0)
		q.setFn(i, 6, i%2 == 0)
	}
	q.drawFinder(3, 3)
	q.drawFinder(s-4, 3)
	q.drawFinder(3, s-4)
	al := qrAlignment(q.Version)
	for i, x := range al {
		for j, y := range al {
			if i == 0 && j == 0 || i == 0 && j == len(al)-1 || i == len(al)-1 && j == 0 {
				continue
			}
			for dy := -2; dy <= 2; dy++ {
				for dx := -2; dx <= 2; dx++ {
					q.setFn(x+dx, y+dy, max(abs(dx), abs(dy)) != 1)
				}
			}
		}
	}
	q.drawFormat(0) // reserves the format areas; redrawn after masking
	if q.Version >= 7 {
		rem := q.Version
		for range 12 {
			rem = rem<<1 ^ (rem>>11)*0x1F25
		}
		bits := q.Version<<12 | rem
		for i := range 18 {
			bit := bits>>uint(i)&1 == 1
			a, b := s-11+i%3, i/3
			q.setFn(a, b, bit)
			q.setFn(b, a, bit)
		}
	}
}

// drawFinder draws a finder pattern and its separator centred at (cx, cy).
func (q *QR) drawFinder(cx, cy int) {
	for dy := -4; dy <= 4; dy++ {
		for dx := -4; dx <= 4; dx++ {
			x, y := cx+dx, cy+dy
			if x < 0 || y < 0 || x >= q.Size || y >= q.Size {
				continue
			}
			d := max(abs(dx), abs(dy))
			q.setFn(x, y, d != 2 && d != 4)
		}
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// qrFormatBits returns the 15 format bits for level M and mask.
func qrFormatBits(mask int) int {
	const levelM = 0b00
	data := levelM<<3 | mask
	rem := data
	for range 10 {
		rem = rem<<1 ^ (rem>>9)*0x537
	}
	return (data<<10 | rem) ^ 0x5412
}

func (q *QR) drawFormat(mask int) {
	bits := qrFormatBits(mask)
	bit := func(i int) bool { return bits>>uint(i)&1 == 1 }
	s := q.Size
	for i := 0; i <= 5; i++ {
		q.setFn(8, i, bit(i))
	}
	q.setFn(8, 7, bit(6))
	q.setFn(8, 8, bit(7))
	q.setFn(7, 8, bit(8))
	for i := 9; i < 15; i++ {
		q.setFn(14-i, 8, bit(i))
	}
	for i := range 8 {
		q.setFn(s-1-i, 8, bit(i))
	}
	for i := 8; i < 15; i++ {
		q.setFn(8, s-15+i, bit(i))
	}
	q.setFn(8, s-8, true) // the dark module
}

// placeData fills the non-function modules with the codewords in the
// standard's two-column zigzag, bottom right first.
func (q *QR) placeData(data []byte) {
	i, n := 0, len(data)*8
	s := q.Size
	for right := s - 1; right >= 1; right -= 2 {
		if right == 6 {
			right = 5
		}
		upward := (right+1)&2 == 0
		for vert := range s {
			for j := range 2 {
				x := right - j
				y := vert
				if upward {
					y = s - 1 - vert
				}
				if !q.fn[y][x] && i < n {
					q.dark[y][x] = data[i>>3]>>(7-uint(i&7))&1 == 1
					i++
				}
			}
		}
	}
}

func qrMaskBit(m, x, y int) bool {
	switch m {
	case 0:
		return (x+y)%2 == 0
	case 1:
		return y%2 == 0
	case 2:
		return x%3 == 0
	case 3:
		return (x+y)%3 == 0
	case 4:
		return (x/3+y/2)%2 == 0
	case 5:
		return x*y%2+x*y%3 == 0
	case 6:
		return (x*y%2+x*y%3)%2 == 0
	default:
		return ((x+y)%2+x*y%3)%2 == 0
	}
}

func (q *QR) applyMask(m int) {
	for y := range q.Size {
		for x := range q.Size {
			if !q.fn[y][x] && qrMaskBit(m, x, y) {
				q.dark[y][x] = !q.dark[y][x]
			}
		}
	}
}

// penalty scores the symbol by the four rules of ISO/IEC 18004 §7.8.3.
func (q *QR) penalty() int {
	s := q.Size
	p := 0
	at := func(x, y int, col bool) bool {
		if col {
			return q.dark[x][y]
		}
		return q.dark[y][x]
	}
	finderA := []bool{true, false, true, true, true, false, true, false, false, false, false}
	finderB := []bool{false, false, false, false, true, false, true, true, true, false, true}
	for _, col := range []bool{false, true} {
		for y := range s {
			run := 1
			for x := 1; x <= s; x++ {
				if x < s && at(x, y, col) == at(x-1, y, col) {
					run++
					continue
				}
				if run >= 5 {
					p += 3 + run - 5
				}
				run = 1
			}
			for x := 0; x+11 <= s; x++ {
				a, b := true, true
				for k := range 11 {
					v := at(x+k, y, col)
					a = a && v == finderA[k]
					b = b && v == finderB[k]
				}
				if a {
					p += 40
				}
				if b {
					p += 40
				}
			}
		}
	}
	dark := 0
	for y := range s {
		for x := range s {
			c := q.dark[y][x]
			if c {
				dark++
			}
			if x+1 < s && y+1 < s && c == q.dark[y][x+1] && c == q.dark[y+1][x] && c == q.dark[y+1][x+1] {
				p += 3
			}
		}
	}
	total := s * s
	k := (abs(dark*20-total*10)+total-1)/total - 1
	return p + k*10
}
