//go:build !unix

package diskspace

import "errors"

// statfs is not implemented here: the guard cannot measure, so it admits
// every upload and a full volume is only noticed by failing writes (507).
func statfs(dir string) (total, free int64, err error) {
	return 0, 0, errors.New("measuring free space is not supported on this system")
}
