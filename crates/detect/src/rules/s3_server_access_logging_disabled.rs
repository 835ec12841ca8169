//! `Stealth:S3/ServerAccessLoggingDisabled` (Low).
//!
//! GuardDuty's documentation: "S3 server access logging was disabled for a
//! bucket". A successful `PutBucketLogging` whose `BucketLoggingStatus` holds
//! no `LoggingEnabled` turns it off (that is how the API disables it; AWS's
//! records carry the status in `requestParameters`). Aggregated by bucket.

use super::s3_bucket_public_access::bucket_finding;
use crate::candidate::{Candidate, RuleRef};
use crate::catalogue::finding_type;
use crate::cloudtrail::Record;
use crate::engine::{self, Cx, On};
use serde_json::{Value as Json, json};

const NAME: &str = "s3_server_access_logging_disabled";

pub struct Rule;

impl engine::CloudTrailRule for Rule {
    fn rule(&self) -> RuleRef {
        RuleRef::Builtin(NAME)
    }
    fn on(&self) -> On {
        On::Names(vec!["PutBucketLogging".into()])
    }
    fn check(&self, r: &Record<'_>, cx: &mut Cx<'_>, out: &mut Vec<Candidate>) {
        if r.event_source() != "s3.amazonaws.com" || r.error_code().is_some() {
            return;
        }
        let request = r.request();
        let Some(bucket) = request.get("bucketName").and_then(Json::as_str) else {
            return;
        };
        let enabled = request
            .get("BucketLoggingStatus")
            .and_then(|s| s.get("LoggingEnabled"))
            .is_some_and(|v| !v.is_null());
        if !enabled && let Some(ty) = finding_type("Stealth:S3/ServerAccessLoggingDisabled") {
            let bucket = bucket.to_string();
            out.push(bucket_finding(ty, NAME, r, cx, &bucket, json!({})));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intel::Intel;
    use crate::rules::testing::{event, types};

    #[test]
    fn positive() {
        let off = event(
            json!({"eventSource": "s3.amazonaws.com", "eventName": "PutBucketLogging",
            "requestParameters": {"bucketName": "logs", "BucketLoggingStatus": {"xmlns": "http://s3.amazonaws.com/doc/2006-03-01/"}, "logging": [""]}}),
        );
        assert_eq!(
            types(Rule, &off, &Intel::default()),
            ["Stealth:S3/ServerAccessLoggingDisabled"]
        );
    }

    #[test]
    fn negative() {
        let on = event(
            json!({"eventSource": "s3.amazonaws.com", "eventName": "PutBucketLogging",
            "requestParameters": {"bucketName": "logs", "BucketLoggingStatus": {"LoggingEnabled": {"TargetBucket": "t", "TargetPrefix": "p/"}}}}),
        );
        let failed = event(
            json!({"eventSource": "s3.amazonaws.com", "eventName": "PutBucketLogging", "errorCode": "AccessDenied",
            "requestParameters": {"bucketName": "logs", "BucketLoggingStatus": {}}}),
        );
        for e in [on, failed] {
            assert!(types(Rule, &e, &Intel::default()).is_empty());
        }
    }
}
