package blob

import (
	"bytes"
	"io"
	"math/rand/v2"
	"os"
	"testing"
	"testing/iotest"
	"unsafe"
)

// Every size around the alignment and block boundaries, written in uneven
// pieces or through ReadFrom, with and without O_DIRECT, reads back exactly.
func TestWriterSizes(t *testing.T) {
	sizes := []int{0, 1, 511, 4095, 4096, 4097, 65 << 10, directBlock - 1, directBlock, directBlock + 1, 3*directBlock + 12345}
	for _, mode := range []string{"direct", "buffered"} {
		s, err := Open(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		s.NoDirect = mode == "buffered"
		for _, size := range sizes {
			for _, via := range []string{"write", "readfrom"} {
				want := make([]byte, size)
				rnd := rand.New(rand.NewPCG(uint64(size), 7))
				for i := range want {
					want[i] = byte(rnd.Uint32())
				}
				w, err := s.Create()
				if err != nil {
					t.Fatal(err)
				}
				if mode == "direct" && w.block == nil && oDirect != 0 && !s.noDirect.Load() {
					t.Fatal("direct writer without a block")
				}
				if via == "write" {
					for p := want; len(p) > 0; {
						k := min(len(p), 1+rnd.IntN(300<<10))
						if n, err := w.Write(p[:k]); err != nil || n != k {
							t.Fatalf("write: %d %v", n, err)
						}
						p = p[k:]
					}
				} else if _, err := w.ReadFrom(iotest.HalfReader(bytes.NewReader(want))); err != nil {
					t.Fatal(err)
				}
				if w.Size() != int64(size) {
					t.Fatalf("%s %s %d: Size %d", mode, via, size, w.Size())
				}
				if err := w.Commit(); err != nil {
					t.Fatal(err)
				}
				f, err := s.Open(w.ID())
				if err != nil {
					t.Fatal(err)
				}
				got, _ := io.ReadAll(f)
				f.Close()
				if !bytes.Equal(got, want) {
					t.Fatalf("%s %s %d: read back %d bytes, differ", mode, via, size, len(got))
				}
			}
		}
	}
}

func TestAbortDirectRemovesFile(t *testing.T) {
	s, _ := Open(t.TempDir())
	w, _ := s.Create()
	w.Write(make([]byte, directBlock+10))
	w.Abort()
	if _, err := os.Stat(s.path(w.ID())); !os.IsNotExist(err) {
		t.Fatalf("aborted blob still there: %v", err)
	}
}

func TestAlignedBlock(t *testing.T) {
	for i := 0; i < 20; i++ {
		b := alignedBlock(directBlock)
		if uintptr(unsafe.Pointer(&b[0]))%directAlign != 0 || len(b) != directBlock || cap(b) != directBlock {
			t.Fatalf("block not aligned or wrong size")
		}
	}
}
