//! CloudTrail: the event history (`LookupEvents` over the records every call
//! writes), trails ([`trails`]), their event selectors ([`selectors`]), delivery
//! of log files and signed digests to S3 ([`delivery`]) and the signing keys
//! `ListPublicKeys` shows ([`signing`]).
//!
//! Lookups are newest first, management events of the last 90 days, at most one
//! lookup attribute, and a `NextToken` that is only valid with the parameters it
//! was issued for (it carries a digest of them).

pub mod delivery;
pub mod error;
pub mod selectors;
pub mod signing;
pub mod trails;

use crate::error::CloudTrailError;
use base64::Engine as _;
use serde_json::Value as Json;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use time::{Duration, OffsetDateTime};
use trailguard_core::authz::Authorized;
use trailguard_core::env::Env;
use trailguard_core::error::Result;
use trailguard_core::module::ServiceModule;
use trailguard_core::ops::Operation;
use trailguard_core::params::{Names, Params};
use trailguard_model::wire::Protocol;
use trailguard_model::{ServiceDef, Value};
use trailguard_store::{Lookup, LookupFilter};

fn any(_: &mut Env<'_>, _: Params<'_>) -> Result<String> {
    Ok("*".into())
}

/// The member naming the trail of most trail calls.
pub(crate) const TRAIL: Names = Names("Name");
/// The member naming the trail of `PutEventSelectors` and `GetEventSelectors`.
pub(crate) const SELECTORS_TRAIL: Names = Names("TrailName");
/// The member naming the trail of `AddTags` and `RemoveTags`.
pub(crate) const TAGGED: Names = Names("ResourceId");

/// The trail `member` names (by name or ARN), as its IAM resource. Exactly one
/// member per operation, the one its handler loads: a fallback to another
/// member would let a caller be authorized on one trail and act on another.
fn trail_arn(env: &Env<'_>, p: Params<'_>, member: Names) -> Result<String> {
    let named = member.read_opt(p)?.unwrap_or("*");
    if named.starts_with("arn:") {
        return Ok(named.to_string());
    }
    Ok(format!(
        "arn:aws:cloudtrail:{}:{}:trail/{named}",
        env.ctx.region, env.account
    ))
}

fn by_name(env: &mut Env<'_>, p: Params<'_>) -> Result<String> {
    trail_arn(env, p, TRAIL)
}

fn by_trail_name(env: &mut Env<'_>, p: Params<'_>) -> Result<String> {
    trail_arn(env, p, SELECTORS_TRAIL)
}

fn by_resource_id(env: &mut Env<'_>, p: Params<'_>) -> Result<String> {
    trail_arn(env, p, TAGGED)
}

/// AWS CloudTrail.
pub const DEF: ServiceDef = ServiceDef::new(
    "cloudtrail",
    "cloudtrail.amazonaws.com",
    Protocol::AwsJson11 {
        target_prefix: "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101",
    },
);

/// CloudTrail, as the core sees it: its operations and trail delivery, run
/// by the worker at `timing`.
pub fn module(timing: delivery::Timing) -> ServiceModule {
    ServiceModule {
        background: vec![Arc::new(delivery::Delivery::new(timing))],
        ..ServiceModule::new(&DEF, OPERATIONS)
    }
}

/// The CloudTrail operations served.
pub const OPERATIONS: &[Operation] = &[
    Operation::read("LookupEvents", any, lookup_events),
    Operation::write("CreateTrail", by_name, trails::create_trail),
    Operation::write("UpdateTrail", by_name, trails::update_trail),
    Operation::write("DeleteTrail", by_name, trails::delete_trail),
    Operation::read("DescribeTrails", any, trails::describe_trails),
    Operation::read("GetTrail", by_name, trails::get_trail),
    Operation::read("ListTrails", any, trails::list_trails),
    Operation::read("GetTrailStatus", by_name, trails::get_trail_status),
    Operation::write("StartLogging", by_name, trails::start_logging),
    Operation::write("StopLogging", by_name, trails::stop_logging),
    Operation::write(
        "PutEventSelectors",
        by_trail_name,
        trails::put_event_selectors,
    ),
    Operation::read(
        "GetEventSelectors",
        by_trail_name,
        trails::get_event_selectors,
    ),
    Operation::write("AddTags", by_resource_id, trails::add_tags),
    Operation::write("RemoveTags", by_resource_id, trails::remove_tags),
    Operation::read("ListTags", any, trails::list_tags),
    Operation::read("ListPublicKeys", any, list_public_keys),
];

/// `ListPublicKeys`: the digest signing keys of the caller's region valid in
/// `[StartTime, EndTime]` (now when absent), as PKCS#1 DER.
pub fn list_public_keys(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let start = time_param(p, "StartTime")?.unwrap_or(env.now);
    let end = time_param(p, "EndTime")?.unwrap_or(env.now);
    if start > end {
        return Err(CloudTrailError::InvalidTimeRange(
            "Start time must be before end time.".into(),
        )
        .into());
    }
    let region = env.ctx.region.clone();
    let keys = signing::overlapping(env, &region, start, end)?;
    let list = keys
        .iter()
        .map(|k| {
            Value::structure()
                .with(
                    "Value",
                    Value::Blob(hex::decode(&k.public_der).unwrap_or_default()),
                )
                .with("ValidityStartTime", k.valid_from)
                .with("ValidityEndTime", k.valid_to)
                .with("Fingerprint", k.fingerprint.clone())
        })
        .collect();
    Ok(Value::structure().with("PublicKeyList", Value::List(list)))
}

const MAX_AGE: Duration = Duration::days(90);

/// An epoch-seconds (or ISO-8601) time parameter.
fn time_param(p: Params<'_>, name: &str) -> Result<Option<OffsetDateTime>> {
    let invalid =
        || CloudTrailError::InvalidTimeRange(format!("{name} is not a valid time.")).into();
    match p.0.get(name) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::Number(n)) => {
            let secs = n.as_f64().ok_or_else(invalid)?;
            let nanos = (secs * 1e9) as i128;
            OffsetDateTime::from_unix_timestamp_nanos(nanos)
                .map(Some)
                .map_err(|_| invalid())
        }
        Some(Json::String(s)) => trailguard_model::clock::parse_iso8601(s)
            .map(Some)
            .ok_or_else(invalid),
        Some(_) => Err(invalid()),
    }
}

fn filter(p: Params<'_>) -> Result<Option<LookupFilter>> {
    let attrs = match p.0.get("LookupAttributes") {
        None | Some(Json::Null) => return Ok(None),
        Some(Json::Array(a)) => a,
        Some(_) => {
            return Err(CloudTrailError::InvalidLookupAttributes(
                "LookupAttributes must be a list.".into(),
            )
            .into());
        }
    };
    let [attr] = attrs.as_slice() else {
        if attrs.is_empty() {
            return Ok(None);
        }
        return Err(CloudTrailError::InvalidLookupAttributes(
            "You cannot specify more than one lookup attribute.".into(),
        )
        .into());
    };
    let a = Params(attr);
    let key = a.str("AttributeKey")?;
    let value = a.str_len("AttributeValue", 1, 2000)?.to_string();
    Ok(Some(match key {
        "EventId" => LookupFilter::EventId(value),
        "EventName" => LookupFilter::EventName(value),
        "ReadOnly" => match value.as_str() {
            "true" => LookupFilter::ReadOnly(true),
            "false" => LookupFilter::ReadOnly(false),
            _ => {
                return Err(CloudTrailError::InvalidLookupAttributes(
                    "The value of the ReadOnly attribute must be true or false.".into(),
                )
                .into());
            }
        },
        "Username" => LookupFilter::Username(value),
        "ResourceType" => LookupFilter::ResourceType(value),
        "ResourceName" => LookupFilter::ResourceName(value),
        "EventSource" => LookupFilter::EventSource(value),
        "AccessKeyId" => LookupFilter::AccessKeyId(value),
        other => {
            return Err(CloudTrailError::InvalidLookupAttributes(format!(
                "Lookup attribute key {other} is not valid."
            ))
            .into());
        }
    }))
}

/// A digest of the parameters a token belongs to.
fn params_digest(p: Params<'_>) -> String {
    let mut canonical = p.0.clone();
    if let Json::Object(m) = &mut canonical {
        m.remove("NextToken");
        m.remove("MaxResults");
    }
    hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
        .get(..16)
        .unwrap_or_default()
        .to_string()
}

fn encode_token(digest: &str, cursor: (i64, i64)) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("{digest}:{}:{}", cursor.0, cursor.1))
}

fn decode_token(token: &str, digest: &str) -> Result<(i64, i64)> {
    let invalid = || CloudTrailError::InvalidNextToken("Invalid NextToken.".into()).into();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(token)
        .map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    let mut parts = text.split(':');
    let (Some(d), Some(ms), Some(seq), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid());
    };
    if d != digest {
        return Err(invalid());
    }
    Ok((
        ms.parse().map_err(|_| invalid())?,
        seq.parse().map_err(|_| invalid())?,
    ))
}

fn event_value(record: &str) -> Value {
    let json: Json = serde_json::from_str(record).unwrap_or_default();
    let s = |k: &str| json.get(k).and_then(Json::as_str).map(str::to_string);
    let identity = json.get("userIdentity").cloned().unwrap_or_default();
    let username = match identity.get("type").and_then(Json::as_str) {
        Some("Root") => Some("root".to_string()),
        Some("IAMUser") => identity
            .get("userName")
            .and_then(Json::as_str)
            .map(str::to_string),
        Some("AssumedRole") => identity
            .get("arn")
            .and_then(Json::as_str)
            .and_then(|a| a.rsplit('/').next())
            .map(str::to_string),
        Some("AWSService") => identity
            .get("invokedBy")
            .and_then(Json::as_str)
            .map(str::to_string),
        _ => None,
    };
    let time = s("eventTime").and_then(|t| trailguard_model::clock::parse_iso8601(&t));
    let named: Vec<trailguard_model::cloudtrail::Resource> = json
        .get("resources")
        .and_then(|r| serde_json::from_value(r.clone()).ok())
        .unwrap_or_default();
    let params = json.get("requestParameters").cloned().unwrap_or_default();
    let resources: Vec<Value> = trailguard_core::audit::lookup_resources(&params, &named)
        .into_iter()
        .map(|(ty, name)| {
            Value::structure()
                .with("ResourceType", ty)
                .with("ResourceName", name)
        })
        .collect();
    Value::structure()
        .with("EventId", s("eventID"))
        .with("EventName", s("eventName"))
        .with(
            "ReadOnly",
            json.get("readOnly")
                .and_then(Json::as_bool)
                .map(|b| b.to_string()),
        )
        .with(
            "AccessKeyId",
            identity
                .get("accessKeyId")
                .and_then(Json::as_str)
                .map(str::to_string),
        )
        .with("EventTime", time)
        .with("EventSource", s("eventSource"))
        .with("Username", username)
        .with("Resources", Value::List(resources))
        .with("CloudTrailEvent", record)
}

pub fn lookup_events(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let filter = filter(p)?;
    let max = match p.0.get("MaxResults") {
        None | Some(Json::Null) => 50,
        Some(v) => match v
            .as_i64()
            .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        {
            Some(n @ 1..=50) => usize::try_from(n).unwrap_or(50),
            _ => {
                return Err(CloudTrailError::InvalidMaxResults(
                    "Value for parameter MaxResults is invalid: it must be between 1 and 50."
                        .into(),
                )
                .into());
            }
        },
    };
    let oldest = env.now - MAX_AGE;
    let start = time_param(p, "StartTime")?.unwrap_or(oldest).max(oldest);
    let end = time_param(p, "EndTime")?.unwrap_or(env.now);
    if start > end {
        return Err(CloudTrailError::InvalidTimeRange(
            "Start time must be before end time.".into(),
        )
        .into());
    }
    let digest = params_digest(p);
    let before = match p.opt_str("NextToken")? {
        Some(t) => Some(decode_token(t, &digest)?),
        None => None,
    };
    let ms =
        |t: OffsetDateTime| i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX);
    let mut found = env.tx.lookup_events(&Lookup {
        account_id: env.account.clone(),
        filter,
        start_ms: ms(start),
        // EndTime is inclusive to the second.
        end_ms: ms(end) + 999,
        before,
        limit: max + 1,
    })?;
    let next = if found.len() > max {
        found.truncate(max);
        found
            .last()
            .map(|e| encode_token(&digest, (e.event_time_ms, e.seq)))
    } else {
        None
    };
    Ok(Value::structure()
        .with(
            "Events",
            Value::List(found.iter().map(|e| event_value(&e.record)).collect()),
        )
        .with("NextToken", next))
}
