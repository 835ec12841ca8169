//! Finding summaries: a compact copy of each finding holding only the fields
//! that criteria, sorting and statistics ask about most, so ListFindings and
//! GetFindingsStatistics over a large detector read and parse a tenth of the
//! bytes.
//!
//! A summary is the finding pruned to [`INDEXED`] paths, keeping the document's
//! shape (lists along a path stay lists), so criteria evaluate on it exactly as
//! on the finding. A question naming any other field reads the findings
//! themselves. Every write of a finding writes its summary in the same
//! transaction ([`store`]). A detector whose findings were written before
//! summaries existed has no ready marker; the worker builds its summaries once
//! ([`Services::build_finding_summaries`]) and until then reads use the
//! findings.

use super::Detector;
use crate::Services;
use crate::env::Env;
use crate::error::Result;
use serde_json::{Map, Value as Json};
use trailguard_model::ApiError;

const NS_SUMMARY: &str = "guardduty.summary";
/// Key: the detector's finding prefix. Present once every finding has a summary.
const NS_READY: &str = "guardduty.summary.ready";

/// The dot paths a summary keeps.
pub const INDEXED: &[&str] = &[
    "accountId",
    "createdAt",
    "id",
    "region",
    "severity",
    "type",
    "updatedAt",
    "resource.resourceType",
    "resource.accessKeyDetails.accessKeyId",
    "resource.accessKeyDetails.principalId",
    "resource.accessKeyDetails.userName",
    "resource.accessKeyDetails.userType",
    "resource.instanceDetails.instanceId",
    "resource.s3BucketDetails.name",
    "service.archived",
    "service.count",
    "service.eventFirstSeen",
    "service.eventLastSeen",
    "service.resourceRole",
    "service.userFeedback",
    "service.action.actionType",
    "service.action.awsApiCallAction.api",
    "service.action.awsApiCallAction.serviceName",
    "service.action.awsApiCallAction.remoteIpDetails.ipAddressV4",
    "service.action.networkConnectionAction.remoteIpDetails.ipAddressV4",
    "service.action.dnsRequestAction.domain",
];

/// Whether a question about these fields (criteria and sort attribute) can be
/// answered from summaries.
pub fn covers<'a>(fields: impl IntoIterator<Item = &'a str>) -> bool {
    fields.into_iter().all(|f| INDEXED.contains(&f))
}

/// The part of `doc` at `path`, in the document's shape.
fn project(doc: &Json, path: &[&str]) -> Option<Json> {
    let Some((first, rest)) = path.split_first() else {
        return Some(doc.clone());
    };
    match doc {
        Json::Object(m) => {
            let inner = project(m.get(*first)?, rest)?;
            let mut out = Map::new();
            out.insert((*first).to_string(), inner);
            Some(Json::Object(out))
        }
        Json::Array(items) => Some(Json::Array(
            items.iter().filter_map(|i| project(i, path)).collect(),
        )),
        _ => None,
    }
}

/// Merges `from` into `into`: objects key by key, lists element by element
/// (both come from the same document, so positions agree).
fn merge(into: &mut Json, from: Json) {
    match (into, from) {
        (Json::Object(a), Json::Object(b)) => {
            for (k, v) in b {
                match a.get_mut(&k) {
                    Some(existing) => merge(existing, v),
                    None => {
                        a.insert(k, v);
                    }
                }
            }
        }
        (Json::Array(a), Json::Array(b)) => {
            for (i, v) in b.into_iter().enumerate() {
                match a.get_mut(i) {
                    Some(existing) => merge(existing, v),
                    None => a.push(v),
                }
            }
        }
        (slot, v) => *slot = v,
    }
}

/// A finding's summary.
pub fn summarize(finding: &Json) -> Json {
    let mut out = Json::Object(Map::new());
    for path in INDEXED {
        let parts: Vec<&str> = path.split('.').collect();
        if let Some(p) = project(finding, &parts) {
            merge(&mut out, p);
        }
    }
    out
}

/// Writes a finding and its summary.
pub fn store(env: &mut Env<'_>, key: &str, finding: &Json) -> Result<()> {
    env.put(super::findings::NS_FINDING, key, finding)?;
    env.put(NS_SUMMARY, key, &summarize(finding))
}

/// Whether every finding under this prefix has its summary.
pub fn ready(env: &mut Env<'_>, prefix: &str) -> Result<bool> {
    Ok(env.get::<bool>(NS_READY, prefix)?.unwrap_or(false))
}

/// Marks a detector with no findings yet (CreateDetector).
pub fn mark_ready(env: &mut Env<'_>, prefix: &str) -> Result<()> {
    env.put(NS_READY, prefix, &true)
}

/// The summaries under a prefix.
pub fn scan(env: &mut Env<'_>, prefix: &str) -> Result<Vec<Json>> {
    env.scan_all(NS_SUMMARY, prefix)
}

/// Deletes the summaries and the marker under a prefix (DeleteDetector).
pub fn delete_all(env: &mut Env<'_>, prefix: &str) -> Result<()> {
    env.delete_prefix(NS_SUMMARY, prefix)?;
    env.delete(NS_READY, prefix)?;
    Ok(())
}

/// Builds every summary under a prefix, then marks it ready.
fn build(env: &mut Env<'_>, prefix: &str) -> Result<usize> {
    let all: Vec<(String, Json)> =
        env.scan(super::findings::NS_FINDING, prefix, None, usize::MAX)?;
    let n = all.len();
    for (key, f) in all {
        env.put(NS_SUMMARY, &key, &summarize(&f))?;
    }
    mark_ready(env, prefix)?;
    Ok(n)
}

impl Services {
    /// Builds the summaries of detectors stored before summaries existed (once
    /// per detector, each in one transaction). Returns how many were built.
    pub fn build_finding_summaries(&self) -> std::result::Result<usize, ApiError> {
        let bg = self.background(super::SERVICE, super::SERVICE);
        let detectors: Vec<Detector> = self
            .in_background(&bg, "", |env| env.scan_all(super::NS_DETECTOR, ""))
            .map_err(|e| crate::log_internal(&e))?;
        let mut built = 0;
        for d in detectors {
            let prefix = super::findings::key_prefix(&d);
            let done = self
                .in_background(&bg, &d.account, |env| ready(env, &prefix))
                .map_err(|e| crate::log_internal(&e))?;
            if done {
                continue;
            }
            let n = self
                .in_background(&bg, &d.account, |env| build(env, &prefix))
                .map_err(|e| crate::log_internal(&e))?;
            tracing::info!(detector = %d.id, findings = n, "finding summaries built");
            built += n;
        }
        Ok(built)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::guardduty::criteria;
    use serde_json::json;

    fn finding() -> Json {
        json!({
            "accountId": "111122223333", "id": "f1", "type": "Policy:S3/BucketAnonymousAccessGranted",
            "severity": 8.0, "createdAt": "2026-11-24T01:00:00.000Z", "updatedAt": "2026-11-24T01:05:00.000Z",
            "title": "long text", "description": "longer text",
            "resource": {"resourceType": "S3Bucket",
                "accessKeyDetails": {"userName": "alice", "accessKeyId": "AKIA1"},
                "s3BucketDetails": [{"name": "a", "arn": "arn:aws:s3:::a"}, {"arn": "arn:aws:s3:::x"}, {"name": "b"}]},
            "service": {"archived": false, "count": 3, "action": {"actionType": "AWS_API_CALL",
                "awsApiCallAction": {"api": "PutBucketPolicy", "remoteIpDetails": {"ipAddressV4": "198.51.100.7", "city": {"cityName": "x"}}}},
                "additionalInfo": {"value": "{}", "type": "default"}}
        })
    }

    #[test]
    fn summaries_answer_indexed_criteria_as_findings_do() {
        let f = finding();
        let s = summarize(&f);
        assert!(s.get("title").is_none() && s["service"].get("additionalInfo").is_none());
        assert_eq!(
            s["resource"]["s3BucketDetails"],
            json!([{"name": "a"}, {"name": "b"}])
        );
        let conditions = [
            json!({"equals": ["b"]}),
            json!({"notEquals": ["a"]}),
            json!({"equals": ["false"]}),
            json!({"greaterThan": 2}),
            json!({"lessThan": 1_795_000_000_000_i64}),
            json!({"equals": ["198.51.100.7", "alice", "AWS_API_CALL", "PutBucketPolicy"]}),
        ];
        for field in INDEXED {
            for c in &conditions {
                let q = json!({"criterion": {*field: c}});
                assert_eq!(
                    criteria::matches(&f, Some(&q), false).ok(),
                    criteria::matches(&s, Some(&q), false).ok(),
                    "{field} {c}"
                );
                assert_eq!(criteria::sort_key(&f, field), criteria::sort_key(&s, field));
            }
        }
        assert!(covers(["severity", "service.archived"]));
        assert!(!covers(["severity", "resource.instanceDetails.tags.value"]));
    }
}
