//! `Policy:S3/BucketBlockPublicAccessDisabled` (Low).
//!
//! GuardDuty's documentation: "S3 Block Public Access was disabled for a
//! bucket". Raised by a successful `DeleteBucketPublicAccessBlock`, or a
//! `PutBucketPublicAccessBlock` that turns any of the four settings off.
//! The settings arrive as booleans or as the text `"false"`, as AWS's records
//! have both. Aggregated by bucket.

use super::s3_bucket_public_access::bucket_finding;
use crate::candidate::{Candidate, RuleRef};
use crate::catalogue::finding_type;
use crate::cloudtrail::Record;
use crate::engine::{self, Cx, On};
use serde_json::{Value as Json, json};

const NAME: &str = "s3_bucket_block_public_access_disabled";
const SETTINGS: [&str; 4] = [
    "BlockPublicAcls",
    "IgnorePublicAcls",
    "BlockPublicPolicy",
    "RestrictPublicBuckets",
];

/// The four settings a put names, as booleans (absent ones as off).
pub(crate) fn block_settings(r: &Record<'_>) -> Json {
    let config = r.request().get("PublicAccessBlockConfiguration");
    let mut out = serde_json::Map::new();
    for s in SETTINGS {
        let on = match config.and_then(|c| c.get(s)) {
            Some(Json::Bool(b)) => *b,
            Some(Json::String(t)) => t.eq_ignore_ascii_case("true"),
            _ => false,
        };
        out.insert(s.to_string(), json!(on));
    }
    Json::Object(out)
}

pub(crate) fn some_off(settings: &Json) -> bool {
    settings
        .as_object()
        .is_some_and(|m| m.values().any(|v| v == &json!(false)))
}

pub struct Rule;

impl engine::CloudTrailRule for Rule {
    fn rule(&self) -> RuleRef {
        RuleRef::Builtin(NAME)
    }
    fn on(&self) -> On {
        On::Names(vec![
            "PutBucketPublicAccessBlock".into(),
            "DeleteBucketPublicAccessBlock".into(),
        ])
    }
    fn check(&self, r: &Record<'_>, cx: &mut Cx<'_>, out: &mut Vec<Candidate>) {
        if r.event_source() != "s3.amazonaws.com" || r.error_code().is_some() {
            return;
        }
        let Some(bucket) = r.request().get("bucketName").and_then(Json::as_str) else {
            return;
        };
        let bucket = bucket.to_string();
        let deleted = r.event_name() == "DeleteBucketPublicAccessBlock";
        let settings = block_settings(r);
        if (deleted || some_off(&settings))
            && let Some(ty) = finding_type("Policy:S3/BucketBlockPublicAccessDisabled")
        {
            let mut c = bucket_finding(ty, NAME, r, cx, &bucket, json!({}));
            c.additional = json!({"blockPublicAccess": settings});
            out.push(c);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intel::Intel;
    use crate::rules::testing::{event, types};

    fn put(flag: Json) -> String {
        event(
            json!({"eventSource": "s3.amazonaws.com", "eventName": "PutBucketPublicAccessBlock",
            "requestParameters": {"bucketName": "b", "PublicAccessBlockConfiguration": {
                "RestrictPublicBuckets": flag, "BlockPublicPolicy": true, "BlockPublicAcls": "true", "IgnorePublicAcls": true}}}),
        )
    }

    #[test]
    fn positive() {
        let delete = event(
            json!({"eventSource": "s3.amazonaws.com", "eventName": "DeleteBucketPublicAccessBlock", "requestParameters": {"bucketName": "b"}}),
        );
        for e in [put(json!(false)), put(json!("false")), delete] {
            assert_eq!(
                types(Rule, &e, &Intel::default()),
                ["Policy:S3/BucketBlockPublicAccessDisabled"]
            );
        }
    }

    #[test]
    fn negative() {
        let no_bucket = event(
            json!({"eventSource": "s3.amazonaws.com", "eventName": "DeleteBucketPublicAccessBlock"}),
        );
        for e in [put(json!(true)), put(json!("TRUE")), no_bucket] {
            assert!(types(Rule, &e, &Intel::default()).is_empty(), "{e}");
        }
    }
}
