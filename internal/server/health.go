package server

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/postern/postern/blob"
	"github.com/postern/postern/internal/clock"
	"github.com/postern/postern/meta"
)

// Readiness (/health/ready): the server is serving, and each component
// it needs answers. A load balancer may poll it often: one check of the
// components serves every poll for readyTTL, each check is bounded by
// checkTimeout, and a component whose previous check is still stuck (a
// hung network file system) is reported down without starting another.
const (
	checkTimeout = 1500 * time.Millisecond
	readyTTL     = 250 * time.Millisecond
)

// component is one thing readiness depends on.
type component struct {
	name  string
	check func(ctx context.Context) error
	// explain turns a failure into the words /health/ready shows: short
	// and free of details (paths, hosts), which go to the log.
	explain func(err error) string

	running atomic.Bool
	down    atomic.Bool // as last reported, for logging changes only
}

// componentState is one component in the /health/ready answer.
type componentState struct {
	Name   string `json:"name"`
	Status string `json:"status"` // "up" or "down"
	Error  string `json:"error,omitempty"`
}

type readyReport struct {
	Status     string           `json:"status"` // "ready" or "not ready"
	Components []componentState `json:"components"`
	ok         bool
}

// readiness checks the components and caches the outcome for readyTTL.
type readiness struct {
	serving *atomic.Bool // Run is serving (false before and while stopping)
	comps   []*component
	clock   clock.Clock
	log     *slog.Logger

	mu       sync.Mutex
	last     readyReport
	at       time.Time
	checking chan struct{} // closed when the check in flight ends; nil if none
}

// report returns a report at most readyTTL old, waiting for at most one
// check (shared with concurrent callers) or for ctx.
func (r *readiness) report(ctx context.Context) (readyReport, bool) {
	r.mu.Lock()
	if !r.at.IsZero() && r.clock.Now().Sub(r.at) < readyTTL {
		rep := r.last
		r.mu.Unlock()
		return rep, true
	}
	wait := r.checking
	if wait == nil {
		wait = make(chan struct{})
		r.checking = wait
		go r.run(wait)
	}
	r.mu.Unlock()
	select {
	case <-wait:
		r.mu.Lock()
		defer r.mu.Unlock()
		return r.last, true
	case <-ctx.Done():
		return readyReport{}, false
	}
}

// run checks every component at once, detached from any request (a poller
// that gives up does not fail the check for the others).
func (r *readiness) run(done chan struct{}) {
	ctx, cancel := context.WithTimeout(context.Background(), checkTimeout)
	defer cancel()
	states := make([]componentState, len(r.comps))
	var wg sync.WaitGroup
	for i, c := range r.comps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			states[i] = r.checkOne(ctx, c)
		}()
	}
	wg.Wait()
	rep := readyReport{Status: "ready", Components: states, ok: true}
	for _, s := range states {
		if s.Status != "up" {
			rep.Status, rep.ok = "not ready", false
		}
	}
	r.mu.Lock()
	r.last, r.at, r.checking = rep, r.clock.Now(), nil
	r.mu.Unlock()
	close(done)
}

// checkOne runs c's check, bounded by ctx even if the check itself ignores
// it, and logs when the component goes down or comes back.
func (r *readiness) checkOne(ctx context.Context, c *component) componentState {
	if !c.running.CompareAndSwap(false, true) {
		return componentState{Name: c.name, Status: "down", Error: "not answering (the previous check has not returned)"}
	}
	res := make(chan error, 1)
	go func() {
		defer c.running.Store(false)
		res <- c.check(ctx)
	}()
	var err error
	select {
	case err = <-res:
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err != nil {
		if !c.down.Swap(true) {
			r.log.Warn("readiness: component down", "component", c.name, "err", err)
		}
		return componentState{Name: c.name, Status: "down", Error: c.explain(err)}
	}
	if c.down.Swap(false) {
		r.log.Info("readiness: component up again", "component", c.name)
	}
	return componentState{Name: c.name, Status: "up"}
}

// ServeHTTP answers /health/ready: 200 and "ready" when serving and every
// component answers, else 503 naming what does not.
func (r *readiness) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	var rep readyReport
	if !r.serving.Load() {
		rep = readyReport{Status: "not ready", Components: []componentState{{Name: "server", Status: "down", Error: "not serving (starting or shutting down)"}}}
	} else {
		var ok bool
		if rep, ok = r.report(req.Context()); !ok {
			return // the client went away
		}
	}
	body, _ := json.Marshal(rep)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if !rep.ok {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	w.Write(append(body, '\n'))
}

// databaseComponent checks the metadata store with ping.
func databaseComponent(ping func(context.Context) error) *component {
	return &component{name: "database", check: ping, explain: func(err error) string {
		switch {
		case errors.Is(err, meta.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
			return "unreachable"
		}
		return "error"
	}}
}

// blobProbeID is a well-formed blob id that names no blob (one chance in
// 2^128 otherwise, and then the probe still proves the store answers).
const blobProbeID = "00000000000000000000000000000000"

// blobsComponent checks the blob store with a read of a blob that does not
// exist: any back end answers it with a round trip (a file system lookup,
// a GET) and ErrNotFound.
// A back end with a Ping of its own (blob.Dir: its directory is there) is
// asked that first.
func blobsComponent(b blob.Backend) *component {
	return &component{name: "blobs", check: func(ctx context.Context) error {
		if p, ok := b.(interface{ Ping(context.Context) error }); ok {
			if err := p.Ping(ctx); err != nil {
				return err
			}
		}
		rc, err := b.Open(ctx, blobProbeID, 0, 1)
		if err == nil {
			rc.Close()
			return nil
		}
		if errors.Is(err, blob.ErrNotFound) {
			return nil
		}
		return err
	}, explain: func(err error) string {
		if errors.Is(err, context.DeadlineExceeded) {
			return "not answering"
		}
		return "error"
	}}
}
