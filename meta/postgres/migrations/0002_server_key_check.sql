-- Migration 2: the server key check (iam.Service.Init). One row: a
-- constant sealed with the server key by the first node to start, opened
-- by every node at start, so that a node given another --server-key
-- refuses to start instead of failing on every stored secret.

CREATE TABLE server_key_check (
    singleton boolean NOT NULL PRIMARY KEY DEFAULT true CHECK (singleton),
    sealed    bytea   NOT NULL
);
