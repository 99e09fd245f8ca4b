package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/postern/postern/iam"
)

// Roles.

var roles = entity[iam.Role]{t: iam.EntityRole, table: "iam_roles",
	cols: `e.id, e.account, e.name, e.path, e.description, e.trust_policy, e.max_session, e.created_at`,
	scan: scanRole, path: func(r iam.Role) string { return r.Path }}

func scanRole(r pgx.Row) (iam.Role, error) {
	var ro iam.Role
	err := r.Scan(&ro.ID, &ro.AccountID, &ro.Name, &ro.Path, &ro.Description, &ro.TrustPolicy, &ro.MaxSessionDuration, &ro.CreatedAt)
	ro.CreatedAt = ro.CreatedAt.UTC()
	return ro, err
}

// CreateRole implements iam.Store.
func (s *Store) CreateRole(ctx context.Context, r iam.Role) error {
	return s.createEntity(ctx, iam.EntityRole, r.Name, `id, account, name, name_key, path, description, trust_policy, max_session, created_at`,
		r.ID, r.AccountID, r.Name, nameKey(r.Name), r.Path, r.Description, r.TrustPolicy, r.MaxSessionDuration, r.CreatedAt)
}

// GetRole implements iam.Store.
func (s *Store) GetRole(ctx context.Context, account, name string) (iam.Role, error) {
	return roles.get(ctx, s.pool, account, name)
}

// GetRoleByID implements iam.Store.
func (s *Store) GetRoleByID(ctx context.Context, id string) (iam.Role, error) {
	return roles.byID(ctx, s.pool, id)
}

// ListRoles implements iam.Store.
func (s *Store) ListRoles(ctx context.Context, account, pathPrefix string) ([]iam.Role, error) {
	return roles.list(ctx, s.pool, account, pathPrefix)
}

// UpdateRole implements iam.Store. maxSession 0 leaves it unchanged.
func (s *Store) UpdateRole(ctx context.Context, account, name string, description *string, maxSession int) error {
	if description != nil && !storable(*description) {
		return errUnstorable()
	}
	return s.tx(ctx, func(tx pgx.Tx) error {
		id, err := lockEntity(ctx, tx, account, iam.EntityRole, name)
		if err != nil {
			return err
		}
		if description != nil {
			if _, err := tx.Exec(ctx, `UPDATE iam_roles SET description = $1 WHERE id = $2`, *description, id); err != nil {
				return err
			}
		}
		if maxSession != 0 {
			if _, err := tx.Exec(ctx, `UPDATE iam_roles SET max_session = $1 WHERE id = $2`, maxSession, id); err != nil {
				return err
			}
		}
		return notify(ctx, tx, Event{Kind: EventRole, ID: id})
	})
}

// UpdateTrustPolicy implements iam.Store.
func (s *Store) UpdateTrustPolicy(ctx context.Context, account, name, doc string) error {
	if !storable(doc) {
		return errUnstorable()
	}
	return s.tx(ctx, func(tx pgx.Tx) error {
		id, err := lockEntity(ctx, tx, account, iam.EntityRole, name)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE iam_roles SET trust_policy = $1 WHERE id = $2`, doc, id); err != nil {
			return err
		}
		return notify(ctx, tx, Event{Kind: EventRole, ID: id})
	})
}

// DeleteRole implements iam.Store.
func (s *Store) DeleteRole(ctx context.Context, account, name string) error {
	return s.deleteEntity(ctx, iam.EntityRole, account, name, hasInline, hasAttached)
}
