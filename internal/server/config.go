package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/postern/postern/diskspace"
	"github.com/postern/postern/iam"
	"github.com/postern/postern/meta/postgres"
	"github.com/postern/postern/share/webhook"
)

// Config holds the server's settings. Precedence, highest first:
// command-line flags, environment variables (POSTERN_<NAME>), the config
// file (--config / POSTERN_CONFIG, JSON with the flag names as keys), defaults.
type Config struct {
	Config       string        `json:"-"`
	Data         string        `json:"data"`
	Meta         string        `json:"meta"` // postgres:// URL; empty: SQLite in Data
	BlobsStr     string        `json:"blobs"`
	Blobs        BlobLocation  `json:"-"`
	Listen       string        `json:"listen"`
	Region       string        `json:"region"`
	Domain       string        `json:"domain"`
	TLSCert      string        `json:"tls-cert"`
	TLSKey       string        `json:"tls-key"`
	LogFormat    string        `json:"log-format"`
	LogLevel     string        `json:"log-level"`
	ShutdownWait time.Duration `json:"-"`
	ShutdownStr  string        `json:"shutdown-timeout"`
	SweepEvery   time.Duration `json:"-"`
	SweepStr     string        `json:"sweep-interval"`
	DebugAddr    string        `json:"debug-addr"`
	TrustedProxy string        `json:"trusted-proxy"`
	Network      string        `json:"network"`
	OutpostID    string        `json:"outpost-id"`
	SigV2        string        `json:"sigv2"`
	// Slow request bodies (see s3api.Limits).
	BodyTimeout    time.Duration `json:"-"`
	BodyTimeoutStr string        `json:"body-timeout"`
	BodyMinRate    int64         `json:"-"`
	BodyMinRateStr string        `json:"body-min-rate"`
	// Identities (see identity.go).
	AccountID      string        `json:"account-id"`
	ServerKey      string        `json:"server-key"`
	STSMinDuration time.Duration `json:"-"`
	STSMinStr      string        `json:"sts-min-duration"`
	// Disk space (package diskspace).
	DiskMinFreeStr string            `json:"disk-min-free"`
	DiskReserveStr string            `json:"disk-reserve"`
	DiskMinFree    diskspace.Setting `json:"-"`
	DiskReserve    diskspace.Setting `json:"-"`
	// Web console (see console.go).
	ConsoleListen string `json:"console-listen"`
	ConsoleS3URL  string `json:"console-s3-url"`
	// Share link notifications (package share/webhook, see shares.go).
	ShareWebhook             string `json:"share-webhook"`
	ShareWebhookSecretFile   string `json:"share-webhook-secret-file"`
	ShareWebhookAllowPrivStr string `json:"share-webhook-allow-private"`
	ShareWebhookAllowPrivate bool   `json:"-"`
	// ShareWebhookSecret signs the server-wide webhook's notifications:
	// the --share-webhook-secret-file's contents (trailing white space
	// removed) or POSTERN_SHARE_WEBHOOK_SECRET.
	ShareWebhookSecret []byte `json:"-"`
	// NodeObjectCache: a node on PostgreSQL keeps small objects in memory
	// (invalidated across nodes within a bound; docs/scaling.md).
	NodeObjectCacheStr string `json:"node-object-cache"`
	NodeObjectCache    bool   `json:"-"`
}

// flagHelp reports that -h was given and usage printed.
var flagHelp = flag.ErrHelp

// Defaults: an embedded single-node server that needs nothing else.
const (
	defaultData     = "./postern-data"
	DefaultListen   = "127.0.0.1:9000"
	DefaultRegion   = "us-east-1"
	defaultShutdown = "30s"
	defaultSweep    = "1h"
)

type setting struct {
	name, env, def, help string
	dst                  *string
	// multi settings may be repeated on the command line; their values are
	// joined with ";" (the separator to use in the environment and config file).
	multi bool
}

func (c *Config) settings() []setting {
	return []setting{
		{"config", "POSTERN_CONFIG", "", "optional JSON config file (keys are these flag names)", &c.Config, false},
		{"data", "POSTERN_DATA", defaultData, "data folder: metadata database and object files", &c.Data, false},
		{"meta", "POSTERN_META", "", "metadata and identity store: postgres://USER[:PASSWORD]@HOST:PORT/DATABASE?sslmode=…, a PostgreSQL database several servers may share (needs --server-key and POSTERN_ROOT_*; see docs/scaling.md); default: SQLite in DATA/meta.db", &c.Meta, false},
		{"blobs", "POSTERN_BLOBS", "", "where object files live: a directory or file:///path, which several servers may share (default: DATA/blobs)", &c.BlobsStr, false},
		{"listen", "POSTERN_LISTEN", DefaultListen, "address to serve S3 on (host:port)", &c.Listen, false},
		{"region", "POSTERN_REGION", DefaultRegion, "region name clients sign requests for", &c.Region, false},
		{"domain", "POSTERN_DOMAIN", "", "base domain for virtual-host-style requests (BUCKET.DOMAIN)", &c.Domain, false},
		{"tls-cert", "POSTERN_TLS_CERT", "", "TLS certificate file (PEM); serves HTTPS with --tls-key", &c.TLSCert, false},
		{"tls-key", "POSTERN_TLS_KEY", "", "TLS private key file (PEM)", &c.TLSKey, false},
		{"log-format", "POSTERN_LOG_FORMAT", "text", "log format: text or json", &c.LogFormat, false},
		{"log-level", "POSTERN_LOG_LEVEL", "info", "log level: debug, info, warn, error", &c.LogLevel, false},
		{"shutdown-timeout", "POSTERN_SHUTDOWN_TIMEOUT", defaultShutdown, "how long in-flight requests may run after SIGTERM", &c.ShutdownStr, false},
		{"sweep-interval", "POSTERN_SWEEP_INTERVAL", defaultSweep, "how often orphaned object files are removed", &c.SweepStr, false},
		{"debug-addr", "POSTERN_DEBUG_ADDR", "", "serve Go's pprof profiles on this address (keep it on loopback)", &c.DebugAddr, false},
		{"trusted-proxy", "POSTERN_TRUSTED_PROXY", "", "CIDR of a reverse proxy whose X-Forwarded-For is believed for aws:SourceIp (repeatable)", &c.TrustedProxy, true},
		{"network", "POSTERN_NETWORK", "", "vpc=ID[,vpce=ID],cidr=CIDR[,cidr=CIDR…]: requests from these CIDRs arrive through that VPC (endpoint): aws:SourceVpc/SourceVpce/VpcSourceIp (repeatable)", &c.Network, true},
		{"sigv2", "POSTERN_SIGV2", "true", "accept legacy Signature Version 2 requests (aws CLI v1 presign, s3cmd); false refuses them everywhere", &c.SigV2, false},
		{"outpost-id", "POSTERN_OUTPOST_ID", "", "S3 on Outposts compatibility: s3-outposts actions, ARNs and condition keys for this outpost id mean their s3 counterparts", &c.OutpostID, false},
		{"account-id", "POSTERN_ACCOUNT_ID", iam.DefaultAccountID, "12-digit id of the default account, whose root credentials are POSTERN_ROOT_ACCESS_KEY/SECRET_KEY", &c.AccountID, false},
		{"server-key", "POSTERN_SERVER_KEY", "", "32-byte key (hex or base64) protecting stored secret keys and session tokens; default: DATA/server.key, created on first start", &c.ServerKey, false},
		{"console-listen", "POSTERN_CONSOLE_LISTEN", "auto", "serve the web console on this address (host:port), a separate origin from the S3 listener; auto: the S3 port + 1; off: no console", &c.ConsoleListen, false},
		{"console-s3-url", "POSTERN_CONSOLE_S3_URL", "", "the S3 endpoint's URL as browsers reach it, for the console's links and uploads (default: the console's host at the S3 port)", &c.ConsoleS3URL, false},
		{"body-timeout", "POSTERN_BODY_TIMEOUT", "60s", "a request body that stalls this long gets RequestTimeout; also the most time a body may bank above --body-min-rate", &c.BodyTimeoutStr, false},
		{"body-min-rate", "POSTERN_BODY_MIN_RATE", "1024", "slowest average rate (bytes per second) a request body may arrive at, measured over --body-timeout; 0: only stalls are bounded", &c.BodyMinRateStr, false},
		{"disk-min-free", "POSTERN_DISK_MIN_FREE", "auto", "refuse uploads (507 InsufficientStorage) that would leave less free space on the data volume: a size (512MiB, 2GB, 0), a percentage of the volume (2%), or auto: 2% of the volume, between 64 MiB and 1 GiB, at most 1/8 of the volume", &c.DiskMinFreeStr, false},
		{"disk-reserve", "POSTERN_DISK_RESERVE", "auto", "size of DATA/reserve.bin, space kept allocated and released when the volume fills up anyway so that deletes still work: a size, a percentage, 0 for none, or auto: 0.5% of the volume, between 8 and 64 MiB, at most 1/16 of the volume", &c.DiskReserveStr, false},
		{"sts-min-duration", "POSTERN_STS_MIN_DURATION", "15m", "smallest DurationSeconds STS accepts (lowers AWS's 900-second floor, e.g. for tests)", &c.STSMinStr, false},
		{"share-webhook", "POSTERN_SHARE_WEBHOOK", "", "http(s) URL notified (signed JSON POST) of every share link's uses, revocation and running out of uses; needs a secret (--share-webhook-secret-file or POSTERN_SHARE_WEBHOOK_SECRET); see docs/api.md, Webhooks", &c.ShareWebhook, false},
		{"share-webhook-secret-file", "POSTERN_SHARE_WEBHOOK_SECRET_FILE", "", "file holding the secret (at least 16 bytes) that signs --share-webhook's notifications; the environment variable POSTERN_SHARE_WEBHOOK_SECRET may hold it instead", &c.ShareWebhookSecretFile, false},
		{"node-object-cache", "POSTERN_NODE_OBJECT_CACHE", "true", "with --meta postgres://: keep small objects (up to 64 KiB) in this node's memory; an overwrite or delete on another node is then seen here within milliseconds (at most 0.5 s), not at once; false: every GET reads the database (strict read-after-write across nodes, slower)", &c.NodeObjectCacheStr, false},
		{"share-webhook-allow-private", "POSTERN_SHARE_WEBHOOK_ALLOW_PRIVATE", "false", "let shares' own webhooks (URLs users give) reach loopback, private and link-local addresses; keep false unless every user is trusted", &c.ShareWebhookAllowPrivStr, false},
	}
}

// LoadConfig resolves settings from args, the environment and the config file.
func LoadConfig(args []string, getenv func(string) string, stderr io.Writer) (*Config, error) {
	c := &Config{}
	fs := flag.NewFlagSet("postern server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	sets := c.settings()
	for _, s := range sets {
		if s.multi {
			dst := s.dst
			fs.Func(s.name, s.help+" (env "+s.env+", values separated by ';')", func(v string) error {
				if *dst != "" {
					*dst += ";"
				}
				*dst += v
				return nil
			})
			continue
		}
		if boolSettings[s.name] {
			*s.dst = s.def
			fs.Var((*boolString)(s.dst), s.name, s.help+" (env "+s.env+")")
			continue
		}
		fs.StringVar(s.dst, s.name, s.def, s.help+" (env "+s.env+")")
	}
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: postern server [flags]\n\nSettings come from flags, then POSTERN_* environment variables, then the --config file, then defaults.\nRoot credentials: POSTERN_ROOT_ACCESS_KEY and POSTERN_ROOT_SECRET_KEY (saved in DATA/root-credentials.json, replacing what it held; when unset, read from there or generated).\n\nFlags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, flagHelp
		}
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })

	// Environment overrides defaults (but not flags).
	for _, s := range sets {
		if !given[s.name] {
			if v := getenv(s.env); v != "" {
				*s.dst = v
				given[s.name] = true
			}
		}
	}
	// The config file fills what neither flags nor environment set.
	if c.Config != "" {
		data, err := os.ReadFile(c.Config)
		if err != nil {
			return nil, fmt.Errorf("config file: %w", err)
		}
		var file map[string]string
		dec := json.NewDecoder(strings.NewReader(string(data)))
		if err := dec.Decode(&file); err != nil {
			return nil, fmt.Errorf("config file %s: %w (want a JSON object of strings)", c.Config, err)
		}
		known := map[string]*string{}
		for _, s := range sets {
			known[s.name] = s.dst
		}
		for k, v := range file {
			dst, ok := known[k]
			if !ok || k == "config" {
				return nil, fmt.Errorf("config file %s: unknown setting %q", c.Config, k)
			}
			if !given[k] {
				*dst = v
			}
		}
	}
	var err error
	if c.ShutdownWait, err = time.ParseDuration(c.ShutdownStr); err != nil {
		return nil, fmt.Errorf("shutdown-timeout: %w", err)
	}
	if c.SweepEvery, err = time.ParseDuration(c.SweepStr); err != nil || c.SweepEvery <= 0 {
		return nil, fmt.Errorf("sweep-interval: must be a positive duration")
	}
	if c.BodyTimeout, err = time.ParseDuration(c.BodyTimeoutStr); err != nil || c.BodyTimeout <= 0 {
		return nil, fmt.Errorf("body-timeout: must be a positive duration")
	}
	if c.BodyMinRate, err = strconv.ParseInt(c.BodyMinRateStr, 10, 64); err != nil || c.BodyMinRate < 0 || c.BodyMinRate > 1<<40 {
		return nil, fmt.Errorf("body-min-rate: want a number of bytes per second from 0 to 2^40")
	}
	if c.SigV2 != "true" && c.SigV2 != "false" {
		return nil, fmt.Errorf("--sigv2 %q: want true or false", c.SigV2)
	}
	if c.DiskMinFree, err = diskspace.ParseSetting(c.DiskMinFreeStr); err != nil {
		return nil, fmt.Errorf("disk-min-free: %w", err)
	}
	if c.DiskReserve, err = diskspace.ParseSetting(c.DiskReserveStr); err != nil {
		return nil, fmt.Errorf("disk-reserve: %w", err)
	}
	if c.STSMinDuration, err = parseSTSMinDuration(c.STSMinStr); err != nil {
		return nil, err
	}
	if !iam.ValidAccountID(c.AccountID) {
		return nil, fmt.Errorf("account-id: want 12 digits, got %q", c.AccountID)
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return nil, errors.New("--tls-cert and --tls-key go together")
	}
	if c.Data == "" || c.Listen == "" || c.Region == "" {
		return nil, errors.New("data, listen and region must not be empty")
	}
	if c.Blobs, err = parseBlobs(c.BlobsStr, c.Data); err != nil {
		return nil, err
	}
	switch c.NodeObjectCacheStr {
	case "true", "false":
		c.NodeObjectCache = c.NodeObjectCacheStr == "true"
	default:
		return nil, fmt.Errorf("--node-object-cache %q: want true or false", c.NodeObjectCacheStr)
	}
	if err := c.loadShareWebhook(getenv); err != nil {
		return nil, err
	}
	if c.Meta != "" {
		// Checked now, connected to in Build; the errors never quote
		// the password.
		if _, err := postgres.ParseURL(c.Meta); err != nil {
			return nil, fmt.Errorf("meta: %w", err)
		}
	}
	return c, nil
}

// boolSettings are the settings given as a bare flag (--NAME, or
// --NAME=false); their environment and config file values are "true" or
// "false".
var boolSettings = map[string]bool{"share-webhook-allow-private": true, "node-object-cache": true}

// boolString is a boolean flag kept as "true" or "false" in a string.
type boolString string

func (b *boolString) String() string { return string(*b) }
func (b *boolString) Set(v string) error {
	x, err := strconv.ParseBool(v)
	if err != nil {
		return err
	}
	*b = boolString(strconv.FormatBool(x))
	return nil
}
func (b *boolString) IsBoolFlag() bool { return true }

// minWebhookSecret is the shortest secret --share-webhook takes.
const minWebhookSecret = 16

// loadShareWebhook checks the --share-webhook settings and reads the
// secret.
func (c *Config) loadShareWebhook(getenv func(string) string) error {
	switch c.ShareWebhookAllowPrivStr {
	case "true", "false":
		c.ShareWebhookAllowPrivate = c.ShareWebhookAllowPrivStr == "true"
	default:
		return fmt.Errorf("--share-webhook-allow-private %q: want true or false", c.ShareWebhookAllowPrivStr)
	}
	env := getenv("POSTERN_SHARE_WEBHOOK_SECRET")
	if c.ShareWebhookSecretFile != "" && env != "" {
		return errors.New("share-webhook secret: give --share-webhook-secret-file or POSTERN_SHARE_WEBHOOK_SECRET, not both")
	}
	secret := []byte(env)
	if c.ShareWebhookSecretFile != "" {
		data, err := os.ReadFile(c.ShareWebhookSecretFile)
		if err != nil {
			return fmt.Errorf("share-webhook-secret-file: %w", err)
		}
		secret = bytes.TrimRight(data, " \t\r\n")
	}
	if c.ShareWebhook == "" {
		if len(secret) > 0 {
			return errors.New("a share webhook secret is set but --share-webhook is not")
		}
		return nil
	}
	if _, err := webhook.ParseURL(c.ShareWebhook); err != nil {
		return fmt.Errorf("share-webhook: %w", err)
	}
	if len(secret) < minWebhookSecret {
		return fmt.Errorf("share-webhook: needs a secret of at least %d bytes in --share-webhook-secret-file or POSTERN_SHARE_WEBHOOK_SECRET", minWebhookSecret)
	}
	c.ShareWebhookSecret = secret
	return nil
}
