//! The engine: rules indexed by the `eventName` they look at, run over each
//! record once.
//!
//! Rules are stateless here: a record in, candidates out, so records can be
//! checked in any order on any thread. Detectors that remember (baselines,
//! counts in a window, Sigma correlations) live apart, in [`crate::state`],
//! and see records in order.
//!
//! GuardDuty's rules for every built-in detection: calls AWS services make
//! (as themselves, or `invokedBy` for a customer) are the services' own and
//! raise nothing, and calls from a trusted address raise nothing. Sigma rules
//! see service calls too (a user's rule may be about them); the trusted list
//! silences them as well.

use crate::candidate::{Candidate, EventRef, Origin, RuleRef};
use crate::catalogue::FindingType;
use crate::cloudtrail::Record;
use crate::intel::Intel;
use serde_json::{Value as Json, json};
use std::collections::HashMap;
use std::sync::Arc;

/// What the engine may ask of the world while it checks a record. The server
/// answers by reading through GuardDuty's role; offline nobody answers and
/// rules decide from the record alone.
pub trait Facts {
    /// A bucket's current policy.
    fn bucket_policy(&mut self, account: &str, region: &str, bucket: &str) -> Lookup;
}

/// An answer of [`Facts`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// Nobody to ask: decide from the record.
    NotAsked,
    Found(String),
    /// Asked, and there is none.
    Absent,
    /// Asked, and the asking failed: decide nothing.
    Failed,
}

/// Offline: no facts beyond the records.
pub struct NoFacts;

impl Facts for NoFacts {
    fn bucket_policy(&mut self, _: &str, _: &str, _: &str) -> Lookup {
        Lookup::NotAsked
    }
}

/// Where candidates go, as far as repeats are concerned (`scan`'s worker
/// keeps its block's findings): when a finding under a key is already there,
/// a record is counted as one more occurrence on the spot, and no candidate,
/// resource or action is built for it.
pub trait Seen {
    /// Counts `r` against the finding under `key`, if there is one, and says
    /// whether there was.
    fn again(&self, key: &str, r: &Record<'_>, origin: Option<Origin>) -> bool;
}

/// What a rule checks a record with.
pub struct Cx<'c> {
    pub intel: &'c Intel,
    pub facts: &'c mut dyn Facts,
    /// Where the record was read from (scan only).
    pub origin: Option<Origin>,
    /// Keys with a finding already (scan only; the server builds each in full).
    pub seen: Option<&'c dyn Seen>,
}

impl Cx<'_> {
    /// Whether `r` was counted as a repeat of the finding under `key`.
    pub fn repeat(&self, key: &str, r: &Record<'_>) -> bool {
        // A damaged record is not judged: nothing is counted for it.
        if r.damaged() {
            return true;
        }
        self.seen.is_some_and(|s| s.again(key, r, self.origin))
    }
}

/// Which records a rule looks at.
#[derive(Debug, Clone)]
pub enum On {
    /// Every record.
    Any,
    /// Records with one of these `eventName`s (compared without case).
    Names(Vec<String>),
}

/// A stateless rule over CloudTrail records.
pub trait CloudTrailRule: Send + Sync {
    fn rule(&self) -> RuleRef;
    fn on(&self) -> On;
    /// Whether calls AWS services make are seen (built-in rules: never).
    fn sees_service_calls(&self) -> bool {
        false
    }
    fn check(&self, r: &Record<'_>, cx: &mut Cx<'_>, out: &mut Vec<Candidate>);
}

/// The rules, indexed.
pub struct Engine {
    rules: Vec<Box<dyn CloudTrailRule>>,
    by_name: HashMap<String, Vec<usize>>,
    any: Vec<usize>,
}

impl Engine {
    pub fn new(rules: Vec<Box<dyn CloudTrailRule>>) -> Self {
        let mut by_name: HashMap<String, Vec<usize>> = HashMap::new();
        let mut any = Vec::new();
        for (i, rule) in rules.iter().enumerate() {
            match rule.on() {
                On::Any => any.push(i),
                On::Names(names) => {
                    for n in names {
                        let slot = by_name.entry(n.to_ascii_lowercase()).or_default();
                        if !slot.contains(&i) {
                            slot.push(i);
                        }
                    }
                }
            }
        }
        Self {
            rules,
            by_name,
            any,
        }
    }

    /// The built-in rules.
    pub fn builtin() -> Self {
        Self::new(crate::rules::all())
    }

    /// The built-in rules and more.
    pub fn with(mut extra: Vec<Box<dyn CloudTrailRule>>, builtin: bool) -> Self {
        let mut rules = if builtin {
            crate::rules::all()
        } else {
            Vec::new()
        };
        rules.append(&mut extra);
        Self::new(rules)
    }

    pub fn len(&self) -> usize {
        self.rules.len()
    }
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Checks one record against every rule that looks at it.
    pub fn check(&self, r: &Record<'_>, cx: &mut Cx<'_>, out: &mut Vec<Candidate>) {
        if cx.intel.trusted.contains_text(r.source_ip()) {
            return;
        }
        let by_service = r.by_service();
        // The index is keyed by lowercase names; API names fit on the stack.
        let name = r.event_name().as_bytes();
        let mut buf = [0u8; 128];
        let named = match buf.get_mut(..name.len()) {
            Some(key) => {
                key.copy_from_slice(name);
                key.make_ascii_lowercase();
                std::str::from_utf8(key)
                    .ok()
                    .and_then(|k| self.by_name.get(k))
            }
            None => self.by_name.get(&r.event_name().to_ascii_lowercase()),
        }
        .map(Vec::as_slice)
        .unwrap_or_default();
        let before = out.len();
        for &i in self.any.iter().chain(named) {
            if let Some(rule) = self.rules.get(i)
                && (!by_service || rule.sees_service_calls())
            {
                rule.check(r, cx, out);
            }
        }
        // A record part of which could not be decoded was judged on missing
        // fields: what the rules said of it is dropped (the caller reports it).
        if r.damaged() {
            out.truncate(before);
        }
    }
}

/// The finding most CloudTrail rules make: the caller's access key as the
/// resource and the call as the action, aggregated by caller and key.
pub fn api_call(
    ty: Arc<FindingType>,
    rule: &'static str,
    r: &Record<'_>,
    cx: &Cx<'_>,
) -> Candidate {
    let identity = r.identity();
    let key_id = identity.access_key_id.as_deref().unwrap_or_default();
    let user = r.user_name();
    let ip = r.source_ip();
    let api = r.event_name();
    let resource = json!({
        "resourceType": "AccessKey",
        "accessKeyDetails": {
            "accessKeyId": key_id,
            "principalId": identity.principal_id.as_deref().unwrap_or_default(),
            "userName": user,
            "userType": r.identity_type(),
        },
    });
    let mut call = json!({
        "api": api,
        "serviceName": r.event_source(),
        "callerType": "Remote IP",
        "userAgent": r.user_agent(),
        "remoteIpDetails": remote_ip(ip),
    });
    if let (Some(code), Some(map)) = (r.error_code(), call.as_object_mut()) {
        map.insert("errorCode".into(), json!(code));
    }
    let aggregation_key = caller_key(&ty, r);
    Candidate {
        finding_type: ty,
        rule: RuleRef::Builtin(rule),
        aggregation_key,
        account: r.account().to_string(),
        region: r.region().to_string(),
        resource,
        action: json!({"actionType": "AWS_API_CALL", "awsApiCallAction": call}),
        evidence: None,
        additional: json!({}),
        events: vec![EventRef {
            event_id: r.event_id().to_string(),
            origin: cx.origin,
        }],
        event_time: r.time(),
        fill: vec![
            ("userName", user.to_string()),
            ("accessKeyId", key_id.to_string()),
            ("remoteIp", ip.to_string()),
            ("api", api.to_string()),
            ("instanceId", String::new()),
            ("bucketName", String::new()),
            ("domain", String::new()),
        ],
    }
}

/// The usual aggregation key: type, caller and access key.
pub fn caller_key(ty: &FindingType, r: &Record<'_>) -> String {
    let identity = r.identity();
    format!(
        "{}/{}/{}",
        ty.name,
        identity.arn.as_deref().unwrap_or_default(),
        identity.access_key_id.as_deref().unwrap_or_default()
    )
}

/// [`api_call`] under `key`, or a repeat when `key` already has a finding.
pub fn api_call_keyed<'o>(
    ty: &Arc<FindingType>,
    rule: &'static str,
    r: &Record<'_>,
    cx: &Cx<'_>,
    key: String,
    out: &'o mut Vec<Candidate>,
) -> Option<&'o mut Candidate> {
    if cx.repeat(&key, r) {
        return None;
    }
    let mut c = api_call(ty.clone(), rule, r, cx);
    c.aggregation_key = key;
    out.push(c);
    out.last_mut()
}

/// A call from a listed address: GuardDuty's `Recon:` type for reads, its
/// `UnauthorizedAccess:` type otherwise, aggregated by caller and address.
pub fn listed_caller<'o>(
    rule: &'static str,
    (recon, other): (&str, &str),
    r: &Record<'_>,
    cx: &Cx<'_>,
    ip: std::net::IpAddr,
    out: &'o mut Vec<Candidate>,
) -> Option<&'o mut Candidate> {
    let name = if reads(r.event_name()) { recon } else { other };
    let ty = crate::catalogue::finding_type(name)?;
    let key = format!(
        "{name}/{}/{ip}",
        r.identity().arn.as_deref().unwrap_or_default()
    );
    api_call_keyed(&ty, rule, r, cx, key, out)
}

/// `remoteIpDetails` for an address (v4 or v6).
fn remote_ip(ip: &str) -> Json {
    if ip.contains(':') {
        json!({"ipAddressV6": ip})
    } else {
        json!({"ipAddressV4": ip})
    }
}

/// Whether an API only reads (GuardDuty's "Recon" family: list and describe).
pub fn reads(api: &str) -> bool {
    ["Get", "List", "Describe"]
        .iter()
        .any(|p| api.starts_with(p))
}
