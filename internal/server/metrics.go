package server

import (
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/postern/postern/diskspace"
	"github.com/postern/postern/share"
	"github.com/postern/postern/share/webhook"
)

// metrics are the server's Prometheus metrics, registered on their own registry.
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	bytesIn  prometheus.Counter
	bytesOut prometheus.Counter

	mu   sync.RWMutex
	byOp map[opStatus]opMetrics
}

func newMetrics() *metrics {
	m := &metrics{
		byOp: map[opStatus]opMetrics{},
		reg:  prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "postern_requests_total", Help: "S3 API requests by operation and HTTP status.",
		}, []string{"op", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "postern_request_duration_seconds", Help: "S3 API request latency by operation.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"op"}),
		bytesIn:  prometheus.NewCounter(prometheus.CounterOpts{Name: "postern_bytes_received_total", Help: "Request body bytes received."}),
		bytesOut: prometheus.NewCounter(prometheus.CounterOpts{Name: "postern_bytes_sent_total", Help: "Response body bytes sent."}),
	}
	m.reg.MustRegister(m.requests, m.latency, m.bytesIn, m.bytesOut,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// watchCPU exports whether the machine's CPUs are saturated (package
// cpusat): large uploads' MD5s and SHA-256s then go through bodyhash's feeder.
func (m *metrics) watchCPU(saturated func() bool) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "postern_cpu_saturated",
		Help: "1 while the machine's CPUs are under 20 % idle (large uploads' MD5s are then batched), else 0.",
	}, func() float64 {
		if saturated() {
			return 1
		}
		return 0
	}))
}

// watchDisk exports the data volume's free space and the thresholds that
// keep it from filling up (package diskspace). Free space is measured at
// each scrape.
func (m *metrics) watchDisk(g *diskspace.Guard) {
	gauge := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f)
	}
	m.reg.MustRegister(
		gauge("postern_disk_free_bytes", "Bytes free on the data volume (the reserve file does not count as free).", func() float64 {
			s, _ := g.Refresh()
			return float64(s.Free)
		}),
		gauge("postern_disk_total_bytes", "Size of the data volume in bytes.", func() float64 { return float64(g.Total()) }),
		gauge("postern_disk_min_free_bytes", "Free space uploads must leave (--disk-min-free).", func() float64 { return float64(g.Limits().MinFree) }),
		gauge("postern_disk_reserve_bytes", "Bytes held by the reserve file now: --disk-reserve, or 0 while it is released.", func() float64 { return float64(g.Reserve()) }),
		gauge("postern_disk_reserve_size_bytes", "Configured size of the reserve file (--disk-reserve).", func() float64 { return float64(g.Limits().Reserve) }),
		gauge("postern_disk_nearly_full", "1 while uploads are refused for lack of space (507 InsufficientStorage), else 0.", func() float64 {
			if g.NearlyFull() {
				return 1
			}
			return 0
		}),
	)
}

// watchShareAudit exports the share audit recorder's queue, batches and
// drops.
func (m *metrics) watchShareAudit(r *share.Recorder) {
	m.reg.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "postern_share_audit_dropped_total",
			Help: "Share audit rows dropped: the queue stayed full past the back-pressure wait, or the store failed to write them.",
		}, func() float64 { return float64(r.Dropped()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "postern_share_audit_batches_total",
			Help: "Share audit batches written (one database transaction each).",
		}, func() float64 { return float64(r.Batches()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "postern_share_audit_queue_length",
			Help: "Share audit rows waiting to be written.",
		}, func() float64 { return float64(r.QueueLen()) }),
	)
}

// opMetrics are the series of one operation and status, looked up once.
type opMetrics struct {
	requests prometheus.Counter
	latency  prometheus.Observer
}

type opStatus struct {
	op     string
	status int
}

func (m *metrics) series(op string, status int) opMetrics {
	k := opStatus{op, status}
	m.mu.RLock()
	s, ok := m.byOp[k]
	m.mu.RUnlock()
	if ok {
		return s
	}
	s = opMetrics{m.requests.WithLabelValues(op, strconv.Itoa(status)), m.latency.WithLabelValues(op)}
	m.mu.Lock()
	m.byOp[k] = s // bounded: operations × statuses
	m.mu.Unlock()
	return s
}

func (m *metrics) observe(op string, status int, in, out int64, d time.Duration) {
	s := m.series(op, status)
	s.requests.Inc()
	s.latency.Observe(d.Seconds())
	m.bytesIn.Add(float64(in))
	m.bytesOut.Add(float64(out))
}

// watchShareWebhooks exports the share notifications' counters.
func (m *metrics) watchShareWebhooks(n *webhook.Notifier) {
	counter := func(name, help string, f func(webhook.Stats) uint64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, func() float64 { return float64(f(n.Stats())) })
	}
	m.reg.MustRegister(
		counter("postern_share_webhook_delivered_total", "Share notifications delivered (answered 2xx).", func(s webhook.Stats) uint64 { return s.Delivered }),
		counter("postern_share_webhook_failed_total", "Share notifications given up: a final answer, a refused address, or retries exhausted.", func(s webhook.Stats) uint64 { return s.Failed }),
		counter("postern_share_webhook_dropped_total", "Share notifications dropped because the queue was full.", func(s webhook.Stats) uint64 { return s.Dropped }),
		counter("postern_share_webhook_retries_total", "Share notification attempts after the first.", func(s webhook.Stats) uint64 { return s.Retries }),
	)
}
