package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/postern/postern/meta"
)

// queryer is what both *sql.DB and *sql.Tx offer.
type queryer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// kb converts a key to its stored form: a BLOB, never NULL.
func kb(key string) []byte {
	if key == "" {
		return []byte{}
	}
	return []byte(key)
}

// upperBound returns the smallest byte string greater than every string
// that has p as a prefix, or nil when there is none (p empty or all 0xFF).
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

// encTime is the stored form of a time, truncated to meta.TimePrecision
// as every meta.Store does.
func encTime(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Truncate(meta.TimePrecision).UnixNano()
}

func decTime(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

func encJSON(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

func decJSON(s string, v any) error {
	switch s {
	case "", "{}", "[]", "null":
		// Empty maps and lists are the common case; skip the decoder.
		return nil
	}
	return json.Unmarshal([]byte(s), v)
}

// bucketExists reports whether the bucket exists.
func bucketExists(ctx context.Context, q queryer, name string) (bool, error) {
	var one int
	err := q.QueryRowContext(ctx, `SELECT 1 FROM buckets WHERE name = $1`, name).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, nil
}

// needBucket returns meta.ErrNoSuchBucket (wrapped) if the bucket is missing.
func needBucket(ctx context.Context, q queryer, name string) error {
	ok, err := bucketExists(ctx, q, name)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("bucket %q: %w", name, meta.ErrNoSuchBucket)
	}
	return nil
}

// addRefs records one more reference to each blob id.
func addRefs(ctx context.Context, tx *wtx, ids []string) error {
	for _, id := range ids {
		if id == "" {
			return errors.New("empty blob id")
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO blob_refs (blob_id, refs) VALUES ($1, 1)
			ON CONFLICT (blob_id) DO UPDATE SET refs = blob_refs.refs + 1`, id); err != nil {
			return fmt.Errorf("add blob ref: %w", err)
		}
	}
	return nil
}

// releaseRefs drops one reference to each blob id and returns the ids that
// are no longer referenced. Call it after addRefs for the new references, so
// a blob moving from one owner to another is never reported as freed.
func releaseRefs(ctx context.Context, tx *wtx, ids []string, freed []string) ([]string, error) {
	for _, id := range ids {
		var refs int64
		err := tx.QueryRowContext(ctx, `UPDATE blob_refs SET refs = refs - 1 WHERE blob_id = $1 AND refs > 1 RETURNING refs`, id).Scan(&refs)
		if err == nil {
			continue
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("release blob ref: %w", err)
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM blob_refs WHERE blob_id = $1`, id)
		if err != nil {
			return nil, fmt.Errorf("release blob ref: %w", err)
		}
		if n, _ := res.RowsAffected(); n > 0 {
			freed = append(freed, id)
		}
		// n == 0 means the reference was never counted (it should not
		// happen); not reporting the blob is the safe choice: the orphan
		// sweeper will find it if it really is unreferenced.
	}
	return freed, nil
}

func segmentBlobs(segs []meta.Segment) []string {
	ids := make([]string, 0, len(segs))
	for _, s := range segs {
		ids = append(ids, s.BlobID)
	}
	return ids
}
