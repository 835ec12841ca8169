//! What GuardDuty reads on the customer's behalf, through its service-linked
//! role, when the detection engine asks ([`trailguard_detect::Facts`]).
//!
//! A record alone does not say whether a bucket became public: a
//! `PutBucketPolicy` may grant the world read access or name one partner
//! account. GuardDuty reads the bucket's policy back (`s3:GetBucketPolicy`,
//! which `AmazonGuardDutyServiceRolePolicy` grants) as a session of
//! `AWSServiceRoleForAmazonGuardDuty`, so the read is authorized against that
//! policy and lands in the customer's trail as an `AssumedRole` call
//! `invokedBy` `guardduty.amazonaws.com`, in the same transaction as the finding
//! it produced. The engine's rule then asks the policy whether an anonymous
//! caller may read or write objects.
//!
//! The policy is read when the detection runs (within moments of the call),
//! not as it stood at the call: a public grant undone before the run is not
//! reported, and a private put followed at once by a public one is reported
//! against both records. The read is what GuardDuty saw. (Offline, `scan`
//! has no bucket to read and decides from the policy the record carries.)
//!
//! The role's policy grants no IAM reads, so GuardDuty does not (and here
//! cannot) enrich a finding by reading the user or role it concerns; what it
//! says about them comes from the record itself.

use serde_json::json;
use trailguard_core::env::Env;
use trailguard_core::error::Error;
use trailguard_detect::{Facts, Lookup};
use trailguard_iam::linked;
use trailguard_model::Caller;

/// The session name GuardDuty's role sessions carry in this implementation
/// (AWS's own name for it is not documented).
const SESSION_NAME: &str = "GuardDuty";

/// The engine's questions, answered by reading as GuardDuty's role.
pub struct RoleReads<'e, 't> {
    env: &'e mut Env<'t>,
    session: Option<Caller>,
    /// A storage failure met while reading: the run stops and retries.
    pub failure: Option<Error>,
}

impl<'e, 't> RoleReads<'e, 't> {
    pub fn new(env: &'e mut Env<'t>) -> Self {
        Self {
            env,
            session: None,
            failure: None,
        }
    }

    fn session(&mut self) -> Option<Caller> {
        if let Some(c) = &self.session {
            return Some(c.clone());
        }
        let account = self.env.account.clone();
        let role = match linked::existing_role(self.env, super::SERVICE) {
            Ok(Some(role)) => role,
            Ok(None) => {
                // A detector keeps its role from deletion, so this is a store edited by hand.
                tracing::warn!(%account, "GuardDuty's service-linked role is missing; bucket not read");
                return None;
            }
            Err(e) => {
                self.failure = Some(e);
                return None;
            }
        };
        match linked::session(self.env, role, super::SERVICE, SESSION_NAME) {
            Ok(c) => {
                self.session = Some(c.clone());
                Some(c)
            }
            Err(e @ (Error::Store(_) | Error::Corrupt(_))) => {
                self.failure = Some(e);
                None
            }
            Err(e) => {
                tracing::warn!(%account, error = %e, "GuardDuty could not assume its role; bucket not read");
                None
            }
        }
    }
}

impl Facts for RoleReads<'_, '_> {
    fn bucket_policy(&mut self, _account: &str, _region: &str, bucket: &str) -> Lookup {
        if self.failure.is_some() {
            return Lookup::Failed;
        }
        let Some(caller) = self.session() else {
            return Lookup::Failed;
        };
        let read = linked::act_as(
            self.env,
            &caller,
            super::SERVICE,
            trailguard_s3::DEF.id,
            "GetBucketPolicy",
            &json!({"bucketName": bucket}),
        );
        match read {
            Ok(out) => match out.get("Policy").and_then(|v| v.as_str()) {
                Some(policy) => Lookup::Found(policy.to_string()),
                None => Lookup::Absent,
            },
            // Storage failing is not an answer: the detection run stops and retries.
            Err(e @ (Error::Store(_) | Error::Corrupt(_))) => {
                self.failure = Some(e);
                Lookup::Failed
            }
            // The policy is gone again (or not readable): the failed read is in
            // the trail, and nothing is public.
            Err(_) => Lookup::Absent,
        }
    }
}
