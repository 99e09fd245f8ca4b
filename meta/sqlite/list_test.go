package sqlite

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"testing"

	"github.com/postern/postern/meta"
)

func TestUpperBound(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []byte
	}{
		{"", nil},
		{"a", []byte("b")},
		{"a/", []byte("a0")},
		{"a\xff", []byte("b")},
		{"\xff\xff", nil},
		{"a\xff\xff", []byte("b")},
		{"\U0010FFFF", []byte("\xf4\x8f\xbf\xc0")},
		{"x\x7f", []byte("x\x80")},
	} {
		if got := upperBound(tc.in); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("upperBound(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestListSkipsRolledUpKeys checks with a counting fetch that the engine
// seeks past a common prefix instead of scanning the keys under it.
func TestListSkipsRolledUpKeys(t *testing.T) {
	var keys []string
	for i := 0; i < 10000; i++ {
		keys = append(keys, fmt.Sprintf("big/%05d", i))
	}
	keys = append(keys, "a", "c/1", "d")
	slices.Sort(keys)
	fetched, queries := 0, 0
	l := listSpec[string]{
		delim: "/",
		max:   1000,
		fetch: func(c cursor, upper []byte, limit int, each func(string) bool) (int, error) {
			queries++
			n := 0
			for _, k := range keys {
				if c.key != nil && (k < string(c.key) || (!c.incl && k == string(c.key))) {
					continue
				}
				if upper != nil && k >= string(upper) || n == limit {
					break
				}
				n++
				fetched++
				if !each(k) {
					break
				}
			}
			return n, nil
		},
		key:  func(k string) string { return k },
		next: func(k string) cursor { return cursor{key: []byte(k)} },
	}
	out, trunc, err := l.list()
	if err != nil || trunc || len(out) != 4 {
		t.Fatalf("list = %v, %v, %v", out, trunc, err)
	}
	if fetched > 20 || queries > 5 {
		t.Errorf("fetched %d rows in %d queries; the rolled-up keys were scanned", fetched, queries)
	}
}

func BenchmarkListObjectsDelimited(b *testing.B) {
	s, _ := newTestStore(b)
	ctx := context.Background()
	mustBucket(b, s, "b")
	for d := 0; d < 20; d++ {
		for i := 0; i < 500; i++ {
			s.PutObject(ctx, obj("b", fmt.Sprintf("dir%02d/%04d", d, i)), meta.Condition{})
		}
	}
	b.ResetTimer()
	for b.Loop() {
		res, err := s.ListObjects(ctx, "b", meta.ListObjectsOptions{Delimiter: "/", MaxKeys: 1000})
		if err != nil || len(res.CommonPrefixes) != 20 {
			b.Fatal(res, err)
		}
	}
}
