package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/postern/postern/meta"
)

// PostgreSQL error codes the store acts on.
const (
	pgUniqueViolation      = "23505"
	pgForeignKeyViolation  = "23503"
	pgSerializationFailure = "40001"
	pgDeadlockDetected     = "40P01"
)

func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// maxAttempts bounds the retries of a transaction that PostgreSQL aborted
// for a serialization failure or a deadlock.
const maxAttempts = 10

// inTx runs fn in one READ COMMITTED transaction and commits it. fn must
// start from scratch (reset its results) on every call: a transaction that
// PostgreSQL aborts to break a deadlock (or a serialization failure) is
// run again, up to maxAttempts times in all. The row locks the methods
// take (SELECT … FOR UPDATE, in a fixed order: bucket, then upload, then
// object) make such aborts rare.
func (s *Store) inTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	for attempt := 1; ; attempt++ {
		err := pgx.BeginFunc(ctx, s.pool, fn)
		if c := pgCode(err); (c == pgSerializationFailure || c == pgDeadlockDetected) && attempt < maxAttempts && ctx.Err() == nil {
			s.logger.Debug("meta/postgres: transaction retried", "code", c, "attempt", attempt)
			continue
		}
		return err
	}
}

// kb converts a key to its stored form (bytea), never NULL.
func kb(key string) []byte {
	if key == "" {
		return []byte{}
	}
	return []byte(key)
}

// upperBound returns the smallest byte string greater than every string
// that has p as a prefix, or nil when there is none (p empty or all 0xFF);
// postern_successor in SQL.
func upperBound(p string) []byte {
	b := []byte(p)
	for len(b) > 0 && b[len(b)-1] == 0xFF {
		b = b[:len(b)-1]
	}
	if len(b) == 0 {
		return nil
	}
	b[len(b)-1]++
	return b
}

// encTime is the stored form of a time: timestamptz keeps microseconds, so
// times are truncated to the microsecond, as every meta.Store does.
func encTime(t time.Time) time.Time {
	return t.Truncate(meta.TimePrecision)
}

// decTime returns a stored time in UTC (pgx returns local times); Go's zero
// time round-trips as the zero time.
func decTime(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}

// encJSON encodes v for a jsonb column.
func encJSON(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

func decJSON(s []byte, v any) error {
	switch string(s) {
	case "", "{}", "[]", "null":
		return nil
	}
	return json.Unmarshal(s, v)
}

// bucketExists reports whether the bucket exists.
func bucketExists(ctx context.Context, q querier, name string) (bool, error) {
	var ok bool
	err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM buckets WHERE name = $1)`, name).Scan(&ok)
	return ok, err
}

// needBucket returns meta.ErrNoSuchBucket (wrapped) if the bucket is missing.
func needBucket(ctx context.Context, q querier, name string) error {
	ok, err := bucketExists(ctx, q, name)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("bucket %q: %w", name, meta.ErrNoSuchBucket)
	}
	return nil
}

// querier is what a pool and a transaction both offer.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// addRefs records one more reference to each blob id, in one statement.
// The ids are sorted so that concurrent transactions lock blob_refs rows
// in the same order.
func addRefs(ctx context.Context, tx pgx.Tx, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	if slices.Contains(ids, "") {
		return errors.New("empty blob id")
	}
	ids = slices.Sorted(slices.Values(ids))
	if _, err := tx.Exec(ctx, `INSERT INTO blob_refs (blob_id, refs)
		SELECT id, count(*) FROM unnest($1::text[]) AS id GROUP BY id ORDER BY id
		ON CONFLICT (blob_id) DO UPDATE SET refs = blob_refs.refs + excluded.refs`, ids); err != nil {
		return fmt.Errorf("add blob refs: %w", err)
	}
	return nil
}

// releaseRefs drops one reference per occurrence of each blob id, in one
// statement, and appends to freed the ids no longer referenced. Call it
// after addRefs for the new references, so a blob moving from one owner to
// another (a part becoming an object's segment) is never reported freed.
// An id whose reference was never counted is not reported: the orphan
// sweeper finds it if it really is unreferenced.
func releaseRefs(ctx context.Context, tx pgx.Tx, ids []string, freed []string) ([]string, error) {
	if len(ids) == 0 {
		return freed, nil
	}
	ids = slices.Sorted(slices.Values(ids))
	rows, err := tx.Query(ctx, `WITH dec AS (
			SELECT id, count(*)::integer AS n FROM unnest($1::text[]) AS id GROUP BY id
		), locked AS (
			SELECT r.blob_id, r.refs, dec.n FROM blob_refs r JOIN dec ON r.blob_id = dec.id
			ORDER BY r.blob_id FOR UPDATE OF r
		), upd AS (
			UPDATE blob_refs r SET refs = r.refs - l.n FROM locked l
			WHERE r.blob_id = l.blob_id AND l.refs > l.n
		), del AS (
			DELETE FROM blob_refs r USING locked l
			WHERE r.blob_id = l.blob_id AND l.refs <= l.n
			RETURNING r.blob_id
		)
		SELECT blob_id FROM del ORDER BY blob_id`, ids)
	if err != nil {
		return nil, fmt.Errorf("release blob refs: %w", err)
	}
	gone, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("release blob refs: %w", err)
	}
	return append(freed, gone...), nil
}

func segmentBlobs(segs []meta.Segment) []string {
	ids := make([]string, 0, len(segs))
	for _, s := range segs {
		ids = append(ids, s.BlobID)
	}
	return ids
}
