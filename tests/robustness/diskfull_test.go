package robustness

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/postern/postern/internal/s3test"
	"github.com/postern/postern/internal/testserver"
)

// smallVolume mounts a tmpfs of size bytes on a fresh folder and unmounts it
// when the test ends. It needs root (CAP_SYS_ADMIN); elsewhere the test is
// skipped.
func smallVolume(t *testing.T, size int64) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a small tmpfs for the data folder (run the tests as root to fill a real volume)")
	}
	dir, err := os.MkdirTemp("", "postern-diskfull-")
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+strconv.FormatInt(size, 10)+",mode=0700", "tmpfs", dir).CombinedOutput()
	if err != nil {
		os.Remove(dir)
		t.Skipf("cannot mount a tmpfs (%v: %s): this test needs root with CAP_SYS_ADMIN", err, strings.TrimSpace(string(out)))
	}
	// Registered before the server starts, so it runs after the server is
	// killed (cleanups run last-in, first-out).
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
			return
		}
		os.Remove(dir)
	})
	return dir
}

func volumeFree(t *testing.T, dir string) int64 {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	return int64(st.Bavail) * int64(st.Bsize)
}

// fillVolume writes a file at path until the volume has no space left, as
// another program on the same volume might, and returns its size.
func fillVolume(t *testing.T, path string) int64 {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var n int64
	for _, chunk := range []int{1 << 20, 4 << 10, 1} {
		buf := make([]byte, chunk)
		for {
			k, err := f.Write(buf)
			n += int64(k)
			if errors.Is(err, syscall.ENOSPC) {
				break
			}
			if err != nil {
				t.Fatalf("filling the volume: %v", err)
			}
		}
	}
	return n
}

// noServerError fails the test if err is a 5xx other than 507.
func noServerError(t *testing.T, what string, err error) {
	t.Helper()
	if status, code, msg := s3test.APIErr(err); status >= 500 && status != 507 {
		t.Fatalf("%s: %d %s %s (%v)", what, status, code, msg, err)
	}
}

// must fails the test on any error of an SDK call.
func mustOK(t *testing.T, what string, err error) {
	t.Helper()
	noServerError(t, what, err)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// metricValue reads one unlabelled series from /metrics (-1 if absent) and
// fails the test if any request was answered 500.
func metricValue(t *testing.T, srv *testserver.Server, name string) float64 {
	t.Helper()
	resp, err := srv.HTTPClient().Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	v := -1.0
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "postern_requests_total{") && strings.Contains(line, `status="500"`) {
			t.Errorf("a request was answered 500: %s", line)
		}
		if f := strings.Fields(line); len(f) == 2 && f[0] == name {
			v, _ = strconv.ParseFloat(f[1], 64)
		}
	}
	return v
}

// TestDiskFullNeverLocksOwnerOut fills a small data volume through PutObject
// until the server refuses uploads (507 InsufficientStorage, before the
// volume is full), then fills what is left from outside, as another program
// would. Deletes, multi-object deletes, aborts, reads and a restart must
// keep working; no request may be answered 500; once space is freed,
// uploads succeed again and the reserve is back.
func TestDiskFullNeverLocksOwnerOut(t *testing.T) {
	const volume = 64 << 20 // defaults: 8 MiB kept free, 4 MiB reserve file
	mnt := smallVolume(t, volume)
	data := filepath.Join(mnt, "data")
	srv := testserver.Start(t, testserver.Options{DataDir: data})
	c := s3test.Client(srv, s3test.Options{RetryMaxAttempts: 1})
	ctx := s3test.Ctx(t)
	const bucket = "full"
	s3test.CreateBucket(t, c, bucket)

	keep := s3test.RandBytes(1, 300<<10)
	s3test.Put(t, c, bucket, "keep", keep)
	mpu, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String("mpu")})
	mustOK(t, "CreateMultipartUpload", err)
	_, err = c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String(bucket), Key: aws.String("mpu"), UploadId: mpu.UploadId,
		PartNumber: aws.Int32(1), Body: strings.NewReader(string(s3test.RandBytes(2, 1<<20)))})
	mustOK(t, "UploadPart", err)

	// Fill through the API until the server refuses.
	obj := s3test.RandBytes(3, 1<<20)
	n := 0
	for ; ; n++ {
		if n > volume>>20 {
			t.Fatalf("%d MiB stored on a %d MiB volume without a refusal", n, volume>>20)
		}
		_, err := s3test.PutObject(ctx, c, bucket, fmt.Sprintf("fill-%03d", n), obj)
		if err == nil {
			continue
		}
		s3test.WantAPIError(t, err, 507, "InsufficientStorage")
		break
	}
	if n < 8 {
		t.Fatalf("only %d objects of 1 MiB fit on a %d MiB volume", n, volume>>20)
	}
	// Small (inline) objects, which go to the metadata store, are refused
	// too once they no longer fit above the free space kept.
	for i := 0; ; i++ {
		if i > 64 {
			t.Fatal("small objects still accepted after 2 MiB of them")
		}
		_, err := s3test.PutObject(ctx, c, bucket, fmt.Sprintf("small-%02d", i), s3test.RandBytes(uint64(i), 32<<10))
		if err != nil {
			s3test.WantAPIError(t, err, 507, "InsufficientStorage")
			break
		}
	}
	// Metadata grows a little past what the upload itself weighs, so allow
	// some slack below the 8 MiB kept free; the 4 MiB reserve is intact.
	if free := volumeFree(t, mnt); free < 7<<20 {
		t.Errorf("uploads were accepted down to %d bytes free, well below --disk-min-free (8 MiB)", free)
	}
	if metricValue(t, srv, "postern_disk_reserve_bytes") != 4<<20 {
		t.Errorf("postern_disk_reserve_bytes: want %d", 4<<20)
	}
	if v := metricValue(t, srv, "postern_disk_free_bytes"); v <= 0 || v > volume {
		t.Errorf("postern_disk_free_bytes = %v", v)
	}

	// Another program takes every byte left: the volume is 100 % full.
	filler := filepath.Join(mnt, "filler")
	fillVolume(t, filler)
	if free := volumeFree(t, mnt); free != 0 {
		t.Fatalf("volume not full: %d bytes free", free)
	}

	got, err := s3test.GetObject(ctx, c, bucket, "keep")
	mustOK(t, "GetObject keep on a full volume", err)
	s3test.EqualBytes(t, "keep", got, keep)

	_, err = c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String("fill-000")})
	mustOK(t, "DeleteObject on a full volume", err)
	if _, err := s3test.GetObject(ctx, c, bucket, "fill-000"); err == nil {
		t.Fatal("fill-000 still readable after DeleteObject")
	}
	dres, err := c.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String(bucket), Delete: &types.Delete{Objects: []types.ObjectIdentifier{
		{Key: aws.String("fill-001")}, {Key: aws.String("fill-002")},
	}}})
	mustOK(t, "DeleteObjects on a full volume", err)
	if len(dres.Errors) != 0 || len(dres.Deleted) != 2 {
		t.Fatalf("DeleteObjects: deleted %d, errors %+v", len(dres.Deleted), dres.Errors)
	}
	_, err = c.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String("mpu"), UploadId: mpu.UploadId})
	mustOK(t, "AbortMultipartUpload on a full volume", err)
	if metricValue(t, srv, "postern_disk_reserve_bytes") != 0 {
		t.Errorf("postern_disk_reserve_bytes: want 0 once the reserve was released")
	}

	if !strings.Contains(srv.Logs(), "released the reserve file") {
		// (The log is flushed every 200 ms; this only reads what is there.)
		t.Logf("the log does not say yet that the reserve was released")
	}

	// Restart on the volume as it is: the reserve is gone, the filler
	// still there, uploads still refused. A graceful stop flushes the log.
	if err := srv.Stop(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	srv.Restart()
	got, err = s3test.GetObject(ctx, c, bucket, "fill-003")
	mustOK(t, "GetObject after restart", err)
	s3test.EqualBytes(t, "fill-003", got, obj)
	_, err = c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String("fill-003")})
	mustOK(t, "DeleteObject after restart on a full volume", err)
	_, err = s3test.PutObject(ctx, c, bucket, "refused", obj)
	s3test.WantAPIError(t, err, 507, "InsufficientStorage")

	// The owner frees space: uploads work again, without a restart.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	for i := 4; i < n/2; i++ {
		_, err = c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(fmt.Sprintf("fill-%03d", i))})
		mustOK(t, "DeleteObject", err)
	}
	_, err = s3test.PutObject(ctx, c, bucket, "after", obj)
	mustOK(t, "PutObject after freeing space", err)
	got, err = s3test.GetObject(ctx, c, bucket, "after")
	mustOK(t, "GetObject after", err)
	s3test.EqualBytes(t, "after", got, obj)
	if v := metricValue(t, srv, "postern_disk_reserve_bytes"); v != 4<<20 {
		t.Errorf("postern_disk_reserve_bytes = %v after freeing space, want %d (reserve allocated again)", v, 4<<20)
	}

	if err := srv.Stop(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	logs := srv.Logs()
	if !strings.Contains(logs, "released the reserve file") {
		t.Errorf("the log does not say that the reserve was released")
	}
	if k := strings.Count(logs, "disk nearly full"); k != 2 {
		t.Errorf("the log says %d times that the disk is nearly full, want once per process (2)", k)
	}
	if k := strings.Count(logs, "disk space recovered"); k != 1 {
		t.Errorf("the log says %d times that disk space recovered, want 1", k)
	}
}

// TestDiskFullWithoutReserveAnswers507 turns the thresholds off, so that
// uploads run the volume dry: object bytes, then small objects stored in the
// metadata database. Every failure must be 507 InsufficientStorage, never
// 500, and the server must recover by itself once space is freed.
func TestDiskFullWithoutReserveAnswers507(t *testing.T) {
	mnt := smallVolume(t, 32<<20)
	// Space the test frees at the end, as an operator would.
	ballast := filepath.Join(mnt, "ballast")
	if err := os.WriteFile(ballast, make([]byte, 4<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := testserver.Start(t, testserver.Options{DataDir: filepath.Join(mnt, "data"),
		Args: []string{"--disk-min-free", "0", "--disk-reserve", "0"}})
	c := s3test.Client(srv, s3test.Options{RetryMaxAttempts: 1})
	ctx := s3test.Ctx(t)
	const bucket = "dry"
	s3test.CreateBucket(t, c, bucket)

	obj := s3test.RandBytes(4, 1<<20)
	for i := 0; ; i++ {
		if i > 32 {
			t.Fatal("no refusal after 32 MiB on a 32 MiB volume")
		}
		_, err := s3test.PutObject(ctx, c, bucket, fmt.Sprintf("big-%03d", i), obj)
		if err != nil {
			s3test.WantAPIError(t, err, 507, "InsufficientStorage")
			break
		}
	}
	// Objects small enough to live in the metadata database, until it
	// cannot grow either.
	small := s3test.RandBytes(5, 32<<10)
	for i := 0; ; i++ {
		if i > 2000 {
			t.Fatal("no refusal of small objects on a full volume")
		}
		_, err := s3test.PutObject(ctx, c, bucket, fmt.Sprintf("small-%04d", i), small)
		if err != nil {
			s3test.WantAPIError(t, err, 507, "InsufficientStorage")
			break
		}
	}
	fillVolume(t, filepath.Join(mnt, "filler"))
	// With no reserve, a delete may fail for lack of space, but as 507.
	_, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String("big-000")})
	noServerError(t, "DeleteObject on a dry volume", err)
	if err != nil {
		s3test.WantAPIError(t, err, 507, "InsufficientStorage")
	}

	// The operator frees space: everything works again, without a restart.
	os.Remove(ballast)
	os.Remove(filepath.Join(mnt, "filler"))
	_, err = c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String("big-001")})
	mustOK(t, "DeleteObject after freeing space", err)
	_, err = s3test.PutObject(ctx, c, bucket, "after", obj)
	mustOK(t, "PutObject after freeing space", err)
	metricValue(t, srv, "postern_disk_free_bytes")
	if strings.Contains(srv.Logs(), "panic") {
		t.Errorf("server log mentions a panic")
	}
}
