package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"

	"github.com/postern/postern/internal/server"
	"github.com/postern/postern/proto/sigv4"
)

// clientSettings resolves what the client commands (presign, presign-post,
// admin) need, through the standard AWS chain: credentials (environment,
// shared files, profile), the region (flag, then AWS config, then the
// default) and the endpoint (flag, then the first of endpointEnvs set, then
// the default listen address).
func clientSettings(ctx context.Context, profile, region, endpoint string, endpointEnvs ...string) (sigv4.Credentials, string, string, error) {
	// Never probe the EC2 instance metadata service: Postern is not on AWS,
	// and the probe would leave this machine (unless the user asks for it).
	var opts []func(*config.LoadOptions) error
	if os.Getenv("AWS_EC2_METADATA_DISABLED") == "" {
		opts = append(opts, config.WithEC2IMDSClientEnableState(imds.ClientDisabled))
	}
	if profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(profile))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return sigv4.Credentials{}, "", "", fmt.Errorf("loading AWS configuration: %w", err)
	}
	if region == "" {
		region = cfg.Region
	}
	if region == "" {
		region = server.DefaultRegion
	}
	if cfg.Credentials == nil {
		return sigv4.Credentials{}, "", "", errors.New("no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or use --profile")
	}
	c, err := cfg.Credentials.Retrieve(ctx)
	if err != nil {
		return sigv4.Credentials{}, "", "", fmt.Errorf("no AWS credentials found (%v): set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or use --profile", err)
	}
	for _, env := range endpointEnvs {
		if endpoint == "" {
			endpoint = os.Getenv(env)
		}
	}
	if endpoint == "" {
		endpoint = "http://" + server.DefaultListen
	}
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return sigv4.Credentials{}, "", "", fmt.Errorf("--endpoint-url %q: want http(s)://HOST[:PORT]", endpoint)
	}
	creds := sigv4.Credentials{AccessKey: c.AccessKeyID, SecretKey: c.SecretAccessKey, SessionToken: c.SessionToken}
	return creds, region, strings.TrimRight(endpoint, "/"), nil
}
