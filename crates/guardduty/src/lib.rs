//! Amazon GuardDuty detectors: the control-plane core that makes GuardDuty a
//! linked service. Creating a detector creates `AWSServiceRoleForAmazonGuardDuty`
//! (when the caller may), and while a detector exists in any region the role
//! cannot be deleted. Findings ([`findings`]) with their criteria ([`criteria`])
//! and filters ([`filters`]), and the live detections over the trail
//! ([`detect`]), hang off a detector and go with it.

pub mod criteria;
pub mod detect;
pub mod enrich;
pub mod error;
pub mod export;
pub mod features;
pub mod filters;
pub mod findings;
pub mod lists;
pub mod members;
pub mod outbox;
pub mod routes;
pub mod summary;

use crate::error::GuardDutyError;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use time::OffsetDateTime;
use trailguard_core::authz::Authorized;
use trailguard_core::env::Env;
use trailguard_core::error::{Error, Result};
use trailguard_core::module::ServiceModule;
use trailguard_core::ops::Operation;
use trailguard_core::params::{Names, Params};
use trailguard_iam::linked::{self, LinkedResources};
use trailguard_model::clock::iso8601;
use trailguard_model::wire::Protocol;
use trailguard_model::{ServiceDef, Value};

/// GuardDuty's service principal.
pub const SERVICE: &str = "guardduty.amazonaws.com";

/// Amazon GuardDuty.
pub const DEF: ServiceDef = ServiceDef {
    routes: routes::ROUTES,
    ..ServiceDef::new("guardduty", "guardduty.amazonaws.com", Protocol::RestJson1)
};

/// GuardDuty, as the core sees it: its operations, the detectors that keep
/// its service-linked role in use, and its background work in order
/// (summaries of old detectors, live detection, export), with its findings
/// posted to the operator's webhooks.
pub fn module() -> ServiceModule {
    module_with(None)
}

/// [`module`], detecting with these rules (the built-in ones when `None`).
pub fn module_with(engine: Option<Arc<trailguard_detect::Engine>>) -> ServiceModule {
    let detection = match engine {
        Some(e) => detect::Detection::new(e),
        None => detect::Detection::default(),
    };
    ServiceModule {
        linked: Some(&Linked),
        background: vec![
            Arc::new(summary::BuildSummaries::default()),
            Arc::new(detection),
            Arc::new(export::Export::default()),
        ],
        outbox: Some(Arc::new(outbox::Webhooks::default())),
        ..ServiceModule::new(&DEF, OPERATIONS)
    }
}
const NS_DETECTOR: &str = "guardduty.detector";

/// The GuardDuty operations served.
pub const OPERATIONS: &[Operation] = &[
    Operation::write(
        "CreateDetector",
        |e, _| Ok(detector_arn(e, "*")),
        create_detector,
    ),
    Operation::read("GetDetector", detector_res, get_detector),
    Operation::read(
        "ListDetectors",
        |e, _| Ok(detector_arn(e, "*")),
        list_detectors,
    ),
    Operation::write("UpdateDetector", detector_res, update_detector),
    Operation::write("DeleteDetector", detector_res, delete_detector),
    Operation::read("ListFindings", detector_res, findings::list_findings),
    Operation::read("GetFindings", detector_res, findings::get_findings),
    Operation::write("ArchiveFindings", detector_res, findings::archive_findings),
    Operation::write(
        "UnarchiveFindings",
        detector_res,
        findings::unarchive_findings,
    ),
    Operation::write(
        "UpdateFindingsFeedback",
        detector_res,
        findings::update_findings_feedback,
    ),
    Operation::read(
        "GetFindingsStatistics",
        detector_res,
        findings::get_findings_statistics,
    ),
    Operation::write(
        "CreateSampleFindings",
        detector_res,
        findings::create_sample_findings,
    ),
    Operation::write("CreateFilter", new_filter_res, filters::create_filter),
    Operation::read("GetFilter", filter_res, filters::get_filter),
    Operation::write("UpdateFilter", filter_res, filters::update_filter),
    Operation::write("DeleteFilter", filter_res, filters::delete_filter),
    Operation::read("ListFilters", detector_res, filters::list_filters),
    Operation::write("CreateIPSet", detector_res, lists::create_ip_set),
    Operation::read("GetIPSet", detector_res, lists::get_ip_set),
    Operation::write("UpdateIPSet", detector_res, lists::update_ip_set),
    Operation::write("DeleteIPSet", detector_res, lists::delete_ip_set),
    Operation::read("ListIPSets", detector_res, lists::list_ip_sets),
    Operation::write(
        "CreateThreatIntelSet",
        detector_res,
        lists::create_threat_intel_set,
    ),
    Operation::read(
        "GetThreatIntelSet",
        detector_res,
        lists::get_threat_intel_set,
    ),
    Operation::write(
        "UpdateThreatIntelSet",
        detector_res,
        lists::update_threat_intel_set,
    ),
    Operation::write(
        "DeleteThreatIntelSet",
        detector_res,
        lists::delete_threat_intel_set,
    ),
    Operation::read(
        "ListThreatIntelSets",
        detector_res,
        lists::list_threat_intel_sets,
    ),
    Operation::write("CreateMembers", detector_res, members::create_members),
    Operation::write("InviteMembers", detector_res, members::invite_members),
    Operation::read("ListInvitations", any_detector, members::list_invitations),
    Operation::read(
        "GetInvitationsCount",
        any_detector,
        members::get_invitations_count,
    ),
    Operation::write(
        "AcceptAdministratorInvitation",
        detector_res,
        members::accept_administrator_invitation,
    ),
    Operation::read(
        "GetAdministratorAccount",
        detector_res,
        members::get_administrator_account,
    ),
    Operation::write(
        "DeclineInvitations",
        any_detector,
        members::decline_invitations,
    ),
    Operation::read("ListMembers", detector_res, members::list_members),
    Operation::read("GetMembers", detector_res, members::get_members),
    Operation::write(
        "DisassociateMembers",
        detector_res,
        members::disassociate_members,
    ),
    Operation::write("DeleteMembers", detector_res, members::delete_members),
    Operation::write(
        "DisassociateFromAdministratorAccount",
        detector_res,
        members::disassociate_from_administrator_account,
    ),
    Operation::write(
        "CreatePublishingDestination",
        detector_res,
        export::create_publishing_destination,
    ),
    Operation::read(
        "DescribePublishingDestination",
        detector_res,
        export::describe_publishing_destination,
    ),
    Operation::read(
        "ListPublishingDestinations",
        detector_res,
        export::list_publishing_destinations,
    ),
    Operation::write(
        "UpdatePublishingDestination",
        detector_res,
        export::update_publishing_destination,
    ),
    Operation::write(
        "DeletePublishingDestination",
        detector_res,
        export::delete_publishing_destination,
    ),
];

fn any_detector(env: &mut Env<'_>, _: Params<'_>) -> Result<String> {
    Ok(detector_arn(env, "*"))
}

/// The member naming the filter `CreateFilter` makes (a body member).
pub(crate) const NEW_FILTER: Names = Names("name");
/// The member naming the filter the other filter calls act on (a path label).
pub(crate) const FILTER: Names = Names("filterName");

/// The filter `member` names in the detector the path names, as its IAM
/// resource: exactly one member per operation, the one its handler reads.
fn filter_arn(env: &Env<'_>, p: Params<'_>, member: Names) -> Result<String> {
    Ok(format!(
        "{}/filter/{}",
        detector_arn(env, p.opt_str("detectorId")?.unwrap_or("*")),
        member.read_opt(p)?.unwrap_or("*")
    ))
}

fn new_filter_res(env: &mut Env<'_>, p: Params<'_>) -> Result<String> {
    filter_arn(env, p, NEW_FILTER)
}

fn filter_res(env: &mut Env<'_>, p: Params<'_>) -> Result<String> {
    filter_arn(env, p, FILTER)
}

const FREQUENCIES: &[&str] = &["FIFTEEN_MINUTES", "ONE_HOUR", "SIX_HOURS"];

/// A detector: one per account and region.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Detector {
    pub id: String,
    pub account: String,
    pub region: String,
    pub enabled: bool,
    pub frequency: String,
    service_role: String,
    #[serde(default)]
    tags: serde_json::Map<String, serde_json::Value>,
    /// Absent for detectors stored before plans were kept: they read as new.
    #[serde(default)]
    features: Option<features::Features>,
    #[serde(with = "time::serde::rfc3339")]
    created: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    updated: OffsetDateTime,
}

fn detector_arn(env: &Env<'_>, id: &str) -> String {
    format!(
        "arn:aws:guardduty:{}:{}:detector/{id}",
        env.ctx.region, env.account
    )
}

fn detector_res(env: &mut Env<'_>, p: Params<'_>) -> Result<String> {
    Ok(detector_arn(env, p.opt_str("detectorId")?.unwrap_or("*")))
}

fn region_prefix(env: &Env<'_>) -> String {
    format!("{}/{}/", env.account, env.ctx.region)
}

fn bad(message: &str) -> Error {
    GuardDutyError::BadRequest(format!("The request is rejected because {message}")).into()
}

fn frequency(p: Params<'_>) -> Result<Option<String>> {
    match p.opt_str("findingPublishingFrequency")? {
        None => Ok(None),
        Some(f) if FREQUENCIES.contains(&f) => Ok(Some(f.to_string())),
        Some(f) => Err(bad(&format!(
            "the findingPublishingFrequency '{f}' is not one of {}.",
            FREQUENCIES.join(", ")
        ))),
    }
}

impl Detector {
    fn key(&self) -> String {
        format!("{}/{}/{}", self.account, self.region, self.id)
    }

    /// What every key of the detector's findings, filters, lists and
    /// destinations starts with.
    pub fn prefix(&self) -> String {
        format!("{}/", self.key())
    }

    /// `arn:aws:guardduty:<region>:<account>:detector/<id>`.
    pub fn arn(&self) -> String {
        format!(
            "arn:aws:guardduty:{}:{}:detector/{}",
            self.region, self.account, self.id
        )
    }

    /// The detector's protection plans.
    pub fn features(&self) -> features::Features {
        self.features
            .clone()
            .unwrap_or_else(|| features::Features::new(self.created))
    }
}

/// The caller's detector in the request's region.
pub fn load(env: &mut Env<'_>, id: &str) -> Result<Detector> {
    let k = format!("{}{id}", region_prefix(env));
    env.get(NS_DETECTOR, &k)?
        .ok_or_else(|| bad("the input detectorId is not owned by the current account."))
}

pub fn create_detector(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let enable = p
        .opt_bool("enable")?
        .ok_or_else(|| bad("the enable parameter is missing."))?;
    let freq = frequency(p)?.unwrap_or_else(|| "SIX_HOURS".into());
    let prefix = region_prefix(env);
    if !env
        .scan::<Detector>(NS_DETECTOR, &prefix, None, 1)?
        .is_empty()
    {
        return Err(bad("a detector already exists for the current account."));
    }
    let mut plans = features::Features::new(env.now);
    plans.apply(p.0.get("features"), p.0.get("dataSources"), env.now)?;
    let role = linked::ensure_role(env, SERVICE)?;
    let tags = match p.0.get("tags") {
        Some(serde_json::Value::Object(m)) => m.clone(),
        _ => serde_json::Map::new(),
    };
    let detector = Detector {
        id: env.ids.uuid().replace('-', ""),
        account: env.account.clone(),
        region: env.ctx.region.clone(),
        enabled: enable,
        frequency: freq,
        service_role: role.arn,
        tags,
        features: Some(plans),
        created: env.now,
        updated: env.now,
    };
    let k = format!("{prefix}{}", detector.id);
    env.put(NS_DETECTOR, &k, &detector)?;
    summary::mark_ready(env, &detector.prefix())?;
    detect::start(env, &detector)?;
    Ok(Value::structure().with("detectorId", detector.id))
}

pub fn get_detector(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let d = load(env, p.str("detectorId")?)?;
    let plans = d.features();
    Ok(Value::structure()
        .with("createdAt", iso8601(d.created))
        .with("findingPublishingFrequency", d.frequency)
        .with("serviceRole", d.service_role)
        .with("status", if d.enabled { "ENABLED" } else { "DISABLED" })
        .with("updatedAt", iso8601(d.updated))
        .with("dataSources", plans.data_sources())
        .with("tags", Value::from_json(&serde_json::Value::Object(d.tags)))
        .with("features", plans.to_value(d.created)))
}

pub fn list_detectors(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let max = usize::try_from(p.opt_int("maxResults", 1, 50)?.unwrap_or(50)).unwrap_or(50);
    let prefix = region_prefix(env);
    let after = p.opt_str("nextToken")?.map(|t| format!("{prefix}{t}"));
    let page = env.scan::<Detector>(NS_DETECTOR, &prefix, after.as_deref(), max + 1)?;
    let next = (page.len() > max)
        .then(|| page.get(max - 1).map(|(_, d)| d.id.clone()))
        .flatten();
    let ids = page
        .into_iter()
        .take(max)
        .map(|(_, d)| Value::Str(d.id))
        .collect();
    Ok(Value::structure()
        .with("detectorIds", Value::List(ids))
        .with("nextToken", next))
}

pub fn update_detector(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let mut d = load(env, p.str("detectorId")?)?;
    let freq = frequency(p)?;
    let mut plans = d.features();
    plans.apply(p.0.get("features"), p.0.get("dataSources"), env.now)?;
    if let Some(enable) = p.opt_bool("enable")? {
        if enable && !d.enabled {
            // A re-enabled detector watches from now on, not the gap.
            detect::start(env, &d)?;
        }
        d.enabled = enable;
    }
    if let Some(f) = freq {
        d.frequency = f;
    }
    d.features = Some(plans);
    d.updated = env.now;
    let k = format!("{}{}", region_prefix(env), d.id);
    env.put(NS_DETECTOR, &k, &d)?;
    Ok(Value::structure())
}

pub fn delete_detector(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let d = load(env, p.str("detectorId")?)?;
    let k = format!("{}{}", region_prefix(env), d.id);
    env.delete(NS_DETECTOR, &k)?;
    // Its findings, filters and detection cursor go with it.
    findings::delete_all(env, &d)?;
    filters::delete_all(env, &d)?;
    lists::delete_all(env, &d)?;
    export::delete_all(env, &d)?;
    detect::forget(env, &d)?;
    Ok(Value::structure())
}

/// GuardDuty's side of the linked-service seam: detectors use the role.
pub struct Linked;

impl LinkedResources for Linked {
    fn service(&self) -> &'static str {
        SERVICE
    }

    fn resources_using_role(&self, env: &mut Env<'_>) -> Result<Vec<(String, String)>> {
        let prefix = format!("{}/", env.account);
        let detectors: Vec<Detector> = env.scan_all(NS_DETECTOR, &prefix)?;
        Ok(detectors
            .iter()
            .map(|d| (d.region.clone(), d.arn()))
            .collect())
    }
}
