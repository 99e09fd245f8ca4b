package server

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func testConfig(t *testing.T, dir string) *Config {
	t.Helper()
	cfg, err := LoadConfig([]string{"--data", dir, "--listen", "127.0.0.1:0", "--disk-min-free", "0", "--disk-reserve", "0"}, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// Build opens the data folder without listening; a failed Build releases
// what it opened, so the folder can be built again once the holder closes.
func TestBuildHoldsTheDataFolderUntilClose(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s, err := Build(ctx, testConfig(t, dir), Env{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Build(ctx, testConfig(t, dir), Env{}); err == nil || !strings.Contains(err.Error(), dir) {
		t.Fatalf("second Build on a held data folder: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Build(ctx, testConfig(t, dir), Env{})
	if err != nil {
		t.Fatalf("Build after Close: %v", err)
	}
	defer s.Close()
	// Built, not running: the handler answers, but is not ready.
	ak, sk := s.RootCredentials()
	if ak == "" || sk == "" {
		t.Error("no root credentials")
	}
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/health/ready", nil))
	if rec.Code != http.StatusServiceUnavailable {
		t.Errorf("/health/ready before Run: %d", rec.Code)
	}
}

// Run serves on the listener it is given until ctx ends.
func TestRunServesUntilCancelled(t *testing.T) {
	s, err := Build(context.Background(), testConfig(t, t.TempDir()), Env{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, ln) }()
	resp, err := http.Get("http://" + ln.Addr().String() + "/health/live")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("/health/live: %d", resp.StatusCode)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
}
