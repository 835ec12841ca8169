//! `Policy:S3/BucketAnonymousAccessGranted` and
//! `Policy:S3/BucketPublicAccessGranted` (High).
//!
//! GuardDuty's documentation: the first when "an IAM principal has changed a
//! bucket policy or ACL in a way that makes the bucket accessible to anyone on
//! the internet", the second when it becomes accessible "to all authenticated
//! AWS users". AWS decides with automated reasoning over the policy; here the
//! policy is asked, with the same engine that decides every call, whether an
//! anonymous caller may read or write objects (conditions that need request
//! context, such as a source address, make a policy not public). The policy
//! comes from [`crate::engine::Facts`] when the engine can read the bucket
//! (the server reads it through GuardDuty's role), and otherwise from the
//! record's `requestParameters.bucketPolicy`, which AWS's records carry.
//! ACLs: a grant to the `AllUsers` group (or a `public-read` or
//! `public-read-write` canned ACL) is anonymous access; a grant to
//! `AuthenticatedUsers` (or `authenticated-read`) is public access.
//! Aggregated by bucket.

use crate::candidate::{Candidate, RuleRef};
use crate::catalogue::{FindingType, finding_type};
use crate::cloudtrail::Record;
use crate::engine::{self, Cx, Lookup, On};
use serde_json::{Value as Json, json};
use std::sync::Arc;
use trailguard_policy::{Context, Outcome, Policy, PolicyDocument, PolicyKind, Principal, Query};

const NAME: &str = "s3_bucket_public_access";

/// What an anonymous caller may do under a bucket policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PublicAccess {
    pub read: bool,
    pub write: bool,
}

/// Asks a bucket policy whether an anonymous caller may list or read (write
/// or delete) objects in the bucket.
pub fn public_access(bucket: &str, account: &str, policy: &str) -> PublicAccess {
    let Ok(doc) = PolicyDocument::parse(policy) else {
        return PublicAccess::default();
    };
    let policies = [Policy {
        id: "bucket-policy",
        kind: PolicyKind::Resource,
        document: &doc,
    }];
    let anonymous = Principal {
        arn: "anonymous",
        account: "",
        role_arn: None,
        is_service: false,
        is_root: false,
    };
    let ctx = Context::new();
    let object = format!("arn:aws:s3:::{bucket}/any-object");
    let bucket_arn = format!("arn:aws:s3:::{bucket}");
    let allowed = |action: &str, resource: &str| {
        trailguard_policy::decide(
            &policies,
            &Query {
                principal: anonymous,
                action,
                resource,
                resource_account: Some(account),
                context: &ctx,
            },
        )
        .outcome
            == Outcome::Allow
    };
    PublicAccess {
        read: allowed("s3:GetObject", &object) || allowed("s3:ListBucket", &bucket_arn),
        write: allowed("s3:PutObject", &object) || allowed("s3:DeleteObject", &object),
    }
}

/// A finding about a bucket: the bucket (with what the change did to it) as
/// the resource, the caller's key beside it; aggregated by bucket.
pub(crate) fn bucket_finding(
    ty: Arc<FindingType>,
    rule: &'static str,
    r: &Record<'_>,
    cx: &Cx<'_>,
    bucket: &str,
    public_access: Json,
) -> Candidate {
    let mut c = engine::api_call(ty, rule, r, cx);
    let arn = format!("arn:aws:s3:::{bucket}");
    let access_key = c
        .resource
        .get("accessKeyDetails")
        .cloned()
        .unwrap_or(Json::Null);
    c.resource = json!({
        "resourceType": "S3Bucket",
        "accessKeyDetails": access_key,
        "s3BucketDetails": [{
            "arn": arn,
            "name": bucket,
            "type": "Destination",
            "owner": {"id": r.account()},
            "publicAccess": public_access,
        }],
    });
    c.aggregation_key = format!("{}/{arn}", c.finding_type.name);
    for (k, v) in &mut c.fill {
        if *k == "bucketName" {
            *v = bucket.to_string();
        }
    }
    c
}

fn permissions(policy: PublicAccess, acl: PublicAccess) -> Json {
    json!({
        "effectivePermission": "PUBLIC",
        "permissionConfiguration": {
            "bucketLevelPermissions": {
                "bucketPolicy": {
                    "allowsPublicReadAccess": policy.read,
                    "allowsPublicWriteAccess": policy.write,
                },
                "accessControlList": {
                    "allowsPublicReadAccess": acl.read,
                    "allowsPublicWriteAccess": acl.write,
                },
                "blockPublicAccess": {
                    "ignorePublicAcls": false,
                    "restrictPublicBuckets": false,
                    "blockPublicAcls": false,
                    "blockPublicPolicy": false,
                },
            },
        },
    })
}

/// The policy a `PutBucketPolicy` record carries (an object, or its text).
fn recorded_policy(r: &Record<'_>) -> Option<String> {
    match r.request().get("bucketPolicy")? {
        Json::String(s) => Some(s.clone()),
        Json::Null => None,
        doc => Some(doc.to_string()),
    }
}

/// Whom an ACL change grants to: (anonymous, all authenticated AWS users).
fn acl_grants(r: &Record<'_>) -> (PublicAccess, PublicAccess) {
    let text = r.request().to_string();
    let canned = |name: &str| text.contains(&format!("\"{name}\""));
    let write = text.contains("WRITE") || canned("public-read-write");
    let everyone = text.contains("groups/global/AllUsers")
        || canned("public-read")
        || canned("public-read-write");
    let authenticated =
        text.contains("groups/global/AuthenticatedUsers") || canned("authenticated-read");
    (
        PublicAccess {
            read: everyone,
            write: everyone && write,
        },
        PublicAccess {
            read: authenticated,
            write: authenticated && write,
        },
    )
}

pub struct Rule;

impl engine::CloudTrailRule for Rule {
    fn rule(&self) -> RuleRef {
        RuleRef::Builtin(NAME)
    }
    fn on(&self) -> On {
        On::Names(vec!["PutBucketPolicy".into(), "PutBucketAcl".into()])
    }
    fn check(&self, r: &Record<'_>, cx: &mut Cx<'_>, out: &mut Vec<Candidate>) {
        if r.event_source() != "s3.amazonaws.com" || r.error_code().is_some() {
            return;
        }
        let Some(bucket) = r.request().get("bucketName").and_then(Json::as_str) else {
            return;
        };
        let bucket = bucket.to_string();
        if r.event_name() == "PutBucketAcl" {
            let (anonymous, authenticated) = acl_grants(r);
            let (name, acl) = if anonymous.read || anonymous.write {
                ("Policy:S3/BucketAnonymousAccessGranted", anonymous)
            } else if authenticated.read || authenticated.write {
                ("Policy:S3/BucketPublicAccessGranted", authenticated)
            } else {
                return;
            };
            if let Some(ty) = finding_type(name) {
                let access = permissions(PublicAccess::default(), acl);
                out.push(bucket_finding(ty, NAME, r, cx, &bucket, access));
            }
            return;
        }
        let policy = match cx.facts.bucket_policy(r.account(), r.region(), &bucket) {
            Lookup::Found(p) => p,
            Lookup::NotAsked => match recorded_policy(r) {
                Some(p) => p,
                None => return,
            },
            Lookup::Absent | Lookup::Failed => return,
        };
        let access = public_access(&bucket, r.account(), &policy);
        if (access.read || access.write)
            && let Some(ty) = finding_type("Policy:S3/BucketAnonymousAccessGranted")
        {
            let details = permissions(access, PublicAccess::default());
            out.push(bucket_finding(ty, NAME, r, cx, &bucket, details));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intel::Intel;
    use crate::rules::testing::{event, raised, types};

    fn policy(principal: &str, action: &str, condition: &str) -> String {
        format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{principal},"Action":"{action}","Resource":["arn:aws:s3:::b","arn:aws:s3:::b/*"]{condition}}}]}}"#
        )
    }

    fn put_policy(doc: &str) -> String {
        let doc: Json = serde_json::from_str(doc).unwrap();
        event(
            json!({"eventSource": "s3.amazonaws.com", "eventName": "PutBucketPolicy",
            "requestParameters": {"bucketName": "b", "bucketPolicy": doc, "policy": [""]}}),
        )
    }

    #[test]
    fn anonymous_grants_are_public_and_others_are_not() {
        let acct = "111122223333";
        assert_eq!(
            public_access("b", acct, &policy("\"*\"", "s3:GetObject", "")),
            PublicAccess {
                read: true,
                write: false
            }
        );
        assert_eq!(
            public_access("b", acct, &policy(r#"{"AWS":"*"}"#, "s3:*", "")),
            PublicAccess {
                read: true,
                write: true
            }
        );
        let partner = policy(r#"{"AWS":"arn:aws:iam::444455556666:root"}"#, "s3:*", "");
        assert_eq!(public_access("b", acct, &partner), PublicAccess::default());
        let by_ip = policy(
            "\"*\"",
            "s3:GetObject",
            r#","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}"#,
        );
        assert_eq!(public_access("b", acct, &by_ip), PublicAccess::default());
        assert!(!public_access("c", acct, &policy("\"*\"", "s3:*", "")).read);
        assert!(!public_access("b", acct, "not json").read);
    }

    #[test]
    fn positive() {
        let found = raised(
            Rule,
            &put_policy(&policy("\"*\"", "s3:GetObject", "")),
            &Intel::default(),
        );
        assert_eq!(found.len(), 1);
        let c = &found[0];
        assert_eq!(
            c.finding_type.name,
            "Policy:S3/BucketAnonymousAccessGranted"
        );
        assert_eq!(c.resource["s3BucketDetails"][0]["name"], "b");
        assert_eq!(
            c.aggregation_key,
            "Policy:S3/BucketAnonymousAccessGranted/arn:aws:s3:::b"
        );
        let acl = event(
            json!({"eventSource": "s3.amazonaws.com", "eventName": "PutBucketAcl",
            "requestParameters": {"bucketName": "b", "AccessControlPolicy": {"AccessControlList": {"Grant": [
                {"Grantee": {"URI": "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"}, "Permission": "READ"}]}}}}),
        );
        assert_eq!(
            types(Rule, &acl, &Intel::default()),
            ["Policy:S3/BucketPublicAccessGranted"]
        );
        let canned = event(
            json!({"eventSource": "s3.amazonaws.com", "eventName": "PutBucketAcl",
            "requestParameters": {"bucketName": "b", "x-amz-acl": ["public-read"]}}),
        );
        assert_eq!(
            types(Rule, &canned, &Intel::default()),
            ["Policy:S3/BucketAnonymousAccessGranted"]
        );
    }

    #[test]
    fn negative() {
        let partner = put_policy(&policy(
            r#"{"AWS":"arn:aws:iam::444455556666:root"}"#,
            "s3:*",
            "",
        ));
        let private_acl = event(
            json!({"eventSource": "s3.amazonaws.com", "eventName": "PutBucketAcl",
            "requestParameters": {"bucketName": "b", "x-amz-acl": ["private"]}}),
        );
        let failed: String = {
            let mut e: Json =
                serde_json::from_str(&put_policy(&policy("\"*\"", "s3:*", ""))).unwrap();
            e["errorCode"] = json!("AccessDenied");
            e.to_string()
        };
        let unrecorded = event(
            json!({"eventSource": "s3.amazonaws.com", "eventName": "PutBucketPolicy",
            "requestParameters": {"bucketName": "b"}}),
        );
        for e in [partner, private_acl, failed, unrecorded] {
            assert!(types(Rule, &e, &Intel::default()).is_empty(), "{e}");
        }
    }
}
