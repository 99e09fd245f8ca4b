package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/postern/postern/iam"
)

// Users and their access keys.

var users = entity[iam.User]{t: iam.EntityUser, table: "iam_users", cols: `e.id, e.account, e.name, e.path, e.created_at`,
	scan: scanUser, path: func(u iam.User) string { return u.Path }}

func scanUser(r pgx.Row) (iam.User, error) {
	var u iam.User
	err := r.Scan(&u.ID, &u.AccountID, &u.Name, &u.Path, &u.CreatedAt)
	u.CreatedAt = u.CreatedAt.UTC()
	return u, err
}

// CreateUser implements iam.Store.
func (s *Store) CreateUser(ctx context.Context, u iam.User) error {
	return s.createEntity(ctx, iam.EntityUser, u.Name, `id, account, name, name_key, path, created_at`,
		u.ID, u.AccountID, u.Name, nameKey(u.Name), u.Path, u.CreatedAt)
}

// GetUser implements iam.Store.
func (s *Store) GetUser(ctx context.Context, account, name string) (iam.User, error) {
	return users.get(ctx, s.pool, account, name)
}

// GetUserByID implements iam.Store.
func (s *Store) GetUserByID(ctx context.Context, id string) (iam.User, error) {
	return users.byID(ctx, s.pool, id)
}

// ListUsers implements iam.Store.
func (s *Store) ListUsers(ctx context.Context, account, pathPrefix string) ([]iam.User, error) {
	return users.list(ctx, s.pool, account, pathPrefix)
}

// UpdateUser implements iam.Store. A rename or a new path changes the
// user's ARN, which principals carry: it is announced.
func (s *Store) UpdateUser(ctx context.Context, account, name, newName, newPath string) error {
	if !storable(newName, newPath) {
		return errUnstorable()
	}
	return s.tx(ctx, func(tx pgx.Tx) error {
		id, err := lockEntity(ctx, tx, account, iam.EntityUser, name)
		if err != nil {
			return err
		}
		exists := func() error {
			return iam.Errorf(iam.CodeEntityAlreadyExists, "User with name %s already exists.", newName)
		}
		if newName != "" && nameKey(newName) != nameKey(name) {
			if _, err := entityID(ctx, tx, account, iam.EntityUser, newName); err == nil {
				return exists()
			}
		}
		if newName != "" {
			if _, err := tx.Exec(ctx, `UPDATE iam_users SET name = $1, name_key = $2 WHERE id = $3`, newName, nameKey(newName), id); err != nil {
				if isUnique(err) { // another node took the name since the check
					return exists()
				}
				return err
			}
		}
		if newPath != "" {
			if _, err := tx.Exec(ctx, `UPDATE iam_users SET path = $1 WHERE id = $2`, newPath, id); err != nil {
				return err
			}
		}
		return notify(ctx, tx, Event{Kind: EventUser, ID: id})
	})
}

// DeleteUser implements iam.Store.
func (s *Store) DeleteUser(ctx context.Context, account, name string) error {
	return s.deleteEntity(ctx, iam.EntityUser, account, name, hasInline, hasAttached, hasKeys, inGroups)
}

// --- access keys ------------------------------------------------------------

// CreateAccessKey implements iam.Store.
func (s *Store) CreateAccessKey(ctx context.Context, account, userName string, k iam.AccessKey) error {
	if !storable(k.ID, k.Status) {
		return errUnstorable()
	}
	return s.tx(ctx, func(tx pgx.Tx) error {
		uid, err := lockEntity(ctx, tx, account, iam.EntityUser, userName)
		if err != nil {
			return err
		}
		if n, err := count(ctx, tx, `SELECT COUNT(*) FROM iam_access_keys WHERE user_id = $1`, uid); err != nil {
			return err
		} else if n >= iam.MaxAccessKeysPerUser {
			return iam.Errorf(iam.CodeLimitExceeded, "Cannot exceed quota for AccessKeysPerUser: %d", iam.MaxAccessKeysPerUser)
		}
		_, err = tx.Exec(ctx, `INSERT INTO iam_access_keys (id, user_id, secret, status, created_at) VALUES ($1, $2, $3, $4, $5)`,
			k.ID, uid, k.Secret, k.Status, k.CreatedAt)
		if isUnique(err) {
			return iam.Errorf(iam.CodeEntityAlreadyExists, "The Access Key with id %s already exists.", k.ID)
		}
		return err
	})
}

const keyCols = `k.id, k.user_id, u.name, u.account, u.path, k.secret, k.status, k.created_at, k.last_used, k.last_service, k.last_region`

func scanKey(r pgx.Row) (iam.AccessKey, error) {
	var k iam.AccessKey
	var used *time.Time
	err := r.Scan(&k.ID, &k.UserID, &k.UserName, &k.AccountID, &k.UserPath, &k.Secret, &k.Status, &k.CreatedAt, &used, &k.LastService, &k.LastRegion)
	k.CreatedAt, k.LastUsed = k.CreatedAt.UTC(), fromNull(used)
	return k, err
}

func noKey(id string) func() error {
	return func() error {
		return iam.Errorf(iam.CodeNoSuchEntity, "The Access Key with id %s cannot be found.", id)
	}
}

// GetAccessKey implements iam.Store. It runs on every request signed with
// a user's key (or with temporary credentials derived from one): one
// statement, prepared once per connection.
func (s *Store) GetAccessKey(ctx context.Context, id string) (iam.AccessKey, error) {
	if !storable(id) {
		return iam.AccessKey{}, noKey(id)()
	}
	var gen uint64
	var keepIt bool
	if s.cache != nil {
		k, hit, g, ok := s.cache.accessKey(id)
		if hit {
			return k, nil
		}
		gen, keepIt = g, ok
	}
	k, err := getOne(ctx, s.pool, scanKey, noKey(id), "get access key",
		`SELECT `+keyCols+` FROM iam_access_keys k JOIN iam_users u ON u.id = k.user_id WHERE k.id = $1`, id)
	if err == nil && keepIt {
		s.cache.keepAccessKey(k, gen)
	}
	return k, err
}

// ListAccessKeys implements iam.Store.
func (s *Store) ListAccessKeys(ctx context.Context, account, userName string) ([]iam.AccessKey, error) {
	uid, err := entityID(ctx, s.pool, account, iam.EntityUser, userName)
	if err != nil {
		return nil, err
	}
	return list(ctx, s.pool, scanKey, nil, "list access keys",
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
// user's, then args) and announces the change; NoSuchEntity when it
// changes no row.
func (s *Store) changeKey(ctx context.Context, account, userName, id, stmt string, args ...any) error {
	if !storable(id) {
		return noKey(id)()
	}
	return s.tx(ctx, func(tx pgx.Tx) error {
		uid, err := entityID(ctx, tx, account, iam.EntityUser, userName)
		if err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, stmt, append([]any{id, uid}, args...)...)
		if err := affected(tag, err, noKey(id)); err != nil {
			return err
		}
		return notify(ctx, tx, Event{Kind: EventAccessKey, ID: id})
	})
}

// TouchAccessKey implements iam.Store. Last use changes no access, but
// nodes' caches keep the key with its last use (GetAccessKeyLastUsed reads
// it through GetAccessKey): the update announces the key (EventAccessKey),
// in the same statement, so that they forget it. Service records a use at
// most once a minute per key and node.
func (s *Store) TouchAccessKey(ctx context.Context, id string, when time.Time, service, region string) error {
	if !storable(id, service, region) {
		return nil
	}
	_, err := s.pool.Exec(ctx, `WITH u AS (UPDATE iam_access_keys SET last_used = $1, last_service = $2, last_region = $3
		WHERE id = $4 AND (last_used IS NULL OR last_used < $1) RETURNING id)
		SELECT pg_notify($5, $6) FROM u`, when, service, region, id,
		InvalidationChannel, Event{Kind: EventAccessKey, ID: id}.payload())
	if err == nil && s.cache != nil {
		s.cache.invalidate(Event{Kind: EventAccessKey, ID: id})
	}
	return err
}
