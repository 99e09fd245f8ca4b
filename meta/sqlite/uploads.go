package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/postern/postern/meta"
)

// template is the stored (JSON) form of meta.Upload.Template. Bucket, Key,
// Size, ETag and Segments are not stored: the contract ignores them.
type template struct {
	ContentType        string            `json:"ct,omitempty"`
	ContentEncoding    string            `json:"ce,omitempty"`
	ContentDisposition string            `json:"cd,omitempty"`
	ContentLanguage    string            `json:"cl,omitempty"`
	CacheControl       string            `json:"cc,omitempty"`
	Expires            string            `json:"ex,omitempty"`
	UserMeta           map[string]string `json:"um,omitempty"`
	Checksums          map[string]string `json:"ck,omitempty"`
	ChecksumType       string            `json:"ckt,omitempty"`
	LastModified       time.Time         `json:"lm,omitzero"`
	PartsCount         int               `json:"pc,omitempty"`
}

func toTemplate(o meta.Object) template {
	return template{o.ContentType, o.ContentEncoding, o.ContentDisposition, o.ContentLanguage, o.CacheControl,
		o.Expires, o.UserMeta, o.Checksums, o.ChecksumType, o.LastModified.Truncate(meta.TimePrecision), o.PartsCount}
}

func (t template) object() meta.Object {
	return meta.Object{ContentType: t.ContentType, ContentEncoding: t.ContentEncoding,
		ContentDisposition: t.ContentDisposition, ContentLanguage: t.ContentLanguage, CacheControl: t.CacheControl,
		Expires: t.Expires, UserMeta: t.UserMeta, Checksums: t.Checksums, ChecksumType: t.ChecksumType,
		LastModified: t.LastModified, PartsCount: t.PartsCount}
}

const uploadCols = `upload_id, obj_key, initiated, template, checksum_algorithm, checksum_type, owner`

func scanUpload(sc rowScanner, bucket string) (meta.Upload, error) {
	u := meta.Upload{Bucket: bucket}
	var key []byte
	var initiated int64
	var tmpl string
	if err := sc.Scan(&u.ID, &key, &initiated, &tmpl, &u.ChecksumAlgorithm, &u.ChecksumType, &u.Owner); err != nil {
		return meta.Upload{}, err
	}
	u.Key = string(key)
	u.Initiated = decTime(initiated)
	var t template
	if err := decJSON(tmpl, &t); err != nil {
		return meta.Upload{}, fmt.Errorf("decode template of upload %q: %w", u.ID, err)
	}
	u.Template = t.object()
	return u, nil
}

// getUpload reads an upload, checking it belongs to bucket/key. A missing
// upload is ErrNoSuchUpload, or ErrNoSuchBucket when the bucket is missing.
func getUpload(ctx context.Context, q queryer, bucket, key, id string) (meta.Upload, error) {
	u, err := scanUpload(q.QueryRowContext(ctx, `SELECT `+uploadCols+` FROM uploads
		WHERE upload_id = $1 AND bucket = $2 AND obj_key = $3`, id, bucket, kb(key)), bucket)
	if errors.Is(err, sql.ErrNoRows) {
		if err := needBucket(ctx, q, bucket); err != nil {
			return meta.Upload{}, err
		}
		return meta.Upload{}, fmt.Errorf("upload %q of %q/%q: %w", id, bucket, key, meta.ErrNoSuchUpload)
	}
	return u, err
}

// CreateUpload implements meta.Store. u.ID must be unique (chosen by the caller).
func (s *Store) CreateUpload(ctx context.Context, u meta.Upload) error {
	if u.ID == "" {
		return errors.New("meta/sqlite: create upload: empty upload id")
	}
	tmpl, err := encJSON(toTemplate(u.Template))
	if err != nil {
		return fmt.Errorf("meta/sqlite: create upload: %w", err)
	}
	return s.write(ctx, func(tx *wtx) error {
		ctx := context.Background()
		if err := needBucket(ctx, tx, u.Bucket); err != nil {
			return fmt.Errorf("meta/sqlite: create upload: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO uploads (`+uploadCols+`, bucket) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			u.ID, kb(u.Key), encTime(u.Initiated), tmpl, u.ChecksumAlgorithm, u.ChecksumType, u.Owner, u.Bucket); err != nil {
			return fmt.Errorf("meta/sqlite: create upload %q: %w", u.ID, err)
		}
		return nil
	})
}

// GetUpload implements meta.Store.
func (s *Store) GetUpload(ctx context.Context, bucket, key, uploadID string) (meta.Upload, error) {
	u, err := getUpload(ctx, s.rdb, bucket, key, uploadID)
	if err != nil {
		return meta.Upload{}, fmt.Errorf("meta/sqlite: get upload: %w", err)
	}
	return u, nil
}

// PutPart implements meta.Store.
func (s *Store) PutPart(ctx context.Context, bucket, key, uploadID string, p meta.Part) (freed []string, err error) {
	if p.Number < 1 {
		return nil, fmt.Errorf("meta/sqlite: put part: invalid part number %d", p.Number)
	}
	checksums, err := encJSON(p.Segment.Checksums)
	if err != nil {
		return nil, fmt.Errorf("meta/sqlite: put part: %w", err)
	}
	err = s.write(ctx, func(tx *wtx) error {
		freed = nil
		ctx := context.Background()
		if _, err := getUpload(ctx, tx, bucket, key, uploadID); err != nil {
			return fmt.Errorf("meta/sqlite: put part: %w", err)
		}
		old, err := queryStrings(ctx, tx, `SELECT blob_id FROM parts WHERE upload_id = $1 AND part_number = $2`, uploadID, p.Number)
		if err != nil {
			return fmt.Errorf("meta/sqlite: put part: %w", err)
		}
		if err := addRefs(ctx, tx, []string{p.Segment.BlobID}); err != nil {
			return fmt.Errorf("meta/sqlite: put part: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO parts (upload_id, part_number, blob_id, size, etag, checksums, last_modified)
			VALUES ($1, $2, $3, $4, $5, $6, $7)
			ON CONFLICT (upload_id, part_number) DO UPDATE SET blob_id = excluded.blob_id, size = excluded.size,
				etag = excluded.etag, checksums = excluded.checksums, last_modified = excluded.last_modified`,
			uploadID, p.Number, p.Segment.BlobID, p.Segment.Size, p.Segment.PartETag, checksums, encTime(p.LastModified)); err != nil {
			return fmt.Errorf("meta/sqlite: put part %d of %q: %w", p.Number, uploadID, err)
		}
		freed, err = releaseRefs(ctx, tx, old, nil)
		if err != nil {
			return fmt.Errorf("meta/sqlite: put part: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return freed, nil
}

// ListParts implements meta.Store. max <= 0 returns an empty, non-truncated page.
func (s *Store) ListParts(ctx context.Context, bucket, key, uploadID string, marker, max int) (parts []meta.Part, truncated bool, err error) {
	tx, err := s.rdb.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, false, fmt.Errorf("meta/sqlite: list parts: %w", err)
	}
	defer tx.Rollback()
	if _, err := getUpload(ctx, tx, bucket, key, uploadID); err != nil {
		return nil, false, fmt.Errorf("meta/sqlite: list parts: %w", err)
	}
	if max <= 0 {
		return nil, false, nil
	}
	parts, err = queryParts(ctx, tx, uploadID, marker, max+1)
	if err != nil {
		return nil, false, fmt.Errorf("meta/sqlite: list parts of %q: %w", uploadID, err)
	}
	if len(parts) > max {
		return parts[:max], true, nil
	}
	return parts, false, nil
}

// queryParts returns up to limit parts numbered above marker.
func queryParts(ctx context.Context, q queryer, uploadID string, marker, limit int) ([]meta.Part, error) {
	rows, err := q.QueryContext(ctx, `SELECT part_number, blob_id, size, etag, checksums, last_modified FROM parts
		WHERE upload_id = $1 AND part_number > $2 ORDER BY part_number LIMIT $3`, uploadID, marker, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var parts []meta.Part
	for rows.Next() {
		var p meta.Part
		var checksums string
		var lm int64
		if err := rows.Scan(&p.Number, &p.Segment.BlobID, &p.Segment.Size, &p.Segment.PartETag, &checksums, &lm); err != nil {
			return nil, err
		}
		if err := decJSON(checksums, &p.Segment.Checksums); err != nil {
			return nil, fmt.Errorf("decode checksums of part %d: %w", p.Number, err)
		}
		p.LastModified = decTime(lm)
		parts = append(parts, p)
	}
	return parts, rows.Err()
}

// removeUpload deletes an upload and its parts and releases the parts' blobs.
func removeUpload(ctx context.Context, tx *wtx, uploadID string, freed []string) ([]string, error) {
	blobs, err := queryStrings(ctx, tx, `SELECT blob_id FROM parts WHERE upload_id = $1`, uploadID)
	if err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM parts WHERE upload_id = $1`, uploadID); err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM uploads WHERE upload_id = $1`, uploadID); err != nil {
		return nil, err
	}
	return releaseRefs(ctx, tx, blobs, freed)
}

// CompleteUpload implements meta.Store. Every segment of o must be the blob
// of one of the upload's parts; o.Bucket and o.Key, when set, must match.
// cond is checked against the object being replaced.
func (s *Store) CompleteUpload(ctx context.Context, bucket, key, uploadID string, o meta.Object, cond meta.Condition) (freed []string, err error) {
	if (o.Bucket != "" && o.Bucket != bucket) || (o.Key != "" && o.Key != key) {
		return nil, fmt.Errorf("meta/sqlite: complete upload: object %q/%q does not match upload target %q/%q", o.Bucket, o.Key, bucket, key)
	}
	o.Bucket, o.Key = bucket, key
	defer s.forgetObject(bucket, key)
	err = s.write(ctx, func(tx *wtx) error {
		freed = nil
		ctx := context.Background()
		if _, err := getUpload(ctx, tx, bucket, key, uploadID); err != nil {
			return fmt.Errorf("meta/sqlite: complete upload: %w", err)
		}
		blobs, err := queryStrings(ctx, tx, `SELECT blob_id FROM parts WHERE upload_id = $1`, uploadID)
		if err != nil {
			return fmt.Errorf("meta/sqlite: complete upload %q: %w", uploadID, err)
		}
		have := make(map[string]bool, len(blobs))
		for _, b := range blobs {
			have[b] = true
		}
		for _, seg := range o.Segments {
			if !have[seg.BlobID] {
				return fmt.Errorf("meta/sqlite: complete upload %q: segment blob %q is not a part of the upload", uploadID, seg.BlobID)
			}
		}
		cur, ok, err := getObject(ctx, tx, bucket, key)
		if err != nil {
			return fmt.Errorf("meta/sqlite: complete upload %q: %w", uploadID, err)
		}
		var old *meta.Object
		if ok {
			old = &cur
		}
		if err := cond.Check(old); err != nil {
			return fmt.Errorf("meta/sqlite: complete upload %q: %w", uploadID, err)
		}
		if freed, err = putObjectTx(ctx, tx, &o, old); err != nil {
			return fmt.Errorf("meta/sqlite: complete upload %q: %w", uploadID, err)
		}
		if freed, err = removeUpload(ctx, tx, uploadID, freed); err != nil {
			return fmt.Errorf("meta/sqlite: complete upload %q: %w", uploadID, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return freed, nil
}

// AbortUpload implements meta.Store.
func (s *Store) AbortUpload(ctx context.Context, bucket, key, uploadID string) (freed []string, err error) {
	err = s.write(ctx, func(tx *wtx) error {
		freed = nil
		ctx := context.Background()
		if _, err := getUpload(ctx, tx, bucket, key, uploadID); err != nil {
			return fmt.Errorf("meta/sqlite: abort upload: %w", err)
		}
		if freed, err = removeUpload(ctx, tx, uploadID, nil); err != nil {
			return fmt.Errorf("meta/sqlite: abort upload %q: %w", uploadID, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return freed, nil
}

// ListUploads implements meta.Store. Uploads are ordered by key, then
// initiation time, then upload id. UploadIDMarker is used only with a
// KeyMarker: it admits the uploads of KeyMarker that sort after that upload;
// if that upload no longer exists, all uploads of KeyMarker are skipped.
func (s *Store) ListUploads(ctx context.Context, bucket string, opt meta.ListUploadsOptions) (meta.ListUploadsResult, error) {
	var res meta.ListUploadsResult
	tx, err := s.rdb.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return res, fmt.Errorf("meta/sqlite: list uploads: %w", err)
	}
	defer tx.Rollback()
	if err := needBucket(ctx, tx, bucket); err != nil {
		return res, fmt.Errorf("meta/sqlite: list uploads: %w", err)
	}
	start := startCursor(opt.Prefix, opt.KeyMarker)
	if opt.KeyMarker != "" && opt.UploadIDMarker != "" && !start.incl {
		var initiated int64
		err := tx.QueryRowContext(ctx, `SELECT initiated FROM uploads WHERE upload_id = $1 AND bucket = $2 AND obj_key = $3`,
			opt.UploadIDMarker, bucket, kb(opt.KeyMarker)).Scan(&initiated)
		switch {
		case err == nil:
			start.tie, start.tieInit, start.tieID = true, initiated, opt.UploadIDMarker
		case !errors.Is(err, sql.ErrNoRows):
			return res, fmt.Errorf("meta/sqlite: list uploads: %w", err)
		}
	}
	l := listSpec[meta.Upload]{
		prefix: opt.Prefix,
		delim:  opt.Delimiter,
		after:  opt.KeyMarker,
		start:  start,
		max:    opt.MaxUploads,
		fetch: func(c cursor, upper []byte, limit int, each func(meta.Upload) bool) (int, error) {
			where, args := keyRange(c, upper, 2)
			rows, err := tx.QueryContext(ctx, `SELECT `+uploadCols+` FROM uploads WHERE bucket = $1`+where+
				fmt.Sprintf(` ORDER BY obj_key, initiated, upload_id LIMIT %d`, limit), append([]any{bucket}, args...)...)
			if err != nil {
				return 0, err
			}
			defer rows.Close()
			n := 0
			for rows.Next() {
				u, err := scanUpload(rows, bucket)
				if err != nil {
					return n, err
				}
				n++
				if !each(u) {
					break
				}
			}
			return n, rows.Err()
		},
		key: func(u meta.Upload) string { return u.Key },
		next: func(u meta.Upload) cursor {
			return cursor{key: kb(u.Key), tie: true, tieInit: encTime(u.Initiated), tieID: u.ID}
		},
	}
	entries, truncated, err := l.list()
	if err != nil {
		return meta.ListUploadsResult{}, fmt.Errorf("meta/sqlite: list uploads in %q: %w", bucket, err)
	}
	for _, e := range entries {
		if e.isCP {
			res.CommonPrefixes = append(res.CommonPrefixes, e.prefix)
			res.NextKeyMarker, res.NextUploadIDMarker = e.prefix, ""
		} else {
			res.Uploads = append(res.Uploads, e.row)
			res.NextKeyMarker, res.NextUploadIDMarker = e.row.Key, e.row.ID
		}
	}
	res.IsTruncated = truncated
	if !truncated {
		res.NextKeyMarker, res.NextUploadIDMarker = "", ""
	}
	return res, nil
}
