package shares

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"sync"
	"testing"

	"github.com/postern/postern/internal/pgtest"
	"github.com/postern/postern/internal/s3test"
	"github.com/postern/postern/internal/testserver"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestTwoNodesOnPostgres: two postern processes on one PostgreSQL
// database: a share made on A works on B, a revocation on A holds on B's
// next request, and 32 downloads of a 5-use link split over both nodes
// succeed exactly 5 times.
func TestTwoNodesOnPostgres(t *testing.T) {
	dsn := pgtest.DSN(t)
	var k [32]byte
	rand.Read(k[:])
	key := hex.EncodeToString(k[:])
	opts := testserver.Options{Args: []string{"--meta", dsn, "--server-key", key}}
	a := testserver.Start(t, opts)
	opts.Host = "127.0.0.2"
	b := testserver.Start(t, opts)

	c := s3Client(a, rootCreds(a))
	bucket := s3test.NewBucket(t, c, "share")
	data := s3test.RandBytes(3, 5000)
	s3test.Put(t, c, bucket, "k", data)

	// Made on A, for B's endpoint, used on B; revoked on A.
	sh := create(t, a, rootCreds(a), map[string]any{"bucket": bucket, "key": "k", "endpoint": b.URL})
	if r := do(t, plain(b), "GET", sh.URL, nil, nil); r.Status != 200 || string(r.Body) != string(data) {
		t.Fatalf("GET on B: %d", r.Status)
	}
	revoke(t, a, rootCreds(a), sh.ID)
	wantS3Error(t, "GET on B after revoke on A", do(t, plain(b), "GET", sh.URL, nil, nil), 403, "AccessDenied", msgRevoked)

	// Exact counting across nodes.
	lim := create(t, a, rootCreds(a), map[string]any{"bucket": bucket, "key": "k", "maxUses": 5})
	// The URL is signed for A's host: B's half is sent to B's address
	// with A's Host header, as through a load balancer.
	tr := a.HTTPClient().Transport.(*http.Transport).Clone()
	tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, b.Addr)
	}
	viaB := &http.Client{Transport: tr}
	var mu sync.Mutex
	counts := map[string]int{}
	var wg sync.WaitGroup
	for i := 0; i < 32; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			hc := plain(a)
			if i%2 == 1 {
				hc = viaB
			}
			r := do(t, hc, "GET", lim.URL, nil, nil)
			key := fmt.Sprint(r.Status)
			if r.Status == 403 {
				e, _ := s3test.ParseError(r.Body)
				key += " " + e.Message
			}
			mu.Lock()
			counts[key]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if counts["200"] != 5 || counts["403 "+msgUsedUp] != 27 || len(counts) != 2 {
		t.Fatalf("32 downloads over two nodes of a 5-use link: %v", counts)
	}
	if got := getShare(t, b, rootCreds(b), lim.ID); got.Uses != 5 || got.State != "used up" {
		t.Errorf("on B: uses %d state %q", got.Uses, got.State)
	}
}
