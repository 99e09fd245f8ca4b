//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly || windows)

package server

import "os"

const dataLockSupported = false

// On the remaining systems (no flock(2) in package syscall) the data folder is
// not locked: running one server per data folder is up to the operator.
func lockFile(*os.File) error { return nil }

func unlockFile(*os.File) error { return nil }
