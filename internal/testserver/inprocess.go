package testserver

import (
	"context"
	"net"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/postern/postern/internal/server"
)

// InProcess builds a server in the test process from the same composition
// root as the postern binary (server.Build, then server.Run on a loopback
// port) and waits until it is ready. It is stopped when the test ends.
//
// Options mean what they mean for Start: Args are `postern server` flags,
// Env entries (KEY=VALUE) come before the test process's environment. The
// GOMAXPROCS governor stays off: it would move the test process's
// GOMAXPROCS. Stop stops the server gracefully and Restart builds it again
// on the same address and data folder; Kill (a crash) is for Start's
// servers only.
func InProcess(t testing.TB, opts Options) *Server {
	t.Helper()
	s := newServer(t, opts)
	s.stop = func() {}
	s.startInProcess("127.0.0.1:0")
	s.cleanup(func() { s.stop() })
	return s
}

// logWriter appends to the server's log.
type logWriter struct{ s *Server }

func (w logWriter) Write(p []byte) (int, error) {
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	return w.s.logs.Write(p)
}

func (s *Server) startInProcess(listen string) {
	t := s.t
	env := map[string]string{
		"POSTERN_ROOT_ACCESS_KEY": s.AccessKey,
		"POSTERN_ROOT_SECRET_KEY": s.SecretKey,
	}
	for _, kv := range s.opts.Env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	getenv := func(k string) string {
		if v, ok := env[k]; ok {
			return v
		}
		return os.Getenv(k)
	}
	args := append([]string{"--data", s.DataDir, "--listen", listen, "--region", s.Region}, s.opts.Args...)
	out := logWriter{s}
	cfg, err := server.LoadConfig(args, getenv, out)
	if err != nil {
		t.Fatalf("postern server %s: %v", strings.Join(args, " "), err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.Build(ctx, cfg, server.Env{Getenv: getenv, Stderr: out, LogOut: out})
	if err != nil {
		cancel()
		t.Fatalf("building postern: %v\n%s", err, s.Logs())
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		cancel()
		srv.Close()
		t.Fatal(err)
	}
	s.Addr = ln.Addr().String()
	s.URL = "http://" + s.Addr
	if cfg.TLSCert != "" {
		s.URL = "https://" + s.Addr
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx, ln) }()
	var once sync.Once
	s.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("postern: %v", err)
			}
			srv.Close()
		})
	}
	s.waitReady()
}
