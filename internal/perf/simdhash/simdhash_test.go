package simdhash

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/binary"
	"hash"
	"math/rand/v2"
	"testing"
)

// kind is one of the package's hashes, for tests that cover both.
type kind[S comparable] struct {
	init   S
	blocks func(states *[Lanes]*S, in *[Lanes][]byte) bool
	std    func() hash.Hash    // the standard library's digest
	words  func(s *S) []uint32 // s's words, to read std's state into
}

func md5Kind() kind[MD5State] {
	var h MD5
	return kind[MD5State]{MD5Init, h.Blocks, md5.New, func(s *MD5State) []uint32 { return s[:] }}
}

func sha256Kind() kind[SHA256State] {
	var h SHA256
	return kind[SHA256State]{SHA256Init, h.Blocks, sha256.New, func(s *SHA256State) []uint32 { return s[:] }}
}

// stdState is the standard library's chaining value after p (whole
// blocks), read from its documented MarshalBinary state: a 4-byte magic,
// then the words big-endian.
func (k kind[S]) stdState(t *testing.T, p []byte) S {
	h := k.std()
	h.Write(p)
	b, err := h.(interface{ MarshalBinary() ([]byte, error) }).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var s S
	w := k.words(&s)
	for i := range w {
		w[i] = binary.BigEndian.Uint32(b[4+4*i:])
	}
	return s
}

func TestBlocksMatchStdlib(t *testing.T) {
	t.Run("MD5", func(t *testing.T) { testMatch(t, md5Kind()) })
	t.Run("SHA256", func(t *testing.T) { testMatch(t, sha256Kind()) })
}

func testMatch[S comparable](t *testing.T, k kind[S]) {
	if !Available {
		t.Skip("no AVX-512")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for iter := 0; iter < 200; iter++ {
		var in [Lanes][]byte
		var states [Lanes]*S
		var whole [Lanes][]byte
		for i := range in {
			if rng.IntN(4) == 0 {
				continue // an idle lane
			}
			s := k.init
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
			if !k.blocks(&states, &in) {
				t.Fatal("Blocks refused")
			}
		}
		for i, s := range states {
			if s == nil {
				continue
			}
			if want := k.stdState(t, whole[i]); *s != want {
				t.Fatalf("iter %d lane %d (%d bytes): got %v, want %v", iter, i, len(whole[i]), *s, want)
			}
		}
	}
}

func TestBlocksCheckInput(t *testing.T) {
	t.Run("MD5", func(t *testing.T) { testCheckInput(t, md5Kind()) })
	t.Run("SHA256", func(t *testing.T) { testCheckInput(t, sha256Kind()) })
}

func testCheckInput[S comparable](t *testing.T, k kind[S]) {
	var states [Lanes]*S
	var in [Lanes][]byte
	if ok := k.blocks(&states, &in); ok != Available {
		t.Fatalf("no input: %v, want %v", ok, Available)
	}
	if !Available {
		return
	}
	for name, set := range map[string]func(){
		"partial block": func() { s := k.init; states[0], in[0] = &s, make([]byte, 65) },
		"no state":      func() { states[0], in[0] = nil, make([]byte, 64) },
	} {
		set()
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			k.blocks(&states, &in)
		}()
	}
}

func BenchmarkBlocks16x32KiB(b *testing.B) {
	b.Run("MD5", func(b *testing.B) { benchBlocks(b, md5Kind()) })
	b.Run("SHA256", func(b *testing.B) { benchBlocks(b, sha256Kind()) })
}

func benchBlocks[S comparable](b *testing.B, k kind[S]) {
	if !Available {
		b.Skip("no AVX-512")
	}
	var in [Lanes][]byte
	var states [Lanes]*S
	for i := range in {
		in[i] = make([]byte, 32<<10)
		s := k.init
		states[i] = &s
	}
	b.SetBytes(Lanes * 32 << 10)
	for b.Loop() {
		k.blocks(&states, &in)
	}
}

func BenchmarkStdlib32KiB(b *testing.B) {
	for name, h := range map[string]hash.Hash{"MD5": md5.New(), "SHA256": sha256.New()} {
		b.Run(name, func(b *testing.B) {
			p := make([]byte, 32<<10)
			b.SetBytes(32 << 10)
			for b.Loop() {
				h.Write(p)
			}
		})
	}
}
