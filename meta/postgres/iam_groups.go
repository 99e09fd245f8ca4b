package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/postern/postern/iam"
)

// Groups and their members.

var groups = entity[iam.Group]{t: iam.EntityGroup, table: "iam_groups", cols: `e.id, e.account, e.name, e.path, e.created_at`,
	scan: scanGroup, path: func(g iam.Group) string { return g.Path }}

func scanGroup(r pgx.Row) (iam.Group, error) {
	var g iam.Group
	err := r.Scan(&g.ID, &g.AccountID, &g.Name, &g.Path, &g.CreatedAt)
	g.CreatedAt = g.CreatedAt.UTC()
	return g, err
}

// CreateGroup implements iam.Store.
func (s *Store) CreateGroup(ctx context.Context, g iam.Group) error {
	return s.createEntity(ctx, iam.EntityGroup, g.Name, `id, account, name, name_key, path, created_at`,
		g.ID, g.AccountID, g.Name, nameKey(g.Name), g.Path, g.CreatedAt)
}

// GetGroup implements iam.Store.
func (s *Store) GetGroup(ctx context.Context, account, name string) (iam.Group, error) {
	return groups.get(ctx, s.pool, account, name)
}

// ListGroups implements iam.Store.
func (s *Store) ListGroups(ctx context.Context, account, pathPrefix string) ([]iam.Group, error) {
	return groups.list(ctx, s.pool, account, pathPrefix)
}

// DeleteGroup implements iam.Store.
func (s *Store) DeleteGroup(ctx context.Context, account, name string) error {
	return s.deleteEntity(ctx, iam.EntityGroup, account, name, hasMembers, hasInline, hasAttached)
}

// AddUserToGroup implements iam.Store.
func (s *Store) AddUserToGroup(ctx context.Context, account, group, user string) error {
	return s.membership(ctx, account, group, user, func(tx pgx.Tx, gid, uid string) error {
		if n, err := count(ctx, tx, `SELECT COUNT(*) FROM iam_group_members WHERE user_id = $1 AND group_id <> $2`, uid, gid); err != nil {
			return err
		} else if n >= iam.MaxGroupsPerUser {
			return iam.Errorf(iam.CodeLimitExceeded, "Cannot exceed quota for GroupsPerUser: %d", iam.MaxGroupsPerUser)
		}
		_, err := tx.Exec(ctx, `INSERT INTO iam_group_members (group_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, gid, uid)
		return err
	})
}

// RemoveUserFromGroup implements iam.Store.
func (s *Store) RemoveUserFromGroup(ctx context.Context, account, group, user string) error {
	return s.membership(ctx, account, group, user, func(tx pgx.Tx, gid, uid string) error {
		tag, err := tx.Exec(ctx, `DELETE FROM iam_group_members WHERE group_id = $1 AND user_id = $2`, gid, uid)
		return affected(tag, err, func() error {
			return iam.Errorf(iam.CodeNoSuchEntity, "The user %s is not a member of the group %s.", user, group)
		})
	})
}

// membership resolves a group and a user (in that order, both rows locked)
// and runs change on their ids in one transaction, announcing that the
// user's policies changed.
func (s *Store) membership(ctx context.Context, account, group, user string, change func(tx pgx.Tx, gid, uid string) error) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		gid, err := lockEntity(ctx, tx, account, iam.EntityGroup, group)
		if err != nil {
			return err
		}
		uid, err := lockEntity(ctx, tx, account, iam.EntityUser, user)
		if err != nil {
			return err
		}
		if err := change(tx, gid, uid); err != nil {
			return err
		}
		return notify(ctx, tx, Event{Kind: EventPolicies, ID: uid})
	})
}

// ListGroupsForUser implements iam.Store.
func (s *Store) ListGroupsForUser(ctx context.Context, account, user string) ([]iam.Group, error) {
	uid, err := entityID(ctx, s.pool, account, iam.EntityUser, user)
	if err != nil {
		return nil, err
	}
	return list(ctx, s.pool, scanGroup, nil, "list groups",
		`SELECT `+groups.cols+` FROM iam_groups e JOIN iam_group_members m ON m.group_id = e.id WHERE m.user_id = $1 ORDER BY e.name_key`, uid)
}

// ListGroupMembers implements iam.Store.
func (s *Store) ListGroupMembers(ctx context.Context, account, group string) ([]iam.User, error) {
	gid, err := entityID(ctx, s.pool, account, iam.EntityGroup, group)
	if err != nil {
		return nil, err
	}
	return list(ctx, s.pool, scanUser, nil, "group members",
		`SELECT `+users.cols+` FROM iam_users e JOIN iam_group_members m ON m.user_id = e.id WHERE m.group_id = $1 ORDER BY e.name_key`, gid)
}
