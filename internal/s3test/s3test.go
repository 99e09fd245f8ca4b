// Package s3test holds the helpers the end-to-end test packages under tests/
// share: an aws-sdk-go-v2 S3 client for a testserver.Server, the environment
// for CLI clients, a raw SigV4 signer, S3 error bodies, bucket and object
// shortcuts, deterministic data and byte comparisons.
//
// It is test support code: helpers take a testing.TB and fail the test on
// anything unexpected.
package s3test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Ctx returns a context bounded by a generous per-call timeout (2 minutes),
// cancelled when t ends.
func Ctx(t testing.TB) context.Context {
	t.Helper()
	return CtxTimeout(t, 2*time.Minute)
}

// CtxTimeout returns a context bounded by d, cancelled when t ends.
func CtxTimeout(t testing.TB, d time.Duration) context.Context {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return c
}

var bucketSeq atomic.Int64

// BucketName returns a fresh valid bucket name starting with prefix.
func BucketName(prefix string) string {
	return fmt.Sprintf("%s-%d-%d", prefix, time.Now().UnixNano()%1e6, bucketSeq.Add(1))
}

// CreateBucket creates bucket b with the SDK.
func CreateBucket(t testing.TB, c *s3.Client, b string) {
	t.Helper()
	if _, err := c.CreateBucket(Ctx(t), &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
		t.Fatalf("CreateBucket %s: %v", b, err)
	}
}

// NewBucket creates a fresh bucket (see BucketName) with the SDK and returns
// its name.
func NewBucket(t testing.TB, c *s3.Client, prefix string) string {
	t.Helper()
	b := BucketName(prefix)
	CreateBucket(t, c, b)
	return b
}

// PutObject stores body at bucket/key with a plain PutObject.
func PutObject(ctx context.Context, c *s3.Client, bucket, key string, body []byte) (*s3.PutObjectOutput, error) {
	return c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body)})
}

// Put stores body at bucket/key with a plain PutObject and fails the test
// on an error.
func Put(t testing.TB, c *s3.Client, bucket, key string, body []byte) *s3.PutObjectOutput {
	t.Helper()
	out, err := PutObject(Ctx(t), c, bucket, key, body)
	if err != nil {
		t.Fatalf("PutObject %s/%q: %v", bucket, key, err)
	}
	return out
}

// GetObject reads bucket/key whole; the error is the GetObject call's or
// the body read's.
func GetObject(ctx context.Context, c *s3.Client, bucket, key string) ([]byte, error) {
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return nil, err
	}
	defer out.Body.Close()
	return io.ReadAll(out.Body)
}

// Get reads bucket/key whole and returns its bytes and the output (for
// metadata); any error fails the test.
func Get(t testing.TB, c *s3.Client, bucket, key string) ([]byte, *s3.GetObjectOutput) {
	t.Helper()
	out, err := c.GetObject(Ctx(t), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("GetObject %s/%q: %v", bucket, key, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatalf("GetObject %s/%q: read body: %v", bucket, key, err)
	}
	return b, out
}

// RandBytes returns n pseudo-random bytes from a fixed seed, so failures repeat.
func RandBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := 0; i+8 <= n; i += 8 {
		binary.LittleEndian.PutUint64(b[i:], r.Uint64())
	}
	for i := n - n%8; i < n; i++ {
		b[i] = byte(r.Uint32())
	}
	return b
}

// MD5Hex is the hex MD5 of b (a single-part object's ETag, unquoted).
func MD5Hex(b []byte) string {
	s := md5.Sum(b)
	return hex.EncodeToString(s[:])
}

// Quoted is how S3 sends ETags.
func Quoted(s string) string { return `"` + s + `"` }

// MultipartETag is S3's quoted ETag of a multipart object: md5 of the parts'
// binary md5s, then "-" and the part count.
func MultipartETag(parts ...[]byte) string {
	var cat []byte
	for _, p := range parts {
		s := md5.Sum(p)
		cat = append(cat, s[:]...)
	}
	return Quoted(fmt.Sprintf("%s-%d", MD5Hex(cat), len(parts)))
}

// ShortBody is a readable description of a body for failure messages: at
// most max bytes of it, quoted.
func ShortBody(b []byte, max int) string {
	if len(b) > max {
		return fmt.Sprintf("%q… (%d bytes)", b[:max], len(b))
	}
	return fmt.Sprintf("%q", b)
}

// EqualBytes fails unless got and want are byte-identical, naming the first
// difference.
func EqualBytes(t testing.TB, what string, got, want []byte) {
	t.Helper()
	EqualBytesDescribed(t, what, got, want, func(b []byte) string { return ShortBody(b, 64) })
}

// EqualBytesDescribed is EqualBytes with describe summarising got in the
// failure message.
func EqualBytesDescribed(t testing.TB, what string, got, want []byte, describe func([]byte) string) {
	t.Helper()
	if !bytes.Equal(got, want) {
		i := 0
		for i < len(got) && i < len(want) && got[i] == want[i] {
			i++
		}
		t.Fatalf("%s: got %d bytes, want %d; first difference at byte %d (got %s)", what, len(got), len(want), i, describe(got))
	}
}
