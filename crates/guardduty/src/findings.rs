//! Findings in GuardDuty's schema (botocore's `Finding` shape, schema version 2.0):
//! storage, aggregation, the read and archive APIs and sample findings. The
//! catalogue of finding types is the detection engine's (`trailguard-detect`).
//!
//! Every producer (sample generation, the live detections in [`super::detect`],
//! later the flow-log and DNS engines) goes through [`upsert`]: a repeat of the
//! same activity, identified by an aggregation key the producer chooses, updates
//! the existing finding (`service.count`, `eventLastSeen`, `updatedAt`, the
//! latest actor details) instead of creating another, and every new or updated
//! finding passes the detector's ARCHIVE filters.

use super::{Detector, criteria, filters, summary};
use crate::error::GuardDutyError;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::{Value as Json, json};
use time::OffsetDateTime;
use trailguard_core::authz::Authorized;
use trailguard_core::env::Env;
use trailguard_core::error::{Error, Result};
use trailguard_core::params::Params;
use trailguard_detect::candidate::Home;
pub use trailguard_detect::{Candidate, FindingType, RuleRef, catalogue, finding_type};
use trailguard_model::Value;

pub(super) const NS_FINDING: &str = "guardduty.finding";
const NS_AGGREGATE: &str = "guardduty.aggregate";
/// Event ids kept on a finding: the latest occurrences.
const MAX_EVENT_IDS: usize = 20;

/// GuardDuty's timestamps: ISO 8601 with milliseconds.
pub fn timestamp(t: OffsetDateTime) -> String {
    trailguard_model::clock::iso8601_millis(t)
}

/// Records an occurrence: a new finding, or an update of the one with the same
/// aggregation key. Returns the finding id.
pub fn upsert(env: &mut Env<'_>, d: &Detector, o: Candidate) -> Result<String> {
    let agg = format!("{}{}", d.prefix(), o.aggregation_key);
    let now = timestamp(env.now);
    let seen = timestamp(o.event_time);
    let existing: Option<String> = env.get(NS_AGGREGATE, &agg)?;
    let existing = match existing {
        Some(id) => env
            .get::<Json>(NS_FINDING, &format!("{}{id}", d.prefix()))?
            .map(|f| (id, f)),
        None => None,
    };
    let new = existing.is_none();
    let (id, mut finding) = match existing {
        Some((id, mut f)) => {
            let count = get(&f, &["service", "count"]).as_i64().unwrap_or(1) + 1;
            set(&mut f, &["service", "count"], json!(count));
            set(&mut f, &["service", "eventLastSeen"], json!(seen));
            set(&mut f, &["service", "action"], o.action.clone());
            // A new occurrence brings a manually archived finding back.
            set(&mut f, &["service", "archived"], json!(false));
            let mut info: Json = get(&f, &["service", "additionalInfo", "value"])
                .as_str()
                .and_then(|v| serde_json::from_str(v).ok())
                .unwrap_or_else(|| json!({}));
            let mut ids: Vec<Json> = get(&info, &["cloudTrailEventIds"])
                .as_array()
                .cloned()
                .unwrap_or_default();
            ids.extend(o.events.iter().map(|e| json!(e.event_id)));
            let skip = ids.len().saturating_sub(MAX_EVENT_IDS);
            set(
                &mut info,
                &["cloudTrailEventIds"],
                Json::Array(ids.into_iter().skip(skip).collect()),
            );
            set(
                &mut f,
                &["service", "additionalInfo"],
                json!({"value": info.to_string(), "type": "default"}),
            );
            if let Some(e) = &o.evidence {
                set(&mut f, &["service", "evidence"], e.clone());
            }
            set(&mut f, &["updatedAt"], json!(now));
            (id, f)
        }
        None => {
            let id = env.ids.uuid().replace('-', "");
            let arn = d.arn();
            let home = Home {
                account: &d.account,
                region: &d.region,
                detector_id: &d.id,
                detector_arn: &arn,
            };
            let finding = o.document(&id, home, &now, &seen);
            env.put(NS_AGGREGATE, &agg, &id)?;
            (id, finding)
        }
    };
    if filters::archives(env, d, &finding)? {
        set(&mut finding, &["service", "archived"], json!(true));
    }
    summary::store(env, &format!("{}{id}", d.prefix()), &finding)?;
    super::outbox::enqueue(env, d, &finding, new)?;
    Ok(id)
}

/// The value at a path (`Null` when absent).
pub(super) fn get<'a>(doc: &'a Json, path: &[&str]) -> &'a Json {
    static NULL: Json = Json::Null;
    path.iter().try_fold(doc, |v, k| v.get(*k)).unwrap_or(&NULL)
}

/// Sets the value at a path, making objects along the way (anything else in the
/// way is replaced by an object).
pub(super) fn set(doc: &mut Json, path: &[&str], value: Json) {
    let Some((last, parents)) = path.split_last() else {
        *doc = value;
        return;
    };
    let mut current = doc;
    for key in parents {
        if !current.is_object() {
            *current = json!({});
        }
        let Some(map) = current.as_object_mut() else {
            return;
        };
        current = map.entry(key.to_string()).or_insert_with(|| json!({}));
    }
    if !current.is_object() {
        *current = json!({});
    }
    if let Some(map) = current.as_object_mut() {
        map.insert((*last).to_string(), value);
    }
}

/// Where a finding the detector shows is stored, and the finding.
fn locate(env: &mut Env<'_>, d: &Detector, id: &str) -> Result<Option<(String, Json)>> {
    for v in super::members::visible_detectors(env, d)? {
        let key = format!("{}{id}", v.prefix());
        if let Some(f) = env.get::<Json>(NS_FINDING, &key)? {
            return Ok(Some((key, f)));
        }
    }
    Ok(None)
}

/// The findings the detector shows (its own and its enabled members') that
/// meet `FindingCriteria` (read APIs take no `matches`). `also` names the other
/// fields the caller reads from them: when every field is indexed, the results
/// are summaries holding just those fields.
fn matching(
    env: &mut Env<'_>,
    d: &Detector,
    wanted: Option<&Json>,
    also: &[&str],
) -> Result<Vec<Json>> {
    criteria::validate(wanted, false)?;
    let mut fields = criteria::fields(wanted);
    fields.extend_from_slice(also);
    let visible = super::members::visible_detectors(env, d)?;
    let mut brief = summary::covers(fields.iter().copied());
    for v in &visible {
        brief = brief && summary::ready(env, &v.prefix())?;
    }
    let mut found = Vec::new();
    for v in &visible {
        let prefix = v.prefix();
        if brief {
            summary::visit(env, &prefix, &fields, &mut |doc| {
                if criteria::matches(&doc, wanted, false)? {
                    found.push(doc);
                }
                Ok(())
            })?;
        } else {
            // One finding at a time: only the matches are kept.
            env.visit(NS_FINDING, &prefix, &mut |key, bytes| {
                let f: Json = serde_json::from_slice(bytes)
                    .map_err(|e| Error::Corrupt(format!("{NS_FINDING}/{key}: {e}")))?;
                if criteria::matches(&f, wanted, false)? {
                    found.push(f);
                }
                Ok(())
            })?;
        }
    }
    Ok(found)
}

/// Deletes a detector's findings (DeleteDetector).
pub fn delete_all(env: &mut Env<'_>, d: &Detector) -> Result<()> {
    for ns in [NS_FINDING, NS_AGGREGATE] {
        env.delete_prefix(ns, &d.prefix())?;
    }
    summary::delete_all(env, &d.prefix())
}

fn sort(findings: &mut [Json], sort: Option<&Json>) -> Result<()> {
    let Some(sort) = sort.filter(|s| !s.is_null()) else {
        findings.sort_by(|a, b| {
            (a["createdAt"].as_str(), a["id"].as_str())
                .cmp(&(b["createdAt"].as_str(), b["id"].as_str()))
        });
        return Ok(());
    };
    let attribute = sort
        .get("attributeName")
        .and_then(Json::as_str)
        .ok_or_else(|| {
            GuardDutyError::BadRequest(
                "The request is rejected because sortCriteria needs an attributeName.".into(),
            )
        })?;
    let descending = match sort.get("orderBy").and_then(Json::as_str) {
        None | Some("ASC") => false,
        Some("DESC") => true,
        Some(other) => {
            return Err(GuardDutyError::BadRequest(format!(
                "The request is rejected because orderBy {other} is not ASC or DESC."
            ))
            .into());
        }
    };
    findings.sort_by(|a, b| {
        let (an, at) = criteria::sort_key(a, attribute);
        let (bn, bt) = criteria::sort_key(b, attribute);
        let ord = match (an, bn) {
            (Some(x), Some(y)) => x.partial_cmp(&y).unwrap_or(std::cmp::Ordering::Equal),
            _ => at.cmp(&bt),
        };
        let ord = ord.then_with(|| a["id"].as_str().cmp(&b["id"].as_str()));
        if descending { ord.reverse() } else { ord }
    });
    Ok(())
}

fn page_token(offset: usize) -> String {
    B64.encode(format!("findings:{offset}"))
}

fn page_offset(token: Option<&str>) -> Result<usize> {
    let Some(t) = token.filter(|t| !t.is_empty()) else {
        return Ok(0);
    };
    B64.decode(t)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.strip_prefix("findings:").and_then(|n| n.parse().ok()))
        .ok_or_else(|| {
            GuardDutyError::BadRequest(
                "The request is rejected because the nextToken is not valid.".into(),
            )
            .into()
        })
}

pub fn list_findings(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let d = super::load(env, p.str("detectorId")?)?;
    let max = usize::try_from(p.opt_int("maxResults", 1, 50)?.unwrap_or(50)).unwrap_or(50);
    let offset = page_offset(p.opt_str("nextToken")?)?;
    let sort_by =
        p.0.get("sortCriteria")
            .and_then(|s| s.get("attributeName"))
            .and_then(Json::as_str);
    let mut read = vec!["id", "createdAt"];
    read.extend(sort_by);
    let mut found = matching(env, &d, p.0.get("findingCriteria"), &read)?;
    sort(&mut found, p.0.get("sortCriteria"))?;
    let page: Vec<Value> = found
        .iter()
        .skip(offset)
        .take(max)
        .filter_map(|f| f["id"].as_str().map(Value::from))
        .collect();
    let next = (offset + max < found.len()).then(|| page_token(offset + max));
    Ok(Value::structure()
        .with("findingIds", Value::List(page))
        .with("nextToken", next))
}

fn ids(p: Params<'_>) -> Result<Vec<&str>> {
    let ids = p.str_list("findingIds")?;
    if ids.is_empty() || ids.len() > 50 {
        return Err(GuardDutyError::BadRequest(
            "The request is rejected because findingIds must list 1 to 50 finding ids.".into(),
        )
        .into());
    }
    Ok(ids)
}

fn load_finding(env: &mut Env<'_>, d: &Detector, id: &str) -> Result<(String, Json)> {
    locate(env, d, id)?.ok_or_else(|| {
            GuardDutyError::BadRequest(format!(
                "The request is rejected because the input findingId {id} is not valid for this detector."
            )).into()
        })
}

pub fn get_findings(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let d = super::load(env, p.str("detectorId")?)?;
    let mut found = Vec::new();
    for id in ids(p)? {
        if let Some((_, f)) = locate(env, &d, id)? {
            found.push(f);
        }
    }
    if p.0.get("sortCriteria").is_some() {
        sort(&mut found, p.0.get("sortCriteria"))?;
    }
    Ok(Value::structure().with(
        "findings",
        Value::List(found.iter().map(Value::from_json).collect()),
    ))
}

fn set_archived(env: &mut Env<'_>, p: Params<'_>, archived: bool) -> Result<Value> {
    let d = super::load(env, p.str("detectorId")?)?;
    let what = if archived {
        "archive findings"
    } else {
        "unarchive findings"
    };
    super::members::administrator_only(env, &d, what)?;
    for id in ids(p)? {
        let (key, mut f) = load_finding(env, &d, id)?;
        set(&mut f, &["service", "archived"], json!(archived));
        set(&mut f, &["updatedAt"], json!(timestamp(env.now)));
        summary::store(env, &key, &f)?;
    }
    Ok(Value::structure())
}

pub fn archive_findings(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    set_archived(env, p, true)
}

pub fn unarchive_findings(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    set_archived(env, p, false)
}

pub fn update_findings_feedback(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let d = super::load(env, p.str("detectorId")?)?;
    let feedback = p.str("feedback")?;
    if !["USEFUL", "NOT_USEFUL"].contains(&feedback) {
        return Err(GuardDutyError::BadRequest(format!(
            "The request is rejected because feedback {feedback} is not USEFUL or NOT_USEFUL."
        ))
        .into());
    }
    for id in ids(p)? {
        let (key, mut f) = load_finding(env, &d, id)?;
        set(&mut f, &["service", "userFeedback"], json!(feedback));
        summary::store(env, &key, &f)?;
    }
    Ok(Value::structure())
}

pub fn get_findings_statistics(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let types = p.str_list("findingStatisticTypes")?;
    let group_by = p.opt_str("groupBy")?;
    // Refused before anything is read.
    if let Some(group) = group_by
        && !["ACCOUNT", "DATE", "FINDING_TYPE", "RESOURCE", "SEVERITY"].contains(&group)
    {
        return Err(GuardDutyError::BadRequest(format!(
            "The request is rejected because groupBy {group} is not valid."
        ))
        .into());
    }
    if types.is_empty() && group_by.is_none() {
        return Err(GuardDutyError::BadRequest(
            "The request is rejected because findingStatisticTypes or groupBy is required.".into(),
        )
        .into());
    }
    let d = super::load(env, p.str("detectorId")?)?;
    // Only the fields the asked-for statistics read.
    let mut read = Vec::new();
    if types.contains(&"COUNT_BY_SEVERITY") {
        read.push("severity");
    }
    if let Some(group) = group_by {
        read.push("updatedAt");
        read.push(match group {
            "ACCOUNT" => "accountId",
            "FINDING_TYPE" => "type",
            "RESOURCE" => "resource.resourceType",
            _ => "severity",
        });
    }
    let found = matching(env, &d, p.0.get("findingCriteria"), &read)?;
    let mut stats = json!({});
    if types.contains(&"COUNT_BY_SEVERITY") {
        let mut by = serde_json::Map::new();
        for f in &found {
            let s = f["severity"].as_f64().unwrap_or(0.0);
            let key = format!("{s:.1}");
            let n = by.get(&key).and_then(Json::as_i64).unwrap_or(0) + 1;
            by.insert(key, json!(n));
        }
        set(&mut stats, &["countBySeverity"], Json::Object(by));
    }
    if let Some(group) = group_by {
        let key_of = |f: &Json| -> String {
            match group {
                "ACCOUNT" => f["accountId"].as_str().unwrap_or_default().to_string(),
                "DATE" => f["updatedAt"]
                    .as_str()
                    .unwrap_or_default()
                    .get(..10)
                    .unwrap_or_default()
                    .to_string(),
                "FINDING_TYPE" => f["type"].as_str().unwrap_or_default().to_string(),
                "RESOURCE" => get(f, &["resource", "resourceType"])
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                _ => format!("{:.1}", get(f, &["severity"]).as_f64().unwrap_or(0.0)),
            }
        };
        let mut groups: Vec<(String, i64, String)> = Vec::new();
        for f in &found {
            let k = key_of(f);
            let updated = f["updatedAt"].as_str().unwrap_or_default().to_string();
            match groups.iter_mut().find(|(g, _, _)| *g == k) {
                Some(g) => {
                    g.1 += 1;
                    if updated > g.2 {
                        g.2 = updated;
                    }
                }
                None => groups.push((k, 1, updated)),
            }
        }
        let descending = p.opt_str("orderBy")? != Some("ASC");
        groups.sort_by(|a, b| {
            if descending {
                b.1.cmp(&a.1)
            } else {
                a.1.cmp(&b.1)
            }
        });
        let max = usize::try_from(p.opt_int("maxResults", 1, 100)?.unwrap_or(25)).unwrap_or(25);
        groups.truncate(max);
        let (member, field) = match group {
            "ACCOUNT" => ("groupedByAccount", "accountId"),
            "DATE" => ("groupedByDate", "date"),
            "FINDING_TYPE" => ("groupedByFindingType", "findingType"),
            "RESOURCE" => ("groupedByResource", "resourceType"),
            _ => ("groupedBySeverity", "severity"),
        };
        set(
            &mut stats,
            &[member],
            Json::Array(
                groups
                    .into_iter()
                    .map(|(k, n, last)| {
                        // Severity groups are keyed by the numeric severity, a double.
                        let key = match (field, k.parse::<f64>()) {
                            ("severity", Ok(v)) => json!(v),
                            _ => json!(k),
                        };
                        json!({field: key, "totalFindings": n, "lastGeneratedAt": last})
                    })
                    .collect(),
            ),
        );
    }
    Ok(Value::structure().with("findingStatistics", Value::from_json(&stats)))
}

/// A sample's resource, action and placeholder values, by resource and action type.
fn sample(t: std::sync::Arc<FindingType>, account: &str) -> Candidate {
    let remote = json!({
        "ipAddressV4": "198.51.100.0",
        "organization": {"asn": "-1", "asnOrg": "GeneratedFindingASNOrg", "isp": "GeneratedFindingISP", "org": "GeneratedFindingORG"},
        "country": {"countryName": "GeneratedFindingCountryName"},
        "city": {"cityName": "GeneratedFindingCityName"},
        "geoLocation": {"lat": 0, "lon": 0},
    });
    let instance = json!({
        "instanceId": "i-99999999",
        "instanceType": "m3.xlarge",
        "instanceState": "running",
        "availabilityZone": "GeneratedFindingInstanceAvailabilityZone",
        "imageId": "ami-99999999",
        "imageDescription": "GeneratedFindingInstaceImageDescription",
        "launchTime": "2016-08-02T02:05:06.000Z",
        "networkInterfaces": [{
            "networkInterfaceId": "eni-bfcffe88",
            "privateIpAddress": "10.0.0.1",
            "publicIp": "198.51.100.0",
            "subnetId": "GeneratedFindingSubnetId",
            "vpcId": "GeneratedFindingVPCId",
            "securityGroups": [{"groupId": "GeneratedFindingSecurityId", "groupName": "GeneratedFindingSecurityGroupName"}],
        }],
        "tags": [{"key": "GeneratedFindingInstaceTag1", "value": "GeneratedFindingInstaceValue1"}],
    });
    let access_key = json!({
        "accessKeyId": "ASIASZ4SI7REXAMPLE",
        "principalId": "GeneratedFindingPrincipalId",
        "userName": "GeneratedFindingUserName",
        "userType": "IAMUser",
    });
    let resource = match t.resource_type.as_str() {
        "Instance" => json!({"resourceType": "Instance", "instanceDetails": instance}),
        "S3Bucket" => json!({
            "resourceType": "S3Bucket",
            "accessKeyDetails": access_key,
            "s3BucketDetails": [{
                "arn": "arn:aws:s3:::bucketName",
                "name": "bucketName",
                "type": "Destination",
                "createdAt": "2017-12-18T15:58:11.551Z",
                "owner": {"id": "CanonicalId of Owner"},
            }],
        }),
        _ => json!({"resourceType": "AccessKey", "accessKeyDetails": access_key}),
    };
    let action = match t.action_type.as_str() {
        "PORT_PROBE" => {
            json!({"actionType": "PORT_PROBE", "portProbeAction": {"blocked": false, "portProbeDetails": [{
            "localPortDetails": {"port": 80, "portName": "HTTP"}, "remoteIpDetails": remote}]}})
        }
        "DNS_REQUEST" => {
            json!({"actionType": "DNS_REQUEST", "dnsRequestAction": {"domain": "GeneratedFindingDomainName", "protocol": "UDP", "blocked": false}})
        }
        "NETWORK_CONNECTION" => {
            json!({"actionType": "NETWORK_CONNECTION", "networkConnectionAction": {
            "blocked": false, "connectionDirection": "OUTBOUND", "protocol": "TCP",
            "localPortDetails": {"port": 39677, "portName": "Unknown"},
            "remotePortDetails": {"port": 22, "portName": "SSH"}, "remoteIpDetails": remote}})
        }
        _ => json!({"actionType": "AWS_API_CALL", "awsApiCallAction": {
            "api": "GeneratedFindingAPIName", "serviceName": "GeneratedFindingAPIServiceName",
            "callerType": "Remote IP", "remoteIpDetails": remote}}),
    };
    Candidate {
        aggregation_key: format!("sample/{}", t.name),
        account: account.to_string(),
        region: String::new(),
        finding_type: t,
        rule: RuleRef::Builtin("sample"),
        resource,
        action,
        evidence: None,
        additional: json!({"sample": true}),
        events: Vec::new(),
        event_time: OffsetDateTime::UNIX_EPOCH,
        fill: vec![
            ("instanceId", "i-99999999".into()),
            ("userName", "GeneratedFindingUserName".into()),
            ("accessKeyId", "ASIASZ4SI7REXAMPLE".into()),
            ("bucketName", "bucketName".into()),
            ("remoteIp", "198.51.100.0".into()),
            ("domain", "GeneratedFindingDomainName".into()),
            ("api", "GeneratedFindingAPIName".into()),
            ("account", account.to_string()),
        ],
    }
}

pub fn create_sample_findings(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let d = super::load(env, p.str("detectorId")?)?;
    let names = p.str_list("findingTypes")?;
    if names.len() > 50 {
        return Err(GuardDutyError::BadRequest(
            "The request is rejected because findingTypes lists more than 50 types.".into(),
        )
        .into());
    }
    let types: Vec<std::sync::Arc<FindingType>> = if names.is_empty() {
        catalogue().to_vec()
    } else {
        names
            .iter()
            .map(|n| {
                finding_type(n).ok_or_else(|| {
                    GuardDutyError::BadRequest(format!(
                        "The request is rejected because the finding type {n} is not valid."
                    ))
                    .into()
                })
            })
            .collect::<Result<_>>()?
    };
    for t in types {
        let mut o = sample(t, &d.account);
        o.event_time = env.now;
        upsert(env, &d, o)?;
    }
    Ok(Value::structure())
}
