//! Live detection: the detection engine (`trailguard-detect`) over the
//! account's own CloudTrail records as they commit.
//!
//! Each enabled detector keeps a cursor into the audit table; the server's
//! worker moves it every tick, in one transaction with the findings it makes, so
//! a record is examined exactly once. The rules, their finding types and their
//! aggregation keys are the engine's (one file each under
//! `crates/detect/src/rules/`); this module gives them the detector's lists as
//! intelligence and its role's reads as facts ([`super::enrich`]), and turns
//! their candidates into findings ([`findings::upsert`]).
//!
//! A detector sees the records of its account and region (IAM's global events
//! are seen in us-east-1, where they are recorded).

use super::enrich::RoleReads;
use super::findings;
use super::lists::{self, Kind};
use super::{Detector, NS_DETECTOR};
use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, OnceLock};
use trailguard_core::Services;
use trailguard_core::env::Env;
use trailguard_core::error::Result;
use trailguard_core::module::{BackgroundJob, Moment, Quiet};
use trailguard_detect::Candidate;
use trailguard_detect::intel::{IpSet, ThreatList};
use trailguard_detect::state::{self, Fact, Profile};
use trailguard_detect::{Cx, Engine, Intel, Record};
use trailguard_model::ApiError;

const NS_CURSOR: &str = "guardduty.cursor";
/// What the detector remembers of each principal (`trailguard_detect::state`),
/// one row each, written in the transaction that moves the cursor.
const NS_PROFILE: &str = "guardduty.profile";
const BATCH: usize = 2_000;
/// Batches one detection run (one transaction) takes at most.
const MAX_BATCHES: usize = 8;

/// CreateDetector: detection starts with the records committed from now on
/// (the store's feed watermark: on a store with concurrent writers, a record
/// still being committed below it is never skipped).
pub fn start(env: &mut Env<'_>, d: &Detector) -> Result<()> {
    let seq = env.tx.feed_watermark()?;
    env.put(NS_CURSOR, &d.key(), &seq)
}

/// DeleteDetector.
pub fn forget(env: &mut Env<'_>, d: &Detector) -> Result<()> {
    env.delete(NS_CURSOR, &d.key())?;
    env.delete_prefix(NS_PROFILE, &d.prefix())?;
    Ok(())
}

/// The profiles a run has read and changed, written back at its end.
struct Profiles {
    prefix: String,
    read: HashMap<u64, Profile>,
    changed: HashSet<u64>,
}

impl Profiles {
    fn new(d: &Detector) -> Self {
        Self {
            prefix: d.prefix(),
            read: HashMap::new(),
            changed: HashSet::new(),
        }
    }

    fn observe(&mut self, env: &mut Env<'_>, f: &Fact, out: &mut Vec<Candidate>) -> Result<()> {
        self.profile(env, f.principal)?.observe(f, out);
        if let Some((instance, _, _)) = f.instance {
            self.profile(env, instance)?.observe_instance(f, out);
        }
        Ok(())
    }

    /// A profile, read from the store on first use in this run.
    fn profile(&mut self, env: &mut Env<'_>, key: u64) -> Result<&mut Profile> {
        self.changed.insert(key);
        Ok(match self.read.entry(key) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(e) => {
                let stored = format!("{}{key:016x}", self.prefix);
                e.insert(env.get(NS_PROFILE, &stored)?.unwrap_or_default())
            }
        })
    }

    fn save(self, env: &mut Env<'_>) -> Result<()> {
        for p in self.changed {
            if let Some(profile) = self.read.get(&p) {
                env.put(NS_PROFILE, &format!("{}{p:016x}", self.prefix), profile)?;
            }
        }
        Ok(())
    }
}

/// The built-in rules, indexed once.
fn builtin() -> Arc<Engine> {
    static ENGINE: OnceLock<Arc<Engine>> = OnceLock::new();
    ENGINE.get_or_init(|| Arc::new(Engine::builtin())).clone()
}

/// Whether the detector sees a record.
fn sees(d: &Detector, r: &Record<'_>) -> bool {
    r.account() == d.account && r.region() == d.region
}

/// The detector's active lists, as the engine's intelligence.
fn intel(env: &mut Env<'_>, d: &Detector) -> Result<Intel> {
    let trusted = lists::active(env, d, Kind::Trusted)?;
    let threats = lists::active(env, d, Kind::Threat)?;
    Ok(Intel {
        trusted: IpSet::new(trusted.iter().flat_map(|l| l.cidrs.iter())),
        threats: threats
            .iter()
            .map(|l| ThreatList {
                name: l.name().to_string(),
                ips: IpSet::new(&l.cidrs),
            })
            .collect(),
        tor: IpSet::default(),
        aws: IpSet::default(),
    })
}

fn process(env: &mut Env<'_>, engine: &Engine, listed: &Detector) -> Result<usize> {
    // As it stands now: disabled or deleted since it was listed, it detects nothing.
    match env.get::<Detector>(NS_DETECTOR, &listed.key())? {
        Some(d) if d.enabled => run(env, engine, &d),
        _ => Ok(0),
    }
}

/// Examines the records after the detector's cursor and moves it.
fn run(env: &mut Env<'_>, engine: &Engine, d: &Detector) -> Result<usize> {
    let mut cursor: i64 = env.get(NS_CURSOR, &d.key())?.unwrap_or(0);
    let mut made = 0;
    let mut events = env.tx.events_after(cursor, BATCH)?;
    if events.is_empty() {
        // Nothing new: the (possibly large) lists stay unread this tick.
        super::outbox::release_updates(env, d)?;
        return Ok(0);
    }
    let intel = intel(env, d)?;
    let mut found = Vec::new();
    let mut profiles = Profiles::new(d);
    let mut batches = 0;
    loop {
        let full = events.len() == BATCH;
        for e in events {
            cursor = e.seq;
            let Ok(r) = Record::parse(&e.record) else {
                continue;
            };
            if !sees(d, &r) {
                continue;
            }
            let mut reads = RoleReads::new(env);
            let mut cx = Cx {
                intel: &intel,
                facts: &mut reads,
                origin: None,
                seen: None,
            };
            engine.check(&r, &mut cx, &mut found);
            if r.damaged() {
                tracing::warn!(
                    event = r.event_id(),
                    "a record's nested documents could not be decoded; not judged"
                );
            }
            let fact = state::fact(&r, &cx);
            if let Some(failure) = reads.failure.take() {
                return Err(failure);
            }
            if let Some(f) = fact {
                profiles.observe(env, &f, &mut found)?;
            }
            for c in found.drain(..) {
                findings::upsert(env, d, c)?;
                made += 1;
            }
        }
        // A run takes at most MAX_BATCHES batches, so a backlog is worked
        // off in bounded transactions, tick by tick.
        batches += 1;
        if !full || batches >= MAX_BATCHES {
            break;
        }
        events = env.tx.events_after(cursor, BATCH)?;
    }
    profiles.save(env)?;
    env.put(NS_CURSOR, &d.key(), &cursor)?;
    super::outbox::release_updates(env, d)?;
    Ok(made)
}

/// Live detection as the server's worker runs it.
pub struct Detection {
    /// Idle while there is no enabled detector.
    quiet: Quiet,
    /// The rules: built in, and any Sigma rules the operator loaded.
    engine: Arc<Engine>,
}

impl Detection {
    pub fn new(engine: Arc<Engine>) -> Self {
        Self {
            quiet: Quiet::new(NS_DETECTOR),
            engine,
        }
    }
}

impl Default for Detection {
    fn default() -> Self {
        Self::new(builtin())
    }
}

impl BackgroundJob for Detection {
    fn name(&self) -> &'static str {
        "detection"
    }

    fn idle(&self, services: &Services) -> bool {
        self.quiet.idle(services)
    }

    fn run(&self, services: &Services, moment: Moment) -> std::result::Result<usize, ApiError> {
        match moment {
            Moment::Tick => {
                let mark = self.quiet.mark(services);
                let (made, detectors) = detect(services, &self.engine)?;
                self.quiet.found(mark, detectors == 0);
                Ok(made)
            }
            Moment::Shutdown => Ok(0),
        }
    }
}

/// Runs the live detections of every enabled detector over the records
/// committed since its last run. Returns how many occurrences were recorded.
pub fn detect_findings(services: &Services) -> std::result::Result<usize, ApiError> {
    detect(services, &builtin()).map(|(made, _)| made)
}

/// [`detect_findings`] with these rules, also saying how many detectors were enabled.
fn detect(services: &Services, engine: &Engine) -> std::result::Result<(usize, usize), ApiError> {
    {
        let bg = services.background(super::SERVICE, super::SERVICE);
        let detectors: Vec<Detector> = services
            .in_background(&bg, "", |env| env.scan_all(NS_DETECTOR, ""))
            .map_err(|e| trailguard_core::log_internal(&e))?;
        let enabled: Vec<Detector> = detectors.into_iter().filter(|d| d.enabled).collect();
        let count = enabled.len();
        let mut made = 0;
        for d in enabled {
            // GuardDuty works in the detector's region, and its reads say so.
            let here = bg.in_region(&d.region);
            match services.in_background(&here, &d.account, |env| process(env, engine, &d)) {
                Ok(n) => made += n,
                Err(e) => tracing::error!(detector = %d.id, error = %e, "detection failed"),
            }
        }
        Ok((made, count))
    }
}
