//! `Policy:S3/AccountBlockPublicAccessDisabled` (Low).
//!
//! GuardDuty's documentation: "S3 Block Public Access was disabled for the
//! account". Raised by a successful `DeleteAccountPublicAccessBlock`, or a
//! `PutAccountPublicAccessBlock` that turns any of the four settings off
//! (AWS does not say whether turning one off is enough; any one is chosen
//! here, since each opens a path to public access). Aggregated by account.

use super::s3_bucket_block_public_access_disabled::{block_settings, some_off};
use crate::candidate::{Candidate, RuleRef};
use crate::catalogue::finding_type;
use crate::cloudtrail::Record;
use crate::engine::{self, Cx, On};
use serde_json::json;

const NAME: &str = "s3_account_block_public_access_disabled";

pub struct Rule;

impl engine::CloudTrailRule for Rule {
    fn rule(&self) -> RuleRef {
        RuleRef::Builtin(NAME)
    }
    fn on(&self) -> On {
        On::Names(vec![
            "PutAccountPublicAccessBlock".into(),
            "DeleteAccountPublicAccessBlock".into(),
        ])
    }
    fn check(&self, r: &Record<'_>, cx: &mut Cx<'_>, out: &mut Vec<Candidate>) {
        if !r.event_source().starts_with("s3") || r.error_code().is_some() {
            return;
        }
        let deleted = r.event_name() == "DeleteAccountPublicAccessBlock";
        let settings = block_settings(r);
        if (deleted || some_off(&settings))
            && let Some(ty) = finding_type("Policy:S3/AccountBlockPublicAccessDisabled")
        {
            let mut c = engine::api_call(ty, NAME, r, cx);
            c.aggregation_key = format!("{}/{}", c.finding_type.name, r.account());
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

    fn put(flag: bool) -> String {
        event(
            json!({"eventSource": "s3.amazonaws.com", "eventName": "PutAccountPublicAccessBlock",
            "requestParameters": {"PublicAccessBlockConfiguration": {"xmlns": "http://s3.amazonaws.com/doc/2006-03-01/",
                "RestrictPublicBuckets": true, "BlockPublicPolicy": flag, "BlockPublicAcls": true, "IgnorePublicAcls": true}}}),
        )
    }

    #[test]
    fn positive() {
        let delete = event(
            json!({"eventSource": "s3.amazonaws.com", "eventName": "DeleteAccountPublicAccessBlock"}),
        );
        for e in [put(false), delete] {
            assert_eq!(
                types(Rule, &e, &Intel::default()),
                ["Policy:S3/AccountBlockPublicAccessDisabled"]
            );
        }
    }

    #[test]
    fn negative() {
        assert!(types(Rule, &put(true), &Intel::default()).is_empty());
    }
}
