//! What a service plugs into the core with, and the table of them.
//!
//! The core runs every call the same way (find the operation, drop undefined
//! members, authorize, run, record) and knows no service by name: each service
//! crate hands the binary one [`ServiceModule`] saying what it serves and which
//! of the core's seams it fills, and the binary assembles them into a
//! [`Registry`]. A service that needs nothing special fills only
//! `service` and `operations`.

use crate::env::Env;
use crate::error::Result;
use crate::linked::LinkedResources;
use crate::ops::Operation;
use crate::params::Params;
use crate::runtime::Services;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use trailguard_model::{ApiError, ServiceDef, ServiceId};

/// Checks a call before it is authorized (S3: a bucket answers only in its region).
pub type BeforeAuthorization = fn(&mut Env<'_>, &str, Params<'_>) -> Result<()>;
/// The region another service's call with these parameters is served in, when
/// it is not the caller's (S3: the bucket's).
pub type CallRegion = fn(&mut Env<'_>, Params<'_>) -> Result<Option<String>>;
/// Work done on every start, before any call: upgrades of stored data.
pub type OnStart = fn(&mut Env<'_>) -> Result<()>;
/// Shapes what a call's record shows of its parameters, given the operation,
/// the request's parameters and what the core rendered of them: masks what it
/// must not show (Polly's text) and adds what AWS's records carry that is not
/// a member (S3's bucket policy document).
pub type RecordParams =
    fn(operation: &str, request: &serde_json::Value, shown: &mut serde_json::Value);

/// One service, as the core sees it.
pub struct ServiceModule {
    /// What the service is: names, protocol, routes.
    pub def: &'static ServiceDef,
    /// Every operation served, one row each.
    pub operations: &'static [Operation],
    /// Resources that keep the service's service-linked role in use.
    pub linked: Option<&'static dyn LinkedResources>,
    /// Resource-based policies this service keeps (S3's bucket policies).
    pub resource_policies: Option<&'static dyn ResourcePolicies>,
    pub before_authorization: Option<BeforeAuthorization>,
    pub call_region: Option<CallRegion>,
    pub on_start: Option<OnStart>,
    pub record_params: Option<RecordParams>,
    /// Work the server's worker runs outside requests, in this order.
    pub background: Vec<Arc<dyn BackgroundJob>>,
    /// Events the server's worker posts to webhooks.
    pub outbox: Option<Arc<dyn Outbox>>,
}

impl ServiceModule {
    /// A service with operations and nothing else.
    pub fn new(def: &'static ServiceDef, operations: &'static [Operation]) -> Self {
        Self {
            def,
            operations,
            linked: None,
            resource_policies: None,
            before_authorization: None,
            call_region: None,
            on_start: None,
            record_params: None,
            background: Vec::new(),
            outbox: None,
        }
    }
}

/// A resource-based policy the authorization point must weigh with the
/// caller's own (S3's bucket policies).
pub trait ResourcePolicies: Sync {
    /// Whether `resource` (an ARN) is one of this service's.
    fn owns(&self, resource: &str) -> bool;
    /// The owning account and policy text of the resource `action` acts on, if
    /// it exists and its policy applies to the action; `None` policy text when
    /// it has none.
    fn policy(
        &self,
        env: &mut Env<'_>,
        action: &str,
        resource: &str,
    ) -> Result<Option<(String, Option<String>)>>;
    /// How a decision trace names the policy ("bucket-policy").
    fn policy_label(&self) -> &'static str;
    /// Condition keys this service's parameters carry: `(member, key)`.
    fn context_keys(&self) -> &'static [(&'static str, &'static str)];
    /// Actions the owning account's root may always take on its own resource,
    /// whatever its policy says (S3: reading and changing the bucket policy).
    fn owner_root_always_may(&self, action: &str) -> bool;
}

/// When the worker runs a background job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Moment {
    /// Its periodic run (every tick, and soon after requests).
    Tick,
    /// Once more on graceful shutdown, for what must not wait for the next start.
    Shutdown,
}

/// Periodic work of a service, outside requests. Each step commits on its
/// own, so stopping at any point leaves work the next run picks up.
pub trait BackgroundJob: Send + Sync {
    /// For logs: what the job does ("trail delivery").
    fn name(&self) -> &'static str;
    /// True when the job is known to have nothing to do, told without a
    /// transaction (see [`Quiet`]): the worker then skips its periodic run.
    /// The default, false, runs it every time.
    fn idle(&self, services: &Services) -> bool {
        let _ = services;
        false
    }
    /// Runs once; returns how much it did (for logs and tests).
    fn run(&self, services: &Services, moment: Moment) -> std::result::Result<usize, ApiError>;
}

/// Remembers that a job's starting namespace held nothing for it, until a
/// commit writes that namespace: how a job's [`BackgroundJob::idle`] answers
/// without reading the store, so the worker does work in proportion to what
/// changed rather than a scan per job after every request.
///
/// A run takes a [`Quiet::mark`] before it reads the namespace and reports
/// with [`Quiet::found`]. A write that commits after the mark moves the
/// store's change counter past it, so the job is not idle again until a run
/// has seen that write.
pub struct Quiet {
    ns: &'static str,
    /// The change counter at the start of a run that found nothing; `NEVER`
    /// while there is (or may be) something.
    quiet_at: AtomicU64,
}

const NEVER: u64 = u64::MAX;

impl Quiet {
    pub const fn new(ns: &'static str) -> Self {
        Self {
            ns,
            quiet_at: AtomicU64::new(NEVER),
        }
    }

    /// Whether no commit wrote the namespace since a run found it held
    /// nothing for the job. False when the store cannot tell.
    pub fn idle(&self, services: &Services) -> bool {
        let at = self.quiet_at.load(Ordering::Acquire);
        at != NEVER && services.changes(self.ns) == Some(at)
    }

    /// Taken before a run reads the namespace.
    pub fn mark(&self, services: &Services) -> Option<u64> {
        services.changes(self.ns)
    }

    /// After the run: whether it found nothing to do.
    pub fn found(&self, mark: Option<u64>, nothing: bool) {
        let at = match mark {
            Some(m) if nothing && m != NEVER => m,
            _ => NEVER,
        };
        self.quiet_at.store(at, Ordering::Release);
    }
}

/// An event a service wants posted to the operator's webhooks.
#[derive(Debug, Clone)]
pub struct Notice {
    pub id: String,
    /// The JSON body posted to a plain webhook.
    pub body: String,
    /// The JSON body posted to a `slack+` webhook.
    pub slack_body: String,
    /// Webhooks that already took it.
    pub acked: Vec<String>,
}

/// Events waiting to be posted, delivered at least once: the worker reads
/// the due ones, posts them with no transaction open, and reports back.
pub trait Outbox: Send + Sync {
    /// True when nothing can be due, told without a transaction (see
    /// [`BackgroundJob::idle`]).
    fn idle(&self, services: &Services) -> bool {
        let _ = services;
        false
    }
    fn due(&self, services: &Services, limit: usize) -> std::result::Result<Vec<Notice>, ApiError>;
    /// `accepted` took the notice; `done` when every webhook has.
    fn attempted(
        &self,
        services: &Services,
        id: &str,
        accepted: &[String],
        done: bool,
    ) -> std::result::Result<(), ApiError>;
}

/// Every service of this build.
#[derive(Default)]
pub struct Registry {
    modules: Vec<ServiceModule>,
}

impl Registry {
    pub fn new(modules: Vec<ServiceModule>) -> Self {
        Self { modules }
    }

    pub fn modules(&self) -> &[ServiceModule] {
        &self.modules
    }

    /// The module serving `service`.
    pub fn module(&self, service: ServiceId) -> Option<&ServiceModule> {
        self.modules.iter().find(|m| m.def.id == service)
    }

    /// The definition of the service clients sign for as `signing_name`.
    pub fn def(&self, signing_name: &str) -> Option<&'static ServiceDef> {
        self.modules
            .iter()
            .find(|m| m.def.id.signing_name() == signing_name)
            .map(|m| m.def)
    }

    /// Looks an operation up.
    pub fn operation(&self, service: ServiceId, name: &str) -> Option<&'static Operation> {
        self.module(service)?
            .operations
            .iter()
            .find(|op| op.name == name)
    }

    /// Every operation of every service, for listings and conformance checks.
    pub fn operations(&self) -> impl Iterator<Item = (ServiceId, &'static Operation)> + '_ {
        self.modules
            .iter()
            .flat_map(|m| m.operations.iter().map(move |op| (m.def.id, op)))
    }

    /// The linked service with this principal, if it has resources.
    pub fn linked(&self, principal: &str) -> Option<&'static dyn LinkedResources> {
        self.modules
            .iter()
            .filter_map(|m| m.linked)
            .find(|l| l.service() == principal)
    }

    /// The keeper of `resource`'s resource-based policy, if any.
    pub fn resource_policies(&self, resource: &str) -> Option<&'static dyn ResourcePolicies> {
        self.modules
            .iter()
            .filter_map(|m| m.resource_policies)
            .find(|r| r.owns(resource))
    }

    pub fn background(&self) -> impl Iterator<Item = &Arc<dyn BackgroundJob>> {
        self.modules.iter().flat_map(|m| m.background.iter())
    }

    pub fn outboxes(&self) -> impl Iterator<Item = &Arc<dyn Outbox>> {
        self.modules.iter().filter_map(|m| m.outbox.as_ref())
    }
}
