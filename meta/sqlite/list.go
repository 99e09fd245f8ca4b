package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/postern/postern/meta"
)

// cursor is a lower bound for the next range query of a listing.
type cursor struct {
	key  []byte // nil: no lower bound
	incl bool   // key >= cursor.key rather than key > cursor.key
	// tie, when set (and !incl), also admits rows with key == cursor.key that
	// sort after it by (initiated, upload_id); used by upload listings.
	tie     bool
	tieInit int64
	tieID   string
}

// entry is one item of a listing page: a row or a common prefix.
type entry[T any] struct {
	row    T
	prefix string // common prefix; "" for a row
	isCP   bool
}

// listSpec describes a delimited listing over rows of type T ordered by key.
type listSpec[T any] struct {
	prefix, delim string
	// after: common prefixes must be strictly greater than it to be listed.
	after string
	start cursor
	max   int
	// fetch streams up to limit rows at or after c (as c says) and below
	// upper (nil: unbounded), in listing order, to each, stopping early when
	// each returns false. It returns the number of rows passed to each.
	fetch func(c cursor, upper []byte, limit int, each func(T) bool) (int, error)
	key   func(T) string
	next  func(T) cursor // cursor just past a row
}

// list returns up to max entries and whether more exist. Rows are streamed,
// and with a delimiter, after each common prefix the query is restarted past
// every key under it, so rolled-up keys are never scanned.
func (l *listSpec[T]) list() (out []entry[T], truncated bool, err error) {
	if l.max <= 0 {
		return nil, false, nil
	}
	upper := upperBound(l.prefix)
	c := l.start
	want := l.max + 1 // one more than a page, to learn whether it is truncated
	for len(out) < want {
		limit := want - len(out)
		reseek, exhausted := false, false
		n, err := l.fetch(c, upper, limit, func(r T) bool {
			k := l.key(r)
			if l.delim != "" {
				if i := strings.Index(k[len(l.prefix):], l.delim); i >= 0 {
					cp := k[:len(l.prefix)+i+len(l.delim)]
					if cp > l.after {
						out = append(out, entry[T]{prefix: cp, isCP: true})
					}
					if nu := upperBound(cp); nu == nil {
						exhausted = true
					} else {
						c = cursor{key: nu, incl: true}
						reseek = true
					}
					return false
				}
			}
			out = append(out, entry[T]{row: r})
			c = l.next(r)
			return len(out) < want
		})
		if err != nil {
			return nil, false, err
		}
		if exhausted || (!reseek && n < limit) {
			break
		}
	}
	if len(out) > l.max {
		return out[:l.max], true, nil
	}
	return out, false, nil
}

// keyRange builds the WHERE fragment for c and upper on column keyCol,
// numbering placeholders from n; it returns the fragment and its args.
func keyRange(c cursor, upper []byte, n int) (string, []any) {
	var sb strings.Builder
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", n+len(args)-1)
	}
	if c.key != nil {
		switch {
		case c.incl:
			sb.WriteString(" AND obj_key >= " + arg(c.key))
		case c.tie:
			k := arg(c.key)
			t := arg(c.tieInit)
			sb.WriteString(" AND (obj_key > " + k + " OR (obj_key = " + k + " AND (initiated > " + t +
				" OR (initiated = " + t + " AND upload_id > " + arg(c.tieID) + "))))")
		default:
			sb.WriteString(" AND obj_key > " + arg(c.key))
		}
	}
	if upper != nil {
		sb.WriteString(" AND obj_key < " + arg(upper))
	}
	return sb.String(), args
}

// startCursor is the lower bound for keys > after with the given prefix.
func startCursor(prefix, after string) cursor {
	if after >= prefix && after != "" {
		return cursor{key: kb(after)}
	}
	if prefix != "" {
		return cursor{key: kb(prefix), incl: true}
	}
	return cursor{}
}

// ListObjects implements meta.Store.
func (s *Store) ListObjects(ctx context.Context, bucket string, opt meta.ListObjectsOptions) (meta.ListObjectsResult, error) {
	var res meta.ListObjectsResult
	entries, truncated, err := s.listObjects(ctx, bucket, opt)
	if err != nil {
		return res, fmt.Errorf("meta/sqlite: list objects in %q: %w", bucket, err)
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
		return res, fmt.Errorf("meta/sqlite: list versions in %q: %w", bucket, err)
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

// listObjects returns a page of the bucket's objects and common prefixes,
// and whether more follow, in one read transaction.
func (s *Store) listObjects(ctx context.Context, bucket string, opt meta.ListObjectsOptions) ([]entry[meta.Object], bool, error) {
	tx, err := s.rdb.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, false, err
	}
	defer tx.Rollback()
	if err := needBucket(ctx, tx, bucket); err != nil {
		return nil, false, err
	}
	l := listSpec[meta.Object]{
		prefix: opt.Prefix,
		delim:  opt.Delimiter,
		after:  opt.After,
		start:  startCursor(opt.Prefix, opt.After),
		max:    opt.MaxKeys,
		fetch: func(c cursor, upper []byte, limit int, each func(meta.Object) bool) (int, error) {
			where, args := keyRange(c, upper, 2)
			rows, err := tx.QueryContext(ctx, `SELECT `+objListCols+` FROM objects WHERE bucket = $1`+where+
				fmt.Sprintf(` ORDER BY obj_key LIMIT %d`, limit), append([]any{bucket}, args...)...)
			if err != nil {
				return 0, err
			}
			defer rows.Close()
			n := 0
			for rows.Next() {
				o, err := scanObject(rows, bucket, false)
				if err != nil {
					return n, err
				}
				n++
				if !each(o) {
					break
				}
			}
			return n, rows.Err()
		},
		key:  func(o meta.Object) string { return o.Key },
		next: func(o meta.Object) cursor { return cursor{key: kb(o.Key)} },
	}
	return l.list()
}
