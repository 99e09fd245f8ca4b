package s3test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/postern/postern/internal/testserver"
)

// Options choose how an SDK client reaches a server. The zero value means
// the server's root credentials, its region, URL and HTTP client (which
// trusts its TLS certificate), path-style addressing and the SDK's retries.
type Options struct {
	AccessKey, SecretKey, SessionToken string // default: the server's root
	Anonymous                          bool   // sign nothing
	Region                             string // default: the server's
	Endpoint                           string // default: the server's URL
	HTTPClient                         *http.Client
	VirtualHost                        bool // virtual-host-style addressing
	RetryMaxAttempts                   int  // 0: the SDK's default
	// DefaultChecksums sets the request and response checksum modes to
	// what config.LoadDefaultConfig resolves when nothing overrides it.
	DefaultChecksums bool
}

// Config returns an aws.Config for s. It is built by hand, not with
// config.LoadDefaultConfig, so that no AWS_* variable or shared config file
// of the machine running the tests (AWS_CA_BUNDLE,
// AWS_REQUEST_CHECKSUM_CALCULATION, …) changes what the SDK sends.
func Config(s *testserver.Server, o Options) aws.Config {
	ak, sk := s.AccessKey, s.SecretKey
	if o.AccessKey != "" {
		ak, sk = o.AccessKey, o.SecretKey
	}
	region, endpoint, hc := s.Region, s.URL, o.HTTPClient
	if o.Region != "" {
		region = o.Region
	}
	if o.Endpoint != "" {
		endpoint = o.Endpoint
	}
	if hc == nil {
		hc = s.HTTPClient()
	}
	cfg := aws.Config{
		Region:           region,
		Credentials:      credentials.NewStaticCredentialsProvider(ak, sk, o.SessionToken),
		HTTPClient:       hc,
		BaseEndpoint:     aws.String(endpoint),
		RetryMaxAttempts: o.RetryMaxAttempts,
	}
	if o.Anonymous {
		cfg.Credentials = aws.AnonymousCredentials{}
	}
	if o.DefaultChecksums {
		cfg.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenSupported
		cfg.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenSupported
	}
	return cfg
}

// Client returns an aws-sdk-go-v2 S3 client for s (see Options); opts are
// applied after the addressing style.
func Client(s *testserver.Server, o Options, opts ...func(*s3.Options)) *s3.Client {
	cfg := Config(s, o)
	return s3.NewFromConfig(cfg, append([]func(*s3.Options){func(so *s3.Options) {
		so.BaseEndpoint = cfg.BaseEndpoint
		so.UsePathStyle = !o.VirtualHost
	}}, opts...)...)
}

// APIErr returns the HTTP status, S3 error code and message of an SDK error
// (0, "", "" for nil, or for an error that is not an HTTP response).
func APIErr(err error) (status int, code, msg string) {
	if err == nil {
		return 0, "", ""
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		status = re.HTTPStatusCode()
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		code, msg = ae.ErrorCode(), ae.ErrorMessage()
	}
	return status, code, msg
}

// WantAPIError checks that err is an S3 error response with the HTTP status
// and error code AWS S3 answers.
func WantAPIError(t testing.TB, err error, status int, code string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got success, want %d %s", status, code)
	}
	var re *awshttp.ResponseError
	if !errors.As(err, &re) {
		t.Fatalf("got a non-HTTP error %v, want %d %s", err, status, code)
	}
	var ae smithy.APIError
	gotCode := ""
	if errors.As(err, &ae) {
		gotCode = ae.ErrorCode()
	}
	if re.HTTPStatusCode() != status || gotCode != code {
		t.Fatalf("got %d %s, want %d %s (%v)", re.HTTPStatusCode(), gotCode, status, code, err)
	}
}
