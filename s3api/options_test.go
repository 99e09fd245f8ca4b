package s3api

import (
	"bytes"
	"context"
	"crypto/md5"
	"hash"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

type countingHint struct{ in, enters atomic.Int32 }

func (c *countingHint) Enter() { c.in.Add(1); c.enters.Add(1) }
func (c *countingHint) Leave() { c.in.Add(-1) }

type countingHashes struct{ gets atomic.Int32 }

func (c *countingHashes) Get(int64, bool) (hash.Hash, func()) {
	c.gets.Add(1)
	return md5.New(), func() {}
}

// The hooks the composition root injects through Options are the ones the
// handler uses: the hasher pool for upload bodies, the write hold for small
// in-memory responses, and the blocking hint around responses from files.
func TestOptionsHooksAreUsed(t *testing.T) {
	h, creds := benchHandler(t)
	hashes, hint := &countingHashes{}, &countingHint{}
	var holds, releases atomic.Int32
	var bodyAtRelease int
	h.hashes, h.blocking = hashes, hint
	w := httptest.NewRecorder()
	h.opts.HoldWrites = func(context.Context) func() error {
		holds.Add(1)
		return func() error { releases.Add(1); bodyAtRelease = w.Body.Len(); return nil }
	}

	put := func(key string, body []byte) {
		r := httptest.NewRequest("PUT", "/bench/"+key, bytes.NewReader(body))
		signHeader(r, creds, body)
		pw := httptest.NewRecorder()
		h.ServeHTTP(pw, r)
		if pw.Code != 200 {
			t.Fatalf("put %s: %d %s", key, pw.Code, pw.Body)
		}
	}
	small := bytes.Repeat([]byte("s"), 100)
	large := bytes.Repeat([]byte("l"), 1<<20) // stored as a file, not inline
	put("small", small)
	put("large", large)
	if got := hashes.gets.Load(); got != 2 {
		t.Errorf("Options.Hashes.Get called %d times for 2 uploads", got)
	}

	r := httptest.NewRequest("GET", "/bench/small", nil)
	signHeader(r, creds, nil)
	h.ServeHTTP(w, r)
	if w.Code != 200 || !bytes.Equal(w.Body.Bytes(), small) {
		t.Fatalf("get small: %d %q", w.Code, w.Body)
	}
	if holds.Load() != 1 || releases.Load() != 1 || bodyAtRelease != len(small) {
		t.Errorf("HoldWrites: %d holds, %d releases, %d body bytes written at release; want 1, 1, %d", holds.Load(), releases.Load(), bodyAtRelease, len(small))
	}

	before := hint.enters.Load()
	r = httptest.NewRequest("GET", "/bench/large", nil)
	signHeader(r, creds, nil)
	lw := httptest.NewRecorder()
	h.ServeHTTP(lw, r)
	if lw.Code != 200 || lw.Body.Len() != len(large) {
		t.Fatalf("get large: %d, %d bytes", lw.Code, lw.Body.Len())
	}
	if hint.enters.Load() == before || hint.in.Load() != 0 {
		t.Errorf("Blocking hint: %d enters for a GET from a file, %d still in", hint.enters.Load()-before, hint.in.Load())
	}
}
