package console

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Every row of the EC table must fill its version's raw capacity exactly.
func TestQRTableMatchesCapacity(t *testing.T) {
	for v := 1; v <= 40; v++ {
		e := qrECM[v]
		got := e.b1*(e.d1+e.ec) + e.b2*(e.d2+e.ec)
		if want := qrRawModules(v) / 8; got != want {
			t.Errorf("version %d: table has %d codewords, symbol holds %d", v, got, want)
		}
		if e.b2 > 0 && e.d2 != e.d1+1 {
			t.Errorf("version %d: long blocks must hold one more codeword", v)
		}
	}
	// Version 40-M holds 2331 bytes in byte mode (ISO/IEC 18004 table 7).
	if _, err := EncodeQR(make([]byte, 2331)); err != nil {
		t.Errorf("2331 bytes: %v", err)
	}
	if _, err := EncodeQR(make([]byte, 2332)); err == nil {
		t.Error("2332 bytes: want an error")
	}
}

func TestQRAlignmentPositions(t *testing.T) {
	// Known values from ISO/IEC 18004 Annex E.
	for v, want := range map[int][]int{2: {6, 18}, 7: {6, 22, 38}, 22: {6, 26, 50, 74, 98}, 32: {6, 34, 60, 86, 112, 138}, 36: {6, 24, 50, 76, 102, 128, 154}, 40: {6, 30, 58, 86, 114, 142, 170}} {
		got := qrAlignment(v)
		if len(got) != len(want) {
			t.Errorf("v%d: %v, want %v", v, got, want)
			continue
		}
		for i := range got {
			if got[i] != want[i] {
				t.Errorf("v%d: %v, want %v", v, got, want)
				break
			}
		}
	}
}

func TestQRFormatBits(t *testing.T) {
	// Level M rows of the standard's format information table (Annex C).
	want := []int{0x5412, 0x5125, 0x5E7C, 0x5B4B, 0x45F9, 0x40CE, 0x4F97, 0x4AA0}
	for m, w := range want {
		if got := qrFormatBits(m); got != w {
			t.Errorf("mask %d: %#x, want %#x", m, got, w)
		}
	}
}

// goldenMask reads the mask from a matrix's first format information copy.
func goldenMask(rows []string) int {
	at := func(x, y int) int { return int(rows[y][x] - '0') }
	bits := 0
	set := func(i, v int) { bits |= v << i }
	for i := 0; i <= 5; i++ {
		set(i, at(8, i))
	}
	set(6, at(8, 7))
	set(7, at(8, 8))
	set(8, at(7, 8))
	for i := 9; i < 15; i++ {
		set(i, at(14-i, 8))
	}
	return (bits ^ 0x5412) >> 10 & 7
}

// The golden matrices were made by an independent encoder (libqrencode's
// `qrencode -l M -8 -m 0`). Masks are chosen by slightly different penalty
// implementations, so each is compared with the golden symbol's own mask.
func TestQRGolden(t *testing.T) {
	ins, _ := filepath.Glob("testdata/qr/*.in")
	if len(ins) == 0 {
		t.Fatal("no golden vectors")
	}
	for _, in := range ins {
		data, err := os.ReadFile(in)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := os.ReadFile(strings.TrimSuffix(in, ".in") + ".txt")
		if err != nil {
			t.Fatal(err)
		}
		want := strings.Fields(string(raw))
		q, err := encodeQR(data, goldenMask(want))
		if err != nil {
			t.Fatal(err)
		}
		got := q.Rows()
		if len(got) != len(want) {
			t.Errorf("%s: size %d, want %d", in, len(got), len(want))
			continue
		}
		for y := range got {
			if got[y] != want[y] {
				t.Errorf("%s (v%d mask %d): row %d\n got %s\nwant %s", in, q.Version, q.Mask, y, got[y], want[y])
				break
			}
		}
		auto, _ := EncodeQR(data)
		if auto.Version != q.Version {
			t.Errorf("%s: auto version %d, want %d", in, auto.Version, q.Version)
		}
		if dec, err := decodeQR(auto); err != nil || !bytes.Equal(dec, data) {
			t.Errorf("%s: decode = %q, %v", in, dec, err)
		}
	}
}

// decodeQR is a small test decoder: it reads the format, unmasks, reads the
// codewords, checks every block's Reed–Solomon syndromes and parses byte mode.
func decodeQR(q *QR) ([]byte, error) {
	rows := q.Rows()
	mask := goldenMask(rows)
	s := q.Size
	var bits []bool
	for right := s - 1; right >= 1; right -= 2 {
		if right == 6 {
			right = 5
		}
		upward := (right+1)&2 == 0
		for vert := range s {
			for j := range 2 {
				x, y := right-j, vert
				if upward {
					y = s - 1 - vert
				}
				if !q.fn[y][x] {
					bits = append(bits, q.dark[y][x] != qrMaskBit(mask, x, y))
				}
			}
		}
	}
	cw := make([]byte, len(bits)/8)
	for i := range cw {
		for k := range 8 {
			if bits[i*8+k] {
				cw[i] |= 1 << (7 - k)
			}
		}
	}
	e := qrECM[q.Version]
	nb := e.b1 + e.b2
	blocks := make([][]byte, nb)
	i := 0
	for k := 0; k < max(e.d1, e.d2); k++ {
		for b := range nb {
			if k < e.d1 || b >= e.b1 {
				blocks[b] = append(blocks[b], cw[i])
				i++
			}
		}
	}
	for range e.ec {
		for b := range nb {
			blocks[b] = append(blocks[b], cw[i])
			i++
		}
	}
	var data []byte
	for b, blk := range blocks {
		// A valid codeword polynomial vanishes at α^0 … α^(ec-1).
		alpha := byte(1)
		for range e.ec {
			var sum byte
			for _, c := range blk {
				sum = gfMul(sum, alpha) ^ c
			}
			if sum != 0 {
				return nil, &qrErr{"bad syndrome in block", b}
			}
			alpha = gfMul(alpha, 2)
		}
		data = append(data, blk[:len(blk)-e.ec]...)
	}
	var bb bitBuffer
	for _, c := range data {
		bb.append(uint32(c), 8)
	}
	read := func(pos *int, n int) int {
		v := 0
		for k := range n {
			v <<= 1
			if bb[*pos+k] {
				v |= 1
			}
		}
		*pos += n
		return v
	}
	pos := 0
	if m := read(&pos, 4); m != 0b0100 {
		return nil, &qrErr{"not byte mode", m}
	}
	n := read(&pos, qrCountBits(q.Version))
	out := make([]byte, n)
	for k := range out {
		out[k] = byte(read(&pos, 8))
	}
	return out, nil
}

type qrErr struct {
	msg string
	n   int
}

func (e *qrErr) Error() string { return e.msg }

func TestQRRoundTrip(t *testing.T) {
	for n := 0; n <= 2331; n += 37 {
		data := make([]byte, n)
		for i := range data {
			data[i] = byte(i*7 + n)
		}
		q, err := EncodeQR(data)
		if err != nil {
			t.Fatal(n, err)
		}
		got, err := decodeQR(q)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("%d bytes (v%d): %v", n, q.Version, err)
		}
	}
}

// With zbarimg (Debian zbar-tools) installed, a real decoder reads our PNG.
func TestQRZbar(t *testing.T) {
	zbar, err := exec.LookPath("zbarimg")
	if err != nil {
		t.Skip("zbarimg not installed")
	}
	for _, text := range []string{"https://example.com/", strings.Repeat("https://postern.test/b/k?X-Amz-Signature=abc&", 14)} {
		q, err := EncodeQR([]byte(text))
		if err != nil {
			t.Fatal(err)
		}
		const scale, quiet = 4, 4
		n := (q.Size + 2*quiet) * scale
		img := image.NewGray(image.Rect(0, 0, n, n))
		for y := range n {
			for x := range n {
				mx, my := x/scale-quiet, y/scale-quiet
				c := color.Gray{255}
				if mx >= 0 && my >= 0 && mx < q.Size && my < q.Size && q.Dark(mx, my) {
					c = color.Gray{0}
				}
				img.SetGray(x, y, c)
			}
		}
		f := filepath.Join(t.TempDir(), "qr.png")
		var buf bytes.Buffer
		png.Encode(&buf, img)
		os.WriteFile(f, buf.Bytes(), 0o600)
		out, err := exec.Command(zbar, "--raw", "-q", f).Output()
		if err != nil {
			t.Fatalf("zbarimg (v%d): %v", q.Version, err)
		}
		if got := strings.TrimRight(string(out), "\n"); got != text {
			t.Errorf("zbarimg read %q, want %q", got, text)
		}
	}
}
