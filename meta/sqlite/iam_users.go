package sqlite

import (
	"context"
	"time"

	"github.com/postern/postern/iam"
)

// Users and their access keys.

var users = entity[iam.User]{t: iam.EntityUser, table: "iam_users", cols: `e.id, e.account, e.name, e.path, e.created_at`,
	scan: scanUser, path: func(u iam.User) string { return u.Path }}

func scanUser(sc scanner) (iam.User, error) {
	var u iam.User
	var created int64
	err := sc.Scan(&u.ID, &u.AccountID, &u.Name, &u.Path, &created)
	u.CreatedAt = decTime(created)
	return u, err
}

// CreateUser implements iam.Store.
func (s *Store) CreateUser(ctx context.Context, u iam.User) error {
	return s.createEntity(ctx, iam.EntityUser, u.Name, `id, account, name, name_key, path, created_at`,
		u.ID, u.AccountID, u.Name, nameKey(u.Name), u.Path, encTime(u.CreatedAt))
}

// GetUser implements iam.Store.
func (s *Store) GetUser(ctx context.Context, account, name string) (iam.User, error) {
	return users.get(ctx, s.rdb, account, name)
}

// GetUserByID implements iam.Store.
func (s *Store) GetUserByID(ctx context.Context, id string) (iam.User, error) {
	return users.byID(ctx, s.rdb, id)
}

// ListUsers implements iam.Store.
func (s *Store) ListUsers(ctx context.Context, account, pathPrefix string) ([]iam.User, error) {
	return users.list(ctx, s.rdb, account, pathPrefix)
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
	return s.deleteEntity(ctx, iam.EntityUser, account, name, hasInline, hasAttached, hasKeys, inGroups)
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

func scanKey(sc scanner) (iam.AccessKey, error) {
	var k iam.AccessKey
	var created, used int64
	err := sc.Scan(&k.ID, &k.UserID, &k.UserName, &k.AccountID, &k.UserPath, &k.Secret, &k.Status, &created, &used, &k.LastService, &k.LastRegion)
	k.CreatedAt, k.LastUsed = decTime(created), decTime(used)
	return k, err
}

func noKey(id string) func() error {
	return func() error {
		return iam.Errorf(iam.CodeNoSuchEntity, "The Access Key with id %s cannot be found.", id)
	}
}

// GetAccessKey implements iam.Store. It runs on every request signed with
// a user's key (or with temporary credentials derived from one).
func (s *Store) GetAccessKey(ctx context.Context, id string) (iam.AccessKey, error) {
	return getOne(ctx, s.rdb, scanKey, noKey(id), "get access key",
		`SELECT `+keyCols+` FROM iam_access_keys k JOIN iam_users u ON u.id = k.user_id WHERE k.id = $1`, id)
}

// ListAccessKeys implements iam.Store.
func (s *Store) ListAccessKeys(ctx context.Context, account, userName string) ([]iam.AccessKey, error) {
	uid, err := entityID(ctx, s.rdb, account, iam.EntityUser, userName)
	if err != nil {
		return nil, err
	}
	return list(ctx, s.rdb, scanKey, nil, "list access keys",
		`SELECT `+keyCols+` FROM iam_access_keys k JOIN iam_users u ON u.id = k.user_id WHERE k.user_id = $1 ORDER BY k.created_at, k.id`, uid)
}

// UpdateAccessKey implements iam.Store.
func (s *Store) UpdateAccessKey(ctx context.Context, account, userName, id, status string) error {
	return s.changeKey(ctx, account, userName, id, `UPDATE iam_access_keys SET status = $3 WHERE id = $1 AND user_id = $2`, status)
}

// DeleteAccessKey implements iam.Store.
func (s *Store) DeleteAccessKey(ctx context.Context, account, userName, id string) error {
	return s.changeKey(ctx, account, userName, id, `DELETE FROM iam_access_keys WHERE id = $1 AND user_id = $2`)
}

// changeKey runs stmt on access key id of a user ($1 the key's id, $2 the
// user's, then args); NoSuchEntity when it changes no row.
func (s *Store) changeKey(ctx context.Context, account, userName, id, stmt string, args ...any) error {
	return s.write(ctx, func(tx *wtx) error {
		bg := context.Background()
		uid, err := entityID(bg, tx, account, iam.EntityUser, userName)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(bg, stmt, append([]any{id, uid}, args...)...)
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
