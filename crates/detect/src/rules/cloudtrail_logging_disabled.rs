//! `Stealth:IAMUser/CloudTrailLoggingDisabled` (Low).
//!
//! GuardDuty's documentation (finding types, IAM): "A AWS CloudTrail trail was
//! disabled", raised on a successful `StopLogging` or `DeleteTrail` (AWS also
//! raises it when the bucket holding a GuardDuty-associated trail's logs is
//! deleted; that needs the trail's configuration, which a record does not
//! carry, so it is not raised here). Failed attempts raise nothing: the trail
//! still logs. Aggregated by caller and access key.

use crate::candidate::{Candidate, RuleRef};
use crate::catalogue::finding_type;
use crate::cloudtrail::Record;
use crate::engine::{self, Cx, On};

const NAME: &str = "cloudtrail_logging_disabled";

pub struct Rule;

impl engine::CloudTrailRule for Rule {
    fn rule(&self) -> RuleRef {
        RuleRef::Builtin(NAME)
    }
    fn on(&self) -> On {
        On::Names(vec!["StopLogging".into(), "DeleteTrail".into()])
    }
    fn check(&self, r: &Record<'_>, cx: &mut Cx<'_>, out: &mut Vec<Candidate>) {
        if r.error_code().is_none()
            && r.event_source() == "cloudtrail.amazonaws.com"
            && let Some(ty) = finding_type("Stealth:IAMUser/CloudTrailLoggingDisabled")
        {
            let key = engine::caller_key(&ty, r);
            engine::api_call_keyed(&ty, NAME, r, cx, key, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intel::Intel;
    use crate::rules::testing::{event, types};
    use serde_json::json;

    #[test]
    fn positive() {
        for name in ["StopLogging", "DeleteTrail"] {
            let e = event(json!({"eventSource": "cloudtrail.amazonaws.com", "eventName": name}));
            assert_eq!(
                types(Rule, &e, &Intel::default()),
                ["Stealth:IAMUser/CloudTrailLoggingDisabled"]
            );
        }
    }

    #[test]
    fn negative() {
        let intel = Intel::default();
        let failed = event(
            json!({"eventSource": "cloudtrail.amazonaws.com", "eventName": "StopLogging", "errorCode": "AccessDenied"}),
        );
        let started =
            event(json!({"eventSource": "cloudtrail.amazonaws.com", "eventName": "StartLogging"}));
        let elsewhere =
            event(json!({"eventSource": "example.amazonaws.com", "eventName": "StopLogging"}));
        let by_service = event(
            json!({"eventSource": "cloudtrail.amazonaws.com", "eventName": "DeleteTrail", "userIdentity": {"invokedBy": "cloudformation.amazonaws.com"}}),
        );
        for e in [failed, started, elsewhere, by_service] {
            assert!(types(Rule, &e, &intel).is_empty(), "{e}");
        }
    }
}
