//! The protocol a service speaks is part of its definition
//! (`trailguard_model::ServiceDef`); [`crate::codec`] decodes and encodes by it.

pub use trailguard_model::wire::Protocol;
