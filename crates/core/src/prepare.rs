//! Slow work outside the store's writer: prepare outside, commit inside.
//!
//! The rule (ARCHITECTURE.md, "Nothing slow under the writer"): while a store
//! transaction is open, nothing slow, external or unbounded runs. A handler that
//! needs such work (speech synthesis, a page of policy simulation, parsing a list
//! file) describes it as a [`Job`] carrying every input the work depends on and
//! asks [`crate::env::Env::prepared`] for its result. The first time there is
//! none: the call fails with [`Error::NeedsPreparation`], so the transaction rolls
//! back and the writer is released; [`transact_prepared`] then runs the job with
//! no transaction open, under [`Workers`]' bound on concurrent jobs, keeps the
//! result keyed by the job (its full inputs) and runs the transaction again. The
//! handler, asking for the same inputs, now gets the result and commits its
//! change and its CloudTrail record together, as every call does. If a concurrent
//! write changed the inputs meanwhile, it asks for the new job; after
//! [`MAX_PREPARATIONS`] jobs the call answers `ThrottlingException`.
//!
//! Authorization runs before the handler (`run_operation`), so a caller who is
//! denied never causes a job. Jobs are pure functions of their inputs (and of
//! immutable, content-addressed blobs), so running one twice or throwing its
//! result away is harmless.

use crate::error::{Error, Result};
use std::any::Any;
use std::fmt;
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};
use trailguard_store::{Blobs, Store, Tx, transact};

/// Jobs one call may have run for it before it gives up: a handler needs one per
/// slow step, and one more round each time a concurrent write changed its inputs.
pub const MAX_PREPARATIONS: usize = 3;
/// How long a job waits for a free worker before its call is throttled.
pub const WORKER_WAIT: Duration = Duration::from_secs(10);

/// What a job may read besides its own inputs.
pub struct JobContext<'a> {
    /// Content-addressed object bytes: immutable, so reading them outside the
    /// transaction that found their id is safe.
    pub blobs: &'a dyn Blobs,
}

/// Slow work with every input it depends on. Equal jobs give equal results, so
/// a result is reused only by a handler asking with exactly the same inputs.
pub trait Job: Any + Send + Sync + PartialEq + fmt::Debug {
    /// The result handed to the handler (failures included, as data).
    type Output: Clone + Send + Sync + 'static;
    /// Does the work; never called with a transaction open.
    fn run(&self, ctx: &JobContext<'_>) -> Self::Output;
}

/// Parses object bytes with a pure function: the job for reading a blob (a
/// GuardDuty list file in a bucket) outside the writer.
pub trait BlobParser: Send + Sync + PartialEq + fmt::Debug + 'static {
    type Output: Clone + Send + Sync + 'static;
    fn parse(&self, bytes: &[u8]) -> Self::Output;
}

/// Reads one blob and parses it. Blobs are content-addressed, so the id found
/// in the transaction names the same bytes when the job reads them. The handler
/// checks the object's recorded size against `max_bytes` before asking (so an
/// oversized object is never read); the job checks the bytes again.
#[derive(Debug, PartialEq, Eq)]
pub struct ParseBlob<P> {
    pub blob: String,
    pub max_bytes: usize,
    pub parser: P,
}

impl<P: BlobParser> Job for ParseBlob<P> {
    /// `None` when the blob is missing, unreadable or over `max_bytes`.
    type Output = Option<P::Output>;

    fn run(&self, ctx: &JobContext<'_>) -> Self::Output {
        match ctx.blobs.get(&self.blob) {
            Ok(Some(bytes)) if bytes.len() <= self.max_bytes => Some(self.parser.parse(&bytes)),
            Ok(_) => None,
            Err(e) => {
                tracing::warn!(error = %e, "a blob could not be read");
                None
            }
        }
    }
}

/// A blob's bytes, whole: S3's `GetObject` reads an object's bytes outside the
/// writer through `ParseBlob<WholeBlob>`.
#[derive(Debug, PartialEq, Eq)]
pub struct WholeBlob;

impl BlobParser for WholeBlob {
    type Output = std::sync::Arc<Vec<u8>>;

    fn parse(&self, bytes: &[u8]) -> Self::Output {
        std::sync::Arc::new(bytes.to_vec())
    }
}

/// Writes object bytes as a blob (durably, before the transaction that names
/// it commits): S3's `PutObject` without disk writes and fsyncs under the
/// writer. Its output is the blob's id, or why it could not be written.
#[derive(PartialEq, Eq)]
pub struct StoreBlob {
    pub bytes: std::sync::Arc<Vec<u8>>,
}

impl fmt::Debug for StoreBlob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreBlob")
            .field("bytes", &self.bytes.len())
            .finish()
    }
}

impl Job for StoreBlob {
    type Output = std::result::Result<String, String>;

    fn run(&self, ctx: &JobContext<'_>) -> Self::Output {
        ctx.blobs.put(&self.bytes).map_err(|e| e.to_string())
    }
}

thread_local! {
    /// Set while this thread runs a transaction body for a call or for
    /// background work, so slow work can refuse to start inside one.
    static IN_TRANSACTION: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Marks this thread as inside a transaction until dropped.
pub(crate) struct InTransaction(bool);

impl InTransaction {
    pub(crate) fn enter() -> Self {
        Self(IN_TRANSACTION.with(|t| t.replace(true)))
    }
}

impl Drop for InTransaction {
    fn drop(&mut self) {
        IN_TRANSACTION.with(|t| t.set(self.0));
    }
}

/// Refuses slow work inside a transaction: the rule checked where slow work
/// starts (every job, and each speech program), so a code path that breaks it
/// fails loudly instead of stalling every other call.
pub fn outside_transaction() -> Result<()> {
    if IN_TRANSACTION.with(std::cell::Cell::get) {
        return Err(Error::Corrupt(
            "slow work was started inside a store transaction".into(),
        ));
    }
    Ok(())
}

/// A job with its types erased, so one error variant and one cache carry any.
trait AnyJob: Send + Sync + fmt::Debug {
    fn as_any(&self) -> &dyn Any;
    fn run_erased(&self, ctx: &JobContext<'_>) -> Box<dyn Any + Send + Sync>;
}

impl<J: Job> AnyJob for J {
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn run_erased(&self, ctx: &JobContext<'_>) -> Box<dyn Any + Send + Sync> {
        Box::new(self.run(ctx))
    }
}

/// A job a handler asked for, carried out of its transaction by
/// [`Error::NeedsPreparation`].
pub struct Pending(Box<dyn AnyJob>);

impl Pending {
    pub fn new<J: Job>(job: J) -> Self {
        Self(Box::new(job))
    }
}

impl fmt::Debug for Pending {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The results of the jobs run for one call, keyed by the jobs themselves.
#[derive(Default)]
pub struct Prepared {
    done: Vec<(Box<dyn AnyJob>, Box<dyn Any + Send + Sync>)>,
}

impl Prepared {
    /// The result of a job with exactly these inputs, if one ran for this call.
    pub fn get<J: Job>(&self, job: &J) -> Option<J::Output> {
        self.done.iter().find_map(|(j, out)| {
            let same = j.as_any().downcast_ref::<J>().is_some_and(|j| j == job);
            if same {
                out.downcast_ref::<J::Output>().cloned()
            } else {
                None
            }
        })
    }

    fn insert(&mut self, job: Pending, out: Box<dyn Any + Send + Sync>) {
        self.done.push((job.0, out));
    }
}

/// The bound on jobs running at once, so slow work can neither take every
/// blocking thread nor every core: a job waits up to [`WORKER_WAIT`] for a
/// place, then its call is throttled.
pub struct Workers {
    busy: Mutex<usize>,
    freed: Condvar,
    places: usize,
    wait: Duration,
}

impl Default for Workers {
    /// One place per core, at least two.
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
        Self::new(cores.max(2), WORKER_WAIT)
    }
}

impl Workers {
    pub fn new(places: usize, wait: Duration) -> Self {
        Self {
            busy: Mutex::new(0),
            freed: Condvar::new(),
            places: places.max(1),
            wait,
        }
    }

    /// Runs `job` once a place is free.
    fn run(&self, job: &Pending, ctx: &JobContext<'_>) -> Result<Box<dyn Any + Send + Sync>> {
        outside_transaction()?;
        let _place = self.take()?;
        Ok(job.0.run_erased(ctx))
    }

    fn take(&self) -> Result<Place<'_>> {
        let deadline = Instant::now() + self.wait;
        let mut busy = self.busy.lock().map_err(|_| poisoned())?;
        while *busy >= self.places {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(Error::Throttling(
                    "Rate exceeded: too many slow requests are running; try again later.".into(),
                ));
            }
            busy = self
                .freed
                .wait_timeout(busy, left)
                .map_err(|_| poisoned())?
                .0;
        }
        *busy += 1;
        Ok(Place(self))
    }
}

fn poisoned() -> Error {
    Error::Store(trailguard_store::StoreError::Poisoned)
}

/// A taken place, given back when dropped (also if the job panics).
struct Place<'a>(&'a Workers);

impl Drop for Place<'_> {
    fn drop(&mut self) {
        if let Ok(mut busy) = self.0.busy.lock() {
            *busy = busy.saturating_sub(1);
        }
        self.0.freed.notify_one();
    }
}

/// Runs `body` in a transaction, as [`transact`] does, running each job it asks
/// for between two attempts, with no transaction open (see the module docs).
pub fn transact_prepared<T>(
    store: &dyn Store,
    workers: &Workers,
    ctx: &JobContext<'_>,
    mut body: impl FnMut(&mut dyn Tx, &Prepared) -> Result<T>,
) -> Result<T> {
    let mut prepared = Prepared::default();
    let mut attempt = |tx: &mut dyn Tx, prepared: &Prepared| {
        let _inside = InTransaction::enter();
        body(tx, prepared)
    };
    for _ in 0..MAX_PREPARATIONS {
        match transact(store, |tx| attempt(tx, &prepared)) {
            // Rolled back: the writer is free while the job runs.
            Err(Error::NeedsPreparation(job)) => {
                let out = workers.run(&job, ctx)?;
                prepared.insert(job, out);
            }
            other => return other,
        }
    }
    match transact(store, |tx| attempt(tx, &prepared)) {
        Err(Error::NeedsPreparation(_)) => Err(Error::Throttling(
            "Rate exceeded: the request's inputs kept changing while it was prepared; try again."
                .into(),
        )),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use trailguard_store::{Blobs, MemBlobs, Outcome, SqliteStore, StoreError, StoredEvent};

    /// A store that knows whether a transaction is open.
    struct Watched {
        inner: SqliteStore,
        open: Arc<AtomicBool>,
    }

    impl Store for Watched {
        fn run(
            &self,
            body: &mut dyn FnMut(&mut dyn Tx) -> std::result::Result<Outcome, StoreError>,
        ) -> std::result::Result<(), StoreError> {
            self.inner.run(&mut |tx| {
                self.open.store(true, Ordering::SeqCst);
                let r = body(tx);
                self.open.store(false, Ordering::SeqCst);
                r
            })
        }
        fn events_after(
            &self,
            seq: i64,
            limit: usize,
        ) -> std::result::Result<Vec<StoredEvent>, StoreError> {
            self.inner.events_after(seq, limit)
        }
    }

    /// Reads a counter: the job's input. Running it, the test plays a
    /// concurrent writer that bumps the counter `bumps` times.
    #[derive(Debug)]
    struct Double {
        input: u64,
        open: Arc<AtomicBool>,
        ran: Arc<AtomicUsize>,
        bumps: usize,
        store: Arc<Watched>,
    }

    impl PartialEq for Double {
        fn eq(&self, other: &Self) -> bool {
            self.input == other.input
        }
    }

    impl fmt::Debug for Watched {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("Watched")
        }
    }

    impl Job for Double {
        type Output = u64;
        fn run(&self, _: &JobContext<'_>) -> u64 {
            assert!(
                !self.open.load(Ordering::SeqCst),
                "a job ran inside a transaction"
            );
            let n = self.ran.fetch_add(1, Ordering::SeqCst);
            if n < self.bumps {
                // The writer is free: a concurrent write gets through.
                transact::<_, Error, _>(self.store.as_ref(), |tx| {
                    tx.put("t", "n", (self.input + 1).to_string().as_bytes())?;
                    Ok(())
                })
                .unwrap();
            }
            self.input * 2
        }
    }

    fn run_with(bumps: usize) -> (Result<u64>, usize, usize) {
        let open = Arc::new(AtomicBool::new(false));
        let store = Arc::new(Watched {
            inner: SqliteStore::in_memory().unwrap(),
            open: open.clone(),
        });
        transact::<_, Error, _>(store.as_ref(), |tx| Ok(tx.put("t", "n", b"1")?)).unwrap();
        let ran = Arc::new(AtomicUsize::new(0));
        let blobs = MemBlobs::default();
        let workers = Workers::default();
        let mut attempts = 0;
        let out = transact_prepared(
            store.as_ref(),
            &workers,
            &JobContext { blobs: &blobs },
            |tx, prepared| {
                attempts += 1;
                let input: u64 = String::from_utf8(tx.get("t", "n")?.unwrap())
                    .unwrap()
                    .parse()
                    .unwrap();
                let job = Double {
                    input,
                    open: open.clone(),
                    ran: ran.clone(),
                    bumps,
                    store: store.clone(),
                };
                match prepared.get(&job) {
                    Some(doubled) => {
                        tx.put("t", "out", doubled.to_string().as_bytes())?;
                        Ok(doubled)
                    }
                    None => Err(Error::NeedsPreparation(Pending::new(job))),
                }
            },
        );
        (out, ran.load(Ordering::SeqCst), attempts)
    }

    #[test]
    fn a_job_runs_outside_the_transaction_and_its_result_is_committed() {
        let (out, ran, attempts) = run_with(0);
        assert_eq!(out.unwrap(), 2);
        assert_eq!((ran, attempts), (1, 2));
    }

    #[test]
    fn changed_inputs_ask_again_with_the_new_inputs() {
        // The first job's input changes while it runs: its result is not used.
        let (out, ran, attempts) = run_with(1);
        assert_eq!(out.unwrap(), 4);
        assert_eq!((ran, attempts), (2, 3));
    }

    #[test]
    fn rounds_are_bounded_then_throttled() {
        let (out, ran, attempts) = run_with(usize::MAX);
        assert!(matches!(out, Err(Error::Throttling(_))), "{out:?}");
        assert_eq!((ran, attempts), (MAX_PREPARATIONS, MAX_PREPARATIONS + 1));
    }

    /// Counts lines, as a list parser would parse entries.
    #[derive(Debug, PartialEq)]
    struct Lines;

    impl BlobParser for Lines {
        type Output = usize;
        fn parse(&self, bytes: &[u8]) -> usize {
            bytes
                .split(|b| *b == b'\n')
                .filter(|l| !l.is_empty())
                .count()
        }
    }

    #[test]
    fn a_blob_is_parsed_by_a_job_within_its_size() {
        let blobs = MemBlobs::default();
        let id = blobs.put(b"10.0.0.1\n10.0.0.2\n").unwrap();
        let ctx = JobContext { blobs: &blobs };
        let job = |max_bytes| ParseBlob {
            blob: id.clone(),
            max_bytes,
            parser: Lines,
        };
        assert_eq!(job(1024).run(&ctx), Some(2));
        assert_eq!(job(4).run(&ctx), None);
        let missing = ParseBlob {
            blob: "0".repeat(64),
            max_bytes: 1024,
            parser: Lines,
        };
        assert_eq!(missing.run(&ctx), None);
        // Jobs on different blobs or limits are different jobs.
        assert_ne!(job(1024), job(4));
    }

    #[test]
    fn slow_work_refuses_to_start_inside_a_transaction() {
        assert!(outside_transaction().is_ok());
        let blobs = MemBlobs::default();
        let ctx = JobContext { blobs: &blobs };
        let job = Pending::new(ParseBlob {
            blob: "0".repeat(64),
            max_bytes: 1,
            parser: Lines,
        });
        {
            let _inside = InTransaction::enter();
            assert!(matches!(
                Workers::default().run(&job, &ctx),
                Err(Error::Corrupt(_))
            ));
        }
        assert!(Workers::default().run(&job, &ctx).is_ok());
    }

    #[test]
    fn workers_bound_concurrent_jobs_and_throttle_past_the_wait() {
        let workers = Workers::new(1, Duration::from_millis(50));
        let held = workers.take().unwrap();
        assert!(matches!(workers.take(), Err(Error::Throttling(_))));
        drop(held);
        assert!(workers.take().is_ok());
    }
}
