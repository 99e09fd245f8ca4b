package cors

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/postern/postern/proto/s3err"
)

// FuzzParse checks that Parse never panics, that it returns either a
// configuration or an *s3err.Error, that what it accepts satisfies the limits, and
// that an accepted configuration survives Marshal and Parse unchanged and
// can be evaluated. The seed corpus is in testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	f.Add([]byte(doc(minimalRule)))
	f.Add([]byte(doc(`<AllowedOrigin>*.*</AllowedOrigin><AllowedMethod>GET</AllowedMethod>`)))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse(data)
		if err != nil {
			var e *s3err.Error
			if !errors.As(err, &e) || cfg != nil || e.Status != 400 || e.Code == "" {
				t.Fatalf("Parse error %T %v with config %v", err, err, cfg)
			}
			return
		}
		if n := len(cfg.Rules); n == 0 || n > MaxRules {
			t.Fatalf("accepted %d rules", n)
		}
		for _, r := range cfg.Rules {
			if len(r.AllowedOrigins) == 0 || len(r.AllowedMethods) == 0 {
				t.Fatalf("accepted rule without origin or method: %#v", r)
			}
			for _, m := range r.AllowedMethods {
				if !allowedMethod(m) {
					t.Fatalf("accepted method %q", m)
				}
			}
			for _, o := range r.AllowedOrigins {
				if strings.Count(o, "*") > 1 {
					t.Fatalf("accepted origin %q", o)
				}
			}
			if r.MaxAgeSeconds != nil && *r.MaxAgeSeconds < 0 {
				t.Fatalf("accepted MaxAgeSeconds %d", *r.MaxAgeSeconds)
			}
		}
		out := cfg.Marshal()
		again, err := parse(out) // out may exceed the size limit; see parse

		if err != nil {
			t.Fatalf("Parse(Marshal) failed: %v\n%s", err, out)
		}
		if !reflect.DeepEqual(cfg, again) {
			t.Fatalf("round trip changed the config:\n%#v\n%#v", cfg, again)
		}
		// Evaluation must not panic on anything Parse accepts.
		r := cfg.Rules[0]
		cfg.Preflight(r.AllowedOrigins[0], r.AllowedMethods[0], r.AllowedHeaders)
		cfg.Actual(r.AllowedOrigins[0], r.AllowedMethods[0])
	})
}
