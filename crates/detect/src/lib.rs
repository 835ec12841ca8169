//! trailguard's detection engine.
//!
//! Log records are parsed once for every rule ([`cloudtrail::Record`]: a
//! borrowed view that decodes nested documents only when asked), rules are
//! indexed by the records they look at ([`engine::Engine`]), and each match is
//! a [`candidate::Candidate`] naming the events behind it. The engine is pure:
//! it reads bytes it is handed and nothing else, so the server's GuardDuty
//! detectors and the offline `trailguard scan` run the same rules and get the
//! same findings.
//!
//! The sources: CloudTrail now; VPC flow logs and DNS query logs join as
//! sources of their own beside it.

pub mod candidate;
pub mod catalogue;
pub mod cloudtrail;
pub mod engine;
pub mod intel;
pub mod rules;
pub mod state;

pub use candidate::{Candidate, EventRef, Home, Origin, RuleRef};
pub use catalogue::{FindingType, catalogue, finding_type};
pub use cloudtrail::Record;
pub use engine::{CloudTrailRule, Cx, Engine, Facts, Lookup, NoFacts, On};
pub use intel::Intel;
