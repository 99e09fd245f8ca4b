package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/postern/postern/meta"
)

// objListCols are the object columns listings read; objCols adds the bytes.
const (
	objListCols = `key, size, etag, last_modified, content_type, content_encoding, content_disposition,
		content_language, cache_control, expires, user_meta, checksums, checksum_type, parts_count`
	objCols = objListCols + `, segments, inline_data`
)

// scanObject scans a row of objListCols (withSegments: objCols).
func scanObject(sc pgx.Row, bucket string, withSegments bool) (meta.Object, error) {
	o := meta.Object{Bucket: bucket}
	var key, userMeta, checksums, segments []byte
	var lm time.Time
	dest := []any{&key, &o.Size, &o.ETag, &lm, &o.ContentType, &o.ContentEncoding, &o.ContentDisposition,
		&o.ContentLanguage, &o.CacheControl, &o.Expires, &userMeta, &checksums, &o.ChecksumType, &o.PartsCount}
	if withSegments {
		dest = append(dest, &segments, &o.Inline)
	}
	if err := sc.Scan(dest...); err != nil {
		return meta.Object{}, err
	}
	o.Key = string(key)
	o.LastModified = decTime(lm)
	if err := decJSON(userMeta, &o.UserMeta); err != nil {
		return meta.Object{}, fmt.Errorf("decode user metadata of %q: %w", o.Key, err)
	}
	if err := decJSON(checksums, &o.Checksums); err != nil {
		return meta.Object{}, fmt.Errorf("decode checksums of %q: %w", o.Key, err)
	}
	if withSegments {
		if err := decJSON(segments, &o.Segments); err != nil {
			return meta.Object{}, fmt.Errorf("decode segments of %q: %w", o.Key, err)
		}
	}
	return o, nil
}

// objectArgs are o's column values in the order of putCols.
func objectArgs(o *meta.Object) ([]any, error) {
	userMeta, err := encJSON(o.UserMeta)
	if err != nil {
		return nil, err
	}
	checksums, err := encJSON(o.Checksums)
	if err != nil {
		return nil, err
	}
	segs := o.Segments
	if segs == nil {
		segs = []meta.Segment{}
	}
	segments, err := encJSON(segs)
	if err != nil {
		return nil, err
	}
	var inline any // NULL when not inline; an empty inline object stays inline
	if o.Inline != nil {
		inline = o.Inline
	}
	return []any{o.Bucket, kb(o.Key), o.Size, o.ETag, encTime(o.LastModified),
		o.ContentType, o.ContentEncoding, o.ContentDisposition, o.ContentLanguage, o.CacheControl, o.Expires,
		userMeta, checksums, o.ChecksumType, o.PartsCount, segments, inline}, nil
}

const (
	sqlInsertObject = `INSERT INTO objects (bucket, key, size, etag, last_modified,
			content_type, content_encoding, content_disposition, content_language, cache_control, expires,
			user_meta, checksums, checksum_type, parts_count, segments, inline_data)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
		ON CONFLICT (bucket, key) DO NOTHING`
	// sqlUpdateObject replaces a version and, in the same statement (no
	// extra round trip), announces it to the other nodes' caches: pg_notify
	// with $18 = InvalidationChannel, $19 = the EventObject payload.
	sqlUpdateObject = `WITH u AS (UPDATE objects SET size = $3, etag = $4, last_modified = $5,
			content_type = $6, content_encoding = $7, content_disposition = $8, content_language = $9,
			cache_control = $10, expires = $11, user_meta = $12, checksums = $13, checksum_type = $14,
			parts_count = $15, segments = $16, inline_data = $17
		WHERE bucket = $1 AND key = $2 RETURNING 1)
		SELECT pg_notify($18, $19) FROM u`
	// sqlDeleteObject deletes a version, returns its blobs and announces
	// the deletion as sqlUpdateObject does ($3, $4).
	sqlDeleteObject = `WITH d AS (DELETE FROM objects WHERE bucket = $1 AND key = $2 RETURNING segments)
		SELECT segments, pg_notify($3, $4) FROM d`
	// sqlLockObject reads the current version's ETag and blobs and locks
	// its row until the transaction ends.
	sqlLockObject = `SELECT etag, segments FROM objects WHERE bucket = $1 AND key = $2 FOR UPDATE`
)

// current is what a write needs of the version it replaces.
type current struct {
	etag     string
	segments []meta.Segment
}

// lockObject locks bucket/key's row and returns its current version, or
// nil when the key does not exist (then nothing is locked: the caller's
// INSERT … ON CONFLICT DO NOTHING tells whether another transaction
// created it meanwhile).
func lockObject(ctx context.Context, tx pgx.Tx, bucket, key string) (*current, error) {
	var c current
	var segs []byte
	err := tx.QueryRow(ctx, sqlLockObject, bucket, kb(key)).Scan(&c.etag, &segs)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if err := decJSON(segs, &c.segments); err != nil {
		return nil, fmt.Errorf("decode segments: %w", err)
	}
	return &c, nil
}

// check evaluates cond against the current version (nil: none). When the
// key does not exist and cond fails, a missing bucket wins, as in every
// store.
func check(ctx context.Context, tx pgx.Tx, bucket string, cond meta.Condition, cur *current) error {
	var o *meta.Object
	if cur != nil {
		o = &meta.Object{ETag: cur.etag}
	}
	err := cond.Check(o)
	if err != nil && cur == nil {
		if berr := needBucket(ctx, tx, bucket); berr != nil {
			return berr
		}
	}
	return err
}

// putObjectTx writes o in place of the current version if cond holds, and
// returns the blobs that became unreferenced. Concurrent writers of one key
// queue on its row lock; each evaluates cond against, and frees the blobs
// of, the version committed just before it, so every replaced blob is
// freed exactly once.
func putObjectTx(ctx context.Context, tx pgx.Tx, o *meta.Object, cond meta.Condition, freed []string) ([]string, error) {
	args, err := objectArgs(o)
	if err != nil {
		return nil, err
	}
	if err := addRefs(ctx, tx, segmentBlobs(o.Segments)); err != nil {
		return nil, err
	}
	for {
		cur, err := lockObject(ctx, tx, o.Bucket, o.Key)
		if err != nil {
			return nil, err
		}
		if err := check(ctx, tx, o.Bucket, cond, cur); err != nil {
			return nil, err
		}
		if cur != nil {
			ev := Event{Kind: EventObject, ID: objectID(o.Bucket, o.Key)}
			if _, err := tx.Exec(ctx, sqlUpdateObject, append(args, InvalidationChannel, ev.payload())...); err != nil {
				return nil, err
			}
			return releaseRefs(ctx, tx, segmentBlobs(cur.segments), freed)
		}
		tag, err := tx.Exec(ctx, sqlInsertObject, args...)
		if pgCode(err) == pgForeignKeyViolation {
			return nil, fmt.Errorf("bucket %q: %w", o.Bucket, meta.ErrNoSuchBucket)
		}
		if err != nil {
			return nil, err
		}
		if tag.RowsAffected() == 1 {
			return freed, nil
		}
		// Another transaction created the key after our look: lock its
		// row and decide again (its version is the one replaced).
	}
}

// PutObject implements meta.Store. cond is checked against the current
// object inside the write transaction, under the object's row lock.
func (s *Store) PutObject(ctx context.Context, o meta.Object, cond meta.Condition) (freed []string, err error) {
	if o.Key == "" {
		return nil, errors.New("meta/postgres: put object: empty key")
	}
	defer s.forgetObject(o.Bucket, o.Key)
	if len(o.Segments) == 0 && cond.Check(nil) == nil {
		// A new key whose bytes are inline (no blob to count) and that
		// cond lets be created: one statement, committed on its own (one
		// round trip instead of four). When the key exists, the
		// transaction below replaces it under its row lock.
		args, err := objectArgs(&o)
		if err != nil {
			return nil, fmt.Errorf("meta/postgres: put object %q/%q: %w", o.Bucket, o.Key, err)
		}
		tag, err := s.pool.Exec(ctx, sqlInsertObject, args...)
		if pgCode(err) == pgForeignKeyViolation {
			return nil, fmt.Errorf("meta/postgres: put object %q/%q: bucket %q: %w", o.Bucket, o.Key, o.Bucket, meta.ErrNoSuchBucket)
		}
		if err != nil {
			return nil, fmt.Errorf("meta/postgres: put object %q/%q: %w", o.Bucket, o.Key, err)
		}
		if tag.RowsAffected() == 1 {
			return nil, nil
		}
	}
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		freed, err = putObjectTx(ctx, tx, &o, cond, nil)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("meta/postgres: put object %q/%q: %w", o.Bucket, o.Key, err)
	}
	return freed, nil
}

const sqlGetObject = `SELECT ` + objCols + ` FROM objects WHERE bucket = $1 AND key = $2`

// GetObject implements meta.Store: one query, and a second one to tell a
// missing key from a missing bucket. With a cache (UseCache) an inline
// object found is kept until an event says it changed (cache.go); a
// missing one is not kept.
func (s *Store) GetObject(ctx context.Context, bucket, key string) (meta.Object, error) {
	if s.cache == nil {
		return s.getObject(ctx, bucket, key)
	}
	id := objectID(bucket, key)
	o, hit, gen, ok := s.cache.object(id, bucket, key)
	if hit {
		return o, nil
	}
	o, err := s.getObject(ctx, bucket, key)
	if err == nil && ok {
		s.cache.keepObject(id, o, gen)
	}
	return o, err
}

// forgetObject makes this node's cache forget bucket/key once a write to
// it has ended (committed or not: an error at COMMIT may hide a commit).
func (s *Store) forgetObject(bucket, key string) {
	if s.cache != nil {
		s.cache.forgetObject(objectID(bucket, key))
	}
}

func (s *Store) getObject(ctx context.Context, bucket, key string) (meta.Object, error) {
	o, err := scanObject(s.pool.QueryRow(ctx, sqlGetObject, bucket, kb(key)), bucket, true)
	if errors.Is(err, pgx.ErrNoRows) {
		if err := needBucket(ctx, s.pool, bucket); err != nil {
			return meta.Object{}, fmt.Errorf("meta/postgres: get object: %w", err)
		}
		return meta.Object{}, fmt.Errorf("meta/postgres: object %q/%q: %w", bucket, key, meta.ErrNoSuchKey)
	}
	if err != nil {
		return meta.Object{}, fmt.Errorf("meta/postgres: get object %q/%q: %w", bucket, key, err)
	}
	return o, nil
}

// DeleteObject implements meta.Store. A missing bucket is ErrNoSuchBucket;
// a missing key is not an error unless cond requires it.
func (s *Store) DeleteObject(ctx context.Context, bucket, key string, cond meta.Condition) (freed []string, err error) {
	defer s.forgetObject(bucket, key)
	ev := Event{Kind: EventObject, ID: objectID(bucket, key)}
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		freed = nil
		if !cond.IsZero() {
			cur, err := lockObject(ctx, tx, bucket, key)
			if err != nil {
				return err
			}
			if err := check(ctx, tx, bucket, cond, cur); err != nil {
				return err
			}
		}
		var segs []byte
		err := tx.QueryRow(ctx, sqlDeleteObject, bucket, kb(key), InvalidationChannel, ev.payload()).Scan(&segs, nil)
		if errors.Is(err, pgx.ErrNoRows) {
			return needBucket(ctx, tx, bucket)
		}
		if err != nil {
			return err
		}
		var old []meta.Segment
		if err := decJSON(segs, &old); err != nil {
			return fmt.Errorf("decode segments: %w", err)
		}
		freed, err = releaseRefs(ctx, tx, segmentBlobs(old), nil)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("meta/postgres: delete object %q/%q: %w", bucket, key, err)
	}
	return freed, nil
}

// BlobReferenced implements meta.Store, in one query. The answer has an
// entry for every id.
func (s *Store) BlobReferenced(ctx context.Context, ids []string) (map[string]bool, error) {
	out := make(map[string]bool, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT blob_id FROM blob_refs WHERE blob_id = ANY ($1::text[])`, ids)
	if err != nil {
		return nil, fmt.Errorf("meta/postgres: blob referenced: %w", err)
	}
	found, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("meta/postgres: blob referenced: %w", err)
	}
	for _, id := range ids {
		out[id] = false
	}
	for _, id := range found {
		out[id] = true
	}
	return out, nil
}
