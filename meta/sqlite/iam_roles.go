package sqlite

import (
	"context"

	"github.com/postern/postern/iam"
)

// Roles.

var roles = entity[iam.Role]{t: iam.EntityRole, table: "iam_roles",
	cols: `e.id, e.account, e.name, e.path, e.description, e.trust_policy, e.max_session, e.created_at`,
	scan: scanRole, path: func(r iam.Role) string { return r.Path }}

func scanRole(sc scanner) (iam.Role, error) {
	var r iam.Role
	var created int64
	err := sc.Scan(&r.ID, &r.AccountID, &r.Name, &r.Path, &r.Description, &r.TrustPolicy, &r.MaxSessionDuration, &created)
	r.CreatedAt = decTime(created)
	return r, err
}

// CreateRole implements iam.Store.
func (s *Store) CreateRole(ctx context.Context, r iam.Role) error {
	return s.createEntity(ctx, iam.EntityRole, r.Name, `id, account, name, name_key, path, description, trust_policy, max_session, created_at`,
		r.ID, r.AccountID, r.Name, nameKey(r.Name), r.Path, r.Description, r.TrustPolicy, r.MaxSessionDuration, encTime(r.CreatedAt))
}

// GetRole implements iam.Store.
func (s *Store) GetRole(ctx context.Context, account, name string) (iam.Role, error) {
	return roles.get(ctx, s.rdb, account, name)
}

// GetRoleByID implements iam.Store.
func (s *Store) GetRoleByID(ctx context.Context, id string) (iam.Role, error) {
	return roles.byID(ctx, s.rdb, id)
}

// ListRoles implements iam.Store.
func (s *Store) ListRoles(ctx context.Context, account, pathPrefix string) ([]iam.Role, error) {
	return roles.list(ctx, s.rdb, account, pathPrefix)
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
	return s.deleteEntity(ctx, iam.EntityRole, account, name, hasInline, hasAttached)
}
