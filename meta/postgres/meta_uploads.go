package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/postern/postern/meta"
)

// template is the stored (jsonb) form of meta.Upload.Template, the same as
// meta/sqlite's. Bucket, Key, Size, ETag and Segments are not stored: the
// contract ignores them.
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
		o.Expires, o.UserMeta, o.Checksums, o.ChecksumType, encTime(o.LastModified), o.PartsCount}
}

func (t template) object() meta.Object {
	return meta.Object{ContentType: t.ContentType, ContentEncoding: t.ContentEncoding,
		ContentDisposition: t.ContentDisposition, ContentLanguage: t.ContentLanguage, CacheControl: t.CacheControl,
		Expires: t.Expires, UserMeta: t.UserMeta, Checksums: t.Checksums, ChecksumType: t.ChecksumType,
		LastModified: t.LastModified, PartsCount: t.PartsCount}
}

const uploadCols = `upload_id, key, initiated, template, checksum_algorithm, checksum_type, owner`

func scanUpload(sc pgx.Row, bucket string) (meta.Upload, error) {
	u := meta.Upload{Bucket: bucket}
	var key, tmpl []byte
	var initiated time.Time
	if err := sc.Scan(&u.ID, &key, &initiated, &tmpl, &u.ChecksumAlgorithm, &u.ChecksumType, &u.Owner); err != nil {
		return meta.Upload{}, err
	}
	u.Key = string(key)
	u.Initiated = decTime(initiated)
	var t template
	if err := decJSON(tmpl, &t); err != nil {
		return meta.Upload{}, fmt.Errorf("decode template of upload %q: %w", u.ID, err)
	}
	if !t.LastModified.IsZero() {
		t.LastModified = t.LastModified.UTC()
	}
	u.Template = t.object()
	return u, nil
}

// getUpload reads an upload, checking it belongs to bucket/key; lock takes
// its row lock (FOR UPDATE), which orders PutPart, CompleteUpload and
// AbortUpload of one upload. A missing upload is ErrNoSuchUpload, or
// ErrNoSuchBucket when the bucket is missing.
func getUpload(ctx context.Context, q querier, bucket, key, id string, lock bool) (meta.Upload, error) {
	sql := `SELECT ` + uploadCols + ` FROM uploads WHERE upload_id = $1 AND bucket = $2 AND key = $3`
	if lock {
		sql += ` FOR UPDATE`
	}
	u, err := scanUpload(q.QueryRow(ctx, sql, id, bucket, kb(key)), bucket)
	if errors.Is(err, pgx.ErrNoRows) {
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
		return errors.New("meta/postgres: create upload: empty upload id")
	}
	tmpl, err := encJSON(toTemplate(u.Template))
	if err != nil {
		return fmt.Errorf("meta/postgres: create upload: %w", err)
	}
	_, err = s.pool.Exec(ctx, `INSERT INTO uploads (`+uploadCols+`, bucket) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		u.ID, kb(u.Key), encTime(u.Initiated), tmpl, u.ChecksumAlgorithm, u.ChecksumType, u.Owner, u.Bucket)
	if pgCode(err) == pgForeignKeyViolation {
		err = fmt.Errorf("bucket %q: %w", u.Bucket, meta.ErrNoSuchBucket)
	}
	if err != nil {
		return fmt.Errorf("meta/postgres: create upload %q: %w", u.ID, err)
	}
	return nil
}

// GetUpload implements meta.Store.
func (s *Store) GetUpload(ctx context.Context, bucket, key, uploadID string) (meta.Upload, error) {
	u, err := getUpload(ctx, s.pool, bucket, key, uploadID, false)
	if err != nil {
		return meta.Upload{}, fmt.Errorf("meta/postgres: get upload: %w", err)
	}
	return u, nil
}

// PutPart implements meta.Store.
func (s *Store) PutPart(ctx context.Context, bucket, key, uploadID string, p meta.Part) (freed []string, err error) {
	if p.Number < 1 {
		return nil, fmt.Errorf("meta/postgres: put part: invalid part number %d", p.Number)
	}
	checksums, err := encJSON(p.Segment.Checksums)
	if err != nil {
		return nil, fmt.Errorf("meta/postgres: put part: %w", err)
	}
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		freed = nil
		// A share lock: parts of one upload arrive in parallel; only
		// completing and aborting (FOR UPDATE) exclude them.
		var one int
		err := tx.QueryRow(ctx, `SELECT 1 FROM uploads WHERE upload_id = $1 AND bucket = $2 AND key = $3 FOR SHARE`,
			uploadID, bucket, kb(key)).Scan(&one)
		if errors.Is(err, pgx.ErrNoRows) {
			_, err = getUpload(ctx, tx, bucket, key, uploadID, false)
			if err == nil { // created since: cannot be, ids are unique
				err = fmt.Errorf("upload %q: %w", uploadID, meta.ErrNoSuchUpload)
			}
		}
		if err != nil {
			return err
		}
		if err := addRefs(ctx, tx, []string{p.Segment.BlobID}); err != nil {
			return err
		}
		// The old part's blob, read under the row lock the upsert takes:
		// a CTE reading the row before the upsert would race with a
		// concurrent upload of the same part number.
		var old []string
		rows, err := tx.Query(ctx, `SELECT blob_id FROM parts WHERE upload_id = $1 AND part_number = $2 FOR UPDATE`, uploadID, p.Number)
		if err != nil {
			return err
		}
		if old, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `INSERT INTO parts (upload_id, part_number, blob_id, size, etag, checksums, last_modified)
			VALUES ($1, $2, $3, $4, $5, $6, $7)
			ON CONFLICT (upload_id, part_number) DO UPDATE SET blob_id = excluded.blob_id, size = excluded.size,
				etag = excluded.etag, checksums = excluded.checksums, last_modified = excluded.last_modified
			WHERE $8`,
			uploadID, p.Number, p.Segment.BlobID, p.Segment.Size, p.Segment.PartETag, checksums, encTime(p.LastModified), len(old) > 0)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			// The part was created by another transaction after our
			// look: run again, which then replaces (and frees) it.
			return &pgconn.PgError{Code: pgSerializationFailure, Message: "part created concurrently"}
		}
		freed, err = releaseRefs(ctx, tx, old, nil)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("meta/postgres: put part %d of %q: %w", p.Number, uploadID, err)
	}
	return freed, nil
}

// ListParts implements meta.Store. max <= 0 returns an empty, non-truncated page.
func (s *Store) ListParts(ctx context.Context, bucket, key, uploadID string, marker, max int) (parts []meta.Part, truncated bool, err error) {
	err = pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{AccessMode: pgx.ReadOnly, IsoLevel: pgx.RepeatableRead}, func(tx pgx.Tx) error {
		if _, err := getUpload(ctx, tx, bucket, key, uploadID, false); err != nil {
			return err
		}
		if max <= 0 {
			return nil
		}
		var err error
		parts, err = queryParts(ctx, tx, uploadID, marker, max+1)
		return err
	})
	if err != nil {
		return nil, false, fmt.Errorf("meta/postgres: list parts of %q: %w", uploadID, err)
	}
	if len(parts) > max {
		return parts[:max], true, nil
	}
	return parts, false, nil
}

// queryParts returns up to limit parts numbered above marker.
func queryParts(ctx context.Context, q querier, uploadID string, marker, limit int) ([]meta.Part, error) {
	rows, err := q.Query(ctx, `SELECT part_number, blob_id, size, etag, checksums, last_modified FROM parts
		WHERE upload_id = $1 AND part_number > $2 ORDER BY part_number LIMIT $3`, uploadID, marker, limit)
	if err != nil {
		return nil, err
	}
	parts, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (meta.Part, error) {
		var p meta.Part
		var checksums []byte
		var lm time.Time
		if err := r.Scan(&p.Number, &p.Segment.BlobID, &p.Segment.Size, &p.Segment.PartETag, &checksums, &lm); err != nil {
			return p, err
		}
		p.LastModified = decTime(lm)
		if err := decJSON(checksums, &p.Segment.Checksums); err != nil {
			return p, fmt.Errorf("decode checksums of part %d: %w", p.Number, err)
		}
		return p, nil
	})
	if len(parts) == 0 {
		parts = nil
	}
	return parts, err
}

// removeUpload deletes a (locked) upload and its parts and releases the
// parts' blobs.
func removeUpload(ctx context.Context, tx pgx.Tx, uploadID string, freed []string) ([]string, error) {
	rows, err := tx.Query(ctx, `DELETE FROM parts WHERE upload_id = $1 RETURNING blob_id`, uploadID)
	if err != nil {
		return nil, err
	}
	blobs, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	if _, err := tx.Exec(ctx, `DELETE FROM uploads WHERE upload_id = $1`, uploadID); err != nil {
		return nil, err
	}
	return releaseRefs(ctx, tx, blobs, freed)
}

// CompleteUpload implements meta.Store. Every segment of o must be the blob
// of one of the upload's parts; o.Bucket and o.Key, when set, must match.
// cond is checked against the object being replaced, under its row lock.
func (s *Store) CompleteUpload(ctx context.Context, bucket, key, uploadID string, o meta.Object, cond meta.Condition) (freed []string, err error) {
	if (o.Bucket != "" && o.Bucket != bucket) || (o.Key != "" && o.Key != key) {
		return nil, fmt.Errorf("meta/postgres: complete upload: object %q/%q does not match upload target %q/%q", o.Bucket, o.Key, bucket, key)
	}
	o.Bucket, o.Key = bucket, key
	defer s.forgetObject(bucket, key)
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		freed = nil
		if _, err := getUpload(ctx, tx, bucket, key, uploadID, true); err != nil {
			return err
		}
		var missing []string
		if len(o.Segments) > 0 {
			rows, err := tx.Query(ctx, `SELECT id FROM unnest($1::text[]) AS id
				WHERE NOT EXISTS (SELECT 1 FROM parts WHERE upload_id = $2 AND blob_id = id)`, segmentBlobs(o.Segments), uploadID)
			if err != nil {
				return err
			}
			if missing, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
				return err
			}
		}
		if len(missing) > 0 {
			return fmt.Errorf("segment blob %q is not a part of the upload", missing[0])
		}
		var err error
		if freed, err = putObjectTx(ctx, tx, &o, cond, nil); err != nil {
			return err
		}
		freed, err = removeUpload(ctx, tx, uploadID, freed)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("meta/postgres: complete upload %q: %w", uploadID, err)
	}
	return freed, nil
}

// AbortUpload implements meta.Store.
func (s *Store) AbortUpload(ctx context.Context, bucket, key, uploadID string) (freed []string, err error) {
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		freed = nil
		if _, err := getUpload(ctx, tx, bucket, key, uploadID, true); err != nil {
			return err
		}
		var err error
		freed, err = removeUpload(ctx, tx, uploadID, nil)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("meta/postgres: abort upload %q: %w", uploadID, err)
	}
	return freed, nil
}

// ListUploads implements meta.Store. Uploads are ordered by key, then
// initiation time, then upload id. UploadIDMarker is used only with a
// KeyMarker: it admits the uploads of KeyMarker that sort after that upload;
// if that upload no longer exists, all uploads of KeyMarker are skipped.
//
// One query per page, plus one per common prefix met: after a common
// prefix the scan restarts past every key under it (uploads are few next
// to objects; ListObjects does the whole page in one query).
func (s *Store) ListUploads(ctx context.Context, bucket string, opt meta.ListUploadsOptions) (res meta.ListUploadsResult, err error) {
	err = pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{AccessMode: pgx.ReadOnly, IsoLevel: pgx.RepeatableRead}, func(tx pgx.Tx) error {
		res = meta.ListUploadsResult{}
		if err := needBucket(ctx, tx, bucket); err != nil {
			return err
		}
		var err error
		res, err = listUploads(ctx, tx, bucket, opt)
		return err
	})
	if err != nil {
		return meta.ListUploadsResult{}, fmt.Errorf("meta/postgres: list uploads in %q: %w", bucket, err)
	}
	return res, nil
}

// ucursor is a lower bound for the next query of an upload listing:
// key >= key, or, with tie, (key, initiated, upload_id) > (key, init, id).
type ucursor struct {
	key  []byte
	tie  bool
	init time.Time
	id   string
}

func listUploads(ctx context.Context, tx pgx.Tx, bucket string, opt meta.ListUploadsOptions) (meta.ListUploadsResult, error) {
	var res meta.ListUploadsResult
	max := opt.MaxUploads
	if max <= 0 {
		return res, nil
	}
	c := ucursor{key: startKey(opt.Prefix, opt.KeyMarker)}
	if opt.KeyMarker != "" && opt.UploadIDMarker != "" && opt.KeyMarker >= opt.Prefix {
		var initiated time.Time
		err := tx.QueryRow(ctx, `SELECT initiated FROM uploads WHERE upload_id = $1 AND bucket = $2 AND key = $3`,
			opt.UploadIDMarker, bucket, kb(opt.KeyMarker)).Scan(&initiated)
		switch {
		case err == nil:
			c = ucursor{key: kb(opt.KeyMarker), tie: true, init: initiated, id: opt.UploadIDMarker}
		case !errors.Is(err, pgx.ErrNoRows):
			return res, err
		}
	}
	upper := upperBound(opt.Prefix)
	var out []entry[meta.Upload]
	want := max + 1
	for len(out) < want {
		limit := want - len(out)
		q := `SELECT ` + uploadCols + ` FROM uploads WHERE bucket = $1`
		args := []any{bucket}
		if c.tie {
			q += ` AND (key, initiated, upload_id) > ($2, $3, $4)`
			args = append(args, c.key, c.init, c.id)
		} else {
			q += ` AND key >= $2`
			args = append(args, c.key)
		}
		if upper != nil {
			args = append(args, upper)
			q += fmt.Sprintf(` AND key < $%d`, len(args))
		}
		args = append(args, limit)
		q += fmt.Sprintf(` ORDER BY key, initiated, upload_id LIMIT $%d`, len(args))
		rows, err := tx.Query(ctx, q, args...)
		if err != nil {
			return res, err
		}
		ups, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (meta.Upload, error) { return scanUpload(r, bucket) })
		if err != nil {
			return res, err
		}
		reseek, exhausted := false, false
		for _, u := range ups {
			if opt.Delimiter != "" {
				if i := strings.Index(u.Key[len(opt.Prefix):], opt.Delimiter); i >= 0 {
					cp := u.Key[:len(opt.Prefix)+i+len(opt.Delimiter)]
					if cp > opt.KeyMarker {
						out = append(out, entry[meta.Upload]{prefix: cp, isCP: true})
					}
					if nu := upperBound(cp); nu == nil {
						exhausted = true
					} else {
						c, reseek = ucursor{key: nu}, true
					}
					break
				}
			}
			out = append(out, entry[meta.Upload]{row: u})
			c = ucursor{key: kb(u.Key), tie: true, init: encTime(u.Initiated), id: u.ID}
			if len(out) >= want {
				break
			}
		}
		if exhausted || (!reseek && len(ups) < limit) {
			break
		}
	}
	truncated := len(out) > max
	if truncated {
		out = out[:max]
	}
	for _, e := range out {
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
