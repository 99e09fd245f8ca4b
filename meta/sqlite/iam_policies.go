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

// Inline policies of users, groups and roles; managed policies, their
// versions and attachments; the documents in force for a principal.

func noPolicy(arn string) error {
	return iam.Errorf(iam.CodeNoSuchEntity, "Policy %s does not exist or is not attachable.", arn)
}

func policyID(ctx context.Context, q queryer, arn string) (string, error) {
	return getOne(ctx, q, scanString, func() error { return noPolicy(arn) }, "find policy "+arn,
		`SELECT id FROM iam_policies WHERE arn = $1`, arn)
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
	return getOne(ctx, s.rdb, scanString, func() error { return noInline(t, name) }, "get inline policy",
		`SELECT doc FROM iam_inline_policies WHERE owner_id = $1 AND name = $2`, id, name)
}

// ListInlinePolicies implements iam.Store.
func (s *Store) ListInlinePolicies(ctx context.Context, account string, t iam.EntityType, entity string) ([]string, error) {
	id, err := entityID(ctx, s.rdb, account, t, entity)
	if err != nil {
		return nil, err
	}
	return list(ctx, s.rdb, scanString, nil, "list inline policies", `SELECT name FROM iam_inline_policies WHERE owner_id = $1 ORDER BY name`, id)
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

// ImportPolicy implements iam.Store.
func (s *Store) ImportPolicy(ctx context.Context, p iam.ManagedPolicy, versions []iam.PolicyVersion) error {
	next, hasDefault := 0, false
	for _, v := range versions {
		n, err := strconv.Atoi(strings.TrimPrefix(v.VersionID, "v"))
		if err != nil || n < 1 || "v"+strconv.Itoa(n) != v.VersionID {
			return fmt.Errorf("meta/sqlite: import policy %s: bad version id %q", p.ARN(), v.VersionID)
		}
		next = max(next, n+1)
		hasDefault = hasDefault || v.VersionID == p.DefaultVersion
	}
	if len(versions) == 0 || len(versions) > iam.MaxPolicyVersions || !hasDefault {
		return fmt.Errorf("meta/sqlite: import policy %s: want 1 to %d versions including the default %q", p.ARN(), iam.MaxPolicyVersions, p.DefaultVersion)
	}
	return s.write(ctx, func(tx *wtx) error {
		bg := context.Background()
		res, err := tx.ExecContext(bg, `INSERT INTO iam_policies (id, account, arn, name, name_key, path, description, default_version, next_version, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT DO NOTHING`,
			p.ID, p.AccountID, p.ARN(), p.Name, nameKey(p.Name), p.Path, p.Description, p.DefaultVersion, next, encTime(p.CreatedAt), encTime(p.UpdatedAt))
		if err := inserted(res, err, func() error {
			return iam.Errorf(iam.CodeEntityAlreadyExists, "A policy called %s already exists. Duplicate names are not allowed.", p.Name)
		}); err != nil {
			return err
		}
		for _, v := range versions {
			if _, err := tx.ExecContext(bg, `INSERT INTO iam_policy_versions (policy_id, version, doc, created_at) VALUES ($1, $2, $3, $4)`,
				p.ID, v.VersionID, v.Document, encTime(v.CreatedAt)); err != nil {
				return err
			}
		}
		return nil
	})
}

const policyCols = `p.id, p.account, p.name, p.path, p.description, p.default_version, p.created_at, p.updated_at,
	(SELECT COUNT(*) FROM iam_attachments a WHERE a.policy_id = p.id)`

func scanPolicy(sc scanner) (iam.ManagedPolicy, error) {
	var p iam.ManagedPolicy
	var created, updated int64
	err := sc.Scan(&p.ID, &p.AccountID, &p.Name, &p.Path, &p.Description, &p.DefaultVersion, &created, &updated, &p.AttachmentCount)
	p.CreatedAt, p.UpdatedAt = decTime(created), decTime(updated)
	return p, err
}

// GetPolicy implements iam.Store.
func (s *Store) GetPolicy(ctx context.Context, arn string) (iam.ManagedPolicy, error) {
	return getOne(ctx, s.rdb, scanPolicy, func() error { return noPolicy(arn) }, "get policy",
		`SELECT `+policyCols+` FROM iam_policies p WHERE arn = $1`, arn)
}

// ListPolicies implements iam.Store.
func (s *Store) ListPolicies(ctx context.Context, account, pathPrefix string, onlyAttached bool) ([]iam.ManagedPolicy, error) {
	return list(ctx, s.rdb, scanPolicy, func(p iam.ManagedPolicy) bool {
		return strings.HasPrefix(p.Path, pathPrefix) && (!onlyAttached || p.AttachmentCount > 0)
	}, "list policies", `SELECT `+policyCols+` FROM iam_policies p WHERE account = $1 ORDER BY name_key`, account)
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
	out, err := list(ctx, s.rdb, func(sc scanner) (iam.PolicyVersion, error) {
		var v iam.PolicyVersion
		var created int64
		err := sc.Scan(&v.VersionID, &v.Document, &created)
		v.CreatedAt, v.IsDefault = decTime(created), v.VersionID == p.DefaultVersion
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
			return iam.Errorf(iam.CodeLimitExceeded, "Cannot exceed quota for PoliciesPer%s: %d", title(t), iam.MaxAttachedPolicies)
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
	return list(ctx, s.rdb, func(sc scanner) (iam.AttachedPolicy, error) {
		var a iam.AttachedPolicy
		err := sc.Scan(&a.Name, &a.ARN)
		return a, err
	}, nil, "attached policies", `SELECT p.name, p.arn FROM iam_policies p JOIN iam_attachments a ON a.policy_id = p.id
		WHERE a.owner_id = $1 ORDER BY p.name_key`, id)
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
	}{{users.table, &out.Users}, {groups.table, &out.Groups}, {roles.table, &out.Roles}} {
		refs, err := list(ctx, s.rdb, func(sc scanner) (iam.EntityRef, error) {
			var r iam.EntityRef
			err := sc.Scan(&r.Name, &r.ID)
			return r, err
		}, nil, "entities for policy", `SELECT e.name, e.id FROM `+e.table+` e JOIN iam_attachments a ON a.owner_id = e.id
			WHERE a.policy_id = $1 ORDER BY e.name_key`, pid)
		*e.dst = append(*e.dst, refs...)
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
	return list(ctx, s.rdb, scanString, nil, "policy documents", sqlPolicyDocuments, id)
}
