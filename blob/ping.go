package blob

import (
	"context"
	"fmt"
	"os"
)

// Ping checks that the directory is there and is a directory, for
// readiness checks: a network file system that is unmounted or out of
// reach fails it (or hangs it: callers bound the wait).
func (s *Dir) Ping(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	fi, err := os.Stat(s.root)
	if err != nil {
		return fmt.Errorf("blob: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("blob: %s is not a directory", s.root)
	}
	return nil
}
