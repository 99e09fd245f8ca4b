package blob

import (
	"os"
	"runtime"
	"sync/atomic"
	"syscall"
	"unsafe"
)

const oDirect = syscall.O_DIRECT

// clearDirect turns O_DIRECT off on an open file.
func clearDirect(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	err = rc.Control(func(fd uintptr) {
		flags, _, e := syscall.Syscall(syscall.SYS_FCNTL, fd, syscall.F_GETFL, 0)
		if e != 0 {
			ferr = e
			return
		}
		if _, _, e := syscall.Syscall(syscall.SYS_FCNTL, fd, syscall.F_SETFL, flags&^syscall.O_DIRECT); e != 0 {
			ferr = e
		}
	})
	if err != nil {
		return err
	}
	return ferr
}

// Direct blocks live in anonymous mappings that the kernel may back with
// 2 MiB transparent huge pages (madvise). Pinning the pages of a direct
// write (get_user_pages) and copying socket data into them then touches
// one huge page instead of 256 small ones: on the 2-vCPU test machine this
// cut the server's CPU per GiB of upload by about 6 %.
//
// Each mapping is 4 MiB of address space, of which the 2 MiB-aligned
// region inside is used: two blocks. A mapping is unmapped by a cleanup
// once neither of its blocks is reachable, so blocks dropped by blockPool
// under GC return their memory to the system as heap blocks would.
const hugePage = 2 << 20

// mapping is what a block keeps alive. mem is the whole mapping (also what
// makes the struct non-empty: AddCleanup needs an object of its own).
type mapping struct{ mem []byte }

// mappedRegions counts mappings not yet unmapped (for tests).
var mappedRegions atomic.Int64

// newBlock returns one block of a fresh mapping and puts its sibling in
// blockPool; it falls back to Go memory if the mapping cannot be made.
func newBlock() *block {
	mem, err := syscall.Mmap(-1, 0, 2*hugePage, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return heapBlock()
	}
	mappedRegions.Add(1)
	m := &mapping{mem: mem}
	runtime.AddCleanup(m, func(mem []byte) {
		syscall.Munmap(mem)
		mappedRegions.Add(-1)
	}, mem)
	off := int(uintptr(unsafe.Pointer(&mem[0])) & (hugePage - 1))
	if off != 0 {
		off = hugePage - off
	}
	region := mem[off : off+hugePage : off+hugePage]
	// Advice only: without huge pages the blocks work the same.
	_ = syscall.Madvise(region, syscall.MADV_HUGEPAGE)
	const n = directBlock
	blockPool.Put(&block{buf: region[n : 2*n : 2*n], keep: m})
	return &block{buf: region[:n:n], keep: m}
}
