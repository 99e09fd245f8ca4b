package server

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/postern/postern/authz"
	"github.com/postern/postern/iam"
	"github.com/postern/postern/iamapi"
	"github.com/postern/postern/share"
	"github.com/postern/postern/shareapi"
)

// identity is the server's identity service and its IAM/STS API.
type identity struct {
	svc *iam.Service
	api http.Handler
}

// newIdentity loads (or creates) the server key and builds the identity
// service over the metadata store and the IAM/STS handler.
func newIdentity(ctx context.Context, cfg *Config, store iam.Store, shares share.Store, root rootCredentials, netcfg *authz.NetConfig, unavailable func(error) bool, logger *slog.Logger) (*identity, error) {
	key, created, err := iam.LoadServerKey(cfg.Data, cfg.ServerKey)
	if err != nil {
		return nil, err
	}
	if created {
		logger.Info("created a new server key", "file", iam.ServerKeyFile)
	}
	svc, err := iam.NewService(iam.Config{
		Store:              store,
		ServerKey:          key,
		DefaultAccount:     cfg.AccountID,
		RootAccessKey:      root.AccessKeyID,
		RootSecretKey:      root.SecretAccessKey,
		MinSessionDuration: cfg.STSMinDuration,
		Shares:             shares,
		Logger:             logger,
	})
	clear(key) // the service keeps only derived keys
	if err != nil {
		return nil, err
	}
	if err := svc.Init(ctx); err != nil {
		return nil, fmt.Errorf("identities: %w", err)
	}
	api := iamapi.New(iamapi.Config{Service: svc, Region: cfg.Region, Net: netcfg, Logger: logger, Unavailable: unavailable})
	return &identity{svc: svc, api: api}, nil
}

// withIdentityAPI sends IAM and STS requests (told apart by iamapi.Wants) to
// api and everything else to next.
func withIdentityAPI(next, api http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if iamapi.Wants(r) {
			api.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// withShareAPI sends requests under /_postern/ (the share links' API,
// docs/api.md) to api and everything else to next.
func withShareAPI(next, api http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if shareapi.Wants(r) {
			api.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// parseSTSMinDuration parses --sts-min-duration: a positive duration of at
// most 15 minutes (it can only lower STS's floor).
func parseSTSMinDuration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 || d > 15*time.Minute {
		return 0, fmt.Errorf("sts-min-duration: want a duration between 1s and 15m, got %q", s)
	}
	return d, nil
}
