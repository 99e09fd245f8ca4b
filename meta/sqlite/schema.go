package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
)

// migrations are applied in order; migrations[i] brings the schema from
// version i to version i+1. Never edit a released migration: append a new one.
//
// The SQL sticks to forms SQLite and PostgreSQL share ($n placeholders,
// INSERT … ON CONFLICT … DO UPDATE, RETURNING, LIMIT). The only type that must
// change for PostgreSQL is BLOB (BYTEA there). Object and upload keys are
// BLOBs so that comparisons and ORDER BY are byte-wise (UTF-8 binary order,
// the same as Go string comparison) on both engines, whatever the collation.
// Times are Unix nanoseconds in BIGINT columns (0 = zero time).
var migrations = [][]string{
	// 1: buckets, objects, multipart uploads, bucket configs, blob references.
	{
		`CREATE TABLE buckets (
			name       TEXT   NOT NULL PRIMARY KEY,
			owner      TEXT   NOT NULL,
			region     TEXT   NOT NULL,
			created_at BIGINT NOT NULL
		)`,
		`CREATE INDEX buckets_owner ON buckets (owner, name)`,
		`CREATE TABLE objects (
			bucket              TEXT    NOT NULL REFERENCES buckets (name),
			obj_key             BLOB    NOT NULL,
			size                BIGINT  NOT NULL,
			etag                TEXT    NOT NULL,
			last_modified       BIGINT  NOT NULL,
			content_type        TEXT    NOT NULL,
			content_encoding    TEXT    NOT NULL,
			content_disposition TEXT    NOT NULL,
			content_language    TEXT    NOT NULL,
			cache_control       TEXT    NOT NULL,
			expires             TEXT    NOT NULL,
			user_meta           TEXT    NOT NULL,
			checksums           TEXT    NOT NULL,
			checksum_type       TEXT    NOT NULL,
			segments            TEXT    NOT NULL,
			parts_count         INTEGER NOT NULL,
			PRIMARY KEY (bucket, obj_key)
		)`,
		`CREATE TABLE uploads (
			upload_id          TEXT   NOT NULL PRIMARY KEY,
			bucket             TEXT   NOT NULL REFERENCES buckets (name),
			obj_key            BLOB   NOT NULL,
			initiated          BIGINT NOT NULL,
			template           TEXT   NOT NULL,
			checksum_algorithm TEXT   NOT NULL,
			checksum_type      TEXT   NOT NULL,
			owner              TEXT   NOT NULL
		)`,
		`CREATE INDEX uploads_listing ON uploads (bucket, obj_key, initiated, upload_id)`,
		`CREATE TABLE parts (
			upload_id     TEXT    NOT NULL REFERENCES uploads (upload_id),
			part_number   INTEGER NOT NULL,
			blob_id       TEXT    NOT NULL,
			size          BIGINT  NOT NULL,
			etag          TEXT    NOT NULL,
			checksums     TEXT    NOT NULL,
			last_modified BIGINT  NOT NULL,
			PRIMARY KEY (upload_id, part_number)
		)`,
		`CREATE TABLE bucket_configs (
			bucket TEXT NOT NULL REFERENCES buckets (name),
			kind   TEXT NOT NULL,
			doc    BLOB NOT NULL,
			PRIMARY KEY (bucket, kind)
		)`,
		// blob_refs counts the references to each blob from objects' segments
		// and from parts. A blob is unreferenced (and reported as freed) when
		// its row goes away. Maintained in the same transactions as the rows.
		`CREATE TABLE blob_refs (
			blob_id TEXT    NOT NULL PRIMARY KEY,
			refs    INTEGER NOT NULL CHECK (refs > 0)
		)`,
	},
	// 2: small objects' bytes kept in the row (NULL when the bytes are in blobs).
	{
		`ALTER TABLE objects ADD COLUMN inline_data BLOB`,
	},
	// 3: identities (package iam): accounts, users, access keys, groups,
	// roles, inline and managed policies. Users, groups, roles and managed
	// policies have a globally unique id (AIDA…, AGPA…, AROA…, ANPA…) that
	// memberships, inline policies and attachments refer to, so renaming
	// an entity touches one row. name_key is the lower-cased name: IAM names
	// are unique per account regardless of case. Secrets are ciphertexts.
	{
		`CREATE TABLE iam_accounts (
			id              TEXT   NOT NULL PRIMARY KEY,
			created_at      BIGINT NOT NULL,
			root_access_key TEXT,
			root_secret     BLOB
		)`,
		`CREATE UNIQUE INDEX iam_accounts_root_key ON iam_accounts (root_access_key)`,
		`CREATE TABLE iam_users (
			id         TEXT   NOT NULL PRIMARY KEY,
			account    TEXT   NOT NULL REFERENCES iam_accounts (id),
			name       TEXT   NOT NULL,
			name_key   TEXT   NOT NULL,
			path       TEXT   NOT NULL,
			created_at BIGINT NOT NULL,
			UNIQUE (account, name_key)
		)`,
		`CREATE TABLE iam_access_keys (
			id           TEXT   NOT NULL PRIMARY KEY,
			user_id      TEXT   NOT NULL REFERENCES iam_users (id),
			secret       BLOB   NOT NULL,
			status       TEXT   NOT NULL,
			created_at   BIGINT NOT NULL,
			last_used    BIGINT NOT NULL DEFAULT 0,
			last_service TEXT   NOT NULL DEFAULT '',
			last_region  TEXT   NOT NULL DEFAULT ''
		)`,
		`CREATE INDEX iam_access_keys_user ON iam_access_keys (user_id)`,
		`CREATE TABLE iam_groups (
			id         TEXT   NOT NULL PRIMARY KEY,
			account    TEXT   NOT NULL REFERENCES iam_accounts (id),
			name       TEXT   NOT NULL,
			name_key   TEXT   NOT NULL,
			path       TEXT   NOT NULL,
			created_at BIGINT NOT NULL,
			UNIQUE (account, name_key)
		)`,
		`CREATE TABLE iam_group_members (
			group_id TEXT NOT NULL REFERENCES iam_groups (id),
			user_id  TEXT NOT NULL REFERENCES iam_users (id),
			PRIMARY KEY (group_id, user_id)
		)`,
		`CREATE INDEX iam_group_members_user ON iam_group_members (user_id, group_id)`,
		`CREATE TABLE iam_roles (
			id           TEXT    NOT NULL PRIMARY KEY,
			account      TEXT    NOT NULL REFERENCES iam_accounts (id),
			name         TEXT    NOT NULL,
			name_key     TEXT    NOT NULL,
			path         TEXT    NOT NULL,
			description  TEXT    NOT NULL,
			trust_policy TEXT    NOT NULL,
			max_session  INTEGER NOT NULL,
			created_at   BIGINT  NOT NULL,
			UNIQUE (account, name_key)
		)`,
		// owner_id is a user, group or role id.
		`CREATE TABLE iam_inline_policies (
			owner_id TEXT    NOT NULL,
			name     TEXT    NOT NULL,
			doc      TEXT    NOT NULL,
			size     INTEGER NOT NULL,
			PRIMARY KEY (owner_id, name)
		)`,
		`CREATE TABLE iam_policies (
			id              TEXT    NOT NULL PRIMARY KEY,
			account         TEXT    NOT NULL REFERENCES iam_accounts (id),
			arn             TEXT    NOT NULL UNIQUE,
			name            TEXT    NOT NULL,
			name_key        TEXT    NOT NULL,
			path            TEXT    NOT NULL,
			description     TEXT    NOT NULL,
			default_version TEXT    NOT NULL,
			next_version    INTEGER NOT NULL,
			created_at      BIGINT  NOT NULL,
			updated_at      BIGINT  NOT NULL,
			UNIQUE (account, name_key)
		)`,
		`CREATE TABLE iam_policy_versions (
			policy_id  TEXT   NOT NULL REFERENCES iam_policies (id),
			version    TEXT   NOT NULL,
			doc        TEXT   NOT NULL,
			created_at BIGINT NOT NULL,
			PRIMARY KEY (policy_id, version)
		)`,
		`CREATE TABLE iam_attachments (
			owner_id  TEXT NOT NULL,
			policy_id TEXT NOT NULL REFERENCES iam_policies (id),
			PRIMARY KEY (owner_id, policy_id)
		)`,
		`CREATE INDEX iam_attachments_policy ON iam_attachments (policy_id, owner_id)`,
	},
	// 4: the server key check (iam.Service.Init): a constant sealed with the
	// server key at first start, opened at every start.
	{
		`CREATE TABLE server_key_check (
			singleton INTEGER NOT NULL PRIMARY KEY CHECK (singleton = 1),
			sealed    BLOB    NOT NULL
		)`,
	},
	// 5: tracked share links (package share) and their audit rows. Keys
	// are BLOBs (byte-wise prefix filters). Audit rows are numbered (seq,
	// SQLite's rowid) in the order they were added, which breaks ties
	// between rows of the same time.
	{
		`CREATE TABLE shares (
			id           TEXT    NOT NULL PRIMARY KEY,
			access_key   TEXT    NOT NULL UNIQUE,
			account      TEXT    NOT NULL,
			creator_kind TEXT    NOT NULL,
			creator_arn  TEXT    NOT NULL,
			creator_id   TEXT    NOT NULL,
			method       TEXT    NOT NULL,
			bucket       TEXT    NOT NULL,
			obj_key      BLOB    NOT NULL,
			endpoint     TEXT    NOT NULL,
			created_at   BIGINT  NOT NULL,
			expires      BIGINT  NOT NULL,
			max_uses     BIGINT  NOT NULL,
			uses         BIGINT  NOT NULL CHECK (uses >= 0),
			max_size     BIGINT  NOT NULL,
			content_type TEXT    NOT NULL,
			overwrite    INTEGER NOT NULL,
			note         TEXT    NOT NULL,
			webhook      TEXT    NOT NULL,
			revoked_at   BIGINT  NOT NULL,
			revoked_by   TEXT    NOT NULL,
			last_used    BIGINT  NOT NULL
		)`,
		`CREATE INDEX shares_listing ON shares (account, created_at, id)`,
		`CREATE TABLE share_audit (
			seq        INTEGER NOT NULL PRIMARY KEY,
			share_id   TEXT    NOT NULL REFERENCES shares (id),
			time       BIGINT  NOT NULL,
			source     TEXT    NOT NULL,
			user_agent TEXT    NOT NULL,
			method     TEXT    NOT NULL,
			status     INTEGER NOT NULL,
			bytes      BIGINT  NOT NULL,
			range_hdr  TEXT    NOT NULL,
			request_id TEXT    NOT NULL,
			counted    INTEGER NOT NULL
		)`,
		`CREATE INDEX share_audit_share ON share_audit (share_id, time DESC, seq DESC)`,
	},
}

// migrate creates the schema_version table if needed and applies pending
// migrations, each in its own transaction.
func migrate(ctx context.Context, db *sql.DB, logger *slog.Logger) error {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("create schema_version: %w", err)
	}
	for {
		done, err := migrateStep(ctx, db, logger)
		if err != nil || done {
			return err
		}
	}
}

func migrateStep(ctx context.Context, db *sql.DB, logger *slog.Logger) (done bool, err error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("migrate: begin: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	var version int
	switch err = tx.QueryRowContext(ctx, `SELECT version FROM schema_version`).Scan(&version); err {
	case nil:
	case sql.ErrNoRows:
		if _, err = tx.ExecContext(ctx, `INSERT INTO schema_version (version) VALUES (0)`); err != nil {
			return false, fmt.Errorf("migrate: init version: %w", err)
		}
	default:
		return false, fmt.Errorf("migrate: read version: %w", err)
	}
	if version > len(migrations) {
		return false, fmt.Errorf("migrate: database schema version %d is newer than this program supports (%d)", version, len(migrations))
	}
	if version == len(migrations) {
		return true, tx.Commit()
	}
	for _, stmt := range migrations[version] {
		if _, err = tx.ExecContext(ctx, stmt); err != nil {
			return false, fmt.Errorf("migrate to version %d: %w", version+1, err)
		}
	}
	if _, err = tx.ExecContext(ctx, `UPDATE schema_version SET version = $1`, version+1); err != nil {
		return false, fmt.Errorf("migrate: set version: %w", err)
	}
	if err = tx.Commit(); err != nil {
		return false, fmt.Errorf("migrate: commit version %d: %w", version+1, err)
	}
	logger.Info("meta/sqlite: applied schema migration", "version", version+1)
	return false, nil
}
