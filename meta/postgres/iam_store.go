package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/postern/postern/iam"
)

// The iam.Store implementation: iam_store.go (helpers, accounts, the
// server key check), iam_users.go (users and access keys), iam_groups.go,
// iam_roles.go and iam_policies.go (inline and managed policies,
// attachments, the documents in force for a principal).
//
// Every read is one statement on the pool (pgx prepares and caches each
// statement per connection: QueryExecModeCacheStatement, the default);
// every write is one transaction. A write that checks before it changes
// (at most two access keys, no keys left before deleting a user, the
// policy-size quota) first locks the row of the entity it is about
// (SELECT … FOR UPDATE), so two nodes' writes to one entity run in turn and
// the check cannot race. Writes that can revoke access send an
// invalidation (notify.go) inside their transaction, so it is delivered if
// and only if they commit.

var _ iam.Store = (*Store)(nil)

func nameKey(name string) string { return strings.ToLower(name) }

// title capitalizes an entity type as IAM's messages do ("User").
func title(t iam.EntityType) string { return strings.ToUpper(string(t[:1])) + string(t[1:]) }

// storable reports whether every s can be stored in (and so looked up in)
// a PostgreSQL text column: valid UTF-8 without U+0000. Lookups by values
// that come from requests (access key ids, above all) answer "not found"
// for the others instead of a database error.
func storable(ss ...string) bool {
	for _, s := range ss {
		if !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 {
			return false
		}
	}
	return true
}

// errUnstorable is the error of a write whose text cannot be stored.
func errUnstorable() error {
	return iam.Errorf(iam.CodeValidationError, "The request contains text that is not valid UTF-8 or contains a NUL character.")
}

// tx runs fn in one transaction, committed when fn returns nil. Every
// identity write that can take access away runs in one (and notifies in
// it): once it has committed, this node's cache forgets every access key
// and policy set at once, without waiting for its own notification.
func (s *Store) tx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	err := pgx.BeginFunc(ctx, s.pool, fn)
	if err == nil && s.cache != nil {
		s.cache.invalidate(Event{Kind: EventPolicies})
	}
	return err
}

// isUnique reports whether err is a unique violation (SQLSTATE 23505).
func isUnique(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

// getOne scans the one row that query returns; notFound gives the error
// when there is none, and what names the read in other errors.
func getOne[T any](ctx context.Context, q querier, scan func(pgx.Row) (T, error), notFound func() error, what, query string, args ...any) (T, error) {
	v, err := scan(q.QueryRow(ctx, query, args...))
	if errors.Is(err, pgx.ErrNoRows) {
		var zero T
		return zero, notFound()
	}
	if err != nil {
		var zero T
		return zero, fmt.Errorf("meta/postgres: %s: %w", what, err)
	}
	return v, nil
}

// list scans every row that query returns, keeping those keep accepts (all
// when keep is nil); what names the read in errors.
func list[T any](ctx context.Context, q querier, scan func(pgx.Row) (T, error), keep func(T) bool, what, query string, args ...any) ([]T, error) {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("meta/postgres: %s: %w", what, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("meta/postgres: %s: %w", what, err)
		}
		if keep == nil || keep(v) {
			out = append(out, v)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("meta/postgres: %s: %w", what, err)
	}
	return out, nil
}

func scanString(r pgx.Row) (string, error) {
	var v string
	err := r.Scan(&v)
	return v, err
}

func count(ctx context.Context, q querier, query string, args ...any) (int, error) {
	var n int
	if err := q.QueryRow(ctx, query, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("meta/postgres: count: %w", err)
	}
	return n, nil
}

// affected returns notFound() when a statement changed no row.
func affected(tag pgconn.CommandTag, err error, notFound func() error) error {
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return notFound()
	}
	return nil
}

// Times: timestamptz, returned in UTC; NULL is Go's zero time.
func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

func fromNull(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

// entity describes how one entity type (user, group, role) is stored: in
// table, aliased e in every query, with the columns cols that scan reads.
type entity[T any] struct {
	t     iam.EntityType
	table string
	cols  string
	scan  func(pgx.Row) (T, error)
	path  func(T) string
}

// get reads an entity by account and name.
func (e entity[T]) get(ctx context.Context, q querier, account, name string) (T, error) {
	if !storable(account, name) {
		var zero T
		return zero, noEntity(e.t, name)
	}
	return getOne(ctx, q, e.scan, func() error { return noEntity(e.t, name) }, "get "+string(e.t),
		`SELECT `+e.cols+` FROM `+e.table+` e WHERE e.account = $1 AND e.name_key = $2`, account, nameKey(name))
}

// byID reads an entity by its unique id.
func (e entity[T]) byID(ctx context.Context, q querier, id string) (T, error) {
	notFound := func() error { return iam.Errorf(iam.CodeNoSuchEntity, "The %s with id %s cannot be found.", e.t, id) }
	if !storable(id) {
		var zero T
		return zero, notFound()
	}
	return getOne(ctx, q, e.scan, notFound, "get "+string(e.t), `SELECT `+e.cols+` FROM `+e.table+` e WHERE e.id = $1`, id)
}

// list reads an account's entities under a path prefix, by name.
func (e entity[T]) list(ctx context.Context, q querier, account, pathPrefix string) ([]T, error) {
	if !storable(account) {
		return nil, nil
	}
	return list(ctx, q, e.scan, func(v T) bool { return strings.HasPrefix(e.path(v), pathPrefix) }, "list "+string(e.t)+"s",
		`SELECT `+e.cols+` FROM `+e.table+` e WHERE e.account = $1 ORDER BY e.name_key`, account)
}

// createEntity inserts an entity of type t named name: cols are its
// table's columns and vals their values. EntityAlreadyExists when the name
// (or the id) is taken.
func (s *Store) createEntity(ctx context.Context, t iam.EntityType, name, cols string, vals ...any) error {
	table, err := entityTable(t)
	if err != nil {
		return err
	}
	for _, v := range vals {
		if s, ok := v.(string); ok && !storable(s) {
			return errUnstorable()
		}
	}
	ph := make([]string, len(vals))
	for i := range vals {
		ph[i] = "$" + strconv.Itoa(i+1)
	}
	tag, err := s.pool.Exec(ctx, `INSERT INTO `+table+` (`+cols+`) VALUES (`+strings.Join(ph, ", ")+`) ON CONFLICT DO NOTHING`, vals...)
	return affected(tag, err, func() error {
		return iam.Errorf(iam.CodeEntityAlreadyExists, "%s with name %s already exists.", title(t), name)
	})
}

// conflict is something that keeps an entity from being deleted: query
// counts what is in the way for the entity's id, msg is IAM's message.
type conflict struct{ query, msg string }

var (
	hasInline   = conflict{`SELECT COUNT(*) FROM iam_inline_policies WHERE owner_id = $1`, "Cannot delete entity, must delete policies first."}
	hasAttached = conflict{`SELECT COUNT(*) FROM iam_attachments WHERE owner_id = $1`, "Cannot delete entity, must detach all policies first."}
	hasKeys     = conflict{`SELECT COUNT(*) FROM iam_access_keys WHERE user_id = $1`, "Cannot delete entity, must delete access keys first."}
	inGroups    = conflict{`SELECT COUNT(*) FROM iam_group_members WHERE user_id = $1`, "Cannot delete entity, must remove users from group first."}
	hasMembers  = conflict{`SELECT COUNT(*) FROM iam_group_members WHERE group_id = $1`, "Cannot delete entity, must remove users from group first."}
)

// deleteEntity deletes an entity of type t by account and name, with
// DeleteConflict for the first of conflicts (checked in order, in the same
// transaction, with the entity's row locked) that finds something in the
// way, as IAM does. The deletion is announced (notify.go).
func (s *Store) deleteEntity(ctx context.Context, t iam.EntityType, account, name string, conflicts ...conflict) error {
	table, err := entityTable(t)
	if err != nil {
		return err
	}
	return s.tx(ctx, func(tx pgx.Tx) error {
		id, err := lockEntity(ctx, tx, account, t, name)
		if err != nil {
			return err
		}
		for _, c := range conflicts {
			if n, err := count(ctx, tx, c.query, id); err != nil {
				return err
			} else if n > 0 {
				return iam.Errorf(iam.CodeDeleteConflict, "%s", c.msg)
			}
		}
		if _, err = tx.Exec(ctx, `DELETE FROM `+table+` WHERE id = $1`, id); err != nil {
			return err
		}
		return notify(ctx, tx, Event{Kind: kindOf(t), ID: id})
	})
}

// kindOf is the event kind of a change to an entity of type t.
func kindOf(t iam.EntityType) EventKind {
	switch t {
	case iam.EntityUser:
		return EventUser
	case iam.EntityGroup:
		return EventGroup
	}
	return EventRole
}

// entityTable returns the table of an entity type.
func entityTable(t iam.EntityType) (string, error) {
	switch t {
	case iam.EntityUser:
		return users.table, nil
	case iam.EntityGroup:
		return groups.table, nil
	case iam.EntityRole:
		return roles.table, nil
	}
	return "", fmt.Errorf("meta/postgres: unknown IAM entity type %q", t)
}

func noEntity(t iam.EntityType, name string) error {
	return iam.Errorf(iam.CodeNoSuchEntity, "The %s with name %s cannot be found.", t, name)
}

// entityID resolves an entity's id by account and name.
func entityID(ctx context.Context, q querier, account string, t iam.EntityType, name string) (string, error) {
	return findEntity(ctx, q, account, t, name, "")
}

// lockEntity resolves an entity's id and locks its row until the end of
// the transaction, so that checks made on what belongs to it hold until
// the commit.
func lockEntity(ctx context.Context, tx pgx.Tx, account string, t iam.EntityType, name string) (string, error) {
	return findEntity(ctx, tx, account, t, name, " FOR UPDATE")
}

func findEntity(ctx context.Context, q querier, account string, t iam.EntityType, name, lock string) (string, error) {
	table, err := entityTable(t)
	if err != nil {
		return "", err
	}
	if !storable(account, name) {
		return "", noEntity(t, name)
	}
	return getOne(ctx, q, scanString, func() error { return noEntity(t, name) }, fmt.Sprintf("find %s %q", t, name),
		`SELECT id FROM `+table+` WHERE account = $1 AND name_key = $2`+lock, account, nameKey(name))
}

// --- accounts ---------------------------------------------------------------

// CreateAccount implements iam.Store.
func (s *Store) CreateAccount(ctx context.Context, a iam.Account) error {
	if !storable(a.ID, a.RootAccessKey) {
		return errUnstorable()
	}
	var key any
	if a.RootAccessKey != "" {
		key = a.RootAccessKey
	}
	tag, err := s.pool.Exec(ctx, `INSERT INTO iam_accounts (id, created_at, root_access_key, root_secret)
		VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`, a.ID, a.CreatedAt, key, a.RootSecret)
	return affected(tag, err, func() error {
		return iam.Errorf(iam.CodeEntityAlreadyExists, "Account %s already exists.", a.ID)
	})
}

const accountCols = `id, created_at, root_access_key, root_secret`

func scanAccount(r pgx.Row) (iam.Account, error) {
	var a iam.Account
	var key *string
	err := r.Scan(&a.ID, &a.CreatedAt, &key, &a.RootSecret)
	a.CreatedAt = a.CreatedAt.UTC()
	if key != nil {
		a.RootAccessKey = *key
	}
	return a, err
}

// GetAccount implements iam.Store.
func (s *Store) GetAccount(ctx context.Context, id string) (iam.Account, error) {
	notFound := func() error { return iam.Errorf(iam.CodeNoSuchEntity, "The account %s cannot be found.", id) }
	if !storable(id) {
		return iam.Account{}, notFound()
	}
	return getOne(ctx, s.pool, scanAccount, notFound, "get account", `SELECT `+accountCols+` FROM iam_accounts WHERE id = $1`, id)
}

// AccountByRootKey implements iam.Store.
func (s *Store) AccountByRootKey(ctx context.Context, accessKey string) (iam.Account, error) {
	notFound := func() error { return iam.Errorf(iam.CodeNoSuchEntity, "The access key cannot be found.") }
	if !storable(accessKey) {
		return iam.Account{}, notFound()
	}
	return getOne(ctx, s.pool, scanAccount, notFound, "get account", `SELECT `+accountCols+` FROM iam_accounts WHERE root_access_key = $1`, accessKey)
}

// ListAccounts implements iam.Store.
func (s *Store) ListAccounts(ctx context.Context) ([]iam.Account, error) {
	return list(ctx, s.pool, scanAccount, nil, "list accounts", `SELECT `+accountCols+` FROM iam_accounts ORDER BY id COLLATE "C"`)
}

// --- the server key check ---------------------------------------------------

// ServerKeyCheck implements iam.Store: one statement inserts the value or
// reads the one kept, so that of several nodes starting at once exactly
// one value is kept and all read it. (When another node's insert commits
// while this statement waits on it, the statement's snapshot predates that
// row and it finds nothing: the next statement sees it.)
func (s *Store) ServerKeyCheck(ctx context.Context, check []byte) ([]byte, error) {
	for try := 0; ; try++ {
		var kept []byte
		err := s.pool.QueryRow(ctx, `WITH ins AS (
				INSERT INTO server_key_check (singleton, sealed) VALUES (true, $1) ON CONFLICT DO NOTHING RETURNING sealed)
			SELECT sealed FROM ins UNION ALL SELECT sealed FROM server_key_check`, check).Scan(&kept)
		if errors.Is(err, pgx.ErrNoRows) && try < 3 {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("meta/postgres: server key check: %w", err)
		}
		return kept, nil
	}
}
