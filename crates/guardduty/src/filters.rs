//! Filters (suppression rules): saved finding criteria with a rank, and an
//! action. `ARCHIVE` filters archive every new or updated finding they match;
//! `NOOP` filters are saved views. Up to 100 per detector. A member account's
//! findings pass its administrator's filters, not its own, and only the
//! administrator creates, changes or deletes filters (see
//! [`super::members::administrator_only`]).

use super::{Detector, criteria};
use crate::error::GuardDutyError;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use time::OffsetDateTime;
use trailguard_core::authz::Authorized;
use trailguard_core::env::Env;
use trailguard_core::error::{Error, Result};
use trailguard_core::params::Params;
use trailguard_model::Value;

const NS_FILTER: &str = "guardduty.filter";
const MAX_FILTERS: usize = 100;

/// A filter.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Filter {
    name: String,
    description: Option<String>,
    action: String,
    rank: i64,
    criteria: Json,
    #[serde(default)]
    tags: serde_json::Map<String, Json>,
    #[serde(with = "time::serde::rfc3339")]
    created: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    updated: OffsetDateTime,
}

fn bad(message: impl Into<String>) -> Error {
    GuardDutyError::BadRequest(message.into()).into()
}

fn check_name(name: &str) -> Result<()> {
    let ok = (3..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(bad(
            "The request is rejected because the filter name must be 3 to 64 letters, digits, periods, underscores or hyphens.",
        ))
    }
}

fn action(p: Params<'_>) -> Result<Option<String>> {
    match p.opt_str("action")? {
        None => Ok(None),
        Some(a @ ("NOOP" | "ARCHIVE")) => Ok(Some(a.to_string())),
        Some(other) => Err(bad(format!(
            "The request is rejected because the filter action {other} is not NOOP or ARCHIVE."
        ))),
    }
}

fn all(env: &mut Env<'_>, d: &Detector) -> Result<Vec<Filter>> {
    env.scan_all(NS_FILTER, &d.prefix())
}

/// Whether an ARCHIVE filter that governs the detector (its administrator's,
/// for a member) matches the finding.
pub fn archives(env: &mut Env<'_>, d: &Detector, finding: &Json) -> Result<bool> {
    let governing = super::members::governing(env, d)?;
    let mut filters = all(env, &governing)?;
    filters.sort_by_key(|f| f.rank);
    for f in filters.iter().filter(|f| f.action == "ARCHIVE") {
        if criteria::matches(finding, Some(&f.criteria), true)? {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Deletes a detector's filters (DeleteDetector).
pub fn delete_all(env: &mut Env<'_>, d: &Detector) -> Result<()> {
    env.delete_prefix(NS_FILTER, &d.prefix())?;
    Ok(())
}

pub fn create_filter(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let d = super::load(env, p.str("detectorId")?)?;
    super::members::administrator_only(env, &d, "create filters")?;
    let name = super::NEW_FILTER.read(p)?;
    check_name(name)?;
    let criteria =
        p.0.get("findingCriteria")
            .cloned()
            .ok_or_else(|| bad("The request is rejected because findingCriteria is required."))?;
    criteria::validate(Some(&criteria), true)?;
    let key = format!("{}{name}", d.prefix());
    if env.get::<Filter>(NS_FILTER, &key)?.is_some() {
        return Err(bad(format!(
            "The request is rejected because a filter named {name} already exists."
        )));
    }
    if all(env, &d)?.len() >= MAX_FILTERS {
        return Err(bad(
            "The request is rejected because the detector already has 100 filters.",
        ));
    }
    let f = Filter {
        name: name.to_string(),
        description: p.opt_str("description")?.map(str::to_string),
        action: action(p)?.unwrap_or_else(|| "NOOP".into()),
        rank: p.opt_int("rank", 1, 100)?.unwrap_or(1),
        criteria,
        tags: match p.0.get("tags") {
            Some(Json::Object(m)) => m.clone(),
            _ => serde_json::Map::new(),
        },
        created: env.now,
        updated: env.now,
    };
    env.put(NS_FILTER, &key, &f)?;
    Ok(Value::structure().with("name", f.name))
}

fn load(env: &mut Env<'_>, d: &Detector, name: &str) -> Result<Filter> {
    env.get(NS_FILTER, &format!("{}{name}", d.prefix()))?
        .ok_or_else(|| {
            bad(format!(
                "The request is rejected because the filter {name} does not exist."
            ))
        })
}

pub fn get_filter(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let d = super::load(env, p.str("detectorId")?)?;
    let f = load(env, &d, super::FILTER.read(p)?)?;
    Ok(Value::structure()
        .with("name", f.name)
        .with("description", f.description)
        .with("action", f.action)
        .with("rank", f.rank)
        .with("findingCriteria", Value::from_json(&f.criteria))
        .with("tags", Value::from_json(&Json::Object(f.tags))))
}

pub fn update_filter(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let d = super::load(env, p.str("detectorId")?)?;
    super::members::administrator_only(env, &d, "update filters")?;
    let mut f = load(env, &d, super::FILTER.read(p)?)?;
    if let Some(c) = p.0.get("findingCriteria") {
        criteria::validate(Some(c), true)?;
        f.criteria = c.clone();
    }
    if let Some(a) = action(p)? {
        f.action = a;
    }
    if let Some(r) = p.opt_int("rank", 1, 100)? {
        f.rank = r;
    }
    if let Some(desc) = p.opt_str("description")? {
        f.description = Some(desc.to_string());
    }
    f.updated = env.now;
    env.put(NS_FILTER, &format!("{}{}", d.prefix(), f.name), &f)?;
    Ok(Value::structure().with("name", f.name))
}

pub fn delete_filter(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let d = super::load(env, p.str("detectorId")?)?;
    super::members::administrator_only(env, &d, "delete filters")?;
    let f = load(env, &d, super::FILTER.read(p)?)?;
    env.delete(NS_FILTER, &format!("{}{}", d.prefix(), f.name))?;
    Ok(Value::structure())
}

pub fn list_filters(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let d = super::load(env, p.str("detectorId")?)?;
    let max = usize::try_from(p.opt_int("maxResults", 1, 50)?.unwrap_or(50)).unwrap_or(50);
    let after = p.opt_str("nextToken")?;
    let names: Vec<String> = all(env, &d)?
        .into_iter()
        .map(|f| f.name)
        .filter(|n| after.is_none_or(|a| n.as_str() > a))
        .collect();
    let next = (names.len() > max)
        .then(|| names.get(max - 1).cloned())
        .flatten();
    Ok(Value::structure()
        .with(
            "filterNames",
            Value::List(names.into_iter().take(max).map(Value::Str).collect()),
        )
        .with("nextToken", next))
}
