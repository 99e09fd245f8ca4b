package server

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/postern/postern/internal/clock"
	"github.com/postern/postern/meta"
)

// /health/ready names each component's state, answers 503 when one is
// down, checks at most once per readyTTL however often it is polled, and
// does not start a second check of a component whose first is stuck.
func TestReadiness(t *testing.T) {
	var serving atomic.Bool
	serving.Store(true)
	clk := clock.NewFake(time.Unix(1e9, 0))
	var dbErr atomic.Pointer[error]
	none := error(nil)
	dbErr.Store(&none)
	var dbChecks atomic.Int32
	db := databaseComponent(func(context.Context) error {
		dbChecks.Add(1)
		return *dbErr.Load()
	})
	stuck := make(chan struct{})
	var blobChecks atomic.Int32
	var blobStuck atomic.Bool
	blobs := &component{name: "blobs", check: func(ctx context.Context) error {
		blobChecks.Add(1)
		if blobStuck.Load() {
			<-stuck // ignores ctx, like a hung file system call
		}
		return nil
	}, explain: func(error) string { return "not answering" }}
	r := &readiness{serving: &serving, clock: clk, log: slog.New(slog.NewTextHandler(io.Discard, nil)), comps: []*component{db, blobs}}

	get := func() (int, readyReport) {
		t.Helper()
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, httptest.NewRequest("GET", "/health/ready", nil))
		var rep readyReport
		if err := json.Unmarshal(rec.Body.Bytes(), &rep); err != nil {
			t.Fatalf("body %q: %v", rec.Body, err)
		}
		return rec.Code, rep
	}
	state := func(rep readyReport, name string) componentState {
		for _, c := range rep.Components {
			if c.Name == name {
				return c
			}
		}
		t.Fatalf("no component %s in %+v", name, rep)
		return componentState{}
	}

	if code, rep := get(); code != 200 || rep.Status != "ready" || state(rep, "database").Status != "up" || state(rep, "blobs").Status != "up" {
		t.Fatalf("healthy: %d %+v", code, rep)
	}
	for range 10 {
		get()
	}
	if n := dbChecks.Load(); n != 1 {
		t.Errorf("%d checks within readyTTL, want 1 (cached)", n)
	}

	down := error(&wrapped{meta.ErrUnavailable})
	dbErr.Store(&down)
	clk.Advance(readyTTL)
	code, rep := get()
	if code != http.StatusServiceUnavailable || rep.Status != "not ready" {
		t.Fatalf("database down: %d %+v", code, rep)
	}
	if s := state(rep, "database"); s.Status != "down" || s.Error != "unreachable" {
		t.Errorf("database: %+v", s)
	}
	if s := state(rep, "blobs"); s.Status != "up" {
		t.Errorf("blobs: %+v", s)
	}

	dbErr.Store(&none)
	blobStuck.Store(true)
	clk.Advance(readyTTL)
	code, rep = get() // ends when checkTimeout runs out (real time)
	if code != http.StatusServiceUnavailable || state(rep, "blobs").Status != "down" || state(rep, "database").Status != "up" {
		t.Fatalf("blobs stuck: %d %+v", code, rep)
	}
	before := blobChecks.Load()
	clk.Advance(readyTTL)
	code, rep = get()
	if code != http.StatusServiceUnavailable || !strings.Contains(state(rep, "blobs").Error, "previous check") {
		t.Fatalf("blobs still stuck: %d %+v", code, rep)
	}
	if blobChecks.Load() != before {
		t.Error("a second check started while the first is stuck")
	}
	close(stuck)
	blobStuck.Store(false)
	// The stuck check returns; then a new one may start and succeed.
	for {
		clk.Advance(readyTTL)
		if code, _ := get(); code == 200 {
			break
		}
	}

	serving.Store(false)
	clk.Advance(readyTTL)
	if code, rep := get(); code != http.StatusServiceUnavailable || state(rep, "server").Status != "down" {
		t.Fatalf("not serving: %d %+v", code, rep)
	}
}

type wrapped struct{ err error }

func (w *wrapped) Error() string { return "wrapped: " + w.err.Error() }
func (w *wrapped) Unwrap() error { return w.err }

func TestMetaSetting(t *testing.T) {
	env := map[string]string{"POSTERN_META": "postgres://u:s3cretpw@db.example:5432/postern?sslmode=require"}
	c, err := LoadConfig(nil, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Meta != env["POSTERN_META"] {
		t.Errorf("meta = %q", c.Meta)
	}
	_, err = LoadConfig([]string{"--meta", "postgres://u:s3cretpw@db.example:5432/"}, func(string) string { return "" }, io.Discard)
	if err == nil || strings.Contains(err.Error(), "s3cretpw") || !strings.Contains(err.Error(), "meta") {
		t.Errorf("a URL without a database: %v", err)
	}
	if err := sharedSettings(&Config{Meta: "x"}, func(string) string { return "" }); err == nil || !strings.Contains(err.Error(), "--server-key") {
		t.Errorf("without a server key: %v", err)
	}
	rootEnv := map[string]string{"POSTERN_ROOT_ACCESS_KEY": "AKIA", "POSTERN_ROOT_SECRET_KEY": ""}
	if err := sharedSettings(&Config{Meta: "x", ServerKey: "k"}, func(k string) string { return rootEnv[k] }); err == nil || !strings.Contains(err.Error(), "POSTERN_ROOT_SECRET_KEY") {
		t.Errorf("without root credentials: %v", err)
	}
}
