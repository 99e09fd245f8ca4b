package postgres

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/postern/postern/meta"
)

// startKey is the inclusive lower bound of a listing of the keys with
// prefix that are greater than after: key > after is key >= after + "\x00",
// the next byte string in byte order.
func startKey(prefix, after string) []byte {
	if after >= prefix && after != "" {
		return append([]byte(after), 0)
	}
	return kb(prefix)
}

// oCols is objListCols qualified with the table alias o.
var oCols = "o." + strings.Join(strings.Split(strings.Join(strings.Fields(objListCols), " "), ", "), ", o.")

// SQL of the listings: flat, and delimited (a skip scan). $1 bucket, $2 the
// inclusive lower bound, $3 the exclusive upper bound (the prefix's
// successor; the variants without it have none), then:
//
//   - flat: $4 the number of rows;
//   - delimited: $4 the prefix's length in bytes, $5 the delimiter, $6 the
//     number of index probes, $7 the marker common prefixes must exceed,
//     $8 the number of entries.
//
// The delimited listing is one recursive query that walks the index: each
// step fetches the next key (one index probe, ORDER BY key LIMIT 1); when
// that key rolls up into a common prefix, the following step starts at
// the prefix's successor, so the keys under a common prefix are never read.
// A page of N entries costs N+2 probes and one round trip, however many
// keys the common prefixes hold.
func listSQL(delimited, bounded bool) string {
	upper := ""
	if bounded {
		upper = ` AND o.key < $3`
	}
	if !delimited {
		limit := "$4"
		if !bounded {
			limit = "$3"
		}
		return `SELECT NULL::bytea, ` + oCols + ` FROM objects o WHERE o.bucket = $1 AND o.key >= $2` + upper +
			` ORDER BY o.key LIMIT ` + limit
	}
	n := func(i int) string { // argument numbers shift without $3
		if !bounded {
			i--
		}
		return fmt.Sprintf("$%d", i)
	}
	plen, delim, steps, after, limit := n(4), n(5), n(6), n(7), n(8)
	// rest is the part of key k after the prefix; cp(k) its common prefix
	// (NULL when the rest has no delimiter).
	cp := func(k string) string {
		pos := `position(` + delim + `::bytea IN substring(` + k + ` FROM ` + plen + `::integer + 1))`
		return `CASE WHEN ` + pos + ` > 0 THEN substring(` + k + ` FROM 1 FOR ` + plen + `::integer + ` + pos + ` - 1 + length(` + delim + `::bytea)) END`
	}
	return `WITH RECURSIVE walk AS (
		SELECT 1 AS n, ` + cp("f.key") + ` AS cp, f.* FROM (
			SELECT ` + oCols + ` FROM objects o WHERE o.bucket = $1 AND o.key >= $2` + upper + `
			ORDER BY o.key LIMIT 1) f
		UNION ALL
		SELECT w.n + 1, ` + cp("nx.key") + `, nx.* FROM walk w, LATERAL (
			SELECT ` + oCols + ` FROM objects o WHERE o.bucket = $1
				AND o.key >= CASE WHEN w.cp IS NULL THEN w.key || '\x00'::bytea ELSE postern_successor(w.cp) END` + upper + `
			ORDER BY o.key LIMIT 1) nx
		WHERE w.n < ` + steps + `
	)
	SELECT cp, ` + objListCols + ` FROM walk
	WHERE cp IS NULL OR cp > ` + after + `::bytea
	ORDER BY n LIMIT ` + limit
}

// ListObjects implements meta.Store: one query per page.
func (s *Store) ListObjects(ctx context.Context, bucket string, opt meta.ListObjectsOptions) (meta.ListObjectsResult, error) {
	var res meta.ListObjectsResult
	entries, truncated, err := s.listObjects(ctx, bucket, opt)
	if err != nil {
		return res, fmt.Errorf("meta/postgres: list objects in %q: %w", bucket, err)
	}
	return meta.ObjectsPage(entries, truncated, splitEntry), nil
}

// ListVersions implements meta.Store. Postern keeps one version per key, so
// each object is listed once, as its key's null version and the latest one.
// Nothing of a key comes after its only version, so a VersionIDMarker
// resumes after KeyMarker, whichever version it names.
func (s *Store) ListVersions(ctx context.Context, bucket string, opt meta.ListVersionsOptions) (meta.ListVersionsResult, error) {
	var res meta.ListVersionsResult
	entries, truncated, err := s.listObjects(ctx, bucket, meta.ListObjectsOptions{
		Prefix: opt.Prefix, Delimiter: opt.Delimiter, After: opt.KeyMarker, MaxKeys: opt.MaxKeys,
	})
	if err != nil {
		return res, fmt.Errorf("meta/postgres: list versions in %q: %w", bucket, err)
	}
	return meta.VersionsPage(entries, truncated, splitEntry), nil
}

// splitEntry tells a common prefix from an object, for meta's page builders.
func splitEntry(e entry[meta.Object]) (string, *meta.Object) {
	if e.isCP {
		return e.prefix, nil
	}
	return "", &e.row
}

// entry is one item of a listing page: a row or a common prefix.
type entry[T any] struct {
	row    T
	prefix string // common prefix; "" for a row
	isCP   bool
}

// listObjects returns a page of the bucket's objects and common prefixes,
// and whether more follow: one query, and a second one when the page is
// empty, to tell an empty listing from a missing bucket.
func (s *Store) listObjects(ctx context.Context, bucket string, opt meta.ListObjectsOptions) ([]entry[meta.Object], bool, error) {
	if opt.MaxKeys <= 0 {
		return nil, false, needBucket(ctx, s.pool, bucket)
	}
	want := opt.MaxKeys + 1 // one more than a page, to learn whether it is truncated
	upper := upperBound(opt.Prefix)
	args := []any{bucket, startKey(opt.Prefix, opt.After)}
	if upper != nil {
		args = append(args, upper)
	}
	delimited := opt.Delimiter != ""
	if delimited {
		// One more probe than entries: a first common prefix not above
		// After is walked over but not listed (there is at most one).
		args = append(args, len(opt.Prefix), []byte(opt.Delimiter), want+1, kb(opt.After), want)
	} else {
		args = append(args, want)
	}
	rows, err := s.pool.Query(ctx, listSQL(delimited, upper != nil), args...)
	if err != nil {
		return nil, false, err
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (entry[meta.Object], error) {
		var cp []byte
		o, err := scanObject(prefixRow{r, &cp}, bucket, false)
		if err != nil {
			return entry[meta.Object]{}, err
		}
		if cp != nil {
			return entry[meta.Object]{prefix: string(cp), isCP: true}, nil
		}
		return entry[meta.Object]{row: o}, nil
	})
	if err != nil {
		return nil, false, err
	}
	if len(out) == 0 {
		return nil, false, needBucket(ctx, s.pool, bucket)
	}
	if len(out) > opt.MaxKeys {
		return out[:opt.MaxKeys], true, nil
	}
	return out, false, nil
}

// prefixRow scans a listing row: a leading common-prefix column, then the
// object's columns.
type prefixRow struct {
	pgx.Row
	cp *[]byte
}

func (r prefixRow) Scan(dest ...any) error {
	return r.Row.Scan(append([]any{r.cp}, dest...)...)
}
