package s3blob_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/postern/postern/blob"
	"github.com/postern/postern/blob/s3blob"
	"github.com/postern/postern/internal/s3test"
	"github.com/postern/postern/internal/testserver"
)

// backEnd is a real postern (in process, on a loopback port) with a bucket:
// the S3 service the Store under test writes to.
func backEnd(t *testing.T) (*s3.Client, *s3blob.Store) {
	t.Helper()
	srv := testserver.InProcess(t, testserver.Options{Args: []string{"--console-listen", "off"}})
	c := s3test.Client(srv, s3test.Options{DefaultChecksums: true})
	s3test.CreateBucket(t, c, "backbucket")
	st := s3blob.New(c, "backbucket", "pfx/")
	st.PartSize = 5 << 20 // S3's minimum: multipart blobs stay small
	return c, st
}

// keys lists the back-end bucket.
func keys(t *testing.T, c *s3.Client) []string {
	t.Helper()
	out, err := c.ListObjectsV2(s3test.Ctx(t), &s3.ListObjectsV2Input{Bucket: aws.String("backbucket")})
	if err != nil {
		t.Fatal(err)
	}
	var ks []string
	for _, o := range out.Contents {
		ks = append(ks, aws.ToString(o.Key))
	}
	sort.Strings(ks)
	return ks
}

func uploads(t *testing.T, c *s3.Client) int {
	t.Helper()
	out, err := c.ListMultipartUploads(s3test.Ctx(t), &s3.ListMultipartUploadsInput{Bucket: aws.String("backbucket")})
	if err != nil {
		t.Fatal(err)
	}
	return len(out.Uploads)
}

func write(t *testing.T, st *s3blob.Store, data []byte, commit bool) string {
	t.Helper()
	ctx := s3test.Ctx(t)
	w, err := st.Create(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Through ReadFrom (in odd pieces) and Write both.
	half := len(data) / 2
	if _, err := w.ReadFrom(io.MultiReader(bytes.NewReader(data[:half/3]), bytes.NewReader(data[half/3:half]))); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data[half:]); err != nil {
		t.Fatal(err)
	}
	if w.Size() != int64(len(data)) {
		t.Fatalf("Size %d, want %d", w.Size(), len(data))
	}
	if commit {
		if err := w.Commit(ctx); err != nil {
			t.Fatal(err)
		}
	}
	return w.ID()
}

func read(t *testing.T, st *s3blob.Store, id string, off, n int64) []byte {
	t.Helper()
	r, err := st.Open(s3test.Ctx(t), id, off, n)
	if err != nil {
		t.Fatalf("Open %s %d+%d: %v", id, off, n, err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Small and multipart blobs land under PREFIX/xx/ID, nothing is visible
// before Commit, ranges read back exactly, Delete removes them.
func TestWriteReadDelete(t *testing.T) {
	c, st := backEnd(t)
	small := s3test.RandBytes(1, 300<<10)
	large := s3test.RandBytes(2, 17<<20+123) // four parts of 5 MiB
	ids := []string{write(t, st, small, true), write(t, st, large, true)}
	want := []string{"pfx/" + ids[0][:2] + "/" + ids[0], "pfx/" + ids[1][:2] + "/" + ids[1]}
	sort.Strings(want)
	if got := keys(t, c); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("back-end keys %v, want %v", got, want)
	}
	if n := uploads(t, c); n != 0 {
		t.Fatalf("%d multipart uploads left after Commit", n)
	}
	s3test.EqualBytes(t, "small blob", read(t, st, ids[0], 0, int64(len(small))), small)
	s3test.EqualBytes(t, "large blob", read(t, st, ids[1], 0, int64(len(large))), large)
	s3test.EqualBytes(t, "range", read(t, st, ids[1], 5<<20-10, 1000), large[5<<20-10:5<<20+990])
	s3test.EqualBytes(t, "range past the end", read(t, st, ids[0], int64(len(small))-5, 100), small[len(small)-5:])
	if b := read(t, st, ids[0], 10, 0); len(b) != 0 {
		t.Fatalf("empty range: %d bytes", len(b))
	}
	if _, err := st.Open(s3test.Ctx(t), blob.NewID(), 0, 10); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("Open of a missing blob: %v, want ErrNotFound", err)
	}
	if err := st.Delete(s3test.Ctx(t), append(ids, "../not-an-id")...); err != nil {
		t.Fatal(err)
	}
	if got := keys(t, c); len(got) != 0 {
		t.Fatalf("after Delete: %v", got)
	}
	if _, err := st.Open(s3test.Ctx(t), ids[0], 0, 10); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("Open after Delete: %v, want ErrNotFound", err)
	}
}

// An aborted writer leaves nothing behind: no object, no multipart upload.
func TestAbort(t *testing.T) {
	c, st := backEnd(t)
	for _, size := range []int{100, 12 << 20} {
		w, err := st.Create(s3test.Ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(s3test.RandBytes(3, size)); err != nil {
			t.Fatal(err)
		}
		w.Abort()
		w.Abort() // idempotent
		if got := keys(t, c); len(got) != 0 {
			t.Fatalf("%d bytes aborted: back end holds %v", size, got)
		}
		if n := uploads(t, c); n != 0 {
			t.Fatalf("%d bytes aborted: %d multipart uploads left", size, n)
		}
	}
}

// Sweep deletes old unreferenced blobs only, never another tool's keys nor
// young blobs, and aborts multipart uploads older than the grace (a crashed
// writer's) but not younger ones (another node's, in flight).
func TestSweep(t *testing.T) {
	c, st := backEnd(t)
	var ids []string
	for i := range 5 {
		ids = append(ids, write(t, st, s3test.RandBytes(uint64(i), 1000), true))
	}
	// Someone else's object under the prefix, and one outside it.
	for _, k := range []string{"pfx/readme.txt", "other/" + ids[0][:2] + "/" + blob.NewID()} {
		if _, err := c.PutObject(s3test.Ctx(t), &s3.PutObjectInput{Bucket: aws.String("backbucket"), Key: aws.String(k), Body: strings.NewReader("x")}); err != nil {
			t.Fatal(err)
		}
	}
	// A writer that "crashed" after its first part: a dangling upload.
	write(t, st, s3test.RandBytes(9, 6<<20), false)
	if n := uploads(t, c); n != 1 {
		t.Fatalf("%d multipart uploads, want the crashed writer's", n)
	}
	inUse := map[string]bool{ids[1]: true, ids[3]: true}
	var asked []string
	referenced := func(ctx context.Context, batch []string) (map[string]bool, error) {
		asked = append(asked, batch...)
		m := map[string]bool{}
		for _, id := range batch {
			m[id] = inUse[id]
		}
		return m, nil
	}
	// Everything is younger than olderThan=now-1h: nothing goes.
	if n, err := st.Sweep(s3test.Ctx(t), time.Now().Add(-time.Hour), referenced); err != nil || n != 0 {
		t.Fatalf("sweep of young blobs: %d, %v", n, err)
	}
	if n := uploads(t, c); n != 1 {
		t.Fatalf("a young multipart upload was aborted")
	}
	// An hour later (by the back end's clock, as far as olderThan goes),
	// and a day later for the uploads.
	st.Now = func() time.Time { return time.Now().Add(s3blob.DefaultUploadGrace + time.Minute) }
	n, err := st.Sweep(s3test.Ctx(t), time.Now().Add(time.Minute), referenced)
	if err != nil {
		t.Fatal(err)
	}
	if n != 4 { // three blobs and one upload
		t.Fatalf("swept %d, want 3 blobs and 1 upload", n)
	}
	if len(asked) != 5 {
		t.Fatalf("referenced was asked about %v, want the 5 blobs", asked)
	}
	want := []string{"other/" + ids[0][:2], "pfx/" + ids[1][:2] + "/" + ids[1], "pfx/" + ids[3][:2] + "/" + ids[3], "pfx/readme.txt"}
	got := keys(t, c)
	if len(got) != 4 || !strings.HasPrefix(got[0], want[0]) || got[1] != want[1] && got[1] != want[2] || got[3] != want[3] {
		t.Fatalf("after Sweep: %v, want the referenced blobs and the foreign keys (%v)", got, want)
	}
	if n := uploads(t, c); n != 0 {
		t.Fatalf("the stale multipart upload survived the sweep")
	}
}

// A back end that does not listen fails every call at once with
// ErrUnavailable, never hangs.
func TestUnavailable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_CONFIG_FILE", "/dev/null")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
	st, err := s3blob.Open(context.Background(), s3blob.Location{Bucket: "backbucket", Prefix: "p/", Endpoint: "http://" + addr, Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := s3test.CtxTimeout(t, time.Minute)
	if err := st.Check(ctx); !errors.Is(err, blob.ErrUnavailable) {
		t.Fatalf("Check: %v, want ErrUnavailable", err)
	}
	w, err := st.Create(ctx)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("hello"))
	if err := w.Commit(ctx); !errors.Is(err, blob.ErrUnavailable) {
		t.Fatalf("Commit: %v, want ErrUnavailable", err)
	}
	if _, err := st.Open(ctx, blob.NewID(), 0, 10); !errors.Is(err, blob.ErrUnavailable) {
		t.Fatalf("Open: %v, want ErrUnavailable", err)
	}
	if err := st.Delete(ctx, blob.NewID()); !errors.Is(err, blob.ErrUnavailable) {
		t.Fatalf("Delete: %v, want ErrUnavailable", err)
	}
	if _, err := st.Sweep(ctx, time.Now(), nil); !errors.Is(err, blob.ErrUnavailable) {
		t.Fatalf("Sweep: %v, want ErrUnavailable", err)
	}
}

// countingWriter counts the Write calls it gets (and has no ReadFrom,
// as a network connection has none for this source).
type countingWriter struct {
	buf    bytes.Buffer
	writes int
}

func (w *countingWriter) Write(p []byte) (int, error) { w.writes++; return w.buf.Write(p) }

// A blob read with io.Copy (as s3api sends it to the client) moves in
// pieces of 1 MiB, gathered from the back end, not in io.Copy's 32 KiB:
// one write system call per MiB to the client.
func TestReadInLargePieces(t *testing.T) {
	_, st := backEnd(t)
	data := s3test.RandBytes(4, 3<<20+5)
	id := write(t, st, data, true)
	r, err := st.Open(s3test.Ctx(t), id, 3, int64(len(data))-3)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var w countingWriter
	n, err := io.Copy(&w, r)
	if err != nil || n != int64(len(data))-3 {
		t.Fatalf("io.Copy: %d bytes, %v", n, err)
	}
	s3test.EqualBytes(t, "blob read with io.Copy", w.buf.Bytes(), data[3:])
	if w.writes != 4 { // three full MiB and the 2 bytes left
		t.Fatalf("the blob came in %d writes, want 4 (1 MiB each)", w.writes)
	}
}

// maxReader records the largest buffer it was asked to fill.
type maxReader struct {
	r   io.Reader
	max int
}

func (m *maxReader) Read(p []byte) (int, error) {
	m.max = max(m.max, len(p))
	return m.r.Read(p)
}

// The writer takes a body straight into its part buffers (s3api hands
// DirectWriters the body rather than copying it through a buffer of its
// own), at most 1 MiB per Read so that the caller's hash reads the piece
// from the CPU's cache.
func TestWriterReadsDirect(t *testing.T) {
	_, st := backEnd(t)
	w, err := st.Create(s3test.Ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	if d, ok := w.(blob.DirectWriter); !ok || !d.Direct() {
		t.Fatal("the s3 writer is not a DirectWriter reporting Direct")
	}
	data := s3test.RandBytes(5, 11<<20+7) // three parts of 5 MiB, the last short
	src := &maxReader{r: bytes.NewReader(data)}
	if n, err := w.ReadFrom(src); err != nil || n != int64(len(data)) {
		t.Fatalf("ReadFrom: %d, %v", n, err)
	}
	if src.max > 1<<20 {
		t.Fatalf("ReadFrom asked for %d bytes at once, want at most 1 MiB", src.max)
	}
	if err := w.Commit(s3test.Ctx(t)); err != nil {
		t.Fatal(err)
	}
	s3test.EqualBytes(t, "blob written with ReadFrom", read(t, st, w.ID(), 0, int64(len(data))), data)
}
