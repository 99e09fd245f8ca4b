package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"io/fs"
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
	"github.com/postern/postern/internal/httpx/writehold"
	"github.com/postern/postern/internal/logx/logbuf"
	"github.com/postern/postern/internal/logx/textlog"
	"github.com/postern/postern/internal/perf/bodyhash"
	"github.com/postern/postern/internal/perf/cpusat"
	"github.com/postern/postern/internal/perf/procs"
	"github.com/postern/postern/meta"
	"github.com/postern/postern/meta/sqlite"
	"github.com/postern/postern/s3api"
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

func runServer(args []string) error {
	cfg, err := loadConfig(args, os.Getenv, os.Stderr)
	if err != nil {
		if errors.Is(err, flagHelp) {
			return nil
		}
		return err
	}
	logOut := logbuf.New(os.Stderr, 64<<10, 200*time.Millisecond)
	defer logOut.Close()
	logger := newLogger(cfg, logOut)
	// Request handling allocates many short-lived objects over a small live
	// heap (bodies stream, nothing large is kept), so collecting less often
	// buys throughput for little memory. GOGC in the environment still wins.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}

	if err := os.MkdirAll(cfg.Data, 0o700); err != nil {
		return fmt.Errorf("data folder: %w", err)
	}
	// One server per data folder: the lock is held until the process ends.
	lock, err := lockDataDir(cfg.Data)
	if err != nil {
		return err
	}
	defer lock.Close()
	restrictDataDir(cfg.Data, logger)
	root, err := resolveRootCredentials(cfg.Data, os.Getenv)
	if err != nil {
		return err
	}
	creds, generated := root.creds, root.source == rootFromGenerated
	logRootCredentials(logger, cfg.Data, root)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	// The disk space guard comes first: on a volume that is already full,
	// it releases the reserve before the database is opened.
	space, err := diskspace.Open(cfg.Data, cfg.DiskMinFree, cfg.DiskReserve, logger)
	if err != nil {
		return err
	}
	db, err := sqlite.Open(ctx, filepath.Join(cfg.Data, "meta.db"), logger)
	if err != nil {
		return fmt.Errorf("metadata store: %w", err)
	}
	defer db.Close()
	db.SetSpace(space)
	// The database holds encrypted secrets and every object's metadata:
	// readable by the server's user only, whatever the umask.
	for _, f := range []string{"meta.db", "meta.db-wal", "meta.db-shm"} {
		if err := os.Chmod(filepath.Join(cfg.Data, f), 0o600); err != nil && !errors.Is(err, fs.ErrNotExist) {
			logger.Warn("restricting database permissions", "file", f, "err", err)
		}
	}
	// Every request reads its bucket; a short-lived cache spares most of
	// those reads. Changes through this node invalidate it at once.
	// Recent objects' metadata (and small objects' bytes) are kept in memory
	// too: this process is the store's only writer, so the cache stays
	// exact. (A store shared by several nodes must not use it.)
	store := meta.NewBucketCache(meta.NewObjectCache(db, 50_000, 64<<20), time.Second)
	blobs, err := blob.Open(cfg.Data)
	if err != nil {
		return err
	}
	blobs.Admit = space.Admit
	// GOMAXPROCS follows the load (package procs): one P while the server
	// needs less than a core, but one per core while metadata commits
	// (fsync) or responses from files (read, sendfile) may block, and one
	// more while uploads are being written (direct writes block for
	// longer). GOMAXPROCS in the environment still wins.
	var streaming blocking.Hint // responses from files
	if os.Getenv("GOMAXPROCS") == "" {
		gov := procs.New(runtime.GOMAXPROCS(0), runtime.GOMAXPROCS)
		blobs.Blocking = gov // writers: one P more while any is in flight
		db.SetBlocking(gov.Pins())
		streaming = gov.Pins()
		go gov.Run(ctx)
	}
	// Whether the CPUs are saturated: while they are, the MD5s of large
	// uploads are batched (package bodyhash).
	cpu := cpusat.New()
	go cpu.Run(ctx)
	hashes := bodyhash.New()
	hashes.Saturated = cpu.Saturated
	// Nothing is in flight before we listen: every unreferenced file is an orphan.
	if n, err := blobs.Sweep(ctx, time.Now(), store.BlobReferenced); err != nil {
		logger.Warn("sweeping orphaned object files", "err", err)
	} else if n > 0 {
		logger.Info("removed orphaned object files", "count", n)
	}

	netcfg, err := parseNetConfig(cfg.TrustedProxy, cfg.Network)
	if err != nil {
		return err
	}
	ident, err := newIdentity(ctx, cfg, db, creds, netcfg, logger)
	if err != nil {
		return err
	}
	m := newMetrics()
	m.watchCPU(cpu.Saturated)
	m.watchDisk(space)
	go spaceLoop(ctx, space)
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
		Space:        space,
		Blocking:     streaming,
		Hashes:       hashes,
		HoldWrites:   func(ctx context.Context) func() error { return writehold.Hold(ctx).Release },
	})
	var ready atomic.Bool
	// Ready means the database answers: a lookup of a name no bucket can have.
	ping := func(ctx context.Context) error {
		_, err := store.GetBucket(ctx, "-")
		if errors.Is(err, meta.ErrNoSuchBucket) {
			return nil
		}
		return err
	}
	handler := rootHandler(s3, promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}), &ready, ping)
	handler = withIdentityAPI(handler, ident.api) // IAM and STS before S3
	handler = s3api.Guard(handler, s3api.Limits{BodyTimeout: cfg.BodyTimeout, BodyMinRate: cfg.BodyMinRate})

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return err
	}
	ln = writehold.Listen(ln)
	srv := &http.Server{
		Handler:           handler,
		ConnContext:       writehold.ConnContext,
		ReadHeaderTimeout: readHeaderTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    s3HeaderReadBytes,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	scheme := "http"
	if cfg.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			ln.Close()
			return fmt.Errorf("TLS: %w", err)
		}
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		scheme = "https"
	}
	endpoint := scheme + "://" + displayAddr(ln.Addr().String())
	logger.Info("postern listening", "endpoint", endpoint, "data", cfg.Data, "region", cfg.Region, "access_key", creds.AccessKeyID)
	logOut.Flush()
	if generated {
		fmt.Fprintf(os.Stderr, `
Postern generated root credentials and saved them in %s (mode 0600).
They are shown only this once:

  AccessKeyId:     %s
  SecretAccessKey: %s

Try it:
  AWS_ACCESS_KEY_ID=%s AWS_SECRET_ACCESS_KEY=%s aws --endpoint-url %s --region %s s3 ls

`, filepath.Join(cfg.Data, rootCredentialsFile), creds.AccessKeyID, creds.SecretAccessKey, creds.AccessKeyID, creds.SecretAccessKey, endpoint, cfg.Region)
	}

	if cfg.DebugAddr != "" {
		go serveDebug(logger, cfg.DebugAddr)
	}
	go sweepLoop(ctx, logger, blobs, store.BlobReferenced, cfg.SweepEvery)

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
	if err := startConsole(ctx, cfg, handler, ident.svc, ln.Addr(), consoleTLS, logger); err != nil {
		srv.Close()
		return err
	}
	ready.Store(true)

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	ready.Store(false)
	logger.Info("shutting down: waiting for in-flight requests", "timeout", cfg.ShutdownWait)
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownWait)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		logger.Warn("shutdown timed out; closing remaining connections", "err", err)
		srv.Close()
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
func rootHandler(s3 http.Handler, metricsHandler http.Handler, ready *atomic.Bool, ping func(context.Context) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if (r.Method == http.MethodGet || r.Method == http.MethodHead) && !signed(r) {
			switch r.URL.Path {
			case "/health/live":
				w.Header().Set("Content-Type", "text/plain")
				w.Write([]byte("ok\n"))
				return
			case "/health/ready":
				w.Header().Set("Content-Type", "text/plain")
				ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
				defer cancel()
				if !ready.Load() || ping(ctx) != nil {
					w.WriteHeader(http.StatusServiceUnavailable)
					w.Write([]byte("not ready\n"))
					return
				}
				w.Write([]byte("ready\n"))
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

// spaceLoop measures the data volume now and then, so that the reserve is
// allocated again and recovery is logged even while no upload asks.
func spaceLoop(ctx context.Context, space *diskspace.Guard) {
	t := time.NewTicker(10 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			space.Refresh()
		}
	}
}

func sweepLoop(ctx context.Context, logger *slog.Logger, blobs *blob.Store, referenced func(context.Context, []string) (map[string]bool, error), every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			// Files younger than an hour may belong to uploads still in flight.
			n, err := blobs.Sweep(ctx, time.Now().Add(-time.Hour), referenced)
			if err != nil && ctx.Err() == nil {
				logger.Warn("sweeping orphaned object files", "err", err)
			} else if n > 0 {
				logger.Info("removed orphaned object files", "count", n)
			}
		}
	}
}

func newLogger(cfg *serverConfig, out io.Writer) *slog.Logger {
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
