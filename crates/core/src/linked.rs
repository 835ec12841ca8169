//! Services acting for the caller: the trait a linked service answers its
//! role's users through, and [`act_as`], the one way a service calls another
//! service's operation.
//!
//! The lifecycle of service-linked roles (creating one on first use, assuming
//! it, granting it access) is IAM's and lives in the IAM crate; the
//! core only knows, through the [`Registry`](crate::module::Registry), which
//! services have resources and how to run an operation as a session.

use crate::audit::{self, CallFacts};
use crate::env::Env;
use crate::error::{Error, Result};
use crate::params::Params;
use trailguard_model::{Caller, ServiceId, Value};

/// A service whose resources can keep its service-linked role in use.
pub trait LinkedResources: Sync {
    /// The service principal, `redshift.amazonaws.com`.
    fn service(&self) -> &'static str;
    /// `(region, resource ARN)` of every resource in the account that uses the role.
    fn resources_using_role(&self, env: &mut Env<'_>) -> Result<Vec<(String, String)>>;
}

/// The service calls another service's operation as `caller` (a session of its
/// role): authorized against the role's policies and recorded as the seed post
/// shows it (`AssumedRole`, `invokedBy`, source and agent the service principal),
/// in the same transaction as the call that caused it.
pub fn act_as(
    env: &mut Env<'_>,
    caller: &Caller,
    service: &str,
    target: ServiceId,
    operation: &str,
    params: &serde_json::Value,
) -> Result<Value> {
    let op = env
        .registry
        .operation(target, operation)
        .ok_or_else(|| Error::InvalidAction(format!("{operation} is not served")))?;
    // A service calls S3 on a bucket at the bucket's region, as AWS services
    // do (GuardDuty reading a list or a bucket policy wherever the bucket is):
    // the call is served, checked and recorded there. Other targets are called
    // in the caller's region.
    let region = match env.registry.module(target).and_then(|m| m.call_region) {
        Some(region_of) => region_of(env, Params(params))?,
        None => None,
    };
    let ctx = trailguard_model::RequestContext {
        source_ip: service.to_string(),
        user_agent: service.to_string(),
        request_id: env.ids.uuid(),
        region: region.unwrap_or_else(|| env.ctx.region.clone()),
        ..env.ctx.clone()
    };
    let mut inner = env.as_caller(caller, &ctx);
    let result = crate::runtime::run_operation(&mut inner, target, op, Params(params));
    let facts = CallFacts {
        service: target,
        name: op.name,
        read_only: op.read_only,
        record_response: op.record_response,
        management: !op.data_event,
        params,
    };
    match &result {
        Ok(out) => audit::record(&mut inner, facts, Ok(out))?,
        // The whole call is rolled back and tried again once the work is done.
        Err(Error::NeedsPreparation(_)) => {}
        Err(e) => audit::record(&mut inner, facts, Err(&e.to_api()))?,
    }
    result
}
