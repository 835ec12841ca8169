//! What GuardDuty reads on the customer's behalf, through its service-linked
//! role, to decide and describe a finding.
//!
//! A record alone does not say whether a bucket became public: a
//! `PutBucketPolicy` may grant the world read access or name one partner
//! account. GuardDuty reads the bucket's policy back (`s3:GetBucketPolicy`,
//! which `AmazonGuardDutyServiceRolePolicy` grants) as a session of
//! `AWSServiceRoleForAmazonGuardDuty`, so the read is authorized against that
//! policy and lands in the customer's trail as an `AssumedRole` call
//! `invokedBy` `guardduty.amazonaws.com`, in the same transaction as the finding
//! it produced. The policy is then asked, with the same engine that decides
//! every call, whether an anonymous caller may read or write objects.
//!
//! The policy is read when the detection runs (within moments of the call),
//! not as it stood at the call: a public grant undone before the run is not
//! reported, and a private put followed at once by a public one is reported
//! against both records. The read is what GuardDuty saw.
//!
//! The role's policy grants no IAM reads, so GuardDuty does not (and here
//! cannot) enrich a finding by reading the user or role it concerns; what it
//! says about them comes from the record itself.

use super::detect::text;
use super::findings::{self, Observation};
use serde_json::{Value as Json, json};
use trailguard_core::env::Env;
use trailguard_core::error::{Error, Result};
use trailguard_iam::linked;
use trailguard_policy::{Context, Outcome, Policy, PolicyDocument, PolicyKind, Principal, Query};

/// The session name GuardDuty's role sessions carry in this implementation
/// (AWS's own name for it is not documented).
const SESSION_NAME: &str = "GuardDuty";

/// What an anonymous caller may do under a bucket policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublicAccess {
    pub read: bool,
    pub write: bool,
}

/// Asks the policy whether an anonymous caller may list or read (write or
/// delete) objects in the bucket. Conditions that need request context (a
/// source IP, a VPC endpoint) are missing for the hypothetical caller, so a
/// policy that restricts by them is not public.
pub fn public_access(bucket: &str, account: &str, policy: &str) -> PublicAccess {
    let Ok(doc) = PolicyDocument::parse(policy) else {
        return PublicAccess {
            read: false,
            write: false,
        };
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

/// A successful `PutBucketPolicy` (the caller has already set aside the calls
/// AWS services make): GuardDuty reads
/// the policy back through its role and, when it lets anyone in, reports
/// `Policy:S3/BucketAnonymousAccessGranted` for the bucket.
pub fn bucket_policy_change(
    env: &mut Env<'_>,
    r: &Json,
    base: impl Fn(&'static findings::FindingType, &Json) -> Observation,
) -> Result<Option<Observation>> {
    if text(r, &["eventSource"]) != "s3.amazonaws.com"
        || text(r, &["eventName"]) != "PutBucketPolicy"
        || r.get("errorCode").is_some()
    {
        return Ok(None);
    }
    let bucket = text(r, &["requestParameters", "bucketName"]).to_string();
    let Some(ty) = findings::finding_type("Policy:S3/BucketAnonymousAccessGranted") else {
        return Ok(None);
    };
    let account = env.account.clone();
    let Some(role) = linked::existing_role(env, super::SERVICE)? else {
        // A detector keeps its role from deletion, so this is a store edited by hand.
        tracing::warn!(%account, "GuardDuty's service-linked role is missing; bucket not read");
        return Ok(None);
    };
    let caller = match linked::session(env, role, super::SERVICE, SESSION_NAME) {
        Ok(c) => c,
        Err(e @ (Error::Store(_) | Error::Corrupt(_))) => return Err(e),
        Err(e) => {
            tracing::warn!(%account, error = %e, "GuardDuty could not assume its role; bucket not read");
            return Ok(None);
        }
    };
    let read = linked::act_as(
        env,
        &caller,
        super::SERVICE,
        trailguard_s3::DEF.id,
        "GetBucketPolicy",
        &json!({"bucketName": bucket}),
    );
    let out = match read {
        Ok(out) => out,
        // Storage failing is not an answer: the detection run stops and retries.
        Err(e @ (Error::Store(_) | Error::Corrupt(_))) => return Err(e),
        // The policy is gone again (or not readable): the failed read is in
        // the trail, and nothing is public.
        Err(_) => return Ok(None),
    };
    let Some(policy) = out.get("Policy").and_then(|v| v.as_str()) else {
        return Ok(None);
    };
    let access = public_access(&bucket, &account, policy);
    if !access.read && !access.write {
        return Ok(None);
    }
    let mut o = base(ty, r);
    let arn = format!("arn:aws:s3:::{bucket}");
    let access_key = findings::get(&o.resource, &["accessKeyDetails"]).clone();
    o.resource = json!({
        "resourceType": "S3Bucket",
        "accessKeyDetails": access_key,
        "s3BucketDetails": [{
            "arn": arn,
            "name": bucket,
            "type": "Destination",
            "owner": {"id": account},
            "publicAccess": {
                "effectivePermission": "PUBLIC",
                "permissionConfiguration": {
                    "bucketLevelPermissions": {
                        "bucketPolicy": {
                            "allowsPublicReadAccess": access.read,
                            "allowsPublicWriteAccess": access.write,
                        },
                        "accessControlList": {
                            "allowsPublicReadAccess": false,
                            "allowsPublicWriteAccess": false,
                        },
                        "blockPublicAccess": {
                            "ignorePublicAcls": false,
                            "restrictPublicBuckets": false,
                            "blockPublicAcls": false,
                            "blockPublicPolicy": false,
                        },
                    },
                },
            },
        }],
    });
    o.aggregation_key = format!("{}/{arn}", ty.name);
    for (k, v) in &mut o.fill {
        if *k == "bucketName" {
            v.clone_from(&bucket);
        }
    }
    Ok(Some(o))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(principal: &str, action: &str, condition: &str) -> String {
        format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{principal},"Action":"{action}","Resource":["arn:aws:s3:::b","arn:aws:s3:::b/*"]{condition}}}]}}"#
        )
    }

    #[test]
    fn anonymous_grants_are_public_and_others_are_not() {
        let acct = "111122223333";
        let star = public_access("b", acct, &policy("\"*\"", "s3:GetObject", ""));
        assert_eq!(
            star,
            PublicAccess {
                read: true,
                write: false
            }
        );
        let aws_star = public_access("b", acct, &policy(r#"{"AWS":"*"}"#, "s3:*", ""));
        assert_eq!(
            aws_star,
            PublicAccess {
                read: true,
                write: true
            }
        );
        let partner = public_access(
            "b",
            acct,
            &policy(r#"{"AWS":"arn:aws:iam::444455556666:root"}"#, "s3:*", ""),
        );
        assert_eq!(
            partner,
            PublicAccess {
                read: false,
                write: false
            }
        );
        let by_ip = public_access(
            "b",
            acct,
            &policy(
                "\"*\"",
                "s3:GetObject",
                r#","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}"#,
            ),
        );
        assert_eq!(
            by_ip,
            PublicAccess {
                read: false,
                write: false
            }
        );
        let other_bucket = public_access("c", acct, &policy("\"*\"", "s3:*", ""));
        assert!(!other_bucket.read && !other_bucket.write);
        assert!(!public_access("b", acct, "not json").read);
    }
}
