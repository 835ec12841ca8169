//! The first detections, on the account's own CloudTrail records as they commit.
//!
//! Each enabled detector keeps a cursor into the audit table; the server's
//! worker moves it every tick, in one transaction with the findings it makes, so
//! a record is examined exactly once. Rules and their aggregation keys (repeats
//! with the same key update one finding):
//!
//! | type | trigger | aggregated by |
//! | --- | --- | --- |
//! | `Stealth:IAMUser/CloudTrailLoggingDisabled` | successful `StopLogging` or `DeleteTrail` | caller ARN, access key |
//! | `Policy:IAMUser/RootCredentialUsage` | any call made with the root user's credentials | access key |
//! | `PenTest:IAMUser/KaliLinux` (`ParrotLinux`, `PentooLinux`) | the user agent names the distribution | caller ARN, access key |
//! | `Stealth:IAMUser/PasswordPolicyChange` | `UpdateAccountPasswordPolicy` or `DeleteAccountPasswordPolicy` | caller ARN |
//! | `Recon:IAMUser/MaliciousIPCaller.Custom` | a `Get`/`List`/`Describe` call from an IP on an active threat list | caller ARN, source IP |
//! | `UnauthorizedAccess:IAMUser/MaliciousIPCaller.Custom` | any other call from such an IP | caller ARN, source IP |
//! | `Policy:S3/BucketAnonymousAccessGranted` | a `PutBucketPolicy` after which the bucket's policy, read back through GuardDuty's role ([`super::enrich`]), lets an anonymous caller read or write | bucket ARN |
//!
//! Calls from an IP on the detector's active trusted list trigger nothing.
//! Calls made by AWS services (`AWSService` identities, or `invokedBy`) are the
//! services' own and trigger nothing.

use super::findings::{self, Observation};
use super::lists::{self, Kind, List};
use super::{Detector, NS_DETECTOR};
use serde_json::{Value as Json, json};
use std::net::IpAddr;
use time::OffsetDateTime;
use trailguard_core::Services;
use trailguard_core::env::Env;
use trailguard_core::error::Result;
use trailguard_core::module::{BackgroundJob, Moment, Quiet};
use trailguard_model::ApiError;

const NS_CURSOR: &str = "guardduty.cursor";
const BATCH: usize = 2_000;

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
    Ok(())
}

/// The string at a path of a record (empty when absent).
pub(super) fn text<'a>(r: &'a Json, path: &[&str]) -> &'a str {
    let mut v = r;
    for p in path {
        v = &v[*p];
    }
    v.as_str().unwrap_or_default()
}

/// A call an AWS service made (as itself, or for a customer): its own, never a
/// finding.
fn by_service(r: &Json) -> bool {
    let identity = &r["userIdentity"];
    text(identity, &["type"]) == "AWSService" || identity.get("invokedBy").is_some()
}

/// The finding types a record triggers.
fn rules(r: &Json) -> Vec<&'static str> {
    if by_service(r) {
        return Vec::new();
    }
    let kind = text(&r["userIdentity"], &["type"]);
    let mut out = Vec::new();
    let ok = r.get("errorCode").is_none();
    let name = text(r, &["eventName"]);
    if ok
        && text(r, &["eventSource"]) == "cloudtrail.amazonaws.com"
        && matches!(name, "StopLogging" | "DeleteTrail")
    {
        out.push("Stealth:IAMUser/CloudTrailLoggingDisabled");
    }
    if kind == "Root" {
        out.push("Policy:IAMUser/RootCredentialUsage");
    }
    let agent = text(r, &["userAgent"]).to_ascii_lowercase();
    for (needle, ty) in [
        ("kali", "PenTest:IAMUser/KaliLinux"),
        ("parrot", "PenTest:IAMUser/ParrotLinux"),
        ("pentoo", "PenTest:IAMUser/PentooLinux"),
    ] {
        if agent.contains(needle) {
            out.push(ty);
        }
    }
    if matches!(
        name,
        "UpdateAccountPasswordPolicy" | "DeleteAccountPasswordPolicy"
    ) {
        out.push("Stealth:IAMUser/PasswordPolicyChange");
    }
    out
}

/// The finding for a record of a rule.
fn observe(ty: &'static findings::FindingType, r: &Json) -> Observation {
    let identity = &r["userIdentity"];
    let key_id = text(identity, &["accessKeyId"]);
    let arn = text(identity, &["arn"]);
    let user = match text(identity, &["type"]) {
        "Root" => "Root".to_string(),
        "AssumedRole" => {
            text(identity, &["sessionContext", "sessionIssuer", "userName"]).to_string()
        }
        _ => text(identity, &["userName"]).to_string(),
    };
    let ip = text(r, &["sourceIPAddress"]);
    let api = text(r, &["eventName"]);
    let resource = json!({
        "resourceType": "AccessKey",
        "accessKeyDetails": {
            "accessKeyId": key_id,
            "principalId": text(identity, &["principalId"]),
            "userName": user,
            "userType": text(identity, &["type"]),
        },
    });
    let mut call = json!({
        "api": api,
        "serviceName": text(r, &["eventSource"]),
        "callerType": "Remote IP",
        "userAgent": text(r, &["userAgent"]),
        "remoteIpDetails": {"ipAddressV4": ip},
    });
    if let Some(code) = r.get("errorCode").and_then(Json::as_str) {
        findings::set(&mut call, &["errorCode"], json!(code));
    }
    let aggregation_key = match ty.name.as_str() {
        "Policy:IAMUser/RootCredentialUsage" => format!("{}/{key_id}", ty.name),
        "Stealth:IAMUser/PasswordPolicyChange" => format!("{}/{arn}", ty.name),
        _ => format!("{}/{arn}/{key_id}", ty.name),
    };
    let event_time = trailguard_model::clock::parse_iso8601(text(r, &["eventTime"]))
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    Observation {
        finding_type: ty,
        aggregation_key,
        resource,
        action: json!({"actionType": "AWS_API_CALL", "awsApiCallAction": call}),
        evidence: None,
        additional: json!({}),
        event_ids: vec![text(r, &["eventID"]).to_string()],
        event_time,
        fill: vec![
            ("userName", user.clone()),
            ("accessKeyId", key_id.to_string()),
            ("remoteIp", ip.to_string()),
            ("api", api.to_string()),
            ("instanceId", String::new()),
            ("bucketName", String::new()),
            ("domain", String::new()),
        ],
    }
}

/// A call from an IP on a threat list: reconnaissance for reads, unauthorized
/// access otherwise; the evidence names the list.
fn malicious_caller(r: &Json, ip: IpAddr, list: &List) -> Option<Observation> {
    let identity = &r["userIdentity"];
    let api = text(r, &["eventName"]);
    let recon = ["Get", "List", "Describe"]
        .iter()
        .any(|p| api.starts_with(p));
    let name = if recon {
        "Recon:IAMUser/MaliciousIPCaller.Custom"
    } else {
        "UnauthorizedAccess:IAMUser/MaliciousIPCaller.Custom"
    };
    let ty = findings::finding_type(name)?;
    let mut o = observe(ty, r);
    o.aggregation_key = format!("{name}/{}/{ip}", text(identity, &["arn"]));
    o.evidence = Some(json!({"threatIntelligenceDetails": [
        {"threatListName": list.name(), "threatNames": []}
    ]}));
    o.additional = json!({"threatListName": list.name()});
    Some(o)
}

/// Whether the detector sees a record: its account, and its region (IAM's
/// global events are seen in us-east-1, where they are recorded).
fn sees(d: &Detector, r: &Json) -> bool {
    text(r, &["recipientAccountId"]) == d.account && text(r, &["awsRegion"]) == d.region
}

/// The active threat list naming an IP, if any.
fn threat_list(threats: &[List], ip: IpAddr) -> Option<&List> {
    threats
        .iter()
        .find(|l| l.cidrs.iter().any(|c| c.contains(ip)))
}

fn process(env: &mut Env<'_>, listed: &Detector) -> Result<usize> {
    // As it stands now: disabled or deleted since it was listed, it detects nothing.
    match env.get::<Detector>(NS_DETECTOR, &listed.key())? {
        Some(d) if d.enabled => run(env, &d),
        _ => Ok(0),
    }
}

/// Examines the records after the detector's cursor and moves it.
fn run(env: &mut Env<'_>, d: &Detector) -> Result<usize> {
    let mut cursor: i64 = env.get(NS_CURSOR, &d.key())?.unwrap_or(0);
    let mut made = 0;
    let mut events = env.tx.events_after(cursor, BATCH)?;
    if events.is_empty() {
        // Nothing new: the (possibly large) lists stay unread this tick.
        super::outbox::release_updates(env, d)?;
        return Ok(0);
    }
    let trusted = lists::active(env, d, Kind::Trusted)?;
    let threats = lists::active(env, d, Kind::Threat)?;
    loop {
        let full = events.len() == BATCH;
        for e in events {
            cursor = e.seq;
            let Ok(r) = serde_json::from_str::<Json>(&e.record) else {
                continue;
            };
            if !sees(d, &r) || by_service(&r) {
                continue;
            }
            let ip = text(&r, &["sourceIPAddress"]).parse::<IpAddr>().ok();
            if ip.is_some_and(|ip| {
                trusted
                    .iter()
                    .any(|l| l.cidrs.iter().any(|c| c.contains(ip)))
            }) {
                continue;
            }
            for name in rules(&r) {
                if let Some(ty) = findings::finding_type(name) {
                    findings::upsert(env, d, observe(ty, &r))?;
                    made += 1;
                }
            }
            if let Some(o) = super::enrich::bucket_policy_change(env, &r, observe)? {
                findings::upsert(env, d, o)?;
                made += 1;
            }
            if let Some((ip, list)) = ip.and_then(|ip| threat_list(&threats, ip).map(|l| (ip, l)))
                && let Some(o) = malicious_caller(&r, ip, list)
            {
                findings::upsert(env, d, o)?;
                made += 1;
            }
        }
        if !full {
            break;
        }
        events = env.tx.events_after(cursor, BATCH)?;
    }
    env.put(NS_CURSOR, &d.key(), &cursor)?;
    super::outbox::release_updates(env, d)?;
    Ok(made)
}

/// Live detection as the server's worker runs it.
pub struct Detection {
    /// Idle while there is no enabled detector.
    quiet: Quiet,
}

impl Default for Detection {
    fn default() -> Self {
        Self {
            quiet: Quiet::new(NS_DETECTOR),
        }
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
                let (made, detectors) = detect(services)?;
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
    detect(services).map(|(made, _)| made)
}

/// [`detect_findings`], also saying how many detectors were enabled.
fn detect(services: &Services) -> std::result::Result<(usize, usize), ApiError> {
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
            match services.in_background(&here, &d.account, |env| process(env, &d)) {
                Ok(n) => made += n,
                Err(e) => tracing::error!(detector = %d.id, error = %e, "detection failed"),
            }
        }
        Ok((made, count))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_fire_on_what_they_name() {
        let root = json!({"userIdentity": {"type": "Root"}, "eventSource": "iam.amazonaws.com", "eventName": "ListUsers", "userAgent": "aws-cli/1.46"});
        assert_eq!(rules(&root), vec!["Policy:IAMUser/RootCredentialUsage"]);
        let stop = json!({"userIdentity": {"type": "IAMUser"}, "eventSource": "cloudtrail.amazonaws.com", "eventName": "StopLogging", "userAgent": "Boto3/1.44 kali"});
        assert_eq!(
            rules(&stop),
            vec![
                "Stealth:IAMUser/CloudTrailLoggingDisabled",
                "PenTest:IAMUser/KaliLinux"
            ]
        );
        let failed = json!({"userIdentity": {"type": "IAMUser"}, "eventSource": "cloudtrail.amazonaws.com", "eventName": "StopLogging", "errorCode": "AccessDenied"});
        assert!(rules(&failed).is_empty());
        let service = json!({"userIdentity": {"type": "Root", "invokedBy": "lex.amazonaws.com"}, "eventName": "CreateServiceLinkedRole"});
        assert!(rules(&service).is_empty());
    }
}
