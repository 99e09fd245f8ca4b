package clients

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/postern/postern/internal/s3test"
	"github.com/postern/postern/internal/testserver"
)

// While the machine's CPUs are saturated, large uploads' MD5s go through
// md5pool's feeder. Saturate them, wait until the server says so on
// /metrics, and check that concurrent SDK uploads still get their MD5 as
// ETag and read back byte for byte.
func TestUploadsWhileCPUSaturated(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	c, _ := sdkClient(t, srv)
	bucket := s3test.NewBucket(t, c, "saturated")
	if v := metricValue(t, scrapeMetrics(t, srv), "postern_cpu_saturated"); v != 0 && v != 1 {
		t.Fatalf("postern_cpu_saturated = %v", v)
	}

	var stop atomic.Bool
	var burners sync.WaitGroup
	for i := 0; i < runtime.NumCPU(); i++ {
		burners.Add(1)
		go func() {
			defer burners.Done()
			for !stop.Load() { // keep this CPU busy
			}
		}()
	}
	defer func() { stop.Store(true); burners.Wait() }()
	deadline := time.Now().Add(20 * time.Second)
	for metricValue(t, scrapeMetrics(t, srv), "postern_cpu_saturated") != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the server never reported the CPUs saturated while every CPU was busy")
		}
		time.Sleep(100 * time.Millisecond)
	}

	// Eight large bodies at once: md5-simd from the fourth on (md5pool).
	const n = 8
	var wg sync.WaitGroup
	errs := make(chan string, 3*n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := "big/" + string(rune('a'+i))
			body := s3test.RandBytes(uint64(100+i), 3<<20+i*4099)
			want := s3test.Quoted(s3test.MD5Hex(body))
			out, err := s3test.PutObject(s3test.Ctx(t), c, bucket, key, body)
			if err != nil {
				errs <- key + ": " + err.Error()
				return
			}
			if aws.ToString(out.ETag) != want {
				errs <- key + ": PUT ETag " + aws.ToString(out.ETag) + ", want " + want
			}
			head, err := c.HeadObject(s3test.Ctx(t), &s3.HeadObjectInput{Bucket: &bucket, Key: &key})
			if err != nil || aws.ToString(head.ETag) != want {
				errs <- key + ": HEAD ETag differs or failed"
			}
			got, err := s3test.GetObject(s3test.Ctx(t), c, bucket, key)
			if err != nil || string(got) != string(body) {
				errs <- key + ": GET returned other bytes or failed"
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if v := metricValue(t, scrapeMetrics(t, srv), "postern_cpu_saturated"); v != 1 {
		t.Logf("the CPUs were no longer saturated after the uploads (%v)", v)
	}
}
