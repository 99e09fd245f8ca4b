//go:build !amd64 || !gc || purego

package sha256x16

// Available is false: the kernel is amd64 assembly.
const Available = false

func kernel(digests *[512]byte, scratch *[512]byte, table *[512]uint64, masks []uint64, in [16][]byte) {
	panic("sha256x16: no kernel on this platform")
}
