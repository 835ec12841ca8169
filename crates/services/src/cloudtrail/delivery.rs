//! Trail delivery: log files and signed digests into the trail's bucket.
//!
//! Each logging trail keeps a cursor into the audit table. A delivery reads the
//! records after it, keeps those the trail selects, writes one gzip log file per
//! region (`{"Records":[...]}`, one gzip member), and moves the cursor, all in one
//! transaction: the objects' bytes are durable blobs before it commits, so after
//! a crash a record is either in exactly one delivered file or still after the
//! cursor, never both and never neither. With log file validation, a digest per
//! region follows each digest interval (and StopLogging or shutdown): the log
//! files delivered since the previous digest, chained to it by its signature and
//! hash, signed with SHA256withRSA over the string `validate-logs` rebuilds.

use super::signing;
use super::trails::{NS_TRAIL, Trail};
use crate::Services;
use crate::env::Env;
use crate::error::{Error, Result};
use crate::s3;
use flate2::Compression;
use flate2::write::GzEncoder;
use serde::{Deserialize, Serialize};
use serde_json::{Value as Json, json};
use sha2::{Digest as _, Sha256};
use std::collections::BTreeMap;
use std::io::Write as _;
use time::{Duration, OffsetDateTime};
use trailguard_model::ApiError;
use trailguard_model::clock::iso8601;

const NS_STATE: &str = "cloudtrail.delivery";
/// Records read per batch; a log file holds at most this many.
const BATCH: usize = 5_000;

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
    cursor: i64,
    /// Delivered log files not yet in a digest, by region.
    pending: BTreeMap<String, Vec<LogFile>>,
    chains: BTreeMap<String, Chain>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    digest_start: Option<OffsetDateTime>,
    /// Deliver up to this record, then stop (set by StopLogging).
    stop_seq: Option<i64>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub last_log_delivery: Option<OffsetDateTime>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub last_digest_delivery: Option<OffsetDateTime>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub last_attempt: Option<OffsetDateTime>,
    pub last_error: Option<String>,
}

/// The trail's delivery state.
pub fn state(env: &mut Env<'_>, trail: &Trail) -> Result<State> {
    Ok(env.get(NS_STATE, &trail.key())?.unwrap_or_default())
}

/// StartLogging: deliver what is recorded from now on.
pub fn start(env: &mut Env<'_>, trail: &Trail) -> Result<()> {
    let mut s = state(env, trail)?;
    s.cursor = env.tx.last_event_seq()?;
    s.stop_seq = None;
    s.last_attempt = Some(env.now);
    if s.digest_start.is_none() {
        s.digest_start = Some(env.now);
    }
    env.put(NS_STATE, &trail.key(), &s)
}

/// StopLogging: deliver up to this call's own record, then a final digest.
pub fn stop(env: &mut Env<'_>, trail: &Trail) -> Result<()> {
    let mut s = state(env, trail)?;
    s.stop_seq = Some(env.tx.last_event_seq()? + 1);
    env.put(NS_STATE, &trail.key(), &s)
}

/// DeleteTrail: nothing more is delivered.
pub fn forget(env: &mut Env<'_>, trail: &Trail) -> Result<()> {
    env.delete(NS_STATE, &trail.key())?;
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

/// Delivers the trail's selected records after its cursor.
fn deliver_logs(env: &mut Env<'_>, trail: &Trail, s: &mut State) -> Result<()> {
    s.last_attempt = Some(env.now);
    if let Some(err) = bucket_error(env, trail)? {
        s.last_error = Some(err);
        return Ok(());
    }
    s.last_error = None;
    loop {
        let limit = s.stop_seq.map_or(i64::MAX, |stop| stop);
        let events = env.tx.events_after(s.cursor, BATCH)?;
        let full = events.len() == BATCH;
        let mut by_region: BTreeMap<String, Vec<Json>> = BTreeMap::new();
        let mut past_stop = false;
        for e in events {
            if e.seq > limit {
                past_stop = true;
                break;
            }
            s.cursor = e.seq;
            let Ok(record) = serde_json::from_str::<Json>(&e.record) else {
                tracing::error!(seq = e.seq, "unreadable audit record skipped by delivery");
                continue;
            };
            if covers(trail, &record) && trail.selectors.selects(&record) {
                let region = record
                    .get("awsRegion")
                    .and_then(Json::as_str)
                    .unwrap_or(&trail.home_region)
                    .to_string();
                by_region.entry(region).or_default().push(record);
            }
        }
        for (region, records) in by_region {
            let file = write_log(env, trail, &region, records)?;
            if trail.validation {
                s.pending.entry(region).or_default().push(file);
            }
            s.last_log_delivery = Some(env.now);
        }
        if !full || past_stop || s.stop_seq.is_some_and(|stop| s.cursor >= stop) {
            return Ok(());
        }
    }
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
    let files = s.pending.remove(region).unwrap_or_default();
    let key = signing::current(env, region)?;
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
fn process(env: &mut Env<'_>, trail: &Trail, timing: Timing, force: bool) -> Result<bool> {
    let mut s = state(env, trail)?;
    if !trail.logging && s.stop_seq.is_none() {
        return Ok(false);
    }
    let now = env.now;
    let due = |last: Option<OffsetDateTime>, every: Duration| {
        force || last.is_none_or(|t| now - t >= every)
    };
    let stopping = s.stop_seq.is_some();
    let mut worked = false;
    if stopping || due(s.last_attempt, timing.log_interval) {
        deliver_logs(env, trail, &mut s)?;
        worked = true;
    }
    // A stopping trail was just delivered up to its stop record (reading stops
    // there), unless the bucket refused.
    let stopped = stopping && s.last_error.is_none();
    if trail.validation && (stopped || due(s.digest_start, timing.digest_interval)) {
        let mut regions: Vec<String> = s.chains.keys().cloned().collect();
        regions.extend(s.pending.keys().cloned());
        regions.push(trail.home_region.clone());
        regions.sort();
        regions.dedup();
        for region in regions {
            write_digest(env, trail, &mut s, &region)?;
        }
        s.digest_start = Some(env.now);
        worked = true;
    }
    if stopped || (stopping && s.last_error.is_some()) {
        s.stop_seq = None;
        if !trail.logging {
            s.digest_start = None;
        }
    }
    env.put(NS_STATE, &trail.key(), &s)?;
    Ok(worked)
}

impl Services {
    /// Delivers every trail's due log files and digests; with `force`, all of
    /// them now (the server calls this on graceful shutdown). Each trail is its
    /// own transaction. Returns how many trails did work.
    pub fn deliver_trails(&self, force: bool) -> std::result::Result<usize, ApiError> {
        let bg = self.background("cloudtrail.amazonaws.com", "cloudtrail.amazonaws.com");
        let trails: Vec<Trail> = self
            .in_background(&bg, "", |env| env.scan_all(NS_TRAIL, ""))
            .map_err(|e| crate::log_internal(&e))?;
        let mut worked = 0;
        for trail in trails {
            let result = self.in_background(&bg, &trail.account, |env| {
                // The trail may have changed since it was listed.
                match env.get::<Trail>(NS_TRAIL, &trail.key())? {
                    Some(current) => process(env, &current, self.trail_timing, force),
                    None => Ok(false),
                }
            });
            match result {
                Ok(true) => worked += 1,
                Ok(false) => {}
                Err(e) => {
                    tracing::error!(trail = %trail.arn, error = %e, "trail delivery failed");
                }
            }
        }
        Ok(worked)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn key_stamps() {
        let t = datetime!(2026-11-23 22:05:09 UTC);
        assert_eq!(stamp(t, false), "20261123T2205Z");
        assert_eq!(stamp(t, true), "20261123T220509Z");
        assert_eq!(date_path(t), "2026/11/23");
    }
}
