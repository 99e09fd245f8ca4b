package server

import (
	"fmt"
	"log/slog"
	"os"
)

// restrictDataDir makes the data folder private to the server's user: it
// holds the metadata database, object files and, by default, the server
// key. A folder that group or others may enter (say, created by hand with
// mode 0755) is tightened to 0700 and the change logged; if that fails the
// server starts anyway, with a warning.
func restrictDataDir(dir string, logger *slog.Logger) {
	fi, err := os.Stat(dir)
	if err != nil {
		logger.Warn("checking the data folder's permissions", "data", dir, "err", err)
		return
	}
	mode := fi.Mode().Perm()
	if mode&0o077 == 0 {
		return
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		logger.Warn("the data folder is open to other users; restrict it to 0700", "data", dir, "mode", fmt.Sprintf("%04o", mode), "err", err)
		return
	}
	logger.Warn("the data folder was open to other users; restricted it to 0700", "data", dir, "was", fmt.Sprintf("%04o", mode))
}
