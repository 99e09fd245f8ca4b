package cluster

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/postern/postern/internal/pgtest"
	"github.com/postern/postern/internal/s3test"
	"github.com/postern/postern/internal/testserver"
)

// killBody is the body of upload n of worker w: its size and bytes follow
// from its key, so any object found later can be checked.
func killBody(w, n int) []byte {
	return s3test.RandBytes(uint64(w<<20|n), 64<<10+(w*7919+n*104729)%(1<<20))
}

// kill -9 node A while uploads stream to it: every upload A acknowledged
// is readable, byte-exact, from B and C; whatever B and C list is a
// complete upload (never a partial one); A serves again after a restart.
func TestKillNodeDuringUploads(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		bucket := s3test.NewBucket(t, c.s3[0], "kill")
		const workers = 4
		var (
			mu     sync.Mutex
			acked  = map[string][]byte{}
			killed = make(chan struct{})
			enough = make(chan struct{})
			once   sync.Once
			wg     sync.WaitGroup
		)
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for n := 0; ; n++ {
					key := fmt.Sprintf("w%d/%d", w, n)
					body := killBody(w, n)
					_, err := s3test.PutObject(s3test.Ctx(t), c.s3[0], bucket, key, body)
					if err != nil {
						select {
						case <-killed: // expected: A is gone
							return
						default:
							t.Errorf("PUT %s on A before the kill: %v", key, err)
							once.Do(func() { close(enough) })
							return
						}
					}
					mu.Lock()
					acked[key] = body
					if len(acked) >= 24 {
						once.Do(func() { close(enough) })
					}
					mu.Unlock()
				}
			}()
		}
		<-enough // uploads are in flight on every worker
		close(killed)
		c.nodes[0].Kill()
		wg.Wait()
		if t.Failed() {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		t.Logf("%d uploads acknowledged before A was killed", len(acked))

		for i := 1; i < 3; i++ {
			listed := listKeys(t, c.s3[i], bucket)
			for key, body := range acked {
				if _, ok := listed[key]; !ok {
					t.Fatalf("node %s does not list %s, acknowledged by A", name(i), key)
				}
				got, etag := get(t, c.s3[i], bucket, key)
				sameBytes(t, "acknowledged "+key+" read on "+name(i), got, body)
				if etag != s3test.Quoted(s3test.MD5Hex(body)) {
					t.Fatalf("node %s: ETag %s of %s, want %s", name(i), etag, key, s3test.MD5Hex(body))
				}
			}
			// Anything listed beyond the acknowledged uploads (one whose
			// commit made it but whose response did not) is whole.
			for key, size := range listed {
				if _, ok := acked[key]; ok {
					continue
				}
				var w, n int
				if _, err := fmt.Sscanf(key, "w%d/%d", &w, &n); err != nil {
					t.Fatalf("node %s lists unexpected key %s", name(i), key)
				}
				want := killBody(w, n)
				if size != int64(len(want)) {
					t.Fatalf("node %s lists %s (not acknowledged) with %d bytes of %d", name(i), key, size, len(want))
				}
				got, _ := get(t, c.s3[i], bucket, key)
				sameBytes(t, "unacknowledged but listed "+key+" on "+name(i), got, want)
			}
		}

		// A restarted on its address serves every acknowledged object.
		c.nodes[0].Restart()
		a := s3test.Client(c.nodes[0], s3test.Options{})
		for key, body := range acked {
			got, _ := get(t, a, bucket, key)
			sameBytes(t, key+" on A after its restart", got, body)
		}
	})
}

// PostgreSQL down for 10 s: every node answers S3 requests that need the
// database with a clean 503 ServiceUnavailable (S3 XML, promptly, never a
// 500 or a hang) and /health/ready with 503; once the database is back,
// the nodes recover without a restart (/health/ready 200, PUT and GET
// work on every node).
func TestDatabaseDown(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { databaseDown(t, b) })
	}
}

func databaseDown(t *testing.T, b backend) {
	// A PostgreSQL of this test's own: the shared one stays up.
	pg := pgtest.NewCluster(t)
	c := startClusterOn(t, b, pg.DSN(t))
	bucket := s3test.NewBucket(t, c.s3[0], "dbdown")
	before := s3test.RandBytes(30, 100<<10)
	s3test.Put(t, c.s3[0], bucket, "before.bin", before)

	pg.Stop(t)
	// /health/ready serves one check for up to 250 ms, so a node's last
	// "ready" may still be served just after the stop: wait for each node
	// to notice (the event), then require 503 on every poll.
	for i, node := range c.nodes {
		waitFor(t, "/health/ready 503 on "+name(i), 60*time.Second, func() bool { return ready(node) == http.StatusServiceUnavailable })
	}
	down := time.Now()
	const outage = 10 * time.Second
	requests := 0
	// Requests round-robin over the nodes for the outage's length:
	// each must end in a clean 503 (a GET may also be served from a
	// node's cache, whole).
	for n := 0; time.Since(down) < outage || n < 3; n++ {
		node := c.nodes[n%3]
		switch n % 3 {
		case 0:
			resp, body := s3test.DoSigned(t, node, http.MethodPut, fmt.Sprintf("/%s/during-%d", bucket, n), []byte("x"), nil)
			wantUnavailable(t, fmt.Sprintf("PUT on %s with the database down", name(n%3)), resp, body)
		case 1:
			resp, body := s3test.DoSigned(t, node, http.MethodGet, "/"+bucket+"/before.bin", nil, nil)
			if resp.StatusCode == 200 {
				sameBytes(t, "GET served from a cache with the database down", body, before)
			} else {
				wantUnavailable(t, fmt.Sprintf("GET on %s with the database down", name(n%3)), resp, body)
			}
		case 2:
			resp, body := s3test.DoSigned(t, node, http.MethodGet, "/"+bucket+"?list-type=2", nil, nil)
			wantUnavailable(t, fmt.Sprintf("ListObjectsV2 on %s with the database down", name(n%3)), resp, body)
		}
		if code := ready(node); code != http.StatusServiceUnavailable {
			t.Fatalf("/health/ready on %s with the database down: %d, want 503", name(n%3), code)
		}
		requests++
	}
	t.Logf("%d requests answered 503 during the %v outage", requests, outage)

	pg.Start(t)
	for i, node := range c.nodes {
		d := waitFor(t, "/health/ready 200 on "+name(i), 60*time.Second, func() bool { return ready(node) == 200 })
		t.Logf("node %s ready %v after the database came back", name(i), d.Round(time.Millisecond))
	}
	for i := range c.s3 {
		key := fmt.Sprintf("after-%d", i)
		v := s3test.RandBytes(uint64(40+i), 80<<10)
		s3test.Put(t, c.s3[i], bucket, key, v)
		got, _ := get(t, c.s3[(i+1)%3], bucket, key)
		sameBytes(t, "written on "+name(i)+" after the outage", got, v)
	}
}

// wantUnavailable fails unless resp is 503 ServiceUnavailable with an S3
// XML error body.
func wantUnavailable(t *testing.T, what string, resp *http.Response, body []byte) {
	t.Helper()
	e, ok := parseS3Error(body)
	if resp.StatusCode != http.StatusServiceUnavailable || !ok || e.Code != "ServiceUnavailable" ||
		!strings.Contains(resp.Header.Get("Content-Type"), "xml") || e.Message == "" {
		t.Fatalf("%s: %d %s %s, want 503 ServiceUnavailable (S3 XML with a message)", what, resp.StatusCode, resp.Header.Get("Content-Type"), s3test.ShortBody(body, 400))
	}
}

// ready returns the status of node's /health/ready (0 when it does not
// answer within 10 s).
func ready(node *testserver.Server) int {
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(node.URL + "/health/ready")
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}
