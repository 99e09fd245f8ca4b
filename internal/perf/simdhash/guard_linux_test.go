package simdhash

import (
	"syscall"
	"testing"
)

// TestBlocksReadOnlyTheirInput puts every lane's input right before an
// unmapped page: a read past any lane's end faults.
func TestBlocksReadOnlyTheirInput(t *testing.T) {
	t.Run("MD5", func(t *testing.T) { testGuard(t, md5Kind()) })
	t.Run("SHA256", func(t *testing.T) { testGuard(t, sha256Kind()) })
}

func testGuard[S comparable](t *testing.T, k kind[S]) {
	if !Available {
		t.Skip("no AVX-512")
	}
	page := syscall.Getpagesize()
	var in [Lanes][]byte
	var states [Lanes]*S
	var want [Lanes]S
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
		s := k.init
		states[i] = &s
		want[i] = k.stdState(t, in[i])
	}
	k.blocks(&states, &in)
	for i := range states {
		if *states[i] != want[i] {
			t.Fatalf("lane %d differs", i)
		}
	}
}

// MD5 inputs further apart than its kernel's 32-bit offsets reach are
// refused, and their states left alone.
func TestMD5RefusesDistantInputs(t *testing.T) {
	if !Available {
		t.Skip("no AVX-512")
	}
	page := syscall.Getpagesize()
	const span = 3 << 30
	mem, err := syscall.Mmap(-1, 0, span, syscall.PROT_NONE, syscall.MAP_ANON|syscall.MAP_PRIVATE|syscall.MAP_NORESERVE)
	if err != nil {
		t.Skip("cannot reserve 3 GiB of address space:", err)
	}
	defer syscall.Munmap(mem)
	first, last := mem[:page], mem[span-page:]
	for _, p := range [][]byte{first, last} {
		if err := syscall.Mprotect(p, syscall.PROT_READ|syscall.PROT_WRITE); err != nil {
			t.Fatal(err)
		}
	}
	a, b := MD5Init, MD5Init
	states := [Lanes]*MD5State{&a, &b}
	in := [Lanes][]byte{first, last}
	var h MD5
	if h.Blocks(&states, &in) {
		t.Fatal("Blocks took inputs 3 GiB apart")
	}
	if a != MD5Init || b != MD5Init {
		t.Fatal("a refused call changed the states")
	}
	in[1] = first // near each other: taken
	if !h.Blocks(&states, &in) || a != md5Kind().stdState(t, first) {
		t.Fatal("Blocks refused or miscomputed near inputs")
	}
}
