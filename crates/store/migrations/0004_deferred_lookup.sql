-- LookupEvents' attribute index moves off the write path. A call's record is
-- appended with only its own row, its unique event id, its time index and its
-- resource rows; the attribute entries (event name, user name, event source,
-- access key, read-only, resource type and name) are written later, many
-- records to a transaction, by the store's catch-up (`Store::catch_up`).
-- Lookups read the index up to `indexed_upto` and the records above it
-- directly, so they are exact whatever the lag.
CREATE TABLE cloudtrail_lookup (
    account_id    TEXT NOT NULL,
    attr          INTEGER NOT NULL,
    value         TEXT NOT NULL,
    event_time_ms INTEGER NOT NULL,
    seq           INTEGER NOT NULL,
    PRIMARY KEY (account_id, attr, value, event_time_ms, seq)
) WITHOUT ROWID;
CREATE TABLE cloudtrail_lookup_state (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    indexed_upto INTEGER NOT NULL
);
CREATE INDEX cloudtrail_event_resources_by_seq ON cloudtrail_event_resources (seq);
-- Attributes: 1 event name, 2 user name, 3 event source, 4 access key id,
-- 5 read-only ('1' or '0'), 6 resource type, 7 resource name. Management
-- events only: LookupEvents shows no data events.
INSERT OR IGNORE INTO cloudtrail_lookup SELECT account_id, 1, event_name, event_time_ms, seq FROM cloudtrail_events WHERE management = 1;
INSERT OR IGNORE INTO cloudtrail_lookup SELECT account_id, 2, username, event_time_ms, seq FROM cloudtrail_events WHERE management = 1 AND username IS NOT NULL;
INSERT OR IGNORE INTO cloudtrail_lookup SELECT account_id, 3, event_source, event_time_ms, seq FROM cloudtrail_events WHERE management = 1;
INSERT OR IGNORE INTO cloudtrail_lookup SELECT account_id, 4, access_key_id, event_time_ms, seq FROM cloudtrail_events WHERE management = 1 AND access_key_id IS NOT NULL;
INSERT OR IGNORE INTO cloudtrail_lookup SELECT account_id, 5, CAST(read_only AS TEXT), event_time_ms, seq FROM cloudtrail_events WHERE management = 1;
INSERT OR IGNORE INTO cloudtrail_lookup SELECT e.account_id, 6, r.resource_type, e.event_time_ms, e.seq FROM cloudtrail_event_resources r JOIN cloudtrail_events e ON e.seq = r.seq WHERE e.management = 1;
INSERT OR IGNORE INTO cloudtrail_lookup SELECT e.account_id, 7, r.resource_name, e.event_time_ms, e.seq FROM cloudtrail_event_resources r JOIN cloudtrail_events e ON e.seq = r.seq WHERE e.management = 1;
INSERT INTO cloudtrail_lookup_state (id, indexed_upto) SELECT 1, COALESCE(MAX(seq), 0) FROM cloudtrail_events;
DROP INDEX cloudtrail_events_by_name;
DROP INDEX cloudtrail_events_by_user;
DROP INDEX cloudtrail_events_by_source;
DROP INDEX cloudtrail_events_by_key;
DROP INDEX cloudtrail_events_by_read_only;
DROP INDEX cloudtrail_event_resources_by_type;
DROP INDEX cloudtrail_event_resources_by_name;
