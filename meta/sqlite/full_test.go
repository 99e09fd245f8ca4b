package sqlite

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/postern/postern/diskspace"
	"github.com/postern/postern/meta"
)

type spaceCounter struct{ before, failed atomic.Int64 }

func (c *spaceCounter) BeforeMetadataWrite() { c.before.Add(1) }
func (c *spaceCounter) MetadataWriteFailed() { c.failed.Add(1) }

// TestWriteOnFullVolume fills a small tmpfs under the database and checks
// that the write that no longer fits fails with diskspace.ErrFull, that the
// space hook is told, and that writes work again once space is freed.
func TestWriteOnFullVolume(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a small tmpfs under the database")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs (%v: %s)", err, strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() { exec.Command("umount", dir).Run() })
	s, err := Open(context.Background(), filepath.Join(dir, "meta.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var sp spaceCounter
	s.SetSpace(&sp)
	mustBucket(t, s, "b")

	// Leave 256 KiB, then write 32 KiB inline objects until the database
	// cannot grow.
	filler, err := os.Create(filepath.Join(dir, "filler"))
	if err != nil {
		t.Fatal(err)
	}
	var st syscall.Statfs_t
	syscall.Statfs(dir, &st)
	if _, err := filler.Write(make([]byte, int64(st.Bavail)*int64(st.Bsize)-256<<10)); err != nil {
		t.Fatal(err)
	}
	var werr error
	for i := 0; i < 1000 && werr == nil; i++ {
		o := obj("b", fmt.Sprintf("k%04d", i))
		o.Inline = make([]byte, 32<<10)
		o.Size = int64(len(o.Inline))
		_, werr = s.PutObject(context.Background(), o, meta.Condition{})
	}
	if !errors.Is(werr, diskspace.ErrFull) {
		t.Fatalf("write on a full volume: %v, want diskspace.ErrFull", werr)
	}
	if sp.failed.Load() == 0 || sp.before.Load() == 0 {
		t.Errorf("space hook: before %d, failed %d", sp.before.Load(), sp.failed.Load())
	}
	filler.Close()
	os.Remove(filler.Name())
	o := obj("b", "after")
	o.Inline = make([]byte, 32<<10)
	if _, err := s.PutObject(context.Background(), o, meta.Condition{}); err != nil {
		t.Fatalf("write after space was freed: %v", err)
	}
}
