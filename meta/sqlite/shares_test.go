package sqlite

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/postern/postern/share"
	"github.com/postern/postern/share/sharetest"
)

// The share.Store conformance suite, with group commit (the default) and
// without (claims racing in one batch must still be exact), and with the
// share cache the server runs with.
func TestShareConformance(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  func() config
	}{
		{"default", defaultConfig},
		{"cached", func() config { c := defaultConfig(); WithShareCache(1000)(&c); return c }},
		{"no-batching", func() config { c := defaultConfig(); c.maxBatch = 1; return c }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sharetest.Run(t, func(t *testing.T) share.Store {
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
