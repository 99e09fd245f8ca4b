package blob

import (
	"runtime"
	"testing"
	"time"
)

// A mapping is unmapped once none of its blocks is reachable any more.
func TestMappingsAreUnmapped(t *testing.T) {
	before := mappedRegions.Load()
	var held []*block
	for i := 0; i < 8; i++ {
		held = append(held, newBlock())
	}
	if got := mappedRegions.Load() - before; got != 8 {
		t.Fatalf("%d mappings made for 8 blocks, want 8", got)
	}
	runtime.KeepAlive(held)
	// newBlock put each mapping's second block in blockPool; two GCs
	// empty the pool, and the cleanups then unmap.
	for deadline := time.Now().Add(time.Minute); mappedRegions.Load() > before; {
		if time.Now().After(deadline) {
			t.Fatalf("%d mappings still mapped", mappedRegions.Load()-before)
		}
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
}
