//! Trails: where CloudTrail delivers records, what it selects, whether it logs.
//!
//! A trail names an S3 bucket whose policy must let `cloudtrail.amazonaws.com`
//! write under `[prefix/]AWSLogs/<account>/`; this is checked with the policy
//! engine at creation and update, as AWS checks it. Every change that alters
//! what a trail delivers is recorded as a settings epoch through [`save`] (or
//! DeleteTrail), so it never reaches back to records committed before it.
//! Delivery itself is [`super::delivery`].

use super::selectors::{self, Selectors};
use crate::error::CloudTrailError;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use time::OffsetDateTime;
use trailguard_core::authz::Authorized;
use trailguard_core::env::Env;
use trailguard_core::error::Result;
use trailguard_core::params::Params;
use trailguard_model::Value;

pub(super) const NS_TRAIL: &str = "cloudtrail.trail";

/// A trail.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Trail {
    pub name: String,
    pub account: String,
    pub home_region: String,
    pub arn: String,
    pub bucket: String,
    pub prefix: Option<String>,
    pub sns_topic: Option<String>,
    pub include_global: bool,
    pub multi_region: bool,
    pub organization: bool,
    pub validation: bool,
    pub log_group: Option<String>,
    pub log_role: Option<String>,
    pub kms_key: Option<String>,
    pub logging: bool,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub start_logging: Option<OffsetDateTime>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub stop_logging: Option<OffsetDateTime>,
    #[serde(default)]
    pub selectors: Selectors,
    #[serde(default)]
    pub tags: Vec<(String, String)>,
}

impl Trail {
    pub(super) fn key(&self) -> String {
        trail_key(&self.account, &self.home_region, &self.name)
    }

    /// What Create/UpdateTrail answer.
    fn to_created_value(&self) -> Value {
        Value::structure()
            .with("Name", self.name.clone())
            .with("S3BucketName", self.bucket.clone())
            .with("S3KeyPrefix", self.prefix.clone())
            .with("SnsTopicARN", self.sns_topic.clone())
            .with("IncludeGlobalServiceEvents", self.include_global)
            .with("IsMultiRegionTrail", self.multi_region)
            .with("TrailARN", self.arn.clone())
            .with("LogFileValidationEnabled", self.validation)
            .with("CloudWatchLogsLogGroupArn", self.log_group.clone())
            .with("CloudWatchLogsRoleArn", self.log_role.clone())
            .with("KmsKeyId", self.kms_key.clone())
            .with("IsOrganizationTrail", self.organization)
    }

    /// What Describe/GetTrail answer: the same, with the home region and flags.
    fn to_value(&self) -> Value {
        self.to_created_value()
            .with("HomeRegion", self.home_region.clone())
            .with(
                "HasCustomEventSelectors",
                !matches!(self.selectors, Selectors::Default),
            )
            .with("HasInsightSelectors", false)
    }
}

pub(super) fn trail_key(account: &str, region: &str, name: &str) -> String {
    format!("{account}/{region}/{name}")
}

/// CloudTrail's trail-name rules.
fn check_name(name: &str) -> Result<()> {
    let invalid = |why: &str| Err(CloudTrailError::InvalidTrailName(why.to_string()).into());
    if name.len() < 3 || name.len() > 128 {
        return invalid(
            "Trail name too short. Minimum allowed length: 3 characters. Maximum allowed length: 128 characters.",
        );
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-')
    {
        return invalid(
            "Trail name or ARN can only contain uppercase letters, lowercase letters, numbers, periods (.), hyphens (-), and underscores (_).",
        );
    }
    let first = name
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphanumeric());
    let last = name
        .bytes()
        .last()
        .is_some_and(|b| b.is_ascii_alphanumeric());
    if !first || !last {
        return invalid(
            "Trail name must starts with a letter or number and end with a letter or number.",
        );
    }
    let bytes = name.as_bytes();
    if bytes
        .windows(2)
        .any(|w| w.iter().all(|b| matches!(b, b'.' | b'_' | b'-')))
    {
        return invalid(
            "Trail name cannot have adjacent periods, underscores or dashes. Examples of invalid names: my-_namespace, my--namespace.",
        );
    }
    if name.split('.').count() == 4 && name.split('.').all(|p| p.parse::<u8>().is_ok()) {
        return invalid("Trail name cannot be formatted as an IP address.");
    }
    Ok(())
}

/// Resolves a trail by name (in the caller's region) or ARN (in the region it
/// names). Calls that change the trail use [`load_for_change`].
pub(super) fn load(env: &mut Env<'_>, name_or_arn: &str) -> Result<Trail> {
    let account = env.account.clone();
    let not_found = || {
        CloudTrailError::TrailNotFound(format!(
            "Unknown trail: {name_or_arn} for the user: {account}"
        ))
        .into()
    };
    let (region, name) = match name_or_arn.strip_prefix("arn:aws:cloudtrail:") {
        Some(rest) => {
            let mut parts = rest.splitn(3, ':');
            let region = parts.next().unwrap_or_default().to_string();
            let account = parts.next().unwrap_or_default();
            let name = parts
                .next()
                .and_then(|r| r.strip_prefix("trail/"))
                .unwrap_or_default()
                .to_string();
            if account != env.account.as_str() {
                return Err(not_found());
            }
            (region, name)
        }
        None => (env.ctx.region.clone(), name_or_arn.to_string()),
    };
    let key = trail_key(&env.account, &region, &name);
    env.get(NS_TRAIL, &key)?.ok_or_else(not_found)
}

/// CloudTrail changes a trail only from its home region: UpdateTrail,
/// DeleteTrail, Start/StopLogging, PutEventSelectors and tagging "must be called
/// from the Region in which the trail was created" and answer
/// `InvalidHomeRegionException` from any other, multi-region trails included
/// (their copies elsewhere are shadow trails, which only read). So a change is
/// served and recorded in the trail's home region, where the trail's own
/// settings select it, before and after; from another region, reached by ARN, it
/// would be recorded where a single-region trail never looks. Reads
/// (GetTrail, GetTrailStatus, DescribeTrails, GetEventSelectors) may name a
/// trail of another region by ARN, as AWS's may.
fn in_home_region(env: &Env<'_>, trail: &Trail) -> Result<()> {
    if trail.home_region == env.ctx.region {
        return Ok(());
    }
    Err(CloudTrailError::InvalidHomeRegion(format!(
        "This operation must be called from the trail's home region ({}); it was called from {}.",
        trail.home_region, env.ctx.region
    ))
    .into())
}

/// [`load`] for a call that changes the trail: only from its home region
/// ([`in_home_region`]).
fn load_for_change(env: &mut Env<'_>, name_or_arn: &str) -> Result<Trail> {
    let trail = load(env, name_or_arn)?;
    in_home_region(env, &trail)?;
    Ok(trail)
}

/// Stores the trail; a change to what it delivers becomes a settings epoch
/// ([`super::delivery`]), so it governs only the records after this call's.
/// Only a call in the trail's home region changes it ([`in_home_region`]).
fn save(env: &mut Env<'_>, trail: &Trail) -> Result<()> {
    in_home_region(env, trail)?;
    let key = trail.key();
    let old: Option<Trail> = env.get(NS_TRAIL, &key)?;
    env.put(NS_TRAIL, &key, trail)?;
    super::delivery::record_change(env, &key, old.as_ref(), Some(trail))
}

/// Checks that the bucket exists and its policy lets CloudTrail write there.
fn check_bucket(env: &mut Env<'_>, trail: &Trail) -> Result<()> {
    let bucket = trailguard_s3::find_bucket(env, &trail.bucket)?.ok_or_else(|| {
        CloudTrailError::S3BucketDoesNotExist(format!("S3 bucket {} does not exist.", trail.bucket))
    })?;
    let insufficient = || {
        CloudTrailError::InsufficientS3BucketPolicy(format!(
            "Incorrect S3 bucket policy is detected for bucket: {}",
            trail.bucket
        ))
        .into()
    };
    let prefix = trail
        .prefix
        .as_deref()
        .map(|p| format!("{p}/"))
        .unwrap_or_default();
    let key = format!(
        "{prefix}AWSLogs/{}/CloudTrail/{}/file.json.gz",
        trail.account, trail.home_region
    );
    // The decision delivery takes for every file, as CloudTrail's principal.
    if trailguard_s3::service_may_deliver(
        env,
        "cloudtrail.amazonaws.com",
        &trail.arn,
        &bucket.name,
        &key,
    )? {
        Ok(())
    } else {
        Err(insufficient())
    }
}

fn opt_prefix(p: Params<'_>) -> Result<Option<String>> {
    match p.opt_str("S3KeyPrefix")? {
        None | Some("") => Ok(None),
        Some(prefix) if prefix.len() > 200 => Err(CloudTrailError::InvalidS3Prefix(
            "The S3 key prefix is too long: at most 200 characters.".into(),
        )
        .into()),
        Some(prefix) => Ok(Some(prefix.trim_end_matches('/').to_string())),
    }
}

pub fn create_trail(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let name = super::TRAIL.read(p)?;
    check_name(name)?;
    let bucket = p.str("S3BucketName")?;
    let key = trail_key(&env.account, &env.ctx.region, name);
    if env.get::<Trail>(NS_TRAIL, &key)?.is_some() {
        return Err(CloudTrailError::TrailAlreadyExists(format!(
            "Trail {name} already exists for customer: {}",
            env.account
        ))
        .into());
    }
    if p.opt_bool("IsOrganizationTrail")? == Some(true) {
        return Err(CloudTrailError::InvalidParameter(
            "Organization trails need AWS Organizations, which trailguard does not serve.".into(),
        )
        .into());
    }
    let mut tags = Vec::new();
    for t in
        p.0.get("TagsList")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
    {
        let k = t.get("Key").and_then(Json::as_str).unwrap_or_default();
        let v = t.get("Value").and_then(Json::as_str).unwrap_or_default();
        tags.push((k.to_string(), v.to_string()));
    }
    let trail = Trail {
        name: name.to_string(),
        account: env.account.clone(),
        home_region: env.ctx.region.clone(),
        arn: format!(
            "arn:aws:cloudtrail:{}:{}:trail/{name}",
            env.ctx.region, env.account
        ),
        bucket: bucket.to_string(),
        prefix: opt_prefix(p)?,
        sns_topic: p.opt_str("SnsTopicName")?.map(str::to_string),
        include_global: p.opt_bool("IncludeGlobalServiceEvents")?.unwrap_or(true),
        multi_region: p.opt_bool("IsMultiRegionTrail")?.unwrap_or(false),
        organization: false,
        validation: p.opt_bool("EnableLogFileValidation")?.unwrap_or(false),
        log_group: p.opt_str("CloudWatchLogsLogGroupArn")?.map(str::to_string),
        log_role: p.opt_str("CloudWatchLogsRoleArn")?.map(str::to_string),
        kms_key: p.opt_str("KmsKeyId")?.map(str::to_string),
        logging: false,
        start_logging: None,
        stop_logging: None,
        selectors: Selectors::Default,
        tags,
    };
    if trail.multi_region && !trail.include_global {
        return Err(CloudTrailError::InvalidParameterCombination(
            "Multi-Region trail must include global service events.".into(),
        )
        .into());
    }
    check_bucket(env, &trail)?;
    save(env, &trail)?;
    Ok(trail.to_created_value())
}

pub fn update_trail(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let mut trail = load_for_change(env, super::TRAIL.read(p)?)?;
    let mut recheck = false;
    if let Some(bucket) = p.opt_str("S3BucketName")? {
        trail.bucket = bucket.to_string();
        recheck = true;
    }
    if p.0.get("S3KeyPrefix").is_some() {
        trail.prefix = opt_prefix(p)?;
        recheck = true;
    }
    if let Some(v) = p.opt_bool("IncludeGlobalServiceEvents")? {
        trail.include_global = v;
    }
    if let Some(v) = p.opt_bool("IsMultiRegionTrail")? {
        trail.multi_region = v;
    }
    if let Some(v) = p.opt_bool("EnableLogFileValidation")? {
        trail.validation = v;
    }
    if let Some(v) = p.opt_str("SnsTopicName")? {
        trail.sns_topic = Some(v.to_string());
    }
    if trail.multi_region && !trail.include_global {
        return Err(CloudTrailError::InvalidParameterCombination(
            "Multi-Region trail must include global service events.".into(),
        )
        .into());
    }
    if recheck {
        check_bucket(env, &trail)?;
    }
    save(env, &trail)?;
    Ok(trail.to_created_value())
}

pub fn delete_trail(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let trail = load_for_change(env, super::TRAIL.read(p)?)?;
    env.delete(NS_TRAIL, &trail.key())?;
    // What the trail owes up to (and including) this call is still delivered.
    super::delivery::record_change(env, &trail.key(), Some(&trail), None)?;
    Ok(Value::structure())
}

/// Trails visible in the caller's region: its own, and multi-region trails.
fn visible(env: &mut Env<'_>) -> Result<Vec<Trail>> {
    let prefix = format!("{}/", env.account);
    let all: Vec<Trail> = env.scan_all(NS_TRAIL, &prefix)?;
    let region = env.ctx.region.clone();
    Ok(all
        .into_iter()
        .filter(|t| t.home_region == region || t.multi_region)
        .collect())
}

pub fn describe_trails(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let names = p.str_list("trailNameList")?;
    let shadows = p.opt_bool("includeShadowTrails")?.unwrap_or(true);
    let region = env.ctx.region.clone();
    let trails: Vec<Trail> = visible(env)?
        .into_iter()
        .filter(|t| shadows || t.home_region == region)
        .filter(|t| names.is_empty() || names.iter().any(|n| *n == t.name || *n == t.arn))
        .collect();
    Ok(Value::structure().with(
        "trailList",
        Value::List(trails.iter().map(Trail::to_value).collect()),
    ))
}

pub fn get_trail(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let trail = load(env, super::TRAIL.read(p)?)?;
    Ok(Value::structure().with("Trail", trail.to_value()))
}

pub fn list_trails(env: &mut Env<'_>, _: &Authorized, _: Params<'_>) -> Result<Value> {
    let trails = visible(env)?;
    Ok(Value::structure().with(
        "Trails",
        Value::List(
            trails
                .iter()
                .map(|t| {
                    Value::structure()
                        .with("TrailARN", t.arn.clone())
                        .with("Name", t.name.clone())
                        .with("HomeRegion", t.home_region.clone())
                })
                .collect(),
        ),
    ))
}

pub fn start_logging(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let mut trail = load_for_change(env, super::TRAIL.read(p)?)?;
    if !trail.logging {
        trail.logging = true;
        trail.start_logging = Some(env.now);
        save(env, &trail)?;
    }
    Ok(Value::structure())
}

pub fn stop_logging(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let mut trail = load_for_change(env, super::TRAIL.read(p)?)?;
    if trail.logging {
        trail.logging = false;
        trail.stop_logging = Some(env.now);
        save(env, &trail)?;
    }
    Ok(Value::structure())
}

pub fn get_trail_status(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let trail = load(env, super::TRAIL.read(p)?)?;
    let state = super::delivery::state(env, &trail)?;
    Ok(Value::structure()
        .with("IsLogging", trail.logging)
        .with("LatestDeliveryError", state.last_error.clone())
        .with("LatestDeliveryTime", state.last_log_delivery)
        .with("LatestDigestDeliveryTime", state.last_digest_delivery)
        .with("StartLoggingTime", trail.start_logging)
        .with("StopLoggingTime", trail.stop_logging)
        .with("LatestDeliveryAttemptTime", state.last_attempt.map(iso))
        .with(
            "LatestDeliveryAttemptSucceeded",
            state.last_log_delivery.map(iso),
        )
        .with("TimeLoggingStarted", trail.start_logging.map(iso))
        .with("TimeLoggingStopped", trail.stop_logging.map(iso)))
}

fn iso(t: OffsetDateTime) -> String {
    trailguard_model::clock::iso8601(t)
}

pub fn put_event_selectors(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let mut trail = load_for_change(env, super::SELECTORS_TRAIL.read(p)?)?;
    trail.selectors =
        selectors::parse(p.0.get("EventSelectors"), p.0.get("AdvancedEventSelectors"))?;
    save(env, &trail)?;
    Ok(trail
        .selectors
        .to_value()
        .with("TrailARN", trail.arn.clone()))
}

pub fn get_event_selectors(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let trail = load(env, super::SELECTORS_TRAIL.read(p)?)?;
    Ok(trail
        .selectors
        .to_value()
        .with("TrailARN", trail.arn.clone()))
}

fn tags_param(p: Params<'_>) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for t in
        p.0.get("TagsList")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
    {
        let k = t
            .get("Key")
            .and_then(Json::as_str)
            .filter(|k| !k.is_empty() && k.len() <= 128)
            .ok_or_else(|| {
                CloudTrailError::InvalidTagParameter("Tag keys must be 1 to 128 characters.".into())
            })?;
        let v = t.get("Value").and_then(Json::as_str).unwrap_or_default();
        if v.len() > 256 {
            return Err(CloudTrailError::InvalidTagParameter(
                "Tag values must be at most 256 characters.".into(),
            )
            .into());
        }
        out.push((k.to_string(), v.to_string()));
    }
    Ok(out)
}

fn tag_target(env: &mut Env<'_>, arn: &str) -> Result<Trail> {
    if !arn.starts_with("arn:aws:cloudtrail:") {
        return Err(
            CloudTrailError::InvalidParameter(format!("{arn} is not a valid trail ARN.")).into(),
        );
    }
    load(env, arn)
        .map_err(|_| CloudTrailError::ResourceNotFound(format!("Resource not found: {arn}")).into())
}

/// [`tag_target`] for AddTags and RemoveTags, which change the trail: only from
/// its home region ([`in_home_region`]).
fn tag_target_for_change(env: &mut Env<'_>, arn: &str) -> Result<Trail> {
    let trail = tag_target(env, arn)?;
    in_home_region(env, &trail)?;
    Ok(trail)
}

pub fn add_tags(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let mut trail = tag_target_for_change(env, super::TAGGED.read(p)?)?;
    for (k, v) in tags_param(p)? {
        match trail.tags.iter_mut().find(|(key, _)| *key == k) {
            Some(existing) => existing.1 = v,
            None => trail.tags.push((k, v)),
        }
    }
    if trail.tags.len() > 50 {
        return Err(
            CloudTrailError::TagsLimitExceeded("A trail can have at most 50 tags.".into()).into(),
        );
    }
    save(env, &trail)?;
    Ok(Value::structure())
}

pub fn remove_tags(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let mut trail = tag_target_for_change(env, super::TAGGED.read(p)?)?;
    let remove = tags_param(p)?;
    trail
        .tags
        .retain(|(k, _)| !remove.iter().any(|(r, _)| r == k));
    save(env, &trail)?;
    Ok(Value::structure())
}

pub fn list_tags(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let mut list = Vec::new();
    for arn in p.str_list("ResourceIdList")? {
        let trail = tag_target(env, arn)?;
        list.push(
            Value::structure().with("ResourceId", arn).with(
                "TagsList",
                Value::List(
                    trail
                        .tags
                        .iter()
                        .map(|(k, v)| {
                            Value::structure()
                                .with("Key", k.clone())
                                .with("Value", v.clone())
                        })
                        .collect(),
                ),
            ),
        );
    }
    Ok(Value::structure().with("ResourceTagList", Value::List(list)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trail_names() {
        for ok in ["abc", "My_Trail-1.x", "a1b"] {
            assert!(check_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "a",
            "-bad",
            "bad-",
            "my..trail",
            "my-_trail",
            "has space",
            "10.0.0.1",
        ] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }
}
