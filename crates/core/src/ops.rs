//! The shape every operation has: its name (and so its IAM action), the resources
//! it acts on, whether it only reads, and its handler.

use crate::authz::Authorized;
use crate::env::Env;
use crate::error::Result;
use crate::params::Params;
use trailguard_model::Value;

/// Computes the ARN an operation acts on, for authorization.
pub type ResourceFn = fn(&mut Env<'_>, Params<'_>) -> Result<String>;
/// Computes further ARNs an operation acts on (a rename's target), each of which
/// the caller must be allowed the action on, decided on its own.
pub type MoreResourcesFn = fn(&mut Env<'_>, Params<'_>) -> Result<Vec<String>>;
/// Runs an authorized operation.
pub type Handler = fn(&mut Env<'_>, &Authorized, Params<'_>) -> Result<Value>;

/// One API operation.
#[derive(Clone, Copy)]
pub struct Operation {
    /// The API name; with the service prefix, also the IAM action.
    pub name: &'static str,
    pub read_only: bool,
    pub resource: ResourceFn,
    /// Further resources, all of which must be allowed too.
    pub more_resources: Option<MoreResourcesFn>,
    pub run: Handler,
    /// Whether CloudTrail records the response (mutating calls, and STS credential calls).
    pub record_response: bool,
    /// The IAM action, when it is not the operation's name (`s3:ListBucket` for
    /// `ListObjects`).
    pub action: Option<&'static str>,
    /// A CloudTrail data event (S3 object calls), not a management event.
    pub data_event: bool,
    /// The handler makes the authorization decision itself (STS's
    /// `AssumeRole`, decided on the trust policy) instead of the core
    /// deciding on the operation's resources first.
    pub authorized_in_handler: bool,
}

impl Operation {
    /// A read-only operation.
    pub const fn read(name: &'static str, resource: ResourceFn, run: Handler) -> Self {
        Self {
            name,
            read_only: true,
            resource,
            more_resources: None,
            run,
            record_response: false,
            action: None,
            data_event: false,
            authorized_in_handler: false,
        }
    }

    /// A mutating operation.
    pub const fn write(name: &'static str, resource: ResourceFn, run: Handler) -> Self {
        Self {
            name,
            read_only: false,
            resource,
            more_resources: None,
            run,
            record_response: true,
            action: None,
            data_event: false,
            authorized_in_handler: false,
        }
    }

    /// Authorized as this IAM action (without the service prefix).
    pub const fn action(mut self, action: &'static str) -> Self {
        self.action = Some(action);
        self
    }

    /// Also acts on the resources `f` names: the call is allowed only when the
    /// action is allowed on each of them as well as on `resource`.
    pub const fn also_on(mut self, f: MoreResourcesFn) -> Self {
        self.more_resources = Some(f);
        self
    }

    /// Every resource the call acts on, `resource` first; each must be allowed.
    pub fn resources(&self, env: &mut Env<'_>, p: Params<'_>) -> Result<Vec<String>> {
        let mut all = vec![(self.resource)(env, p)?];
        if let Some(more) = self.more_resources {
            for arn in more(env, p)? {
                if !all.contains(&arn) {
                    all.push(arn);
                }
            }
        }
        Ok(all)
    }

    /// See [`Operation::authorized_in_handler`].
    pub const fn authorized_in_handler(mut self) -> Self {
        self.authorized_in_handler = true;
        self
    }

    /// Recorded as a data event.
    pub const fn data_event(mut self) -> Self {
        self.data_event = true;
        self
    }

    /// Records the response in CloudTrail even though the call only reads.
    pub const fn recording_response(mut self) -> Self {
        self.record_response = true;
        self
    }
}

impl std::fmt::Debug for Operation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Operation")
            .field("name", &self.name)
            .field("read_only", &self.read_only)
            .finish_non_exhaustive()
    }
}
