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
	"time"

	"github.com/postern/postern/meta"
)

func part(n int, blob string) meta.Part {
	return meta.Part{Number: n, Segment: meta.Segment{BlobID: blob, Size: int64(n * 100), PartETag: "etag-" + blob,
		Checksums: map[string]string{"CRC32C": "c-" + blob}}, LastModified: time.Unix(int64(1000+n), 0).UTC()}
}

func testUploadLifecycle(t *testing.T, open Opener) {
	s := open(t)
	ctx := context.Background()
	mustBucket(t, s, "b")
	u := meta.Upload{
		ID: "up1", Bucket: "b", Key: "dir/obj", Initiated: time.Date(2025, 1, 1, 0, 0, 0, 7, time.UTC),
		Template: meta.Object{ContentType: "video/mp4", UserMeta: map[string]string{"a": "b"},
			Checksums: map[string]string{"SHA256": ""}, CacheControl: "max-age=1"},
		ChecksumAlgorithm: "SHA256", ChecksumType: "COMPOSITE", Owner: "acct",
	}
	if err := s.CreateUpload(ctx, u); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateUpload(ctx, u); err == nil {
		t.Error("duplicate upload id accepted")
	}
	if err := s.CreateUpload(ctx, meta.Upload{ID: "x", Bucket: "nob", Key: "k"}); !errors.Is(err, meta.ErrNoSuchBucket) {
		t.Errorf("CreateUpload(missing bucket) = %v", err)
	}
	got, err := s.GetUpload(ctx, "b", "dir/obj", "up1")
	u.Initiated = u.Initiated.Truncate(meta.TimePrecision) // times are kept to the microsecond
	if err != nil || !reflect.DeepEqual(got, u) {
		t.Errorf("GetUpload =\n%+v, %v\nwant\n%+v", got, err, u)
	}
	for _, tc := range []struct {
		bucket, key, id string
		want            error
	}{
		{"b", "dir/obj", "nope", meta.ErrNoSuchUpload},
		{"b", "other", "up1", meta.ErrNoSuchUpload},
		{"nob", "dir/obj", "up1", meta.ErrNoSuchBucket},
	} {
		if _, err := s.GetUpload(ctx, tc.bucket, tc.key, tc.id); !errors.Is(err, tc.want) {
			t.Errorf("GetUpload(%q,%q,%q) = %v, want %v", tc.bucket, tc.key, tc.id, err, tc.want)
		}
		if _, err := s.PutPart(ctx, tc.bucket, tc.key, tc.id, part(1, "x")); !errors.Is(err, tc.want) {
			t.Errorf("PutPart(%q,%q,%q) = %v, want %v", tc.bucket, tc.key, tc.id, err, tc.want)
		}
		if _, _, err := s.ListParts(ctx, tc.bucket, tc.key, tc.id, 0, 10); !errors.Is(err, tc.want) {
			t.Errorf("ListParts(%q,%q,%q) = %v, want %v", tc.bucket, tc.key, tc.id, err, tc.want)
		}
		if _, err := s.CompleteUpload(ctx, tc.bucket, tc.key, tc.id, meta.Object{}, meta.Condition{}); !errors.Is(err, tc.want) {
			t.Errorf("CompleteUpload(%q,%q,%q) = %v, want %v", tc.bucket, tc.key, tc.id, err, tc.want)
		}
		if _, err := s.AbortUpload(ctx, tc.bucket, tc.key, tc.id); !errors.Is(err, tc.want) {
			t.Errorf("AbortUpload(%q,%q,%q) = %v, want %v", tc.bucket, tc.key, tc.id, err, tc.want)
		}
	}
	if _, err := s.PutPart(ctx, "b", "dir/obj", "up1", part(0, "zero")); err == nil {
		t.Error("part number 0 accepted")
	}

	// Parts 1..5; part 3 is replaced (old blob freed); re-putting the same blob frees nothing.
	for n := 1; n <= 5; n++ {
		if freed, err := s.PutPart(ctx, "b", "dir/obj", "up1", part(n, fmt.Sprint("p", n))); err != nil || len(freed) != 0 {
			t.Fatalf("PutPart(%d) = %v, %v", n, freed, err)
		}
	}
	if freed, err := s.PutPart(ctx, "b", "dir/obj", "up1", part(3, "p3b")); err != nil || !reflect.DeepEqual(freed, []string{"p3"}) {
		t.Errorf("replacing part 3 freed %v, %v", freed, err)
	}
	if freed, err := s.PutPart(ctx, "b", "dir/obj", "up1", part(3, "p3b")); err != nil || len(freed) != 0 {
		t.Errorf("re-putting part 3 freed %v, %v", freed, err)
	}

	// ListParts paging.
	var all []meta.Part
	marker := 0
	for {
		ps, trunc, err := s.ListParts(ctx, "b", "dir/obj", "up1", marker, 2)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, ps...)
		if !trunc {
			break
		}
		marker = ps[len(ps)-1].Number
	}
	if len(all) != 5 || all[2].Segment.BlobID != "p3b" || !reflect.DeepEqual(all[0], part(1, "p1")) {
		t.Errorf("ListParts = %+v", all)
	}
	if ps, trunc, err := s.ListParts(ctx, "b", "dir/obj", "up1", 3, 2); err != nil || trunc || len(ps) != 2 || ps[0].Number != 4 {
		t.Errorf("ListParts(marker 3, max 2) = %+v, %v, %v", ps, trunc, err)
	}
	if ps, trunc, err := s.ListParts(ctx, "b", "dir/obj", "up1", 0, 0); err != nil || trunc || len(ps) != 0 {
		t.Errorf("ListParts(max 0) = %+v, %v, %v", ps, trunc, err)
	}

	// An existing object at the key is replaced by CompleteUpload.
	if _, err := s.PutObject(ctx, obj("b", "dir/obj", "oldobj"), meta.Condition{}); err != nil {
		t.Fatal(err)
	}
	final := meta.Object{Bucket: "b", Key: "dir/obj", Size: 100 + 300, ETag: "x-2", PartsCount: 2,
		Segments: []meta.Segment{part(1, "p1").Segment, part(3, "p3b").Segment}}
	// Segments must come from the upload's parts.
	bad := final
	bad.Segments = append(slices.Clone(final.Segments), meta.Segment{BlobID: "oldobj"})
	if _, err := s.CompleteUpload(ctx, "b", "dir/obj", "up1", bad, meta.Condition{}); err == nil {
		t.Error("CompleteUpload accepted a foreign segment")
	}
	if _, err := s.CompleteUpload(ctx, "b", "dir/obj", "up1", meta.Object{Bucket: "b", Key: "elsewhere"}, meta.Condition{}); err == nil {
		t.Error("CompleteUpload accepted a mismatched key")
	}
	freed, err := s.CompleteUpload(ctx, "b", "dir/obj", "up1", final, meta.Condition{})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"oldobj", "p2", "p4", "p5"}; !reflect.DeepEqual(sorted(freed), want) {
		t.Errorf("CompleteUpload freed %v, want %v", freed, want)
	}
	o, err := s.GetObject(ctx, "b", "dir/obj")
	if err != nil || !reflect.DeepEqual(o.Segments, final.Segments) || o.PartsCount != 2 {
		t.Errorf("completed object = %+v, %v", o, err)
	}
	if _, err := s.GetUpload(ctx, "b", "dir/obj", "up1"); !errors.Is(err, meta.ErrNoSuchUpload) {
		t.Errorf("upload still present: %v", err)
	}
	ref, _ := s.BlobReferenced(ctx, []string{"p1", "p2", "p3", "p3b", "oldobj"})
	if want := map[string]bool{"p1": true, "p2": false, "p3": false, "p3b": true, "oldobj": false}; !reflect.DeepEqual(ref, want) {
		t.Errorf("BlobReferenced = %v, want %v", ref, want)
	}
	if freed, err := s.DeleteObject(ctx, "b", "dir/obj", meta.Condition{}); err != nil || !reflect.DeepEqual(sorted(freed), []string{"p1", "p3b"}) {
		t.Errorf("DeleteObject freed %v, %v", freed, err)
	}

	// Abort returns every part blob.
	if err := s.CreateUpload(ctx, meta.Upload{ID: "up2", Bucket: "b", Key: "k"}); err != nil {
		t.Fatal(err)
	}
	for n := 1; n <= 3; n++ {
		s.PutPart(ctx, "b", "k", "up2", part(n, fmt.Sprint("a", n)))
	}
	if freed, err := s.AbortUpload(ctx, "b", "k", "up2"); err != nil || !reflect.DeepEqual(sorted(freed), []string{"a1", "a2", "a3"}) {
		t.Errorf("AbortUpload freed %v, %v", freed, err)
	}
	if _, err := s.AbortUpload(ctx, "b", "k", "up2"); !errors.Is(err, meta.ErrNoSuchUpload) {
		t.Errorf("second AbortUpload = %v", err)
	}
	// Complete with no parts used (empty object).
	s.CreateUpload(ctx, meta.Upload{ID: "up3", Bucket: "b", Key: "k"})
	s.PutPart(ctx, "b", "k", "up3", part(1, "c1"))
	if freed, err := s.CompleteUpload(ctx, "b", "k", "up3", meta.Object{}, meta.Condition{}); err != nil || !reflect.DeepEqual(freed, []string{"c1"}) {
		t.Errorf("CompleteUpload(no segments) freed %v, %v", freed, err)
	}
}

type refUpload struct {
	key, id string
	init    int64
}

// refUploadEntries is the reference listing of uploads: entries after
// (keyMarker, uploadIDMarker), as "key|id" for uploads and "cp" for prefixes.
func refUploadEntries(ups []refUpload, prefix, delim, keyMarker, idMarker string) []string {
	ups = slices.Clone(ups)
	slices.SortFunc(ups, func(a, b refUpload) int {
		if c := strings.Compare(a.key, b.key); c != 0 {
			return c
		}
		if a.init != b.init {
			return int(a.init - b.init)
		}
		return strings.Compare(a.id, b.id)
	})
	var markerInit int64 = -1
	for _, u := range ups {
		if u.key == keyMarker && u.id == idMarker {
			markerInit = u.init
		}
	}
	var out []string
	seen := map[string]bool{}
	for _, u := range ups {
		if !strings.HasPrefix(u.key, prefix) {
			continue
		}
		if delim != "" {
			if i := strings.Index(u.key[len(prefix):], delim); i >= 0 {
				cp := u.key[:len(prefix)+i+len(delim)]
				if cp > keyMarker && !seen[cp] {
					seen[cp] = true
					out = append(out, cp)
				}
				continue
			}
		}
		after := u.key > keyMarker ||
			(u.key == keyMarker && keyMarker != "" && markerInit >= 0 && (u.init > markerInit || u.init == markerInit && u.id > idMarker))
		if after {
			out = append(out, u.key+"|"+u.id)
		}
	}
	return out
}

func testListUploadsProperty(t *testing.T, open Opener) {
	s := open(t)
	ctx := context.Background()
	r := rand.New(rand.NewPCG(7, 7))
	alphabet := []string{"a", "b", "/", "é"}
	for round := 0; round < 4; round++ {
		bucket := fmt.Sprintf("u%d", round)
		mustBucket(t, s, bucket)
		var ups []refUpload
		for i := range 10 + r.IntN(60) {
			k := randString(r, alphabet, 4)
			if k == "" {
				k = "a"
			}
			u := refUpload{key: k, id: fmt.Sprintf("id%03d-%d", r.IntN(1000), i), init: int64(1 + r.IntN(3))}
			ups = append(ups, u)
			if err := s.CreateUpload(ctx, meta.Upload{ID: u.id, Bucket: bucket, Key: k, Initiated: time.Unix(0, u.init*int64(meta.TimePrecision))}); err != nil {
				t.Fatal(err)
			}
		}
		for q := 0; q < 60; q++ {
			prefix := randString(r, alphabet, 1)
			delim := []string{"", "/", "é"}[r.IntN(3)]
			pageSize := 1 + r.IntN(5)
			want := refUploadEntries(ups, prefix, delim, "", "")
			var got []string
			km, im := "", ""
			for page := 0; ; page++ {
				if page > len(want)+2 {
					t.Fatal("too many pages")
				}
				res, err := s.ListUploads(ctx, bucket, meta.ListUploadsOptions{Prefix: prefix, Delimiter: delim,
					KeyMarker: km, UploadIDMarker: im, MaxUploads: pageSize})
				if err != nil {
					t.Fatal(err)
				}
				var pe []string
				for _, u := range res.Uploads {
					pe = append(pe, u.Key+"|"+u.ID)
				}
				pe = append(pe, res.CommonPrefixes...)
				refPage := refUploadEntries(ups, prefix, delim, km, im)
				wantTrunc := len(refPage) > pageSize
				refPage = refPage[:min(pageSize, len(refPage))]
				if !reflect.DeepEqual(sorted(pe), sorted(refPage)) && len(pe)+len(refPage) > 0 {
					t.Fatalf("prefix=%q delim=%q km=%q im=%q max=%d:\n got %q\nwant %q", prefix, delim, km, im, pageSize, pe, refPage)
				}
				if res.IsTruncated != wantTrunc {
					t.Fatalf("IsTruncated = %v, want %v", res.IsTruncated, wantTrunc)
				}
				got = append(got, refPage...)
				if !res.IsTruncated {
					if res.NextKeyMarker != "" || res.NextUploadIDMarker != "" {
						t.Fatalf("markers on last page")
					}
					break
				}
				last := refPage[len(refPage)-1]
				wk, wi, _ := strings.Cut(last, "|")
				if res.NextKeyMarker != wk || res.NextUploadIDMarker != wi {
					t.Fatalf("next markers = %q,%q; want %q,%q", res.NextKeyMarker, res.NextUploadIDMarker, wk, wi)
				}
				km, im = res.NextKeyMarker, res.NextUploadIDMarker
			}
			if !reflect.DeepEqual(got, want) && len(got)+len(want) > 0 {
				t.Fatalf("paged uploads\n got %q\nwant %q", got, want)
			}
		}
	}
	if _, err := s.ListUploads(ctx, "nob", meta.ListUploadsOptions{MaxUploads: 1}); !errors.Is(err, meta.ErrNoSuchBucket) {
		t.Errorf("ListUploads(missing bucket) = %v", err)
	}
	if res, err := s.ListUploads(ctx, "u0", meta.ListUploadsOptions{MaxUploads: 0}); err != nil || res.IsTruncated || len(res.Uploads) != 0 {
		t.Errorf("ListUploads(max 0) = %+v, %v", res, err)
	}
}

func testListUploadsSameKeyOrder(t *testing.T, open Opener) {
	s := open(t)
	ctx := context.Background()
	mustBucket(t, s, "b")
	// Initiation order differs from id order.
	for i, id := range []string{"zz", "mm", "aa"} {
		s.CreateUpload(ctx, meta.Upload{ID: id, Bucket: "b", Key: "k", Initiated: time.Unix(int64(i), 0)})
	}
	res, err := s.ListUploads(ctx, "b", meta.ListUploadsOptions{MaxUploads: 2})
	if err != nil || len(res.Uploads) != 2 || res.Uploads[0].ID != "zz" || res.Uploads[1].ID != "mm" ||
		!res.IsTruncated || res.NextKeyMarker != "k" || res.NextUploadIDMarker != "mm" {
		t.Fatalf("page 1 = %+v, %v", res, err)
	}
	res, err = s.ListUploads(ctx, "b", meta.ListUploadsOptions{MaxUploads: 2, KeyMarker: "k", UploadIDMarker: "mm"})
	if err != nil || len(res.Uploads) != 1 || res.Uploads[0].ID != "aa" || res.IsTruncated {
		t.Fatalf("page 2 = %+v, %v", res, err)
	}
	// Key marker alone skips every upload of that key.
	res, err = s.ListUploads(ctx, "b", meta.ListUploadsOptions{MaxUploads: 2, KeyMarker: "k"})
	if err != nil || len(res.Uploads) != 0 {
		t.Fatalf("key marker only = %+v, %v", res, err)
	}
}
