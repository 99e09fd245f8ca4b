package diskspace

import (
	"fmt"
	"os"
)

// allocate creates the reserve file at path holding size bytes of disk
// space: fallocate where the file system offers it, else written zeros
// (which a compressing file system may not store: there, the reserve
// protects nothing). The file is fsynced before allocate returns.
func allocate(path string, size int64) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	err = preallocate(f, size)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("reserve file: %w", err)
	}
	return nil
}

// writeZeros fills f with size zero bytes.
func writeZeros(f *os.File, size int64) error {
	buf := make([]byte, min(size, 1<<20))
	for size > 0 {
		n, err := f.Write(buf[:min(size, int64(len(buf)))])
		size -= int64(n)
		if err != nil {
			return err
		}
	}
	return nil
}
