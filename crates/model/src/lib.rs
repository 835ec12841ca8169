//! The vocabulary every trailguard crate speaks.
//!
//! Kept free of IO, async, HTTP and SQL so that every other crate can depend on it
//! cheaply: principals and request context, injected time and ids, the
//! protocol-neutral API value tree, the one AWS error type, and the CloudTrail
//! record whose JSON form is part of the product's contract, and the `Secret`
//! string that redacts itself.

pub mod clock;
pub mod cloudtrail;
pub mod context;
pub mod error;
pub mod ids;
pub mod principal;
pub mod secret;
pub mod service;
pub mod value;
pub mod wire;

pub use clock::{Clock, FixedClock, SystemClock};
pub use context::RequestContext;
pub use error::{ApiError, Fault};
pub use ids::{IdGen, RandomIds, SeqIds};
pub use principal::{Caller, Principal, SessionInfo};
pub use secret::Secret;
pub use service::{ServiceDef, ServiceId};
pub use value::Value;
