//! `Stealth:IAMUser/PasswordPolicyChange` (Low).
//!
//! GuardDuty's documentation: "Account password policy was weakened", raised
//! when the policy is deleted or updated to something less strict, and also
//! for failed attempts. AWS does not publish how it compares the old and new
//! policy, and a record carries only the new one, so every
//! `UpdateAccountPasswordPolicy` and `DeleteAccountPasswordPolicy` raises it
//! (at Low, the catalogue's severity). Aggregated by caller.

use crate::candidate::{Candidate, RuleRef};
use crate::catalogue::finding_type;
use crate::cloudtrail::Record;
use crate::engine::{self, Cx, On};

const NAME: &str = "password_policy_change";

pub struct Rule;

impl engine::CloudTrailRule for Rule {
    fn rule(&self) -> RuleRef {
        RuleRef::Builtin(NAME)
    }
    fn on(&self) -> On {
        On::Names(vec![
            "UpdateAccountPasswordPolicy".into(),
            "DeleteAccountPasswordPolicy".into(),
        ])
    }
    fn check(&self, r: &Record<'_>, cx: &mut Cx<'_>, out: &mut Vec<Candidate>) {
        if r.event_source() == "iam.amazonaws.com"
            && let Some(ty) = finding_type("Stealth:IAMUser/PasswordPolicyChange")
        {
            let key = format!(
                "{}/{}",
                ty.name,
                r.identity().arn.as_deref().unwrap_or_default()
            );
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
        let update = event(
            json!({"eventName": "UpdateAccountPasswordPolicy", "requestParameters": {"minimumPasswordLength": 6}}),
        );
        let delete = event(json!({"eventName": "DeleteAccountPasswordPolicy"}));
        let attempt =
            event(json!({"eventName": "DeleteAccountPasswordPolicy", "errorCode": "AccessDenied"}));
        for e in [update, delete, attempt] {
            assert_eq!(
                types(Rule, &e, &Intel::default()),
                ["Stealth:IAMUser/PasswordPolicyChange"]
            );
        }
    }

    #[test]
    fn negative() {
        let read = event(json!({"eventName": "GetAccountPasswordPolicy"}));
        let other = event(
            json!({"eventName": "UpdateAccountPasswordPolicy", "eventSource": "example.amazonaws.com"}),
        );
        for e in [read, other] {
            assert!(types(Rule, &e, &Intel::default()).is_empty());
        }
    }
}
