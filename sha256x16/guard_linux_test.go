package sha256x16

import (
	"syscall"
	"testing"
)

// TestBlocksReadsOnlyItsInput puts every lane's input right before an
// unmapped page: a read past any lane's end faults.
func TestBlocksReadsOnlyItsInput(t *testing.T) {
	if !Available {
		t.Skip("no AVX-512")
	}
	page := syscall.Getpagesize()
	var in [Lanes][]byte
	var states [Lanes]*State
	var want [Lanes]State
	for i := range in {
		mem, err := syscall.Mmap(-1, 0, 2*page, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
		if err != nil {
			t.Fatal(err)
		}
		defer syscall.Munmap(mem)
		if err := syscall.Mprotect(mem[page:], syscall.PROT_NONE); err != nil {
			t.Fatal(err)
		}
		n := BlockSize * (i + 1)
		in[i] = mem[page-n : page]
		for j := range in[i] {
			in[i][j] = byte(i + j)
		}
		s := Init
		states[i] = &s
		want[i] = stdState(t, in[i])
	}
	var h Hasher
	h.Blocks(&states, &in)
	for i := range states {
		if *states[i] != want[i] {
			t.Fatalf("lane %d differs", i)
		}
	}
}
