//! The services this build serves, one line each.
//!
//! Every service crate hands over its `ServiceModule`; this list is the only
//! place that names them all, and adding a service is one line here. The
//! binary builds the runtime with [`services`]; integration tests across
//! services live in this crate's `tests/`.

use std::sync::Arc;
use trailguard_core::{Registry, ServiceModule};
use trailguard_model::{Clock, IdGen};
use trailguard_store::Store;

pub use trailguard_cloudtrail::delivery::Timing as TrailTiming;
pub use trailguard_core::{Credential, Services};
pub use trailguard_iam::accounts::{Accounts, Bootstrap, BootstrapError, RootIdentity};

/// What the operator may tune of the services.
#[derive(Clone, Default)]
pub struct Config {
    /// How often trails deliver log files and digests.
    pub trail_timing: TrailTiming,
    /// The rules GuardDuty's detectors run (the built-in ones when `None`).
    pub detection: Option<Arc<trailguard_detect::Engine>>,
}

/// Every service served, in the order their background work runs: CloudTrail
/// last, so trail delivery takes what the others' jobs recorded in the same run.
pub fn modules(config: &Config) -> Vec<ServiceModule> {
    vec![
        trailguard_iam::module(),
        trailguard_iam::sts_module(),
        trailguard_workloads::redshift_module(),
        trailguard_workloads::lex_module(),
        trailguard_workloads::polly_module(),
        trailguard_guardduty::module_with(config.detection.clone()),
        trailguard_s3::module(),
        trailguard_cloudtrail::module(config.trail_timing),
    ]
}

/// The runtime over every service, with the default configuration.
pub fn services(store: Arc<dyn Store>, clock: Arc<dyn Clock>, ids: Arc<dyn IdGen>) -> Services {
    services_with(&Config::default(), store, clock, ids)
}

/// The runtime over every service.
pub fn services_with(
    config: &Config,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdGen>,
) -> Services {
    Services::new(Registry::new(modules(config)), store, clock, ids)
}

/// Delivers every trail's due log files and digests now, as the worker does
/// on graceful shutdown (tests and tools).
pub fn deliver_trails(
    services: &Services,
    config: &Config,
) -> Result<usize, trailguard_model::ApiError> {
    trailguard_cloudtrail::delivery::deliver_trails(services, config.trail_timing, true)
}

/// Every operation of every service, for listings and conformance checks.
pub fn all_operations() -> impl Iterator<
    Item = (
        trailguard_model::ServiceId,
        &'static trailguard_core::ops::Operation,
    ),
> {
    modules(&Config::default())
        .into_iter()
        .flat_map(|m| m.operations.iter().map(move |op| (m.def.id, op)))
}

/// The definition of a served service.
pub fn def(service: trailguard_model::ServiceId) -> Option<&'static trailguard_model::ServiceDef> {
    modules(&Config::default())
        .into_iter()
        .find(|m| m.def.id == service)
        .map(|m| m.def)
}

/// Every served service's id, by name (tests and tools).
pub mod ids {
    use trailguard_model::ServiceId;

    pub const IAM: ServiceId = trailguard_iam::DEF.id;
    pub const STS: ServiceId = trailguard_iam::sts::DEF.id;
    pub const REDSHIFT: ServiceId = trailguard_workloads::redshift::DEF.id;
    pub const CLOUDTRAIL: ServiceId = trailguard_cloudtrail::DEF.id;
    pub const LEX: ServiceId = trailguard_workloads::lex::DEF.id;
    pub const POLLY: ServiceId = trailguard_workloads::polly::DEF.id;
    pub const GUARDDUTY: ServiceId = trailguard_guardduty::DEF.id;
    pub const S3: ServiceId = trailguard_s3::DEF.id;
}
