package blob

import (
	"bytes"
	"context"
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
		s, err := OpenDir(t.TempDir())
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
				w, err := s.create()
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
				if err := w.Commit(context.Background()); err != nil {
					t.Fatal(err)
				}
				f, err := s.openAll(w.ID())
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
	s, _ := OpenDir(t.TempDir())
	w, _ := s.create()
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

// Blocks from the pool are aligned, full-sized and distinct, whether they
// come from a mapping or from Go memory.
func TestPoolBlocks(t *testing.T) {
	seen := map[uintptr]bool{}
	var held []*block
	for i := 0; i < 9; i++ {
		b := blockPool.Get().(*block)
		p := uintptr(unsafe.Pointer(&b.buf[0]))
		if p%directAlign != 0 || len(b.buf) != directBlock || cap(b.buf) != directBlock {
			t.Fatalf("block %d not aligned or wrong size", i)
		}
		if seen[p] {
			t.Fatalf("block %d handed out twice", i)
		}
		seen[p] = true
		b.buf[0], b.buf[directBlock-1] = 1, 2 // the memory is writable
		held = append(held, b)
	}
	for _, b := range held {
		blockPool.Put(b)
	}
}

// A file system that refuses a direct write (here provoked with a misaligned
// block) gets the same bytes through the page cache.
func TestDirectWriteRefusedFallsBack(t *testing.T) {
	if oDirect == 0 {
		t.Skip("no O_DIRECT on this platform")
	}
	s, _ := OpenDir(t.TempDir())
	w, err := s.create()
	if err != nil {
		t.Fatal(err)
	}
	if !w.Direct() {
		t.Skip("the test file system refuses O_DIRECT")
	}
	raw := make([]byte, directBlock+directAlign+1)
	mis := alignedBlockIn(raw)[1 : directBlock+1] // aligned + 1: O_DIRECT rejects it
	w.block = &block{buf: mis}
	want := bytes.Repeat([]byte("0123456789"), (directBlock+5000)/10)
	if _, err := w.Write(want); err != nil {
		t.Fatalf("write after refused direct write: %v", err)
	}
	// The tail is still in the misaligned block; move it to a proper one,
	// which Commit returns to the pool.
	good := alignedBlock(directBlock)
	copy(good, mis[:w.fill])
	w.block = &block{buf: good}
	if err := w.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !s.noDirect.Load() {
		t.Error("the store still tries O_DIRECT")
	}
	f, _ := s.openAll(w.ID())
	got, _ := io.ReadAll(f)
	f.Close()
	if !bytes.Equal(got, want) {
		t.Fatalf("read back %d bytes, want %d equal", len(got), len(want))
	}
}

// alignedBlockIn returns b from its first directAlign boundary.
func alignedBlockIn(b []byte) []byte {
	off := int(uintptr(unsafe.Pointer(&b[0])) & (directAlign - 1))
	if off != 0 {
		off = directAlign - off
	}
	return b[off:]
}
