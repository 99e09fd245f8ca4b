package metatest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/postern/postern/meta"
)

// refEntry is an entry of the reference listing.
type refEntry struct {
	s    string
	isCP bool
}

// refList is the brute-force reference: all entries (keys and common
// prefixes) of the listing, sorted, restricted to those > after.
func refList(keys []string, prefix, delim, after string) []refEntry {
	keys = slices.Clone(keys)
	slices.Sort(keys)
	keys = slices.Compact(keys)
	var out []refEntry
	seen := map[string]bool{}
	for _, k := range keys {
		if !strings.HasPrefix(k, prefix) {
			continue
		}
		e := refEntry{s: k}
		if delim != "" {
			if i := strings.Index(k[len(prefix):], delim); i >= 0 {
				e = refEntry{s: k[:len(prefix)+i+len(delim)], isCP: true}
			}
		}
		if e.s <= after || seen[e.s] {
			continue
		}
		seen[e.s] = true
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b refEntry) int { return strings.Compare(a.s, b.s) })
	return out
}

func pageEntries(res meta.ListObjectsResult) []refEntry {
	var out []refEntry
	for _, o := range res.Objects {
		out = append(out, refEntry{s: o.Key})
	}
	for _, p := range res.CommonPrefixes {
		out = append(out, refEntry{s: p, isCP: true})
	}
	slices.SortFunc(out, func(a, b refEntry) int { return strings.Compare(a.s, b.s) })
	return out
}

func randString(r *rand.Rand, alphabet []string, maxLen int) string {
	n := r.IntN(maxLen + 1)
	var sb strings.Builder
	for range n {
		sb.WriteString(alphabet[r.IntN(len(alphabet))])
	}
	return sb.String()
}

// TestListObjectsProperty pages through random listings and compares every
// page with the brute-force reference.
func testListObjectsProperty(t *testing.T, open Opener) {
	s := open(t)
	ctx := context.Background()
	alphabet := []string{"a", "b", "/", "é", "\U0010FFFF", "~", "z"}
	delims := []string{"", "/", "a", "é", "//", "b/"}
	seed := uint64(1)
	r := rand.New(rand.NewPCG(seed, 42))
	for round := 0; round < 6; round++ {
		bucket := fmt.Sprintf("b%d", round)
		mustBucket(t, s, bucket)
		var keys []string
		for range 20 + r.IntN(150) {
			k := randString(r, alphabet, 6)
			if k == "" {
				continue
			}
			keys = append(keys, k)
			if _, err := s.PutObject(ctx, obj(bucket, k), meta.Condition{}); err != nil {
				t.Fatal(err)
			}
		}
		for q := 0; q < 80; q++ {
			prefix := randString(r, alphabet, 2)
			if r.IntN(3) == 0 && len(keys) > 0 { // a prefix of a real key
				k := keys[r.IntN(len(keys))]
				prefix = k[:r.IntN(len(k)+1)]
			}
			delim := delims[r.IntN(len(delims))]
			after := ""
			if r.IntN(3) == 0 {
				after = randString(r, alphabet, 3)
			}
			pageSize := 1 + r.IntN(7)
			want := refList(keys, prefix, delim, after)
			var got []refEntry
			cur := after
			for page := 0; ; page++ {
				if page > len(want)+2 {
					t.Fatalf("too many pages")
				}
				res, err := s.ListObjects(ctx, bucket, meta.ListObjectsOptions{Prefix: prefix, Delimiter: delim, After: cur, MaxKeys: pageSize})
				if err != nil {
					t.Fatal(err)
				}
				pe := pageEntries(res)
				// Each page is exactly the next slice of the reference.
				refPage := refList(keys, prefix, delim, cur)
				wantTrunc := len(refPage) > pageSize
				if len(refPage) > pageSize {
					refPage = refPage[:pageSize]
				}
				desc := fmt.Sprintf("round %d prefix=%q delim=%q after=%q max=%d", round, prefix, delim, cur, pageSize)
				if !reflect.DeepEqual(pe, refPage) && !(len(pe) == 0 && len(refPage) == 0) {
					t.Fatalf("%s:\n got %+v\nwant %+v", desc, pe, refPage)
				}
				if res.IsTruncated != wantTrunc {
					t.Fatalf("%s: IsTruncated = %v", desc, res.IsTruncated)
				}
				got = append(got, pe...)
				if !res.IsTruncated {
					if res.NextAfter != "" {
						t.Fatalf("%s: NextAfter %q on last page", desc, res.NextAfter)
					}
					break
				}
				if res.NextAfter != pe[len(pe)-1].s {
					t.Fatalf("%s: NextAfter = %q, want %q", desc, res.NextAfter, pe[len(pe)-1].s)
				}
				cur = res.NextAfter
			}
			if !reflect.DeepEqual(got, want) && !(len(got) == 0 && len(want) == 0) {
				t.Fatalf("round %d prefix=%q delim=%q after=%q: paged listing\n got %+v\nwant %+v", round, prefix, delim, after, got, want)
			}
		}
	}
}

func testListObjectsCases(t *testing.T, open Opener) {
	s := open(t)
	ctx := context.Background()
	mustBucket(t, s, "b")
	keys := []string{"a", "a/1", "a/2", "a/x/1", "b", "b/1", "c/1", "c/2", "d", "é/1", "é/2", "\U0010FFFF/1", "\U0010FFFFz"}
	for _, k := range keys {
		if _, err := s.PutObject(ctx, obj("b", k, "blob-"+k), meta.Condition{}); err != nil {
			t.Fatal(err)
		}
	}
	type result struct {
		objs, cps []string
		trunc     bool
		next      string
	}
	for _, tc := range []struct {
		opt  meta.ListObjectsOptions
		want result
	}{
		{meta.ListObjectsOptions{MaxKeys: 0}, result{}},
		{meta.ListObjectsOptions{MaxKeys: 100, Delimiter: "/"}, result{objs: []string{"a", "b", "d", "\U0010FFFFz"}, cps: []string{"a/", "b/", "c/", "é/", "\U0010FFFF/"}}},
		// Page ends on a common prefix: the next page must not repeat it.
		{meta.ListObjectsOptions{MaxKeys: 2, Delimiter: "/"}, result{objs: []string{"a"}, cps: []string{"a/"}, trunc: true, next: "a/"}},
		{meta.ListObjectsOptions{MaxKeys: 2, Delimiter: "/", After: "a/"}, result{objs: []string{"b"}, cps: []string{"b/"}, trunc: true, next: "b/"}},
		{meta.ListObjectsOptions{MaxKeys: 1, Delimiter: "/", After: "b/"}, result{cps: []string{"c/"}, trunc: true, next: "c/"}},
		// Exactly full last page is not truncated.
		{meta.ListObjectsOptions{MaxKeys: 3, Delimiter: "/", After: "d"}, result{objs: []string{"\U0010FFFFz"}, cps: []string{"é/", "\U0010FFFF/"}}},
		{meta.ListObjectsOptions{MaxKeys: 2, Delimiter: "/", After: "d"}, result{cps: []string{"é/", "\U0010FFFF/"}, trunc: true, next: "\U0010FFFF/"}},
		{meta.ListObjectsOptions{MaxKeys: 5, Prefix: "a/", Delimiter: "/"}, result{objs: []string{"a/1", "a/2"}, cps: []string{"a/x/"}}},
		{meta.ListObjectsOptions{MaxKeys: 5, Prefix: "a/"}, result{objs: []string{"a/1", "a/2", "a/x/1"}}},
		{meta.ListObjectsOptions{MaxKeys: 5, Prefix: "\U0010FFFF"}, result{objs: []string{"\U0010FFFF/1", "\U0010FFFFz"}}},
		{meta.ListObjectsOptions{MaxKeys: 5, Prefix: "zz"}, result{}},
		{meta.ListObjectsOptions{MaxKeys: 5, Prefix: "\xff"}, result{}},
		{meta.ListObjectsOptions{MaxKeys: 5, Prefix: "d\xff\xff"}, result{}},
		{meta.ListObjectsOptions{MaxKeys: 5, After: "\xff"}, result{}},
		// After inside a rolled-up prefix: that prefix is not > After, skip it.
		{meta.ListObjectsOptions{MaxKeys: 5, Delimiter: "/", After: "a/1"}, result{objs: []string{"b", "d"}, cps: []string{"b/", "c/", "é/"}, trunc: true, next: "é/"}},
		{meta.ListObjectsOptions{MaxKeys: 2, After: "c/1"}, result{objs: []string{"c/2", "d"}, trunc: true, next: "d"}},
		{meta.ListObjectsOptions{MaxKeys: 2, After: "\U0010FFFFz"}, result{}},
	} {
		res, err := s.ListObjects(ctx, "b", tc.opt)
		if err != nil {
			t.Fatal(err)
		}
		var got result
		for _, o := range res.Objects {
			got.objs = append(got.objs, o.Key)
			if o.ETag != "etag-"+o.Key || o.Size != 10 {
				t.Errorf("listed object %+v", o)
			}
		}
		got.cps, got.trunc, got.next = res.CommonPrefixes, res.IsTruncated, res.NextAfter
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ListObjects(%+v) = %+v, want %+v", tc.opt, got, tc.want)
		}
	}
	if _, err := s.ListObjects(ctx, "nob", meta.ListObjectsOptions{MaxKeys: 1}); err == nil {
		t.Error("listing a missing bucket succeeded")
	}
}

// TestListVersions checks that each object is listed as its key's one null,
// latest version, and that the markers resume after the key they name.
func testListVersions(t *testing.T, open Opener) {
	s := open(t)
	ctx := context.Background()
	mustBucket(t, s, "b")
	for _, k := range []string{"a", "a/1", "a/2", "b", "c"} {
		if _, err := s.PutObject(ctx, obj("b", k, "blob-"+k), meta.Condition{}); err != nil {
			t.Fatal(err)
		}
	}
	type result struct {
		vers, cps         []string
		trunc             bool
		nextKey, nextVers string
	}
	for _, tc := range []struct {
		opt  meta.ListVersionsOptions
		want result
	}{
		{meta.ListVersionsOptions{MaxKeys: 0}, result{}},
		{meta.ListVersionsOptions{MaxKeys: 10}, result{vers: []string{"a", "a/1", "a/2", "b", "c"}}},
		{meta.ListVersionsOptions{MaxKeys: 2}, result{vers: []string{"a", "a/1"}, trunc: true, nextKey: "a/1", nextVers: "null"}},
		{meta.ListVersionsOptions{MaxKeys: 2, KeyMarker: "a/1", VersionIDMarker: "null"}, result{vers: []string{"a/2", "b"}, trunc: true, nextKey: "b", nextVers: "null"}},
		{meta.ListVersionsOptions{MaxKeys: 2, KeyMarker: "a/1"}, result{vers: []string{"a/2", "b"}, trunc: true, nextKey: "b", nextVers: "null"}},
		// A marker of a key deleted since still resumes after it.
		{meta.ListVersionsOptions{MaxKeys: 10, KeyMarker: "a/15", VersionIDMarker: "null"}, result{vers: []string{"a/2", "b", "c"}}},
		// A page ending on a common prefix has no version marker.
		{meta.ListVersionsOptions{MaxKeys: 2, Delimiter: "/"}, result{vers: []string{"a"}, cps: []string{"a/"}, trunc: true, nextKey: "a/"}},
		{meta.ListVersionsOptions{MaxKeys: 2, Delimiter: "/", KeyMarker: "a/"}, result{vers: []string{"b", "c"}}},
		{meta.ListVersionsOptions{MaxKeys: 10, Prefix: "a/"}, result{vers: []string{"a/1", "a/2"}}},
	} {
		res, err := s.ListVersions(ctx, "b", tc.opt)
		if err != nil {
			t.Fatal(err)
		}
		var got result
		for _, v := range res.Versions {
			got.vers = append(got.vers, v.Key)
			if v.VersionID != meta.NullVersionID || !v.IsLatest || v.DeleteMarker || v.ETag != "etag-"+v.Key || v.Size != 10 {
				t.Errorf("listed version %+v", v)
			}
		}
		got.cps, got.trunc, got.nextKey, got.nextVers = res.CommonPrefixes, res.IsTruncated, res.NextKeyMarker, res.NextVersionIDMarker
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ListVersions(%+v) = %+v, want %+v", tc.opt, got, tc.want)
		}
	}
	if _, err := s.ListVersions(ctx, "nob", meta.ListVersionsOptions{MaxKeys: 1}); !errors.Is(err, meta.ErrNoSuchBucket) {
		t.Errorf("listing versions of a missing bucket: %v, want ErrNoSuchBucket", err)
	}
}
