//! Trail delivery: log files and signed digests into the trail's bucket.
//!
//! What a trail delivers is fixed when each record commits. Every change to a
//! trail's delivery settings (CreateTrail, UpdateTrail, PutEventSelectors,
//! StartLogging, StopLogging, DeleteTrail) appends a settings epoch: a snapshot
//! of the trail (or of its deletion) keyed by the sequence number of the
//! changing call's own record. A record is delivered under the epoch in force
//! when it committed, the newest one keyed below it. The changing call's own
//! record is delivered if the old settings select it, else if the new ones do:
//! StopLogging and DeleteTrail are delivered by the logging they end,
//! StartLogging by the logging it begins, and no change re-filters, moves or
//! drops a record committed before it. Records committed while a trail is
//! stopped are never delivered.
//!
//! Each trail keeps a cursor into the audit table that only moves over records
//! it delivered or that their own epoch excludes (those are passed over
//! unread). A delivery reads the records after it, writes one gzip log file per
//! epoch and region (`{"Records":[...]}`, one gzip member) into that epoch's
//! bucket and prefix, moves the cursor and drops the epochs it has passed, all
//! in one transaction: the objects' bytes are durable blobs before it commits,
//! so after a crash a record is either in exactly one delivered file or still
//! after the cursor, never both and never neither. A bucket that is gone or
//! refuses CloudTrail holds delivery at the first record owed to it.
//!
//! With log file validation, a digest per region follows each digest interval
//! (and a forced delivery at shutdown): the log files delivered since the
//! previous digest, chained to it by its signature and hash, signed with
//! SHA256withRSA over the string `validate-logs` rebuilds. When delivery passes
//! from a validating, logging epoch into one that is not (StopLogging,
//! DeleteTrail, validation turned off), the final digest is written then, as
//! AWS does after StopLogging or DeleteTrail.
//!
//! DeleteTrail, as on AWS, leaves delivered files in place; what was committed
//! before it (DeleteTrail's own record included) is still delivered to the
//! bucket the trail named, with a final digest, and then the trail's delivery
//! state is forgotten. A trail created again under the same name starts afresh.

use super::signing;
use super::trails::{NS_TRAIL, Trail};
use flate2::Compression;
use flate2::write::GzEncoder;
use serde::{Deserialize, Serialize};
use serde_json::{Value as Json, json};
use sha2::{Digest as _, Sha256};
use std::collections::BTreeMap;
use std::io::Write as _;
use time::{Duration, OffsetDateTime};
use trailguard_core::Services;
use trailguard_core::env::Env;
use trailguard_core::error::{Error, Result};
use trailguard_core::module::{BackgroundJob, Moment, Quiet};
use trailguard_model::ApiError;
use trailguard_model::clock::iso8601;
use trailguard_s3 as s3;

const NS_STATE: &str = "cloudtrail.delivery";
/// Settings epochs, under `<trail key>/<sequence number, 20 digits>`.
const NS_EPOCH: &str = "cloudtrail.epoch";
/// Records read per batch; a log file holds at most this many.
const BATCH: usize = 5_000;
/// Epochs read at a time; records past the last one read wait for the next read.
const EPOCH_BATCH: usize = 1_000;

/// How often trails deliver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    pub log_interval: Duration,
    pub digest_interval: Duration,
}

impl Default for Timing {
    /// AWS's cadence: log files about every five minutes, digests hourly.
    fn default() -> Self {
        Self {
            log_interval: Duration::minutes(5),
            digest_interval: Duration::hours(1),
        }
    }
}

/// A delivered log file, as a digest lists it.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct LogFile {
    bucket: String,
    key: String,
    hash: String,
    newest: String,
    oldest: String,
}

/// The last digest of a region's chain.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Chain {
    bucket: String,
    key: String,
    signature: String,
    hash: String,
    #[serde(with = "time::serde::rfc3339")]
    end: OffsetDateTime,
}

/// A trail's delivery progress.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct State {
    /// Every record up to this one is delivered or excluded by its epoch.
    cursor: i64,
    /// Delivered log files not yet in a digest, by region.
    pending: BTreeMap<String, Vec<LogFile>>,
    chains: BTreeMap<String, Chain>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    digest_start: Option<OffsetDateTime>,
    /// Before settings were versioned: deliver up to this record, then stop.
    /// Read once, when the trail's first epochs are made ([`adopt`]).
    #[serde(default, skip_serializing)]
    stop_seq: Option<i64>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub last_log_delivery: Option<OffsetDateTime>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub last_digest_delivery: Option<OffsetDateTime>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub last_attempt: Option<OffsetDateTime>,
    pub last_error: Option<String>,
}

/// A trail's delivery settings from one change on.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Epoch {
    /// The sequence number of the changing call's own record; the epoch
    /// governs the records after it.
    seq: i64,
    #[serde(with = "time::serde::rfc3339")]
    at: OffsetDateTime,
    /// The trail as the change left it; `None` once deleted.
    trail: Option<Trail>,
}

impl Epoch {
    /// The trail's settings if it is logging.
    fn logging(&self) -> Option<&Trail> {
        self.trail.as_ref().filter(|t| t.logging)
    }

    fn validating(&self) -> bool {
        self.logging().is_some_and(|t| t.validation)
    }

    /// Whether a record committed under this epoch is delivered.
    fn delivers(&self, record: &Json) -> bool {
        self.logging()
            .is_some_and(|t| covers(t, record) && t.selectors.selects(record))
    }
}

fn epoch_key(trail_key: &str, seq: i64) -> String {
    format!("{trail_key}/{seq:020}")
}

fn put_epoch(env: &mut Env<'_>, trail_key: &str, epoch: &Epoch) -> Result<()> {
    env.put(NS_EPOCH, &epoch_key(trail_key, epoch.seq), epoch)
}

/// The trail's oldest epochs, in order (at most [`EPOCH_BATCH`]).
fn load_epochs(env: &mut Env<'_>, trail_key: &str) -> Result<Vec<Epoch>> {
    Ok(env
        .scan::<Epoch>(NS_EPOCH, &format!("{trail_key}/"), None, EPOCH_BATCH)?
        .into_iter()
        .map(|(_, e)| e)
        .collect())
}

/// The epoch in force for the records after `seq`: the newest keyed at or below it.
fn in_force(epochs: &[Epoch], seq: i64) -> Option<usize> {
    epochs.iter().rposition(|e| e.seq <= seq)
}

/// Which epoch delivers record `seq`, given `cur`, the epoch in force when it
/// committed: `cur` if it selects it; else, when `seq` is the record of the
/// call that made the next epoch, that epoch if it selects it; else none.
fn deliverer(epochs: &[Epoch], cur: Option<usize>, seq: i64, record: &Json) -> Option<usize> {
    if let Some(i) = cur
        && epochs.get(i).is_some_and(|e| e.delivers(record))
    {
        return Some(i);
    }
    let next = cur.map_or(0, |i| i + 1);
    epochs
        .get(next)
        .filter(|e| e.seq == seq && e.delivers(record))
        .map(|_| next)
}

/// Whether two versions of a trail deliver the same records to the same place.
fn same_delivery(a: &Trail, b: &Trail) -> bool {
    a.logging == b.logging
        && a.bucket == b.bucket
        && a.prefix == b.prefix
        && a.multi_region == b.multi_region
        && a.include_global == b.include_global
        && a.validation == b.validation
        && a.selectors == b.selectors
}

/// The trail's delivery state.
pub fn state(env: &mut Env<'_>, trail: &Trail) -> Result<State> {
    Ok(env.get(NS_STATE, &trail.key())?.unwrap_or_default())
}

/// Records a change the current call makes to a trail: `old` before it (`None`
/// when it creates the trail), `new` after (`None` when it deletes it). The new
/// settings govern the records after this call's own, which is the next one
/// appended (trail operations append no other record before their own).
pub(super) fn record_change(
    env: &mut Env<'_>,
    trail_key: &str,
    old: Option<&Trail>,
    new: Option<&Trail>,
) -> Result<()> {
    if let (Some(a), Some(b)) = (old, new)
        && same_delivery(a, b)
    {
        return Ok(());
    }
    // A new trail's cursor starts at the feed watermark, so no record still
    // committing below it is skipped. The epoch is keyed by this call's own
    // record, the next one this transaction appends: with one writer (SQLite)
    // that is `last_event_seq() + 1`; a store with concurrent writers must
    // key it by the record's own sequence instead (see ARCHITECTURE.md).
    let last = env.tx.last_event_seq()?;
    let cursor = env.tx.feed_watermark()?;
    let mut s: State = env.get(NS_STATE, trail_key)?.unwrap_or(State {
        cursor,
        ..State::default()
    });
    let prefix = format!("{trail_key}/");
    if let Some(old) = old
        && env.tx.scan(NS_EPOCH, &prefix, None, 1)?.is_empty()
    {
        adopt(env, trail_key, old, &s)?;
    }
    if new.is_some_and(|t| t.logging) && !old.is_some_and(|t| t.logging) {
        // The first log file follows a log interval after StartLogging.
        s.last_attempt = Some(env.now);
    }
    put_epoch(
        env,
        trail_key,
        &Epoch {
            seq: last + 1,
            at: env.now,
            trail: new.cloned(),
        },
    )?;
    env.put(NS_STATE, trail_key, &s)
}

/// A trail stored before settings were versioned delivered everything after
/// its cursor with its current settings (up to `stop_seq` when stopping):
/// written down as its first epochs.
fn adopt(env: &mut Env<'_>, trail_key: &str, trail: &Trail, s: &State) -> Result<()> {
    let mut base = trail.clone();
    if let Some(stop) = s.stop_seq.filter(|stop| *stop > s.cursor) {
        base.logging = true;
        put_epoch(
            env,
            trail_key,
            &Epoch {
                seq: stop,
                at: env.now,
                trail: Some(trail.clone()),
            },
        )?;
    }
    put_epoch(
        env,
        trail_key,
        &Epoch {
            seq: s.cursor,
            at: env.now,
            trail: Some(base),
        },
    )
}

/// Drops a deleted trail's delivery state once everything it owed is delivered.
fn forget(env: &mut Env<'_>, trail_key: &str, epochs: &[Epoch]) -> Result<()> {
    for e in epochs {
        env.delete(NS_EPOCH, &epoch_key(trail_key, e.seq))?;
    }
    env.delete(NS_STATE, trail_key)?;
    Ok(())
}

fn gzip(bytes: &[u8]) -> Result<Vec<u8>> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::default());
    enc.write_all(bytes)
        .and_then(|()| enc.finish())
        .map_err(|e| Error::Corrupt(format!("gzip: {e}")))
}

fn stamp(t: OffsetDateTime, seconds: bool) -> String {
    let base = format!(
        "{:04}{:02}{:02}T{:02}{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute()
    );
    if seconds {
        format!("{base}{:02}Z", t.second())
    } else {
        format!("{base}Z")
    }
}

fn date_path(t: OffsetDateTime) -> String {
    format!("{:04}/{:02}/{:02}", t.year(), u8::from(t.month()), t.day())
}

fn base(trail: &Trail) -> String {
    trail
        .prefix
        .as_deref()
        .map(|p| format!("{p}/"))
        .unwrap_or_default()
}

/// Whether the trail covers a record's region and account.
fn covers(trail: &Trail, record: &Json) -> bool {
    let account = record.get("recipientAccountId").and_then(Json::as_str);
    if account != Some(trail.account.as_str()) {
        return false;
    }
    if trail.multi_region {
        return true;
    }
    let region = record
        .get("awsRegion")
        .and_then(Json::as_str)
        .unwrap_or_default();
    let global = record.get("eventSource").and_then(Json::as_str) == Some("iam.amazonaws.com");
    region == trail.home_region || (global && trail.include_global)
}

/// The bucket is there and its policy still lets CloudTrail write the trail's
/// log files and digests (the decision each write takes again); else the error
/// to report.
fn bucket_error(env: &mut Env<'_>, trail: &Trail) -> Result<Option<String>> {
    if s3::find_bucket(env, &trail.bucket)?.is_none() {
        return Ok(Some("NoSuchBucket".into()));
    }
    for folder in ["CloudTrail", "CloudTrail-Digest"] {
        let key = format!(
            "{}AWSLogs/{}/{folder}/{}/{}/",
            base(trail),
            trail.account,
            trail.home_region,
            date_path(env.now)
        );
        match s3::authorize_delivery(env, &trail.arn, &trail.bucket, &key) {
            Ok(_) => {}
            Err(Error::AccessDenied(_)) => return Ok(Some("AccessDenied".into())),
            Err(e) => return Err(e),
        }
    }
    Ok(None)
}

/// Writes one region's log file; returns it for the next digest.
fn write_log(
    env: &mut Env<'_>,
    trail: &Trail,
    region: &str,
    records: Vec<Json>,
) -> Result<LogFile> {
    let times: Vec<&str> = records
        .iter()
        .filter_map(|r| r.get("eventTime").and_then(Json::as_str))
        .collect();
    let newest = times.iter().max().copied().unwrap_or_default().to_string();
    let oldest = times.iter().min().copied().unwrap_or_default().to_string();
    let body = serde_json::to_vec(&json!({ "Records": records }))
        .map_err(|e| Error::Corrupt(e.to_string()))?;
    let key = format!(
        "{}AWSLogs/{}/CloudTrail/{region}/{}/{}_CloudTrail_{region}_{}_{}.json.gz",
        base(trail),
        trail.account,
        date_path(env.now),
        trail.account,
        stamp(env.now, false),
        env.ids.base32(16)
    );
    s3::deliver_object(
        env,
        &trail.arn,
        &trail.bucket,
        &key,
        &gzip(&body)?,
        "application/json",
        BTreeMap::new(),
    )?;
    Ok(LogFile {
        bucket: trail.bucket.clone(),
        key,
        hash: hex::encode(Sha256::digest(&body)),
        newest,
        oldest,
    })
}

/// Log files gathered in one delivery: by the epoch that delivers them and region.
type Groups = BTreeMap<(usize, String), Vec<Json>>;

/// Writes the gathered log files, each to its epoch's bucket and prefix.
fn flush(env: &mut Env<'_>, s: &mut State, epochs: &[Epoch], groups: &mut Groups) -> Result<()> {
    for ((i, region), records) in std::mem::take(groups) {
        let Some(trail) = epochs.get(i).and_then(|e| e.trail.as_ref()) else {
            continue;
        };
        let file = write_log(env, trail, &region, records)?;
        if trail.validation {
            s.pending.entry(region).or_default().push(file);
        }
        s.last_log_delivery = Some(env.now);
    }
    Ok(())
}

/// Delivery passes from epoch `from` into epoch `to`: leaving validation
/// writes the final digest (after the files gathered so far); entering it
/// starts the digest period; a deletion ends the trail's chain and status.
fn cross(
    env: &mut Env<'_>,
    s: &mut State,
    epochs: &[Epoch],
    from: Option<usize>,
    to: usize,
    groups: &mut Groups,
) -> Result<()> {
    let Some(next) = epochs.get(to) else {
        return Ok(());
    };
    let leaving = from
        .and_then(|i| epochs.get(i))
        .filter(|e| e.validating())
        .and_then(|e| e.trail.as_ref());
    match leaving {
        Some(trail) if !next.validating() => {
            flush(env, s, epochs, groups)?;
            write_digests(env, trail, s)?;
            s.digest_start = None;
        }
        None if next.validating() => s.digest_start = Some(next.at),
        _ => {}
    }
    if next.trail.is_none() {
        flush(env, s, epochs, groups)?;
        *s = State {
            cursor: s.cursor,
            ..State::default()
        };
    }
    Ok(())
}

/// Crosses into every epoch keyed at or below `upto`; returns the one in force.
fn advance(
    env: &mut Env<'_>,
    s: &mut State,
    epochs: &[Epoch],
    mut cur: Option<usize>,
    upto: i64,
    groups: &mut Groups,
) -> Result<Option<usize>> {
    loop {
        let next = cur.map_or(0, |i| i + 1);
        match epochs.get(next) {
            Some(e) if e.seq <= upto => {
                cross(env, s, epochs, cur, next, groups)?;
                cur = Some(next);
            }
            _ => return Ok(cur),
        }
    }
}

/// Deletes the epochs before `cur`: no record after the cursor needs them.
fn prune(env: &mut Env<'_>, trail_key: &str, epochs: &[Epoch], cur: Option<usize>) -> Result<()> {
    for e in epochs.iter().take(cur.unwrap_or(0)) {
        env.delete(NS_EPOCH, &epoch_key(trail_key, e.seq))?;
    }
    Ok(())
}

/// Delivers the records after the trail's cursor, each under its own epoch.
fn deliver_logs(env: &mut Env<'_>, trail_key: &str, s: &mut State) -> Result<()> {
    s.last_attempt = Some(env.now);
    s.last_error = None;
    let epochs = load_epochs(env, trail_key)?;
    if let Some(trail) = in_force(&epochs, s.cursor)
        .and_then(|i| epochs.get(i))
        .and_then(Epoch::logging)
        && let Some(err) = bucket_error(env, trail)?
    {
        s.last_error = Some(err);
        return Ok(());
    }
    loop {
        let epochs = load_epochs(env, trail_key)?;
        // Records past the last epoch read may belong to one not read yet.
        let horizon = match epochs.last() {
            Some(last) if epochs.len() >= EPOCH_BATCH => last.seq,
            _ => i64::MAX,
        };
        let mut cur = in_force(&epochs, s.cursor);
        if cur
            .and_then(|i| epochs.get(i))
            .and_then(Epoch::logging)
            .is_none()
        {
            // Nothing is delivered until the next change; pass over unread.
            match epochs.get(cur.map_or(0, |i| i + 1)) {
                Some(next) => s.cursor = s.cursor.max(next.seq - 1),
                None => return prune(env, trail_key, &epochs, cur),
            }
        }
        let events = env.tx.events_after(s.cursor, BATCH)?;
        let mut more = events.len() == BATCH;
        let mut groups = Groups::new();
        let mut refused: BTreeMap<usize, Option<String>> = BTreeMap::new();
        let mut held = false;
        for e in events {
            if e.seq > horizon {
                // Every record up to the horizon is done: cross into its epoch.
                s.cursor = s.cursor.max(horizon);
                more = true;
                break;
            }
            cur = advance(env, s, &epochs, cur, e.seq - 1, &mut groups)?;
            let next = epochs.get(cur.map_or(0, |i| i + 1));
            if cur
                .and_then(|i| epochs.get(i))
                .and_then(Epoch::logging)
                .is_none()
                && next.is_none_or(|n| n.seq != e.seq)
            {
                // Stopped from here on: the next round passes over the rest unread.
                more = true;
                break;
            }
            let Ok(record) = serde_json::from_str::<Json>(&e.record) else {
                tracing::error!(seq = e.seq, "unreadable audit record skipped by delivery");
                s.cursor = e.seq;
                continue;
            };
            if next.is_some_and(|n| n.seq == e.seq)
                && record.get("eventSource").and_then(Json::as_str)
                    != Some("cloudtrail.amazonaws.com")
            {
                // `record_change` keys an epoch by the record its call appends next.
                tracing::warn!(
                    seq = e.seq,
                    trail = trail_key,
                    "a trail settings epoch is keyed by a record that is not a CloudTrail call"
                );
            }
            if let Some(i) = deliverer(&epochs, cur, e.seq, &record)
                && let Some(trail) = epochs.get(i).and_then(|e| e.trail.as_ref())
            {
                let error = match refused.get(&i) {
                    Some(known) => known.clone(),
                    None => {
                        let found = bucket_error(env, trail)?;
                        refused.insert(i, found.clone());
                        found
                    }
                };
                if let Some(err) = error {
                    s.last_error = Some(err);
                    held = true;
                    break;
                }
                let region = record
                    .get("awsRegion")
                    .and_then(Json::as_str)
                    .unwrap_or(&trail.home_region)
                    .to_string();
                groups.entry((i, region)).or_default().push(record);
            }
            s.cursor = e.seq;
        }
        flush(env, s, &epochs, &mut groups)?;
        if !held {
            cur = advance(env, s, &epochs, cur, s.cursor, &mut groups)?;
        }
        prune(env, trail_key, &epochs, cur)?;
        if held || !more {
            return Ok(());
        }
    }
}

/// Writes the digest of every region the trail has delivered to (and its home
/// region's, even with no files), unless the bucket refuses.
fn write_digests(env: &mut Env<'_>, trail: &Trail, s: &mut State) -> Result<()> {
    if let Some(err) = bucket_error(env, trail)? {
        s.last_error = Some(err);
        return Ok(());
    }
    let mut regions: Vec<String> = s.chains.keys().cloned().collect();
    regions.extend(s.pending.keys().cloned());
    regions.push(trail.home_region.clone());
    regions.sort();
    regions.dedup();
    for region in regions {
        write_digest(env, trail, s, &region)?;
    }
    Ok(())
}

/// Writes a region's digest for the files delivered since the last one.
fn write_digest(env: &mut Env<'_>, trail: &Trail, s: &mut State, region: &str) -> Result<()> {
    let start = s.digest_start.unwrap_or(env.now);
    let end = env.now;
    let previous = s.chains.get(region).cloned();
    if previous
        .as_ref()
        .is_some_and(|p| p.end.unix_timestamp() >= end.unix_timestamp())
    {
        // One digest per second at most: its key has second precision.
        return Ok(());
    }
    let digest_key = format!(
        "{}AWSLogs/{}/CloudTrail-Digest/{region}/{}/{}_CloudTrail-Digest_{region}_{}_{}_{}.json.gz",
        base(trail),
        trail.account,
        date_path(end),
        trail.account,
        trail.name,
        trail.home_region,
        stamp(end, true)
    );
    // A digest's key has second precision: a trail deleted and created again
    // within a second would name its first digest as the last one of the
    // trail before it. Never overwrite a digest; this one waits a second.
    if s3::object_exists(env, &trail.bucket, &digest_key)? {
        return Ok(());
    }
    let files = s.pending.remove(region).unwrap_or_default();
    let key = signing::current(env, region)?;
    let end_text = iso8601(end);
    let newest = files.iter().map(|f| f.newest.as_str()).max();
    let oldest = files.iter().map(|f| f.oldest.as_str()).min();
    let doc = json!({
        "awsAccountId": trail.account,
        "digestStartTime": iso8601(start),
        "digestEndTime": end_text,
        "digestS3Bucket": trail.bucket,
        "digestS3Object": digest_key,
        "digestPublicKeyFingerprint": key.fingerprint,
        "digestSignatureAlgorithm": "SHA256withRSA",
        "newestEventTime": newest,
        "oldestEventTime": oldest,
        "previousDigestS3Bucket": previous.as_ref().map(|p| p.bucket.clone()),
        "previousDigestS3Object": previous.as_ref().map(|p| p.key.clone()),
        "previousDigestHashValue": previous.as_ref().map(|p| p.hash.clone()),
        "previousDigestHashAlgorithm": previous.as_ref().map(|_| "SHA-256"),
        "previousDigestSignature": previous.as_ref().map(|p| p.signature.clone()),
        "logFiles": files.iter().map(|f| json!({
            "s3Bucket": f.bucket,
            "s3Object": f.key,
            "hashValue": f.hash,
            "hashAlgorithm": "SHA-256",
            "newestEventTime": f.newest,
            "oldestEventTime": f.oldest,
        })).collect::<Vec<_>>(),
    });
    let body = serde_json::to_vec(&doc).map_err(|e| Error::Corrupt(e.to_string()))?;
    let hash = hex::encode(Sha256::digest(&body));
    let previous_signature = previous.as_ref().map_or("null", |p| p.signature.as_str());
    let to_sign = format!(
        "{end_text}\n{}/{digest_key}\n{hash}\n{previous_signature}",
        trail.bucket
    );
    let signature = key.sign(to_sign.as_bytes())?;
    let metadata = BTreeMap::from([
        ("signature".to_string(), signature.clone()),
        (
            "signature-algorithm".to_string(),
            "SHA256withRSA".to_string(),
        ),
    ]);
    s3::deliver_object(
        env,
        &trail.arn,
        &trail.bucket,
        &digest_key,
        &gzip(&body)?,
        "application/json",
        metadata,
    )?;
    s.chains.insert(
        region.to_string(),
        Chain {
            bucket: trail.bucket.clone(),
            key: digest_key,
            signature,
            hash,
            end,
        },
    );
    s.last_digest_delivery = Some(end);
    Ok(())
}

/// One trail's due work. `force` delivers everything now (graceful shutdown).
fn process(env: &mut Env<'_>, trail_key: &str, timing: Timing, force: bool) -> Result<bool> {
    let Some(mut s) = env.get::<State>(NS_STATE, trail_key)? else {
        return Ok(false);
    };
    let mut epochs = load_epochs(env, trail_key)?;
    if epochs.is_empty() {
        let Some(trail) = env.get::<Trail>(NS_TRAIL, trail_key)? else {
            env.delete(NS_STATE, trail_key)?;
            return Ok(false);
        };
        adopt(env, trail_key, &trail, &s)?;
        epochs = load_epochs(env, trail_key)?;
    }
    let cur = in_force(&epochs, s.cursor);
    let current = cur.and_then(|i| epochs.get(i));
    let ahead = epochs.get(cur.map_or(0, |i| i + 1)..).unwrap_or_default();
    if ahead.is_empty() && current.and_then(Epoch::logging).is_none() {
        // Stopped (or never started) and unchanged since: nothing is owed.
        if current.is_some_and(|e| e.trail.is_none()) {
            forget(env, trail_key, &epochs)?;
        }
        return Ok(false);
    }
    let now = env.now;
    let due = |last: Option<OffsetDateTime>, every: Duration| {
        force || last.is_none_or(|t| now - t >= every)
    };
    // What a stopped or deleted trail still owes goes out at once (after a
    // refusal, at the trail's usual cadence).
    let ending = s.last_error.is_none() && ahead.iter().any(|e| e.logging().is_none());
    let mut worked = false;
    if ending || due(s.last_attempt, timing.log_interval) {
        deliver_logs(env, trail_key, &mut s)?;
        worked = true;
    }
    let epochs = load_epochs(env, trail_key)?;
    let current = in_force(&epochs, s.cursor).and_then(|i| epochs.get(i));
    if let Some(trail) = current
        .filter(|e| e.validating())
        .and_then(|e| e.trail.as_ref())
    {
        let start = *s.digest_start.get_or_insert(now);
        if due(Some(start), timing.digest_interval) {
            write_digests(env, trail, &mut s)?;
            s.digest_start = Some(now);
            worked = true;
        }
    }
    if epochs.len() == 1 && current.is_some_and(|e| e.trail.is_none()) {
        forget(env, trail_key, &epochs)?;
        return Ok(worked);
    }
    env.put(NS_STATE, trail_key, &s)?;
    Ok(worked)
}

/// Trail delivery as the server's worker runs it: every trail on each tick,
/// and all that is owed at once on graceful shutdown.
pub struct Delivery {
    timing: Timing,
    /// Idle while no trail has delivery state.
    quiet: Quiet,
}

impl Delivery {
    pub fn new(timing: Timing) -> Self {
        Self {
            timing,
            quiet: Quiet::new(NS_STATE),
        }
    }
}

impl BackgroundJob for Delivery {
    fn name(&self) -> &'static str {
        "trail delivery"
    }

    fn idle(&self, services: &Services) -> bool {
        self.quiet.idle(services)
    }

    fn run(&self, services: &Services, moment: Moment) -> std::result::Result<usize, ApiError> {
        let mark = self.quiet.mark(services);
        let (worked, trails) = deliver(services, self.timing, moment == Moment::Shutdown)?;
        self.quiet.found(mark, trails == 0);
        Ok(worked)
    }
}

/// Delivers every trail's due log files and digests; with `force`, all of
/// them now (the server asks on graceful shutdown). Each trail, deleted
/// ones that still owe records included, is its own transaction. Returns
/// how many trails did work.
pub fn deliver_trails(
    services: &Services,
    timing: Timing,
    force: bool,
) -> std::result::Result<usize, ApiError> {
    deliver(services, timing, force).map(|(worked, _)| worked)
}

/// [`deliver_trails`], also saying how many trails have delivery state.
fn deliver(
    services: &Services,
    timing: Timing,
    force: bool,
) -> std::result::Result<(usize, usize), ApiError> {
    let bg = services.background("cloudtrail.amazonaws.com", "cloudtrail.amazonaws.com");
    let keys: Vec<String> = services
        .in_background(&bg, "", |env| {
            Ok(env
                .tx
                .scan(NS_STATE, "", None, usize::MAX)?
                .into_iter()
                .map(|(k, _)| k)
                .collect())
        })
        .map_err(|e| trailguard_core::log_internal(&e))?;
    let trails = keys.len();
    let mut worked = 0;
    for key in keys {
        let account = key.split('/').next().unwrap_or_default().to_string();
        let result = services.in_background(&bg, &account, |env| process(env, &key, timing, force));
        match result {
            Ok(true) => worked += 1,
            Ok(false) => {}
            Err(e) => {
                tracing::error!(trail = %key, error = %e, "trail delivery failed");
            }
        }
    }
    Ok((worked, trails))
}

#[cfg(test)]
mod tests {
    use super::super::selectors::Selectors;
    use super::*;
    use time::macros::datetime;

    #[test]
    fn key_stamps() {
        let t = datetime!(2026-11-23 22:05:09 UTC);
        assert_eq!(stamp(t, false), "20261123T2205Z");
        assert_eq!(stamp(t, true), "20261123T220509Z");
        assert_eq!(date_path(t), "2026/11/23");
    }

    fn trail(logging: bool, selectors: Selectors) -> Trail {
        Trail {
            name: "t".into(),
            account: "123456789012".into(),
            home_region: "us-east-1".into(),
            arn: "arn:aws:cloudtrail:us-east-1:123456789012:trail/t".into(),
            bucket: "b".into(),
            prefix: None,
            sns_topic: None,
            include_global: true,
            multi_region: false,
            organization: false,
            validation: false,
            log_group: None,
            log_role: None,
            kms_key: None,
            logging,
            start_logging: None,
            stop_logging: None,
            selectors,
            tags: Vec::new(),
        }
    }

    fn epoch(seq: i64, trail: Option<Trail>) -> Epoch {
        Epoch {
            seq,
            at: datetime!(2026-11-23 22:05:09 UTC),
            trail,
        }
    }

    /// Which epoch delivers each of records `from..=to`, walking them in order.
    fn walk(epochs: &[Epoch], from: i64, to: i64, record: &Json) -> Vec<Option<usize>> {
        (from..=to)
            .map(|seq| deliverer(epochs, in_force(epochs, seq - 1), seq, record))
            .collect()
    }

    #[test]
    fn each_record_is_delivered_under_the_settings_it_committed_under() {
        let mgmt = json!({"recipientAccountId": "123456789012", "awsRegion": "us-east-1",
            "eventSource": "iam.amazonaws.com", "managementEvent": true, "readOnly": false});
        let no_mgmt = super::super::selectors::parse(
            Some(&json!([{"IncludeManagementEvents": false}])),
            None,
        )
        .unwrap_or_default();
        // Created at 1, started at 3, stopped at 6, started at 9, management
        // events excluded at 11 and restored at 13, deleted at 15.
        let epochs = [
            epoch(1, Some(trail(false, Selectors::Default))),
            epoch(3, Some(trail(true, Selectors::Default))),
            epoch(6, Some(trail(false, Selectors::Default))),
            epoch(9, Some(trail(true, Selectors::Default))),
            epoch(11, Some(trail(true, no_mgmt))),
            epoch(13, Some(trail(true, Selectors::Default))),
            epoch(15, None),
        ];
        assert_eq!(
            walk(&epochs, 1, 17, &mgmt),
            vec![
                None,    // 1: CreateTrail: nothing logs before or after it
                None,    // 2: not logging
                Some(1), // 3: StartLogging, under the logging it begins
                Some(1),
                Some(1),
                Some(1), // 6: StopLogging, under the logging it ends
                None,    // 7, 8: while stopped
                None,
                Some(3), // 9: StartLogging again
                Some(3),
                Some(3), // 11: the exclusion, under the settings before it
                None,    // 12: excluded when it happened
                Some(5), // 13: the restoring call, under the settings it sets
                Some(5),
                Some(5), // 15: DeleteTrail, under the settings it ends
                None,    // 16, 17: after the trail is gone
                None,
            ]
        );
    }

    #[test]
    fn changes_that_do_not_alter_delivery_make_no_epoch() {
        let a = trail(true, Selectors::Default);
        let mut b = a.clone();
        b.tags.push(("k".into(), "v".into()));
        b.start_logging = Some(datetime!(2026-11-23 22:05:09 UTC));
        assert!(same_delivery(&a, &b));
        b.prefix = Some("moved".into());
        assert!(!same_delivery(&a, &b));
    }
}
