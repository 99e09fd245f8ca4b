package s3api

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/postern/postern/blob"
	"github.com/postern/postern/iam"
	"github.com/postern/postern/meta"
	"github.com/postern/postern/meta/sqlite"
	"github.com/postern/postern/proto/sigv4"
)

// benchHandler is a Handler over a real SQLite store and blob store in a
// temporary directory, with one bucket.
func benchHandler(b testing.TB) (*Handler, sigv4.Credentials) {
	dir := b.TempDir()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(dir, "meta.db"), nil, sqlite.WithBucketCache(time.Second), sqlite.WithObjectCache(50_000, 64<<20))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	blobs, err := blob.OpenDir(filepath.Join(dir, "blobs"))
	if err != nil {
		b.Fatal(err)
	}
	creds := sigv4.Credentials{AccessKey: "AKIABENCH", SecretKey: "bench-secret-key"}
	h := New(Deps{
		Region:    "us-east-1",
		Meta:      db,
		Blobs:     blobs,
		Directory: &iam.Root{AccountID: iam.DefaultAccountID, AccessKey: creds.AccessKey, SecretKey: creds.SecretKey},
	}, Options{Logger: slog.New(slog.DiscardHandler)})
	if err := db.CreateBucket(ctx, meta.Bucket{Name: "bench", Owner: iam.DefaultAccountID, Region: "us-east-1"}); err != nil {
		b.Fatal(err)
	}
	return h, creds
}

// BenchmarkPresignedGet4K measures the server-side work of a presigned 4 KiB
// GET (routing, SigV4 query verification, bucket and object lookup,
// authorization, response), without the network.
func BenchmarkPresignedGet4K(b *testing.B) {
	h, creds := benchHandler(b)
	body := bytes.Repeat([]byte("x"), 4096)
	const n = 100
	for i := 0; i < n; i++ {
		r := httptest.NewRequest("PUT", "/bench/k"+strconv.Itoa(i), bytes.NewReader(body))
		signHeader(r, creds, body)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != 200 {
			b.Fatalf("put: %d %s", w.Code, w.Body)
		}
	}
	urls := make([]string, n)
	for i := range urls {
		u, err := sigv4.Presign(creds, sigv4.PresignOptions{Method: "GET", URL: "http://example.com/bench/k" + strconv.Itoa(i), Region: "us-east-1", SignAt: time.Now(), Expires: time.Hour})
		if err != nil {
			b.Fatal(err)
		}
		urls[i] = u
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			r := httptest.NewRequest("GET", urls[i%n], nil)
			w := discardWriter{h: http.Header{}}
			h.ServeHTTP(&w, r)
			if w.code != 200 {
				b.Errorf("get: %d", w.code)
				return
			}
			i++
		}
	})
}

// signHeader signs r with SigV4 header authentication and a signed payload hash.
func signHeader(r *http.Request, c sigv4.Credentials, body []byte) {
	now := time.Now().UTC()
	amz := now.Format("20060102T150405Z")
	hash := sha256Hex(body)
	r.Header.Set("X-Amz-Date", amz)
	r.Header.Set("X-Amz-Content-Sha256", hash)
	signed := []string{"host", "x-amz-content-sha256", "x-amz-date"}
	scope := sigv4.ScopeString(amz[:8], "us-east-1", "s3")
	sts := sigv4.StringToSign(now, scope, sigv4.CanonicalRequest(r, signed, hash))
	sig := sigv4.Signature(sigv4.SigningKey(c.SecretKey, amz[:8], "us-east-1", "s3"), sts)
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+c.AccessKey+"/"+scope+", SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature="+sig)
}

type discardWriter struct {
	h    http.Header
	code int
}

func (w *discardWriter) Header() http.Header { return w.h }
func (w *discardWriter) WriteHeader(c int) {
	if w.code == 0 {
		w.code = c
	}
}
func (w *discardWriter) Write(p []byte) (int, error) {
	if w.code == 0 {
		w.code = 200
	}
	return len(p), nil
}

var _ io.Writer = (*discardWriter)(nil)
