//! The AWS wire, and only the wire.
//!
//! This crate turns HTTP requests into protocol-neutral inputs and protocol-neutral
//! outputs and errors back into HTTP bodies, and verifies SigV4 signatures as a
//! pure function of the request, the secret and the time. It knows nothing about
//! storage, policies or AWS semantics, so it can be fuzzed and tested alone.

pub mod codec;
pub mod json;
pub mod limits;
pub mod query;
pub mod regions;
pub mod rest;
pub mod route;
pub mod s3;
pub mod sigv4;
pub mod xml;

pub use route::Protocol;
