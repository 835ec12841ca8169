//! Finding summaries: a compact copy of each finding holding only the fields
//! that criteria, sorting and statistics ask about most, so ListFindings and
//! GetFindingsStatistics over a large detector read and parse a tenth of the
//! bytes.
//!
//! A summary maps each [`INDEXED`] path to the values at it, flattened as
//! criteria see them. A question parses only the paths it names and skips the
//! rest without building them, then reads the result as a small finding-shaped
//! document, so criteria, sorting and statistics run on it unchanged. A
//! question naming any other field reads the findings themselves. Every write of a finding writes its summary in the same
//! transaction ([`store`]). A detector whose findings were written before
//! summaries existed has no ready marker; the worker builds its summaries once
//! ([`BuildSummaries`]) and until then reads use the
//! findings.

use super::{Detector, criteria};
use serde::Deserialize;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::{Map, Value as Json};
use trailguard_core::Services;
use trailguard_core::env::Env;
use trailguard_core::error::Result;
use trailguard_core::module::{BackgroundJob, Moment};
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

/// A finding's summary: each indexed path with the values at it (lists along
/// the path flattened, as criteria see them), absent paths left out.
pub fn summarize(finding: &Json) -> Json {
    let mut out = Map::new();
    for path in INDEXED {
        let values = criteria::values_at(finding, path);
        if !values.is_empty() {
            out.insert(
                (*path).to_string(),
                Json::Array(values.into_iter().cloned().collect()),
            );
        }
    }
    Json::Object(out)
}

/// A summary's key, borrowed from the stored bytes when it can be.
enum Key<'de> {
    Borrowed(&'de str),
    Owned(String),
}

impl Key<'_> {
    fn as_str(&self) -> &str {
        match self {
            Key::Borrowed(s) => s,
            Key::Owned(s) => s,
        }
    }
}

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a field path")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> std::result::Result<Key<'de>, E> {
                Ok(Key::Borrowed(v))
            }
            fn visit_str<E>(self, v: &str) -> std::result::Result<Key<'de>, E> {
                Ok(Key::Owned(v.to_string()))
            }
        }
        d.deserialize_str(V)
    }
}

/// Parses a stored summary only as far as `wanted`: the other fields are
/// skipped without being built.
struct Only<'a>(&'a [&'a str]);

impl<'de> DeserializeSeed<'de> for Only<'_> {
    type Value = Json;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<Json, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Only<'_> {
    type Value = Json;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a finding summary")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<Json, A::Error> {
        // Rebuilt as a small nested document, so criteria, sorting and
        // statistics read it as they read a finding.
        let mut doc = Json::Object(Map::new());
        while let Some(key) = map.next_key::<Key<'de>>()? {
            let key = key.as_str();
            if self.0.contains(&key) {
                let mut values: Vec<Json> = map.next_value()?;
                // One plain value stands alone; anything else stays a list, which
                // criteria flatten back into the same values.
                let value = match values.as_slice() {
                    [one] if !one.is_array() => values.pop().unwrap_or(Json::Null),
                    _ => Json::Array(values),
                };
                let parts: Vec<&str> = key.split('.').collect();
                super::findings::set(&mut doc, &parts, value);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(doc)
    }
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

/// Hands `keep` each summary under a prefix, holding only the `wanted`
/// fields, one at a time (nothing else is built or kept).
pub fn visit(
    env: &mut Env<'_>,
    prefix: &str,
    wanted: &[&str],
    keep: &mut dyn FnMut(Json) -> Result<()>,
) -> Result<()> {
    env.visit(NS_SUMMARY, prefix, &mut |key, bytes| {
        let doc = Only(wanted)
            .deserialize(&mut serde_json::Deserializer::from_slice(bytes))
            .map_err(|e| {
                trailguard_core::error::Error::Corrupt(format!("{NS_SUMMARY}/{key}: {e}"))
            })?;
        keep(doc)
    })
}

/// Deletes the summaries and the marker under a prefix (DeleteDetector).
pub fn delete_all(env: &mut Env<'_>, prefix: &str) -> Result<()> {
    env.delete_prefix(NS_SUMMARY, prefix)?;
    env.delete(NS_READY, prefix)?;
    Ok(())
}

/// Findings summarized per transaction while building: the store's writer is
/// held for a batch, not for the whole detector.
const BUILD_BATCH: usize = 2_000;

/// Summarizes the next batch of a detector's findings after `after`; returns
/// how many, and the last key done or `None` when the detector is finished
/// (and marked ready, if it still exists).
fn build_batch(
    env: &mut Env<'_>,
    d: &Detector,
    after: Option<&str>,
) -> Result<(usize, Option<String>)> {
    let prefix = d.prefix();
    let batch: Vec<(String, Json)> =
        env.scan(super::findings::NS_FINDING, &prefix, after, BUILD_BATCH)?;
    for (key, f) in &batch {
        env.put(NS_SUMMARY, key, &summarize(f))?;
    }
    if batch.len() == BUILD_BATCH {
        return Ok((batch.len(), batch.last().map(|(k, _)| k.clone())));
    }
    // Summaries written since the first batch came with their findings, so
    // the detector is complete; unless it was deleted meanwhile.
    if env.get::<Detector>(super::NS_DETECTOR, &d.key())?.is_some() {
        mark_ready(env, &prefix)?;
    }
    Ok((batch.len(), None))
}

/// Builds the summaries of detectors stored before summaries existed.
#[derive(Default)]
pub struct BuildSummaries {
    /// Set once every detector's finding summaries are known to be built
    /// (detectors made later are built from the start), so the worker stops looking.
    built: std::sync::atomic::AtomicBool,
}

impl BackgroundJob for BuildSummaries {
    fn name(&self) -> &'static str {
        "finding summaries"
    }

    fn idle(&self, _: &Services) -> bool {
        self.built.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn run(&self, services: &Services, moment: Moment) -> std::result::Result<usize, ApiError> {
        match moment {
            Moment::Tick => self.build(services),
            Moment::Shutdown => Ok(0),
        }
    }
}

impl BuildSummaries {
    /// Builds the summaries of detectors stored before summaries existed, a
    /// batch per transaction. Returns how many findings were summarized. Once
    /// a pass finds every detector ready it does nothing more.
    pub fn build(&self, services: &Services) -> std::result::Result<usize, ApiError> {
        use std::sync::atomic::Ordering;
        if self.built.load(Ordering::Relaxed) {
            return Ok(0);
        }
        let bg = services.background(super::SERVICE, super::SERVICE);
        let detectors: Vec<Detector> = services
            .in_background(&bg, "", |env| env.scan_all(super::NS_DETECTOR, ""))
            .map_err(|e| trailguard_core::log_internal(&e))?;
        let mut built = 0;
        let mut complete = true;
        for d in detectors {
            let prefix = d.prefix();
            let outcome = (|| -> Result<usize> {
                if services.in_background(&bg, &d.account, |env| ready(env, &prefix))? {
                    return Ok(0);
                }
                let mut n = 0;
                let mut after: Option<String> = None;
                loop {
                    let (done, next) = services.in_background(&bg, &d.account, |env| {
                        build_batch(env, &d, after.as_deref())
                    })?;
                    n += done;
                    match next {
                        Some(key) => after = Some(key),
                        None => return Ok(n),
                    }
                }
            })();
            match outcome {
                Ok(0) => {}
                Ok(n) => {
                    tracing::info!(detector = %d.id, findings = n, "finding summaries built");
                    built += n;
                }
                // The others still get built; this one is tried again next run.
                Err(e) => {
                    complete = false;
                    tracing::error!(detector = %d.id, error = %e, "finding summaries could not be built");
                }
            }
        }
        if complete {
            self.built.store(true, Ordering::Relaxed);
        }
        Ok(built)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::criteria;
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
        let stored = serde_json::to_vec(&summarize(&f)).unwrap_or_default();
        let s = Only(INDEXED)
            .deserialize(&mut serde_json::Deserializer::from_slice(&stored))
            .unwrap_or_default();
        assert!(s.get("title").is_none() && s["service"].get("additionalInfo").is_none());
        assert_eq!(s["resource"]["s3BucketDetails"]["name"], json!(["a", "b"]));
        let only = Only(&["severity", "service.archived"])
            .deserialize(&mut serde_json::Deserializer::from_slice(&stored))
            .unwrap_or_default();
        assert_eq!(
            only,
            json!({"severity": 8.0, "service": {"archived": false}})
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

    /// Any JSON value, small.
    fn any_json() -> impl proptest::strategy::Strategy<Value = Json> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(Json::Null),
            any::<bool>().prop_map(Json::from),
            (-5.0f64..10.0).prop_map(Json::from),
            prop::sample::select(vec![
                "a",
                "b",
                "false",
                "true",
                "8.0",
                "2026-11-24T01:00:00.000Z"
            ])
            .prop_map(Json::from),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..3).prop_map(Json::Array),
                prop::collection::vec(
                    (
                        prop::sample::select(vec!["a", "b", "name", "api", "archived"]),
                        inner
                    ),
                    0..3
                )
                .prop_map(|kv| Json::Object(
                    kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
                )),
            ]
        })
    }

    /// A finding-like document: indexed paths hold arbitrary values, lists
    /// appear along the way.
    fn any_finding() -> impl proptest::strategy::Strategy<Value = Json> {
        use proptest::prelude::*;
        prop::collection::vec(
            (
                prop::sample::select(INDEXED.to_vec()),
                any_json(),
                any::<bool>(),
            ),
            0..8,
        )
        .prop_map(|entries| {
            let mut doc = json!({});
            for (path, value, in_list) in entries {
                let parts: Vec<&str> = path.split('.').collect();
                let value = if in_list { json!([value, "b"]) } else { value };
                crate::findings::set(&mut doc, &parts, value);
            }
            doc
        })
    }

    proptest::proptest! {
        #[test]
        fn any_indexed_question_gets_the_findings_answer(
            f in any_finding(),
            field in proptest::sample::select(INDEXED.to_vec()),
            op in proptest::sample::select(vec!["equals", "notEquals", "greaterThan", "lessThanOrEqual"]),
            arg in any_json(),
        ) {
            // Findings are read back from storage too: compare like with like.
            let f: Json = serde_json::from_slice(&serde_json::to_vec(&f).unwrap_or_default())
                .unwrap_or_default();
            let stored = serde_json::to_vec(&summarize(&f)).unwrap_or_default();
            let s = Only(&[field]).deserialize(&mut serde_json::Deserializer::from_slice(&stored));
            proptest::prop_assert!(s.is_ok());
            let s = s.unwrap_or_default();
            let q = json!({"criterion": {field: {op: arg}}});
            proptest::prop_assert_eq!(
                criteria::matches(&f, Some(&q), false).ok(),
                criteria::matches(&s, Some(&q), false).ok()
            );
            proptest::prop_assert_eq!(criteria::sort_key(&f, field), criteria::sort_key(&s, field));
        }

        #[test]
        fn criteria_never_panic_and_validation_is_honest(c in any_json(), f in any_finding()) {
            let q = json!({"criterion": c});
            if criteria::validate(Some(&q), true).is_ok() {
                proptest::prop_assert!(criteria::matches(&f, Some(&q), true).is_ok());
            }
        }
    }
}
