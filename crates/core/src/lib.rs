//! The core every trailguard service plugs into, and that names none of them.
//!
//! [`Services::execute`] is the one path every API call takes: find the
//! operation in the [`Registry`], drop the members its AWS model does not
//! define ([`inputs`]), authorize it ([`authz`]), run it and record it in
//! CloudTrail ([`audit`]), all in one store transaction. Slow work a handler
//! needs runs between attempts of that transaction, never inside it
//! ([`prepare`]). A failed or denied call rolls its changes back and is then
//! recorded in a transaction of its own. Nothing here knows HTTP or wire
//! formats, and nothing here knows which services exist: each service crate
//! hands over a [`ServiceModule`], and the binary assembles the list.

pub mod audit;
pub mod authz;
pub mod catalogue;
pub mod credentials;
pub mod env;
pub mod error;
pub mod identity;
pub mod inputs;
pub mod linked;
pub mod module;
pub mod ops;
pub mod params;
pub mod prepare;
pub mod runtime;

pub use module::{BackgroundJob, Moment, Notice, Outbox, Quiet, Registry, ServiceModule};
pub use runtime::{Background, Credential, Services, log_internal};
