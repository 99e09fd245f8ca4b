package postgres

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/postern/postern/iam"
)

// Inline policies of users, groups and roles; managed policies, their
// versions and attachments; the documents in force for a principal.

func noPolicy(arn string) error {
	return iam.Errorf(iam.CodeNoSuchEntity, "Policy %s does not exist or is not attachable.", arn)
}

// findPolicy resolves a managed policy's id by ARN; lock is "" or a
// locking clause (FOR UPDATE, FOR SHARE) for use in a transaction.
func findPolicy(ctx context.Context, q querier, arn, lock string) (string, error) {
	if !storable(arn) {
		return "", noPolicy(arn)
	}
	return getOne(ctx, q, scanString, func() error { return noPolicy(arn) }, "find policy",
		`SELECT id FROM iam_policies WHERE arn = $1`+lock, arn)
}

// --- inline policies --------------------------------------------------------

func noInline(t iam.EntityType, name string) error {
	return iam.Errorf(iam.CodeNoSuchEntity, "The %s policy with name %s cannot be found.", t, name)
}

// PutInlinePolicy implements iam.Store.
func (s *Store) PutInlinePolicy(ctx context.Context, account string, t iam.EntityType, entity, name, doc string, size, limit int) error {
	if !storable(name, doc) {
		return errUnstorable()
	}
	return s.tx(ctx, func(tx pgx.Tx) error {
		id, err := lockEntity(ctx, tx, account, t, entity)
		if err != nil {
			return err
		}
		others, err := count(ctx, tx, `SELECT COALESCE(SUM(size), 0) FROM iam_inline_policies WHERE owner_id = $1 AND name <> $2`, id, name)
		if err != nil {
			return err
		}
		if limit > 0 && others+size > limit {
			return iam.Errorf(iam.CodeLimitExceeded, "Maximum policy size of %d bytes exceeded for %s %s", limit, t, entity)
		}
		if _, err = tx.Exec(ctx, `INSERT INTO iam_inline_policies (owner_id, name, doc, size) VALUES ($1, $2, $3, $4)
			ON CONFLICT (owner_id, name) DO UPDATE SET doc = excluded.doc, size = excluded.size`, id, name, doc, size); err != nil {
			return err
		}
		return notify(ctx, tx, Event{Kind: EventPolicies, ID: id})
	})
}

// GetInlinePolicy implements iam.Store.
func (s *Store) GetInlinePolicy(ctx context.Context, account string, t iam.EntityType, entity, name string) (string, error) {
	id, err := entityID(ctx, s.pool, account, t, entity)
	if err != nil {
		return "", err
	}
	if !storable(name) {
		return "", noInline(t, name)
	}
	return getOne(ctx, s.pool, scanString, func() error { return noInline(t, name) }, "get inline policy",
		`SELECT doc FROM iam_inline_policies WHERE owner_id = $1 AND name = $2`, id, name)
}

// ListInlinePolicies implements iam.Store.
func (s *Store) ListInlinePolicies(ctx context.Context, account string, t iam.EntityType, entity string) ([]string, error) {
	id, err := entityID(ctx, s.pool, account, t, entity)
	if err != nil {
		return nil, err
	}
	return list(ctx, s.pool, scanString, nil, "list inline policies", `SELECT name FROM iam_inline_policies WHERE owner_id = $1 ORDER BY name`, id)
}

// DeleteInlinePolicy implements iam.Store.
func (s *Store) DeleteInlinePolicy(ctx context.Context, account string, t iam.EntityType, entity, name string) error {
	if !storable(name) {
		return noInline(t, name)
	}
	return s.tx(ctx, func(tx pgx.Tx) error {
		id, err := lockEntity(ctx, tx, account, t, entity)
		if err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `DELETE FROM iam_inline_policies WHERE owner_id = $1 AND name = $2`, id, name)
		if err := affected(tag, err, func() error { return noInline(t, name) }); err != nil {
			return err
		}
		return notify(ctx, tx, Event{Kind: EventPolicies, ID: id})
	})
}

// --- managed policies -------------------------------------------------------

// CreatePolicy implements iam.Store. A new policy is attached to nothing:
// it is not announced.
func (s *Store) CreatePolicy(ctx context.Context, p iam.ManagedPolicy, doc string) error {
	if !storable(p.ID, p.AccountID, p.Name, p.Path, p.Description, doc) {
		return errUnstorable()
	}
	return s.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO iam_policies (id, account, arn, name, name_key, path, description, default_version, next_version, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, 'v1', 2, $8, $9) ON CONFLICT DO NOTHING`,
			p.ID, p.AccountID, p.ARN(), p.Name, nameKey(p.Name), p.Path, p.Description, p.CreatedAt, p.UpdatedAt)
		if err := affected(tag, err, func() error {
			return iam.Errorf(iam.CodeEntityAlreadyExists, "A policy called %s already exists. Duplicate names are not allowed.", p.Name)
		}); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO iam_policy_versions (policy_id, version, doc, created_at) VALUES ($1, 'v1', $2, $3)`, p.ID, doc, p.CreatedAt)
		return err
	})
}

// ImportPolicy implements iam.Store.
func (s *Store) ImportPolicy(ctx context.Context, p iam.ManagedPolicy, versions []iam.PolicyVersion) error {
	if !storable(p.ID, p.AccountID, p.Name, p.Path, p.Description, p.DefaultVersion) {
		return errUnstorable()
	}
	next, hasDefault := 0, false
	for _, v := range versions {
		n, err := strconv.Atoi(strings.TrimPrefix(v.VersionID, "v"))
		if err != nil || n < 1 || "v"+strconv.Itoa(n) != v.VersionID {
			return fmt.Errorf("meta/postgres: import policy %s: bad version id %q", p.ARN(), v.VersionID)
		}
		if !storable(v.Document) {
			return errUnstorable()
		}
		next = max(next, n+1)
		hasDefault = hasDefault || v.VersionID == p.DefaultVersion
	}
	if len(versions) == 0 || len(versions) > iam.MaxPolicyVersions || !hasDefault {
		return fmt.Errorf("meta/postgres: import policy %s: want 1 to %d versions including the default %q", p.ARN(), iam.MaxPolicyVersions, p.DefaultVersion)
	}
	return s.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO iam_policies (id, account, arn, name, name_key, path, description, default_version, next_version, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT DO NOTHING`,
			p.ID, p.AccountID, p.ARN(), p.Name, nameKey(p.Name), p.Path, p.Description, p.DefaultVersion, next, p.CreatedAt, p.UpdatedAt)
		if err := affected(tag, err, func() error {
			return iam.Errorf(iam.CodeEntityAlreadyExists, "A policy called %s already exists. Duplicate names are not allowed.", p.Name)
		}); err != nil {
			return err
		}
		for _, v := range versions {
			if _, err := tx.Exec(ctx, `INSERT INTO iam_policy_versions (policy_id, version, doc, created_at) VALUES ($1, $2, $3, $4)`,
				p.ID, v.VersionID, v.Document, v.CreatedAt); err != nil {
				return err
			}
		}
		return nil
	})
}

const policyCols = `p.id, p.account, p.name, p.path, p.description, p.default_version, p.created_at, p.updated_at,
	(SELECT COUNT(*) FROM iam_attachments a WHERE a.policy_id = p.id)`

func scanPolicy(r pgx.Row) (iam.ManagedPolicy, error) {
	var p iam.ManagedPolicy
	err := r.Scan(&p.ID, &p.AccountID, &p.Name, &p.Path, &p.Description, &p.DefaultVersion, &p.CreatedAt, &p.UpdatedAt, &p.AttachmentCount)
	p.CreatedAt, p.UpdatedAt = p.CreatedAt.UTC(), p.UpdatedAt.UTC()
	return p, err
}

// GetPolicy implements iam.Store.
func (s *Store) GetPolicy(ctx context.Context, arn string) (iam.ManagedPolicy, error) {
	if !storable(arn) {
		return iam.ManagedPolicy{}, noPolicy(arn)
	}
	return getOne(ctx, s.pool, scanPolicy, func() error { return noPolicy(arn) }, "get policy",
		`SELECT `+policyCols+` FROM iam_policies p WHERE arn = $1`, arn)
}

// ListPolicies implements iam.Store.
func (s *Store) ListPolicies(ctx context.Context, account, pathPrefix string, onlyAttached bool) ([]iam.ManagedPolicy, error) {
	if !storable(account) {
		return nil, nil
	}
	return list(ctx, s.pool, scanPolicy, func(p iam.ManagedPolicy) bool {
		return strings.HasPrefix(p.Path, pathPrefix) && (!onlyAttached || p.AttachmentCount > 0)
	}, "list policies", `SELECT `+policyCols+` FROM iam_policies p WHERE account = $1 ORDER BY name_key`, account)
}

// DeletePolicy implements iam.Store.
func (s *Store) DeletePolicy(ctx context.Context, arn string) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		id, err := findPolicy(ctx, tx, arn, " FOR UPDATE")
		if err != nil {
			return err
		}
		if n, err := count(ctx, tx, `SELECT COUNT(*) FROM iam_attachments WHERE policy_id = $1`, id); err != nil {
			return err
		} else if n > 0 {
			return iam.Errorf(iam.CodeDeleteConflict, "Cannot delete a policy attached to entities.")
		}
		if n, err := count(ctx, tx, `SELECT COUNT(*) FROM iam_policy_versions WHERE policy_id = $1`, id); err != nil {
			return err
		} else if n > 1 {
			return iam.Errorf(iam.CodeDeleteConflict, "This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy.")
		}
		if _, err := tx.Exec(ctx, `DELETE FROM iam_policy_versions WHERE policy_id = $1`, id); err != nil {
			return err
		}
		if _, err = tx.Exec(ctx, `DELETE FROM iam_policies WHERE id = $1`, id); err != nil {
			return err
		}
		return notify(ctx, tx, Event{Kind: EventPolicy, ID: id})
	})
}

// CreatePolicyVersion implements iam.Store. A new default version is
// announced.
func (s *Store) CreatePolicyVersion(ctx context.Context, arn, doc string, setDefault bool, now time.Time) (iam.PolicyVersion, error) {
	if !storable(arn) {
		return iam.PolicyVersion{}, noPolicy(arn)
	}
	if !storable(doc) {
		return iam.PolicyVersion{}, errUnstorable()
	}
	var v iam.PolicyVersion
	err := s.tx(ctx, func(tx pgx.Tx) error {
		var id string
		var next int
		err := tx.QueryRow(ctx, `SELECT id, next_version FROM iam_policies WHERE arn = $1 FOR UPDATE`, arn).Scan(&id, &next)
		if errors.Is(err, pgx.ErrNoRows) {
			return noPolicy(arn)
		}
		if err != nil {
			return err
		}
		if n, err := count(ctx, tx, `SELECT COUNT(*) FROM iam_policy_versions WHERE policy_id = $1`, id); err != nil {
			return err
		} else if n >= iam.MaxPolicyVersions {
			return iam.Errorf(iam.CodeLimitExceeded, "A managed policy can have up to %d versions. Before you create a new version, you must delete an existing version.", iam.MaxPolicyVersions)
		}
		v = iam.PolicyVersion{VersionID: "v" + strconv.Itoa(next), Document: doc, IsDefault: setDefault, CreatedAt: now}
		if _, err := tx.Exec(ctx, `INSERT INTO iam_policy_versions (policy_id, version, doc, created_at) VALUES ($1, $2, $3, $4)`, id, v.VersionID, doc, now); err != nil {
			return err
		}
		if !setDefault {
			_, err = tx.Exec(ctx, `UPDATE iam_policies SET next_version = next_version + 1, updated_at = $2 WHERE id = $1`, id, now)
			return err
		}
		if _, err = tx.Exec(ctx, `UPDATE iam_policies SET next_version = next_version + 1, updated_at = $2, default_version = $3 WHERE id = $1`, id, now, v.VersionID); err != nil {
			return err
		}
		return notify(ctx, tx, Event{Kind: EventPolicy, ID: id})
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
	if !storable(arn) {
		return v, noPolicy(arn)
	}
	if !storable(version) {
		return v, noVersion(arn, version)
	}
	var def string
	err := s.pool.QueryRow(ctx, `SELECT v.version, v.doc, v.created_at, p.default_version FROM iam_policy_versions v
		JOIN iam_policies p ON p.id = v.policy_id WHERE p.arn = $1 AND v.version = $2`, arn, version).Scan(&v.VersionID, &v.Document, &v.CreatedAt, &def)
	if errors.Is(err, pgx.ErrNoRows) {
		if _, err := s.GetPolicy(ctx, arn); err != nil {
			return v, err
		}
		return v, noVersion(arn, version)
	}
	if err != nil {
		return v, fmt.Errorf("meta/postgres: get policy version: %w", err)
	}
	v.CreatedAt, v.IsDefault = v.CreatedAt.UTC(), def == v.VersionID
	return v, nil
}

// ListPolicyVersions implements iam.Store.
func (s *Store) ListPolicyVersions(ctx context.Context, arn string) ([]iam.PolicyVersion, error) {
	p, err := s.GetPolicy(ctx, arn)
	if err != nil {
		return nil, err
	}
	out, err := list(ctx, s.pool, func(r pgx.Row) (iam.PolicyVersion, error) {
		var v iam.PolicyVersion
		err := r.Scan(&v.VersionID, &v.Document, &v.CreatedAt)
		v.CreatedAt, v.IsDefault = v.CreatedAt.UTC(), v.VersionID == p.DefaultVersion
		return v, err
	}, nil, "list policy versions", `SELECT version, doc, created_at FROM iam_policy_versions WHERE policy_id = $1`, p.ID)
	// Newest first, as IAM lists them.
	sort.Slice(out, func(i, j int) bool { return versionNum(out[i].VersionID) > versionNum(out[j].VersionID) })
	return out, err
}

func versionNum(v string) int {
	n, _ := strconv.Atoi(strings.TrimPrefix(v, "v"))
	return n
}

// DeletePolicyVersion implements iam.Store. Only a version that is not the
// default can go, which changes no access: it is not announced.
func (s *Store) DeletePolicyVersion(ctx context.Context, arn, version string) error {
	if !storable(arn) {
		return noPolicy(arn)
	}
	if !storable(version) {
		return noVersion(arn, version)
	}
	return s.tx(ctx, func(tx pgx.Tx) error {
		var id, def string
		err := tx.QueryRow(ctx, `SELECT id, default_version FROM iam_policies WHERE arn = $1 FOR UPDATE`, arn).Scan(&id, &def)
		if errors.Is(err, pgx.ErrNoRows) {
			return noPolicy(arn)
		}
		if err != nil {
			return err
		}
		if def == version {
			return iam.Errorf(iam.CodeDeleteConflict, "Cannot delete the default version of a policy.")
		}
		tag, err := tx.Exec(ctx, `DELETE FROM iam_policy_versions WHERE policy_id = $1 AND version = $2`, id, version)
		return affected(tag, err, func() error { return noVersion(arn, version) })
	})
}

// SetDefaultPolicyVersion implements iam.Store.
func (s *Store) SetDefaultPolicyVersion(ctx context.Context, arn, version string, now time.Time) error {
	if !storable(version) {
		return noVersion(arn, version)
	}
	return s.tx(ctx, func(tx pgx.Tx) error {
		id, err := findPolicy(ctx, tx, arn, " FOR UPDATE")
		if err != nil {
			return err
		}
		if n, err := count(ctx, tx, `SELECT COUNT(*) FROM iam_policy_versions WHERE policy_id = $1 AND version = $2`, id, version); err != nil {
			return err
		} else if n == 0 {
			return noVersion(arn, version)
		}
		if _, err = tx.Exec(ctx, `UPDATE iam_policies SET default_version = $1, updated_at = $2 WHERE id = $3`, version, now, id); err != nil {
			return err
		}
		return notify(ctx, tx, Event{Kind: EventPolicy, ID: id})
	})
}

// AttachPolicy implements iam.Store.
func (s *Store) AttachPolicy(ctx context.Context, account string, t iam.EntityType, entity, arn string) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		id, err := lockEntity(ctx, tx, account, t, entity)
		if err != nil {
			return err
		}
		// FOR SHARE: DeletePolicy (FOR UPDATE) waits for the attachment and
		// then sees it.
		pid, err := findPolicy(ctx, tx, arn, " FOR SHARE")
		if err != nil {
			return err
		}
		if n, err := count(ctx, tx, `SELECT COUNT(*) FROM iam_attachments WHERE owner_id = $1 AND policy_id <> $2`, id, pid); err != nil {
			return err
		} else if n >= iam.MaxAttachedPolicies {
			return iam.Errorf(iam.CodeLimitExceeded, "Cannot exceed quota for PoliciesPer%s: %d", title(t), iam.MaxAttachedPolicies)
		}
		if _, err = tx.Exec(ctx, `INSERT INTO iam_attachments (owner_id, policy_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, id, pid); err != nil {
			return err
		}
		return notify(ctx, tx, Event{Kind: EventPolicies, ID: id})
	})
}

// DetachPolicy implements iam.Store.
func (s *Store) DetachPolicy(ctx context.Context, account string, t iam.EntityType, entity, arn string) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		id, err := lockEntity(ctx, tx, account, t, entity)
		if err != nil {
			return err
		}
		pid, err := findPolicy(ctx, tx, arn, "")
		if err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `DELETE FROM iam_attachments WHERE owner_id = $1 AND policy_id = $2`, id, pid)
		if err := affected(tag, err, func() error {
			return iam.Errorf(iam.CodeNoSuchEntity, "Policy %s was not found.", arn)
		}); err != nil {
			return err
		}
		return notify(ctx, tx, Event{Kind: EventPolicies, ID: id})
	})
}

// ListAttachedPolicies implements iam.Store.
func (s *Store) ListAttachedPolicies(ctx context.Context, account string, t iam.EntityType, entity string) ([]iam.AttachedPolicy, error) {
	id, err := entityID(ctx, s.pool, account, t, entity)
	if err != nil {
		return nil, err
	}
	return list(ctx, s.pool, func(r pgx.Row) (iam.AttachedPolicy, error) {
		var a iam.AttachedPolicy
		err := r.Scan(&a.Name, &a.ARN)
		return a, err
	}, nil, "attached policies", `SELECT p.name, p.arn FROM iam_policies p JOIN iam_attachments a ON a.policy_id = p.id
		WHERE a.owner_id = $1 ORDER BY p.name_key`, id)
}

// ListEntitiesForPolicy implements iam.Store: one statement for the three
// kinds of entity.
func (s *Store) ListEntitiesForPolicy(ctx context.Context, arn string) (iam.PolicyEntities, error) {
	var out iam.PolicyEntities
	pid, err := findPolicy(ctx, s.pool, arn, "")
	if err != nil {
		return out, err
	}
	type ref struct {
		kind string
		iam.EntityRef
	}
	refs, err := list(ctx, s.pool, func(r pgx.Row) (ref, error) {
		var e ref
		var key string
		err := r.Scan(&e.kind, &e.Name, &e.ID, &key)
		return e, err
	}, nil, "entities for policy", `
		SELECT 'user', e.name, e.id, e.name_key FROM iam_users e JOIN iam_attachments a ON a.owner_id = e.id WHERE a.policy_id = $1
		UNION ALL
		SELECT 'group', e.name, e.id, e.name_key FROM iam_groups e JOIN iam_attachments a ON a.owner_id = e.id WHERE a.policy_id = $1
		UNION ALL
		SELECT 'role', e.name, e.id, e.name_key FROM iam_roles e JOIN iam_attachments a ON a.owner_id = e.id WHERE a.policy_id = $1
		ORDER BY 4`, pid)
	if err != nil {
		return out, err
	}
	for _, e := range refs {
		switch e.kind {
		case "user":
			out.Users = append(out.Users, e.EntityRef)
		case "group":
			out.Groups = append(out.Groups, e.EntityRef)
		default:
			out.Roles = append(out.Roles, e.EntityRef)
		}
	}
	return out, nil
}

// sqlPolicyDocuments gathers, in one statement (one round trip), every
// identity-based policy document of a user or role: its inline policies,
// the default versions of its attached managed policies, and (for a user)
// the same for its groups. Every branch is an indexed lookup.
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
	if !storable(id) {
		return nil, nil
	}
	var gen uint64
	var keepIt bool
	if s.cache != nil {
		docs, hit, g, ok := s.cache.policyDocs(id)
		if hit {
			return docs, nil
		}
		gen, keepIt = g, ok
	}
	docs, err := list(ctx, s.pool, scanString, nil, "policy documents", sqlPolicyDocuments, id)
	if err == nil && keepIt {
		s.cache.keepPolicyDocs(id, docs, gen)
	}
	return docs, err
}
