package robustness

import (
	"bufio"
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/postern/postern/internal/testserver"
)

// maxRSS bounds the server's peak resident set while it moves 1 GiB.
const maxRSS = 200 << 20

// genReader streams size deterministic bytes without holding them: a 1 MiB
// random block with the block number stamped in, so no two blocks are equal.
type genReader struct {
	block []byte
	cur   []byte
	off   int64
	size  int64
}

func newGenReader(seed uint64, size int64) *genReader {
	return &genReader{block: genData(seed, 1<<20), cur: make([]byte, 1<<20), size: size}
}

func (g *genReader) Read(p []byte) (int, error) {
	if g.off >= g.size {
		return 0, io.EOF
	}
	bo := int(g.off % int64(len(g.block)))
	if bo == 0 {
		copy(g.cur, g.block)
		s := strconv.FormatInt(g.off, 10)
		for i := 0; i+len(s) <= len(g.cur); i += 4096 {
			copy(g.cur[i:], s)
		}
	}
	n := copy(p, g.cur[bo:])
	if rem := g.size - g.off; int64(n) > rem {
		n = int(rem)
	}
	g.off += int64(n)
	return n, nil
}

// vmHWM reads the peak resident set size of process pid, in bytes.
func vmHWM(t testing.TB, pid int) int64 {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatalf("reading process status: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				t.Fatalf("parsing VmHWM %q: %v", v, err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmHWM in /proc/PID/status")
	return 0
}

// TestMemoryBounded PUTs and GETs a 1 GiB object streamed from a generator
// and checks that the server's peak RSS stays bounded.
func TestMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("moves 1 GiB; skipped with -short")
	}
	t.Parallel()
	const size = 1 << 30
	srv := testserver.Start(t, testserver.Options{})
	c := newClient(srv)
	c.createBucket(t, "mem")
	before := vmHWM(t, srv.PID())

	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c.hc.Timeout = 2 * time.Minute
	h := md5.New()
	r := c.request(ctx, http.MethodPut, "/mem/big", "", io.TeeReader(newGenReader(21, size), h), size)
	c.sign(r, "UNSIGNED-PAYLOAD", time.Now())
	resp, err := c.send(r)
	if err != nil {
		t.Fatalf("PUT 1 GiB: %v", err)
	}
	want := hex.EncodeToString(h.Sum(nil))
	if resp.Status != 200 || etagOf(resp.Header) != want {
		t.Fatalf("PUT 1 GiB: %s, ETag %s, want 200 and %s", resp, etagOf(resp.Header), want)
	}
	putDone := time.Since(start)

	r = c.request(ctx, http.MethodGet, "/mem/big", "", nil, 0)
	c.sign(r, emptySHA256, time.Now())
	gresp, err := c.hc.Do(r)
	if err != nil {
		t.Fatalf("GET 1 GiB: %v", err)
	}
	h.Reset()
	n, err := io.Copy(h, gresp.Body)
	gresp.Body.Close()
	if err != nil || gresp.StatusCode != 200 || n != size {
		t.Fatalf("GET 1 GiB: status %d, %d bytes, %v", gresp.StatusCode, n, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		t.Errorf("GET 1 GiB: MD5 %s, want %s", got, want)
	}
	peak := vmHWM(t, srv.PID())
	t.Logf("PUT %v, GET %v; server VmHWM %d MiB (at start %d MiB)", putDone, time.Since(start)-putDone, peak>>20, before>>20)
	if peak > maxRSS {
		t.Errorf("server peak RSS %d MiB while moving 1 GiB, want under %d MiB", peak>>20, maxRSS>>20)
	}
}
