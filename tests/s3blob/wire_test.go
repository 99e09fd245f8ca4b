package s3blob

import (
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/postern/postern/internal/s3test"
	"github.com/postern/postern/internal/testserver"
)

// sent is what the front sent the back end in one request with a body.
type sent struct{ method, query, contentSHA256, crc32 string }

// flipFirst flips a bit of a body's first byte: damage on the way.
type flipFirst struct {
	io.ReadCloser
	done bool
}

func (f *flipFirst) Read(p []byte) (int, error) {
	n, err := f.ReadCloser.Read(p)
	if n > 0 && !f.done {
		p[0] ^= 1
		f.done = true
	}
	return n, err
}

// What goes over the wire to the back end, seen by a proxy between the
// two: every body (PutObject, UploadPart) carries a CRC32 checksum the
// back end verifies, and is sent UNSIGNED-PAYLOAD, not hashed a second
// time with SHA-256 for the signature. Bytes damaged on the way are
// refused by the back end, so the client's PUT fails and no object
// appears.
func TestBackEndWire(t *testing.T) {
	back := testserver.Start(t, testserver.Options{Args: []string{"--console-listen", "off"}})
	s3test.CreateBucket(t, s3test.Client(back, s3test.Options{}), "backbucket")

	target, err := url.Parse(back.URL)
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu      sync.Mutex
		bodies  []sent
		corrupt atomic.Bool
	)
	rp := httputil.NewSingleHostReverseProxy(target)
	direct := rp.Director
	rp.Director = func(r *http.Request) {
		direct(r)
		if r.ContentLength > 0 && r.Method == http.MethodPut {
			mu.Lock()
			bodies = append(bodies, sent{r.Method, r.URL.RawQuery, r.Header.Get("X-Amz-Content-Sha256"), r.Header.Get("X-Amz-Checksum-Crc32")})
			mu.Unlock()
			if corrupt.Load() {
				r.Body = &flipFirst{ReadCloser: r.Body}
			}
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	proxy := &http.Server{Handler: rp}
	go proxy.Serve(ln)
	t.Cleanup(func() { proxy.Close() })

	front := testserver.Start(t, testserver.Options{
		Args: []string{"--console-listen", "off", "--blobs", "s3://backbucket/prefix?endpoint=http://" + ln.Addr().String() + "&region=us-east-1"},
		Env: []string{
			"AWS_ACCESS_KEY_ID=" + back.AccessKey, "AWS_SECRET_ACCESS_KEY=" + back.SecretKey,
			"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_EC2_METADATA_DISABLED=true",
		},
	})
	fc := s3test.Client(front, s3test.Options{RetryMaxAttempts: 1})
	s3test.CreateBucket(t, fc, "front")

	small := s3test.RandBytes(8, 1<<20)     // one PutObject to the back end
	large := s3test.RandBytes(9, 12<<20+99) // two parts of 8 MiB
	s3test.Put(t, fc, "front", "small", small)
	s3test.Put(t, fc, "front", "large", large)
	got, _ := s3test.Get(t, fc, "front", "small")
	s3test.EqualBytes(t, "small object", got, small)
	got, _ = s3test.Get(t, fc, "front", "large")
	s3test.EqualBytes(t, "large object", got, large)

	mu.Lock()
	seen := append([]sent(nil), bodies...)
	mu.Unlock()
	if len(seen) != 3 {
		t.Fatalf("the back end got %d bodies, want 3 (a PutObject and two parts): %+v", len(seen), seen)
	}
	for _, s := range seen {
		if s.contentSHA256 != "UNSIGNED-PAYLOAD" {
			t.Errorf("%s ?%s: x-amz-content-sha256 %q, want UNSIGNED-PAYLOAD (no second SHA-256 of the body)", s.method, s.query, s.contentSHA256)
		}
		if len(s.crc32) != 8 { // base64 of 4 bytes
			t.Errorf("%s ?%s: x-amz-checksum-crc32 %q, want the body's CRC32", s.method, s.query, s.crc32)
		}
	}

	corrupt.Store(true)
	for _, tc := range []struct {
		key  string
		body []byte
	}{{"bad-small", small}, {"bad-large", large}} {
		_, err := s3test.PutObject(s3test.Ctx(t), fc, "front", tc.key, tc.body)
		s3test.WantAPIError(t, err, http.StatusInternalServerError, "InternalError")
		_, err = s3test.GetObject(s3test.Ctx(t), fc, "front", tc.key)
		s3test.WantAPIError(t, err, http.StatusNotFound, "NoSuchKey")
	}
}
