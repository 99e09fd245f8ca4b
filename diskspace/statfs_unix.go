//go:build unix

package diskspace

import "syscall"

// statfs returns the size of the volume holding dir and the bytes available
// on it to an unprivileged user (blocks reserved for root do not count).
func statfs(dir string) (total, free int64, err error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, 0, err
	}
	bs := int64(st.Bsize)
	return int64(st.Blocks) * bs, int64(st.Bavail) * bs, nil
}
