package postgres

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/postern/postern/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func open(t *testing.T, dsn string) *pgxpool.Pool {
	t.Helper()
	pool, err := Open(context.Background(), dsn, Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// The tables of meta/sqlite's schema (version 5), which the migrations
// mirror.
var wantTables = []string{
	"blob_refs", "bucket_configs", "buckets",
	"iam_access_keys", "iam_accounts", "iam_attachments", "iam_group_members",
	"iam_groups", "iam_inline_policies", "iam_policies", "iam_policy_versions",
	"iam_roles", "iam_users",
	"objects", "parts", "schema_version", "server_key_check", "share_audit", "shares", "uploads",
}

func tables(t *testing.T, pool *pgxpool.Pool) []string {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename`)
	if err != nil {
		t.Fatal(err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return names
}

func schemaVersion(t *testing.T, pool *pgxpool.Pool) (version, rows int) {
	t.Helper()
	if err := pool.QueryRow(context.Background(), `SELECT max(version), count(*) FROM schema_version`).Scan(&version, &rows); err != nil {
		t.Fatal(err)
	}
	return version, rows
}

func TestMigrateEmptyDatabase(t *testing.T) {
	pool := open(t, pgtest.DSN(t))
	if got := tables(t, pool); !slices.Equal(got, wantTables) {
		t.Errorf("tables:\n got %v\nwant %v", got, wantTables)
	}
	if v, n := schemaVersion(t, pool); v != SchemaVersion() || n != 1 {
		t.Fatalf("schema_version: version %d in %d rows, want %d in 1", v, n, SchemaVersion())
	}
	// Again: nothing to do, same version.
	v, err := Migrate(context.Background(), pool, nil)
	if err != nil || v != SchemaVersion() {
		t.Fatalf("second Migrate = %d, %v", v, err)
	}
	if v, n := schemaVersion(t, pool); v != SchemaVersion() || n != 1 {
		t.Fatalf("after a second Migrate: version %d in %d rows", v, n)
	}
}

// Eight nodes starting at once: every one ends at the same version and the
// schema is created once.
func TestMigrateConcurrently(t *testing.T) {
	dsn := pgtest.DSN(t)
	const nodes = 8
	pools := make([]*pgxpool.Pool, nodes)
	for i := range pools {
		p, err := Connect(context.Background(), dsn, Options{MaxConns: 2})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(p.Close)
		// Hold a connection open so that the migrations race for the
		// lock, not for connection set-up.
		if err := p.Ping(context.Background()); err != nil {
			t.Fatal(err)
		}
		pools[i] = p
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	versions := make([]int, nodes)
	errs := make([]error, nodes)
	for i := range pools {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			versions[i], errs[i] = Migrate(context.Background(), pools[i], nil)
		}()
	}
	close(start)
	wg.Wait()
	for i := range pools {
		if errs[i] != nil || versions[i] != SchemaVersion() {
			t.Errorf("node %d: Migrate = %d, %v", i, versions[i], errs[i])
		}
	}
	if v, n := schemaVersion(t, pools[0]); v != SchemaVersion() || n != 1 {
		t.Fatalf("schema_version: version %d in %d rows, want %d in 1", v, n, SchemaVersion())
	}
	if got := tables(t, pools[0]); !slices.Equal(got, wantTables) {
		t.Errorf("tables:\n got %v\nwant %v", got, wantTables)
	}
}

// A database migrated by a newer Postern is refused, saying which versions.
func TestRefuseNewerSchema(t *testing.T) {
	dsn := pgtest.DSN(t)
	pool := open(t, dsn)
	newer := SchemaVersion() + 1
	if _, err := pool.Exec(context.Background(), `UPDATE schema_version SET version = $1`, newer); err != nil {
		t.Fatal(err)
	}
	_, err := Migrate(context.Background(), pool, nil)
	if !errors.Is(err, ErrSchemaTooNew) {
		t.Fatalf("Migrate = %v, want ErrSchemaTooNew", err)
	}
	for _, want := range []string{
		fmt.Sprintf("schema version %d", newer),
		fmt.Sprintf("versions 1 to %d", SchemaVersion()),
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if p, err := Open(context.Background(), dsn, Options{}); err == nil {
		p.Close()
		t.Fatal("Open accepted a newer schema")
	}
	if v, _ := schemaVersion(t, pool); v != newer {
		t.Fatalf("refusing changed the version to %d", v)
	}
}

// A wrong password fails with the driver's reason, without the password.
func TestConnectErrorHidesPassword(t *testing.T) {
	u, err := url.Parse(pgtest.DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	const wrong = "Wr0ng-Passw0rd-4711"
	u.User = url.UserPassword(u.User.Username(), wrong)
	_, err = Connect(context.Background(), u.String(), Options{})
	if err == nil {
		t.Skip("the server accepts any password (trust authentication): nothing to check")
	}
	if strings.Contains(err.Error(), wrong) {
		t.Fatalf("error shows the password: %v", err)
	}
	if !strings.Contains(err.Error(), "xxxxx@") {
		t.Errorf("error does not name the (redacted) URL: %v", err)
	}
}

// A database whose encoding is not UTF8 is refused.
func TestRefuseNonUTF8Database(t *testing.T) {
	dsn := pgtest.DSN(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	name := "postern_sqlascii_" + strconv.Itoa(int(conn.PgConn().PID()))
	ident := pgx.Identifier{name}.Sanitize()
	if _, err := conn.Exec(ctx, `CREATE DATABASE `+ident+` TEMPLATE template0 ENCODING 'SQL_ASCII' LOCALE_PROVIDER libc LC_COLLATE 'C' LC_CTYPE 'C'`); err != nil {
		t.Fatalf("create a SQL_ASCII database: %v", err)
	}
	t.Cleanup(func() { _, _ = conn.Exec(context.Background(), `DROP DATABASE IF EXISTS `+ident+` WITH (FORCE)`) })
	u, _ := url.Parse(dsn)
	u.Path = "/" + name
	p, err := Open(ctx, u.String(), Options{})
	if err == nil {
		p.Close()
		t.Fatal("Open accepted a SQL_ASCII database")
	}
	if !strings.Contains(err.Error(), "encoding SQL_ASCII") || !strings.Contains(err.Error(), "needs UTF8") {
		t.Fatalf("error %q does not explain the encoding", err)
	}
}

// Keys compare and sort by their UTF-8 bytes, as S3 lists and Go compares,
// whatever the database's default collation.
func TestKeyOrderIsByteOrder(t *testing.T) {
	pool := open(t, pgtest.DSN(t))
	ctx := context.Background()
	keys := []string{
		"a", "A", "b", "B", "Z", "_", "~", "-", ".", "/", " ", "!", "0", "1", "10", "2",
		"a b", "a-b", "a.b", "a/b", "a/", "a//b", "ab", "aB", "Ab", "a0", "a\tb", "a\x7f",
		"é", "e\u0301", "f", "ｅ", "ß", "ss", "straße", "strasse", "İ", "i", "ı",
		"\u0080", "\u00ff", "\u0100", "\u07ff", "\u0800", "\ue000", "\uff61", "\ufffd",
		"\U00010000", "\U0001f600", "\U0010ffff", "日本", "日本語", "한국어",
	}
	if _, err := pool.Exec(ctx, `INSERT INTO buckets (name, owner, region, created_at) VALUES ('b', 'o', 'us-east-1', now())`); err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if _, err := pool.Exec(ctx, `INSERT INTO objects (bucket, key, size, etag, last_modified) VALUES ('b', $1, 0, 'd41d8cd98f00b204e9800998ecf8427e', now())`, []byte(k)); err != nil {
			t.Fatalf("insert %q: %v", k, err)
		}
	}
	want := slices.Clone(keys)
	sort.Strings(want)

	query := func(sql string, args ...any) []string {
		t.Helper()
		rows, err := pool.Query(ctx, sql, args...)
		if err != nil {
			t.Fatal(err)
		}
		got, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (string, error) {
			var b []byte // keys are bytea
			err := r.Scan(&b)
			return string(b), err
		})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	if got := query(`SELECT key FROM objects WHERE bucket = 'b' ORDER BY key`); !slices.Equal(got, want) {
		t.Fatalf("ORDER BY key:\n got %q\nwant %q", got, want)
	}
	// Comparisons too (listing pages resume with key > marker).
	for i, pivot := range want {
		if got := query(`SELECT key FROM objects WHERE bucket = 'b' AND key > $1 ORDER BY key`, []byte(pivot)); !slices.Equal(got, want[i+1:]) {
			t.Fatalf("key > %q:\n got %q\nwant %q", pivot, got, want[i+1:])
		}
	}
	// The keys are tricky: a linguistic collation orders them otherwise.
	// (Only where the server has ICU.)
	var icu bool
	if err := pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_collation WHERE collname = 'und-x-icu')`).Scan(&icu); err != nil {
		t.Fatal(err)
	}
	if icu {
		if got := query(`SELECT key FROM objects WHERE bucket = 'b' ORDER BY convert_from(key, 'UTF8') COLLATE "und-x-icu"`); slices.Equal(got, want) {
			t.Error("a linguistic collation gives byte order on these keys too: the test keys prove nothing")
		}
	}
}

// Every text column that holds a key, name or id compares bytes.
func TestIdentifierColumnsCollateC(t *testing.T) {
	pool := open(t, pgtest.DSN(t))
	rows, err := pool.Query(context.Background(), `
		SELECT table_name || '.' || column_name, coalesce(collation_name, '')
		FROM information_schema.columns
		WHERE table_schema = current_schema() AND data_type = 'text'
		ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	type col struct{ name, collation string }
	cols, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (col, error) {
		var c col
		return c, r.Scan(&c.name, &c.collation)
	})
	if err != nil {
		t.Fatal(err)
	}
	isIdentifier := func(name string) bool {
		_, c, _ := strings.Cut(name, ".")
		return c == "key" || c == "name" || c == "name_key" || c == "bucket" || c == "owner" ||
			c == "id" || strings.HasSuffix(c, "_id") || c == "account" || c == "arn" || c == "path" || c == "kind"
	}
	checked := 0
	for _, c := range cols {
		if !isIdentifier(c.name) {
			continue
		}
		checked++
		if c.collation != "C" {
			t.Errorf("%s has collation %q, want C", c.name, c.collation)
		}
	}
	if checked < 20 {
		t.Fatalf("checked only %d columns: %v", checked, cols)
	}
}
