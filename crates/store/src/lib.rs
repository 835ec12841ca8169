//! Everything that must survive a crash.
//!
//! State is a set of JSON documents under `(namespace, key)`; the audit trail is an
//! append-only table of CloudTrail records. Both are written through one
//! [`Tx`], so a state change and the record describing it commit together or not
//! at all. Business rules live in `trailguard-services`; this crate only promises
//! atomicity, durability and ordered scans.
//!
//! SQLite (WAL mode) is the embedded default. A PostgreSQL backend implements the
//! same [`Store`] trait over the same schema.

mod blobs;
pub mod private;
mod sqlite;

pub use blobs::{Blobs, FsBlobs, MemBlobs};

pub use sqlite::{Durability, SqliteStore};

/// A storage failure. Its text is for logs only; clients see `ServiceFailure`.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    #[error("the database schema is version {found}, newer than this binary's {supported}")]
    TooNew { found: i64, supported: i64 },
    #[error("the store lock was poisoned by a panic")]
    Poisoned,
}

/// One CloudTrail record and the columns it is indexed by.
#[derive(Debug, Clone)]
pub struct EventRow<'a> {
    pub event_id: &'a str,
    pub account_id: &'a str,
    pub event_time: &'a str,
    pub event_time_ms: i64,
    pub event_source: &'a str,
    pub event_name: &'a str,
    pub read_only: bool,
    pub username: Option<&'a str>,
    pub access_key_id: Option<&'a str>,
    /// The record's JSON text.
    pub record: &'a str,
    /// `(resource type, resource name)` pairs for lookups by resource.
    pub resources: &'a [(String, String)],
    /// A management event (shown by LookupEvents), not a data event.
    pub management: bool,
}

/// The one attribute a lookup filters on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LookupFilter {
    EventId(String),
    EventName(String),
    ReadOnly(bool),
    Username(String),
    ResourceType(String),
    ResourceName(String),
    EventSource(String),
    AccessKeyId(String),
}

/// A trail lookup: one account, a time range in milliseconds (inclusive), at
/// most one attribute, newest first, strictly before a `(time, seq)` cursor.
#[derive(Debug, Clone)]
pub struct Lookup {
    pub account_id: String,
    pub filter: Option<LookupFilter>,
    pub start_ms: i64,
    pub end_ms: i64,
    pub before: Option<(i64, i64)>,
    pub limit: usize,
}

/// A stored record with its ordering keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundEvent {
    pub seq: i64,
    pub event_time_ms: i64,
    pub record: String,
}

/// A stored audit record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    pub seq: i64,
    pub record: String,
}

/// Operations inside one transaction.
pub trait Tx {
    /// Reads one document.
    fn get(&mut self, ns: &str, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Writes one document, replacing any previous value.
    fn put(&mut self, ns: &str, key: &str, value: &[u8]) -> Result<(), StoreError>;
    /// Deletes one document; true if it existed.
    fn delete(&mut self, ns: &str, key: &str) -> Result<bool, StoreError>;
    /// Documents whose key starts with `prefix`, in key order, strictly after
    /// `after` when given, at most `limit`.
    fn scan(
        &mut self,
        ns: &str,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, Vec<u8>)>, StoreError>;
    /// Calls `visit` with each document under `prefix`, in key order, without
    /// collecting them: for reads over many documents that keep few.
    fn visit(
        &mut self,
        ns: &str,
        prefix: &str,
        visit: &mut dyn FnMut(&str, &[u8]),
    ) -> Result<(), StoreError>;
    /// Appends an audit record; returns its sequence number.
    fn append_event(&mut self, row: &EventRow<'_>) -> Result<i64, StoreError>;
    /// Finds audit records, newest first.
    fn lookup_events(&mut self, lookup: &Lookup) -> Result<Vec<FoundEvent>, StoreError>;
    /// Audit records after `seq`, oldest first, at most `limit`.
    fn events_after(&mut self, seq: i64, limit: usize) -> Result<Vec<StoredEvent>, StoreError>;
    /// The sequence number of the newest audit record (0 when there is none).
    fn last_event_seq(&mut self) -> Result<i64, StoreError>;
}

/// What a transaction body decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Commit,
    Rollback,
}

/// A transactional store.
pub trait Store: Send + Sync {
    /// Runs `body` in one transaction, committing or rolling back as it says.
    /// A storage error inside `body` must be returned by it and rolls back.
    fn run(
        &self,
        body: &mut dyn FnMut(&mut dyn Tx) -> Result<Outcome, StoreError>,
    ) -> Result<(), StoreError>;

    /// Audit records after `seq`, oldest first, at most `limit`.
    fn events_after(&self, seq: i64, limit: usize) -> Result<Vec<StoredEvent>, StoreError>;

    /// Takes the writer as a call would, writes one document and rolls it
    /// back: returns once the store could take a write (for health checks).
    fn probe_write(&self) -> Result<(), StoreError> {
        self.run(&mut |tx| {
            tx.put("health", "probe", b"")?;
            Ok(Outcome::Rollback)
        })
    }
}

/// Runs `body` in a transaction: commits when it returns `Ok`, rolls back on `Err`.
pub fn transact<T, E, F>(store: &dyn Store, body: F) -> Result<T, E>
where
    E: From<StoreError>,
    F: FnOnce(&mut dyn Tx) -> Result<T, E>,
{
    let mut body = Some(body);
    let mut result: Option<Result<T, E>> = None;
    store.run(&mut |tx| {
        let Some(f) = body.take() else {
            return Ok(Outcome::Rollback);
        };
        let r = f(tx);
        let outcome = if r.is_ok() {
            Outcome::Commit
        } else {
            Outcome::Rollback
        };
        result = Some(r);
        Ok(outcome)
    })?;
    result.unwrap_or_else(|| Err(E::from(StoreError::Poisoned)))
}
