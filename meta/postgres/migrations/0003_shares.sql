-- Migration 3: tracked share links (package share) and their audit rows,
-- as of SQLite schema version 5. The conventions of 0001_schema.sql hold:
-- ids and names text COLLATE "C", object keys bytea (a POST share's key is
-- a prefix, filtered as key >= prefix AND key < postern_successor(prefix)),
-- times timestamptz with NULL for Go's zero time.
--
-- Every node reads and writes these rows directly (no node-side cache):
-- a claim is one conditional UPDATE of the share's row, which the row lock
-- makes exact across nodes, and a revocation holds on the next request.

CREATE TABLE shares (
    id           text COLLATE "C" NOT NULL PRIMARY KEY,
    access_key   text COLLATE "C" NOT NULL UNIQUE,
    account      text COLLATE "C" NOT NULL,
    creator_kind text             NOT NULL,
    creator_arn  text             NOT NULL,
    creator_id   text COLLATE "C" NOT NULL,
    method       text             NOT NULL,
    bucket       text COLLATE "C" NOT NULL,
    key          bytea            NOT NULL,
    endpoint     text             NOT NULL,
    created_at   timestamptz      NOT NULL,
    expires      timestamptz      NOT NULL,
    max_uses     bigint           NOT NULL CHECK (max_uses >= 0),
    uses         bigint           NOT NULL CHECK (uses >= 0),
    max_size     bigint           NOT NULL,
    content_type text             NOT NULL,
    overwrite    boolean          NOT NULL,
    note         text             NOT NULL,
    webhook      text             NOT NULL,
    revoked_at   timestamptz,
    revoked_by   text             NOT NULL DEFAULT '',
    last_used    timestamptz
);
CREATE INDEX shares_listing ON shares (account, created_at, id);

-- seq numbers the rows in the order they were added (ties of time).
CREATE TABLE share_audit (
    seq        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    share_id   text COLLATE "C" NOT NULL REFERENCES shares (id),
    time       timestamptz      NOT NULL,
    source     text             NOT NULL,
    user_agent text             NOT NULL,
    method     text             NOT NULL,
    status     integer          NOT NULL,
    bytes      bigint           NOT NULL,
    range_hdr  text             NOT NULL,
    request_id text COLLATE "C" NOT NULL,
    counted    boolean          NOT NULL
);
CREATE INDEX share_audit_share ON share_audit (share_id, time DESC, seq DESC);
