package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/postern/postern/meta"
)

// objListCols are the object columns listings read; objCols adds segments.
const (
	objListCols = `obj_key, size, etag, last_modified, content_type, content_encoding, content_disposition,
		content_language, cache_control, expires, user_meta, checksums, checksum_type, parts_count`
	objCols = objListCols + `, segments, inline_data`
)

type rowScanner interface{ Scan(dest ...any) error }

// scanObject scans a row of objListCols (withSegments: objCols).
func scanObject(sc rowScanner, bucket string, withSegments bool) (meta.Object, error) {
	o := meta.Object{Bucket: bucket}
	var key []byte
	var lm int64
	var userMeta, checksums, segments string
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

const sqlGetObject = `SELECT ` + objCols + ` FROM objects WHERE bucket = $1 AND obj_key = $2`

// getObject reads bucket/key; ok is false when it does not exist.
func getObject(ctx context.Context, q queryer, bucket, key string) (o meta.Object, ok bool, err error) {
	o, err = scanObject(q.QueryRowContext(ctx, `SELECT `+objCols+` FROM objects WHERE bucket = $1 AND obj_key = $2`,
		bucket, kb(key)), bucket, true)
	if errors.Is(err, sql.ErrNoRows) {
		return meta.Object{}, false, nil
	}
	if err != nil {
		return meta.Object{}, false, err
	}
	return o, true, nil
}

// putObjectTx inserts or replaces o and returns the blobs that became unreferenced.
func putObjectTx(ctx context.Context, tx *wtx, o *meta.Object, old *meta.Object) (freed []string, err error) {
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
	if err := addRefs(ctx, tx, segmentBlobs(o.Segments)); err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO objects (bucket, obj_key, size, etag, last_modified,
			content_type, content_encoding, content_disposition, content_language, cache_control, expires,
			user_meta, checksums, checksum_type, parts_count, segments, inline_data)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
		ON CONFLICT (bucket, obj_key) DO UPDATE SET size = excluded.size, etag = excluded.etag,
			last_modified = excluded.last_modified, content_type = excluded.content_type,
			content_encoding = excluded.content_encoding, content_disposition = excluded.content_disposition,
			content_language = excluded.content_language, cache_control = excluded.cache_control,
			expires = excluded.expires, user_meta = excluded.user_meta, checksums = excluded.checksums,
			checksum_type = excluded.checksum_type, parts_count = excluded.parts_count, segments = excluded.segments,
			inline_data = excluded.inline_data`,
		o.Bucket, kb(o.Key), o.Size, o.ETag, encTime(o.LastModified),
		o.ContentType, o.ContentEncoding, o.ContentDisposition, o.ContentLanguage, o.CacheControl, o.Expires,
		userMeta, checksums, o.ChecksumType, o.PartsCount, segments, inlineArg(o.Inline)); err != nil {
		return nil, err
	}
	if old != nil {
		return releaseRefs(ctx, tx, segmentBlobs(old.Segments), nil)
	}
	return nil, nil
}

// PutObject implements meta.Store. cond is checked against the current
// object inside the write transaction.
func (s *Store) PutObject(ctx context.Context, o meta.Object, cond meta.Condition) (freed []string, err error) {
	if o.Key == "" {
		return nil, errors.New("meta/sqlite: put object: empty key")
	}
	defer s.forgetObject(o.Bucket, o.Key)
	err = s.write(ctx, func(tx *wtx) error {
		freed = nil
		ctx := context.Background()
		cur, ok, err := getObject(ctx, tx, o.Bucket, o.Key)
		if err != nil {
			return fmt.Errorf("meta/sqlite: put object %q/%q: %w", o.Bucket, o.Key, err)
		}
		var old *meta.Object
		if ok {
			old = &cur
		} else if err := needBucket(ctx, tx, o.Bucket); err != nil {
			return fmt.Errorf("meta/sqlite: put object: %w", err)
		}
		if err := cond.Check(old); err != nil {
			return fmt.Errorf("meta/sqlite: put object %q/%q: %w", o.Bucket, o.Key, err)
		}
		freed, err = putObjectTx(ctx, tx, &o, old)
		if err != nil {
			return fmt.Errorf("meta/sqlite: put object %q/%q: %w", o.Bucket, o.Key, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return freed, nil
}

// GetObject implements meta.Store.
func (s *Store) GetObject(ctx context.Context, bucket, key string) (meta.Object, error) {
	k := objectKey{bucket, key}
	o, _, gen, ok := s.objects.lookup(k)
	if ok {
		return o, nil
	}
	o, err := s.getObject(ctx, bucket, key)
	if err == nil {
		s.objects.add(k, o, nil, gen)
	}
	return o, err
}

func (s *Store) getObject(ctx context.Context, bucket, key string) (meta.Object, error) {
	o, err := scanObject(s.stmtGetObject.QueryRowContext(context.Background(), bucket, kb(key)), bucket, true)
	ok := err == nil
	if errors.Is(err, sql.ErrNoRows) {
		err = nil
	}
	if err != nil {
		return meta.Object{}, fmt.Errorf("meta/sqlite: get object %q/%q: %w", bucket, key, err)
	}
	if ok {
		return o, nil
	}
	if err := needBucket(ctx, s.rdb, bucket); err != nil {
		return meta.Object{}, fmt.Errorf("meta/sqlite: get object: %w", err)
	}
	return meta.Object{}, fmt.Errorf("meta/sqlite: object %q/%q: %w", bucket, key, meta.ErrNoSuchKey)
}

// DeleteObject implements meta.Store. A missing bucket is ErrNoSuchBucket;
// a missing key is not an error unless cond requires it.
func (s *Store) DeleteObject(ctx context.Context, bucket, key string, cond meta.Condition) (freed []string, err error) {
	defer s.forgetObject(bucket, key)
	err = s.write(ctx, func(tx *wtx) error {
		freed = nil
		ctx := context.Background()
		if !cond.IsZero() {
			cur, ok, err := getObject(ctx, tx, bucket, key)
			if err != nil {
				return fmt.Errorf("meta/sqlite: delete object %q/%q: %w", bucket, key, err)
			}
			var old *meta.Object
			if ok {
				old = &cur
			} else if err := needBucket(ctx, tx, bucket); err != nil {
				return fmt.Errorf("meta/sqlite: delete object: %w", err)
			}
			if err := cond.Check(old); err != nil {
				return fmt.Errorf("meta/sqlite: delete object %q/%q: %w", bucket, key, err)
			}
		}
		var segments string
		err := tx.QueryRowContext(ctx, `DELETE FROM objects WHERE bucket = $1 AND obj_key = $2 RETURNING segments`,
			bucket, kb(key)).Scan(&segments)
		if errors.Is(err, sql.ErrNoRows) {
			if err := needBucket(ctx, tx, bucket); err != nil {
				return fmt.Errorf("meta/sqlite: delete object: %w", err)
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("meta/sqlite: delete object %q/%q: %w", bucket, key, err)
		}
		var segs []meta.Segment
		if err := decJSON(segments, &segs); err != nil {
			return fmt.Errorf("meta/sqlite: delete object %q/%q: decode segments: %w", bucket, key, err)
		}
		freed, err = releaseRefs(ctx, tx, segmentBlobs(segs), nil)
		if err != nil {
			return fmt.Errorf("meta/sqlite: delete object %q/%q: %w", bucket, key, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return freed, nil
}

// BlobReferenced implements meta.Store. The answer has an entry for every id.
func (s *Store) BlobReferenced(ctx context.Context, ids []string) (map[string]bool, error) {
	out := make(map[string]bool, len(ids))
	const chunk = 500
	for start := 0; start < len(ids); start += chunk {
		part := ids[start:min(start+chunk, len(ids))]
		var sb strings.Builder
		args := make([]any, len(part))
		sb.WriteString(`SELECT blob_id FROM blob_refs WHERE blob_id IN (`)
		for i, id := range part {
			if i > 0 {
				sb.WriteByte(',')
			}
			fmt.Fprintf(&sb, "$%d", i+1)
			args[i] = id
			out[id] = false
		}
		sb.WriteByte(')')
		found, err := queryStrings(ctx, s.rdb, sb.String(), args...)
		if err != nil {
			return nil, fmt.Errorf("meta/sqlite: blob referenced: %w", err)
		}
		for _, id := range found {
			out[id] = true
		}
	}
	return out, nil
}

// inlineArg stores nil inline data as NULL and an empty inline object as an
// empty BLOB, so that a zero-byte inline object stays inline.
func inlineArg(b []byte) any {
	if b == nil {
		return nil
	}
	return b
}
