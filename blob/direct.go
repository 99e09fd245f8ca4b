package blob

import (
	"sync"
	"unsafe"
)

const (
	// directAlign is the alignment O_DIRECT needs for buffer addresses,
	// lengths and file offsets: the largest logical block size in use.
	directAlign = 4096
	// directBlock is how many bytes a direct writer gathers per write.
	directBlock = 1 << 20
)

var blockPool = sync.Pool{New: func() any {
	b := alignedBlock(directBlock)
	return &b
}}

// alignedBlock returns n bytes starting at a directAlign boundary.
func alignedBlock(n int) []byte {
	b := make([]byte, n+directAlign)
	off := int(uintptr(unsafe.Pointer(&b[0])) & (directAlign - 1))
	if off != 0 {
		off = directAlign - off
	}
	return b[off : off+n : off+n]
}
