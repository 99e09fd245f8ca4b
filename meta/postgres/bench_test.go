package postgres

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/postern/postern/internal/pgtest"
	"github.com/postern/postern/meta"
	"github.com/postern/postern/meta/sqlite"
)

// The same workloads on PostgreSQL (a pgtest database) and on meta/sqlite
// (the embedded default, with the caches the server turns on), for
// comparison:
//
//	go test ./meta/postgres -run '^$' -bench . -benchtime 2000x
//
// The throw-away cluster runs with fsync off; the SQLite store fsyncs.
// Compare ratios on one machine, not absolute figures.
func benchStores(b *testing.B) map[string]func(b *testing.B) meta.Store {
	return map[string]func(b *testing.B) meta.Store{
		"postgres": func(b *testing.B) meta.Store { return newStore(b, pgtest.DSN(b)) },
		"sqlite": func(b *testing.B) meta.Store {
			s, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "meta.db"), nil,
				sqlite.WithBucketCache(time.Minute), sqlite.WithObjectCache(10000, 64<<20))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { s.Close() })
			return s
		},
	}
}

func benchEach(b *testing.B, fn func(b *testing.B, s meta.Store)) {
	for _, name := range []string{"sqlite", "postgres"} {
		b.Run(name, func(b *testing.B) {
			s := benchStores(b)[name](b)
			if err := s.CreateBucket(context.Background(), meta.Bucket{Name: "b", CreatedAt: time.Now()}); err != nil {
				b.Fatal(err)
			}
			fn(b, s)
		})
	}
}

func inlineObject(key string, data []byte) meta.Object {
	return meta.Object{Bucket: "b", Key: key, Size: int64(len(data)), ETag: "d41d8cd98f00b204e9800998ecf8427e",
		LastModified: time.Now(), ContentType: "application/octet-stream", Inline: data}
}

// BenchmarkPutInline: 4 KiB inline objects, new keys, 8 writers.
func BenchmarkPutInline(b *testing.B) {
	data := make([]byte, 4096)
	benchEach(b, func(b *testing.B, s meta.Store) {
		var n atomic.Int64
		b.SetParallelism(8)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := s.PutObject(context.Background(), inlineObject(fmt.Sprintf("k%08d", n.Add(1)), data), meta.Condition{}); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// BenchmarkGetInline: reads of 1,000 4 KiB inline objects, 8 readers.
func BenchmarkGetInline(b *testing.B) {
	data := make([]byte, 4096)
	benchEach(b, func(b *testing.B, s meta.Store) {
		for i := range 1000 {
			if _, err := s.PutObject(context.Background(), inlineObject(fmt.Sprintf("k%04d", i), data), meta.Condition{}); err != nil {
				b.Fatal(err)
			}
		}
		var n atomic.Int64
		b.SetParallelism(8)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := s.GetObject(context.Background(), "b", fmt.Sprintf("k%04d", n.Add(1)%1000)); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// BenchmarkListObjects: pages of 1,000 over 10,000 keys, flat and with a
// delimiter rolling 200 keys into each common prefix.
func BenchmarkListObjects(b *testing.B) {
	for _, delim := range []string{"", "/"} {
		b.Run(fmt.Sprintf("delim=%q", delim), func(b *testing.B) {
			benchEach(b, func(b *testing.B, s meta.Store) {
				ctx := context.Background()
				for i := range 10000 {
					if _, err := s.PutObject(ctx, inlineObject(fmt.Sprintf("d%02d/%05d", i/200, i), nil), meta.Condition{}); err != nil {
						b.Fatal(err)
					}
				}
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					res, err := s.ListObjects(ctx, "b", meta.ListObjectsOptions{Delimiter: delim, MaxKeys: 1000,
						After: fmt.Sprintf("d%02d/", i%5)})
					if err != nil || len(res.Objects)+len(res.CommonPrefixes) == 0 {
						b.Fatal(res, err)
					}
				}
			})
		})
	}
}
