package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/postern/postern/share"
)

// BenchmarkAddAudit writes batches of 100 rows over 100 shares, as the
// Recorder does under load: ns/op is per batch, fsync included; cpu-µs/row
// is the process's CPU time per row.
func BenchmarkAddAudit(b *testing.B) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(b.TempDir(), "meta.db"), nil, WithShareCache(1000))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	t0 := time.Now().Truncate(time.Second)
	var ids []string
	for i := range 100 {
		sh := share.Share{ID: fmt.Sprintf("shr-%020d", i), AccessKey: fmt.Sprintf("PSHR%016d", i), AccountID: "111122223333",
			Creator: share.Creator{Kind: "root", ARN: "arn:aws:iam::111122223333:root", UserID: "111122223333"},
			Method:  share.MethodGet, Bucket: "b", Key: fmt.Sprintf("k%d", i), Endpoint: "http://127.0.0.1:9000",
			CreatedAt: t0, Expires: t0.Add(time.Hour)}
		if err := s.CreateShare(ctx, sh); err != nil {
			b.Fatal(err)
		}
		ids = append(ids, sh.ID)
	}
	rows := make([]share.AuditEntry, 100)
	cpu := func() time.Duration {
		var ru syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
			b.Fatal(err)
		}
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	c0 := cpu()
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		for i := range rows {
			rows[i] = share.AuditEntry{ShareID: ids[(n*7+i*13)%len(ids)], Time: t0.Add(time.Duration(n*100+i) * time.Microsecond),
				Source: "127.0.0.1", UserAgent: "wrk", Method: "GET", Status: 200, Bytes: 4096, RequestID: fmt.Sprintf("%016X", n*100+i), Counted: true}
		}
		if err := s.AddAudit(ctx, rows); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cpu()-c0)/float64(time.Microsecond)/float64(b.N*len(rows)), "cpu-µs/row")
}
