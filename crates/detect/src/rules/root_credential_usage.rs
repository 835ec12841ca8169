//! `Policy:IAMUser/RootCredentialUsage` (Low).
//!
//! GuardDuty's documentation: "API was invoked using root credentials", for
//! management events (and S3 data events when S3 protection is on). Every call
//! whose `userIdentity.type` is `Root` raises it, failed ones too (the root
//! credentials were used either way). Aggregated by access key: one finding
//! per root key (or console session).

use crate::candidate::{Candidate, RuleRef};
use crate::catalogue::finding_type;
use crate::cloudtrail::Record;
use crate::engine::{self, Cx, On};

const NAME: &str = "root_credential_usage";

pub struct Rule;

impl engine::CloudTrailRule for Rule {
    fn rule(&self) -> RuleRef {
        RuleRef::Builtin(NAME)
    }
    fn on(&self) -> On {
        On::Any
    }
    fn check(&self, r: &Record<'_>, cx: &mut Cx<'_>, out: &mut Vec<Candidate>) {
        if r.identity_type() == "Root"
            && let Some(ty) = finding_type("Policy:IAMUser/RootCredentialUsage")
        {
            let key = format!(
                "{}/{}",
                ty.name,
                r.identity().access_key_id.as_deref().unwrap_or_default()
            );
            engine::api_call_keyed(&ty, NAME, r, cx, key, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intel::Intel;
    use crate::rules::testing::{event, raised, types};
    use serde_json::json;

    fn root(extra: serde_json::Value) -> String {
        let mut e: serde_json::Value = serde_json::from_str(&event(json!({
            "userIdentity": {"type": "Root", "arn": "arn:aws:iam::111122223333:root", "principalId": "111122223333", "userName": null}
        }))).unwrap();
        if let (Some(m), Some(x)) = (e.as_object_mut(), extra.as_object()) {
            m.extend(x.clone());
        }
        e.to_string()
    }

    #[test]
    fn positive() {
        let found = raised(Rule, &root(json!({})), &Intel::default());
        assert_eq!(found.len(), 1);
        let c = &found[0];
        assert_eq!(c.finding_type.name, "Policy:IAMUser/RootCredentialUsage");
        assert_eq!(c.resource["accessKeyDetails"]["userName"], "Root");
        let failed = root(json!({"errorCode": "AccessDenied"}));
        assert_eq!(types(Rule, &failed, &Intel::default()).len(), 1);
    }

    #[test]
    fn negative() {
        let user = event(json!({}));
        let role = event(json!({"userIdentity": {"type": "AssumedRole"}}));
        let service =
            root(json!({"userIdentity": {"type": "Root", "invokedBy": "lex.amazonaws.com"}}));
        for e in [user, role, service] {
            assert!(types(Rule, &e, &Intel::default()).is_empty(), "{e}");
        }
    }
}
