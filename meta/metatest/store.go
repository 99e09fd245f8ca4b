package metatest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/postern/postern/meta"
)

func mustBucket(t testing.TB, s meta.Store, name string) {
	t.Helper()
	if err := s.CreateBucket(context.Background(), meta.Bucket{Name: name, Owner: "acct", Region: "us-east-1", CreatedAt: time.Now()}); err != nil {
		t.Fatalf("CreateBucket(%q): %v", name, err)
	}
}

func obj(bucket, key string, blobs ...string) meta.Object {
	o := meta.Object{Bucket: bucket, Key: key, ETag: "etag-" + key, LastModified: time.Unix(1700000000, 123456789).UTC(),
		ContentType: "text/plain"}
	for _, b := range blobs {
		o.Segments = append(o.Segments, meta.Segment{BlobID: b, Size: 10})
		o.Size += 10
	}
	return o
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func testBuckets(t *testing.T, open Opener) {
	s := open(t)
	ctx := context.Background()
	created := time.Date(2024, 1, 2, 3, 4, 5, 6, time.UTC)
	for _, b := range []meta.Bucket{
		{Name: "zeta", Owner: "alice", Region: "r1", CreatedAt: created},
		{Name: "alpha", Owner: "bob", Region: "r2", CreatedAt: created},
		{Name: "mid", Owner: "alice", Region: "r1", CreatedAt: created},
	} {
		if err := s.CreateBucket(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CreateBucket(ctx, meta.Bucket{Name: "mid", Owner: "bob"}); !errors.Is(err, meta.ErrBucketExists) {
		t.Errorf("duplicate CreateBucket: %v", err)
	}
	if err := s.CreateBucket(ctx, meta.Bucket{}); err == nil {
		t.Error("empty bucket name accepted")
	}
	b, err := s.GetBucket(ctx, "mid")
	// Times are kept to the microsecond (meta.TimePrecision), truncated.
	if err != nil || b.Owner != "alice" || b.Region != "r1" || !b.CreatedAt.Equal(created.Truncate(meta.TimePrecision)) {
		t.Errorf("GetBucket = %+v, %v", b, err)
	}
	if _, err := s.GetBucket(ctx, "nope"); !errors.Is(err, meta.ErrNoSuchBucket) {
		t.Errorf("GetBucket(missing) = %v", err)
	}
	names := func(bs []meta.Bucket) []string {
		var n []string
		for _, b := range bs {
			n = append(n, b.Name)
		}
		return n
	}
	for _, tc := range []struct {
		owner string
		want  []string
	}{
		{"", []string{"alpha", "mid", "zeta"}},
		{"alice", []string{"mid", "zeta"}},
		{"bob", []string{"alpha"}},
		{"carol", nil},
	} {
		bs, err := s.ListBuckets(ctx, tc.owner)
		if err != nil || !reflect.DeepEqual(names(bs), tc.want) {
			t.Errorf("ListBuckets(%q) = %v, %v; want %v", tc.owner, names(bs), err, tc.want)
		}
	}
	if _, err := s.DeleteBucket(ctx, "nope"); !errors.Is(err, meta.ErrNoSuchBucket) {
		t.Errorf("DeleteBucket(missing) = %v", err)
	}
	freed, err := s.DeleteBucket(ctx, "zeta")
	if err != nil || len(freed) != 0 {
		t.Errorf("DeleteBucket = %v, %v", freed, err)
	}
	if _, err := s.GetBucket(ctx, "zeta"); !errors.Is(err, meta.ErrNoSuchBucket) {
		t.Errorf("deleted bucket still there: %v", err)
	}
}

func testDeleteBucketNotEmptyAndUploads(t *testing.T, open Opener) {
	s := open(t)
	ctx := context.Background()
	mustBucket(t, s, "b")
	if _, err := s.PutObject(ctx, obj("b", "k", "blob-k"), meta.Condition{}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutBucketConfig(ctx, "b", "policy", []byte("{}")); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"u1", "u2"} {
		if err := s.CreateUpload(ctx, meta.Upload{ID: id, Bucket: "b", Key: "mp"}); err != nil {
			t.Fatal(err)
		}
		for n := 1; n <= 2; n++ {
			if _, err := s.PutPart(ctx, "b", "mp", id, meta.Part{Number: n, Segment: meta.Segment{BlobID: fmt.Sprintf("%s-p%d", id, n)}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := s.DeleteBucket(ctx, "b"); !errors.Is(err, meta.ErrBucketNotEmpty) {
		t.Fatalf("DeleteBucket(non-empty) = %v", err)
	}
	if _, err := s.GetUpload(ctx, "b", "mp", "u1"); err != nil {
		t.Fatalf("failed DeleteBucket changed state: %v", err)
	}
	if freed, err := s.DeleteObject(ctx, "b", "k", meta.Condition{}); err != nil || !reflect.DeepEqual(freed, []string{"blob-k"}) {
		t.Fatalf("DeleteObject = %v, %v", freed, err)
	}
	freed, err := s.DeleteBucket(ctx, "b")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"u1-p1", "u1-p2", "u2-p1", "u2-p2"}; !reflect.DeepEqual(sorted(freed), want) {
		t.Errorf("DeleteBucket freed %v, want %v", freed, want)
	}
	ref, err := s.BlobReferenced(ctx, []string{"u1-p1", "blob-k"})
	if err != nil || ref["u1-p1"] || ref["blob-k"] {
		t.Errorf("BlobReferenced after delete = %v, %v", ref, err)
	}
	// The name can be reused, with no leftovers.
	mustBucket(t, s, "b")
	if _, err := s.GetBucketConfig(ctx, "b", "policy"); !errors.Is(err, meta.ErrNoSuchConfig) {
		t.Errorf("config survived bucket deletion: %v", err)
	}
	if res, err := s.ListUploads(ctx, "b", meta.ListUploadsOptions{MaxUploads: 10}); err != nil || len(res.Uploads) != 0 {
		t.Errorf("uploads survived bucket deletion: %+v, %v", res, err)
	}
}

func testObjects(t *testing.T, open Opener) {
	s := open(t)
	ctx := context.Background()
	mustBucket(t, s, "b")
	full := meta.Object{
		Bucket: "b", Key: "full", Size: 30, ETag: "abc-2", LastModified: time.Date(2025, 5, 6, 7, 8, 9, 123456789, time.UTC),
		ContentType: "image/png", ContentEncoding: "gzip", ContentDisposition: "attachment", ContentLanguage: "fr",
		CacheControl: "no-cache", Expires: "Wed, 21 Oct 2026 07:28:00 GMT",
		UserMeta:     map[string]string{"color": "blue", "x": ""},
		Checksums:    map[string]string{"CRC32": "AAAAAA==-2"},
		ChecksumType: "COMPOSITE",
		Segments: []meta.Segment{
			{BlobID: "s1", Size: 10, PartETag: "e1", Checksums: map[string]string{"CRC32": "x"}},
			{BlobID: "s2", Size: 20, PartETag: "e2"},
		},
		PartsCount: 2,
	}
	if freed, err := s.PutObject(ctx, full, meta.Condition{}); err != nil || len(freed) != 0 {
		t.Fatalf("PutObject = %v, %v", freed, err)
	}
	got, err := s.GetObject(ctx, "b", "full")
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2025, 5, 6, 7, 8, 9, 123456000, time.UTC); !got.LastModified.Equal(want) {
		t.Errorf("LastModified = %v, want %v (truncated to the microsecond)", got.LastModified, want)
	}
	got.LastModified = full.LastModified
	if !reflect.DeepEqual(got, full) {
		t.Errorf("GetObject =\n%+v\nwant\n%+v", got, full)
	}

	// Errors.
	if _, err := s.GetObject(ctx, "b", "missing"); !errors.Is(err, meta.ErrNoSuchKey) {
		t.Errorf("GetObject(missing key) = %v", err)
	}
	if _, err := s.GetObject(ctx, "nob", "k"); !errors.Is(err, meta.ErrNoSuchBucket) {
		t.Errorf("GetObject(missing bucket) = %v", err)
	}
	if _, err := s.PutObject(ctx, obj("nob", "k", "zz"), meta.Condition{}); !errors.Is(err, meta.ErrNoSuchBucket) {
		t.Errorf("PutObject(missing bucket) = %v", err)
	}
	if _, err := s.PutObject(ctx, obj("b", "", "zz"), meta.Condition{}); err == nil {
		t.Errorf("PutObject(empty key) succeeded")
	}
	if _, err := s.DeleteObject(ctx, "nob", "k", meta.Condition{}); !errors.Is(err, meta.ErrNoSuchBucket) {
		t.Errorf("DeleteObject(missing bucket) = %v", err)
	}
	if freed, err := s.DeleteObject(ctx, "b", "missing", meta.Condition{}); err != nil || len(freed) != 0 {
		t.Errorf("DeleteObject(missing key) = %v, %v", freed, err)
	}

	// Replace returns the old blobs; same-blob replace frees nothing of it.
	freed, err := s.PutObject(ctx, obj("b", "full", "s2", "s3"), meta.Condition{})
	if err != nil || !reflect.DeepEqual(freed, []string{"s1"}) {
		t.Errorf("replace freed %v, %v; want [s1]", freed, err)
	}
	ref, _ := s.BlobReferenced(ctx, []string{"s1", "s2", "s3", "nope"})
	if want := map[string]bool{"s1": false, "s2": true, "s3": true, "nope": false}; !reflect.DeepEqual(ref, want) {
		t.Errorf("BlobReferenced = %v, want %v", ref, want)
	}
	freed, err = s.DeleteObject(ctx, "b", "full", meta.Condition{})
	if err != nil || !reflect.DeepEqual(sorted(freed), []string{"s2", "s3"}) {
		t.Errorf("DeleteObject freed %v, %v", freed, err)
	}
	if _, err := s.GetObject(ctx, "b", "full"); !errors.Is(err, meta.ErrNoSuchKey) {
		t.Errorf("deleted object still there: %v", err)
	}

	// Empty object (no segments), nil maps survive as nil.
	empty := meta.Object{Bucket: "b", Key: "empty"}
	if _, err := s.PutObject(ctx, empty, meta.Condition{}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetObject(ctx, "b", "empty"); err != nil || !reflect.DeepEqual(got, meta.Object{Bucket: "b", Key: "empty"}) {
		t.Errorf("empty object = %#v, %v", got, err)
	}
}

func testAwkwardKeys(t *testing.T, open Opener) {
	s := open(t)
	ctx := context.Background()
	mustBucket(t, s, "b")
	keys := []string{"a", "a/b", "../x", "a//b", "dir/", " spaced ", "ünïcödé/文件", "emoji/😀", "\U0010FFFF",
		"a\x00b", strings.Repeat("k", 1024), strings.Repeat("é", 512), "%2F", "a'b\"c;--"}
	for i, k := range keys {
		o := obj("b", k, fmt.Sprint("blob", i))
		o.ETag = "d41d8cd98f00b204e9800998ecf8427e" // as S3 makes them; obj's would hold the key
		if _, err := s.PutObject(ctx, o, meta.Condition{}); err != nil {
			t.Fatalf("PutObject(%q): %v", k, err)
		}
	}
	check := func(s meta.Store) {
		for _, k := range keys {
			o, err := s.GetObject(ctx, "b", k)
			if err != nil || o.Key != k {
				t.Errorf("GetObject(%q) = %q, %v", k, o.Key, err)
			}
		}
		res, err := s.ListObjects(ctx, "b", meta.ListObjectsOptions{MaxKeys: 1000})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, o := range res.Objects {
			got = append(got, o.Key)
		}
		if want := sorted(keys); !reflect.DeepEqual(got, want) {
			t.Errorf("listing order\n got %q\nwant %q", got, want)
		}
	}
	check(s)
}

func testBucketConfig(t *testing.T, open Opener) {
	s := open(t)
	ctx := context.Background()
	mustBucket(t, s, "b")
	if _, err := s.GetBucketConfig(ctx, "b", "policy"); !errors.Is(err, meta.ErrNoSuchConfig) {
		t.Errorf("missing config: %v", err)
	}
	if _, err := s.GetBucketConfig(ctx, "nob", "policy"); !errors.Is(err, meta.ErrNoSuchBucket) {
		t.Errorf("missing bucket: %v", err)
	}
	if err := s.PutBucketConfig(ctx, "nob", "policy", []byte("x")); !errors.Is(err, meta.ErrNoSuchBucket) {
		t.Errorf("put on missing bucket: %v", err)
	}
	if err := s.DeleteBucketConfig(ctx, "nob", "policy"); !errors.Is(err, meta.ErrNoSuchBucket) {
		t.Errorf("delete on missing bucket: %v", err)
	}
	for _, doc := range []string{`{"v":1}`, `{"v":2}`, ""} {
		if err := s.PutBucketConfig(ctx, "b", "policy", []byte(doc)); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetBucketConfig(ctx, "b", "policy")
		if err != nil || string(got) != doc || got == nil {
			t.Errorf("GetBucketConfig = %q, %v; want %q", got, err, doc)
		}
	}
	if err := s.PutBucketConfig(ctx, "b", "cors", []byte("c")); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteBucketConfig(ctx, "b", "policy"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteBucketConfig(ctx, "b", "policy"); err != nil {
		t.Errorf("deleting a missing config: %v", err)
	}
	if _, err := s.GetBucketConfig(ctx, "b", "policy"); !errors.Is(err, meta.ErrNoSuchConfig) {
		t.Errorf("deleted config: %v", err)
	}
	if got, err := s.GetBucketConfig(ctx, "b", "cors"); err != nil || string(got) != "c" {
		t.Errorf("other kind: %q, %v", got, err)
	}
}

func testBlobReferencedBatch(t *testing.T, open Opener) {
	s := open(t)
	ctx := context.Background()
	mustBucket(t, s, "b")
	var ids []string
	for i := 0; i < 1200; i++ {
		ids = append(ids, fmt.Sprintf("blob-%04d", i))
	}
	for i := 0; i < 1200; i += 3 {
		if _, err := s.PutObject(ctx, obj("b", ids[i], ids[i]), meta.Condition{}); err != nil {
			t.Fatal(err)
		}
	}
	s.CreateUpload(ctx, meta.Upload{ID: "u", Bucket: "b", Key: "mp"})
	s.PutPart(ctx, "b", "mp", "u", meta.Part{Number: 1, Segment: meta.Segment{BlobID: ids[1]}})
	ref, err := s.BlobReferenced(ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	if len(ref) != len(ids) {
		t.Errorf("len = %d", len(ref))
	}
	for i, id := range ids {
		if want := i%3 == 0 || i == 1; ref[id] != want {
			t.Errorf("ref[%s] = %v, want %v", id, ref[id], want)
		}
	}
	if ref, err := s.BlobReferenced(ctx, nil); err != nil || len(ref) != 0 {
		t.Errorf("empty: %v, %v", ref, err)
	}
}

func testCanceledContext(t *testing.T, open Opener) {
	s := open(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.CreateBucket(ctx, meta.Bucket{Name: "b"}); !errors.Is(err, context.Canceled) {
		t.Errorf("CreateBucket(canceled) = %v", err)
	}
	if _, err := s.GetBucket(context.Background(), "b"); !errors.Is(err, meta.ErrNoSuchBucket) {
		t.Errorf("canceled create happened: %v", err)
	}
}

func testInlineObjectAndBucketConfigs(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	if err := s.CreateBucket(ctx, meta.Bucket{Name: "b", Owner: "1", Region: "r"}); err != nil {
		t.Fatal(err)
	}
	b, err := s.GetBucket(ctx, "b")
	if err != nil || len(b.Configs) != 0 {
		t.Fatalf("fresh bucket configs %v, %v", b.Configs, err)
	}
	if err := s.PutBucketConfig(ctx, "b", meta.ConfigPolicy, []byte(`{"p":1}`)); err != nil {
		t.Fatal(err)
	}
	if err := s.PutBucketConfig(ctx, "b", meta.ConfigCORS, []byte(`<x/>`)); err != nil {
		t.Fatal(err)
	}
	b, _ = s.GetBucket(ctx, "b")
	if string(b.Configs[meta.ConfigPolicy]) != `{"p":1}` || string(b.Configs[meta.ConfigCORS]) != `<x/>` || b.Configs[meta.ConfigPublicAccessBlock] != nil {
		t.Fatalf("configs %q", b.Configs)
	}
	for _, data := range [][]byte{[]byte("small bytes"), []byte("x")} {
		if _, err := s.PutObject(ctx, meta.Object{Bucket: "b", Key: "k", Size: int64(len(data)), ETag: "e", Inline: data}, meta.Condition{}); err != nil {
			t.Fatal(err)
		}
		o, err := s.GetObject(ctx, "b", "k")
		if err != nil || o.Inline == nil || string(o.Inline) != string(data) || len(o.Segments) != 0 {
			t.Fatalf("inline %q → %q (nil=%v) segs %v err %v", data, o.Inline, o.Inline == nil, o.Segments, err)
		}
	}
	// Replacing an inline object with a blob-backed one clears the inline bytes.
	if _, err := s.PutObject(ctx, meta.Object{Bucket: "b", Key: "k", Size: 3, ETag: "e", Segments: []meta.Segment{{BlobID: "0123456789abcdef0123456789abcdef", Size: 3}}}, meta.Condition{}); err != nil {
		t.Fatal(err)
	}
	o, _ := s.GetObject(ctx, "b", "k")
	if o.Inline != nil || len(o.Segments) != 1 {
		t.Fatalf("after blob put: inline %v segs %v", o.Inline, o.Segments)
	}
}
