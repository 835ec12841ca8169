//! `trailguard scan`: the detection engine over exported logs.
//!
//! Files are taken in a stable order (arguments in turn, folders sorted and
//! walked), and each core takes the next file: it inflates it, finds its
//! records ([`input`]), parses each once and checks it against every rule that
//! looks at it. Candidates go to one collector, which aggregates them as
//! GuardDuty does ([`aggregate`]) and writes them at the end ([`output`]).
//! Bad input never stops a scan: each problem is reported with its file and
//! position and counted.

pub mod aggregate;
pub mod input;
pub mod output;
pub mod split;

use aggregate::Findings;
use input::{Problem, Sink, Source};
use std::cell::RefCell;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use time::OffsetDateTime;
use trailguard_detect::engine::Seen;
use trailguard_detect::state::{self, Fact, State};
use trailguard_detect::{Candidate, Cx, Engine, EventRef, Intel, NoFacts, Origin, Record};
use trailguard_sigma::correlation::{Correlations, Correlator, Hit};

pub use output::Format;

/// What to scan and how.
pub struct Options {
    pub paths: Vec<PathBuf>,
    pub engine: Engine,
    /// Sigma correlation rules over the engine's Sigma rules.
    pub correlations: Correlations,
    /// Run the built-in remembering detectors (baselines, windows).
    pub remember: bool,
    pub intel: Intel,
    pub format: Format,
    /// Findings below this severity are not written.
    pub min_severity: f64,
    pub since: Option<OffsetDateTime>,
    pub until: Option<OffsetDateTime>,
    pub account: Option<String>,
    pub region: Option<String>,
    /// Worker threads (default: the cores available).
    pub threads: Option<usize>,
    /// Show a progress bar (when standard error is a terminal).
    pub progress: bool,
}

/// A problem met, with the file it was in.
#[derive(Debug, Clone)]
pub struct Reported {
    pub file: String,
    pub problem: Problem,
}

/// What a scan did.
#[derive(Debug, Default, Clone)]
pub struct Summary {
    pub files: u64,
    pub bytes: u64,
    pub records: u64,
    /// Records that were not CloudTrail records.
    pub bad_records: u64,
    /// Records left out by `--since`, `--until`, `--account`, `--region`.
    pub filtered: u64,
    /// The first problems met (all are counted in `problem_count`).
    pub problems: Vec<Reported>,
    pub problem_count: u64,
    /// Files and folders that could not be read at all.
    pub io_errors: u64,
    pub findings: u64,
    /// Findings not kept, past the bound on findings in memory.
    pub dropped_findings: u64,
    /// Findings written (at or above the minimum severity).
    pub written: u64,
    pub elapsed: Duration,
}

/// Problems kept for the summary (all are counted).
const MAX_PROBLEMS_KEPT: usize = 1_000;

struct Shared<'o> {
    opts: &'o Options,
    files: &'o [Source],
    next: AtomicUsize,
    /// The first file whose facts the remembering detectors still wait for.
    ordered: AtomicUsize,
    bytes: AtomicU64,
    records: AtomicU64,
    done_files: AtomicU64,
    found: AtomicU64,
}

enum Msg {
    Found(Findings),
    /// A block's facts for the remembering detectors and its correlation
    /// hits, in input order within the file.
    Facts(u32, Vec<Fact>, Vec<Hit>),
    /// A file is read to its end.
    Done(u32),
    Problem(u32, Problem),
    Unreadable(u32, String),
    Counts {
        bad: u64,
        filtered: u64,
    },
}

/// One worker's view of a file being read.
struct FileSink<'s, 'o> {
    shared: &'s Shared<'o>,
    file: u32,
    tx: &'s mpsc::SyncSender<Msg>,
    /// This block's findings, aggregated before they are sent.
    found: RefCell<Findings>,
    /// This block's facts for the remembering detectors.
    facts: Vec<Fact>,
    hits: Vec<Hit>,
    scratch: Vec<Candidate>,
    records: u64,
    bad: u64,
    filtered: u64,
}

impl FileSink<'_, '_> {
    fn keep(&self, r: &Record<'_>) -> bool {
        let o = self.shared.opts;
        o.since.is_none_or(|t| r.time() >= t)
            && o.until.is_none_or(|t| r.time() < t)
            && o.account.as_deref().is_none_or(|a| r.account() == a)
            && o.region.as_deref().is_none_or(|g| r.region() == g)
    }
}

impl Sink for FileSink<'_, '_> {
    fn record(&mut self, text: &str, offset: u64, line: u64) -> Option<usize> {
        self.records += 1;
        let (parsed, len) = Record::parse_first(text);
        let r = match parsed {
            Ok(r) => r,
            Err(e) => {
                self.bad += 1;
                let _ = self.tx.send(Msg::Problem(
                    self.file,
                    Problem::at(offset, line, e.to_string()),
                ));
                return len;
            }
        };
        if !self.keep(&r) {
            self.filtered += 1;
            return len;
        }
        let mut facts = NoFacts;
        let seen = Here { found: &self.found };
        let mut cx = Cx {
            intel: &self.shared.opts.intel,
            facts: &mut facts,
            origin: Some(Origin {
                file: self.file,
                offset,
                line,
            }),
            seen: Some(&seen),
        };
        self.shared
            .opts
            .engine
            .check(&r, &mut cx, &mut self.scratch);
        if r.damaged() {
            self.bad += 1;
            let p = Problem::at(
                offset,
                line,
                "a nested document of the record could not be decoded (nested too deep?); the record was not judged",
            );
            let _ = self.tx.send(Msg::Problem(self.file, p));
            self.scratch.clear();
            return len;
        }
        if self.shared.opts.remember
            && let Some(f) = state::fact(&r, &cx)
        {
            self.facts.push(f);
        }
        let correlations = &self.shared.opts.correlations;
        if !correlations.is_empty() {
            correlations.hits(&r, cx.origin, &mut self.hits);
        }
        let mut found = self.found.borrow_mut();
        for c in self.scratch.drain(..) {
            found.add(c);
        }
        len
    }

    fn problem(&mut self, p: Problem) {
        let _ = self.tx.send(Msg::Problem(self.file, p));
    }

    fn progress(&mut self, bytes: u64) {
        self.shared.bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    fn flush(&mut self) {
        self.shared
            .records
            .fetch_add(self.records, Ordering::Relaxed);
        self.records = 0;
        if !self.found.get_mut().is_empty() {
            let found = self.found.take();
            self.shared
                .found
                .fetch_add(found.len() as u64, Ordering::Relaxed);
            let _ = self.tx.send(Msg::Found(found));
        }
        if !self.facts.is_empty() || !self.hits.is_empty() {
            let facts = std::mem::take(&mut self.facts);
            let hits = std::mem::take(&mut self.hits);
            let _ = self.tx.send(Msg::Facts(self.file, facts, hits));
        }
        if self.bad > 0 || self.filtered > 0 {
            let _ = self.tx.send(Msg::Counts {
                bad: self.bad,
                filtered: self.filtered,
            });
            self.bad = 0;
            self.filtered = 0;
        }
    }
}

/// The block's findings, where repeats are counted on the spot.
struct Here<'h> {
    found: &'h RefCell<Findings>,
}

impl Seen for Here<'_> {
    fn again(&self, key: &str, r: &Record<'_>, origin: Option<Origin>) -> bool {
        self.found
            .borrow_mut()
            .again(r.account(), r.region(), key, r.time(), || EventRef {
                event_id: r.event_id().to_string(),
                origin,
            })
    }
}

/// How many files a worker may start ahead of the oldest file the
/// remembering detectors still wait for (bounding the facts held back).
const AHEAD: usize = 64;

fn work(shared: &Shared<'_>, tx: mpsc::SyncSender<Msg>) {
    loop {
        let i = shared.next.fetch_add(1, Ordering::Relaxed);
        let Some(source) = shared.files.get(i) else {
            return;
        };
        while i >= shared.ordered.load(Ordering::Acquire) + AHEAD {
            std::thread::sleep(Duration::from_millis(1));
        }
        let file = u32::try_from(i).unwrap_or(u32::MAX);
        let mut sink = FileSink {
            shared,
            file,
            tx: &tx,
            found: RefCell::new(Findings::default()),
            facts: Vec::new(),
            hits: Vec::new(),
            scratch: Vec::new(),
            records: 0,
            bad: 0,
            filtered: 0,
        };
        // Done is said even if reading the file panics, so the files after
        // it are not held back for ever.
        let done = DoneGuard { tx: &tx, file };
        if let Err(e) = input::read(source, &mut sink) {
            let _ = tx.send(Msg::Unreadable(file, e.to_string()));
        }
        sink.flush();
        drop(done);
        shared.done_files.fetch_add(1, Ordering::Relaxed);
    }
}

/// Says a file is done when dropped.
struct DoneGuard<'t> {
    tx: &'t mpsc::SyncSender<Msg>,
    file: u32,
}

impl Drop for DoneGuard<'_> {
    fn drop(&mut self) {
        let _ = self.tx.send(Msg::Done(self.file));
    }
}

/// A block's facts and correlation hits.
type Block = (Vec<Fact>, Vec<Hit>);

/// Feeds facts to the remembering detectors in input order: a file's facts
/// wait until every file before it is done.
struct Ordered<'o> {
    correlations: &'o Correlations,
    correlator: Correlator,
    state: State,
    /// The first file not yet done.
    next: u32,
    waiting: std::collections::BTreeMap<u32, Vec<Block>>,
    done: std::collections::BTreeSet<u32>,
    raised: Vec<Candidate>,
}

impl<'o> Ordered<'o> {
    fn new(correlations: &'o Correlations) -> Self {
        Self {
            correlations,
            correlator: Correlator::default(),
            state: State::default(),
            next: 0,
            waiting: Default::default(),
            done: Default::default(),
            raised: Vec::new(),
        }
    }

    fn facts(&mut self, file: u32, facts: Vec<Fact>, hits: Vec<Hit>) {
        if file == self.next {
            self.apply(facts, hits);
        } else {
            self.waiting.entry(file).or_default().push((facts, hits));
        }
    }

    fn apply(&mut self, facts: Vec<Fact>, hits: Vec<Hit>) {
        for f in &facts {
            self.state.observe(f, &mut self.raised);
        }
        for h in hits {
            self.correlator
                .observe(self.correlations, h, &mut self.raised);
        }
    }

    fn done(&mut self, file: u32) {
        self.done.insert(file);
        while self.done.remove(&self.next) {
            self.next += 1;
            if let Some(blocks) = self.waiting.remove(&self.next) {
                for (facts, hits) in blocks {
                    self.apply(facts, hits);
                }
            }
        }
    }
}

/// Runs a scan, writing findings to `out`. Findings are written once the
/// input is read (aggregation needs all of it).
pub fn run(opts: &Options, out: &mut dyn Write) -> std::io::Result<Summary> {
    let started = Instant::now();
    let (files, walk_errors) = input::walk(&opts.paths);
    let names: Vec<String> = files.iter().map(Source::display).collect();
    let mut summary = Summary {
        files: files.len() as u64,
        io_errors: walk_errors.len() as u64,
        ..Summary::default()
    };
    for (path, e) in walk_errors {
        summary.problem_count += 1;
        summary.problems.push(Reported {
            file: path,
            problem: Problem::whole(e),
        });
    }
    let shared = Shared {
        opts,
        files: &files,
        next: AtomicUsize::new(0),
        ordered: AtomicUsize::new(0),
        bytes: AtomicU64::new(0),
        records: AtomicU64::new(0),
        done_files: AtomicU64::new(0),
        found: AtomicU64::new(0),
    };
    let threads = opts
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .clamp(1, 64)
        .min(files.len().max(1));
    let mut findings = Findings::default();
    let mut ordered = Ordered::new(&opts.correlations);
    let bar = opts.progress.then(|| progress_bar(files.len() as u64));
    std::thread::scope(|scope| {
        // Bounded: workers wait rather than pile up findings in memory.
        let (tx, rx) = mpsc::sync_channel(256);
        for _ in 0..threads {
            let tx = tx.clone();
            let shared = &shared;
            scope.spawn(move || work(shared, tx));
        }
        drop(tx);
        loop {
            match rx.recv_timeout(Duration::from_millis(200)) {
                Ok(Msg::Found(found)) => findings.merge(found),
                Ok(Msg::Facts(file, facts, hits)) => ordered.facts(file, facts, hits),
                Ok(Msg::Done(file)) => {
                    ordered.done(file);
                    shared
                        .ordered
                        .store(ordered.next as usize, Ordering::Release);
                }
                Ok(Msg::Problem(file, problem)) => {
                    keep_problem(&mut summary, &names, file, problem);
                }
                Ok(Msg::Unreadable(file, e)) => {
                    summary.io_errors += 1;
                    keep_problem(&mut summary, &names, file, Problem::whole(e));
                }
                Ok(Msg::Counts { bad, filtered }) => {
                    summary.bad_records += bad;
                    summary.filtered += filtered;
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
            for c in ordered.raised.drain(..) {
                findings.add(c);
            }
            if let Some(bar) = &bar {
                tick(bar, &shared, started, findings.len());
            }
        }
    });
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    summary.bytes = shared.bytes.load(Ordering::Relaxed);
    summary.records = shared.records.load(Ordering::Relaxed);
    summary.findings = findings.len() as u64;
    summary.dropped_findings = findings.dropped;
    let now = trailguard_model::clock::iso8601_millis(OffsetDateTime::now_utc());
    if opts.format == Format::Table {
        writeln!(out, "{}", output::table_header())?;
    }
    for (key, f) in findings.into_sorted() {
        if f.first.finding_type.severity < opts.min_severity {
            continue;
        }
        summary.written += 1;
        match opts.format {
            Format::Jsonl => writeln!(out, "{}", output::jsonl(&key, &f, &names))?,
            Format::GuardDuty => writeln!(out, "{}", output::guardduty(&key, &f, &names, &now))?,
            Format::Ocsf => writeln!(out, "{}", output::ocsf(&key, &f, &names))?,
            Format::Table => writeln!(out, "{}", output::table_row(&f))?,
        }
    }
    out.flush()?;
    summary.elapsed = started.elapsed();
    Ok(summary)
}

fn keep_problem(summary: &mut Summary, names: &[String], file: u32, problem: Problem) {
    summary.problem_count += 1;
    if summary.problems.len() < MAX_PROBLEMS_KEPT {
        summary.problems.push(Reported {
            file: names.get(file as usize).cloned().unwrap_or_default(),
            problem,
        });
    }
}

fn progress_bar(files: u64) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(files);
    bar.set_draw_target(indicatif::ProgressDrawTarget::stderr_with_hz(5));
    let style = indicatif::ProgressStyle::with_template(
        "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} files  {msg}",
    )
    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
    bar.set_style(style);
    bar
}

fn tick(bar: &indicatif::ProgressBar, shared: &Shared<'_>, started: Instant, findings: usize) {
    let secs = started.elapsed().as_secs_f64().max(0.001);
    let bytes = shared.bytes.load(Ordering::Relaxed);
    let records = shared.records.load(Ordering::Relaxed);
    bar.set_position(shared.done_files.load(Ordering::Relaxed));
    bar.set_message(format!(
        "{:.1} MB/s  {:.0} records/s  {records} records  {findings} findings",
        bytes as f64 / secs / 1e6,
        records as f64 / secs,
    ));
}
