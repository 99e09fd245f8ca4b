//go:build !amd64 || !gc || purego

package simdhash

// Available is false: the kernels are amd64 assembly.
const Available = false

func md5Kernel(state *uint32, base uintptr, offs *int32, mask uint64, n int) {
	panic("simdhash: no kernel on this platform")
}

func sha256Kernel(digests *[512]byte, scratch *[512]byte, table *[512]uint64, masks []uint64, in [16][]byte) {
	panic("simdhash: no kernel on this platform")
}
