package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/postern/postern/meta"
)

var _ meta.Store = (*Store)(nil)

// CreateBucket implements meta.Store. Of several nodes creating one name
// at once, exactly one wins: the others hit the primary key
// (ErrBucketExists).
func (s *Store) CreateBucket(ctx context.Context, b meta.Bucket) error {
	if b.Name == "" {
		return errors.New("meta/postgres: create bucket: empty name")
	}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO buckets (name, owner, region, created_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (name) DO NOTHING`, b.Name, b.Owner, b.Region, encTime(b.CreatedAt))
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return meta.ErrBucketExists
		}
		for kind, doc := range b.Configs {
			if doc == nil {
				doc = []byte{}
			}
			if _, err := tx.Exec(ctx, `INSERT INTO bucket_configs (bucket, kind, doc) VALUES ($1, $2, $3)`, b.Name, kind, doc); err != nil {
				return fmt.Errorf("config %q: %w", kind, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("meta/postgres: create bucket %q: %w", b.Name, err)
	}
	return nil
}

// sqlGetBucket reads a bucket with the configuration documents every
// request needs, in one query.
const sqlGetBucket = `SELECT owner, region, created_at,
	(SELECT doc FROM bucket_configs WHERE bucket = b.name AND kind = 'policy'),
	(SELECT doc FROM bucket_configs WHERE bucket = b.name AND kind = 'public-access-block'),
	(SELECT doc FROM bucket_configs WHERE bucket = b.name AND kind = 'cors')
	FROM buckets b WHERE name = $1`

// GetBucket implements meta.Store. With a cache (UseCache) a bucket found
// is kept until an event says it changed; a missing bucket is not kept.
func (s *Store) GetBucket(ctx context.Context, name string) (meta.Bucket, error) {
	if s.cache == nil {
		return s.getBucket(ctx, name)
	}
	b, hit, gen, ok := s.cache.bucket(name)
	if hit {
		return b, nil
	}
	b, err := s.getBucket(ctx, name)
	if err == nil && ok {
		s.cache.keepBucket(b, gen)
	}
	return b, err
}

// bucketChanged announces, inside tx, that bucket's configuration changed
// or that it was deleted.
func bucketChanged(ctx context.Context, tx pgx.Tx, bucket string) error {
	return notify(ctx, tx, Event{Kind: EventBucket, ID: bucket})
}

// forgetBucket makes this node's cache forget bucket once a write to it has
// committed (other nodes learn it from the write's event).
func (s *Store) forgetBucket(bucket string) {
	if s.cache != nil {
		s.cache.invalidate(Event{Kind: EventBucket, ID: bucket})
	}
}

func (s *Store) getBucket(ctx context.Context, name string) (meta.Bucket, error) {
	b := meta.Bucket{Name: name}
	var created time.Time
	var policy, pab, cors []byte
	err := s.pool.QueryRow(ctx, sqlGetBucket, name).Scan(&b.Owner, &b.Region, &created, &policy, &pab, &cors)
	if errors.Is(err, pgx.ErrNoRows) {
		return meta.Bucket{}, fmt.Errorf("meta/postgres: bucket %q: %w", name, meta.ErrNoSuchBucket)
	}
	if err != nil {
		return meta.Bucket{}, fmt.Errorf("meta/postgres: get bucket %q: %w", name, err)
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

// ListBuckets implements meta.Store.
func (s *Store) ListBuckets(ctx context.Context, owner string) ([]meta.Bucket, error) {
	q := `SELECT name, owner, region, created_at FROM buckets ORDER BY name`
	var args []any
	if owner != "" {
		q = `SELECT name, owner, region, created_at FROM buckets WHERE owner = $1 ORDER BY name`
		args = append(args, owner)
	}
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("meta/postgres: list buckets: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (meta.Bucket, error) {
		var b meta.Bucket
		var created time.Time
		err := r.Scan(&b.Name, &b.Owner, &b.Region, &created)
		b.CreatedAt = decTime(created)
		return b, err
	})
	if err != nil {
		return nil, fmt.Errorf("meta/postgres: list buckets: %w", err)
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// DeleteBucket implements meta.Store. The bucket's row is locked first (FOR
// UPDATE): a concurrent PutObject or CreateUpload into it either committed
// before (and the bucket is not empty) or waits on the lock, through its
// foreign key, and fails with ErrNoSuchBucket once the bucket is gone.
func (s *Store) DeleteBucket(ctx context.Context, name string) (freed []string, err error) {
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		freed = nil
		var one int
		err := tx.QueryRow(ctx, `SELECT 1 FROM buckets WHERE name = $1 FOR UPDATE`, name).Scan(&one)
		if errors.Is(err, pgx.ErrNoRows) {
			return meta.ErrNoSuchBucket
		}
		if err != nil {
			return err
		}
		var nonEmpty bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM objects WHERE bucket = $1)`, name).Scan(&nonEmpty); err != nil {
			return err
		}
		if nonEmpty {
			return meta.ErrBucketNotEmpty
		}
		rows, err := tx.Query(ctx, `DELETE FROM parts p USING uploads u
			WHERE u.bucket = $1 AND p.upload_id = u.upload_id RETURNING p.blob_id`, name)
		if err != nil {
			return err
		}
		blobs, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		for _, q := range []string{
			`DELETE FROM uploads WHERE bucket = $1`,
			`DELETE FROM bucket_configs WHERE bucket = $1`,
			`DELETE FROM buckets WHERE name = $1`,
		} {
			if _, err := tx.Exec(ctx, q, name); err != nil {
				return err
			}
		}
		if freed, err = releaseRefs(ctx, tx, blobs, nil); err != nil {
			return err
		}
		return bucketChanged(ctx, tx, name)
	})
	if err != nil {
		return nil, fmt.Errorf("meta/postgres: delete bucket %q: %w", name, err)
	}
	s.forgetBucket(name)
	return freed, nil
}

// PutBucketConfig implements meta.Store.
func (s *Store) PutBucketConfig(ctx context.Context, bucket, kind string, doc []byte) error {
	if doc == nil {
		doc = []byte{}
	}
	// The foreign key refuses a missing bucket, and the bucket row's
	// key-share lock orders the write against DeleteBucket; the event goes
	// out with the commit.
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO bucket_configs (bucket, kind, doc) VALUES ($1, $2, $3)
			ON CONFLICT (bucket, kind) DO UPDATE SET doc = excluded.doc`, bucket, kind, doc); err != nil {
			return err
		}
		return bucketChanged(ctx, tx, bucket)
	})
	if pgCode(err) == pgForeignKeyViolation {
		err = meta.ErrNoSuchBucket
	}
	if err != nil {
		return fmt.Errorf("meta/postgres: put bucket config %q/%q: %w", bucket, kind, err)
	}
	s.forgetBucket(bucket)
	return nil
}

// GetBucketConfig implements meta.Store.
func (s *Store) GetBucketConfig(ctx context.Context, bucket, kind string) ([]byte, error) {
	var found bool
	var doc []byte
	err := s.pool.QueryRow(ctx, `SELECT c.kind IS NOT NULL, c.doc FROM buckets b
		LEFT JOIN bucket_configs c ON c.bucket = b.name AND c.kind = $2 WHERE b.name = $1`, bucket, kind).Scan(&found, &doc)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("meta/postgres: bucket %q: %w", bucket, meta.ErrNoSuchBucket)
	}
	if err != nil {
		return nil, fmt.Errorf("meta/postgres: get bucket config %q/%q: %w", bucket, kind, err)
	}
	if !found {
		return nil, fmt.Errorf("meta/postgres: bucket %q config %q: %w", bucket, kind, meta.ErrNoSuchConfig)
	}
	if doc == nil {
		doc = []byte{}
	}
	return doc, nil
}

// DeleteBucketConfig implements meta.Store. Deleting a configuration that
// does not exist is not an error (as in S3); a missing bucket is.
func (s *Store) DeleteBucketConfig(ctx context.Context, bucket, kind string) error {
	var exists bool
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `WITH d AS (DELETE FROM bucket_configs WHERE bucket = $1 AND kind = $2)
			SELECT EXISTS (SELECT 1 FROM buckets WHERE name = $1)`, bucket, kind).Scan(&exists)
		if err != nil || !exists {
			return err
		}
		return bucketChanged(ctx, tx, bucket)
	})
	if err == nil && !exists {
		err = meta.ErrNoSuchBucket
	}
	if err != nil {
		return fmt.Errorf("meta/postgres: delete bucket config %q/%q: %w", bucket, kind, err)
	}
	s.forgetBucket(bucket)
	return nil
}
