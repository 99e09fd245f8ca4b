package s3api

import (
	"bytes"
	"context"
	"net/http/httptest"
	"testing"

	"github.com/postern/postern/meta"
)

// staleOnce returns a previously read version of one object the first time
// it is asked, as a read racing an overwrite would.
type staleOnce struct {
	meta.Store
	stale *meta.Object
}

func (s *staleOnce) GetObject(ctx context.Context, bucket, key string) (meta.Object, error) {
	if s.stale != nil {
		o := *s.stale
		s.stale = nil
		return o, nil
	}
	return s.Store.GetObject(ctx, bucket, key)
}

// A GET that looked up a version whose file is already gone (replaced in
// between) looks again and serves the current version.
func TestGetRetriesWhenReplaced(t *testing.T) {
	h, creds := benchHandler(t)
	put := func(body []byte) {
		r := httptest.NewRequest("PUT", "/bench/obj", bytes.NewReader(body))
		signHeader(r, creds, body)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != 200 {
			t.Fatalf("put: %d %s", w.Code, w.Body)
		}
	}
	old := bytes.Repeat([]byte("o"), InlineMax+1) // blob-backed
	put(old)
	oldObj, err := h.deps.Meta.GetObject(context.Background(), "bench", "obj")
	if err != nil || len(oldObj.Segments) != 1 {
		t.Fatalf("old object: %+v %v", oldObj, err)
	}
	fresh := bytes.Repeat([]byte("n"), InlineMax+2)
	put(fresh) // frees the old blob
	h.deps.Meta = &staleOnce{Store: h.deps.Meta, stale: &oldObj}

	r := httptest.NewRequest("GET", "/bench/obj", nil)
	signHeader(r, creds, nil)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != 200 || !bytes.Equal(w.Body.Bytes(), fresh) {
		t.Fatalf("GET after a racing overwrite: %d, %d bytes", w.Code, w.Body.Len())
	}
	if got := w.Header().Get("Content-Length"); got != "65538" {
		t.Fatalf("Content-Length %q, want the new version's", got)
	}
}
