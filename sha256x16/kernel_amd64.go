//go:build amd64 && gc && !purego

package sha256x16

import (
	_ "unsafe" // for go:linkname

	"github.com/klauspost/cpuid/v2"
	_ "github.com/minio/sha256-simd" // provides the kernel
)

// Available reports whether Blocks can run here: the kernel needs
// AVX-512 F, DQ, BW and VL (what sha256-simd checks before using it).
var Available = cpuid.CPU.Supports(cpuid.AVX512F, cpuid.AVX512DQ, cpuid.AVX512BW, cpuid.AVX512VL)

// kernel is sha256-simd's sha256X16Avx512: it runs len(masks) rounds;
// round r hashes the 64-byte block r of each lane whose bit is set in
// masks[r], and reads nothing from the other lanes.
//
//go:linkname kernel github.com/minio/sha256-simd.sha256X16Avx512
//go:noescape
func kernel(digests *[512]byte, scratch *[512]byte, table *[512]uint64, masks []uint64, in [16][]byte)
