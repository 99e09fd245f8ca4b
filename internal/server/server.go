// Package server is the composition root: it builds a postern server from
// its configuration (Build: stores, identity service, handlers, and the
// performance machinery they are handed) and runs it (Run: listeners, loops,
// graceful shutdown). cmd/postern calls Main; internal/testserver builds the
// same server in-process.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/postern/postern/authz"
	"github.com/postern/postern/blob"
	"github.com/postern/postern/diskspace"
	"github.com/postern/postern/internal/blocking"
	"github.com/postern/postern/internal/clock"
	"github.com/postern/postern/internal/httpx/writehold"
	"github.com/postern/postern/internal/logx/logbuf"
	"github.com/postern/postern/internal/logx/textlog"
	"github.com/postern/postern/internal/perf/bodyhash"
	"github.com/postern/postern/internal/perf/cpusat"
	"github.com/postern/postern/internal/perf/procs"
	"github.com/postern/postern/meta"
	"github.com/postern/postern/meta/postgres"
	"github.com/postern/postern/meta/sqlite"
	"github.com/postern/postern/s3api"
	"github.com/postern/postern/share"
	"github.com/postern/postern/shareapi"
)

// Server timeouts against slow clients. Request bodies are not bounded by a
// total read timeout (a 5 GiB upload may take long); instead they must keep
// up a minimum average rate (--body-min-rate, --body-timeout; enforced by
// s3api.Guard).
//
// The S3 listener lets net/http read header sections of up to
// s3HeaderReadBytes so that s3api.Guard can refuse those over its own
// limit (s3api.DefaultMaxHeaderSection) with S3 error XML; only larger ones
// get net/http's plain-text 431.
const (
	readHeaderTimeout = 15 * time.Second
	idleTimeout       = 120 * time.Second
	maxHeaderBytes    = 64 << 10 // the console's listener
	s3HeaderReadBytes = http.DefaultMaxHeaderBytes
)

// Main runs `postern server args...`: it reads the settings, builds the
// server, listens, and serves until SIGINT or SIGTERM.
func Main(args []string) error {
	cfg, err := LoadConfig(args, os.Getenv, os.Stderr)
	if err != nil {
		if errors.Is(err, flagHelp) {
			return nil
		}
		return err
	}
	logOut := logbuf.New(os.Stderr, 64<<10, 200*time.Millisecond)
	defer logOut.Close()
	// Request handling allocates many short-lived objects over a small live
	// heap (bodies stream, nothing large is kept), so collecting less often
	// buys throughput for little memory. GOGC in the environment still wins.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	s, err := Build(ctx, cfg, Env{
		Getenv: os.Getenv,
		Stderr: os.Stderr,
		LogOut: logOut,
		// GOMAXPROCS in the environment turns the governor off.
		AdaptiveProcs: os.Getenv("GOMAXPROCS") == "",
	})
	if err != nil {
		return err
	}
	defer s.Close()
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return err
	}
	return s.Run(ctx, ln)
}

// Env is what the server takes from the process around it.
type Env struct {
	// Getenv reads the root credentials' variables (POSTERN_ROOT_*).
	Getenv func(string) string
	// Stderr receives the one-time notice of generated root credentials.
	Stderr io.Writer
	// LogOut receives the log; if it has a Flush method, Run calls it once
	// the server listens.
	LogOut io.Writer
	// AdaptiveProcs lets the server move GOMAXPROCS with the load (package
	// procs). A process hosting something else (tests) leaves it false.
	AdaptiveProcs bool
	// Clock times the background loops and the performance machinery
	// (governor, CPU saturation, hashing hold, orphan sweeps). Nil means
	// clock.Real.
	Clock clock.Clock
}

// Server is a postern server built from its configuration: every store is
// open and every handler wired, but nothing listens and no loop runs until
// Run. (The metadata store's writer goroutine is the store's own.)
type Server struct {
	cfg   *Config
	env   Env
	clock clock.Clock
	log   *slog.Logger
	lock  *os.File        // the data folder's lock, held until Close
	db    *sqlite.Store   // the embedded store, nil with --meta
	pg    *postgres.Store // the PostgreSQL store (--meta), else nil
	// pgListen receives the database's invalidations for pg's cache.
	pgListen *postgres.Listener
	// unavailable classifies the store's errors: true for "the database
	// cannot be reached" (503). Nil for the embedded store.
	unavailable func(error) bool
	store       meta.Store
	blobs       blob.Backend
	space       *diskspace.Guard
	gov         *procs.Governor // nil unless Env.AdaptiveProcs
	cpu         *cpusat.Monitor
	ident       *identity
	// audit writes share links' audit rows (nil without a share store);
	// shareEvents, if set before Build wires it, is told of share events.
	audit       *share.Recorder
	shareEvents func(share.Event)
	handler     http.Handler
	http        *http.Server
	ready       atomic.Bool
	root        rootCredentials
	generated   bool // the root credentials were generated by this start
}

// Build opens the data folder, the stores and the identity service and wires
// the handlers, without listening and without starting any loop. Close
// releases what it opened.
func Build(ctx context.Context, cfg *Config, env Env) (_ *Server, err error) {
	if env.Getenv == nil {
		env.Getenv = func(string) string { return "" }
	}
	if env.Stderr == nil {
		env.Stderr = io.Discard
	}
	if env.LogOut == nil {
		env.LogOut = env.Stderr
	}
	s := &Server{cfg: cfg, env: env, clock: clock.Or(env.Clock)}
	defer func() {
		if err != nil {
			s.Close() // what was opened before the failure
		}
	}()
	logger := newLogger(cfg, env.LogOut)
	s.log = logger

	if err := os.MkdirAll(cfg.Data, 0o700); err != nil {
		return nil, fmt.Errorf("data folder: %w", err)
	}
	// One server per data folder: the lock is held until Close.
	if s.lock, err = lockDataDir(cfg.Data); err != nil {
		return nil, err
	}
	restrictDataDir(cfg.Data, logger)
	if cfg.Meta != "" {
		// Several nodes share the database: what identifies the service
		// must be the same on every one of them (docs/scaling.md).
		if err := sharedSettings(cfg, env.Getenv); err != nil {
			return nil, err
		}
	}
	root, err := resolveRootCredentials(cfg.Data, env.Getenv)
	if err != nil {
		return nil, err
	}
	s.root, s.generated = root.creds, root.source == rootFromGenerated
	logRootCredentials(logger, cfg.Data, root)

	// The disk space guard comes first: on a volume that is already full,
	// it releases the reserve before the database is opened.
	space, err := diskspace.Open(cfg.Data, cfg.DiskMinFree, cfg.DiskReserve, logger)
	if err != nil {
		return nil, err
	}
	s.space = space
	store, idStore, dbPing, err := s.openStores(ctx)
	if err != nil {
		return nil, err
	}
	s.store = store
	blobs, dir, err := openBlobs(ctx, cfg, space, logger)
	if err != nil {
		return nil, err
	}
	s.blobs = blobs
	// Uploads are admitted against the data volume's free space; with an
	// S3 back end only their metadata (and inline bytes) land there.
	var uploadSpace interface{ Admit(int64) error } = space
	if dir == nil {
		uploadSpace = metaSpace{space}
	}
	// GOMAXPROCS follows the load (package procs): one P while the server
	// needs less than a core, but one per core while metadata commits
	// (fsync) or responses from files (read, sendfile) may block, and one
	// more while uploads are being written (direct writes block for
	// longer).
	var streaming blocking.Hint // responses from files
	if env.AdaptiveProcs {
		s.gov = procs.New(runtime.GOMAXPROCS(0), runtime.GOMAXPROCS)
		s.gov.Clock = s.clock
		if dir != nil {
			dir.Blocking = s.gov // writers: one P more while any is in flight
		}
		if s.db != nil {
			s.db.SetBlocking(s.gov.Pins())
		}
		streaming = s.gov.Pins()
	}
	// Whether the CPUs are saturated: while they are, the MD5s of large
	// uploads are batched (package bodyhash).
	s.cpu = cpusat.New()
	s.cpu.Clock = s.clock
	hashes := bodyhash.New()
	hashes.Saturated = s.cpu.Saturated
	hashes.Clock = s.clock
	// Nothing is in flight before we listen: in a directory of our own,
	// every unreferenced file is an orphan. A directory given by --blobs
	// may be shared: another server's blob may be between its commit and
	// its metadata's, so files get the periodic sweep's grace. (In-flight
	// blobs are kept by their leases either way.)
	// An S3 back end is swept by the periodic sweep only: listing a large
	// bucket would hold up the start.
	sweepBefore := s.clock.Now()
	if !cfg.Blobs.Own {
		sweepBefore = sweepBefore.Add(-orphanGrace)
	}
	if dir != nil {
		sweepOrphans(ctx, logger, s.sweep, sweepBefore)
	}

	netcfg, err := parseNetConfig(cfg.TrustedProxy, cfg.Network)
	if err != nil {
		return nil, err
	}
	// Share links live in the metadata store (both stores implement
	// share.Store); their audit rows are written in batches off the
	// request path.
	shares, _ := store.(share.Store)
	ident, err := newIdentity(ctx, cfg, idStore, shares, s.root, netcfg, s.unavailable, logger)
	if err != nil {
		return nil, err
	}
	s.ident = ident
	m := newMetrics()
	if shares != nil {
		// Events is where share notifications (share/webhook) plug in.
		s.audit = share.NewRecorder(share.RecorderOptions{Store: shares, Clock: s.clock, Logger: logger, Events: s.shareEvents})
		m.watchShareAudit(s.audit)
	}
	m.watchCPU(s.cpu.Saturated)
	m.watchDisk(space)
	s3 := s3api.New(s3api.Deps{
		Region:    cfg.Region,
		Meta:      store,
		Blobs:     blobs,
		Directory: ident.svc,
	}, s3api.Options{
		Domain:       cfg.Domain,
		Authorizer:   &authz.Engine{Identities: ident.svc},
		KeyUsed:      ident.svc.RecordUse,
		Logger:       logger,
		Observe:      m.observe,
		Network:      netcfg,
		DisableSigV2: cfg.SigV2 == "false",
		Outpost:      outpostFor(cfg.OutpostID, cfg.Region, cfg.AccountID),
		Space:        uploadSpace,
		Blocking:     streaming,
		Hashes:       hashes,
		HoldWrites:   func(ctx context.Context) func() error { return writehold.Hold(ctx).Release },
		Unavailable:  s.unavailable,
		Shares:       shares,
		ShareAudit:   s.audit,
	})
	shareAPI := shareapi.New(shareapi.Config{Service: ident.svc, Meta: store, Region: cfg.Region, Net: netcfg,
		Recorder: s.audit, Logger: logger, Unavailable: s.unavailable})
	// Ready means serving, with the database and the blob store answering.
	ready := &readiness{serving: &s.ready, clock: s.clock, log: logger,
		comps: []*component{databaseComponent(dbPing), blobsComponent(blobs)}}
	handler := rootHandler(s3, promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}), ready)
	handler = withShareAPI(handler, shareAPI)     // /_postern/ before S3
	handler = withIdentityAPI(handler, ident.api) // IAM and STS before S3
	handler = s3api.Guard(handler, s3api.Limits{BodyTimeout: cfg.BodyTimeout, BodyMinRate: cfg.BodyMinRate})
	s.handler = handler

	s.http = &http.Server{
		Handler:           handler,
		ConnContext:       writehold.ConnContext,
		ReadHeaderTimeout: readHeaderTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    s3HeaderReadBytes,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	if cfg.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("TLS: %w", err)
		}
		s.http.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	return s, nil
}

// Handler is the server's whole HTTP API (S3, IAM, STS, health, metrics),
// as Run serves it. /health/ready answers 503 until Run is serving.
func (s *Server) Handler() http.Handler { return s.handler }

// RootCredentials returns the root access key and secret in effect.
func (s *Server) RootCredentials() (accessKey, secretKey string) {
	return s.root.AccessKeyID, s.root.SecretAccessKey
}

// Close releases what Build opened: the metadata store and the data
// folder's lock. Call it after Run has returned.
func (s *Server) Close() error {
	var err error
	if s.audit != nil {
		s.audit.Close() // writes what is queued (Run did, when it ran)
	}
	if s.db != nil {
		err = s.db.Close()
	}
	if s.pg != nil {
		s.pg.Close()
	}
	if s.pgListen != nil {
		s.pgListen.Close()
	}
	if s.lock != nil {
		s.lock.Close()
	}
	return err
}

// Run serves the S3 API (and IAM, STS) on ln, and the console on its own
// listener (--console-listen), and runs the background loops (GOMAXPROCS
// governor, CPU saturation, free space, orphan sweeps), until ctx ends; then
// it waits up to --shutdown-timeout for in-flight requests.
func (s *Server) Run(ctx context.Context, ln net.Listener) error {
	cfg, logger, srv := s.cfg, s.log, s.http
	if s.gov != nil {
		go s.gov.Run(ctx)
	}
	go s.cpu.Run(ctx)
	go every(ctx, s.clock, spaceEvery, func() { s.space.Refresh() })

	ln = writehold.Listen(ln)
	scheme := "http"
	if srv.TLSConfig != nil {
		scheme = "https"
	}
	endpoint := scheme + "://" + displayAddr(ln.Addr().String())
	logger.Info("postern listening", "endpoint", endpoint, "data", cfg.Data, "region", cfg.Region, "access_key", s.root.AccessKeyID)
	if f, ok := s.env.LogOut.(interface{ Flush() error }); ok {
		f.Flush()
	}
	if s.generated {
		fmt.Fprintf(s.env.Stderr, `
Postern generated root credentials and saved them in %s (mode 0600).
They are shown only this once:

  AccessKeyId:     %s
  SecretAccessKey: %s

Try it:
  AWS_ACCESS_KEY_ID=%s AWS_SECRET_ACCESS_KEY=%s aws --endpoint-url %s --region %s s3 ls

`, filepath.Join(cfg.Data, rootCredentialsFile), s.root.AccessKeyID, s.root.SecretAccessKey, s.root.AccessKeyID, s.root.SecretAccessKey, endpoint, cfg.Region)
	}

	if cfg.DebugAddr != "" {
		go serveDebug(logger, cfg.DebugAddr)
	}
	go sweepLoop(ctx, s.clock, logger, s.sweep, cfg.SweepEvery)

	// The console gets its own copy of the TLS settings: Serve modifies the
	// server's (HTTP/2 setup) concurrently.
	var consoleTLS *tls.Config
	if srv.TLSConfig != nil {
		consoleTLS = srv.TLSConfig.Clone()
	}
	errc := make(chan error, 1)
	go func() {
		if srv.TLSConfig != nil {
			errc <- srv.ServeTLS(ln, "", "")
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	if err := startConsole(ctx, cfg, s.handler, s.ident.svc, ln.Addr(), consoleTLS, logger); err != nil {
		srv.Close()
		return err
	}
	s.ready.Store(true)

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.ready.Store(false)
	logger.Info("shutting down: waiting for in-flight requests", "timeout", cfg.ShutdownWait)
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownWait)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		logger.Warn("shutdown timed out; closing remaining connections", "err", err)
		srv.Close()
	}
	if s.audit != nil {
		s.audit.Close() // the audit rows of the last requests
	}
	logger.Info("stopped")
	return nil
}

// logRootCredentials says where the root credentials in effect come from and
// whether the variables replaced what the file held.
func logRootCredentials(logger *slog.Logger, dataDir string, r rootResolution) {
	file := filepath.Join(dataDir, rootCredentialsFile)
	switch r.source {
	case rootFromEnv:
		logger.Info("root credentials from POSTERN_ROOT_ACCESS_KEY/POSTERN_ROOT_SECRET_KEY", "source", r.source, "access_key", r.creds.AccessKeyID, "file", file)
	case rootFromFile:
		logger.Info("root credentials from the data folder", "source", r.source, "access_key", r.creds.AccessKeyID, "file", file)
	case rootFromGenerated:
		logger.Info("generated new root credentials", "source", r.source, "access_key", r.creds.AccessKeyID, "file", file)
	}
	switch {
	case r.stale != nil && r.stale.AccessKeyID == "":
		logger.Warn("root credentials file was damaged; replaced it with the credentials of POSTERN_ROOT_ACCESS_KEY/SECRET_KEY", "file", file, "access_key", r.creds.AccessKeyID)
	case r.stale != nil:
		what := "access key"
		if r.stale.AccessKeyID == r.creds.AccessKeyID {
			what = "secret key"
		}
		logger.Warn("POSTERN_ROOT_ACCESS_KEY/SECRET_KEY disagree with the root credentials file ("+what+" differs): the variables win, and the file now holds them, so a start without the variables keeps this key; the old key no longer works",
			"file", file, "access_key", r.creds.AccessKeyID, "replaced_access_key", r.stale.AccessKeyID)
	case r.saved && r.source == rootFromEnv:
		logger.Info("saved the root credentials of POSTERN_ROOT_ACCESS_KEY/SECRET_KEY in the data folder, so a start without the variables keeps this key", "file", file)
	}
}

func displayAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// rootHandler routes the few non-S3 endpoints and hands everything else to S3.
// /health/* and /metrics answer only unsigned requests, so that buckets named
// "health" or "metrics" stay reachable through signed S3 requests.
func rootHandler(s3 http.Handler, metricsHandler http.Handler, ready http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if (r.Method == http.MethodGet || r.Method == http.MethodHead) && !signed(r) {
			switch r.URL.Path {
			case "/health/live":
				w.Header().Set("Content-Type", "text/plain")
				w.Write([]byte("ok\n"))
				return
			case "/health/ready":
				ready.ServeHTTP(w, r)
				return
			case "/metrics":
				metricsHandler.ServeHTTP(w, r)
				return
			}
		}
		s3.ServeHTTP(w, r)
	})
}

func signed(r *http.Request) bool {
	if r.Header.Get("Authorization") != "" {
		return true
	}
	q := r.URL.RawQuery
	return strings.Contains(q, "X-Amz-Signature") || strings.Contains(q, "Signature=")
}

// spaceEvery is how often Run measures the data volume, so that the
// reserve is allocated again and recovery is logged even while no upload
// asks.
const spaceEvery = 10 * time.Second

// orphanGrace: object files younger than this may belong to uploads still
// in flight, so the periodic sweeps leave them alone.
const orphanGrace = time.Hour

// every calls f every d of clk's time until ctx ends.
func every(ctx context.Context, clk clock.Clock, d time.Duration, f func()) {
	t := clk.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
			f()
		}
	}
}

// sweeper removes the object files that no metadata refers to and that
// are older than olderThan, and returns how many it removed.
type sweeper func(ctx context.Context, olderThan time.Time) (int, error)

func (s *Server) sweep(ctx context.Context, olderThan time.Time) (int, error) {
	return s.blobs.Sweep(ctx, olderThan, s.store.BlobReferenced)
}

// sweepLoop sweeps orphaned object files older than orphanGrace every
// interval of clk's time, until ctx ends.
func sweepLoop(ctx context.Context, clk clock.Clock, logger *slog.Logger, sweep sweeper, interval time.Duration) {
	every(ctx, clk, interval, func() {
		sweepOrphans(ctx, logger, sweep, clk.Now().Add(-orphanGrace))
	})
}

// sweepOrphans sweeps once and logs what came of it.
func sweepOrphans(ctx context.Context, logger *slog.Logger, sweep sweeper, olderThan time.Time) {
	n, err := sweep(ctx, olderThan)
	if err != nil && ctx.Err() == nil {
		logger.Warn("sweeping orphaned object files", "err", err)
	} else if n > 0 {
		logger.Info("removed orphaned object files", "count", n)
	}
}

func newLogger(cfg *Config, out io.Writer) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(out, opts))
	}
	return slog.New(textlog.New(out, opts))
}

// debugMux serves Go's CPU profile, the named profiles (heap, goroutine,
// allocs, ...) and the execution trace.
//
// The tracer walks stacks by frame pointer, so assembly that uses BP as a
// scratch register crashes a process being traced. md5-simd's scalar MD5
// (blockScalar) did, and the trace was off while the server ran it; the
// server now links only md5-simd's AVX-512 kernel, which, like every other
// non-standard assembly function in the binary, leaves BP alone
// (docs/design.md, "Profiling").
func debugMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

// serveDebug serves pprof on its own listener, never on the S3 port.
func serveDebug(logger *slog.Logger, addr string) {
	logger.Info("pprof listening", "addr", addr)
	if err := http.ListenAndServe(addr, debugMux()); err != nil {
		logger.Warn("pprof listener", "err", err)
	}
}
