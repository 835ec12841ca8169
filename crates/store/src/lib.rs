//! Everything that must survive a crash.
//!
//! State is a set of JSON documents under `(namespace, key)`; the audit trail is an
//! append-only table of CloudTrail records. Both are written through one
//! [`Tx`], so a state change and the record describing it commit together or not
//! at all. Business rules live in `trailguard-services`; this crate only promises
//! atomicity, durability and ordered scans.
//!
//! # The audit feed
//!
//! Background consumers (trail delivery, GuardDuty detection) keep a cursor, the
//! sequence number of the last record they handled, and read the records after
//! it with [`Tx::events_after`] or [`Store::events_after`]. That is only sound if
//! no record below a cursor can commit after the cursor passed it, so the feed
//! is bounded by the store's *feed watermark* ([`Tx::feed_watermark`]): the
//! highest sequence number S such that every transaction that could still commit
//! a record numbered S or lower has finished, committed or rolled back. Sequence
//! numbers alone do not give this once writers overlap: a transaction that took
//! 10 may commit after one that took 11.
//!
//! # Backends
//!
//! SQLite (WAL mode) is the embedded default and, so far, the only backend. Its
//! single writer makes sequence order commit order, so its watermark is simply
//! the newest committed sequence number. A second backend (PostgreSQL, say)
//! must implement [`Store`] and [`Tx`] with the meaning documented here, pass
//! every check in [`conformance`], and honour the feed watermark: with
//! concurrent writers that means overriding [`Tx::feed_watermark`] and bounding
//! `events_after` by it.

mod blobs;
pub mod conformance;
pub mod private;
mod sqlite;

pub use blobs::{Blobs, FsBlobs, MemBlobs};

pub use sqlite::{Durability, MAX_BATCH, SqliteStore};

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
    /// The group commit this call's transaction joined failed; none of its
    /// writes were kept.
    #[error("the commit this transaction joined failed: {0}")]
    BatchCommit(String),
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
    /// The audit feed: records numbered above `seq` and at most
    /// [`Tx::feed_watermark`], oldest first, at most `limit`.
    ///
    /// A change feed in commit order: every record with a lower number that
    /// will ever commit already has, so a consumer that moves its cursor to the
    /// last record it saw never skips a record that commits later. This
    /// transaction's own records are included while no other transaction holds
    /// a lower number (see [`Tx::feed_watermark`]).
    fn events_after(&mut self, seq: i64, limit: usize) -> Result<Vec<StoredEvent>, StoreError>;
    /// The sequence number of the newest audit record (0 when there is none).
    ///
    /// Not a feed position: with concurrent writers, records below it may still
    /// commit. Start a consumer's cursor at [`Tx::feed_watermark`] instead.
    fn last_event_seq(&mut self) -> Result<i64, StoreError>;
    /// The feed watermark as this transaction sees it: the highest sequence
    /// number S such that every other transaction, open or yet to begin, that
    /// could still commit a record numbered S or lower has finished (committed
    /// or rolled back); 0 when there is none. [`Tx::events_after`] returns
    /// nothing above it. This transaction's own records do not hold it back: a
    /// cursor it writes commits or rolls back together with them.
    ///
    /// It never decreases within a transaction, and once no other transaction
    /// is open it covers every committed record, so the feed catches up. A new
    /// consumer starts its cursor here ("from now on") rather than at
    /// [`Tx::last_event_seq`].
    ///
    /// The default, [`Tx::last_event_seq`], is right for a backend whose
    /// writers never overlap, where sequence order is commit order (SQLite). A
    /// backend with concurrent writers must override it, and a `Tx` that wraps
    /// another must forward it.
    fn feed_watermark(&mut self) -> Result<i64, StoreError> {
        self.last_event_seq()
    }
}

/// How much of its deferred work [`Store::catch_up`] does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CatchUp {
    /// Everything owed.
    All,
    /// Only once enough is owed, or it has been owed a while, that a batch
    /// is worth its fixed cost.
    WhenWorthIt,
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

    /// The audit feed outside a transaction: committed records numbered above
    /// `seq` and at most [`Store::feed_watermark`], oldest first, at most
    /// `limit`. The same commit-ordered contract as [`Tx::events_after`]: a
    /// consumer that moves its cursor to the last record it saw never skips a
    /// record that commits later.
    fn events_after(&self, seq: i64, limit: usize) -> Result<Vec<StoredEvent>, StoreError>;

    /// The feed watermark: the highest sequence number S such that every
    /// transaction that could still commit a record numbered S or lower has
    /// finished (see [`Tx::feed_watermark`]). It never decreases, and when no
    /// transaction is open it covers every committed record.
    ///
    /// The default asks [`Tx::feed_watermark`] in a transaction of its own.
    fn feed_watermark(&self) -> Result<i64, StoreError> {
        let mut watermark = 0;
        self.run(&mut |tx| {
            watermark = tx.feed_watermark()?;
            Ok(Outcome::Rollback)
        })?;
        Ok(watermark)
    }

    /// A number that changes whenever a transaction that wrote namespace
    /// `ns` commits (it may also change when none did): lets background work
    /// skip a namespace nothing wrote since it last looked. `None`, the
    /// default, means the backend cannot tell, and callers must look.
    fn changes(&self, ns: &str) -> Option<u64> {
        let _ = ns;
        None
    }

    /// Catches up storage work that may lag behind commits without changing
    /// what any read returns (SQLite: the LookupEvents attribute index, which
    /// lookups complement by reading the records above it, and checkpoints).
    /// The server's worker calls it on every run with [`CatchUp::WhenWorthIt`],
    /// and on shutdown with [`CatchUp::All`]; returns how much it did. The
    /// default has nothing to catch up.
    fn catch_up(&self, how: CatchUp) -> Result<usize, StoreError> {
        let _ = how;
        Ok(0)
    }

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
