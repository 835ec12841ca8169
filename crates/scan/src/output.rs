//! The output formats: `jsonl` (trailguard's own compact form), `guardduty`
//! (GuardDuty's `Finding` as `GetFindings` returns it to the SDKs: PascalCase
//! members), `ocsf` (OCSF 1.3 Detection Finding, class 2004) and `table`.

use crate::aggregate::Finding;
use serde_json::{Value as Json, json};
use sha2::{Digest, Sha256};
use trailguard_detect::catalogue::{band, fill};
use trailguard_detect::{Home, RuleRef};
use trailguard_model::clock::iso8601_millis;

/// How findings are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Jsonl,
    GuardDuty,
    Ocsf,
    Table,
}

/// A finding's id: stable for the same activity across runs.
pub fn finding_id(key: &str) -> String {
    let digest = Sha256::digest(key.as_bytes());
    hex::encode(digest.get(..16).unwrap_or_default())
}

fn events(f: &Finding, files: &[String]) -> Json {
    Json::Array(
        f.events
            .iter()
            .map(|e| {
                let mut v = json!({"eventId": e.event_id});
                if let (Some(o), Some(map)) = (e.origin, v.as_object_mut()) {
                    let file = files.get(o.file as usize).cloned().unwrap_or_default();
                    map.insert("file".into(), json!(file));
                    map.insert("offset".into(), json!(o.offset));
                    map.insert("line".into(), json!(o.line));
                }
                v
            })
            .collect(),
    )
}

fn rule(f: &Finding) -> Json {
    match &f.first.rule {
        RuleRef::Builtin(name) => json!({"source": "builtin", "name": name}),
        RuleRef::Sigma { id, title } => json!({"source": "sigma", "id": id, "title": title}),
    }
}

/// trailguard's compact form.
pub fn jsonl(key: &str, f: &Finding, files: &[String]) -> Json {
    let t = &f.first.finding_type;
    json!({
        "id": finding_id(key),
        "type": t.name,
        "severity": t.severity,
        "band": band(t.severity),
        "title": fill(&t.title, &f.first.fill),
        "account": f.account,
        "region": f.region,
        "count": f.count,
        "firstSeen": iso8601_millis(f.first_seen),
        "lastSeen": iso8601_millis(f.last_seen),
        "rule": rule(f),
        "resource": f.first.resource,
        "events": events(f, files),
    })
}

/// botocore's member names are the wire's with a capital first letter.
fn pascal(v: Json) -> Json {
    match v {
        Json::Object(map) => Json::Object(
            map.into_iter()
                .map(|(k, v)| {
                    let mut chars = k.chars();
                    let key = match chars.next() {
                        Some(c) => c.to_ascii_uppercase().to_string() + chars.as_str(),
                        None => k,
                    };
                    (key, pascal(v))
                })
                .collect(),
        ),
        Json::Array(items) => Json::Array(items.into_iter().map(pascal).collect()),
        other => other,
    }
}

/// GuardDuty's `Finding`.
pub fn guardduty(key: &str, f: &Finding, files: &[String], now: &str) -> Json {
    let id = finding_id(key);
    let arn = format!(
        "arn:aws:guardduty:{}:{}:detector/trailguard-scan",
        f.region, f.account
    );
    let home = Home {
        account: &f.account,
        region: &f.region,
        detector_id: "trailguard-scan",
        detector_arn: &arn,
    };
    let first = iso8601_millis(f.first_seen);
    let mut doc = f.first.document(&id, home, now, &first);
    let mut info: Json = at(&doc, &["service", "additionalInfo", "value"])
        .as_str()
        .and_then(|s| serde_json::from_str(s).ok())
        .filter(Json::is_object)
        .unwrap_or_else(|| json!({}));
    if let Some(map) = info.as_object_mut() {
        let ids = f.events.iter().map(|e| json!(e.event_id)).collect();
        map.insert("cloudTrailEventIds".into(), Json::Array(ids));
        map.insert("trailguardEvents".into(), events(f, files));
        map.insert("trailguardRule".into(), rule(f));
    }
    if let Some(service) = doc.get_mut("service").and_then(Json::as_object_mut) {
        service.insert("count".into(), json!(f.count));
        service.insert("eventLastSeen".into(), json!(iso8601_millis(f.last_seen)));
        service.insert(
            "additionalInfo".into(),
            json!({"value": info.to_string(), "type": "default"}),
        );
    }
    pascal(doc)
}

/// The value at a path (`Null` when absent).
fn at<'j>(doc: &'j Json, path: &[&str]) -> &'j Json {
    static NULL: Json = Json::Null;
    path.iter().try_fold(doc, |v, k| v.get(*k)).unwrap_or(&NULL)
}

/// OCSF severity ids: 1 informational, 2 low, 3 medium, 4 high, 5 critical.
fn ocsf_severity(severity: f64) -> (u8, &'static str) {
    match band(severity) {
        "critical" => (5, "Critical"),
        "high" => (4, "High"),
        "medium" => (3, "Medium"),
        _ => (2, "Low"),
    }
}

/// An OCSF 1.3 Detection Finding (class 2004, activity Create).
pub fn ocsf(key: &str, f: &Finding, files: &[String]) -> Json {
    let t = &f.first.finding_type;
    let (severity_id, severity) = ocsf_severity(t.severity);
    let ms = |t: time::OffsetDateTime| (t.unix_timestamp_nanos() / 1_000_000) as i64;
    let analytic = match &f.first.rule {
        RuleRef::Builtin(name) => json!({"name": name, "type_id": 1, "type": "Rule"}),
        RuleRef::Sigma { id, title } => {
            json!({"name": title, "uid": id, "type_id": 1, "type": "Rule"})
        }
    };
    let related: Vec<Json> = f
        .events
        .iter()
        .map(|e| json!({"uid": e.event_id, "product_uid": "cloudtrail"}))
        .collect();
    json!({
        "class_uid": 2004,
        "class_name": "Detection Finding",
        "category_uid": 2,
        "category_name": "Findings",
        "activity_id": 1,
        "activity_name": "Create",
        "type_uid": 200401,
        "severity_id": severity_id,
        "severity": severity,
        "status_id": 1,
        "status": "New",
        "time": ms(f.last_seen),
        "count": f.count,
        "message": fill(&t.title, &f.first.fill),
        "finding_info": {
            "uid": finding_id(key),
            "title": fill(&t.title, &f.first.fill),
            "desc": fill(&t.description, &f.first.fill),
            "types": [t.name],
            "first_seen_time": ms(f.first_seen),
            "last_seen_time": ms(f.last_seen),
            "analytic": analytic,
            "related_events": related,
        },
        "resources": [{"type": at(&f.first.resource, &["resourceType"]), "data": f.first.resource}],
        "cloud": {"provider": "AWS", "account": {"uid": f.account}, "region": f.region},
        "metadata": {
            "version": "1.3.0",
            "product": {"name": "trailguard", "vendor_name": "trailguard"},
        },
        "unmapped": {"events": events(f, files)},
    })
}

/// Text safe to print to a terminal: control characters (C0, DEL, C1, which
/// a log may carry to move the cursor, retitle the window or forge a row)
/// shown as `\u{..}` escapes.
pub fn printable(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.chars().any(char::is_control) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if c.is_control() {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// The header of `table`.
pub fn table_header() -> String {
    format!(
        "{:<8} {:<55} {:>6}  {:<24} {:<24}  {}",
        "SEVERITY", "TYPE", "COUNT", "FIRST SEEN", "LAST SEEN", "RESOURCE"
    )
}

/// One line of `table`.
pub fn table_row(f: &Finding) -> String {
    let t = &f.first.finding_type;
    let r = &f.first.resource;
    let resource = r
        .get("s3BucketDetails")
        .and_then(|b| b.get(0))
        .map_or(&Json::Null, |b| at(b, &["name"]))
        .as_str()
        .or_else(|| at(r, &["accessKeyDetails", "userName"]).as_str())
        .or_else(|| at(r, &["instanceDetails", "instanceId"]).as_str())
        .unwrap_or("-");
    format!(
        "{:<8} {:<55} {:>6}  {:<24} {:<24}  {}",
        band(t.severity).to_ascii_uppercase(),
        printable(&t.name),
        f.count,
        iso8601_millis(f.first_seen),
        iso8601_millis(f.last_seen),
        printable(resource)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_controls_are_escaped() {
        assert_eq!(printable("alice"), "alice");
        assert_eq!(
            printable("x\u{1b}[2J\u{7}\u{9b}y\n"),
            "x\\u{1b}[2J\\u{7}\\u{9b}y\\u{a}"
        );
    }
}
