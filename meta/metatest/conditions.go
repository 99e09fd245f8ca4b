package metatest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/postern/postern/meta"
)

// wantErr checks err against want (nil: no error), with errors.Is.
func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if want == nil && err != nil || want != nil && !errors.Is(err, want) {
		t.Fatalf("%s: err = %v, want %v", what, err, want)
	}
}

// testPutObjectConditions: If-None-Match "*" fails on an existing key,
// If-Match fails with ErrNoSuchKey on a missing one and with
// ErrPreconditionFail on another ETag; a failed write changes nothing.
func testPutObjectConditions(t *testing.T, open Opener) {
	s := open(t)
	ctx := context.Background()
	mustBucket(t, s, "b")
	for _, st := range []struct {
		name  string
		o     meta.Object
		cond  meta.Condition
		want  error
		freed []string
	}{
		{"if-match on absent", obj("b", "k", "v0"), meta.Condition{IfMatch: "etag-k"}, meta.ErrNoSuchKey, nil},
		{"if-match * on absent", obj("b", "k", "v0"), meta.Condition{IfMatch: "*"}, meta.ErrNoSuchKey, nil},
		{"if-none-match on absent", obj("b", "k", "v1"), meta.Condition{IfNoneMatch: "*"}, nil, nil},
		{"if-none-match on present", obj("b", "k", "v2"), meta.Condition{IfNoneMatch: "*"}, meta.ErrPreconditionFail, nil},
		{"both on present", obj("b", "k", "v2"), meta.Condition{IfMatch: "etag-k", IfNoneMatch: "*"}, meta.ErrPreconditionFail, nil},
		{"etag mismatch", obj("b", "k", "v2"), meta.Condition{IfMatch: "other"}, meta.ErrPreconditionFail, nil},
		{"etag with quotes is not the etag", obj("b", "k", "v2"), meta.Condition{IfMatch: `"etag-k"`}, meta.ErrPreconditionFail, nil},
		{"etag match", obj("b", "k", "v2"), meta.Condition{IfMatch: "etag-k"}, nil, []string{"v1"}},
		{"if-match * on present", obj("b", "k", "v3"), meta.Condition{IfMatch: "*"}, nil, []string{"v2"}},
		{"no condition", obj("b", "k", "v4"), meta.Condition{}, nil, []string{"v3"}},
	} {
		freed, err := s.PutObject(ctx, st.o, st.cond)
		wantErr(t, st.name, err, st.want)
		if !reflect.DeepEqual(freed, st.freed) && len(freed)+len(st.freed) > 0 {
			t.Fatalf("%s: freed = %v, want %v", st.name, freed, st.freed)
		}
	}
	got, err := s.GetObject(ctx, "b", "k")
	if err != nil || got.Segments[0].BlobID != "v4" {
		t.Fatalf("final object = %+v, %v", got, err)
	}
	ref, _ := s.BlobReferenced(ctx, []string{"v0", "v1", "v2", "v3", "v4"})
	if want := map[string]bool{"v0": false, "v1": false, "v2": false, "v3": false, "v4": true}; !reflect.DeepEqual(ref, want) {
		t.Errorf("BlobReferenced = %v, want %v", ref, want)
	}
	// A missing bucket is reported as such, whatever the condition.
	_, err = s.PutObject(ctx, obj("nob", "k", "x"), meta.Condition{IfMatch: "etag-k"})
	wantErr(t, "missing bucket", err, meta.ErrNoSuchBucket)
}

// testDeleteObjectConditions: a conditional delete deletes only when the
// current object passes; If-Match on a missing key is ErrNoSuchKey.
func testDeleteObjectConditions(t *testing.T, open Opener) {
	s := open(t)
	ctx := context.Background()
	mustBucket(t, s, "b")
	if _, err := s.PutObject(ctx, obj("b", "k", "d1"), meta.Condition{}); err != nil {
		t.Fatal(err)
	}
	freed, err := s.DeleteObject(ctx, "b", "k", meta.Condition{IfMatch: "other"})
	wantErr(t, "delete if-match other", err, meta.ErrPreconditionFail)
	if len(freed) != 0 {
		t.Fatalf("failed delete freed %v", freed)
	}
	if _, err := s.GetObject(ctx, "b", "k"); err != nil {
		t.Fatalf("failed conditional delete removed the object: %v", err)
	}
	freed, err = s.DeleteObject(ctx, "b", "k", meta.Condition{IfMatch: "etag-k"})
	wantErr(t, "delete if-match etag", err, nil)
	if !reflect.DeepEqual(freed, []string{"d1"}) {
		t.Fatalf("delete freed %v, want [d1]", freed)
	}
	_, err = s.DeleteObject(ctx, "b", "k", meta.Condition{IfMatch: "etag-k"})
	wantErr(t, "delete if-match on absent", err, meta.ErrNoSuchKey)
	_, err = s.DeleteObject(ctx, "b", "k", meta.Condition{IfMatch: "*"})
	wantErr(t, "delete if-match * on absent", err, meta.ErrNoSuchKey)
	if _, err := s.PutObject(ctx, obj("b", "k", "d2"), meta.Condition{}); err != nil {
		t.Fatal(err)
	}
	freed, err = s.DeleteObject(ctx, "b", "k", meta.Condition{IfMatch: "*"})
	wantErr(t, "delete if-match * on present", err, nil)
	if !reflect.DeepEqual(freed, []string{"d2"}) {
		t.Fatalf("delete freed %v, want [d2]", freed)
	}
	_, err = s.DeleteObject(ctx, "nob", "k", meta.Condition{IfMatch: "*"})
	wantErr(t, "conditional delete in a missing bucket", err, meta.ErrNoSuchBucket)
}

// testCompleteUploadConditions: a failed precondition keeps the upload and
// its parts (the client may retry) and the object it guarded.
func testCompleteUploadConditions(t *testing.T, open Opener) {
	s := open(t)
	ctx := context.Background()
	mustBucket(t, s, "b")
	start := func(id string) meta.Object {
		t.Helper()
		if err := s.CreateUpload(ctx, meta.Upload{ID: id, Bucket: "b", Key: "k"}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.PutPart(ctx, "b", "k", id, part(1, id+"-p1")); err != nil {
			t.Fatal(err)
		}
		return meta.Object{Bucket: "b", Key: "k", Size: 100, ETag: id + "-1", PartsCount: 1, Segments: []meta.Segment{part(1, id+"-p1").Segment}}
	}
	o1 := start("u1")
	_, err := s.CompleteUpload(ctx, "b", "k", "u1", o1, meta.Condition{IfMatch: "x"})
	wantErr(t, "complete if-match on absent", err, meta.ErrNoSuchKey)
	if _, err := s.GetUpload(ctx, "b", "k", "u1"); err != nil {
		t.Fatalf("failed complete dropped the upload: %v", err)
	}
	if _, err := s.CompleteUpload(ctx, "b", "k", "u1", o1, meta.Condition{IfNoneMatch: "*"}); err != nil {
		t.Fatalf("complete if-none-match on absent: %v", err)
	}
	o2 := start("u2")
	_, err = s.CompleteUpload(ctx, "b", "k", "u2", o2, meta.Condition{IfNoneMatch: "*"})
	wantErr(t, "complete if-none-match on present", err, meta.ErrPreconditionFail)
	_, err = s.CompleteUpload(ctx, "b", "k", "u2", o2, meta.Condition{IfMatch: "wrong"})
	wantErr(t, "complete if-match wrong", err, meta.ErrPreconditionFail)
	ps, _, err := s.ListParts(ctx, "b", "k", "u2", 0, 10)
	if err != nil || len(ps) != 1 {
		t.Fatalf("parts after failed completes = %+v, %v", ps, err)
	}
	if got, _ := s.GetObject(ctx, "b", "k"); got.ETag != "u1-1" {
		t.Fatalf("failed complete replaced the object: %q", got.ETag)
	}
	freed, err := s.CompleteUpload(ctx, "b", "k", "u2", o2, meta.Condition{IfMatch: "u1-1"})
	if err != nil || !reflect.DeepEqual(freed, []string{"u1-p1"}) {
		t.Fatalf("complete if-match right = %v, %v; want [u1-p1] freed", freed, err)
	}
}

// testListObjectsBinaryOrder: keys sort by their UTF-8 bytes ("a/b" before
// "a0", bytes above 0x7F after ASCII), with and without a delimiter.
func testListObjectsBinaryOrder(t *testing.T, open Opener) {
	s := open(t)
	ctx := context.Background()
	mustBucket(t, s, "b")
	keys := []string{"a0", "a/b", "a\u00e9", "a~", "A", "a\x7f", "a\U0001F600", "a\uFFFD", "a"}
	for _, k := range keys {
		if _, err := s.PutObject(ctx, obj("b", k), meta.Condition{}); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"A", "a", "a/b", "a0", "a~", "a\x7f", "a\u00e9", "a\uFFFD", "a\U0001F600"}
	var got []string
	after := ""
	for range keys {
		res, err := s.ListObjects(ctx, "b", meta.ListObjectsOptions{MaxKeys: 1, After: after})
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range res.Objects {
			got = append(got, o.Key)
		}
		if !res.IsTruncated {
			break
		}
		after = res.NextAfter
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("one-key pages\n got %q\nwant %q", got, want)
	}
	res, err := s.ListObjects(ctx, "b", meta.ListObjectsOptions{Prefix: "a", Delimiter: "/", MaxKeys: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Objects) != 1 || res.Objects[0].Key != "a" || !reflect.DeepEqual(res.CommonPrefixes, []string{"a/"}) || !res.IsTruncated || res.NextAfter != "a/" {
		t.Errorf("prefix a, delimiter /, max 2 = %+v", res)
	}
	res, err = s.ListObjects(ctx, "b", meta.ListObjectsOptions{Prefix: "a", Delimiter: "/", MaxKeys: 1000, After: "a/"})
	if err != nil {
		t.Fatal(err)
	}
	var rest []string
	for _, o := range res.Objects {
		rest = append(rest, o.Key)
	}
	if !reflect.DeepEqual(rest, want[3:]) || len(res.CommonPrefixes) != 0 || res.IsTruncated {
		t.Errorf("after a/: %q %q %v; want %q", rest, res.CommonPrefixes, res.IsTruncated, want[3:])
	}
	// max-keys edges: 0 is an empty, untruncated page; exactly all is untruncated.
	if res, err := s.ListObjects(ctx, "b", meta.ListObjectsOptions{MaxKeys: 0}); err != nil || len(res.Objects) != 0 || res.IsTruncated {
		t.Errorf("max 0 = %+v, %v", res, err)
	}
	if res, err := s.ListObjects(ctx, "b", meta.ListObjectsOptions{MaxKeys: len(keys)}); err != nil || len(res.Objects) != len(keys) || res.IsTruncated || res.NextAfter != "" {
		t.Errorf("max = len = %d objects, truncated %v, next %q, %v", len(res.Objects), res.IsTruncated, res.NextAfter, err)
	}
	if res, err := s.ListObjects(ctx, "b", meta.ListObjectsOptions{MaxKeys: len(keys) - 1}); err != nil || len(res.Objects) != len(keys)-1 || !res.IsTruncated {
		t.Errorf("max = len-1: %d objects, truncated %v, %v", len(res.Objects), res.IsTruncated, err)
	}
}

// testListParts markers: ListParts returns parts after the marker in
// number order (10 after 9, not after 1), and a marker past the end is empty.
func testListPartsMarkers(t *testing.T, open Opener) {
	s := open(t)
	ctx := context.Background()
	mustBucket(t, s, "b")
	if err := s.CreateUpload(ctx, meta.Upload{ID: "u", Bucket: "b", Key: "k"}); err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{10, 2, 1, 9, 10000} {
		if _, err := s.PutPart(ctx, "b", "k", "u", part(n, fmt.Sprint("p", n))); err != nil {
			t.Fatal(err)
		}
	}
	nums := func(ps []meta.Part) []int {
		var out []int
		for _, p := range ps {
			out = append(out, p.Number)
		}
		return out
	}
	for _, tc := range []struct {
		marker, max int
		want        []int
		trunc       bool
	}{
		{0, 10, []int{1, 2, 9, 10, 10000}, false},
		{0, 5, []int{1, 2, 9, 10, 10000}, false},
		{0, 4, []int{1, 2, 9, 10}, true},
		{2, 2, []int{9, 10}, true},
		{9, 1, []int{10}, true},
		{10, 1, []int{10000}, false},
		{5, 100, []int{9, 10, 10000}, false},
		{10000, 10, nil, false},
	} {
		ps, trunc, err := s.ListParts(ctx, "b", "k", "u", tc.marker, tc.max)
		if err != nil || !reflect.DeepEqual(nums(ps), tc.want) || trunc != tc.trunc {
			t.Errorf("ListParts(marker %d, max %d) = %v, %v, %v; want %v, %v", tc.marker, tc.max, nums(ps), trunc, err, tc.want, tc.trunc)
		}
	}
}
