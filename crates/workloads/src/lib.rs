//! The services customers run workloads on that trailguard serves for their
//! service-linked roles: Redshift clusters, Lex V1 bots (which speak through
//! Polly, as their service-linked role) and Polly itself.

pub mod error;
pub mod lex;
pub mod polly;
pub mod redshift;

use trailguard_core::module::ServiceModule;

/// Redshift, as the core sees it: clusters keep its service-linked role in use.
pub fn redshift_module() -> ServiceModule {
    ServiceModule {
        linked: Some(&redshift::Linked),
        ..ServiceModule::new(&redshift::DEF, redshift::OPERATIONS)
    }
}

/// Lex V1, as the core sees it: bots keep its service-linked role in use.
pub fn lex_module() -> ServiceModule {
    ServiceModule {
        linked: Some(&lex::Linked),
        ..ServiceModule::new(&lex::DEF, lex::OPERATIONS)
    }
}

/// Polly, as the core sees it: its records show the text to speak only as
/// asterisks.
pub fn polly_module() -> ServiceModule {
    ServiceModule {
        record_params: Some(polly::redact_text),
        ..ServiceModule::new(&polly::DEF, polly::OPERATIONS)
    }
}
