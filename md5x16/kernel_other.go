//go:build !amd64 || !gc || purego

package md5x16

// Available is false: the kernel is amd64 assembly.
const Available = false

func kernel(state *uint32, base uintptr, offs *int32, mask uint64, n int) {
	panic("md5x16: no kernel on this platform")
}
