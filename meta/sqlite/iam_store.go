package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/postern/postern/iam"
)

// The iam.Store implementation, one file per entity: iam_users.go (users
// and their access keys), iam_groups.go, iam_roles.go and iam_policies.go
// (inline and managed policies, attachments). Reads go to the read pool and
// see the last committed state; writes go through the single writer
// (s.write), and each one is a single transaction, so checks such as "at
// most two access keys" and "no keys left before deleting a user" cannot
// race.

var _ iam.Store = (*Store)(nil)

func nameKey(name string) string { return strings.ToLower(name) }

// title capitalizes an entity type as IAM's messages do ("User").
func title(t iam.EntityType) string { return strings.ToUpper(string(t[:1])) + string(t[1:]) }

// scanner is what *sql.Row and *sql.Rows offer.
type scanner interface{ Scan(...any) error }

// getOne scans the one row that query returns; notFound gives the error
// when there is none, and what names the read in other errors.
func getOne[T any](ctx context.Context, q queryer, scan func(scanner) (T, error), notFound func() error, what, query string, args ...any) (T, error) {
	v, err := scan(q.QueryRowContext(ctx, query, args...))
	if errors.Is(err, sql.ErrNoRows) {
		var zero T
		return zero, notFound()
	}
	if err != nil {
		var zero T
		return zero, fmt.Errorf("meta/sqlite: %s: %w", what, err)
	}
	return v, nil
}

// list scans every row that query returns, keeping those keep accepts
// (all when keep is nil); what names the read in errors.
func list[T any](ctx context.Context, q queryer, scan func(scanner) (T, error), keep func(T) bool, what, query string, args ...any) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("meta/sqlite: %s: %w", what, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("meta/sqlite: %s: %w", what, err)
		}
		if keep == nil || keep(v) {
			out = append(out, v)
		}
	}
	return out, rows.Err()
}

func scanString(sc scanner) (string, error) {
	var v string
	err := sc.Scan(&v)
	return v, err
}

// entity describes how one entity type (user, group, role) is stored: in
// table, aliased e in every query, with the columns cols that scan reads.
type entity[T any] struct {
	t     iam.EntityType
	table string
	cols  string
	scan  func(scanner) (T, error)
	path  func(T) string
}

// get reads an entity by account and name.
func (e entity[T]) get(ctx context.Context, q queryer, account, name string) (T, error) {
	return getOne(ctx, q, e.scan, func() error { return noEntity(e.t, name) }, "get "+string(e.t),
		`SELECT `+e.cols+` FROM `+e.table+` e WHERE e.account = $1 AND e.name_key = $2`, account, nameKey(name))
}

// byID reads an entity by its unique id.
func (e entity[T]) byID(ctx context.Context, q queryer, id string) (T, error) {
	return getOne(ctx, q, e.scan, func() error {
		return iam.Errorf(iam.CodeNoSuchEntity, "The %s with id %s cannot be found.", e.t, id)
	}, "get "+string(e.t), `SELECT `+e.cols+` FROM `+e.table+` e WHERE e.id = $1`, id)
}

// list reads an account's entities under a path prefix, by name.
func (e entity[T]) list(ctx context.Context, q queryer, account, pathPrefix string) ([]T, error) {
	return list(ctx, q, e.scan, func(v T) bool { return strings.HasPrefix(e.path(v), pathPrefix) }, "list "+string(e.t)+"s",
		`SELECT `+e.cols+` FROM `+e.table+` e WHERE e.account = $1 ORDER BY e.name_key`, account)
}

// createEntity inserts an entity of type t named name: cols are its
// table's columns and vals their values. EntityAlreadyExists when the name
// is taken.
func (s *Store) createEntity(ctx context.Context, t iam.EntityType, name, cols string, vals ...any) error {
	table, err := entityTable(t)
	if err != nil {
		return err
	}
	ph := make([]string, len(vals))
	for i := range vals {
		ph[i] = "$" + strconv.Itoa(i+1)
	}
	return s.write(ctx, func(tx *wtx) error {
		res, err := tx.ExecContext(context.Background(), `INSERT INTO `+table+` (`+cols+`) VALUES (`+strings.Join(ph, ", ")+`) ON CONFLICT DO NOTHING`, vals...)
		return inserted(res, err, func() error {
			return iam.Errorf(iam.CodeEntityAlreadyExists, "%s with name %s already exists.", title(t), name)
		})
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
// transaction) that finds something in the way, as IAM does.
func (s *Store) deleteEntity(ctx context.Context, t iam.EntityType, account, name string, conflicts ...conflict) error {
	table, err := entityTable(t)
	if err != nil {
		return err
	}
	return s.write(ctx, func(tx *wtx) error {
		bg := context.Background()
		id, err := entityID(bg, tx, account, t, name)
		if err != nil {
			return err
		}
		for _, c := range conflicts {
			if n, err := count(bg, tx, c.query, id); err != nil {
				return err
			} else if n > 0 {
				return iam.Errorf(iam.CodeDeleteConflict, "%s", c.msg)
			}
		}
		_, err = tx.ExecContext(bg, `DELETE FROM `+table+` WHERE id = $1`, id)
		return err
	})
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
	return "", fmt.Errorf("meta/sqlite: unknown IAM entity type %q", t)
}

func noEntity(t iam.EntityType, name string) error {
	return iam.Errorf(iam.CodeNoSuchEntity, "The %s with name %s cannot be found.", t, name)
}

// entityID resolves an entity's id by account and name.
func entityID(ctx context.Context, q queryer, account string, t iam.EntityType, name string) (string, error) {
	table, err := entityTable(t)
	if err != nil {
		return "", err
	}
	return getOne(ctx, q, scanString, func() error { return noEntity(t, name) }, fmt.Sprintf("find %s %q", t, name),
		`SELECT id FROM `+table+` WHERE account = $1 AND name_key = $2`, account, nameKey(name))
}

// inserted turns an INSERT … ON CONFLICT DO NOTHING result into
// EntityAlreadyExists when no row was inserted.
func inserted(res sql.Result, err error, exists func() error) error {
	return affected(res, err, exists)
}

// affected returns notFound() when a statement changed no row.
func affected(res sql.Result, err error, notFound func() error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return notFound()
	}
	return nil
}

func count(ctx context.Context, q queryer, query string, args ...any) (int, error) {
	var n int
	if err := q.QueryRowContext(ctx, query, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("meta/sqlite: count: %w", err)
	}
	return n, nil
}

// --- accounts ---------------------------------------------------------------

// CreateAccount implements iam.Store.
func (s *Store) CreateAccount(ctx context.Context, a iam.Account) error {
	return s.write(ctx, func(tx *wtx) error {
		bg := context.Background()
		var key any
		if a.RootAccessKey != "" {
			key = a.RootAccessKey
		}
		res, err := tx.ExecContext(bg, `INSERT INTO iam_accounts (id, created_at, root_access_key, root_secret)
			VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`, a.ID, encTime(a.CreatedAt), key, a.RootSecret)
		return inserted(res, err, func() error {
			return iam.Errorf(iam.CodeEntityAlreadyExists, "Account %s already exists.", a.ID)
		})
	})
}

const accountCols = `id, created_at, root_access_key, root_secret`

func scanAccount(sc scanner) (iam.Account, error) {
	var a iam.Account
	var created int64
	var key sql.NullString
	err := sc.Scan(&a.ID, &created, &key, &a.RootSecret)
	a.CreatedAt, a.RootAccessKey = decTime(created), key.String
	return a, err
}

// GetAccount implements iam.Store.
func (s *Store) GetAccount(ctx context.Context, id string) (iam.Account, error) {
	return getOne(ctx, s.rdb, scanAccount, func() error { return iam.Errorf(iam.CodeNoSuchEntity, "The account %s cannot be found.", id) },
		"get account", `SELECT `+accountCols+` FROM iam_accounts WHERE id = $1`, id)
}

// AccountByRootKey implements iam.Store.
func (s *Store) AccountByRootKey(ctx context.Context, accessKey string) (iam.Account, error) {
	return getOne(ctx, s.rdb, scanAccount, func() error { return iam.Errorf(iam.CodeNoSuchEntity, "The access key cannot be found.") },
		"get account", `SELECT `+accountCols+` FROM iam_accounts WHERE root_access_key = $1`, accessKey)
}

// ListAccounts implements iam.Store.
func (s *Store) ListAccounts(ctx context.Context) ([]iam.Account, error) {
	return list(ctx, s.rdb, scanAccount, nil, "list accounts", `SELECT `+accountCols+` FROM iam_accounts ORDER BY id`)
}

// --- the server key check ---------------------------------------------------

// ServerKeyCheck implements iam.Store.
func (s *Store) ServerKeyCheck(ctx context.Context, check []byte) ([]byte, error) {
	var kept []byte
	err := s.write(ctx, func(tx *wtx) error {
		bg := context.Background()
		if _, err := tx.ExecContext(bg, `INSERT INTO server_key_check (singleton, sealed) VALUES (1, $1) ON CONFLICT DO NOTHING`, check); err != nil {
			return err
		}
		return tx.QueryRowContext(bg, `SELECT sealed FROM server_key_check WHERE singleton = 1`).Scan(&kept)
	})
	if err != nil {
		return nil, fmt.Errorf("meta/sqlite: server key check: %w", err)
	}
	return kept, nil
}
