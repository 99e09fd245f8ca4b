package clients

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/postern/postern/internal/s3test"
	"github.com/postern/postern/internal/testserver"
)

// BenchmarkSignedPut64MiB measures what the server spends on 64 MiB PUTs of
// the shape aws-sdk-go-v2 sends over plain HTTP: SigV4 in the header, the
// payload's SHA-256 signed (so the server hashes every byte to verify it),
// and an x-amz-checksum-crc32. The payload's digests are computed once, so
// the client costs little more than the socket copy, and the server's CPU
// per GiB (server-cpu-s/GiB, from /proc) can be read with far less noise
// than in the shared-machine load runs, where the SDK's own hashing takes
// about half of the two cores. 32 uploads in flight (see docs/performance.md):
//
//	go test ./tests/clients -run '^$' -bench SignedPut64MiB -benchtime 150x
func BenchmarkSignedPut64MiB(b *testing.B) {
	const size = 64 << 20
	srv := testserver.Start(b, testserver.Options{})
	c, _ := sdkClient(b, srv)
	bucket := s3test.NewBucket(b, c, "bench")

	body := s3test.RandBytes(64, size)
	sum := sha256.Sum256(body)
	payloadHash := hex.EncodeToString(sum[:])
	var crc [4]byte
	binary.BigEndian.PutUint32(crc[:], crc32.ChecksumIEEE(body))
	crcHeader := base64.StdEncoding.EncodeToString(crc[:])
	etag := `"` + s3test.MD5Hex(body) + `"`

	creds := aws.Credentials{AccessKeyID: srv.AccessKey, SecretAccessKey: srv.SecretKey}
	signer := v4.NewSigner()
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	put := func(key string) error {
		req, err := http.NewRequest(http.MethodPut, srv.URL+"/"+bucket+"/"+key, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("x-amz-content-sha256", payloadHash)
		req.Header.Set("x-amz-checksum-crc32", crcHeader)
		if err := signer.SignHTTP(context.Background(), creds, req, payloadHash, "s3", srv.Region, time.Now()); err != nil {
			return err
		}
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("PUT %s: %d %s", key, resp.StatusCode, msg)
		}
		if got := resp.Header.Get("ETag"); got != etag {
			return fmt.Errorf("PUT %s: ETag %s, want %s", key, got, etag)
		}
		return nil
	}
	if err := put("warm-up"); err != nil {
		b.Fatal(err)
	}

	b.SetBytes(size)
	b.SetParallelism(max(1, 32/runtime.GOMAXPROCS(0)))
	cpu0 := processCPU(b, srv.PID())
	b.ResetTimer()
	start := time.Now()
	var worker atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		key := "w" + strconv.FormatInt(worker.Add(1), 10)
		for pb.Next() {
			if err := put(key); err != nil {
				b.Error(err)
				return
			}
		}
	})
	elapsed := time.Since(start)
	b.StopTimer()
	gib := float64(b.N) * size / (1 << 30)
	b.ReportMetric(gib*1024/elapsed.Seconds(), "MiB/s")
	b.ReportMetric((processCPU(b, srv.PID())-cpu0)/gib, "server-cpu-s/GiB")
}

// processCPU returns the user+system CPU seconds of process pid so far.
func processCPU(t testing.TB, pid int) float64 {
	t.Helper()
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	// The fields after the command name, which is in parentheses and may
	// contain spaces: utime and stime are the 12th and 13th of them.
	s := string(raw)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	utime, err1 := strconv.ParseFloat(f[11], 64)
	stime, err2 := strconv.ParseFloat(f[12], 64)
	if err1 != nil || err2 != nil {
		t.Fatalf("cannot parse /proc/%d/stat", pid)
	}
	const ticks = 100 // USER_HZ on Linux
	return (utime + stime) / ticks
}
