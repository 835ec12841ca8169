-- Data events (S3 object calls) are recorded for trails that select them, but
-- LookupEvents shows management events only.
ALTER TABLE cloudtrail_events ADD COLUMN management INTEGER NOT NULL DEFAULT 1;
