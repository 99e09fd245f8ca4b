-- Migration 1: everything Postern stores, as of SQLite schema version 3
-- (meta/sqlite/schema.go): buckets and their configuration documents,
-- objects (bytes inline or as blob segments), multipart uploads and parts,
-- blob reference counts, and identities (package iam).
--
-- Conventions:
--   * Keys, names and ids are text COLLATE "C": compared and ordered by
--     bytes, which for UTF-8 is code-point order, the order S3 lists in and
--     Go's string comparison (SQLite's BINARY collation). The database's
--     default collation (often en_US) never decides an order here.
--   * Object keys (objects.key, uploads.key) are bytea, not text: S3 keys
--     may hold U+0000, which text cannot, and bytea compares and orders by
--     bytes (memcmp, then length), which for UTF-8 is code-point order, as
--     meta/sqlite's BLOB keys do. A prefix is the range
--     key >= prefix AND key < postern_successor(prefix).
--   * Times are timestamptz (microseconds); NULL is Go's zero time.
--   * Maps and lists Postern encodes as JSON (user metadata, checksums,
--     segments, upload templates) are jsonb. Policy documents stay text:
--     IAM returns them exactly as they were given, and jsonb would reorder
--     and re-space them. Bucket configuration documents are bytes (bytea).
--   * Secrets (access-key secrets, root secret) are ciphertexts (bytea),
--     sealed with the server key by package iam.
--   * Deletions are explicit (no ON DELETE CASCADE), as in the SQLite
--     store: the store must see the rows it removes to report freed blobs.

-- postern_successor(b) is the smallest byte string greater than every
-- string that starts with b, or NULL when there is none (b empty or all
-- 0xFF bytes): the exclusive upper bound of the keys with prefix b. Listings
-- use it to skip over every key under a common prefix in one index probe.
CREATE FUNCTION postern_successor(b bytea) RETURNS bytea
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN CASE WHEN length(rtrim(b, '\xff'::bytea)) = 0 THEN NULL
        ELSE substring(rtrim(b, '\xff'::bytea) FROM 1 FOR length(rtrim(b, '\xff'::bytea)) - 1)
            || set_byte('\x00'::bytea, 0, get_byte(rtrim(b, '\xff'::bytea), length(rtrim(b, '\xff'::bytea)) - 1) + 1)
        END;

CREATE TABLE buckets (
    name       text COLLATE "C" NOT NULL PRIMARY KEY,
    owner      text COLLATE "C" NOT NULL,
    region     text             NOT NULL,
    created_at timestamptz      NOT NULL
);
CREATE INDEX buckets_owner ON buckets (owner, name);

-- kind: policy, public-access-block, cors, tagging, …
CREATE TABLE bucket_configs (
    bucket text COLLATE "C" NOT NULL REFERENCES buckets (name),
    kind   text COLLATE "C" NOT NULL,
    doc    bytea            NOT NULL,
    PRIMARY KEY (bucket, kind)
);

-- One current version per key. The bytes are inline_data (small objects),
-- or segments (blob ids and sizes, in order), or nothing (empty object).
-- The primary key's index serves listings: WHERE bucket = $1 AND key > $2
-- ORDER BY key, and prefixes as key ranges.
CREATE TABLE objects (
    bucket              text COLLATE "C" NOT NULL REFERENCES buckets (name),
    key                 bytea            NOT NULL,
    size                bigint           NOT NULL CHECK (size >= 0),
    etag                text             NOT NULL,
    last_modified       timestamptz      NOT NULL,
    content_type        text             NOT NULL DEFAULT '',
    content_encoding    text             NOT NULL DEFAULT '',
    content_disposition text             NOT NULL DEFAULT '',
    content_language    text             NOT NULL DEFAULT '',
    cache_control       text             NOT NULL DEFAULT '',
    expires             text             NOT NULL DEFAULT '',
    user_meta           jsonb            NOT NULL DEFAULT '{}',
    checksums           jsonb            NOT NULL DEFAULT '{}',
    checksum_type       text             NOT NULL DEFAULT '',
    segments            jsonb            NOT NULL DEFAULT '[]',
    inline_data         bytea,
    parts_count         integer          NOT NULL DEFAULT 0 CHECK (parts_count >= 0),
    PRIMARY KEY (bucket, key),
    CHECK (inline_data IS NULL OR octet_length(inline_data) = size)
);

-- template: the object metadata given at CreateMultipartUpload.
CREATE TABLE uploads (
    upload_id          text COLLATE "C" NOT NULL PRIMARY KEY,
    bucket             text COLLATE "C" NOT NULL REFERENCES buckets (name),
    key                bytea            NOT NULL,
    initiated          timestamptz      NOT NULL,
    template           jsonb            NOT NULL,
    checksum_algorithm text             NOT NULL DEFAULT '',
    checksum_type      text             NOT NULL DEFAULT '',
    owner              text COLLATE "C" NOT NULL
);
-- ListMultipartUploads: by key, then initiation.
CREATE INDEX uploads_listing ON uploads (bucket, key, initiated, upload_id);

CREATE TABLE parts (
    upload_id     text COLLATE "C" NOT NULL REFERENCES uploads (upload_id),
    part_number   integer          NOT NULL CHECK (part_number BETWEEN 1 AND 10000),
    blob_id       text COLLATE "C" NOT NULL,
    size          bigint           NOT NULL CHECK (size >= 0),
    etag          text             NOT NULL,
    checksums     jsonb            NOT NULL DEFAULT '{}',
    last_modified timestamptz      NOT NULL,
    PRIMARY KEY (upload_id, part_number)
);

-- References to each blob from objects' segments and from parts. A blob is
-- freed when its row goes; maintained in the same transactions as the rows.
CREATE TABLE blob_refs (
    blob_id text COLLATE "C" NOT NULL PRIMARY KEY,
    refs    integer          NOT NULL CHECK (refs > 0)
);

-- Identities. Users, groups, roles and managed policies have a globally
-- unique id (AIDA…, AGPA…, AROA…, ANPA…) that memberships, inline policies
-- and attachments refer to, so a rename touches one row. name_key is the
-- lower-cased name: IAM names are unique per account whatever their case
-- (lower-cased by Postern, not by the database's locale).
CREATE TABLE iam_accounts (
    id              text COLLATE "C" NOT NULL PRIMARY KEY,
    created_at      timestamptz      NOT NULL,
    root_access_key text COLLATE "C" UNIQUE,
    root_secret     bytea
);

CREATE TABLE iam_users (
    id         text COLLATE "C" NOT NULL PRIMARY KEY,
    account    text COLLATE "C" NOT NULL REFERENCES iam_accounts (id),
    name       text COLLATE "C" NOT NULL,
    name_key   text COLLATE "C" NOT NULL,
    path       text COLLATE "C" NOT NULL,
    created_at timestamptz      NOT NULL,
    UNIQUE (account, name_key)
);

CREATE TABLE iam_access_keys (
    id           text COLLATE "C" NOT NULL PRIMARY KEY,
    user_id      text COLLATE "C" NOT NULL REFERENCES iam_users (id),
    secret       bytea            NOT NULL,
    status       text             NOT NULL CHECK (status IN ('Active', 'Inactive')),
    created_at   timestamptz      NOT NULL,
    last_used    timestamptz,
    last_service text             NOT NULL DEFAULT '',
    last_region  text             NOT NULL DEFAULT ''
);
CREATE INDEX iam_access_keys_user ON iam_access_keys (user_id);

CREATE TABLE iam_groups (
    id         text COLLATE "C" NOT NULL PRIMARY KEY,
    account    text COLLATE "C" NOT NULL REFERENCES iam_accounts (id),
    name       text COLLATE "C" NOT NULL,
    name_key   text COLLATE "C" NOT NULL,
    path       text COLLATE "C" NOT NULL,
    created_at timestamptz      NOT NULL,
    UNIQUE (account, name_key)
);

CREATE TABLE iam_group_members (
    group_id text COLLATE "C" NOT NULL REFERENCES iam_groups (id),
    user_id  text COLLATE "C" NOT NULL REFERENCES iam_users (id),
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX iam_group_members_user ON iam_group_members (user_id, group_id);

CREATE TABLE iam_roles (
    id           text COLLATE "C" NOT NULL PRIMARY KEY,
    account      text COLLATE "C" NOT NULL REFERENCES iam_accounts (id),
    name         text COLLATE "C" NOT NULL,
    name_key     text COLLATE "C" NOT NULL,
    path         text COLLATE "C" NOT NULL,
    description  text             NOT NULL DEFAULT '',
    trust_policy text             NOT NULL,
    max_session  integer          NOT NULL,
    created_at   timestamptz      NOT NULL,
    UNIQUE (account, name_key)
);

-- owner_id is a user, group or role id.
CREATE TABLE iam_inline_policies (
    owner_id text COLLATE "C" NOT NULL,
    name     text COLLATE "C" NOT NULL,
    doc      text             NOT NULL,
    size     integer          NOT NULL,
    PRIMARY KEY (owner_id, name)
);

CREATE TABLE iam_policies (
    id              text COLLATE "C" NOT NULL PRIMARY KEY,
    account         text COLLATE "C" NOT NULL REFERENCES iam_accounts (id),
    arn             text COLLATE "C" NOT NULL UNIQUE,
    name            text COLLATE "C" NOT NULL,
    name_key        text COLLATE "C" NOT NULL,
    path            text COLLATE "C" NOT NULL,
    description     text             NOT NULL DEFAULT '',
    default_version text COLLATE "C" NOT NULL,
    next_version    integer          NOT NULL,
    created_at      timestamptz      NOT NULL,
    updated_at      timestamptz      NOT NULL,
    UNIQUE (account, name_key)
);

CREATE TABLE iam_policy_versions (
    policy_id  text COLLATE "C" NOT NULL REFERENCES iam_policies (id),
    version    text COLLATE "C" NOT NULL,
    doc        text             NOT NULL,
    created_at timestamptz      NOT NULL,
    PRIMARY KEY (policy_id, version)
);

-- owner_id is a user, group or role id.
CREATE TABLE iam_attachments (
    owner_id  text COLLATE "C" NOT NULL,
    policy_id text COLLATE "C" NOT NULL REFERENCES iam_policies (id),
    PRIMARY KEY (owner_id, policy_id)
);
CREATE INDEX iam_attachments_policy ON iam_attachments (policy_id, owner_id);
