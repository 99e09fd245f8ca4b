package server

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// lockFileName is the file in the data folder that a running server holds
// locked for its whole life. It contains the holder's process id.
const lockFileName = "postern.lock"

// errDataLocked reports that another process holds the data folder's lock.
var errDataLocked = errors.New("data folder locked")

// lockDataDir takes the data folder's lock, or fails at once when another
// server holds it: two servers on one folder would each believe they are the
// only writer (caches, orphan sweeps). The lock is the kernel's (flock(2) on
// unix, LockFileEx on Windows), so it ends with the process however that
// ends, kill -9 included; a stale lock file left behind locks nothing. The
// returned file must stay open while the server runs.
func lockDataDir(dir string) (*os.File, error) {
	path := filepath.Join(dir, lockFileName)
	// No O_TRUNC: the file may belong to a running server, whose PID it holds.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("data folder lock: %w", err)
	}
	if err := lockFile(f); err != nil {
		f.Close()
		if !errors.Is(err, errDataLocked) {
			return nil, fmt.Errorf("data folder lock %s: %w", path, err)
		}
		holder := "another process"
		if pid := readLockPID(path); pid > 0 {
			holder = fmt.Sprintf("another process (pid %d)", pid)
		}
		return nil, fmt.Errorf("data folder %s is in use by %s: one server per data folder; stop it first or choose another --data (lock file %s)", dir, holder, path)
	}
	if err := f.Truncate(0); err == nil {
		_, err = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	if err != nil {
		unlockFile(f)
		f.Close()
		return nil, fmt.Errorf("data folder lock %s: %w", path, err)
	}
	return f, nil
}

// readLockPID returns the process id written in the lock file (0: none yet,
// e.g. read between the holder's lock and its write).
func readLockPID(path string) int {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(string(bytes.TrimSpace(data)))
	if err != nil || pid <= 0 {
		return 0
	}
	return pid
}
