// Package testserver runs postern servers for integration tests, in two
// tiers built from the same composition root (internal/server):
//
//   - Start builds the postern binary once per test process and runs it as
//     a real server process on a random loopback port: the acceptance tier,
//     for real clients (aws CLI, boto3, s3cmd, a browser), restarts and
//     crashes.
//   - InProcess builds the server inside the test process with
//     server.Build and serves it with server.Run on a random loopback port:
//     no binary, no process, so table-driven suites (bad input, edge cases,
//     policy matrices) start in milliseconds.
//
// Both return the same *Server.
package testserver

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/postern/postern/internal/modroot"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// Binary returns the path of a postern binary built from this checkout.
// POSTERN_BIN overrides it (e.g. to test a release build).
func Binary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("POSTERN_BIN"); p != "" {
		return p
	}
	root := modroot.Dir(t)
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "postern-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "postern")
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/postern")
		cmd.Dir = root
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// Options configure a test server.
type Options struct {
	TLS     bool     // serve HTTPS with a fresh self-signed certificate for 127.0.0.1
	DataDir string   // reuse a data folder (for restarts); a temp dir when empty
	Args    []string // extra flags for `postern server`
	Env     []string // extra environment, KEY=VALUE
	// Host is the loopback address to listen on (e.g. 127.0.0.2, for
	// several nodes on one machine); default 127.0.0.1. Start only.
	Host string
}

// Server is a running postern process.
type Server struct {
	URL       string // http(s)://127.0.0.1:PORT
	Addr      string // 127.0.0.1:PORT
	AccessKey string
	SecretKey string
	Region    string
	DataDir   string
	CertFile  string // PEM of the self-signed certificate (TLS only)
	CertPool  *x509.CertPool

	t    testing.TB
	opts Options
	cmd  *exec.Cmd
	// In-process servers (InProcess): stop ends Run and waits for it to
	// return and for the stores to close.
	stop func()
	mu   sync.Mutex
	logs strings.Builder
	done chan struct{}
}

// Start runs a server and waits until it is ready. It is stopped when the test ends.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	s := newServer(t, opts)
	host := opts.Host
	if host == "" {
		host = "127.0.0.1"
	}
	s.start(net.JoinHostPort(host, "0"))
	s.cleanup(s.Kill)
	return s
}

// newServer is a Server not started yet: the test keys, a data folder
// (opts.DataDir or a fresh one) and, for TLS, a certificate.
func newServer(t testing.TB, opts Options) *Server {
	s := &Server{t: t, opts: opts, AccessKey: "AKIAPOSTERNTEST00001", SecretKey: "postern/test/secret/key/0123456789abcdef", Region: "us-east-1"}
	s.DataDir = opts.DataDir
	if s.DataDir == "" {
		s.DataDir = t.TempDir()
	}
	if opts.TLS {
		s.makeCert()
	}
	return s
}

// cleanup ends the server with end when the test ends, and shows its log
// if the test failed.
func (s *Server) cleanup(end func()) {
	s.t.Cleanup(func() {
		end()
		if s.t.Failed() {
			s.t.Logf("server log:\n%s", s.Logs())
		}
	})
}

func (s *Server) makeCert() {
	t := s.t
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "postern-test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:     []string{"localhost"},
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:         true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	dir := t.TempDir()
	s.CertFile = filepath.Join(dir, "cert.pem")
	keyFile := filepath.Join(dir, "key.pem")
	os.WriteFile(s.CertFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	s.CertPool = x509.NewCertPool()
	s.CertPool.AddCert(cert)
	s.opts.Args = append(s.opts.Args, "--tls-cert", s.CertFile, "--tls-key", keyFile)
}

func (s *Server) start(listen string) {
	t := s.t
	if s.stop != nil {
		s.startInProcess(listen)
		return
	}
	args := append([]string{"server", "--data", s.DataDir, "--listen", listen, "--region", s.Region}, s.opts.Args...)
	cmd := exec.Command(Binary(t), args...)
	cmd.Env = append(os.Environ(),
		"POSTERN_ROOT_ACCESS_KEY="+s.AccessKey,
		"POSTERN_ROOT_SECRET_KEY="+s.SecretKey,
	)
	cmd.Env = append(cmd.Env, s.opts.Env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = cmd.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s.cmd = cmd
	s.done = make(chan struct{})
	endpoint := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			s.mu.Lock()
			s.logs.WriteString(line)
			s.logs.WriteByte('\n')
			s.mu.Unlock()
			if i := strings.Index(line, "endpoint="); i >= 0 && strings.Contains(line, "postern listening") {
				ep := line[i+len("endpoint="):]
				if j := strings.IndexByte(ep, ' '); j >= 0 {
					ep = ep[:j]
				}
				select {
				case endpoint <- ep:
				default:
				}
			}
		}
		cmd.Wait()
		close(s.done)
	}()
	select {
	case ep := <-endpoint:
		s.URL = ep
		s.Addr = strings.TrimPrefix(strings.TrimPrefix(ep, "https://"), "http://")
	case <-s.done:
		t.Fatalf("postern exited before listening:\n%s", s.Logs())
	case <-time.After(30 * time.Second):
		t.Fatalf("postern did not start within 30s:\n%s", s.Logs())
	}
	s.waitReady()
}

func (s *Server) waitReady() {
	c := s.HTTPClient()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := c.Get(s.URL + "/health/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.t.Fatalf("postern not ready:\n%s", s.Logs())
}

// HTTPClient returns a client that trusts the server's certificate.
func (s *Server) HTTPClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if s.CertPool != nil {
		tr.TLSClientConfig = &tls.Config{RootCAs: s.CertPool}
	}
	return &http.Client{Transport: tr, Timeout: 60 * time.Second}
}

// Logs returns everything the server printed so far.
func (s *Server) Logs() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logs.String()
}

// Kill stops the server with SIGKILL, as a crash would. An in-process
// server cannot crash: Kill fails the test (use Start for crash tests).
func (s *Server) Kill() {
	if s.stop != nil {
		s.t.Fatal("testserver: Kill on an in-process server, which cannot crash; use testserver.Start")
	}
	if s.cmd != nil && s.cmd.Process != nil {
		s.cmd.Process.Signal(syscall.SIGKILL)
		<-s.done
	}
}

// Stop sends SIGTERM and waits for a graceful exit (at most timeout). An
// in-process server is cancelled and waited for (its --shutdown-timeout
// bounds the wait).
func (s *Server) Stop(timeout time.Duration) error {
	if s.stop != nil {
		s.stop()
		return nil
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
		if code := s.cmd.ProcessState.ExitCode(); code != 0 {
			return fmt.Errorf("postern exited with %d", code)
		}
		return nil
	case <-time.After(timeout):
		s.Kill()
		return fmt.Errorf("postern did not stop within %v", timeout)
	}
}

// Restart starts the server again on the same address and data folder
// (after a crash; an in-process server is stopped gracefully).
func (s *Server) Restart() {
	if s.stop != nil {
		s.stop()
	} else {
		s.Kill()
	}
	s.start(s.Addr)
}

// Env returns environment variables for CLI clients (aws, etc.) talking to s.
func (s *Server) Env() []string {
	env := []string{
		"AWS_ACCESS_KEY_ID=" + s.AccessKey,
		"AWS_SECRET_ACCESS_KEY=" + s.SecretKey,
		"AWS_DEFAULT_REGION=" + s.Region,
		"AWS_REGION=" + s.Region,
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONFIG_FILE=/dev/null",
		"AWS_SHARED_CREDENTIALS_FILE=/dev/null",
	}
	if s.CertFile != "" {
		env = append(env, "AWS_CA_BUNDLE="+s.CertFile)
	}
	return env
}

// PID returns the process id of the running server (e.g. to read
// /proc/PID/status); 0 for an in-process server.
func (s *Server) PID() int {
	if s.cmd == nil || s.cmd.Process == nil {
		return 0
	}
	return s.cmd.Process.Pid
}
