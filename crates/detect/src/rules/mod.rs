//! The built-in CloudTrail rules, one per file. Each file says what
//! GuardDuty's documentation says of its finding types, what is chosen where
//! it says nothing, and carries its own positive and negative events as tests.
//! Adding a detection is adding a file and a line to [`all`].

use crate::engine::CloudTrailRule;

mod cloudtrail_logging_disabled;
mod malicious_ip_caller;
mod password_policy_change;
mod pentest_user_agent;
mod root_credential_usage;
mod s3_account_block_public_access_disabled;
mod s3_bucket_block_public_access_disabled;
mod s3_bucket_public_access;
mod s3_server_access_logging_disabled;
mod tor_ip_caller;

#[cfg(test)]
pub(crate) mod testing;

/// Every built-in stateless rule.
pub fn all() -> Vec<Box<dyn CloudTrailRule>> {
    vec![
        Box::new(cloudtrail_logging_disabled::Rule),
        Box::new(root_credential_usage::Rule),
        Box::new(pentest_user_agent::Rule),
        Box::new(password_policy_change::Rule),
        Box::new(malicious_ip_caller::Rule),
        Box::new(tor_ip_caller::Rule),
        Box::new(s3_server_access_logging_disabled::Rule),
        Box::new(s3_account_block_public_access_disabled::Rule),
        Box::new(s3_bucket_block_public_access_disabled::Rule),
        Box::new(s3_bucket_public_access::Rule),
    ]
}
