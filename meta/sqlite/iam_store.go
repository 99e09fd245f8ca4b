package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/postern/postern/iam"
)

// The iam.Store implementation. Reads go to the read pool and see the last
// committed state; writes go through the single writer (s.write), and each
// one is a single transaction, so checks such as "at most two access keys"
// and "no keys left before deleting a user" cannot race.

var _ iam.Store = (*Store)(nil)

func nameKey(name string) string { return strings.ToLower(name) }

// entityTable returns the table of an entity type.
func entityTable(t iam.EntityType) (string, error) {
	switch t {
	case iam.EntityUser:
		return "iam_users", nil
	case iam.EntityGroup:
		return "iam_groups", nil
	case iam.EntityRole:
		return "iam_roles", nil
	}
	return "", fmt.Errorf("meta/sqlite: unknown IAM entity type %q", t)
}

func noEntity(t iam.EntityType, name string) error {
	return iam.Errorf(iam.CodeNoSuchEntity, "The %s with name %s cannot be found.", t, name)
}

func noPolicy(arn string) error {
	return iam.Errorf(iam.CodeNoSuchEntity, "Policy %s does not exist or is not attachable.", arn)
}

// entityID resolves an entity's id by account and name.
func entityID(ctx context.Context, q queryer, account string, t iam.EntityType, name string) (string, error) {
	table, err := entityTable(t)
	if err != nil {
		return "", err
	}
	var id string
	err = q.QueryRowContext(ctx, `SELECT id FROM `+table+` WHERE account = $1 AND name_key = $2`, account, nameKey(name)).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", noEntity(t, name)
	}
	if err != nil {
		return "", fmt.Errorf("meta/sqlite: find %s %q: %w", t, name, err)
	}
	return id, nil
}

func policyID(ctx context.Context, q queryer, arn string) (string, error) {
	var id string
	err := q.QueryRowContext(ctx, `SELECT id FROM iam_policies WHERE arn = $1`, arn).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", noPolicy(arn)
	}
	if err != nil {
		return "", fmt.Errorf("meta/sqlite: find policy %s: %w", arn, err)
	}
	return id, nil
}

// inserted turns an INSERT … ON CONFLICT DO NOTHING result into
// EntityAlreadyExists when no row was inserted.
func inserted(res sql.Result, err error, exists func() error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return exists()
	}
	return nil
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

// GetAccount implements iam.Store.
func (s *Store) GetAccount(ctx context.Context, id string) (iam.Account, error) {
	return s.scanAccount(s.rdb.QueryRowContext(ctx, `SELECT id, created_at, root_access_key, root_secret FROM iam_accounts WHERE id = $1`, id),
		func() error { return iam.Errorf(iam.CodeNoSuchEntity, "The account %s cannot be found.", id) })
}

// AccountByRootKey implements iam.Store.
func (s *Store) AccountByRootKey(ctx context.Context, accessKey string) (iam.Account, error) {
	return s.scanAccount(s.rdb.QueryRowContext(ctx, `SELECT id, created_at, root_access_key, root_secret FROM iam_accounts WHERE root_access_key = $1`, accessKey),
		func() error { return iam.Errorf(iam.CodeNoSuchEntity, "The access key cannot be found.") })
}

func (s *Store) scanAccount(row *sql.Row, notFound func() error) (iam.Account, error) {
	var a iam.Account
	var created int64
	var key sql.NullString
	err := row.Scan(&a.ID, &created, &key, &a.RootSecret)
	if errors.Is(err, sql.ErrNoRows) {
		return iam.Account{}, notFound()
	}
	if err != nil {
		return iam.Account{}, fmt.Errorf("meta/sqlite: get account: %w", err)
	}
	a.CreatedAt, a.RootAccessKey = decTime(created), key.String
	return a, nil
}

// --- users ------------------------------------------------------------------

// CreateUser implements iam.Store.
func (s *Store) CreateUser(ctx context.Context, u iam.User) error {
	return s.write(ctx, func(tx *wtx) error {
		res, err := tx.ExecContext(context.Background(), `INSERT INTO iam_users (id, account, name, name_key, path, created_at)
			VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`, u.ID, u.AccountID, u.Name, nameKey(u.Name), u.Path, encTime(u.CreatedAt))
		return inserted(res, err, func() error {
			return iam.Errorf(iam.CodeEntityAlreadyExists, "User with name %s already exists.", u.Name)
		})
	})
}

const userCols = `id, account, name, path, created_at`

func scanUser(sc interface{ Scan(...any) error }) (iam.User, error) {
	var u iam.User
	var created int64
	err := sc.Scan(&u.ID, &u.AccountID, &u.Name, &u.Path, &created)
	u.CreatedAt = decTime(created)
	return u, err
}

// GetUser implements iam.Store.
func (s *Store) GetUser(ctx context.Context, account, name string) (iam.User, error) {
	u, err := scanUser(s.rdb.QueryRowContext(ctx, `SELECT `+userCols+` FROM iam_users WHERE account = $1 AND name_key = $2`, account, nameKey(name)))
	if errors.Is(err, sql.ErrNoRows) {
		return iam.User{}, noEntity(iam.EntityUser, name)
	}
	if err != nil {
		return iam.User{}, fmt.Errorf("meta/sqlite: get user: %w", err)
	}
	return u, nil
}

// GetUserByID implements iam.Store.
func (s *Store) GetUserByID(ctx context.Context, id string) (iam.User, error) {
	u, err := scanUser(s.rdb.QueryRowContext(ctx, `SELECT `+userCols+` FROM iam_users WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return iam.User{}, iam.Errorf(iam.CodeNoSuchEntity, "The user with id %s cannot be found.", id)
	}
	if err != nil {
		return iam.User{}, fmt.Errorf("meta/sqlite: get user: %w", err)
	}
	return u, nil
}

// ListUsers implements iam.Store.
func (s *Store) ListUsers(ctx context.Context, account, pathPrefix string) ([]iam.User, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+userCols+` FROM iam_users WHERE account = $1 ORDER BY name_key`, account)
	if err != nil {
		return nil, fmt.Errorf("meta/sqlite: list users: %w", err)
	}
	defer rows.Close()
	var out []iam.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("meta/sqlite: list users: %w", err)
		}
		if strings.HasPrefix(u.Path, pathPrefix) {
			out = append(out, u)
		}
	}
	return out, rows.Err()
}

// UpdateUser implements iam.Store.
func (s *Store) UpdateUser(ctx context.Context, account, name, newName, newPath string) error {
	return s.write(ctx, func(tx *wtx) error {
		bg := context.Background()
		id, err := entityID(bg, tx, account, iam.EntityUser, name)
		if err != nil {
			return err
		}
		if newName != "" && nameKey(newName) != nameKey(name) {
			if _, err := entityID(bg, tx, account, iam.EntityUser, newName); err == nil {
				return iam.Errorf(iam.CodeEntityAlreadyExists, "User with name %s already exists.", newName)
			}
		}
		if newName != "" {
			if _, err := tx.ExecContext(bg, `UPDATE iam_users SET name = $1, name_key = $2 WHERE id = $3`, newName, nameKey(newName), id); err != nil {
				return err
			}
		}
		if newPath != "" {
			if _, err := tx.ExecContext(bg, `UPDATE iam_users SET path = $1 WHERE id = $2`, newPath, id); err != nil {
				return err
			}
		}
		return nil
	})
}

// DeleteUser implements iam.Store.
func (s *Store) DeleteUser(ctx context.Context, account, name string) error {
	return s.write(ctx, func(tx *wtx) error {
		bg := context.Background()
		id, err := entityID(bg, tx, account, iam.EntityUser, name)
		if err != nil {
			return err
		}
		if err := deleteConflicts(bg, tx, id, "user"); err != nil {
			return err
		}
		if n, err := count(bg, tx, `SELECT COUNT(*) FROM iam_access_keys WHERE user_id = $1`, id); err != nil {
			return err
		} else if n > 0 {
			return iam.Errorf(iam.CodeDeleteConflict, "Cannot delete entity, must delete access keys first.")
		}
		if n, err := count(bg, tx, `SELECT COUNT(*) FROM iam_group_members WHERE user_id = $1`, id); err != nil {
			return err
		} else if n > 0 {
			return iam.Errorf(iam.CodeDeleteConflict, "Cannot delete entity, must remove users from group first.")
		}
		_, err = tx.ExecContext(bg, `DELETE FROM iam_users WHERE id = $1`, id)
		return err
	})
}

// deleteConflicts refuses to delete an entity that still has inline or
// attached policies, as IAM does.
func deleteConflicts(ctx context.Context, tx *wtx, id, what string) error {
	if n, err := count(ctx, tx, `SELECT COUNT(*) FROM iam_inline_policies WHERE owner_id = $1`, id); err != nil {
		return err
	} else if n > 0 {
		return iam.Errorf(iam.CodeDeleteConflict, "Cannot delete entity, must delete policies first.")
	}
	if n, err := count(ctx, tx, `SELECT COUNT(*) FROM iam_attachments WHERE owner_id = $1`, id); err != nil {
		return err
	} else if n > 0 {
		return iam.Errorf(iam.CodeDeleteConflict, "Cannot delete entity, must detach all policies first.")
	}
	return nil
}

// --- access keys ------------------------------------------------------------

// CreateAccessKey implements iam.Store.
func (s *Store) CreateAccessKey(ctx context.Context, account, userName string, k iam.AccessKey) error {
	return s.write(ctx, func(tx *wtx) error {
		bg := context.Background()
		uid, err := entityID(bg, tx, account, iam.EntityUser, userName)
		if err != nil {
			return err
		}
		if n, err := count(bg, tx, `SELECT COUNT(*) FROM iam_access_keys WHERE user_id = $1`, uid); err != nil {
			return err
		} else if n >= iam.MaxAccessKeysPerUser {
			return iam.Errorf(iam.CodeLimitExceeded, "Cannot exceed quota for AccessKeysPerUser: %d", iam.MaxAccessKeysPerUser)
		}
		_, err = tx.ExecContext(bg, `INSERT INTO iam_access_keys (id, user_id, secret, status, created_at) VALUES ($1, $2, $3, $4, $5)`,
			k.ID, uid, k.Secret, k.Status, encTime(k.CreatedAt))
		return err
	})
}

const keyCols = `k.id, k.user_id, u.name, u.account, u.path, k.secret, k.status, k.created_at, k.last_used, k.last_service, k.last_region`

func scanKey(sc interface{ Scan(...any) error }) (iam.AccessKey, error) {
	var k iam.AccessKey
	var created, used int64
	err := sc.Scan(&k.ID, &k.UserID, &k.UserName, &k.AccountID, &k.UserPath, &k.Secret, &k.Status, &created, &used, &k.LastService, &k.LastRegion)
	k.CreatedAt, k.LastUsed = decTime(created), decTime(used)
	return k, err
}

// GetAccessKey implements iam.Store. It runs on every request signed with
// a user's key (or with temporary credentials derived from one).
func (s *Store) GetAccessKey(ctx context.Context, id string) (iam.AccessKey, error) {
	k, err := scanKey(s.rdb.QueryRowContext(ctx, `SELECT `+keyCols+` FROM iam_access_keys k JOIN iam_users u ON u.id = k.user_id WHERE k.id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return iam.AccessKey{}, iam.Errorf(iam.CodeNoSuchEntity, "The Access Key with id %s cannot be found.", id)
	}
	if err != nil {
		return iam.AccessKey{}, fmt.Errorf("meta/sqlite: get access key: %w", err)
	}
	return k, nil
}

// ListAccessKeys implements iam.Store.
func (s *Store) ListAccessKeys(ctx context.Context, account, userName string) ([]iam.AccessKey, error) {
	uid, err := entityID(ctx, s.rdb, account, iam.EntityUser, userName)
	if err != nil {
		return nil, err
	}
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+keyCols+` FROM iam_access_keys k JOIN iam_users u ON u.id = k.user_id WHERE k.user_id = $1 ORDER BY k.created_at, k.id`, uid)
	if err != nil {
		return nil, fmt.Errorf("meta/sqlite: list access keys: %w", err)
	}
	defer rows.Close()
	var out []iam.AccessKey
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, fmt.Errorf("meta/sqlite: list access keys: %w", err)
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

func noKey(id string) func() error {
	return func() error {
		return iam.Errorf(iam.CodeNoSuchEntity, "The Access Key with id %s cannot be found.", id)
	}
}

// UpdateAccessKey implements iam.Store.
func (s *Store) UpdateAccessKey(ctx context.Context, account, userName, id, status string) error {
	return s.write(ctx, func(tx *wtx) error {
		bg := context.Background()
		uid, err := entityID(bg, tx, account, iam.EntityUser, userName)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(bg, `UPDATE iam_access_keys SET status = $1 WHERE id = $2 AND user_id = $3`, status, id, uid)
		return affected(res, err, noKey(id))
	})
}

// DeleteAccessKey implements iam.Store.
func (s *Store) DeleteAccessKey(ctx context.Context, account, userName, id string) error {
	return s.write(ctx, func(tx *wtx) error {
		bg := context.Background()
		uid, err := entityID(bg, tx, account, iam.EntityUser, userName)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(bg, `DELETE FROM iam_access_keys WHERE id = $1 AND user_id = $2`, id, uid)
		return affected(res, err, noKey(id))
	})
}

// TouchAccessKey implements iam.Store.
func (s *Store) TouchAccessKey(ctx context.Context, id string, when time.Time, service, region string) error {
	return s.write(ctx, func(tx *wtx) error {
		res, err := tx.ExecContext(context.Background(), `UPDATE iam_access_keys SET last_used = $1, last_service = $2, last_region = $3 WHERE id = $4 AND last_used < $1`,
			encTime(when), service, region, id)
		if err != nil {
			return err
		}
		_, err = res.RowsAffected()
		return err
	})
}

// --- groups -----------------------------------------------------------------

// CreateGroup implements iam.Store.
func (s *Store) CreateGroup(ctx context.Context, g iam.Group) error {
	return s.write(ctx, func(tx *wtx) error {
		res, err := tx.ExecContext(context.Background(), `INSERT INTO iam_groups (id, account, name, name_key, path, created_at)
			VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`, g.ID, g.AccountID, g.Name, nameKey(g.Name), g.Path, encTime(g.CreatedAt))
		return inserted(res, err, func() error {
			return iam.Errorf(iam.CodeEntityAlreadyExists, "Group with name %s already exists.", g.Name)
		})
	})
}

const groupCols = `g.id, g.account, g.name, g.path, g.created_at`

func scanGroup(sc interface{ Scan(...any) error }) (iam.Group, error) {
	var g iam.Group
	var created int64
	err := sc.Scan(&g.ID, &g.AccountID, &g.Name, &g.Path, &created)
	g.CreatedAt = decTime(created)
	return g, err
}

func (s *Store) groups(ctx context.Context, q string, args ...any) ([]iam.Group, error) {
	rows, err := s.rdb.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("meta/sqlite: list groups: %w", err)
	}
	defer rows.Close()
	var out []iam.Group
	for rows.Next() {
		g, err := scanGroup(rows)
		if err != nil {
			return nil, fmt.Errorf("meta/sqlite: list groups: %w", err)
		}
		out = append(out, g)
	}
	return out, rows.Err()
}

// GetGroup implements iam.Store.
func (s *Store) GetGroup(ctx context.Context, account, name string) (iam.Group, error) {
	g, err := scanGroup(s.rdb.QueryRowContext(ctx, `SELECT `+groupCols+` FROM iam_groups g WHERE account = $1 AND name_key = $2`, account, nameKey(name)))
	if errors.Is(err, sql.ErrNoRows) {
		return iam.Group{}, noEntity(iam.EntityGroup, name)
	}
	if err != nil {
		return iam.Group{}, fmt.Errorf("meta/sqlite: get group: %w", err)
	}
	return g, nil
}

// ListGroups implements iam.Store.
func (s *Store) ListGroups(ctx context.Context, account, pathPrefix string) ([]iam.Group, error) {
	all, err := s.groups(ctx, `SELECT `+groupCols+` FROM iam_groups g WHERE account = $1 ORDER BY name_key`, account)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, g := range all {
		if strings.HasPrefix(g.Path, pathPrefix) {
			out = append(out, g)
		}
	}
	return out, nil
}

// DeleteGroup implements iam.Store.
func (s *Store) DeleteGroup(ctx context.Context, account, name string) error {
	return s.write(ctx, func(tx *wtx) error {
		bg := context.Background()
		id, err := entityID(bg, tx, account, iam.EntityGroup, name)
		if err != nil {
			return err
		}
		if n, err := count(bg, tx, `SELECT COUNT(*) FROM iam_group_members WHERE group_id = $1`, id); err != nil {
			return err
		} else if n > 0 {
			return iam.Errorf(iam.CodeDeleteConflict, "Cannot delete entity, must remove users from group first.")
		}
		if err := deleteConflicts(bg, tx, id, "group"); err != nil {
			return err
		}
		_, err = tx.ExecContext(bg, `DELETE FROM iam_groups WHERE id = $1`, id)
		return err
	})
}

// AddUserToGroup implements iam.Store.
func (s *Store) AddUserToGroup(ctx context.Context, account, group, user string) error {
	return s.write(ctx, func(tx *wtx) error {
		bg := context.Background()
		gid, err := entityID(bg, tx, account, iam.EntityGroup, group)
		if err != nil {
			return err
		}
		uid, err := entityID(bg, tx, account, iam.EntityUser, user)
		if err != nil {
			return err
		}
		if n, err := count(bg, tx, `SELECT COUNT(*) FROM iam_group_members WHERE user_id = $1 AND group_id <> $2`, uid, gid); err != nil {
			return err
		} else if n >= iam.MaxGroupsPerUser {
			return iam.Errorf(iam.CodeLimitExceeded, "Cannot exceed quota for GroupsPerUser: %d", iam.MaxGroupsPerUser)
		}
		_, err = tx.ExecContext(bg, `INSERT INTO iam_group_members (group_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, gid, uid)
		return err
	})
}

// RemoveUserFromGroup implements iam.Store.
func (s *Store) RemoveUserFromGroup(ctx context.Context, account, group, user string) error {
	return s.write(ctx, func(tx *wtx) error {
		bg := context.Background()
		gid, err := entityID(bg, tx, account, iam.EntityGroup, group)
		if err != nil {
			return err
		}
		uid, err := entityID(bg, tx, account, iam.EntityUser, user)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(bg, `DELETE FROM iam_group_members WHERE group_id = $1 AND user_id = $2`, gid, uid)
		return affected(res, err, func() error {
			return iam.Errorf(iam.CodeNoSuchEntity, "The user %s is not a member of the group %s.", user, group)
		})
	})
}

// ListGroupsForUser implements iam.Store.
func (s *Store) ListGroupsForUser(ctx context.Context, account, user string) ([]iam.Group, error) {
	uid, err := entityID(ctx, s.rdb, account, iam.EntityUser, user)
	if err != nil {
		return nil, err
	}
	return s.groups(ctx, `SELECT `+groupCols+` FROM iam_groups g JOIN iam_group_members m ON m.group_id = g.id WHERE m.user_id = $1 ORDER BY g.name_key`, uid)
}

// ListGroupMembers implements iam.Store.
func (s *Store) ListGroupMembers(ctx context.Context, account, group string) ([]iam.User, error) {
	gid, err := entityID(ctx, s.rdb, account, iam.EntityGroup, group)
	if err != nil {
		return nil, err
	}
	rows, err := s.rdb.QueryContext(ctx, `SELECT u.id, u.account, u.name, u.path, u.created_at FROM iam_users u
		JOIN iam_group_members m ON m.user_id = u.id WHERE m.group_id = $1 ORDER BY u.name_key`, gid)
	if err != nil {
		return nil, fmt.Errorf("meta/sqlite: group members: %w", err)
	}
	defer rows.Close()
	var out []iam.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("meta/sqlite: group members: %w", err)
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// --- roles ------------------------------------------------------------------

// CreateRole implements iam.Store.
func (s *Store) CreateRole(ctx context.Context, r iam.Role) error {
	return s.write(ctx, func(tx *wtx) error {
		res, err := tx.ExecContext(context.Background(), `INSERT INTO iam_roles (id, account, name, name_key, path, description, trust_policy, max_session, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING`,
			r.ID, r.AccountID, r.Name, nameKey(r.Name), r.Path, r.Description, r.TrustPolicy, r.MaxSessionDuration, encTime(r.CreatedAt))
		return inserted(res, err, func() error {
			return iam.Errorf(iam.CodeEntityAlreadyExists, "Role with name %s already exists.", r.Name)
		})
	})
}

const roleCols = `id, account, name, path, description, trust_policy, max_session, created_at`

func scanRole(sc interface{ Scan(...any) error }) (iam.Role, error) {
	var r iam.Role
	var created int64
	err := sc.Scan(&r.ID, &r.AccountID, &r.Name, &r.Path, &r.Description, &r.TrustPolicy, &r.MaxSessionDuration, &created)
	r.CreatedAt = decTime(created)
	return r, err
}

// GetRole implements iam.Store.
func (s *Store) GetRole(ctx context.Context, account, name string) (iam.Role, error) {
	r, err := scanRole(s.rdb.QueryRowContext(ctx, `SELECT `+roleCols+` FROM iam_roles WHERE account = $1 AND name_key = $2`, account, nameKey(name)))
	if errors.Is(err, sql.ErrNoRows) {
		return iam.Role{}, noEntity(iam.EntityRole, name)
	}
	if err != nil {
		return iam.Role{}, fmt.Errorf("meta/sqlite: get role: %w", err)
	}
	return r, nil
}

// GetRoleByID implements iam.Store.
func (s *Store) GetRoleByID(ctx context.Context, id string) (iam.Role, error) {
	r, err := scanRole(s.rdb.QueryRowContext(ctx, `SELECT `+roleCols+` FROM iam_roles WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return iam.Role{}, iam.Errorf(iam.CodeNoSuchEntity, "The role with id %s cannot be found.", id)
	}
	if err != nil {
		return iam.Role{}, fmt.Errorf("meta/sqlite: get role: %w", err)
	}
	return r, nil
}

// ListRoles implements iam.Store.
func (s *Store) ListRoles(ctx context.Context, account, pathPrefix string) ([]iam.Role, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+roleCols+` FROM iam_roles WHERE account = $1 ORDER BY name_key`, account)
	if err != nil {
		return nil, fmt.Errorf("meta/sqlite: list roles: %w", err)
	}
	defer rows.Close()
	var out []iam.Role
	for rows.Next() {
		r, err := scanRole(rows)
		if err != nil {
			return nil, fmt.Errorf("meta/sqlite: list roles: %w", err)
		}
		if strings.HasPrefix(r.Path, pathPrefix) {
			out = append(out, r)
		}
	}
	return out, rows.Err()
}

// UpdateRole implements iam.Store. maxSession 0 leaves it unchanged.
func (s *Store) UpdateRole(ctx context.Context, account, name string, description *string, maxSession int) error {
	return s.write(ctx, func(tx *wtx) error {
		bg := context.Background()
		id, err := entityID(bg, tx, account, iam.EntityRole, name)
		if err != nil {
			return err
		}
		if description != nil {
			if _, err := tx.ExecContext(bg, `UPDATE iam_roles SET description = $1 WHERE id = $2`, *description, id); err != nil {
				return err
			}
		}
		if maxSession != 0 {
			if _, err := tx.ExecContext(bg, `UPDATE iam_roles SET max_session = $1 WHERE id = $2`, maxSession, id); err != nil {
				return err
			}
		}
		return nil
	})
}

// UpdateTrustPolicy implements iam.Store.
func (s *Store) UpdateTrustPolicy(ctx context.Context, account, name, doc string) error {
	return s.write(ctx, func(tx *wtx) error {
		res, err := tx.ExecContext(context.Background(), `UPDATE iam_roles SET trust_policy = $1 WHERE account = $2 AND name_key = $3`, doc, account, nameKey(name))
		return affected(res, err, func() error { return noEntity(iam.EntityRole, name) })
	})
}

// DeleteRole implements iam.Store.
func (s *Store) DeleteRole(ctx context.Context, account, name string) error {
	return s.write(ctx, func(tx *wtx) error {
		bg := context.Background()
		id, err := entityID(bg, tx, account, iam.EntityRole, name)
		if err != nil {
			return err
		}
		if err := deleteConflicts(bg, tx, id, "role"); err != nil {
			return err
		}
		_, err = tx.ExecContext(bg, `DELETE FROM iam_roles WHERE id = $1`, id)
		return err
	})
}

// --- inline policies --------------------------------------------------------

func noInline(t iam.EntityType, name string) error {
	return iam.Errorf(iam.CodeNoSuchEntity, "The %s policy with name %s cannot be found.", t, name)
}

// PutInlinePolicy implements iam.Store.
func (s *Store) PutInlinePolicy(ctx context.Context, account string, t iam.EntityType, entity, name, doc string, size, limit int) error {
	return s.write(ctx, func(tx *wtx) error {
		bg := context.Background()
		id, err := entityID(bg, tx, account, t, entity)
		if err != nil {
			return err
		}
		others, err := count(bg, tx, `SELECT COALESCE(SUM(size), 0) FROM iam_inline_policies WHERE owner_id = $1 AND name <> $2`, id, name)
		if err != nil {
			return err
		}
		if limit > 0 && others+size > limit {
			return iam.Errorf(iam.CodeLimitExceeded, "Maximum policy size of %d bytes exceeded for %s %s", limit, t, entity)
		}
		_, err = tx.ExecContext(bg, `INSERT INTO iam_inline_policies (owner_id, name, doc, size) VALUES ($1, $2, $3, $4)
			ON CONFLICT (owner_id, name) DO UPDATE SET doc = excluded.doc, size = excluded.size`, id, name, doc, size)
		return err
	})
}

// GetInlinePolicy implements iam.Store.
func (s *Store) GetInlinePolicy(ctx context.Context, account string, t iam.EntityType, entity, name string) (string, error) {
	id, err := entityID(ctx, s.rdb, account, t, entity)
	if err != nil {
		return "", err
	}
	var doc string
	err = s.rdb.QueryRowContext(ctx, `SELECT doc FROM iam_inline_policies WHERE owner_id = $1 AND name = $2`, id, name).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return "", noInline(t, name)
	}
	if err != nil {
		return "", fmt.Errorf("meta/sqlite: get inline policy: %w", err)
	}
	return doc, nil
}

// ListInlinePolicies implements iam.Store.
func (s *Store) ListInlinePolicies(ctx context.Context, account string, t iam.EntityType, entity string) ([]string, error) {
	id, err := entityID(ctx, s.rdb, account, t, entity)
	if err != nil {
		return nil, err
	}
	return s.strings(ctx, `SELECT name FROM iam_inline_policies WHERE owner_id = $1 ORDER BY name`, id)
}

func (s *Store) strings(ctx context.Context, q string, args ...any) ([]string, error) {
	rows, err := s.rdb.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("meta/sqlite: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, fmt.Errorf("meta/sqlite: %w", err)
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// DeleteInlinePolicy implements iam.Store.
func (s *Store) DeleteInlinePolicy(ctx context.Context, account string, t iam.EntityType, entity, name string) error {
	return s.write(ctx, func(tx *wtx) error {
		bg := context.Background()
		id, err := entityID(bg, tx, account, t, entity)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(bg, `DELETE FROM iam_inline_policies WHERE owner_id = $1 AND name = $2`, id, name)
		return affected(res, err, func() error { return noInline(t, name) })
	})
}

// --- managed policies -------------------------------------------------------

// CreatePolicy implements iam.Store.
func (s *Store) CreatePolicy(ctx context.Context, p iam.ManagedPolicy, doc string) error {
	return s.write(ctx, func(tx *wtx) error {
		bg := context.Background()
		res, err := tx.ExecContext(bg, `INSERT INTO iam_policies (id, account, arn, name, name_key, path, description, default_version, next_version, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, 'v1', 2, $8, $9) ON CONFLICT DO NOTHING`,
			p.ID, p.AccountID, p.ARN(), p.Name, nameKey(p.Name), p.Path, p.Description, encTime(p.CreatedAt), encTime(p.UpdatedAt))
		if err := inserted(res, err, func() error {
			return iam.Errorf(iam.CodeEntityAlreadyExists, "A policy called %s already exists. Duplicate names are not allowed.", p.Name)
		}); err != nil {
			return err
		}
		_, err = tx.ExecContext(bg, `INSERT INTO iam_policy_versions (policy_id, version, doc, created_at) VALUES ($1, 'v1', $2, $3)`, p.ID, doc, encTime(p.CreatedAt))
		return err
	})
}

const policyCols = `p.id, p.account, p.name, p.path, p.description, p.default_version, p.created_at, p.updated_at,
	(SELECT COUNT(*) FROM iam_attachments a WHERE a.policy_id = p.id)`

func scanPolicy(sc interface{ Scan(...any) error }) (iam.ManagedPolicy, error) {
	var p iam.ManagedPolicy
	var created, updated int64
	err := sc.Scan(&p.ID, &p.AccountID, &p.Name, &p.Path, &p.Description, &p.DefaultVersion, &created, &updated, &p.AttachmentCount)
	p.CreatedAt, p.UpdatedAt = decTime(created), decTime(updated)
	return p, err
}

// GetPolicy implements iam.Store.
func (s *Store) GetPolicy(ctx context.Context, arn string) (iam.ManagedPolicy, error) {
	p, err := scanPolicy(s.rdb.QueryRowContext(ctx, `SELECT `+policyCols+` FROM iam_policies p WHERE arn = $1`, arn))
	if errors.Is(err, sql.ErrNoRows) {
		return iam.ManagedPolicy{}, noPolicy(arn)
	}
	if err != nil {
		return iam.ManagedPolicy{}, fmt.Errorf("meta/sqlite: get policy: %w", err)
	}
	return p, nil
}

// ListPolicies implements iam.Store.
func (s *Store) ListPolicies(ctx context.Context, account, pathPrefix string, onlyAttached bool) ([]iam.ManagedPolicy, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+policyCols+` FROM iam_policies p WHERE account = $1 ORDER BY name_key`, account)
	if err != nil {
		return nil, fmt.Errorf("meta/sqlite: list policies: %w", err)
	}
	defer rows.Close()
	var out []iam.ManagedPolicy
	for rows.Next() {
		p, err := scanPolicy(rows)
		if err != nil {
			return nil, fmt.Errorf("meta/sqlite: list policies: %w", err)
		}
		if strings.HasPrefix(p.Path, pathPrefix) && (!onlyAttached || p.AttachmentCount > 0) {
			out = append(out, p)
		}
	}
	return out, rows.Err()
}

// DeletePolicy implements iam.Store.
func (s *Store) DeletePolicy(ctx context.Context, arn string) error {
	return s.write(ctx, func(tx *wtx) error {
		bg := context.Background()
		id, err := policyID(bg, tx, arn)
		if err != nil {
			return err
		}
		if n, err := count(bg, tx, `SELECT COUNT(*) FROM iam_attachments WHERE policy_id = $1`, id); err != nil {
			return err
		} else if n > 0 {
			return iam.Errorf(iam.CodeDeleteConflict, "Cannot delete a policy attached to entities.")
		}
		if n, err := count(bg, tx, `SELECT COUNT(*) FROM iam_policy_versions WHERE policy_id = $1`, id); err != nil {
			return err
		} else if n > 1 {
			return iam.Errorf(iam.CodeDeleteConflict, "This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy.")
		}
		if _, err := tx.ExecContext(bg, `DELETE FROM iam_policy_versions WHERE policy_id = $1`, id); err != nil {
			return err
		}
		_, err = tx.ExecContext(bg, `DELETE FROM iam_policies WHERE id = $1`, id)
		return err
	})
}

// CreatePolicyVersion implements iam.Store.
func (s *Store) CreatePolicyVersion(ctx context.Context, arn, doc string, setDefault bool, now time.Time) (iam.PolicyVersion, error) {
	var v iam.PolicyVersion
	err := s.write(ctx, func(tx *wtx) error {
		bg := context.Background()
		var id string
		var next int
		err := tx.QueryRowContext(bg, `SELECT id, next_version FROM iam_policies WHERE arn = $1`, arn).Scan(&id, &next)
		if errors.Is(err, sql.ErrNoRows) {
			return noPolicy(arn)
		}
		if err != nil {
			return err
		}
		if n, err := count(bg, tx, `SELECT COUNT(*) FROM iam_policy_versions WHERE policy_id = $1`, id); err != nil {
			return err
		} else if n >= iam.MaxPolicyVersions {
			return iam.Errorf(iam.CodeLimitExceeded, "A managed policy can have up to %d versions. Before you create a new version, you must delete an existing version.", iam.MaxPolicyVersions)
		}
		v = iam.PolicyVersion{VersionID: "v" + strconv.Itoa(next), Document: doc, IsDefault: setDefault, CreatedAt: now}
		if _, err := tx.ExecContext(bg, `INSERT INTO iam_policy_versions (policy_id, version, doc, created_at) VALUES ($1, $2, $3, $4)`, id, v.VersionID, doc, encTime(now)); err != nil {
			return err
		}
		q := `UPDATE iam_policies SET next_version = next_version + 1, updated_at = $2 WHERE id = $1`
		if setDefault {
			q = `UPDATE iam_policies SET next_version = next_version + 1, updated_at = $2, default_version = $3 WHERE id = $1`
			_, err = tx.ExecContext(bg, q, id, encTime(now), v.VersionID)
		} else {
			_, err = tx.ExecContext(bg, q, id, encTime(now))
		}
		return err
	})
	if err != nil {
		return iam.PolicyVersion{}, err
	}
	return v, nil
}

func noVersion(arn, version string) error {
	return iam.Errorf(iam.CodeNoSuchEntity, "Policy %s version %s does not exist or is not attachable.", arn, version)
}

// GetPolicyVersion implements iam.Store.
func (s *Store) GetPolicyVersion(ctx context.Context, arn, version string) (iam.PolicyVersion, error) {
	var v iam.PolicyVersion
	var created int64
	var def string
	err := s.rdb.QueryRowContext(ctx, `SELECT v.version, v.doc, v.created_at, p.default_version FROM iam_policy_versions v
		JOIN iam_policies p ON p.id = v.policy_id WHERE p.arn = $1 AND v.version = $2`, arn, version).Scan(&v.VersionID, &v.Document, &created, &def)
	if errors.Is(err, sql.ErrNoRows) {
		if _, err := s.GetPolicy(ctx, arn); err != nil {
			return v, err
		}
		return v, noVersion(arn, version)
	}
	if err != nil {
		return v, fmt.Errorf("meta/sqlite: get policy version: %w", err)
	}
	v.CreatedAt, v.IsDefault = decTime(created), def == v.VersionID
	return v, nil
}

// ListPolicyVersions implements iam.Store.
func (s *Store) ListPolicyVersions(ctx context.Context, arn string) ([]iam.PolicyVersion, error) {
	p, err := s.GetPolicy(ctx, arn)
	if err != nil {
		return nil, err
	}
	rows, err := s.rdb.QueryContext(ctx, `SELECT version, doc, created_at FROM iam_policy_versions WHERE policy_id = $1`, p.ID)
	if err != nil {
		return nil, fmt.Errorf("meta/sqlite: list policy versions: %w", err)
	}
	defer rows.Close()
	var out []iam.PolicyVersion
	for rows.Next() {
		var v iam.PolicyVersion
		var created int64
		if err := rows.Scan(&v.VersionID, &v.Document, &created); err != nil {
			return nil, fmt.Errorf("meta/sqlite: list policy versions: %w", err)
		}
		v.CreatedAt, v.IsDefault = decTime(created), v.VersionID == p.DefaultVersion
		out = append(out, v)
	}
	// Newest first, as IAM lists them.
	sort.Slice(out, func(i, j int) bool { return versionNum(out[i].VersionID) > versionNum(out[j].VersionID) })
	return out, rows.Err()
}

func versionNum(v string) int {
	n, _ := strconv.Atoi(strings.TrimPrefix(v, "v"))
	return n
}

// DeletePolicyVersion implements iam.Store.
func (s *Store) DeletePolicyVersion(ctx context.Context, arn, version string) error {
	return s.write(ctx, func(tx *wtx) error {
		bg := context.Background()
		var id, def string
		err := tx.QueryRowContext(bg, `SELECT id, default_version FROM iam_policies WHERE arn = $1`, arn).Scan(&id, &def)
		if errors.Is(err, sql.ErrNoRows) {
			return noPolicy(arn)
		}
		if err != nil {
			return err
		}
		if def == version {
			return iam.Errorf(iam.CodeDeleteConflict, "Cannot delete the default version of a policy.")
		}
		res, err := tx.ExecContext(bg, `DELETE FROM iam_policy_versions WHERE policy_id = $1 AND version = $2`, id, version)
		return affected(res, err, func() error { return noVersion(arn, version) })
	})
}

// SetDefaultPolicyVersion implements iam.Store.
func (s *Store) SetDefaultPolicyVersion(ctx context.Context, arn, version string, now time.Time) error {
	return s.write(ctx, func(tx *wtx) error {
		bg := context.Background()
		id, err := policyID(bg, tx, arn)
		if err != nil {
			return err
		}
		if n, err := count(bg, tx, `SELECT COUNT(*) FROM iam_policy_versions WHERE policy_id = $1 AND version = $2`, id, version); err != nil {
			return err
		} else if n == 0 {
			return noVersion(arn, version)
		}
		_, err = tx.ExecContext(bg, `UPDATE iam_policies SET default_version = $1, updated_at = $2 WHERE id = $3`, version, encTime(now), id)
		return err
	})
}

// AttachPolicy implements iam.Store.
func (s *Store) AttachPolicy(ctx context.Context, account string, t iam.EntityType, entity, arn string) error {
	return s.write(ctx, func(tx *wtx) error {
		bg := context.Background()
		id, err := entityID(bg, tx, account, t, entity)
		if err != nil {
			return err
		}
		pid, err := policyID(bg, tx, arn)
		if err != nil {
			return err
		}
		if n, err := count(bg, tx, `SELECT COUNT(*) FROM iam_attachments WHERE owner_id = $1 AND policy_id <> $2`, id, pid); err != nil {
			return err
		} else if n >= iam.MaxAttachedPolicies {
			return iam.Errorf(iam.CodeLimitExceeded, "Cannot exceed quota for PoliciesPer%s: %d", strings.ToUpper(string(t[:1]))+string(t[1:]), iam.MaxAttachedPolicies)
		}
		_, err = tx.ExecContext(bg, `INSERT INTO iam_attachments (owner_id, policy_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, id, pid)
		return err
	})
}

// DetachPolicy implements iam.Store.
func (s *Store) DetachPolicy(ctx context.Context, account string, t iam.EntityType, entity, arn string) error {
	return s.write(ctx, func(tx *wtx) error {
		bg := context.Background()
		id, err := entityID(bg, tx, account, t, entity)
		if err != nil {
			return err
		}
		pid, err := policyID(bg, tx, arn)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(bg, `DELETE FROM iam_attachments WHERE owner_id = $1 AND policy_id = $2`, id, pid)
		return affected(res, err, func() error {
			return iam.Errorf(iam.CodeNoSuchEntity, "Policy %s was not found.", arn)
		})
	})
}

// ListAttachedPolicies implements iam.Store.
func (s *Store) ListAttachedPolicies(ctx context.Context, account string, t iam.EntityType, entity string) ([]iam.AttachedPolicy, error) {
	id, err := entityID(ctx, s.rdb, account, t, entity)
	if err != nil {
		return nil, err
	}
	rows, err := s.rdb.QueryContext(ctx, `SELECT p.name, p.arn FROM iam_policies p JOIN iam_attachments a ON a.policy_id = p.id
		WHERE a.owner_id = $1 ORDER BY p.name_key`, id)
	if err != nil {
		return nil, fmt.Errorf("meta/sqlite: attached policies: %w", err)
	}
	defer rows.Close()
	var out []iam.AttachedPolicy
	for rows.Next() {
		var a iam.AttachedPolicy
		if err := rows.Scan(&a.Name, &a.ARN); err != nil {
			return nil, fmt.Errorf("meta/sqlite: attached policies: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// ListEntitiesForPolicy implements iam.Store.
func (s *Store) ListEntitiesForPolicy(ctx context.Context, arn string) (iam.PolicyEntities, error) {
	var out iam.PolicyEntities
	pid, err := policyID(ctx, s.rdb, arn)
	if err != nil {
		return out, err
	}
	for _, e := range []struct {
		table string
		dst   *[]iam.EntityRef
	}{{"iam_users", &out.Users}, {"iam_groups", &out.Groups}, {"iam_roles", &out.Roles}} {
		rows, err := s.rdb.QueryContext(ctx, `SELECT e.name, e.id FROM `+e.table+` e JOIN iam_attachments a ON a.owner_id = e.id
			WHERE a.policy_id = $1 ORDER BY e.name_key`, pid)
		if err != nil {
			return out, fmt.Errorf("meta/sqlite: entities for policy: %w", err)
		}
		for rows.Next() {
			var r iam.EntityRef
			if err := rows.Scan(&r.Name, &r.ID); err != nil {
				rows.Close()
				return out, fmt.Errorf("meta/sqlite: entities for policy: %w", err)
			}
			*e.dst = append(*e.dst, r)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

// sqlPolicyDocuments gathers, in one statement, every identity-based policy
// document of a user or role: its inline policies, the default versions of
// its attached managed policies, and (for a user) the same for its groups.
// Every branch is an indexed lookup.
const sqlPolicyDocuments = `
SELECT doc FROM iam_inline_policies WHERE owner_id = $1
UNION ALL
SELECT v.doc FROM iam_attachments a
	JOIN iam_policies p ON p.id = a.policy_id
	JOIN iam_policy_versions v ON v.policy_id = p.id AND v.version = p.default_version
	WHERE a.owner_id = $1
UNION ALL
SELECT i.doc FROM iam_group_members m
	JOIN iam_inline_policies i ON i.owner_id = m.group_id
	WHERE m.user_id = $1
UNION ALL
SELECT v.doc FROM iam_group_members m
	JOIN iam_attachments a ON a.owner_id = m.group_id
	JOIN iam_policies p ON p.id = a.policy_id
	JOIN iam_policy_versions v ON v.policy_id = p.id AND v.version = p.default_version
	WHERE m.user_id = $1`

// PolicyDocuments implements iam.Store.
func (s *Store) PolicyDocuments(ctx context.Context, id string) ([]string, error) {
	return s.strings(ctx, sqlPolicyDocuments, id)
}
