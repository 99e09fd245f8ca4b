package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/postern/postern/meta"
)

// CreateBucket implements meta.Store.
func (s *Store) CreateBucket(ctx context.Context, b meta.Bucket) error {
	if b.Name == "" {
		return errors.New("meta/sqlite: create bucket: empty name")
	}
	defer s.forgetBucket(b.Name)
	return s.write(ctx, func(tx *wtx) error {
		res, err := tx.ExecContext(context.Background(), `INSERT INTO buckets (name, owner, region, created_at)
			VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO NOTHING`,
			b.Name, b.Owner, b.Region, encTime(b.CreatedAt))
		if err != nil {
			return fmt.Errorf("meta/sqlite: create bucket %q: %w", b.Name, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("meta/sqlite: create bucket %q: %w", b.Name, err)
		} else if n == 0 {
			return fmt.Errorf("meta/sqlite: create bucket %q: %w", b.Name, meta.ErrBucketExists)
		}
		for kind, doc := range b.Configs {
			if _, err := tx.ExecContext(context.Background(), `INSERT INTO bucket_configs (bucket, kind, doc) VALUES ($1, $2, $3)`,
				b.Name, kind, doc); err != nil {
				return fmt.Errorf("meta/sqlite: create bucket %q: config %q: %w", b.Name, kind, err)
			}
		}
		return nil
	})
}

// GetBucket implements meta.Store.
func (s *Store) GetBucket(ctx context.Context, name string) (meta.Bucket, error) {
	b, err, gen, ok := s.buckets.lookup(name)
	if ok {
		return b, err
	}
	b, err = s.getBucket(name)
	if err == nil || errors.Is(err, meta.ErrNoSuchBucket) {
		s.buckets.add(name, b, err, gen) // absence is cached too
	}
	return b, err
}

func (s *Store) getBucket(name string) (meta.Bucket, error) {
	b := meta.Bucket{Name: name}
	var created int64
	var policy, pab, cors []byte
	// A point lookup on the hot path of every request: prepared, and run
	// without the request's context, whose cancellation watcher would cost a
	// goroutine per query in the driver.
	err := s.stmtGetBucket.QueryRowContext(context.Background(), name).
		Scan(&b.Owner, &b.Region, &created, &policy, &pab, &cors)
	if errors.Is(err, sql.ErrNoRows) {
		return meta.Bucket{}, fmt.Errorf("meta/sqlite: bucket %q: %w", name, meta.ErrNoSuchBucket)
	}
	if err != nil {
		return meta.Bucket{}, fmt.Errorf("meta/sqlite: get bucket %q: %w", name, err)
	}
	b.CreatedAt = decTime(created)
	for kind, doc := range map[string][]byte{meta.ConfigPolicy: policy, meta.ConfigPublicAccessBlock: pab, meta.ConfigCORS: cors} {
		if doc != nil {
			if b.Configs == nil {
				b.Configs = map[string][]byte{}
			}
			b.Configs[kind] = doc
		}
	}
	return b, nil
}

const sqlGetBucket = `SELECT owner, region, created_at,
	(SELECT doc FROM bucket_configs WHERE bucket = b.name AND kind = 'policy'),
	(SELECT doc FROM bucket_configs WHERE bucket = b.name AND kind = 'public-access-block'),
	(SELECT doc FROM bucket_configs WHERE bucket = b.name AND kind = 'cors')
	FROM buckets b WHERE name = $1`

// ListBuckets implements meta.Store.
func (s *Store) ListBuckets(ctx context.Context, owner string) ([]meta.Bucket, error) {
	q := `SELECT name, owner, region, created_at FROM buckets ORDER BY name`
	var args []any
	if owner != "" {
		q = `SELECT name, owner, region, created_at FROM buckets WHERE owner = $1 ORDER BY name`
		args = append(args, owner)
	}
	rows, err := s.rdb.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("meta/sqlite: list buckets: %w", err)
	}
	defer rows.Close()
	var out []meta.Bucket
	for rows.Next() {
		var b meta.Bucket
		var created int64
		if err := rows.Scan(&b.Name, &b.Owner, &b.Region, &created); err != nil {
			return nil, fmt.Errorf("meta/sqlite: list buckets: %w", err)
		}
		b.CreatedAt = decTime(created)
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("meta/sqlite: list buckets: %w", err)
	}
	return out, nil
}

// DeleteBucket implements meta.Store.
func (s *Store) DeleteBucket(ctx context.Context, name string) (freed []string, err error) {
	defer s.forgetBucket(name)
	err = s.write(ctx, func(tx *wtx) error {
		freed = nil
		ctx := context.Background()
		if err := needBucket(ctx, tx, name); err != nil {
			return fmt.Errorf("meta/sqlite: delete bucket: %w", err)
		}
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM objects WHERE bucket = $1 LIMIT 1`, name).Scan(&one)
		if err == nil {
			return fmt.Errorf("meta/sqlite: delete bucket %q: %w", name, meta.ErrBucketNotEmpty)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("meta/sqlite: delete bucket %q: %w", name, err)
		}
		blobs, err := queryStrings(ctx, tx, `SELECT p.blob_id FROM parts p JOIN uploads u ON u.upload_id = p.upload_id
			WHERE u.bucket = $1`, name)
		if err != nil {
			return fmt.Errorf("meta/sqlite: delete bucket %q: %w", name, err)
		}
		for _, q := range []string{
			`DELETE FROM parts WHERE upload_id IN (SELECT upload_id FROM uploads WHERE bucket = $1)`,
			`DELETE FROM uploads WHERE bucket = $1`,
			`DELETE FROM bucket_configs WHERE bucket = $1`,
			`DELETE FROM buckets WHERE name = $1`,
		} {
			if _, err := tx.ExecContext(ctx, q, name); err != nil {
				return fmt.Errorf("meta/sqlite: delete bucket %q: %w", name, err)
			}
		}
		freed, err = releaseRefs(ctx, tx, blobs, nil)
		if err != nil {
			return fmt.Errorf("meta/sqlite: delete bucket %q: %w", name, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return freed, nil
}

func queryStrings(ctx context.Context, q queryer, query string, args ...any) ([]string, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// PutBucketConfig implements meta.Store.
func (s *Store) PutBucketConfig(ctx context.Context, bucket, kind string, doc []byte) error {
	if doc == nil {
		doc = []byte{}
	}
	defer s.buckets.forgetKey(bucket)
	return s.write(ctx, func(tx *wtx) error {
		ctx := context.Background()
		if err := needBucket(ctx, tx, bucket); err != nil {
			return fmt.Errorf("meta/sqlite: put bucket config: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO bucket_configs (bucket, kind, doc) VALUES ($1, $2, $3)
			ON CONFLICT (bucket, kind) DO UPDATE SET doc = excluded.doc`, bucket, kind, doc); err != nil {
			return fmt.Errorf("meta/sqlite: put bucket config %q/%q: %w", bucket, kind, err)
		}
		return nil
	})
}

// GetBucketConfig implements meta.Store.
func (s *Store) GetBucketConfig(ctx context.Context, bucket, kind string) ([]byte, error) {
	tx, err := s.rdb.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("meta/sqlite: get bucket config: %w", err)
	}
	defer tx.Rollback()
	var doc []byte
	err = tx.QueryRowContext(ctx, `SELECT doc FROM bucket_configs WHERE bucket = $1 AND kind = $2`, bucket, kind).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		if err := needBucket(ctx, tx, bucket); err != nil {
			return nil, fmt.Errorf("meta/sqlite: get bucket config: %w", err)
		}
		return nil, fmt.Errorf("meta/sqlite: bucket %q config %q: %w", bucket, kind, meta.ErrNoSuchConfig)
	}
	if err != nil {
		return nil, fmt.Errorf("meta/sqlite: get bucket config %q/%q: %w", bucket, kind, err)
	}
	if doc == nil {
		doc = []byte{}
	}
	return doc, nil
}

// DeleteBucketConfig implements meta.Store. Deleting a configuration that
// does not exist is not an error (as in S3); a missing bucket is.
func (s *Store) DeleteBucketConfig(ctx context.Context, bucket, kind string) error {
	defer s.buckets.forgetKey(bucket)
	return s.write(ctx, func(tx *wtx) error {
		ctx := context.Background()
		if err := needBucket(ctx, tx, bucket); err != nil {
			return fmt.Errorf("meta/sqlite: delete bucket config: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM bucket_configs WHERE bucket = $1 AND kind = $2`, bucket, kind); err != nil {
			return fmt.Errorf("meta/sqlite: delete bucket config %q/%q: %w", bucket, kind, err)
		}
		return nil
	})
}
