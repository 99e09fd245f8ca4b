package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/postern/postern/share"
)

// The share.Store implementation (tables shares and share_audit, migration
// 0003_shares.sql). Nothing is cached on the node: every method reads the
// database, so a revocation made on one node holds on the next request on
// every node. A claim is one conditional UPDATE … RETURNING on the share's
// row: PostgreSQL's row lock makes concurrent claims on any number of
// nodes run in turn, each re-checking the condition on the row the one
// before left, so no more than MaxUses are ever taken. Every error that
// means the database is out of reach wraps meta.ErrUnavailable (classify).

var (
	_ share.Store    = (*Store)(nil)
	_ share.Importer = (*Store)(nil)
)

const shareCols = `id, access_key, account, creator_kind, creator_arn, creator_id, method, bucket, key, endpoint,
	created_at, expires, max_uses, uses, max_size, content_type, overwrite, note, webhook, revoked_at, revoked_by, last_used`

func scanShare(r pgx.Row) (share.Share, error) {
	var s share.Share
	var key []byte
	var revoked, used *time.Time
	err := r.Scan(&s.ID, &s.AccessKey, &s.AccountID, &s.Creator.Kind, &s.Creator.ARN, &s.Creator.UserID, &s.Method, &s.Bucket, &key, &s.Endpoint,
		&s.CreatedAt, &s.Expires, &s.MaxUses, &s.Uses, &s.MaxSize, &s.ContentType, &s.Overwrite, &s.Note, &s.Webhook, &revoked, &s.RevokedBy, &used)
	s.Key = string(key)
	s.CreatedAt, s.Expires = decTime(s.CreatedAt), decTime(s.Expires)
	s.RevokedAt, s.LastUsed = fromNull(revoked), fromNull(used)
	return s, err
}

func noShare() error { return share.ErrNoSuchShare }

func shareStorable(s share.Share) bool {
	return storable(s.ID, s.AccessKey, s.AccountID, s.Creator.Kind, s.Creator.ARN, s.Creator.UserID, s.Method, s.Bucket,
		s.Endpoint, s.ContentType, s.Note, s.Webhook, s.RevokedBy)
}

// insertShare inserts s as it is; ErrShareExists when its id or access
// key is taken.
func insertShare(ctx context.Context, q querier, s share.Share) error {
	if !shareStorable(s) {
		return fmt.Errorf("meta/postgres: share %q: text that is not valid UTF-8 or holds a NUL character", s.ID)
	}
	if s.Uses < 0 || s.MaxUses < 0 {
		return fmt.Errorf("meta/postgres: share %s: negative uses", s.ID)
	}
	tag, err := q.Exec(ctx, `INSERT INTO shares (`+shareCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22)
		ON CONFLICT DO NOTHING`,
		s.ID, s.AccessKey, s.AccountID, s.Creator.Kind, s.Creator.ARN, s.Creator.UserID, s.Method, s.Bucket, kb(s.Key), s.Endpoint,
		encTime(s.CreatedAt), encTime(s.Expires), s.MaxUses, s.Uses, s.MaxSize, s.ContentType, s.Overwrite, s.Note, s.Webhook,
		nullTime(encTime(s.RevokedAt)), s.RevokedBy, nullTime(encTime(s.LastUsed)))
	if err != nil {
		return fmt.Errorf("meta/postgres: create share: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return share.ErrShareExists
	}
	return nil
}

// CreateShare implements share.Store.
func (s *Store) CreateShare(ctx context.Context, sh share.Share) error {
	sh.Uses, sh.RevokedAt, sh.RevokedBy, sh.LastUsed = 0, time.Time{}, "", time.Time{}
	return classify(insertShare(ctx, s.pool, sh))
}

func getShare(ctx context.Context, q querier, id string) (share.Share, error) {
	if !storable(id) {
		return share.Share{}, share.ErrNoSuchShare
	}
	return getOne(ctx, q, scanShare, noShare, "get share", `SELECT `+shareCols+` FROM shares WHERE id = $1`, id)
}

// GetShare implements share.Store.
func (s *Store) GetShare(ctx context.Context, id string) (share.Share, error) {
	sh, err := getShare(ctx, s.pool, id)
	return sh, classify(err)
}

// ShareByAccessKey implements share.Store. It runs on every request signed
// with a share's key: one statement on the unique index.
func (s *Store) ShareByAccessKey(ctx context.Context, accessKey string) (share.Share, error) {
	if !storable(accessKey) {
		return share.Share{}, share.ErrNoSuchShare
	}
	sh, err := getOne(ctx, s.pool, scanShare, noShare, "get share", `SELECT `+shareCols+` FROM shares WHERE access_key = $1`, accessKey)
	return sh, classify(err)
}

// ListShares implements share.Store.
func (s *Store) ListShares(ctx context.Context, f share.Filter) ([]share.Share, bool, error) {
	out, more, err := s.listShares(ctx, f)
	return out, more, classify(err)
}

func (s *Store) listShares(ctx context.Context, f share.Filter) ([]share.Share, bool, error) {
	if f.AccountID == "" {
		return nil, false, errors.New("meta/postgres: list shares: no account")
	}
	if !storable(f.AccountID, f.CreatorID, f.Bucket) {
		return nil, false, nil // no stored share has such text
	}
	limit := f.Limit
	if limit <= 0 || limit > share.MaxList {
		limit = share.MaxList
	}
	conds := []string{`account = $1`}
	args := []any{f.AccountID}
	add := func(cond string, vals ...any) {
		for i := range vals {
			cond = strings.Replace(cond, "?", "$"+strconv.Itoa(len(args)+1+i), 1)
		}
		conds = append(conds, cond)
		args = append(args, vals...)
	}
	if f.CreatorID != "" {
		add(`creator_id = ?`, f.CreatorID)
	}
	if f.Bucket != "" {
		add(`bucket = ?`, f.Bucket)
	}
	if f.Prefix != "" {
		add(`key >= ?`, kb(f.Prefix))
		if ub := upperBound(f.Prefix); ub != nil {
			add(`key < ?`, ub)
		}
	}
	if f.After != "" {
		if !storable(f.After) {
			return nil, false, share.ErrNoSuchShare
		}
		var created time.Time
		err := s.pool.QueryRow(ctx, `SELECT created_at FROM shares WHERE id = $1 AND account = $2`, f.After, f.AccountID).Scan(&created)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, false, share.ErrNoSuchShare
		}
		if err != nil {
			return nil, false, fmt.Errorf("meta/postgres: list shares: %w", err)
		}
		add(`(created_at, id) > (?, ?)`, created, f.After)
	}
	args = append(args, limit+1)
	out, err := list(ctx, s.pool, scanShare, nil, "list shares",
		`SELECT `+shareCols+` FROM shares WHERE `+strings.Join(conds, " AND ")+` ORDER BY created_at, id LIMIT $`+strconv.Itoa(len(args)), args...)
	if err != nil {
		return nil, false, err
	}
	if len(out) > limit {
		return out[:limit], true, nil
	}
	return out, false, nil
}

// RevokeShare implements share.Store: the update (only of a live share)
// and the read of the result in one transaction; a concurrent revocation
// waits for this one's row lock and then changes nothing.
func (s *Store) RevokeShare(ctx context.Context, id, by string, at time.Time) (share.Share, error) {
	if !storable(id) {
		return share.Share{}, share.ErrNoSuchShare
	}
	if !storable(by) {
		return share.Share{}, errors.New("meta/postgres: revoke share: revoker is not valid UTF-8 or holds a NUL character")
	}
	var out share.Share
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE shares SET revoked_at = $1, revoked_by = $2 WHERE id = $3 AND revoked_at IS NULL`,
			encTime(at), by, id); err != nil {
			return fmt.Errorf("meta/postgres: revoke share: %w", err)
		}
		var err error
		out, err = getShare(ctx, tx, id)
		return err
	})
	return out, classify(err)
}

// claimAttempts bounds ClaimUse's retries when a claim took no use but the
// share read just after is active (another request gave a use back, or
// the read's snapshot is newer than the update's view): rare, and each
// retry is one more conditional update.
const claimAttempts = 5

// ClaimUse implements share.Store: one conditional UPDATE … RETURNING;
// when it changes nothing, the share as it is says why.
func (s *Store) ClaimUse(ctx context.Context, id string, now time.Time) (share.Share, error) {
	if !storable(id) {
		return share.Share{}, share.ErrNoSuchShare
	}
	for attempt := 1; ; attempt++ {
		sh, err := scanShare(s.pool.QueryRow(ctx, `UPDATE shares SET uses = uses + 1, last_used = $1
			WHERE id = $2 AND revoked_at IS NULL AND expires > $1 AND (max_uses = 0 OR uses < max_uses)
			RETURNING `+shareCols, encTime(now), id))
		if err == nil {
			return sh, nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return share.Share{}, classify(fmt.Errorf("meta/postgres: claim share use: %w", err))
		}
		cur, err := getShare(ctx, s.pool, id)
		if err != nil {
			return share.Share{}, classify(err)
		}
		switch cur.State(now) {
		case share.StateRevoked:
			return share.Share{}, share.ErrRevoked
		case share.StateExpired:
			return share.Share{}, share.ErrExpired
		case share.StateUsedUp:
			return share.Share{}, share.ErrUsedUp
		}
		if attempt == claimAttempts {
			return share.Share{}, fmt.Errorf("meta/postgres: claim on share %s took no use %d times while it is active", id, attempt)
		}
	}
}

// ReleaseUse implements share.Store.
func (s *Store) ReleaseUse(ctx context.Context, id string) error {
	if !storable(id) {
		return share.ErrNoSuchShare
	}
	var found bool
	err := s.pool.QueryRow(ctx, `WITH u AS (UPDATE shares SET uses = uses - 1 WHERE id = $1 AND uses > 0 RETURNING 1)
		SELECT EXISTS (SELECT 1 FROM u) OR EXISTS (SELECT 1 FROM shares WHERE id = $1)`, id).Scan(&found)
	if err != nil {
		return classify(fmt.Errorf("meta/postgres: release share use: %w", err))
	}
	if !found {
		return share.ErrNoSuchShare
	}
	return nil
}

// auditArrays are audit rows column by column, for unnest.
type auditArrays struct {
	shareID, source, userAgent, method, rng, requestID []string
	at                                                 []time.Time
	status                                             []int32
	bytes                                              []int64
	counted                                            []bool
}

func (a *auditArrays) add(e share.AuditEntry) {
	a.shareID = append(a.shareID, e.ShareID)
	a.at = append(a.at, encTime(e.Time))
	a.source = append(a.source, share.CleanText(e.Source))
	a.userAgent = append(a.userAgent, share.CleanText(e.UserAgent))
	a.method = append(a.method, share.CleanText(e.Method))
	a.status = append(a.status, int32(e.Status))
	a.bytes = append(a.bytes, e.Bytes)
	a.rng = append(a.rng, share.CleanText(e.Range))
	a.requestID = append(a.requestID, share.CleanText(e.RequestID))
	a.counted = append(a.counted, e.Counted)
}

// sqlInsertAudit inserts the rows of auditArrays ($1…$10) in their order,
// so that seq follows it: one statement for any number of rows.
const sqlInsertAudit = `INSERT INTO share_audit (share_id, time, source, user_agent, method, status, bytes, range_hdr, request_id, counted)
	SELECT share_id, time, source, user_agent, method, status, bytes, range_hdr, request_id, counted
	FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::integer[], $7::bigint[], $8::text[], $9::text[], $10::boolean[])
		WITH ORDINALITY AS r(share_id, time, source, user_agent, method, status, bytes, range_hdr, request_id, counted, n)
	ORDER BY n`

func (a *auditArrays) args() []any {
	return []any{a.shareID, a.at, a.source, a.userAgent, a.method, a.status, a.bytes, a.rng, a.requestID, a.counted}
}

// AddAudit implements share.Store, in one transaction of three
// statements whatever the number of rows: lock the rows' shares (in id
// order, so that concurrent batches never deadlock), insert the rows of
// the shares that exist (one multi-row INSERT), and update their uses
// (unlimited shares only) and last use (one UPDATE).
func (s *Store) AddAudit(ctx context.Context, rows []share.AuditEntry) error {
	if len(rows) == 0 {
		return nil
	}
	var ids []string
	for _, e := range rows {
		if storable(e.ShareID) {
			ids = append(ids, e.ShareID)
		}
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	if len(ids) == 0 {
		return nil
	}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		r, err := tx.Query(ctx, `SELECT id FROM shares WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE`, ids)
		if err != nil {
			return fmt.Errorf("meta/postgres: add audit: %w", err)
		}
		found, err := pgx.CollectRows(r, pgx.RowTo[string])
		if err != nil {
			return fmt.Errorf("meta/postgres: add audit: %w", err)
		}
		if len(found) == 0 {
			return nil
		}
		known := make(map[string]bool, len(found))
		for _, id := range found {
			known[id] = true
		}
		var a auditArrays
		counted := map[string]int64{}
		last := map[string]time.Time{}
		for _, e := range rows {
			if !known[e.ShareID] {
				continue // an unknown share's row is dropped
			}
			a.add(e)
			if e.Counted {
				counted[e.ShareID]++
			}
			if t := encTime(e.Time); t.After(last[e.ShareID]) || last[e.ShareID].IsZero() {
				last[e.ShareID] = t
			}
		}
		var uids []string
		var uCounted []int64
		var uLast []time.Time
		for _, id := range found {
			uids, uCounted, uLast = append(uids, id), append(uCounted, counted[id]), append(uLast, last[id])
		}
		b := &pgx.Batch{}
		b.Queue(sqlInsertAudit, a.args()...)
		b.Queue(`UPDATE shares s SET uses = s.uses + CASE WHEN s.max_uses = 0 THEN u.counted ELSE 0 END,
				last_used = GREATEST(s.last_used, u.last)
			FROM unnest($1::text[], $2::bigint[], $3::timestamptz[]) AS u(id, counted, last)
			WHERE s.id = u.id`, uids, uCounted, uLast)
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return fmt.Errorf("meta/postgres: add audit: %w", err)
		}
		return nil
	})
	return classify(err)
}

const auditCols = `share_id, time, source, user_agent, method, status, bytes, range_hdr, request_id, counted`

func scanAudit(r pgx.Row) (share.AuditEntry, error) {
	var e share.AuditEntry
	var status int32
	err := r.Scan(&e.ShareID, &e.Time, &e.Source, &e.UserAgent, &e.Method, &status, &e.Bytes, &e.Range, &e.RequestID, &e.Counted)
	e.Status, e.Time = int(status), decTime(e.Time)
	return e, err
}

// readTx runs fn in one read-only REPEATABLE READ transaction: its
// statements see one snapshot (rows and totals agree).
func (s *Store) readTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	return pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, fn)
}

// ListAudit implements share.Store.
func (s *Store) ListAudit(ctx context.Context, id string, limit int) ([]share.AuditEntry, int64, error) {
	if !storable(id) {
		return nil, 0, share.ErrNoSuchShare
	}
	if limit <= 0 || limit > share.MaxAuditList {
		limit = share.MaxAuditList
	}
	var rows []share.AuditEntry
	var total int64
	err := s.readTx(ctx, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `SELECT (SELECT count(*) FROM share_audit WHERE share_id = $1) FROM shares WHERE id = $1`, id).Scan(&total)
		if errors.Is(err, pgx.ErrNoRows) {
			return share.ErrNoSuchShare
		}
		if err != nil {
			return fmt.Errorf("meta/postgres: list audit: %w", err)
		}
		rows, err = list(ctx, tx, scanAudit, nil, "list audit",
			`SELECT `+auditCols+` FROM share_audit WHERE share_id = $1 ORDER BY time DESC, seq DESC LIMIT $2`, id, limit)
		return err
	})
	if err != nil {
		return nil, 0, classify(err)
	}
	return rows, total, nil
}

// ImportShare implements share.Importer: the share and its audit rows
// (one multi-row INSERT) in one transaction.
func (s *Store) ImportShare(ctx context.Context, sh share.Share, audit []share.AuditEntry) error {
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if err := insertShare(ctx, tx, sh); err != nil {
			return err
		}
		if len(audit) == 0 {
			return nil
		}
		var a auditArrays
		for _, e := range audit {
			e.ShareID = sh.ID
			a.add(e)
		}
		if _, err := tx.Exec(ctx, sqlInsertAudit, a.args()...); err != nil {
			return fmt.Errorf("meta/postgres: import share audit: %w", err)
		}
		return nil
	})
	return classify(err)
}

// ExportAudit implements share.Importer.
func (s *Store) ExportAudit(ctx context.Context, id string) ([]share.AuditEntry, error) {
	if !storable(id) {
		return nil, share.ErrNoSuchShare
	}
	var rows []share.AuditEntry
	err := s.readTx(ctx, func(tx pgx.Tx) error {
		if _, err := getShare(ctx, tx, id); err != nil {
			return err
		}
		var err error
		rows, err = list(ctx, tx, scanAudit, nil, "export audit",
			`SELECT `+auditCols+` FROM share_audit WHERE share_id = $1 ORDER BY seq`, id)
		return err
	})
	return rows, classify(err)
}
