package robustness

import (
	"net/http"
	"strings"
	"testing"

	"github.com/postern/postern/internal/testserver"
)

// TestAWSChunkedMinChunkSize: in an aws-chunked body every chunk but the
// last one with data must hold at least 8192 bytes; S3 refuses others with
// 403 InvalidChunkSizeError, naming the chunk that followed the small one
// and the small one's size.
func TestAWSChunkedMinChunkSize(t *testing.T) {
	t.Parallel()
	srv := testserver.InProcess(t, testserver.Options{})
	c := newClient(srv)
	c.createBucket(t, "chunks")
	body := genData(3, 20000)

	r := c.chunkedPut(t, srv, "/chunks/small", body, 4096, -1)
	e := r.s3err()
	if r.Status != 403 || e.Code != "InvalidChunkSizeError" || e.Message != "Only the last chunk is allowed to have a size less than 8192 bytes" {
		t.Errorf("4096-byte chunks: %s, want 403 InvalidChunkSizeError", r)
	}
	if !strings.Contains(string(r.Body), "<Chunk>2</Chunk>") || !strings.Contains(string(r.Body), "<BadChunkSize>4096</BadChunkSize>") {
		t.Errorf("4096-byte chunks: no <Chunk>2</Chunk><BadChunkSize>4096</BadChunkSize> in %s", r)
	}
	if got, err := c.do(http.MethodHead, "/chunks/small", "", nil, nil); err != nil || got.Status != 404 {
		t.Errorf("refused upload left an object: %v %v", got, err)
	}

	// 8192-byte chunks (the last one 3616 bytes) are accepted.
	if r := c.chunkedPut(t, srv, "/chunks/ok", body, 8192, -1); r.Status != 200 {
		t.Errorf("8192-byte chunks: %s", r)
	}
	got := c.must(t, 200, http.MethodGet, "/chunks/ok", "", nil, nil)
	if string(got.Body) != string(body) {
		t.Error("8192-byte chunks: stored body differs")
	}
}
