// Package md5pool hands out MD5 digests for object bodies. When several
// large bodies are being hashed at once it uses github.com/minio/md5-simd,
// which hashes up to 16 streams in parallel with AVX2/AVX-512 and doubles the
// aggregate MD5 throughput of a loaded server; a lone stream gets the
// standard library's MD5, which is faster for one stream.
package md5pool

import (
	"crypto/md5"
	"hash"
	"sync"
	"sync/atomic"

	md5simd "github.com/minio/md5-simd"
)

// Thresholds: bodies below MinSize are hashed with crypto/md5; SIMD is used
// once MinConcurrent large bodies (counting the new one) are in flight.
const (
	MinSize       = 1 << 20
	MinConcurrent = 4
)

// Pool is safe for concurrent use. The zero value is not usable; call New.
type Pool struct {
	once   sync.Once
	srv    md5simd.Server
	active atomic.Int32
}

// New returns a Pool; its SIMD server starts on first use.
func New() *Pool { return &Pool{} }

// Get returns an MD5 digest for a body of the given size (-1 if unknown)
// and a release function to call once the digest's Sum has been taken.
func (p *Pool) Get(size int64) (hash.Hash, func()) {
	if size < MinSize {
		return md5.New(), func() {}
	}
	n := p.active.Add(1)
	if n < MinConcurrent {
		return md5.New(), func() { p.active.Add(-1) }
	}
	p.once.Do(func() { p.srv = md5simd.NewServer() })
	h := p.srv.NewHash()
	return h, func() {
		h.Close()
		p.active.Add(-1)
	}
}
