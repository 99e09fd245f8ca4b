//go:build amd64 && gc && !purego

package md5x16

import (
	_ "unsafe" // for go:linkname

	"github.com/klauspost/cpuid/v2"
	_ "github.com/minio/md5-simd" // provides the kernel
)

// Available reports whether Blocks can run here: the kernel needs
// AVX-512 F and DQ (what md5-simd checks before using it).
var Available = cpuid.CPU.Supports(cpuid.AVX512F, cpuid.AVX512DQ)

// kernel is md5-simd's block16: it hashes n bytes (whole blocks) in each
// lane whose bit is set in mask, reading lane i's bytes from base+offs[i]
// onwards, and reads nothing for the other lanes, whose words in state it
// may overwrite. state holds word w of lane i at state[w*16+i].
//
//go:linkname kernel github.com/minio/md5-simd.block16
//go:noescape
func kernel(state *uint32, base uintptr, offs *int32, mask uint64, n int)
