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

// A block is directBlock bytes at a directAlign boundary. keep is the
// memory mapping buf lies in, if any: holding it keeps the mapping alive
// (see newBlock in direct_linux.go); nil when buf is ordinary Go memory.
type block struct {
	buf  []byte
	keep *mapping
}

var blockPool sync.Pool

func init() { blockPool.New = func() any { return newBlock() } }

// heapBlock returns a block of Go memory.
func heapBlock() *block { return &block{buf: alignedBlock(directBlock)} }

// alignedBlock returns n bytes starting at a directAlign boundary.
func alignedBlock(n int) []byte {
	b := make([]byte, n+directAlign)
	off := int(uintptr(unsafe.Pointer(&b[0])) & (directAlign - 1))
	if off != 0 {
		off = directAlign - off
	}
	return b[off : off+n : off+n]
}
