package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/postern/postern/share"
)

// The share.Store implementation (tables shares and share_audit, schema
// version 5). Reads go to the read pool and see the last committed state;
// writes go through the single writer, so a claim's check and its update
// (one conditional UPDATE … RETURNING) can never interleave with another
// write: counting is exact.
//
// With WithShareCache, ShareByAccessKey answers from memory: every write
// of a share row here sets the cached entry to the row as committed
// (cacheShare, run after the commit in commit order), and a read that
// overlapped a write never caches what it read (the cache's generation).
// The cache is thus as exact as the database for this process, the only
// writer.

var (
	_ share.Store    = (*Store)(nil)
	_ share.Importer = (*Store)(nil)
)

const shareCols = `id, access_key, account, creator_kind, creator_arn, creator_id, method, bucket, obj_key, endpoint,
	created_at, expires, max_uses, uses, max_size, content_type, overwrite, note, webhook, revoked_at, revoked_by, last_used`

func scanShare(sc scanner) (share.Share, error) {
	var s share.Share
	var created, expires, revoked, used int64
	err := sc.Scan(&s.ID, &s.AccessKey, &s.AccountID, &s.Creator.Kind, &s.Creator.ARN, &s.Creator.UserID, &s.Method, &s.Bucket, &s.Key, &s.Endpoint,
		&created, &expires, &s.MaxUses, &s.Uses, &s.MaxSize, &s.ContentType, &s.Overwrite, &s.Note, &s.Webhook, &revoked, &s.RevokedBy, &used)
	s.CreatedAt, s.Expires, s.RevokedAt, s.LastUsed = decTime(created), decTime(expires), decTime(revoked), decTime(used)
	return s, err
}

func noShare() error { return share.ErrNoSuchShare }

// shareArgs are the values of shareCols for s.
func shareArgs(s share.Share) []any {
	return []any{s.ID, s.AccessKey, s.AccountID, s.Creator.Kind, s.Creator.ARN, s.Creator.UserID, s.Method, s.Bucket, kb(s.Key), s.Endpoint,
		encTime(s.CreatedAt), encTime(s.Expires), s.MaxUses, s.Uses, s.MaxSize, s.ContentType, s.Overwrite, s.Note, s.Webhook,
		encTime(s.RevokedAt), s.RevokedBy, encTime(s.LastUsed)}
}

func placeholders(from, n int) string {
	ph := make([]string, n)
	for i := range ph {
		ph[i] = "$" + strconv.Itoa(from+i)
	}
	return strings.Join(ph, ", ")
}

var sqlInsertShare = `INSERT INTO shares (` + shareCols + `) VALUES (` + placeholders(1, 22) + `) ON CONFLICT DO NOTHING`

// insertShare inserts s as it is; ErrShareExists when its id or access
// key is taken.
func insertShare(tx *wtx, s share.Share) error {
	if s.Uses < 0 {
		return fmt.Errorf("meta/sqlite: share %s: negative uses", s.ID)
	}
	res, err := tx.ExecContext(context.Background(), sqlInsertShare, shareArgs(s)...)
	if err != nil {
		return fmt.Errorf("meta/sqlite: create share: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return share.ErrShareExists
	}
	return nil
}

// CreateShare implements share.Store.
func (s *Store) CreateShare(ctx context.Context, sh share.Share) error {
	sh.Uses, sh.RevokedAt, sh.RevokedBy, sh.LastUsed = 0, time.Time{}, "", time.Time{}
	return s.write(ctx, func(tx *wtx) error {
		if err := insertShare(tx, sh); err != nil {
			return err
		}
		s.forgetShare(tx, sh.AccessKey)
		return nil
	})
}

// GetShare implements share.Store.
func (s *Store) GetShare(ctx context.Context, id string) (share.Share, error) {
	return getOne(ctx, s.rdb, scanShare, noShare, "get share", `SELECT `+shareCols+` FROM shares WHERE id = $1`, id)
}

var sqlShareByKey = `SELECT ` + shareCols + ` FROM shares WHERE access_key = $1`

// ShareByAccessKey implements share.Store.
func (s *Store) ShareByAccessKey(ctx context.Context, accessKey string) (share.Share, error) {
	sh, _, gen, ok := s.shares.lookup(accessKey)
	if ok {
		return sh, nil
	}
	sh, err := scanShare(s.stmtShareByKey.QueryRowContext(ctx, accessKey))
	if errors.Is(err, sql.ErrNoRows) {
		return share.Share{}, share.ErrNoSuchShare
	}
	if err != nil {
		return share.Share{}, fmt.Errorf("meta/sqlite: get share: %w", err)
	}
	s.shares.add(accessKey, sh, nil, gen)
	return sh, nil
}

// cacheShare sets sh, as this write leaves it, in the share cache once the
// write has committed.
func (s *Store) cacheShare(tx *wtx, sh share.Share) {
	if s.shares != nil {
		tx.afterCommit(func() { s.shares.set(sh.AccessKey, sh) })
	}
}

// forgetShare drops accessKey's entry once the write has committed (a new
// share: the next read caches it as the database has it).
func (s *Store) forgetShare(tx *wtx, accessKey string) {
	if s.shares != nil {
		tx.afterCommit(func() { s.shares.forgetKey(accessKey) })
	}
}

// ListShares implements share.Store.
func (s *Store) ListShares(ctx context.Context, f share.Filter) ([]share.Share, bool, error) {
	if f.AccountID == "" {
		return nil, false, errors.New("meta/sqlite: list shares: no account")
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
		add(`obj_key >= ?`, kb(f.Prefix))
		if ub := upperBound(f.Prefix); ub != nil {
			add(`obj_key < ?`, ub)
		}
	}
	if f.After != "" {
		var created int64
		err := s.rdb.QueryRowContext(ctx, `SELECT created_at FROM shares WHERE id = $1 AND account = $2`, f.After, f.AccountID).Scan(&created)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, false, share.ErrNoSuchShare
		}
		if err != nil {
			return nil, false, fmt.Errorf("meta/sqlite: list shares: %w", err)
		}
		add(`(created_at, id) > (?, ?)`, created, f.After)
	}
	args = append(args, limit+1)
	out, err := list(ctx, s.rdb, scanShare, nil, "list shares",
		`SELECT `+shareCols+` FROM shares WHERE `+strings.Join(conds, " AND ")+` ORDER BY created_at, id LIMIT $`+strconv.Itoa(len(args)), args...)
	if err != nil {
		return nil, false, err
	}
	if len(out) > limit {
		return out[:limit], true, nil
	}
	return out, false, nil
}

// getShareTx reads a share in a write transaction.
func getShareTx(tx *wtx, id string) (share.Share, error) {
	return getOne(context.Background(), tx, scanShare, noShare, "get share", `SELECT `+shareCols+` FROM shares WHERE id = $1`, id)
}

// RevokeShare implements share.Store.
func (s *Store) RevokeShare(ctx context.Context, id, by string, at time.Time) (share.Share, error) {
	var out share.Share
	err := s.write(ctx, func(tx *wtx) error {
		if _, err := tx.ExecContext(context.Background(), `UPDATE shares SET revoked_at = $1, revoked_by = $2 WHERE id = $3 AND revoked_at = 0`,
			max(encTime(at), 1), by, id); err != nil {
			return fmt.Errorf("meta/sqlite: revoke share: %w", err)
		}
		var err error
		if out, err = getShareTx(tx, id); err != nil {
			return err
		}
		s.cacheShare(tx, out)
		return nil
	})
	return out, err
}

// ClaimUse implements share.Store: one conditional UPDATE … RETURNING; when
// it changes nothing, the share as it is says why.
func (s *Store) ClaimUse(ctx context.Context, id string, now time.Time) (share.Share, error) {
	var out share.Share
	err := s.write(ctx, func(tx *wtx) error {
		var err error
		out, err = scanShare(tx.QueryRowContext(context.Background(), `UPDATE shares SET uses = uses + 1, last_used = $1
			WHERE id = $2 AND revoked_at = 0 AND expires > $3 AND (max_uses = 0 OR uses < max_uses)
			RETURNING `+shareCols, max(encTime(now), 1), id, now.UnixNano()))
		if !errors.Is(err, sql.ErrNoRows) {
			if err != nil {
				return fmt.Errorf("meta/sqlite: claim share use: %w", err)
			}
			s.cacheShare(tx, out)
			return nil
		}
		cur, err := getShareTx(tx, id)
		if err != nil {
			return err
		}
		return refusal(cur, now)
	})
	return out, err
}

// refusal is the error of a claim on cur at now that took no use.
func refusal(cur share.Share, now time.Time) error {
	switch cur.State(now) {
	case share.StateRevoked:
		return share.ErrRevoked
	case share.StateExpired:
		return share.ErrExpired
	case share.StateUsedUp:
		return share.ErrUsedUp
	}
	return fmt.Errorf("meta/sqlite: claim on share %s took no use while it is active", cur.ID)
}

// ReleaseUse implements share.Store.
func (s *Store) ReleaseUse(ctx context.Context, id string) error {
	return s.write(ctx, func(tx *wtx) error {
		sh, err := scanShare(tx.QueryRowContext(context.Background(), `UPDATE shares SET uses = uses - 1 WHERE id = $1 AND uses > 0
			RETURNING `+shareCols, id))
		if err == nil {
			s.cacheShare(tx, sh)
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("meta/sqlite: release share use: %w", err)
		}
		_, err = getShareTx(tx, id)
		return err
	})
}

const auditCols = `share_id, time, source, user_agent, method, status, bytes, range_hdr, request_id, counted`

var sqlInsertAudit = `INSERT INTO share_audit (` + auditCols + `) VALUES (` + placeholders(1, 10) + `)`

func insertAudit(tx *wtx, e share.AuditEntry) error {
	_, err := tx.ExecContext(context.Background(), sqlInsertAudit,
		e.ShareID, encTime(e.Time), share.CleanText(e.Source), share.CleanText(e.UserAgent), share.CleanText(e.Method), e.Status, e.Bytes,
		share.CleanText(e.Range), share.CleanText(e.RequestID), e.Counted)
	if err != nil {
		return fmt.Errorf("meta/sqlite: add audit row: %w", err)
	}
	return nil
}

func scanAudit(sc scanner) (share.AuditEntry, error) {
	var e share.AuditEntry
	var at int64
	err := sc.Scan(&e.ShareID, &at, &e.Source, &e.UserAgent, &e.Method, &e.Status, &e.Bytes, &e.Range, &e.RequestID, &e.Counted)
	e.Time = decTime(at)
	return e, err
}

// AddAudit implements share.Store, in one transaction of two statements
// whatever the batch's size (a statement costs more than a row): one
// UPDATE brings each share of the batch up to date (uses of unlimited
// shares, last use) and names the shares that exist, then one INSERT adds
// the rows of those shares, in order. The batch goes to SQLite as JSON
// arrays (json_each), built before the write.
func (s *Store) AddAudit(ctx context.Context, rows []share.AuditEntry) error {
	if len(rows) == 0 {
		return nil
	}
	type tally struct {
		counted int64
		last    int64
	}
	tallies := make(map[string]*tally, 8)
	var order []string
	for _, e := range rows {
		t := tallies[e.ShareID]
		if t == nil {
			t = &tally{}
			tallies[e.ShareID] = t
			order = append(order, e.ShareID)
		}
		if e.Counted {
			t.counted++
		}
		t.last = max(t.last, encTime(e.Time))
	}
	// [[id, counted, last], …] and [[share_id, time, source, …], …]
	sharesJSON := make([]byte, 0, 64*len(order))
	sharesJSON = append(sharesJSON, '[')
	for i, id := range order {
		t := tallies[id]
		if i > 0 {
			sharesJSON = append(sharesJSON, ',')
		}
		sharesJSON = append(sharesJSON, '[')
		sharesJSON = appendJSONString(sharesJSON, id)
		sharesJSON = append(sharesJSON, ',')
		sharesJSON = strconv.AppendInt(sharesJSON, t.counted, 10)
		sharesJSON = append(sharesJSON, ',')
		sharesJSON = strconv.AppendInt(sharesJSON, t.last, 10)
		sharesJSON = append(sharesJSON, ']')
	}
	sharesJSON = append(sharesJSON, ']')
	rowsJSON := make([]byte, 0, 256*len(rows))
	rowsJSON = append(rowsJSON, '[')
	for i, e := range rows {
		if i > 0 {
			rowsJSON = append(rowsJSON, ',')
		}
		rowsJSON = appendAuditJSON(rowsJSON, e)
	}
	rowsJSON = append(rowsJSON, ']')

	return s.write(ctx, func(tx *wtx) error {
		bg := context.Background()
		rs, err := tx.QueryContext(bg, sqlAuditShares, sharesJSON)
		if err != nil {
			return fmt.Errorf("meta/sqlite: add audit: %w", err)
		}
		type used struct {
			accessKey  string
			uses, last int64
		}
		var upd []used
		for rs.Next() {
			var u used
			if err := rs.Scan(&u.accessKey, &u.uses, &u.last); err != nil {
				rs.Close()
				return fmt.Errorf("meta/sqlite: add audit: %w", err)
			}
			upd = append(upd, u)
		}
		if err := errors.Join(rs.Err(), rs.Close()); err != nil {
			return fmt.Errorf("meta/sqlite: add audit: %w", err)
		}
		if len(upd) == 0 {
			return nil // no known share: every row is dropped
		}
		if _, err := tx.ExecContext(bg, sqlInsertAuditJSON, rowsJSON); err != nil {
			return fmt.Errorf("meta/sqlite: add audit rows: %w", err)
		}
		if s.shares != nil {
			tx.afterCommit(func() {
				for _, u := range upd {
					s.shares.update(u.accessKey, func(sh *share.Share) { sh.Uses, sh.LastUsed = u.uses, decTime(u.last) })
				}
			})
		}
		return nil
	})
}

// sqlAuditShares updates the shares of a batch ($1: [[id, counted, last],
// …], each id once) and returns what it left of each that exists.
const sqlAuditShares = `UPDATE shares SET uses = uses + CASE WHEN shares.max_uses = 0 THEN b.counted ELSE 0 END,
	last_used = MAX(shares.last_used, b.last)
	FROM (SELECT value->>0 AS id, value->>1 AS counted, value->>2 AS last FROM json_each($1)) AS b
	WHERE shares.id = b.id
	RETURNING shares.access_key, shares.uses, shares.last_used`

// sqlInsertAuditJSON inserts a batch's rows ($1: appendAuditJSON's
// arrays) in order, leaving out those of unknown shares.
const sqlInsertAuditJSON = `INSERT INTO share_audit (` + auditCols + `)
	SELECT value->>0, value->>1, value->>2, value->>3, value->>4, value->>5, value->>6, value->>7, value->>8, value->>9
	FROM json_each($1) WHERE EXISTS (SELECT 1 FROM shares WHERE shares.id = value->>0) ORDER BY key`

// appendAuditJSON appends e as a JSON array of auditCols' values (its
// text cleaned, as insertAudit stores it).
func appendAuditJSON(b []byte, e share.AuditEntry) []byte {
	b = append(b, '[')
	b = appendJSONString(b, e.ShareID)
	b = append(b, ',')
	b = strconv.AppendInt(b, encTime(e.Time), 10)
	for _, t := range []string{e.Source, e.UserAgent, e.Method} {
		b = append(b, ',')
		b = appendJSONString(b, share.CleanText(t))
	}
	b = append(b, ',')
	b = strconv.AppendInt(b, int64(e.Status), 10)
	b = append(b, ',')
	b = strconv.AppendInt(b, e.Bytes, 10)
	for _, t := range []string{e.Range, e.RequestID} {
		b = append(b, ',')
		b = appendJSONString(b, share.CleanText(t))
	}
	if e.Counted {
		b = append(b, ",1]"...)
	} else {
		b = append(b, ",0]"...)
	}
	return b
}

// appendJSONString appends s as a JSON string. s must be valid UTF-8 (as
// share.CleanText leaves text; share ids are ASCII): bytes from 0x80 up are
// copied as they are; quotes, backslashes and control characters are
// escaped.
func appendJSONString(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

// ListAudit implements share.Store, in one read transaction so that the
// rows and the total agree.
func (s *Store) ListAudit(ctx context.Context, id string, limit int) ([]share.AuditEntry, int64, error) {
	if limit <= 0 || limit > share.MaxAuditList {
		limit = share.MaxAuditList
	}
	tx, err := s.rdb.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, 0, fmt.Errorf("meta/sqlite: list audit: %w", err)
	}
	defer tx.Rollback()
	var total int64
	err = tx.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM share_audit WHERE share_id = $1) FROM shares WHERE id = $1`, id).Scan(&total)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, 0, share.ErrNoSuchShare
	}
	if err != nil {
		return nil, 0, fmt.Errorf("meta/sqlite: list audit: %w", err)
	}
	rows, err := list(ctx, tx, scanAudit, nil, "list audit",
		`SELECT `+auditCols+` FROM share_audit WHERE share_id = $1 ORDER BY time DESC, seq DESC LIMIT $2`, id, limit)
	if err != nil {
		return nil, 0, err
	}
	return rows, total, nil
}

// ImportShare implements share.Importer.
func (s *Store) ImportShare(ctx context.Context, sh share.Share, audit []share.AuditEntry) error {
	return s.write(ctx, func(tx *wtx) error {
		if err := insertShare(tx, sh); err != nil {
			return err
		}
		s.forgetShare(tx, sh.AccessKey)
		for _, e := range audit {
			e.ShareID = sh.ID
			if err := insertAudit(tx, e); err != nil {
				return err
			}
		}
		return nil
	})
}

// ExportAudit implements share.Importer.
func (s *Store) ExportAudit(ctx context.Context, id string) ([]share.AuditEntry, error) {
	tx, err := s.rdb.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("meta/sqlite: export audit: %w", err)
	}
	defer tx.Rollback()
	if _, err := getOne(ctx, tx, scanShare, noShare, "get share", `SELECT `+shareCols+` FROM shares WHERE id = $1`, id); err != nil {
		return nil, err
	}
	return list(ctx, tx, scanAudit, nil, "export audit",
		`SELECT `+auditCols+` FROM share_audit WHERE share_id = $1 ORDER BY seq`, id)
}
