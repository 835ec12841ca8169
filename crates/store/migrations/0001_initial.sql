-- State: every entity is a JSON document under (namespace, key).
CREATE TABLE kv (
    ns    TEXT NOT NULL,
    key   TEXT NOT NULL,
    value BLOB NOT NULL,
    PRIMARY KEY (ns, key)
) WITHOUT ROWID;

-- The audit trail: one CloudTrail record per API call, written in the same
-- transaction as the state change it describes.
CREATE TABLE cloudtrail_events (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id      TEXT NOT NULL UNIQUE,
    account_id    TEXT NOT NULL,
    event_time    TEXT NOT NULL,
    event_time_ms INTEGER NOT NULL,
    event_source  TEXT NOT NULL,
    event_name    TEXT NOT NULL,
    read_only     INTEGER NOT NULL,
    username      TEXT,
    access_key_id TEXT,
    record        TEXT NOT NULL
);
CREATE INDEX cloudtrail_events_by_time ON cloudtrail_events (account_id, event_time_ms, seq);
