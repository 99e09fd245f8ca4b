package cluster

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/postern/postern/internal/pgtest"
	"github.com/postern/postern/internal/s3test"
	"github.com/postern/postern/meta"
	"github.com/postern/postern/meta/postgres"
)

// The figures docs/scaling.md's capacity plan starts from, measured here:
// PostgreSQL bytes per object (rows and indexes of a realistic object,
// written by the real store), and the CPU a node and
// the database spend per 4 KiB GET and PUT. Nothing is asserted but that
// the measurement ran; the figures are logged.
func TestCapacityFigures(t *testing.T) {
	t.Run("bytes per object", func(t *testing.T) {
		// 20,000 objects keep the suite quick; docs/scaling.md's figure
		// is from POSTERN_CAPACITY_OBJECTS=100000 (the per-object size
		// hardly moves between the two).
		n := 20_000
		if v, err := strconv.Atoi(os.Getenv("POSTERN_CAPACITY_OBJECTS")); err == nil && v > 0 {
			n = v
		}
		dsn := pgtest.DSN(t)
		ctx := s3test.Ctx(t)
		st, err := postgres.OpenStore(ctx, dsn, postgres.Options{MaxConns: 8})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		if err := st.CreateBucket(ctx, meta.Bucket{Name: "photos", Owner: "000000000000", Region: "us-east-1", CreatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
		// A typical object: a 45-byte key, a blob of its own, a content
		// type, one checksum (SDKs send CRC32/CRC64NVME by default).
		var wg sync.WaitGroup
		const writers = 8
		errs := make(chan error, writers)
		for w := 0; w < writers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; i < n; i += writers {
					sum := md5.Sum([]byte(strconv.Itoa(i)))
					id := hex.EncodeToString(sum[:])
					o := meta.Object{
						Bucket: "photos", Key: fmt.Sprintf("users/%08d/2025/06/IMG_%06d.jpg", i/37, i),
						Size: 2_400_000 + int64(i%1000), ETag: id, LastModified: time.Now(),
						ContentType: "image/jpeg", Checksums: map[string]string{"CRC64NVME": "AAECAwQFBgc="},
						ChecksumType: "FULL_OBJECT",
						Segments:     []meta.Segment{{BlobID: id, Size: 2_400_000 + int64(i%1000)}},
					}
					if _, err := st.PutObject(ctx, o, meta.Condition{}); err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(context.Background())
		for _, table := range []string{"objects", "blob_refs"} {
			if _, err := conn.Exec(ctx, `VACUUM ANALYZE `+table); err != nil {
				t.Fatal(err)
			}
		}
		var total int64
		for _, table := range []string{"objects", "blob_refs"} {
			var heap, all int64
			if err := conn.QueryRow(ctx, `SELECT pg_relation_size($1), pg_total_relation_size($1)`, table).Scan(&heap, &all); err != nil {
				t.Fatal(err)
			}
			total += all
			t.Logf("%s: %d bytes/object (table %d, indexes and TOAST %d) over %d objects", table, all/int64(n), heap/int64(n), (all-heap)/int64(n), n)
		}
		t.Logf("PostgreSQL bytes per object (objects + blob_refs, tables and indexes): %d", total/int64(n))
	})

	t.Run("CPU per request", func(t *testing.T) {
		c := startCluster(t, backends[0])
		a := c.s3[0]
		bucket := s3test.NewBucket(t, a, "cpu")
		body := s3test.RandBytes(50, 4<<10)
		conn, err := pgx.Connect(s3test.Ctx(t), c.dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(context.Background())
		const reqs, clients = 3000, 8
		for _, op := range []string{"PUT", "GET"} {
			// Warm up: the pool's connections exist, the caches are filled.
			run(t, clients, 200, func(i int) error {
				_, err := s3test.PutObject(s3test.Ctx(t), a, bucket, fmt.Sprintf("k%d", i%500), body)
				return err
			})
			node0, db0 := procCPU(c.nodes[0].PID()), backendsCPU(t, conn)
			start := time.Now()
			run(t, clients, reqs, func(i int) error {
				key := fmt.Sprintf("k%d", i%500)
				if op == "PUT" {
					_, err := s3test.PutObject(s3test.Ctx(t), a, bucket, key, body)
					return err
				}
				_, err := s3test.GetObject(s3test.Ctx(t), a, bucket, key)
				return err
			})
			wall := time.Since(start)
			node, db := procCPU(c.nodes[0].PID())-node0, backendsCPU(t, conn)-db0
			t.Logf("4 KiB %s: node %.0f µs CPU/request, PostgreSQL %.0f µs CPU/request (%d requests, %d clients, %.0f requests/s on this shared machine with the client in process)",
				op, float64(node.Microseconds())/reqs, float64(db.Microseconds())/reqs, reqs, clients, reqs/wall.Seconds())
		}
	})
}

// run calls f(0..n-1) from clients goroutines and fails on any error.
func run(t *testing.T, clients, n int, f func(i int) error) {
	t.Helper()
	var wg sync.WaitGroup
	var next int
	var mu sync.Mutex
	errs := make(chan error, clients)
	for g := 0; g < clients; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= n {
					return
				}
				if err := f(i); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// procCPU is the user+system CPU time process pid has used (0 when it is
// gone). Linux's USER_HZ is 100.
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond
}

// backendsCPU is the CPU time of the PostgreSQL backends serving the
// test's database (the nodes' pooled connections), but conn's own.
func backendsCPU(t *testing.T, conn *pgx.Conn) time.Duration {
	t.Helper()
	rows, err := conn.Query(s3test.Ctx(t), `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`)
	if err != nil {
		t.Fatal(err)
	}
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		t.Fatal(err)
	}
	var d time.Duration
	for _, p := range pids {
		d += procCPU(int(p))
	}
	return d
}
