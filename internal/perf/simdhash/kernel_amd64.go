//go:build amd64 && gc && !purego

package simdhash

import (
	_ "unsafe" // for go:linkname

	"github.com/klauspost/cpuid/v2"
	_ "github.com/minio/md5-simd"    // provides md5Kernel
	_ "github.com/minio/sha256-simd" // provides sha256Kernel
)

// Available reports whether Blocks can run here: the kernels need AVX-512
// F, DQ, BW and VL (what md5-simd and sha256-simd check before using them).
var Available = cpuid.CPU.Supports(cpuid.AVX512F, cpuid.AVX512DQ, cpuid.AVX512BW, cpuid.AVX512VL)

// md5Kernel is md5-simd's block16: it hashes n bytes (whole blocks) in
// each lane whose bit is set in mask, reading lane i's bytes from
// base+offs[i] onwards, and reads nothing for the other lanes, whose words
// in state it may overwrite. state holds word w of lane i at state[w*16+i].
//
//go:linkname md5Kernel github.com/minio/md5-simd.block16
//go:noescape
func md5Kernel(state *uint32, base uintptr, offs *int32, mask uint64, n int)

// sha256Kernel is sha256-simd's sha256X16Avx512: it runs len(masks)
// rounds; round r hashes the 64-byte block r of each lane whose bit is set
// in masks[r], and reads nothing from the other lanes.
//
//go:linkname sha256Kernel github.com/minio/sha256-simd.sha256X16Avx512
//go:noescape
func sha256Kernel(digests *[512]byte, scratch *[512]byte, table *[512]uint64, masks []uint64, in [16][]byte)
