package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/postern/postern/console"
	"github.com/postern/postern/iam"
)

// The web console listens on its own port (--console-listen), never on the
// S3 listener: objects served by the S3 API are attacker-controlled content
// (anyone with an upload link can store HTML), and a page served from the
// console's origin could drive the console with the signed-in user's
// session. A separate port is a separate browser origin, so the console's
// CSP, cookies and CSRF checks hold. The price is one CORS rule per bucket
// for direct browser uploads, which the console offers to add.

// startConsole serves the console on cfg.ConsoleListen until ctx ends. api
// is the server's handler (S3, IAM, STS); s3Addr the S3 listener's address.
func startConsole(ctx context.Context, cfg *Config, api http.Handler, dir iam.Directory, s3Addr net.Addr, tlsConfig *tls.Config, logger *slog.Logger) error {
	addr, auto := consoleAddr(cfg.ConsoleListen, cfg.Listen)
	if addr == "" {
		return nil
	}
	scheme := "http"
	if tlsConfig != nil {
		scheme = "https"
	}
	_, s3Port, _ := net.SplitHostPort(s3Addr.String())
	s3URL := strings.TrimRight(cfg.ConsoleS3URL, "/")
	h := console.New(console.Config{
		API:    api,
		Region: cfg.Region,
		S3Endpoint: func(r *http.Request) string {
			if s3URL != "" {
				return s3URL
			}
			// The host the browser used for the console, at the S3 port.
			host := r.Host
			if h, _, err := net.SplitHostPort(r.Host); err == nil {
				host = h
			}
			return scheme + "://" + net.JoinHostPort(strings.Trim(host, "[]"), s3Port)
		},
		CredentialExpiry: func(r *http.Request, accessKey, token string) (time.Time, error) {
			_, p, err := dir.Credentials(r.Context(), accessKey, token)
			if err != nil {
				return time.Time{}, err
			}
			return p.Expires, nil
		},
		Logger: logger,
	})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		if auto {
			logger.Warn("console not started: its default port is taken; set --console-listen", "addr", addr, "err", err)
			return nil
		}
		return fmt.Errorf("console: %w", err)
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/" || r.URL.Path == "/console" {
				http.Redirect(w, r, console.Prefix, http.StatusFound)
				return
			}
			h.ServeHTTP(w, r)
		}),
		ReadHeaderTimeout: readHeaderTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		TLSConfig:         tlsConfig,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	logger.Info("postern console listening", "console", scheme+"://"+displayAddr(ln.Addr().String())+console.Prefix)
	go func() {
		var err error
		if tlsConfig != nil {
			err = srv.ServeTLS(ln, "", "")
		} else {
			err = srv.Serve(ln)
		}
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("console listener", "err", err)
		}
	}()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	return nil
}

// consoleAddr resolves --console-listen: "off" (or "") disables the console;
// "auto", the default, serves it on the S3 listener's host at the next port
// (9001 next to the default 9000), unless the S3 port is chosen by the
// system (":0"), as in tests.
func consoleAddr(setting, s3Listen string) (addr string, auto bool) {
	switch setting {
	case "", "off":
		return "", false
	case "auto":
		host, port, err := net.SplitHostPort(s3Listen)
		if err != nil {
			return "", false
		}
		n, err := strconv.Atoi(port)
		if err != nil || n <= 0 || n >= 65535 {
			return "", false
		}
		return net.JoinHostPort(host, strconv.Itoa(n+1)), true
	}
	return setting, false
}
