package blob

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"sync"
	"testing"
	"time"
)

// clock is a settable clock shared by the Dirs of a test (the nodes).
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// nodes opens n Dirs on one directory, as n servers sharing it would.
func nodes(t *testing.T, n int, c *clock) []*Dir {
	root := t.TempDir()
	var ds []*Dir
	for i := 0; i < n; i++ {
		d, err := OpenDir(root)
		if err != nil {
			t.Fatal(err)
		}
		d.Now = c.Now
		d.LeaseTTL = 10 * time.Minute
		ds = append(ds, d)
	}
	return ds
}

func noneReferenced(_ context.Context, ids []string) (map[string]bool, error) {
	return map[string]bool{}, nil
}

// A slow upload on node B survives node A's sweeps for hours, as long as
// bytes keep arriving, even when A sweeps files as if everything were old;
// an abandoned one on B is swept once its lease expires.
func TestSharedDirSlowWriterSurvivesSweeps(t *testing.T) {
	for _, noDirect := range []bool{false, true} {
		c := &clock{t: time.Now()}
		ns := nodes(t, 2, c)
		a, b := ns[0], ns[1]
		b.NoDirect = noDirect
		ctx := context.Background()

		slow, err := b.Create(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer slow.Abort()
		abandoned, err := b.Create(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := abandoned.Write([]byte("left behind")); err != nil {
			t.Fatal(err)
		}
		var want bytes.Buffer
		// Three hours, a sweep every 20 minutes, a few bytes every 5.
		for round := 0; round < 9; round++ {
			for i := 0; i < 4; i++ {
				c.Add(5 * time.Minute)
				piece := bytes.Repeat([]byte{byte('a' + round)}, 1000+i)
				want.Write(piece)
				if _, err := slow.Write(piece); err != nil {
					t.Fatalf("noDirect=%v round %d: write: %v", noDirect, round, err)
				}
			}
			// Node A treats every file as old (olderThan in the future):
			// only the lease can keep the in-flight blob.
			if _, err := a.Sweep(ctx, c.Now().Add(time.Hour), noneReferenced); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(a.path(slow.ID())); err != nil {
				t.Fatalf("noDirect=%v round %d: slow upload's file swept: %v", noDirect, round, err)
			}
		}
		if _, err := os.Stat(a.path(abandoned.ID())); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("noDirect=%v: abandoned upload's file still there: %v", noDirect, err)
		}
		if _, err := os.Stat(a.leasePath(abandoned.ID())); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("noDirect=%v: abandoned upload's lease still there: %v", noDirect, err)
		}
		// The abandoned writer learns it lost its blob.
		if err := abandoned.Commit(ctx); !errors.Is(err, ErrLeaseLost) {
			t.Fatalf("noDirect=%v: commit of a swept blob: %v, want ErrLeaseLost", noDirect, err)
		}
		if err := slow.Commit(ctx); err != nil {
			t.Fatalf("noDirect=%v: commit: %v", noDirect, err)
		}
		if _, err := os.Stat(a.leasePath(slow.ID())); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("noDirect=%v: lease kept after commit: %v", noDirect, err)
		}
		r, err := a.Open(ctx, slow.ID(), 0, int64(want.Len()))
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(r)
		r.Close()
		if !bytes.Equal(got, want.Bytes()) {
			t.Fatalf("noDirect=%v: read %d bytes back, want %d", noDirect, len(got), want.Len())
		}
		// Committed and referenced: kept; committed and not referenced
		// (its metadata never came): swept by the file pass.
		keep := func(_ context.Context, ids []string) (map[string]bool, error) {
			m := map[string]bool{}
			for _, id := range ids {
				m[id] = id == slow.ID()
			}
			return m, nil
		}
		if n, err := a.Sweep(ctx, c.Now().Add(time.Hour), keep); err != nil || n != 0 {
			t.Fatalf("noDirect=%v: sweep of a referenced blob removed %d, %v", noDirect, n, err)
		}
		if n, err := a.Sweep(ctx, time.Now().Add(time.Hour), noneReferenced); err != nil || n != 1 {
			t.Fatalf("noDirect=%v: sweep of an unreferenced committed blob removed %d, %v", noDirect, n, err)
		}
	}
}

// A writer whose lease was claimed while it was stalled fails at its next
// write, and cannot commit: the sweeper and the writer never both win.
func TestSharedDirLeaseLostFailsWriter(t *testing.T) {
	c := &clock{t: time.Now()}
	ns := nodes(t, 2, c)
	a, b := ns[0], ns[1]
	ctx := context.Background()
	w, err := b.Create(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	w.Write([]byte("x"))
	c.Add(11 * time.Minute) // stalled past the lease
	if n, err := a.Sweep(ctx, time.Time{}, noneReferenced); err != nil || n != 1 {
		t.Fatalf("sweep removed %d, %v; want the stalled blob", n, err)
	}
	if _, err := w.Write([]byte("y")); !errors.Is(err, ErrLeaseLost) {
		t.Fatalf("write after the sweep: %v, want ErrLeaseLost", err)
	}
	if err := w.Commit(ctx); err == nil {
		t.Fatal("commit after the sweep succeeded")
	}
	if _, err := a.Open(ctx, w.ID(), 0, 1); !errors.Is(err, ErrNotFound) {
		t.Fatalf("open: %v, want ErrNotFound", err)
	}
}

// In a directory of its own (Exclusive), a restarted server's first sweep
// takes the leases of the previous run's writers at once; its own live.
func TestExclusiveSweepTakesPreviousRunsLeases(t *testing.T) {
	root := t.TempDir()
	ctx := context.Background()
	prev, err := OpenDir(root)
	if err != nil {
		t.Fatal(err)
	}
	dead, err := prev.Create(ctx) // the crashed run's upload
	if err != nil {
		t.Fatal(err)
	}
	dead.Write([]byte("lost"))
	s, err := OpenDir(root)
	if err != nil {
		t.Fatal(err)
	}
	s.Exclusive = true
	live, err := s.Create(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer live.Abort()
	if n, err := s.Sweep(ctx, time.Now(), noneReferenced); err != nil || n != 1 {
		t.Fatalf("sweep removed %d, %v; want the previous run's blob", n, err)
	}
	if _, err := os.Stat(s.leasePath(dead.ID())); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("previous run's lease kept: %v", err)
	}
	if err := live.Commit(ctx); err != nil {
		t.Fatalf("this run's writer: %v", err)
	}
}
