//! Publishing destinations: findings exported as files to a trailguard bucket.
//!
//! Every finding the outbox queues (new at once, updates per the publishing
//! frequency) is also queued for each of the detector's S3 destinations; the
//! worker writes what is queued as one gzip JSON-lines object per destination
//! under `[prefix/]AWSLogs/<account>/GuardDuty/<region>/YYYY/MM/DD/<uuid>.jsonl.gz`
//! and clears the queue in the same transaction, so each queued finding is
//! exported exactly once. (AWS also encrypts with a KMS key; trailguard keeps
//! the key ARN but writes plain gzip.)

use super::Detector;
use crate::error::GuardDutyError;
use flate2::Compression;
use flate2::write::GzEncoder;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use std::collections::BTreeMap;
use std::io::Write as _;
use trailguard_core::Services;
use trailguard_core::authz::Authorized;
use trailguard_core::env::Env;
use trailguard_core::error::{Error, Result};
use trailguard_core::module::{BackgroundJob, Moment, Quiet};
use trailguard_core::params::Params;
use trailguard_model::{ApiError, Value};

const NS_DESTINATION: &str = "guardduty.destination";
const NS_EXPORT: &str = "guardduty.export";

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Destination {
    id: String,
    arn: String,
    kms_key: Option<String>,
    status: String,
}

/// Where a destination of the detector is stored.
fn key(d: &Detector, id: &str) -> String {
    format!("{}{id}", d.prefix())
}

fn bad(message: impl Into<String>) -> Error {
    GuardDutyError::BadRequest(format!(
        "The request is rejected because {}",
        message.into()
    ))
    .into()
}

/// `(bucket, key prefix)` of a destination ARN `arn:aws:s3:::bucket[/prefix]`.
fn bucket_of(arn: &str) -> Option<(String, Option<String>)> {
    let rest = arn.strip_prefix("arn:aws:s3:::")?;
    let (bucket, path) = match rest.split_once('/') {
        Some((b, p)) => (
            b,
            Some(p.trim_matches('/').to_string()).filter(|p| !p.is_empty()),
        ),
        None => (rest, None),
    };
    (!bucket.is_empty()).then(|| (bucket.to_string(), path))
}

fn properties(env: &mut Env<'_>, p: Params<'_>) -> Result<(String, Option<String>)> {
    let props =
        p.0.get("destinationProperties")
            .ok_or_else(|| bad("destinationProperties is required."))?;
    let arn = props
        .get("destinationArn")
        .and_then(Json::as_str)
        .ok_or_else(|| bad("destinationProperties.destinationArn is required."))?;
    let (bucket, _) =
        bucket_of(arn).ok_or_else(|| bad(format!("{arn} is not an S3 bucket ARN.")))?;
    trailguard_s3::load_bucket(env, &bucket).map_err(|_| {
        bad(format!(
            "the bucket {bucket} does not exist or is not yours."
        ))
    })?;
    let kms = props
        .get("kmsKeyArn")
        .and_then(Json::as_str)
        .map(str::to_string);
    Ok((arn.to_string(), kms))
}

fn value(d: &Destination) -> Value {
    Value::structure()
        .with("destinationId", d.id.clone())
        .with("destinationType", "S3")
        .with("status", d.status.clone())
}

pub fn create_publishing_destination(
    env: &mut Env<'_>,
    _: &Authorized,
    p: Params<'_>,
) -> Result<Value> {
    let d = super::load(env, p.str("detectorId")?)?;
    if p.str("destinationType")? != "S3" {
        return Err(bad("destinationType must be S3."));
    }
    let (arn, kms_key) = properties(env, p)?;
    let dest = Destination {
        id: env.ids.uuid().replace('-', ""),
        arn,
        kms_key,
        status: "PUBLISHING".into(),
    };
    env.put(NS_DESTINATION, &key(&d, &dest.id), &dest)?;
    Ok(Value::structure().with("destinationId", dest.id))
}

fn load(env: &mut Env<'_>, d: &Detector, id: &str) -> Result<Destination> {
    env.get(NS_DESTINATION, &key(d, id))?
        .ok_or_else(|| bad(format!("the publishing destination {id} does not exist.")))
}

pub fn describe_publishing_destination(
    env: &mut Env<'_>,
    _: &Authorized,
    p: Params<'_>,
) -> Result<Value> {
    let d = super::load(env, p.str("detectorId")?)?;
    let dest = load(env, &d, p.str("destinationId")?)?;
    Ok(value(&dest)
        .with("publishingFailureStartTimestamp", 0_i64)
        .with(
            "destinationProperties",
            Value::structure()
                .with("destinationArn", dest.arn.clone())
                .with("kmsKeyArn", dest.kms_key.clone()),
        ))
}

pub fn list_publishing_destinations(
    env: &mut Env<'_>,
    _: &Authorized,
    p: Params<'_>,
) -> Result<Value> {
    let d = super::load(env, p.str("detectorId")?)?;
    let all: Vec<Destination> = env.scan_all(NS_DESTINATION, &d.prefix())?;
    Ok(Value::structure().with("destinations", Value::List(all.iter().map(value).collect())))
}

pub fn update_publishing_destination(
    env: &mut Env<'_>,
    _: &Authorized,
    p: Params<'_>,
) -> Result<Value> {
    let d = super::load(env, p.str("detectorId")?)?;
    let mut dest = load(env, &d, p.str("destinationId")?)?;
    if p.0.get("destinationProperties").is_some() {
        let (arn, kms) = properties(env, p)?;
        dest.arn = arn;
        dest.kms_key = kms;
    }
    env.put(NS_DESTINATION, &key(&d, &dest.id), &dest)?;
    Ok(Value::structure())
}

pub fn delete_publishing_destination(
    env: &mut Env<'_>,
    _: &Authorized,
    p: Params<'_>,
) -> Result<Value> {
    let d = super::load(env, p.str("detectorId")?)?;
    let dest = load(env, &d, p.str("destinationId")?)?;
    env.delete(NS_DESTINATION, &key(&d, &dest.id))?;
    clear(env, &d, Some(&dest.id))?;
    Ok(Value::structure())
}

/// Queues a finding for every destination of its detector.
pub fn queue(env: &mut Env<'_>, d: &Detector, finding: &Json) -> Result<()> {
    let dests: Vec<Destination> = env.scan_all(NS_DESTINATION, &d.prefix())?;
    for dest in dests {
        let key = format!("{}{}/{}", d.prefix(), dest.id, env.ids.uuid());
        env.put(NS_EXPORT, &key, finding)?;
    }
    Ok(())
}

/// Deletes a detector's destinations and queued exports (DeleteDetector).
pub fn delete_all(env: &mut Env<'_>, d: &Detector) -> Result<()> {
    env.delete_prefix(NS_DESTINATION, &d.prefix())?;
    clear(env, d, None)
}

/// Drops queued exports (of one destination, or all of the detector's).
pub fn clear(env: &mut Env<'_>, d: &Detector, dest: Option<&str>) -> Result<()> {
    let p = match dest {
        Some(id) => format!("{}{id}/", d.prefix()),
        None => d.prefix(),
    };
    env.delete_prefix(NS_EXPORT, &p)?;
    Ok(())
}

/// Writes each destination's queued findings as one object.
fn export(env: &mut Env<'_>, d: &Detector) -> Result<usize> {
    let dests: Vec<Destination> = env.scan_all(NS_DESTINATION, &d.prefix())?;
    let mut files = 0;
    for dest in dests {
        let queued = env.tx.scan(
            NS_EXPORT,
            &format!("{}{}/", d.prefix(), dest.id),
            None,
            usize::MAX,
        )?;
        if queued.is_empty() {
            continue;
        }
        let Some((bucket, path)) = bucket_of(&dest.arn) else {
            continue;
        };
        let t = env.now;
        let key = format!(
            "{}AWSLogs/{}/GuardDuty/{}/{:04}/{:02}/{:02}/{}.jsonl.gz",
            path.map(|p| format!("{p}/")).unwrap_or_default(),
            d.account,
            d.region,
            t.year(),
            u8::from(t.month()),
            t.day(),
            env.ids.uuid()
        );
        // GuardDuty writes as its service principal, so the bucket's policy
        // must let it; a missing bucket or a refusal keeps the findings queued.
        let writable = trailguard_s3::find_bucket(env, &bucket)?.is_some()
            && match trailguard_s3::authorize_delivery(env, &d.arn(), &bucket, &key) {
                Ok(_) => true,
                Err(Error::AccessDenied(_)) => false,
                Err(e) => return Err(e),
            };
        if !writable {
            // Kept queued until the destination is fixed, as AWS reports it.
            let mut failed = dest.clone();
            failed.status = "UNABLE_TO_PUBLISH_FIX_DESTINATION_PROPERTY".into();
            env.put(
                NS_DESTINATION,
                &format!("{}{}", d.prefix(), dest.id),
                &failed,
            )?;
            continue;
        }
        let mut lines = Vec::new();
        for (_, bytes) in &queued {
            lines.extend_from_slice(bytes);
            lines.push(b'\n');
        }
        let mut enc = GzEncoder::new(Vec::new(), Compression::default());
        let gz = enc
            .write_all(&lines)
            .and_then(|()| enc.finish())
            .map_err(|e| Error::Corrupt(format!("gzip: {e}")))?;
        trailguard_s3::deliver_object(
            env,
            &d.arn(),
            &bucket,
            &key,
            &gz,
            "application/gzip",
            BTreeMap::new(),
        )?;
        for (k, _) in queued {
            env.delete(NS_EXPORT, &k)?;
        }
        if dest.status != "PUBLISHING" {
            let mut ok = dest.clone();
            ok.status = "PUBLISHING".into();
            env.put(NS_DESTINATION, &format!("{}{}", d.prefix(), dest.id), &ok)?;
        }
        files += 1;
    }
    Ok(files)
}

/// Finding export as the server's worker runs it.
pub struct Export {
    /// Idle while there is no detector.
    quiet: Quiet,
}

impl Default for Export {
    fn default() -> Self {
        Self {
            quiet: Quiet::new(super::NS_DETECTOR),
        }
    }
}

impl BackgroundJob for Export {
    fn name(&self) -> &'static str {
        "finding export"
    }

    fn idle(&self, services: &Services) -> bool {
        self.quiet.idle(services)
    }

    fn run(&self, services: &Services, moment: Moment) -> std::result::Result<usize, ApiError> {
        match moment {
            Moment::Tick => {
                let mark = self.quiet.mark(services);
                let (files, detectors) = export_all(services)?;
                self.quiet.found(mark, detectors == 0);
                Ok(files)
            }
            Moment::Shutdown => Ok(0),
        }
    }
}

/// Exports queued findings to every detector's publishing destinations.
pub fn export_findings(services: &Services) -> std::result::Result<usize, ApiError> {
    export_all(services).map(|(files, _)| files)
}

/// [`export_findings`], also saying how many detectors there were.
fn export_all(services: &Services) -> std::result::Result<(usize, usize), ApiError> {
    {
        let bg = services.background(super::SERVICE, super::SERVICE);
        let detectors: Vec<Detector> = services
            .in_background(&bg, "", |env| env.scan_all(super::NS_DETECTOR, ""))
            .map_err(|e| trailguard_core::log_internal(&e))?;
        let count = detectors.len();
        let mut files = 0;
        for d in detectors {
            match services.in_background(&bg, &d.account, |env| export(env, &d)) {
                Ok(n) => files += n,
                Err(e) => tracing::error!(detector = %d.id, error = %e, "finding export failed"),
            }
        }
        Ok((files, count))
    }
}
