-- LookupEvents: one lookup attribute at a time, newest first, within a time range.
CREATE TABLE cloudtrail_event_resources (
    seq           INTEGER NOT NULL REFERENCES cloudtrail_events (seq),
    resource_type TEXT NOT NULL,
    resource_name TEXT NOT NULL
);
CREATE INDEX cloudtrail_event_resources_by_type ON cloudtrail_event_resources (resource_type, seq);
CREATE INDEX cloudtrail_event_resources_by_name ON cloudtrail_event_resources (resource_name, seq);
CREATE INDEX cloudtrail_events_by_name ON cloudtrail_events (account_id, event_name, event_time_ms, seq);
CREATE INDEX cloudtrail_events_by_user ON cloudtrail_events (account_id, username, event_time_ms, seq);
CREATE INDEX cloudtrail_events_by_source ON cloudtrail_events (account_id, event_source, event_time_ms, seq);
CREATE INDEX cloudtrail_events_by_key ON cloudtrail_events (account_id, access_key_id, event_time_ms, seq);
CREATE INDEX cloudtrail_events_by_read_only ON cloudtrail_events (account_id, read_only, event_time_ms, seq);
