package md5x16

import (
	"crypto/md5"
	"encoding/binary"
	"math/rand/v2"
	"testing"
)

// stdState is crypto/md5's chaining value after p (whole blocks), read
// from its documented MarshalBinary state: magic, h0…h7 big-endian, …
func stdState(t *testing.T, p []byte) State {
	h := md5.New()
	h.Write(p)
	b, err := h.(interface{ MarshalBinary() ([]byte, error) }).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var s State
	for w := range s {
		s[w] = binary.BigEndian.Uint32(b[4+4*w:])
	}
	return s
}

func TestBlocksMatchesStdlib(t *testing.T) {
	if !Available {
		t.Skip("no AVX-512")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var h Hasher
	for iter := 0; iter < 200; iter++ {
		var in [Lanes][]byte
		var states [Lanes]*State
		var whole [Lanes][]byte
		for i := range in {
			if rng.IntN(4) == 0 {
				continue // an idle lane
			}
			s := Init
			states[i] = &s
		}
		// Two calls, to check states carry over between them.
		for call := 0; call < 2; call++ {
			for i := range in {
				in[i] = nil
				if states[i] == nil {
					continue
				}
				p := make([]byte, BlockSize*rng.IntN(40))
				for j := range p {
					p[j] = byte(rng.Uint32())
				}
				in[i] = p
				whole[i] = append(whole[i], p...)
			}
			if !h.Blocks(&states, &in) {
				t.Fatal("Blocks refused")
			}
		}
		for i, s := range states {
			if s == nil {
				continue
			}
			if want := stdState(t, whole[i]); *s != want {
				t.Fatalf("iter %d lane %d (%d bytes): got %x, want %x", iter, i, len(whole[i]), *s, want)
			}
		}
	}
}

func BenchmarkBlocks16x32KiB(b *testing.B) {
	if !Available {
		b.Skip("no AVX-512")
	}
	var in [Lanes][]byte
	var states [Lanes]*State
	for i := range in {
		in[i] = make([]byte, 32<<10)
		s := Init
		states[i] = &s
	}
	var h Hasher
	b.SetBytes(Lanes * 32 << 10)
	for b.Loop() {
		h.Blocks(&states, &in)
	}
}

func BenchmarkStdlib32KiB(b *testing.B) {
	p := make([]byte, 32<<10)
	h := md5.New()
	b.SetBytes(32 << 10)
	for b.Loop() {
		h.Write(p)
	}
}

func TestBlocksChecksItsInput(t *testing.T) {
	var h Hasher
	var states [Lanes]*State
	var in [Lanes][]byte
	if !h.Blocks(&states, &in) && Available {
		t.Fatal("no input must succeed")
	}
	if !Available {
		return
	}
	for name, set := range map[string]func(){
		"partial block": func() { s := Init; states[0], in[0] = &s, make([]byte, 65) },
		"no state":      func() { states[0], in[0] = nil, make([]byte, 64) },
	} {
		set()
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			h.Blocks(&states, &in)
		}()
	}
}
