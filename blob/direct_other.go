//go:build !linux

package blob

// oDirect is zero where O_DIRECT is not used: blobs go through the page cache.
const oDirect = 0
