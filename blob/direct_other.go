//go:build !linux

package blob

import "os"

// oDirect is zero where O_DIRECT is not used: blobs go through the page cache.
const oDirect = 0

func clearDirect(*os.File) error { return nil }

type mapping struct{}

func newBlock() *block { return heapBlock() }
