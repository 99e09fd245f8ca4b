package sqlite

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/postern/postern/iam"
	"github.com/postern/postern/iam/iamtest"
	"github.com/postern/postern/meta"
	"github.com/postern/postern/meta/metatest"
)

// The conformance suites, against the configurations the server runs
// (caches on) and the others: no caches, no group commit.
func TestMetaConformance(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  func() config
	}{
		{"default", defaultConfig},
		{"cached", func() config {
			c := defaultConfig()
			WithBucketCache(time.Minute)(&c)
			WithObjectCache(1000, 1<<20)(&c)
			return c
		}},
		{"no-batching", func() config { c := defaultConfig(); c.maxBatch = 1; return c }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			metatest.Run(t, func(t *testing.T) meta.Store {
				s, err := open(context.Background(), filepath.Join(t.TempDir(), "meta.db"), nil, tc.cfg())
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { s.Close() })
				return s
			})
		})
	}
}

func TestIAMConformance(t *testing.T) {
	iamtest.Run(t, func(t *testing.T) iam.Store {
		s, _ := newTestStore(t)
		return s
	})
}
