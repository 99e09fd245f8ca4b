// Package postgres is the groundwork of Postern's PostgreSQL metadata and
// identity store (issue 19): it opens a connection pool from a
// postgres:// URL and brings the database's schema to the version this
// Postern knows (migrate.go, migrations/*.sql). The meta.Store and
// iam.Store methods come on top of it.
//
// Connection errors never carry the password: URL parse errors do not
// quote the URL, URLs are shown redacted (Redacted), and the URL's secrets
// (its password, the values of query parameters not known to be harmless,
// such as password= and sslpassword=) are cut from the driver's messages.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Options tune the pool. The zero value is fine.
type Options struct {
	// MaxConns bounds the pool (0: pgx's default, the larger of 4 and the
	// number of CPUs). The URL's pool_max_conns, when given, wins.
	MaxConns int32
	// Logger receives one line per applied migration (nil: none).
	Logger *slog.Logger
	// ConnectTimeout bounds making one connection (0:
	// DefaultConnectTimeout; negative: none). The URL's connect_timeout,
	// when given, wins.
	ConnectTimeout time.Duration
	// OpTimeout bounds each statement and each wait for a pooled
	// connection (0: DefaultOpTimeout; negative: none), so that a database
	// that stops answering makes requests fail (Unavailable) instead of
	// hang. See bounds.
	OpTimeout time.Duration
}

// Open connects to the database the URL names, checks it, and applies
// the schema migrations this Postern has that the database lacks.
func Open(ctx context.Context, rawURL string, opts Options) (*pgxpool.Pool, error) {
	pool, err := Connect(ctx, rawURL, opts)
	if err != nil {
		return nil, err
	}
	if _, err := Migrate(ctx, pool, opts.Logger); err != nil {
		pool.Close()
		return nil, err
	}
	return pool, nil
}

// Connect opens a pool and checks that the server answers and that the
// database's encoding is UTF8 (object keys are UTF-8 text).
func Connect(ctx context.Context, rawURL string, opts Options) (*pgxpool.Pool, error) {
	cfg, err := ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	if opts.MaxConns > 0 && !hasParam(rawURL, "pool_max_conns") {
		cfg.MaxConns = opts.MaxConns
	}
	if !hasParam(rawURL, "connect_timeout") {
		switch {
		case opts.ConnectTimeout == 0:
			cfg.ConnConfig.ConnectTimeout = DefaultConnectTimeout
		case opts.ConnectTimeout > 0:
			cfg.ConnConfig.ConnectTimeout = opts.ConnectTimeout
		}
	}
	op := opts.OpTimeout
	if op == 0 {
		op = DefaultOpTimeout
	}
	if op > 0 {
		cfg.ConnConfig.Tracer = bounds{d: op}
	}
	sec := secretsOf(rawURL)
	shown := Redacted(rawURL)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("meta/postgres: %s: %s", shown, sec.clean(err))
	}
	var enc string
	if err := pool.QueryRow(ctx, `SELECT pg_encoding_to_char(encoding) FROM pg_database WHERE datname = current_database()`).Scan(&enc); err != nil {
		pool.Close()
		return nil, fmt.Errorf("meta/postgres: connect to %s: %s", shown, sec.clean(err))
	}
	if enc != "UTF8" {
		pool.Close()
		return nil, fmt.Errorf("meta/postgres: database %s has encoding %s; Postern needs UTF8 (CREATE DATABASE … ENCODING 'UTF8' TEMPLATE template0)", shown, enc)
	}
	return pool, nil
}

// ParseURL checks a postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?…]
// URL and returns the pool configuration it describes. Its errors never
// quote the password.
func ParseURL(rawURL string) (*pgxpool.Config, error) {
	if strings.TrimSpace(rawURL) == "" {
		return nil, errors.New("meta/postgres: empty database URL: want postgres://USER:PASSWORD@HOST:PORT/DATABASE?sslmode=…")
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		// url.Parse's message quotes the whole URL, password included.
		return nil, errors.New("meta/postgres: the database URL is not a valid URL (a password with characters such as @ / ? # % must be percent-encoded): want postgres://USER:PASSWORD@HOST:PORT/DATABASE?sslmode=…")
	}
	if (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Opaque != "" {
		return nil, errors.New("meta/postgres: the database URL must start with postgres:// or postgresql://")
	}
	if strings.Contains(rawURL, "#") {
		// Whatever follows a # is a fragment, which the driver ignores:
		// most likely a password's # that was not encoded.
		return nil, errors.New("meta/postgres: the database URL has a #: percent-encode it as %23 (in a password, for example)")
	}
	if _, err := url.ParseQuery(u.RawQuery); err != nil {
		// url.Query drops such pairs silently (and Redacted with them);
		// the driver would quote them.
		return nil, errors.New("meta/postgres: the database URL's query is not valid (each parameter name=value, percent-encoded)")
	}
	shown := Redacted(rawURL)
	if u.Host == "" && u.Query().Get("host") == "" {
		return nil, fmt.Errorf("meta/postgres: database URL %s names no host", shown)
	}
	if strings.Trim(u.Path, "/") == "" {
		return nil, fmt.Errorf("meta/postgres: database URL %s names no database: want postgres://USER@HOST:PORT/DATABASE", shown)
	}
	cfg, err := pgxpool.ParseConfig(rawURL)
	if err != nil {
		return nil, fmt.Errorf("meta/postgres: database URL %s: %s", shown, secretsOf(rawURL).clean(withoutConnString(err)))
	}
	return cfg, nil
}

// shownParams are the URL query parameters whose values may be shown:
// they configure the connection and the pool and hold no secret. Every
// other parameter's value (password, sslpassword, sslkey, anything
// unknown) is shown as xxxxx and cut from the driver's messages.
var shownParams = map[string]bool{
	"sslmode": true, "sslnegotiation": true, "connect_timeout": true,
	"target_session_attrs": true, "application_name": true, "host": true, "port": true,
	"dbname": true, "user": true, "search_path": true,
	"pool_max_conns": true, "pool_min_conns": true, "pool_min_idle_conns": true,
	"pool_max_conn_lifetime": true, "pool_max_conn_lifetime_jitter": true,
	"pool_max_conn_idle_time": true, "pool_health_check_period": true,
	"statement_cache_capacity": true, "description_cache_capacity": true,
	"default_query_exec_mode": true,
}

// Redacted returns the URL as it may be shown: its password and the values
// of parameters not known to be harmless replaced by xxxxx, its fragment
// dropped. A URL that does not parse is not shown.
func Redacted(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil || u.Opaque != "" {
		return "(invalid URL)"
	}
	u.Fragment, u.RawFragment = "", "" // never meaningful, maybe a secret
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	if u.RawQuery != "" {
		q := u.Query()
		for k, vs := range q {
			if !shownParams[k] {
				for i := range vs {
					vs[i] = "xxxxx"
				}
			}
		}
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// withoutConnString drops the connection string the driver's parse errors
// quote ("cannot parse `…`: reason"); pgx redacts it only on a best-effort
// basis.
func withoutConnString(err error) error {
	var pe *pgconn.ParseConfigError
	if !errors.As(err, &pe) {
		return err
	}
	msg := pe.Error()
	if i := strings.LastIndex(msg, "`: "); strings.HasPrefix(msg, "cannot parse `") && i >= 0 {
		return errors.New(msg[i+3:])
	}
	return errors.New("the driver cannot parse it")
}

func hasParam(rawURL, name string) bool {
	u, err := url.Parse(rawURL)
	return err == nil && u.Query().Has(name)
}

// secrets are the secret strings of a URL, raw and as written in it.
type secrets []string

func secretsOf(rawURL string) secrets {
	var s secrets
	u, err := url.Parse(rawURL)
	if err != nil {
		return s
	}
	if pw, ok := u.User.Password(); ok && pw != "" {
		s = append(s, pw)
		if raw := rawPassword(u); raw != pw {
			s = append(s, raw)
		}
	}
	for k, vs := range u.Query() {
		if shownParams[k] {
			continue
		}
		for _, v := range vs {
			if v != "" {
				s = append(s, v, url.QueryEscape(v))
			}
		}
	}
	return s
}

// rawPassword is the password as written in the URL (percent-encoded).
func rawPassword(u *url.URL) string {
	info := u.User.String() // user:password, escaped
	_, pw, _ := strings.Cut(info, ":")
	return pw
}

// clean returns err's text without the secrets. A secret shorter than
// four bytes cannot be cut out without mangling the text, so the driver's
// detail is withheld then.
func (s secrets) clean(err error) string {
	msg := err.Error()
	for _, sec := range s {
		if !strings.Contains(msg, sec) {
			continue
		}
		if len(sec) < 4 {
			return "connection failed (details withheld: they might contain the password)"
		}
		msg = strings.ReplaceAll(msg, sec, "xxxxx")
	}
	return msg
}
