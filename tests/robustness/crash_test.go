package robustness

// TestCrashSafety is a history-checking crash test in the manner of etcd's
// tests/robustness: concurrent writers record every write they start and how
// it ended; the server is killed with SIGKILL at a random moment; after a
// restart on the same data folder the state is checked against a model of
// the values each key may hold.
//
// The model. For each key: the value observed at the previous check (or
// "absent"), then every write since, each acknowledged (200, with the times it
// was sent and answered), failed (a definite S3 error: it must not have taken
// effect) or in flight (no answer: the kill cut it off, it may or may not
// have taken effect). A write W may be the key's value unless an acknowledged
// write W2 to the same key was sent after W was acknowledged (W2 then
// happened-after W and must have replaced it). The previously observed value
// may remain only if no write since was acknowledged. In-flight writes are
// never superseded, since their end is unknown.
//
// What each check catches:
//
//	| check                                                   | catches                                                         |
//	|---------------------------------------------------------|-----------------------------------------------------------------|
//	| GET bytes' SHA-256 ∈ allowed values                     | lost acknowledged writes (metadata or blob not durable), stale  |
//	|                                                         | value resurrected, torn/mixed bytes, blob of another object     |
//	| key absent only if no write was acknowledged            | acknowledged PUT whose metadata commit was not durable          |
//	| GET length, ETag = the matched write's size, ETag       | metadata from one write pointing at another write's blob,       |
//	|                                                         | truncated blob (size in metadata ≠ bytes on disk)               |
//	| HEAD Content-Length / ETag / Last-Modified = GET's      | HEAD and GET reading different rows or versions                 |
//	| every present key is listed, with GET's size and ETag   | listing index out of step with object rows                      |
//	| no listed key that was never acknowledged or in flight  | phantom keys (e.g. failed writes that still took effect)        |
//	| listed key must answer GET                              | listed object whose blob or row is gone (dangling reference)    |
//	| blob files = Σ objects' parts + pending uploads' parts  | orphans the start-up sweep missed (leak), or blobs deleted that |
//	|                                                         | are still referenced (incl. 0-byte objects GET never opens)     |
//	| server restarts and answers /health/ready               | database left unopenable by a crash                             |

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/postern/postern/internal/s3test"
	"github.com/postern/postern/internal/testserver"
)

type writeState int

const (
	inFlight writeState = iota
	acked
	failed
)

// value is one possible content of a key.
type value struct {
	sha   string
	size  int64
	etag  string
	parts []string // multipart only: the parts' ETags (MD5s), one blob file each
}

type write struct {
	v          value
	start, end time.Time
	state      writeState
	multipart  bool
}

type keyHistory struct {
	base   *value // observed at the previous check; nil = absent
	writes []*write
}

// allowed returns the values the key may hold and whether it may be absent.
func (h *keyHistory) allowed() (vals []value, absentOK bool) {
	var ack []*write
	for _, w := range h.writes {
		if w.state == acked {
			ack = append(ack, w)
		}
	}
	for _, w := range h.writes {
		if w.state == failed {
			continue
		}
		superseded := false
		if w.state == acked {
			for _, a := range ack {
				if a.start.After(w.end) {
					superseded = true
					break
				}
			}
		}
		if !superseded {
			vals = append(vals, w.v)
		}
	}
	if len(ack) == 0 {
		if h.base != nil {
			vals = append(vals, *h.base)
		} else {
			absentOK = true
		}
	}
	return vals, absentOK
}

type model struct {
	mu   sync.Mutex
	keys map[string]*keyHistory
}

func (m *model) begin(key string, v value, multipart bool) *write {
	m.mu.Lock()
	defer m.mu.Unlock()
	h := m.keys[key]
	if h == nil {
		h = &keyHistory{}
		m.keys[key] = h
	}
	w := &write{v: v, start: time.Now(), multipart: multipart}
	h.writes = append(h.writes, w)
	return w
}

func (m *model) end(w *write, st writeState) {
	now := time.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	w.end, w.state = now, st
}

const (
	crashWriters = 16
	crashRounds  = 4
	hotKeys      = 8
	crashBucket  = "crash"
	// Each round's minimum before the kill: acknowledged single PUTs (and one
	// completed multipart upload); then up to crashMaxExtraOps more
	// operations end before it. A round whose operations fail this often is
	// stopped: the server is not accepting writes.
	crashMinPuts     = 8
	crashMaxExtraOps = 48
	crashMaxFailures = 1000
)

func TestCrashSafety(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{})
	newClient(srv).createBucket(t, crashBucket)
	m := &model{keys: map[string]*keyHistory{}}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	var seq atomic.Uint64
	stats := map[string]int{}

	for round := 0; round < crashRounds; round++ {
		c := newClient(srv)
		var stop atomic.Bool
		var wg sync.WaitGroup
		var mu sync.Mutex
		// The round's progress, counted as operations end; each end also
		// wakes the waiter below (a pending wake-up is enough: it re-reads
		// the counters).
		var ops, putsAcked, multipartsAcked, failures atomic.Int64
		progress := make(chan struct{}, 1)
		for w := 0; w < crashWriters; w++ {
			wrng := rand.New(rand.NewPCG(seed, uint64(round*1000+w+2)))
			wg.Add(1)
			go func() {
				defer wg.Done()
				for !stop.Load() {
					kind := crashOp(c, m, wrng, &seq, w)
					mu.Lock()
					stats[kind]++
					mu.Unlock()
					switch {
					case kind == "put-acked":
						putsAcked.Add(1)
					case kind == "multipart-acked":
						multipartsAcked.Add(1)
					case !strings.HasSuffix(kind, "-acked-bad-etag"):
						failures.Add(1)
					}
					ops.Add(1)
					select {
					case progress <- struct{}{}:
					default:
					}
				}
			}()
		}
		// The kill comes once the round has done enough to mean something
		// (acknowledged PUTs and a completed multipart upload), then after a
		// random number of further operations: a random point in the
		// workload, whatever the machine's speed.
		waitFor := func(what string, cond func() bool) {
			for !cond() {
				<-progress
				if n := failures.Load(); n > crashMaxFailures && !cond() {
					stop.Store(true)
					wg.Wait()
					t.Fatalf("round %d: %d operations failed before %s; stats %v", round, n, what, stats)
				}
			}
		}
		waitFor("the minimum workload", func() bool {
			return putsAcked.Load() >= crashMinPuts && multipartsAcked.Load() >= 1
		})
		more := int64(rng.IntN(crashMaxExtraOps + 1))
		base := ops.Load()
		waitFor("the kill point", func() bool { return ops.Load() >= base+more })
		nops, nputs, nmultiparts := ops.Load(), putsAcked.Load(), multipartsAcked.Load()
		srv.Kill()
		stop.Store(true)
		wg.Wait()
		c.hc.CloseIdleConnections()
		t.Logf("round %d: killed after %d operations ended (%d PUTs and %d multipart uploads acknowledged; %d operations after the minimum)",
			round, nops, nputs, nmultiparts, nops-base)
		srv.Restart()
		checkCrashState(t, srv, m, round)
		if t.Failed() {
			t.FailNow()
		}
	}
	t.Logf("operations: %v; keys: %d", stats, len(m.keys))
	if n := stats["put-acked-bad-etag"]; n > 0 {
		t.Errorf("%d acknowledged PUTs answered an ETag that is not the MD5 of the body", n)
	}
	if stats["put-acked"] == 0 || stats["multipart-acked"] == 0 {
		t.Errorf("workload too small to mean anything: %v", stats)
	}
}

// crashOp runs one write and records it in the model; it returns a label for
// statistics.
func crashOp(c *client, m *model, rng *rand.Rand, seq *atomic.Uint64, writer int) string {
	var key string
	if rng.IntN(2) == 0 {
		key = fmt.Sprintf("hot/%d", rng.IntN(hotKeys))
	} else {
		key = fmt.Sprintf("new/%02d/%06d", writer, seq.Add(1))
	}
	dseed := seq.Add(1) << 8
	var size int
	switch r := rng.IntN(20); {
	case r == 0:
		size = 0
	case r < 10:
		size = rng.IntN(64 << 10)
	case r < 18:
		size = rng.IntN(2<<20 + 1)
	default:
		return crashMultipart(c, m, rng, key, dseed)
	}
	data := genData(dseed, size)
	w := m.begin(key, value{sha: s3test.SHA256Hex(data), size: int64(size), etag: s3test.MD5Hex(data)}, false)
	resp, err := c.do(http.MethodPut, "/"+crashBucket+"/"+key, "", nil, data)
	switch {
	case err != nil:
		return "put-inflight" // stays in flight: outcome unknown
	case resp.Status == 200:
		if etagOf(resp.Header) != w.v.etag {
			// Acknowledged with a wrong ETag: record as acked anyway; the
			// check after restart compares the stored ETag.
			m.end(w, acked)
			return "put-acked-bad-etag"
		}
		m.end(w, acked)
		return "put-acked"
	default:
		m.end(w, failed)
		return fmt.Sprintf("put-%d", resp.Status)
	}
}

func crashMultipart(c *client, m *model, rng *rand.Rand, key string, dseed uint64) string {
	path := "/" + crashBucket + "/" + key
	resp, err := c.do(http.MethodPost, path, "uploads", nil, nil)
	if err != nil || resp.Status != 200 {
		return "multipart-create-failed"
	}
	var ir initiateResult
	if err := unmarshalXML(resp.Body, &ir); err != nil || ir.UploadID == "" {
		return "multipart-create-bad-xml"
	}
	parts := [][]byte{genData(dseed+1, 5<<20), genData(dseed+2, rng.IntN(512<<10))}
	var etags []string
	for i, p := range parts {
		q := fmt.Sprintf("partNumber=%d&uploadId=%s", i+1, url.QueryEscape(ir.UploadID))
		resp, err := c.do(http.MethodPut, path, q, nil, p)
		if err != nil || resp.Status != 200 {
			return "multipart-part-failed"
		}
		etags = append(etags, etagOf(resp.Header))
	}
	all := append(append([]byte{}, parts[0]...), parts[1]...)
	w := m.begin(key, value{sha: s3test.SHA256Hex(all), size: int64(len(all)), etag: multipartETag(parts), parts: []string{s3test.MD5Hex(parts[0]), s3test.MD5Hex(parts[1])}}, true)
	resp, err = c.do(http.MethodPost, path, "uploadId="+url.QueryEscape(ir.UploadID), nil, completeXML(etags))
	switch {
	case err != nil:
		return "multipart-inflight"
	case resp.Status == 200 && strings.Contains(string(resp.Body), "CompleteMultipartUploadResult"):
		m.end(w, acked)
		return "multipart-acked"
	case resp.Status == 200:
		// S3 may report a late failure inside a 200 body: the outcome is unknown.
		return "multipart-200-error"
	default:
		m.end(w, failed)
		return fmt.Sprintf("multipart-%d", resp.Status)
	}
}

type listedObject struct {
	size int64
	etag string
}

// checkCrashState checks the restarted server against the model, then makes
// the observed state the model's base for the next round.
func checkCrashState(t *testing.T, srv *testserver.Server, m *model, round int) {
	c := newClient(srv)
	errorf := func(format string, args ...any) {
		t.Helper()
		t.Errorf("round %d: "+format, append([]any{round}, args...)...)
	}

	// Listing, pending uploads and blob files first, before anything else can
	// change the data folder.
	listed := map[string]listedObject{}
	token := ""
	for {
		q := "list-type=2&max-keys=1000"
		if token != "" {
			q += "&continuation-token=" + url.QueryEscape(token)
		}
		resp := c.must(t, 200, http.MethodGet, "/"+crashBucket, q, nil, nil)
		var lr listBucketResult
		if err := unmarshalXML(resp.Body, &lr); err != nil {
			t.Fatalf("listing: %v", err)
		}
		for _, o := range lr.Contents {
			listed[o.Key] = listedObject{o.Size, strings.Trim(o.ETag, `"`)}
		}
		if !lr.IsTruncated {
			break
		}
		token = lr.NextContinuationToken
	}
	resp := c.must(t, 200, http.MethodGet, "/"+crashBucket, "uploads", nil, nil)
	var lu listUploadsResult
	if err := unmarshalXML(resp.Body, &lu); err != nil {
		t.Fatalf("listing uploads: %v", err)
	}
	if lu.IsTruncated {
		t.Fatalf("more than 1000 pending uploads")
	}
	var pendingParts []string
	for _, u := range lu.Uploads {
		resp := c.must(t, 200, http.MethodGet, "/"+crashBucket+"/"+u.Key, "uploadId="+url.QueryEscape(u.UploadID), nil, nil)
		var lp listPartsResult
		if err := unmarshalXML(resp.Body, &lp); err != nil {
			t.Fatalf("listing parts: %v", err)
		}
		for _, p := range lp.Parts {
			pendingParts = append(pendingParts, strings.Trim(p.ETag, `"`))
		}
	}

	// Every key ever written: GET and HEAD against the model.
	m.mu.Lock()
	keys := make([]string, 0, len(m.keys))
	for k := range m.keys {
		keys = append(keys, k)
	}
	m.mu.Unlock()
	sort.Strings(keys)
	type observed struct {
		key string
		v   *value
	}
	results := make(chan observed, len(keys))
	work := make(chan string)
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for key := range work {
				v := checkKey(c, m.keys[key], key, listed, errorf)
				results <- observed{key, v}
			}
		}()
	}
	for _, k := range keys {
		work <- k
	}
	close(work)
	wg.Wait()
	close(results)
	observedVals := map[string]*value{}
	for o := range results {
		h := m.keys[o.key]
		h.base, h.writes = o.v, nil
		observedVals[o.key] = o.v
	}
	checkBlobFiles(t, srv, listed, observedVals, pendingParts, errorf)
	for k := range listed {
		if _, ok := m.keys[k]; !ok {
			errorf("listing shows %q, which was never written", k)
		}
	}
	checkHealthy(t, srv)
}

// checkKey reads one key and checks it against its history; it returns the
// value found (nil: absent).
func checkKey(c *client, h *keyHistory, key string, listed map[string]listedObject, errorf func(string, ...any)) *value {
	path := "/" + crashBucket + "/" + key
	vals, absentOK := h.allowed()
	get, err := c.do(http.MethodGet, path, "", nil, nil)
	if err != nil {
		errorf("GET %s: %v", key, err)
		return nil
	}
	head, err := c.do(http.MethodHead, path, "", nil, nil)
	if err != nil {
		errorf("HEAD %s: %v", key, err)
		return nil
	}
	lo, isListed := listed[key]
	if get.Status == 404 {
		if head.Status != 404 {
			errorf("%s: GET 404 but HEAD %d", key, head.Status)
		}
		if isListed {
			errorf("%s: listed (size %d) but GET answers 404: %s", key, lo.size, get)
		}
		if !absentOK {
			errorf("%s: absent after restart, but a write was acknowledged (allowed: %s)", key, describe(vals))
		}
		return nil
	}
	if get.Status != 200 {
		errorf("%s: GET %s", key, get)
		return nil
	}
	sum := s3test.SHA256Hex(get.Body)
	var match *value
	for i := range vals {
		if vals[i].sha == sum {
			match = &vals[i]
			break
		}
	}
	got := &value{sha: sum, size: int64(len(get.Body)), etag: etagOf(get.Header)}
	if match != nil {
		got.parts = match.parts
	}
	if match == nil {
		errorf("%s: holds %d bytes (sha256 %.12s, ETag %s) that are none of the allowed values %s (absent allowed: %v)",
			key, len(get.Body), sum, got.etag, describe(vals), absentOK)
		return got
	}
	if got.etag != match.etag {
		errorf("%s: bytes match a write of %d bytes but ETag is %s, want %s", key, match.size, got.etag, match.etag)
	}
	if cl := get.Header.Get("Content-Length"); cl != fmt.Sprint(len(get.Body)) {
		errorf("%s: GET Content-Length %s but %d bytes", key, cl, len(get.Body))
	}
	if head.Status != 200 {
		errorf("%s: GET 200 but HEAD %d", key, head.Status)
	} else {
		if head.Header.Get("Content-Length") != fmt.Sprint(len(get.Body)) || etagOf(head.Header) != got.etag ||
			head.Header.Get("Last-Modified") != get.Header.Get("Last-Modified") {
			errorf("%s: HEAD (len %s, ETag %s, %s) disagrees with GET (len %d, ETag %s, %s)", key,
				head.Header.Get("Content-Length"), etagOf(head.Header), head.Header.Get("Last-Modified"),
				len(get.Body), got.etag, get.Header.Get("Last-Modified"))
		}
	}
	if !isListed {
		errorf("%s: GET 200 but not listed", key)
	} else if lo.size != got.size || lo.etag != got.etag {
		errorf("%s: listed with size %d ETag %s, GET gives %d bytes ETag %s", key, lo.size, lo.etag, got.size, got.etag)
	}
	return got
}

func describe(vals []value) string {
	var parts []string
	for _, v := range vals {
		parts = append(parts, fmt.Sprintf("{%d bytes %.12s %s}", v.size, v.sha, v.etag))
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// checkBlobFiles checks that DATA/blobs holds exactly the files the state
// references: each file's MD5 must be the ETag of a listed single-PUT object
// (which may instead be stored inline in its metadata row, so its file is
// optional), of a part of a listed multipart object, or of a part of a pending
// upload (those files are required). A file matching nothing is an orphan the
// start-up sweep left; a required file that is missing is lost data.
func checkBlobFiles(t *testing.T, srv *testserver.Server, listed map[string]listedObject, observed map[string]*value, pendingParts []string, errorf func(string, ...any)) {
	required, optional := map[string]int{}, map[string]int{}
	nreq := 0
	for key, lo := range listed {
		if !strings.Contains(lo.etag, "-") {
			optional[lo.etag]++
			continue
		}
		v := observed[key]
		if v == nil || v.parts == nil {
			continue // already reported: the object matched no write
		}
		for _, p := range v.parts {
			required[p]++
			nreq++
		}
	}
	for _, p := range pendingParts {
		required[p]++
		nreq++
	}
	files := blobFiles(t, srv.DataDir)
	var orphans []string
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join(srv.DataDir, "blobs", f))
		if err != nil {
			t.Fatalf("reading blob file: %v", err)
		}
		sum := s3test.MD5Hex(data)
		switch {
		case required[sum] > 0:
			required[sum]--
		case optional[sum] > 0:
			optional[sum]--
		default:
			orphans = append(orphans, fmt.Sprintf("%s (%d bytes)", f, len(data)))
		}
	}
	if len(orphans) > 0 {
		errorf("after the start-up sweep %d of %d blob files belong to no object or pending part: %v", len(orphans), len(files), orphans)
	}
	missing := 0
	for _, n := range required {
		missing += n
	}
	if missing > 0 {
		errorf("%d of %d blob files of multipart objects and pending parts are missing", missing, nreq)
	}
	t.Logf("blob files: %d (%d multipart/pending parts, %d listed objects)", len(files), nreq, len(listed))
}
