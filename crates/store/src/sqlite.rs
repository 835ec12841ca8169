//! The embedded SQLite backend.
//!
//! One connection behind a mutex: SQLite allows one writer at a time anyway, and
//! every API call writes (reads are audited too), so a pool would only add
//! contention. WAL mode keeps committed transactions across a process crash; with
//! [`Durability::Full`] they also survive power loss.
//!
//! # Group commit
//!
//! A commit is the expensive part of a small transaction: SQLite writes every
//! page the transaction dirtied to the WAL, and with [`Durability::Full`]
//! fsyncs it. So calls that arrive together share one: each call's body runs
//! in a savepoint of an open SQLite transaction (the *batch*), a body that
//! fails or rolls back is undone alone (`ROLLBACK TO`), and the batch commits
//! when no other call is waiting for the writer, or when it holds
//! [`MAX_BATCH`] calls. Every call that joined a batch returns only once the
//! batch has committed, so none is answered before its writes are durable;
//! if the commit fails, every call in the batch gets the error, and none of
//! their writes survives.
//!
//! Calls still run one at a time, in the order they take the writer, each
//! seeing the writes of those before it: isolation is serial, as before. A
//! call that joined after another can see that call's not-yet-committed
//! writes, which is why it, too, waits for the commit before returning:
//! whatever it read is durable by then. Reads from outside a transaction
//! ([`Store::events_after`], [`Store::feed_watermark`]) commit the open batch
//! first, so they see committed records only.

use crate::{
    CatchUp, EventRow, FoundEvent, Lookup, LookupFilter, Outcome, Store, StoreError, StoredEvent,
    Tx,
};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OptionalExtension, params};
use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};

/// Migrations, applied in order; never edit one that has shipped.
const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_initial.sql"),
    include_str!("../migrations/0002_lookup.sql"),
    include_str!("../migrations/0003_data_events.sql"),
    include_str!("../migrations/0004_deferred_lookup.sql"),
];

/// The most records one catch-up transaction indexes (see [`Store::catch_up`]):
/// bounds how long it holds the writer.
const CATCH_UP_BATCH: i64 = 500;

/// The worker indexes once this many records wait, or once the oldest
/// batch is [`CATCH_UP_AFTER`] old.
const CATCH_UP_LEAST: i64 = 256;
const CATCH_UP_AFTER: std::time::Duration = std::time::Duration::from_secs(1);
/// The most batches one `CatchUp::WhenWorthIt` run writes: a backlog is
/// worked off over several runs, with calls between them.
const CATCH_UP_RUN: usize = 8;

/// WAL pages past which the writer checkpoints by itself.
const WAL_BACKSTOP_PAGES: i64 = 16384;

/// WAL pages past which the worker's checkpoint finishes under the writer,
/// so the WAL starts over (see `SqliteStore::checkpoint`).
const WAL_RESTART_PAGES: i64 = 1024;

/// How hard SQLite works to make a commit durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// Commits survive a process crash; the last ones may be lost on power loss.
    #[default]
    Normal,
    /// Every commit is fsynced before the client is answered.
    Full,
}

/// The most calls one commit covers: bounds how long the first call of a
/// batch waits for those that joined after it.
pub const MAX_BATCH: usize = 32;

/// The SQLite store.
pub struct SqliteStore {
    writer: Mutex<Writer>,
    /// Calls waiting to take `writer`: while there are any, a finished call
    /// leaves its batch open for them to join.
    queued: AtomicUsize,
    changes: Changes,
    /// Commits so far (for the benchmarks and the group-commit tests).
    commits: AtomicU64,
    /// A second connection that copies the WAL into the database
    /// ([`Store::catch_up`]) without the writer: a checkpoint run by a
    /// committing call would stall every call queued behind it.
    checkpointer: Option<Mutex<Connection>>,
    /// When the lookup index last caught up.
    indexed_at: Mutex<std::time::Instant>,
}

/// The connection and the batch open on it.
struct Writer {
    conn: Connection,
    batch: Option<OpenBatch>,
}

/// An open SQLite transaction that calls join, each in a savepoint.
struct OpenBatch {
    /// The calls that joined it and wait for its commit.
    members: usize,
    /// The namespaces its calls wrote.
    touched: Vec<String>,
    done: Arc<Settled>,
}

/// A batch dropped without being settled (a panic in the store's own
/// bookkeeping) fails its calls rather than leaving them waiting.
impl Drop for OpenBatch {
    fn drop(&mut self) {
        self.done
            .finish_unless_finished(Err("the commit this call joined was abandoned".into()));
    }
}

/// How a batch ended, for the calls waiting on it.
#[derive(Default)]
struct Settled {
    result: Mutex<Option<Result<(), String>>>,
    ended: Condvar,
}

impl Settled {
    fn finish(&self, result: Result<(), String>) {
        if let Ok(mut slot) = self.result.lock() {
            *slot = Some(result);
        }
        self.ended.notify_all();
    }

    fn finish_unless_finished(&self, result: Result<(), String>) {
        if let Ok(mut slot) = self.result.lock()
            && slot.is_none()
        {
            *slot = Some(result);
            self.ended.notify_all();
        }
    }

    fn wait(&self) -> Result<(), StoreError> {
        let mut slot = self.result.lock().map_err(|_| StoreError::Poisoned)?;
        loop {
            if let Some(result) = slot.as_ref() {
                return result.clone().map_err(StoreError::BatchCommit);
            }
            slot = self.ended.wait(slot).map_err(|_| StoreError::Poisoned)?;
        }
    }
}

/// A change counter per namespace, bumped when a transaction that wrote the
/// namespace commits: what [`Store::changes`] reads. A commit by another
/// connection to the same file (the CLI's `account create` while the server
/// runs), which names no namespace here, moves every counter: SQLite's
/// `data_version`, read as each batch begins, tells of it. The services
/// name namespaces with constants, so the map stays as small as the code.
struct Changes {
    counters: Mutex<HashMap<String, u64>>,
    /// Bumped when another connection committed; added to every counter.
    others: AtomicU64,
    /// `data_version` as this connection last saw it.
    seen_version: AtomicU64,
}

impl Changes {
    /// Counters starting at 0, with `data_version` as `conn` sees it now.
    fn new(conn: &Connection) -> Result<Self, StoreError> {
        Ok(Self {
            counters: Mutex::default(),
            others: AtomicU64::new(0),
            seen_version: AtomicU64::new(data_version(conn)?),
        })
    }

    fn bump(&self, touched: &[String]) {
        if touched.is_empty() {
            return;
        }
        if let Ok(mut counters) = self.counters.lock() {
            for ns in touched {
                match counters.get_mut(ns.as_str()) {
                    Some(n) => *n += 1,
                    None => {
                        counters.insert(ns.clone(), 1);
                    }
                }
            }
        }
    }

    /// Reads `data_version` (under the writer): a change since the last
    /// read means another connection committed.
    fn notice_other_writers(&self, conn: &Connection) -> Result<(), StoreError> {
        let version = data_version(conn)?;
        if self.seen_version.swap(version, Ordering::AcqRel) != version {
            self.others.fetch_add(1, Ordering::AcqRel);
        }
        Ok(())
    }

    fn get(&self, ns: &str) -> Option<u64> {
        let counters = self.counters.lock().ok()?;
        let own = counters.get(ns).copied().unwrap_or(0);
        Some(own.wrapping_add(self.others.load(Ordering::Acquire)))
    }
}

/// Adds `ns` to a list of written namespaces, once.
fn note_write(touched: &mut Vec<String>, ns: &str) {
    if !touched.iter().any(|t| t == ns) {
        touched.push(ns.to_string());
    }
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and migrates it. The
    /// database is `0600`; SQLite gives its `-wal` and `-shm` files the
    /// database's mode, and older ones are set to it here.
    pub fn open(path: &Path, sync: Durability) -> Result<Self, StoreError> {
        if !path.exists() {
            drop(crate::private::create_file(path)?);
        }
        crate::private::restrict_file(path)?;
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(
            None,
            "synchronous",
            match sync {
                Durability::Normal => "NORMAL",
                Durability::Full => "FULL",
            },
        )?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // Savepoints' undo journals stay in memory rather than temporary files.
        conn.pragma_update(None, "temp_store", "MEMORY")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        // Checkpoints are the worker's (see `checkpointer`); the writer runs
        // one itself only if the WAL passes this many pages (64 MiB), as
        // when the worker has stalled.
        conn.pragma_update(None, "wal_autocheckpoint", WAL_BACKSTOP_PAGES)?;
        let mut store = Self::from_connection(conn)?;
        let checkpointer = Connection::open(path)?;
        checkpointer.busy_timeout(std::time::Duration::from_secs(5))?;
        store.checkpointer = Some(Mutex::new(checkpointer));
        for suffix in ["-wal", "-shm"] {
            let mut side = path.as_os_str().to_owned();
            side.push(suffix);
            crate::private::restrict_file(Path::new(&side))?;
        }
        Ok(store)
    }

    /// An in-memory database, for tests.
    pub fn in_memory() -> Result<Self, StoreError> {
        Self::from_connection(Connection::open_in_memory()?)
    }

    fn from_connection(mut conn: Connection) -> Result<Self, StoreError> {
        migrate(&mut conn)?;
        let changes = Changes::new(&conn)?;
        Ok(Self {
            writer: Mutex::new(Writer { conn, batch: None }),
            queued: AtomicUsize::new(0),
            changes,
            commits: AtomicU64::new(0),
            checkpointer: None,
            indexed_at: Mutex::new(std::time::Instant::now()),
        })
    }
}

fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let current: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let supported = i64::try_from(MIGRATIONS.len()).unwrap_or(i64::MAX);
    if current > supported {
        return Err(StoreError::TooNew {
            found: current,
            supported,
        });
    }
    for (i, sql) in MIGRATIONS
        .iter()
        .enumerate()
        .skip(usize::try_from(current).unwrap_or(0))
    {
        // The write lock first, then the version again: another process
        // opening the same database at once may have applied this one.
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let now: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if now > i64::try_from(i).unwrap_or(i64::MAX) {
            continue;
        }
        tx.execute_batch(sql)?;
        tx.pragma_update(
            None,
            "user_version",
            i64::try_from(i + 1).unwrap_or(i64::MAX),
        )?;
        tx.commit()?;
    }
    Ok(())
}

/// One call's view of the open batch: its savepoint.
struct SqliteTx<'a> {
    tx: &'a Connection,
    /// The namespaces this call wrote.
    touched: Vec<String>,
    /// Whether it wrote anything, documents or records.
    wrote: bool,
}

impl Tx for SqliteTx<'_> {
    fn get(&mut self, ns: &str, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let mut stmt = self
            .tx
            .prepare_cached("SELECT value FROM kv WHERE ns = ?1 AND key = ?2")?;
        Ok(stmt.query_row(params![ns, key], |r| r.get(0)).optional()?)
    }

    fn put(&mut self, ns: &str, key: &str, value: &[u8]) -> Result<(), StoreError> {
        note_write(&mut self.touched, ns);
        self.wrote = true;
        let mut stmt = self
            .tx
            .prepare_cached("INSERT OR REPLACE INTO kv (ns, key, value) VALUES (?1, ?2, ?3)")?;
        stmt.execute(params![ns, key, value])?;
        Ok(())
    }

    fn delete(&mut self, ns: &str, key: &str) -> Result<bool, StoreError> {
        note_write(&mut self.touched, ns);
        self.wrote = true;
        let mut stmt = self
            .tx
            .prepare_cached("DELETE FROM kv WHERE ns = ?1 AND key = ?2")?;
        Ok(stmt.execute(params![ns, key])? > 0)
    }

    fn scan(
        &mut self,
        ns: &str,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        // Keys in [prefix, prefix + U+10FFFF) share the prefix; comparisons are bytewise.
        let upper = format!("{prefix}\u{10FFFF}");
        let lower = match after {
            Some(a) if a >= prefix => a.to_string(),
            _ => String::new(),
        };
        let mut stmt = self.tx.prepare_cached(
            "SELECT key, value FROM kv WHERE ns = ?1 AND key >= ?2 AND key < ?3 AND key > ?4 ORDER BY key LIMIT ?5",
        )?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = stmt.query_map(params![ns, prefix, upper, lower, limit], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn visit(
        &mut self,
        ns: &str,
        prefix: &str,
        visit: &mut dyn FnMut(&str, &[u8]),
    ) -> Result<(), StoreError> {
        let upper = format!("{prefix}\u{10FFFF}");
        let mut stmt = self.tx.prepare_cached(
            "SELECT key, value FROM kv WHERE ns = ?1 AND key >= ?2 AND key < ?3 ORDER BY key",
        )?;
        let mut rows = stmt.query(params![ns, prefix, upper])?;
        while let Some(row) = rows.next()? {
            let key = match row.get_ref(0)? {
                ValueRef::Text(b) => std::str::from_utf8(b).unwrap_or_default(),
                _ => "",
            };
            let value = match row.get_ref(1)? {
                ValueRef::Blob(b) | ValueRef::Text(b) => b,
                _ => &[],
            };
            visit(key, value);
        }
        Ok(())
    }

    fn append_event(&mut self, row: &EventRow<'_>) -> Result<i64, StoreError> {
        self.wrote = true;
        let mut stmt = self.tx.prepare_cached(
            "INSERT INTO cloudtrail_events (event_id, account_id, event_time, event_time_ms, event_source, event_name, read_only, username, access_key_id, record, management)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        )?;
        stmt.execute(params![
            row.event_id,
            row.account_id,
            row.event_time,
            row.event_time_ms,
            row.event_source,
            row.event_name,
            row.read_only,
            row.username,
            row.access_key_id,
            row.record,
            row.management
        ])?;
        let seq = self.tx.last_insert_rowid();
        if !row.resources.is_empty() {
            let mut stmt = self.tx.prepare_cached(
                "INSERT INTO cloudtrail_event_resources (seq, resource_type, resource_name) VALUES (?1, ?2, ?3)",
            )?;
            for (ty, name) in row.resources {
                stmt.execute(params![seq, ty, name])?;
            }
        }
        Ok(seq)
    }

    /// Needs no bound: everything it can see is at or below the watermark,
    /// which is the newest record visible (see `SqliteTx::feed_watermark`).
    fn events_after(&mut self, seq: i64, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        Self::read_events_after(self.tx, seq, limit)
    }

    fn last_event_seq(&mut self) -> Result<i64, StoreError> {
        newest_seq(self.tx)
    }

    /// SQLite's watermark is simply the newest committed sequence number
    /// (here, with this transaction's own records, which the contract lets
    /// count). Writers never overlap: one connection behind a mutex, and
    /// SQLite's write lock between connections. A transaction's records are
    /// invisible to others until it commits, and `AUTOINCREMENT` numbers each
    /// record above every committed one, so no open transaction can hold a
    /// number below a committed one, and sequence order is commit order.
    fn feed_watermark(&mut self) -> Result<i64, StoreError> {
        newest_seq(self.tx)
    }

    fn lookup_events(&mut self, l: &Lookup) -> Result<Vec<FoundEvent>, StoreError> {
        lookup(self.tx, l)
    }
}

/// A lookup attribute's code in `cloudtrail_lookup`, its value there, and
/// the condition on a record not yet indexed (`?6` is the value, `?9` the
/// last indexed sequence number).
fn attribute(filter: &LookupFilter) -> Option<(i64, String, &'static str)> {
    Some(match filter {
        LookupFilter::EventId(_) => return None,
        LookupFilter::EventName(v) => (1, v.clone(), "e.event_name = ?6"),
        LookupFilter::Username(v) => (2, v.clone(), "e.username = ?6"),
        LookupFilter::EventSource(v) => (3, v.clone(), "e.event_source = ?6"),
        LookupFilter::AccessKeyId(v) => (4, v.clone(), "e.access_key_id = ?6"),
        LookupFilter::ReadOnly(v) => (
            5,
            if *v { "1" } else { "0" }.to_string(),
            "e.read_only = CAST(?6 AS INTEGER)",
        ),
        LookupFilter::ResourceType(v) => (
            6,
            v.clone(),
            "e.seq IN (SELECT seq FROM cloudtrail_event_resources WHERE seq > ?9 AND resource_type = ?6)",
        ),
        LookupFilter::ResourceName(v) => (
            7,
            v.clone(),
            "e.seq IN (SELECT seq FROM cloudtrail_event_resources WHERE seq > ?9 AND resource_name = ?6)",
        ),
    })
}

/// Finds records newest first. With no attribute, or an event id, the
/// records' own indexes answer. With an attribute, the lookup index answers
/// for records up to `indexed_upto` and the records above it are read
/// directly (a short tail: the catch-up keeps it so), so the answer is exact
/// whatever the index's lag.
fn lookup(conn: &Connection, l: &Lookup) -> Result<Vec<FoundEvent>, StoreError> {
    let (before_ms, before_seq) = l.before.unwrap_or((i64::MAX, i64::MAX));
    let limit = i64::try_from(l.limit).unwrap_or(i64::MAX);
    // ?1 to ?7 are the same in both queries; the attribute lookup adds ?8
    // (the attribute) and ?9 (the last indexed record).
    let (sql, value, indexed) = match l.filter.as_ref().and_then(attribute) {
        None => {
            let (condition, value) = match &l.filter {
                Some(LookupFilter::EventId(v)) => ("e.event_id = ?6", Some(v.clone())),
                _ => ("1", None),
            };
            let sql = format!(
                "SELECT e.seq, e.event_time_ms, e.record FROM cloudtrail_events e
                 WHERE e.account_id = ?1 AND e.event_time_ms >= ?2 AND e.event_time_ms <= ?3
                   AND (e.event_time_ms < ?4 OR (e.event_time_ms = ?4 AND e.seq < ?5))
                   AND e.management = 1 AND {condition}
                 ORDER BY e.event_time_ms DESC, e.seq DESC LIMIT ?7"
            );
            (sql, value, None)
        }
        Some((attr, value, tail)) => {
            // The tail's `+` keeps SQLite on the sequence-number range rather
            // than the time index, which would walk the account's whole range.
            let sql = format!(
                "SELECT seq, event_time_ms, record FROM (
                   SELECT e.seq AS seq, e.event_time_ms AS event_time_ms, e.record AS record FROM (
                     SELECT l.seq, l.event_time_ms FROM cloudtrail_lookup l
                     WHERE l.account_id = ?1 AND l.attr = ?8 AND l.value = ?6
                       AND l.event_time_ms >= ?2 AND l.event_time_ms <= ?3
                       AND (l.event_time_ms < ?4 OR (l.event_time_ms = ?4 AND l.seq < ?5))
                       AND l.seq <= ?9
                     ORDER BY l.event_time_ms DESC, l.seq DESC LIMIT ?7
                   ) i JOIN cloudtrail_events e ON e.seq = i.seq
                   UNION ALL
                   SELECT e.seq, e.event_time_ms, e.record FROM cloudtrail_events e
                   WHERE e.seq > ?9 AND +e.account_id = ?1 AND e.management = 1
                     AND +e.event_time_ms >= ?2 AND +e.event_time_ms <= ?3
                     AND (+e.event_time_ms < ?4 OR (+e.event_time_ms = ?4 AND e.seq < ?5))
                     AND {tail}
                 ) ORDER BY event_time_ms DESC, seq DESC LIMIT ?7"
            );
            (sql, Some(value), Some((attr, indexed_upto(conn)?)))
        }
    };
    let mut args: Vec<&dyn rusqlite::ToSql> = vec![
        &l.account_id,
        &l.start_ms,
        &l.end_ms,
        &before_ms,
        &before_seq,
        &value,
        &limit,
    ];
    if let Some((attr, indexed)) = &indexed {
        args.push(attr);
        args.push(indexed);
    }
    found(conn, &sql, &args)
}

/// Runs a lookup query whose rows are `(seq, event_time_ms, record)`.
fn found(
    conn: &Connection,
    sql: &str,
    params: &[&dyn rusqlite::ToSql],
) -> Result<Vec<FoundEvent>, StoreError> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map(params, |r| {
        Ok(FoundEvent {
            seq: r.get(0)?,
            event_time_ms: r.get(1)?,
            record: r.get(2)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The newest record whose lookup entries are written.
fn indexed_upto(conn: &Connection) -> Result<i64, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT COALESCE((SELECT indexed_upto FROM cloudtrail_lookup_state WHERE id = 1), 0)",
    )?;
    Ok(stmt.query_row([], |r| r.get(0))?)
}

/// Writes the lookup entries of the records after `indexed_upto`, at most
/// [`CATCH_UP_BATCH`] sequence numbers of them, inside the caller's
/// transaction. Returns how many sequence numbers it covered.
fn index_lookups(conn: &Connection, least: i64) -> Result<i64, StoreError> {
    const ENTRIES: &[&str] = &[
        "INSERT OR IGNORE INTO cloudtrail_lookup SELECT account_id, 1, event_name, event_time_ms, seq FROM cloudtrail_events WHERE seq > ?1 AND seq <= ?2 AND management = 1",
        "INSERT OR IGNORE INTO cloudtrail_lookup SELECT account_id, 2, username, event_time_ms, seq FROM cloudtrail_events WHERE seq > ?1 AND seq <= ?2 AND management = 1 AND username IS NOT NULL",
        "INSERT OR IGNORE INTO cloudtrail_lookup SELECT account_id, 3, event_source, event_time_ms, seq FROM cloudtrail_events WHERE seq > ?1 AND seq <= ?2 AND management = 1",
        "INSERT OR IGNORE INTO cloudtrail_lookup SELECT account_id, 4, access_key_id, event_time_ms, seq FROM cloudtrail_events WHERE seq > ?1 AND seq <= ?2 AND management = 1 AND access_key_id IS NOT NULL",
        "INSERT OR IGNORE INTO cloudtrail_lookup SELECT account_id, 5, CAST(read_only AS TEXT), event_time_ms, seq FROM cloudtrail_events WHERE seq > ?1 AND seq <= ?2 AND management = 1",
        "INSERT OR IGNORE INTO cloudtrail_lookup SELECT e.account_id, 6, r.resource_type, e.event_time_ms, e.seq FROM cloudtrail_event_resources r JOIN cloudtrail_events e ON e.seq = r.seq WHERE r.seq > ?1 AND r.seq <= ?2 AND e.management = 1",
        "INSERT OR IGNORE INTO cloudtrail_lookup SELECT e.account_id, 7, r.resource_name, e.event_time_ms, e.seq FROM cloudtrail_event_resources r JOIN cloudtrail_events e ON e.seq = r.seq WHERE r.seq > ?1 AND r.seq <= ?2 AND e.management = 1",
    ];
    let from = indexed_upto(conn)?;
    let newest = newest_seq(conn)?;
    if newest - from < least.max(1) {
        return Ok(0);
    }
    let to = newest.min(from.saturating_add(CATCH_UP_BATCH));
    for sql in ENTRIES {
        conn.prepare_cached(sql)?.execute(params![from, to])?;
    }
    conn.prepare_cached(
        "INSERT OR REPLACE INTO cloudtrail_lookup_state (id, indexed_upto) VALUES (1, ?1)",
    )?
    .execute(params![to])?;
    Ok(to - from)
}

/// The newest record's sequence number, 0 when there is none.
fn newest_seq(conn: &Connection) -> Result<i64, StoreError> {
    let mut stmt = conn.prepare_cached("SELECT COALESCE(MAX(seq), 0) FROM cloudtrail_events")?;
    Ok(stmt.query_row([], |r| r.get(0))?)
}

impl SqliteTx<'_> {
    fn read_events_after(
        conn: &Connection,
        seq: i64,
        limit: usize,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let mut stmt = conn.prepare_cached(
            "SELECT seq, record FROM cloudtrail_events WHERE seq > ?1 ORDER BY seq LIMIT ?2",
        )?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = stmt.query_map(params![seq, limit], |r| {
            Ok(StoredEvent {
                seq: r.get(0)?,
                record: r.get(1)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

/// SQLite's count of commits to the file, by any connection.
fn data_version(conn: &Connection) -> Result<u64, StoreError> {
    let version: i64 = conn
        .prepare_cached("PRAGMA data_version")?
        .query_row([], |r| r.get(0))?;
    Ok(u64::try_from(version).unwrap_or(0))
}

/// Ends a transaction that a failed rollback left open, before a new one.
fn end_abandoned_transaction(conn: &Connection) -> Result<(), StoreError> {
    if conn.is_autocommit() {
        Ok(())
    } else {
        exec(conn, "ROLLBACK")
    }
}

/// Runs one cached statement that takes no parameters (transaction control).
fn exec(conn: &Connection, sql: &str) -> Result<(), StoreError> {
    conn.prepare_cached(sql)?.execute([])?;
    Ok(())
}

impl Writer {
    /// Runs `body` in a savepoint of the open batch, opening one if needed.
    /// Returns the batch to wait for when the call must (it committed, or
    /// read what earlier calls in the batch wrote), or the call's error.
    fn call(
        &mut self,
        changes: &Changes,
        body: &mut dyn FnMut(&mut dyn Tx) -> Result<Outcome, StoreError>,
    ) -> Result<Option<Arc<Settled>>, CallError> {
        if self.batch.is_none() {
            end_abandoned_transaction(&self.conn)?;
            // The write lock from the start: no other process can commit
            // under the batch, so no call in it meets a stale snapshot.
            exec(&self.conn, "BEGIN IMMEDIATE")?;
            changes.notice_other_writers(&self.conn)?;
            self.batch = Some(OpenBatch {
                members: 0,
                touched: Vec::new(),
                done: Arc::default(),
            });
        }
        exec(&self.conn, "SAVEPOINT call")?;
        let mut tx = SqliteTx {
            tx: &self.conn,
            touched: Vec::new(),
            wrote: false,
        };
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| body(&mut tx)));
        let touched = std::mem::take(&mut tx.touched);
        let wrote = tx.wrote;
        let keep = matches!(outcome, Ok(Ok(Outcome::Commit)));
        if keep {
            exec(&self.conn, "RELEASE call")?;
        } else if self.conn.is_autocommit() {
            // SQLite rolled the whole transaction back itself (an I/O error,
            // say): the earlier calls' writes are gone too.
            return Err(CallError::BatchLost(match outcome {
                Ok(Err(e)) => e,
                _ => StoreError::BatchCommit("the transaction was rolled back".into()),
            }));
        } else {
            exec(&self.conn, "ROLLBACK TO call")?;
            exec(&self.conn, "RELEASE call")?;
        }
        let Some(batch) = self.batch.as_mut() else {
            return Err(CallError::Call(StoreError::Poisoned, None));
        };
        // A call waits for the commit when it wrote, or saw earlier calls'
        // writes; one that only read committed state need not.
        let wait = (keep && wrote) || batch.members > 0;
        if keep {
            for ns in &touched {
                note_write(&mut batch.touched, ns);
            }
        }
        if wait {
            batch.members += 1;
        }
        let waiter = wait.then(|| batch.done.clone());
        match outcome {
            Ok(Ok(_)) => Ok(waiter),
            Ok(Err(e)) => Err(CallError::Call(e, waiter)),
            Err(panic) => Err(CallError::Panicked(panic)),
        }
    }

    /// Commits the open batch, if any, and tells its calls how it went.
    fn settle(&mut self, changes: &Changes, commits: &AtomicU64) -> Result<(), StoreError> {
        let Some(batch) = self.batch.take() else {
            return Ok(());
        };
        let result = exec(&self.conn, "COMMIT");
        match &result {
            Ok(()) => {
                commits.fetch_add(1, Ordering::Relaxed);
                changes.bump(&batch.touched);
                batch.done.finish(Ok(()));
            }
            Err(e) => {
                // Undone now if it can be; otherwise the next transaction ends it.
                let _ = end_abandoned_transaction(&self.conn);
                batch.done.finish(Err(e.to_string()));
            }
        }
        result
    }

    /// Abandons the open batch after SQLite rolled it back.
    fn lose(&mut self, why: &StoreError) {
        if let Some(batch) = self.batch.take() {
            let _ = end_abandoned_transaction(&self.conn);
            batch.done.finish(Err(why.to_string()));
        }
    }
}

/// Why a call did not join the batch.
enum CallError {
    /// The call's own failure; the batch goes on. With the batch to wait
    /// for when the call read earlier calls' writes: its error may tell of them.
    Call(StoreError, Option<Arc<Settled>>),
    /// The call panicked and was rolled back; the panic goes on up.
    Panicked(Box<dyn std::any::Any + Send>),
    /// SQLite rolled back the whole batch.
    BatchLost(StoreError),
}

impl From<StoreError> for CallError {
    fn from(e: StoreError) -> Self {
        Self::BatchLost(e)
    }
}

impl From<rusqlite::Error> for CallError {
    fn from(e: rusqlite::Error) -> Self {
        Self::BatchLost(e.into())
    }
}

impl SqliteStore {
    /// Takes the writer, counting the wait so the holder can leave its batch
    /// open for this caller.
    fn take_writer(&self) -> Result<std::sync::MutexGuard<'_, Writer>, StoreError> {
        self.queued.fetch_add(1, Ordering::SeqCst);
        let writer = self.writer.lock();
        self.queued.fetch_sub(1, Ordering::SeqCst);
        writer.map_err(|_| StoreError::Poisoned)
    }

    /// Copies what the WAL gained into the database, beside the writer
    /// rather than under it: PASSIVE never waits for, or blocks, a call.
    /// Under steady load that alone never lets the WAL start over (calls
    /// append frames while it copies), so once the WAL passes
    /// [`WAL_RESTART_PAGES`] the writer is taken for a moment to copy the
    /// few frames left, after which the next commit writes from the WAL's
    /// start again.
    fn checkpoint(&self) -> Result<(), StoreError> {
        let Some(checkpointer) = &self.checkpointer else {
            return Ok(());
        };
        let frames: i64 = {
            let conn = checkpointer.lock().map_err(|_| StoreError::Poisoned)?;
            conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get(1))?
        };
        // Measured: skipping this when the passive checkpoint reported every
        // frame copied let the WAL grow to the backstop under steady load. An
        // idle server past the mark pays a no-op checkpoint per run until its
        // next commit starts the WAL over.
        if frames > WAL_RESTART_PAGES {
            let mut writer = self.take_writer()?;
            writer.settle(&self.changes, &self.commits)?;
            writer
                .conn
                .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))?;
        }
        Ok(())
    }

    /// How many SQLite commits the store has made: fewer than the calls it
    /// ran when calls shared them.
    pub fn commits(&self) -> u64 {
        self.commits.load(Ordering::Relaxed)
    }

    /// How many callers are waiting for the writer (for tests that line
    /// callers up behind one another).
    pub fn queued(&self) -> usize {
        self.queued.load(Ordering::SeqCst)
    }
}

impl Store for SqliteStore {
    /// Runs `body` as one call of a group commit (see the module docs).
    fn run(
        &self,
        body: &mut dyn FnMut(&mut dyn Tx) -> Result<Outcome, StoreError>,
    ) -> Result<(), StoreError> {
        let mut writer = self.take_writer()?;
        let called = writer.call(&self.changes, body);
        // Commit now unless a caller waiting for the writer can join; the
        // last to join commits for all. Every holder applies this rule before
        // letting go, so an open batch always has a committer coming. A batch
        // nobody waits on (reads, failed calls) commits at once: it costs
        // nothing, and holds no snapshot or lock for longer than a call.
        let join = self.queued.load(Ordering::SeqCst) > 0
            && writer
                .batch
                .as_ref()
                .is_some_and(|b| b.members > 0 && b.members < MAX_BATCH);
        let settled = match &called {
            Err(CallError::BatchLost(e)) => {
                writer.lose(e);
                Ok(())
            }
            _ if join => Ok(()),
            _ => writer.settle(&self.changes, &self.commits),
        };
        drop(writer);
        match called {
            Ok(Some(done)) => settled.and_then(|()| done.wait()),
            Ok(None) => settled,
            Err(CallError::Call(e, Some(done))) => settled.and_then(|()| done.wait()).and(Err(e)),
            Err(CallError::Call(e, None) | CallError::BatchLost(e)) => Err(e),
            Err(CallError::Panicked(panic)) => std::panic::resume_unwind(panic),
        }
    }

    /// Commits the open batch first, so it sees committed records only, all at
    /// or below the watermark.
    fn events_after(&self, seq: i64, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        let mut writer = self.take_writer()?;
        writer.settle(&self.changes, &self.commits)?;
        SqliteTx::read_events_after(&writer.conn, seq, limit)
    }

    /// The newest committed sequence number, as `SqliteTx::feed_watermark`
    /// explains, read without opening a transaction (after committing the
    /// open batch).
    fn feed_watermark(&self) -> Result<i64, StoreError> {
        let mut writer = self.take_writer()?;
        writer.settle(&self.changes, &self.commits)?;
        newest_seq(&writer.conn)
    }

    fn changes(&self, ns: &str) -> Option<u64> {
        self.changes.get(ns)
    }

    /// Writes the lookup entries of records appended since the last catch-up,
    /// a batch per transaction, until none is left.
    fn catch_up(&self, how: CatchUp) -> Result<usize, StoreError> {
        let mut covered = 0;
        // A batch has a fixed cost (a transaction, seven statements, a commit
        // of the index pages), so the worker waits for enough records, or
        // for a while; lookups read what is not indexed yet either way.
        let mut least = match how {
            CatchUp::All => 1,
            CatchUp::WhenWorthIt => {
                let due = self
                    .indexed_at
                    .lock()
                    .map_or(true, |at| at.elapsed() >= CATCH_UP_AFTER);
                if due { 1 } else { CATCH_UP_LEAST }
            }
        };
        let mut batches = 0;
        loop {
            let mut writer = self.take_writer()?;
            writer.settle(&self.changes, &self.commits)?;
            end_abandoned_transaction(&writer.conn)?;
            // Nothing worth a transaction: let go without taking SQLite's lock.
            if newest_seq(&writer.conn)? - indexed_upto(&writer.conn)? < least {
                break;
            }
            exec(&writer.conn, "BEGIN IMMEDIATE")?;
            let n = match index_lookups(&writer.conn, least) {
                Ok(n) => n,
                Err(e) => {
                    let _ = exec(&writer.conn, "ROLLBACK");
                    return Err(e);
                }
            };
            if let Err(e) = exec(&writer.conn, "COMMIT") {
                // Undone now if it can be; otherwise the next transaction ends it.
                let _ = end_abandoned_transaction(&writer.conn);
                return Err(e);
            }
            drop(writer);
            if n > 0
                && let Ok(mut at) = self.indexed_at.lock()
            {
                *at = std::time::Instant::now();
            }
            covered += usize::try_from(n).unwrap_or(0);
            least = 1;
            batches += 1;
            if n < CATCH_UP_BATCH || (how == CatchUp::WhenWorthIt && batches >= CATCH_UP_RUN) {
                break;
            }
            // Calls waiting for the writer go first; the mutex is not fair.
            if self.queued() > 0 {
                std::thread::yield_now();
            }
        }
        self.checkpoint()?;
        Ok(covered)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transact;
    use std::sync::Arc;

    fn event(id: &str) -> EventRow<'_> {
        EventRow {
            event_id: id,
            account_id: "123456789012",
            event_time: "2026-11-23T19:03:04Z",
            event_time_ms: 1,
            event_source: "iam.amazonaws.com",
            event_name: "CreateUser",
            read_only: false,
            username: None,
            access_key_id: None,
            record: "{}",
            resources: &[],
            management: true,
        }
    }

    #[test]
    fn commit_and_rollback_cover_state_and_trail_together() {
        let store = SqliteStore::in_memory().unwrap();
        let ok: Result<(), StoreError> = transact(&store, |tx| {
            tx.put("user", "a", b"1")?;
            tx.append_event(&event("e1"))?;
            Ok(())
        });
        ok.unwrap();
        let failed: Result<(), StoreError> = transact(&store, |tx| {
            tx.put("user", "b", b"2")?;
            tx.append_event(&event("e2"))?;
            Err(StoreError::Poisoned)
        });
        assert!(failed.is_err());
        let seen: Vec<String> = transact(&store, |tx| {
            Ok::<_, StoreError>(
                tx.scan("user", "", None, 10)?
                    .into_iter()
                    .map(|(k, _)| k)
                    .collect(),
            )
        })
        .unwrap();
        assert_eq!(seen, vec!["a"]);
        let events = store.events_after(0, 10).unwrap();
        assert_eq!(events.len(), 1);
    }

    #[test]
    fn visit_sees_every_document_under_the_prefix_in_order() {
        let store = SqliteStore::in_memory().unwrap();
        let seen = transact(&store, |tx| {
            for k in ["a/2", "a/1", "ab", "b/1"] {
                tx.put("ns", k, k.as_bytes())?;
            }
            tx.put("other", "a/3", b"x")?;
            let mut seen = Vec::new();
            tx.visit("ns", "a/", &mut |k, v| {
                seen.push((k.to_string(), v.to_vec()));
            })?;
            Ok::<_, StoreError>(seen)
        })
        .unwrap();
        assert_eq!(
            seen,
            vec![
                ("a/1".to_string(), b"a/1".to_vec()),
                ("a/2".to_string(), b"a/2".to_vec())
            ]
        );
    }

    #[test]
    fn scan_respects_prefix_after_and_limit() {
        let store = SqliteStore::in_memory().unwrap();
        transact(&store, |tx| {
            for k in ["a/1", "a/2", "a/3", "b/1"] {
                tx.put("ns", k, k.as_bytes())?;
            }
            Ok::<_, StoreError>(())
        })
        .unwrap();
        let keys = |prefix: &str, after: Option<&str>, limit| -> Vec<String> {
            transact(&store, |tx| {
                Ok::<_, StoreError>(
                    tx.scan("ns", prefix, after, limit)?
                        .into_iter()
                        .map(|(k, _)| k)
                        .collect(),
                )
            })
            .unwrap()
        };
        assert_eq!(keys("a/", None, 10), vec!["a/1", "a/2", "a/3"]);
        assert_eq!(keys("a/", Some("a/1"), 1), vec!["a/2"]);
        assert_eq!(keys("", Some("a/3"), 10), vec!["b/1"]);
        assert!(keys("c/", None, 10).is_empty());
    }

    #[test]
    fn the_database_and_its_wal_and_shm_files_are_owner_only() {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let store = SqliteStore::open(&path, Durability::Normal).unwrap();
        transact(&store, |tx| tx.put("ns", "k", b"v")).unwrap();
        for name in ["t.db", "t.db-wal", "t.db-shm"] {
            let meta = std::fs::metadata(dir.path().join(name)).unwrap();
            assert_eq!(meta.mode() & 0o777, 0o600, "{name}");
        }
        drop(store);
        // A database an older version left readable is closed on open.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let _store = SqliteStore::open(&path, Durability::Normal).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().mode() & 0o777, 0o600);
    }

    /// Every record of the test account `filter` finds, newest first.
    fn looked_up(store: &SqliteStore, filter: LookupFilter) -> Vec<FoundEvent> {
        transact(store, |tx| {
            tx.lookup_events(&Lookup {
                account_id: "123456789012".into(),
                filter: Some(filter),
                start_ms: 0,
                end_ms: i64::MAX,
                before: None,
                limit: 5000,
            })
        })
        .unwrap()
    }

    /// The last record indexed, as another connection to the file sees it.
    fn indexed_in(path: &Path) -> i64 {
        Connection::open(path)
            .unwrap()
            .query_row(
                "SELECT indexed_upto FROM cloudtrail_lookup_state",
                [],
                |r| r.get(0),
            )
            .unwrap()
    }

    /// What another connection to the same file sees: committed rows only.
    fn committed_keys(path: &Path) -> Vec<String> {
        let conn = Connection::open(path).unwrap();
        let mut stmt = conn
            .prepare("SELECT key FROM kv WHERE ns = 'ns' ORDER BY key")
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    /// Thread `first` holds the writer until `behind` other calls queue up
    /// behind it; each call writes key `k<i>`, and the call numbered `fails`
    /// returns an error after writing. Returns each call's result.
    fn line_up(
        store: &Arc<SqliteStore>,
        behind: usize,
        fails: Option<usize>,
    ) -> Vec<Result<(), StoreError>> {
        let (held_tx, held_rx) = std::sync::mpsc::channel();
        let first = {
            let store = store.clone();
            std::thread::spawn(move || {
                transact(store.as_ref(), |tx| {
                    tx.put("ns", "k0", b"v")?;
                    held_tx.send(()).unwrap();
                    while store.queued() < behind {
                        std::thread::sleep(std::time::Duration::from_millis(1));
                    }
                    Ok::<_, StoreError>(())
                })
            })
        };
        held_rx.recv().unwrap();
        let others: Vec<_> = (1..=behind)
            .map(|i| {
                let store = store.clone();
                std::thread::spawn(move || {
                    transact(store.as_ref(), |tx| {
                        tx.put("ns", &format!("k{i}"), b"v")?;
                        tx.append_event(&event(&format!("e{i}")))?;
                        if fails == Some(i) {
                            return Err(StoreError::Poisoned);
                        }
                        Ok(())
                    })
                })
            })
            .collect();
        std::iter::once(first)
            .chain(others)
            .map(|t| t.join().unwrap())
            .collect()
    }

    #[test]
    fn calls_that_arrive_together_share_one_commit_and_return_after_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let store = Arc::new(SqliteStore::open(&path, Durability::Full).unwrap());
        let before = store.commits();
        let results = line_up(&store, 3, None);
        assert!(results.iter().all(Result::is_ok), "{results:?}");
        // Four calls, one commit: the first left its batch open for the three
        // queued behind it, and the last of them committed for all.
        assert_eq!(store.commits() - before, 1);
        // Every call returned after the commit: another connection sees all.
        assert_eq!(committed_keys(&path), ["k0", "k1", "k2", "k3"]);
        assert_eq!(store.events_after(0, 10).unwrap().len(), 3);
    }

    #[test]
    fn a_failing_call_in_a_batch_is_rolled_back_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let store = Arc::new(SqliteStore::open(&path, Durability::Normal).unwrap());
        let results = line_up(&store, 3, Some(2));
        assert!(matches!(results.get(2), Some(Err(StoreError::Poisoned))));
        assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 3);
        assert_eq!(committed_keys(&path), ["k0", "k1", "k3"]);
        let ids: Vec<String> = store
            .events_after(0, 10)
            .unwrap()
            .into_iter()
            .map(|e| e.seq.to_string())
            .collect();
        assert_eq!(ids.len(), 2, "the failed call's record is gone: {ids:?}");
    }

    #[test]
    fn a_panicking_call_is_rolled_back_and_the_store_goes_on() {
        let store = Arc::new(SqliteStore::in_memory().unwrap());
        let s = store.clone();
        let panicked = std::thread::spawn(move || {
            let _: Result<(), StoreError> = transact(s.as_ref(), |tx| {
                tx.put("ns", "half", b"v")?;
                panic!("a handler bug");
            });
        })
        .join();
        assert!(panicked.is_err(), "the panic reaches the caller");
        transact(store.as_ref(), |tx| tx.put("ns", "after", b"v")).unwrap();
        let keys = transact(store.as_ref(), |tx| {
            Ok::<_, StoreError>(
                tx.scan("ns", "", None, 10)?
                    .into_iter()
                    .map(|(k, _)| k)
                    .collect::<Vec<_>>(),
            )
        })
        .unwrap();
        assert_eq!(keys, ["after"]);
    }

    #[test]
    fn changes_move_only_for_namespaces_a_commit_wrote() {
        let store = SqliteStore::in_memory().unwrap();
        let (a, b) = (store.changes("tasks"), store.changes("roles"));
        transact(&store, |tx| tx.put("roles", "r", b"v")).unwrap();
        assert_eq!(store.changes("tasks"), a);
        assert_ne!(store.changes("roles"), b);
        // A rolled-back write is no change.
        let b = store.changes("roles");
        let _: Result<(), StoreError> = transact(&store, |tx| {
            tx.put("roles", "x", b"v")?;
            Err(StoreError::Poisoned)
        });
        assert_eq!(store.changes("roles"), b);
        // Reads, and records, are none either.
        transact(&store, |tx| {
            tx.get("tasks", "t")?;
            tx.append_event(&event("e"))
        })
        .unwrap();
        assert_eq!(store.changes("tasks"), a);
    }

    #[test]
    fn records_stored_before_the_deferred_index_are_found_through_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        {
            // A database as the previous binary left it: three migrations.
            let mut conn = Connection::open(&path).unwrap();
            for (i, sql) in MIGRATIONS.iter().take(3).enumerate() {
                let tx = conn.transaction().unwrap();
                tx.execute_batch(sql).unwrap();
                tx.pragma_update(None, "user_version", i64::try_from(i + 1).unwrap())
                    .unwrap();
                tx.commit().unwrap();
            }
            conn.execute_batch(
                "INSERT INTO cloudtrail_events (event_id, account_id, event_time, event_time_ms, event_source, event_name, read_only, username, access_key_id, record)
                 VALUES ('old', '123456789012', 't', 5, 'iam.amazonaws.com', 'CreateUser', 0, 'alice', 'AKIA1', '{\"old\":1}');
                 INSERT INTO cloudtrail_event_resources (seq, resource_type, resource_name) VALUES (1, 'AWS::IAM::User', 'bob');",
            )
            .unwrap();
        }
        let store = SqliteStore::open(&path, Durability::Normal).unwrap();
        let found = |filter: LookupFilter| looked_up(&store, filter).len();
        assert_eq!(indexed_in(&path), 1, "the migration indexed what was there");
        for filter in [
            LookupFilter::EventName("CreateUser".into()),
            LookupFilter::Username("alice".into()),
            LookupFilter::AccessKeyId("AKIA1".into()),
            LookupFilter::EventSource("iam.amazonaws.com".into()),
            LookupFilter::ReadOnly(false),
            LookupFilter::ResourceType("AWS::IAM::User".into()),
            LookupFilter::ResourceName("bob".into()),
        ] {
            assert_eq!(found(filter.clone()), 1, "{filter:?}");
        }
        assert_eq!(found(LookupFilter::ReadOnly(true)), 0);
    }

    #[test]
    fn a_commit_by_another_connection_moves_every_counter() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let store = SqliteStore::open(&path, Durability::Normal).unwrap();
        transact(&store, |tx| tx.get("ns", "k")).unwrap();
        let before = store.changes("iam.access_key");
        transact(&store, |tx| tx.get("ns", "k")).unwrap();
        assert_eq!(store.changes("iam.access_key"), before);
        // The CLI, say, deactivates a key while the server runs.
        Connection::open(&path)
            .unwrap()
            .execute_batch("INSERT INTO kv (ns, key, value) VALUES ('iam.access_key', 'k', x'00')")
            .unwrap();
        transact(&store, |tx| tx.get("ns", "k")).unwrap();
        assert_ne!(store.changes("iam.access_key"), before);
    }

    #[test]
    fn a_batch_of_reads_alone_is_not_held_open() {
        let store = Arc::new(SqliteStore::in_memory().unwrap());
        let before = store.commits();
        // A read-only call, with callers queued behind it, still ends its
        // transaction: nothing waits on it, so nothing may keep it open.
        let (held_tx, held_rx) = std::sync::mpsc::channel();
        let first = {
            let store = store.clone();
            std::thread::spawn(move || {
                transact(store.as_ref(), |tx| {
                    held_tx.send(()).unwrap();
                    while store.queued() < 1 {
                        std::thread::sleep(std::time::Duration::from_millis(1));
                    }
                    tx.get("ns", "k")
                })
                .unwrap();
            })
        };
        held_rx.recv().unwrap();
        let second = {
            let store = store.clone();
            std::thread::spawn(move || transact(store.as_ref(), |tx| tx.get("ns", "k")).unwrap())
        };
        first.join().unwrap();
        second.join().unwrap();
        assert_eq!(store.commits() - before, 2, "each read ended on its own");
    }

    #[test]
    fn catch_up_indexes_and_checkpoints_beside_the_writer() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let store = SqliteStore::open(&path, Durability::Normal).unwrap();
        for i in 0..20 {
            transact(&store, |tx| tx.append_event(&event(&format!("e{i}")))).unwrap();
        }
        // Until a checkpoint, what was written lives in the WAL only.
        let size = || std::fs::metadata(&path).unwrap().len();
        let before = size();
        assert_eq!(store.catch_up(CatchUp::All).unwrap(), 20);
        assert_eq!(indexed_in(&path), 20);
        assert!(
            size() > before,
            "catch_up copied the WAL into the database ({before} bytes before)"
        );
        assert_eq!(
            store.catch_up(CatchUp::All).unwrap(),
            0,
            "nothing new to index"
        );
    }

    #[test]
    fn catch_up_works_off_a_backlog_in_batches_and_lookups_stay_ordered() {
        let store = SqliteStore::in_memory().unwrap();
        let ids: Vec<String> = (0..1200).map(|i| format!("e{i}")).collect();
        for id in &ids {
            transact(&store, |tx| tx.append_event(&event(id))).unwrap();
        }
        let by_name =
            |store: &SqliteStore| looked_up(store, LookupFilter::EventName("CreateUser".into()));
        let before = by_name(&store);
        assert_eq!(before.len(), 1200, "the tail alone answers");
        // The worker's run takes at most CATCH_UP_RUN batches of 500.
        assert_eq!(store.catch_up(CatchUp::WhenWorthIt).unwrap(), 1200);
        assert_eq!(by_name(&store), before, "the index answers the same");
        // A record appended later with an older time sorts below the
        // indexed ones, though it is read from the tail.
        let older = EventRow {
            event_time_ms: 0,
            ..event("older")
        };
        transact(&store, |tx| tx.append_event(&older)).unwrap();
        let after = by_name(&store);
        assert_eq!(after.len(), 1201);
        assert_eq!(after.last().map(|f| f.event_time_ms), Some(0));
        assert_eq!(after.get(..1200), Some(&before[..]));
    }

    #[test]
    fn probe_write_waits_for_the_writer() {
        let store = std::sync::Arc::new(SqliteStore::in_memory().unwrap());
        store.probe_write().unwrap();
        let (held_tx, held_rx) = std::sync::mpsc::channel();
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let holder = {
            let store = store.clone();
            std::thread::spawn(move || {
                transact(store.as_ref(), |tx| {
                    tx.put("ns", "k", b"v")?;
                    held_tx.send(()).unwrap();
                    release_rx.recv().unwrap();
                    Ok::<_, StoreError>(())
                })
                .unwrap();
            })
        };
        held_rx.recv().unwrap();
        let (done_tx, done_rx) = std::sync::mpsc::channel();
        let prober = {
            let store = store.clone();
            std::thread::spawn(move || done_tx.send(store.probe_write().is_ok()).unwrap())
        };
        assert!(
            done_rx
                .recv_timeout(std::time::Duration::from_millis(200))
                .is_err(),
            "the probe must wait while a transaction holds the writer"
        );
        release_tx.send(()).unwrap();
        assert!(done_rx.recv().unwrap());
        holder.join().unwrap();
        prober.join().unwrap();
        // The probe wrote nothing.
        let v = transact(store.as_ref(), |tx| tx.get("health", "probe")).unwrap();
        assert_eq!(v, None);
    }

    #[test]
    fn reopening_keeps_data_and_does_not_remigrate() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        {
            let store = SqliteStore::open(&path, Durability::Full).unwrap();
            transact(&store, |tx| tx.put("ns", "k", b"v")).unwrap();
        }
        let store = SqliteStore::open(&path, Durability::Normal).unwrap();
        let v = transact(&store, |tx| tx.get("ns", "k")).unwrap();
        assert_eq!(v.as_deref(), Some(&b"v"[..]));
    }
}
