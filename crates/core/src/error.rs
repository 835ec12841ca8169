//! The errors every service shares, and the door through which each service's
//! own errors reach the client.
//!
//! The core raises only what it raises itself (authorization, authentication,
//! input checks in [`crate::params`], throttling, prepared work, storage). Each
//! service keeps its AWS error codes in an enum of its own, in its crate's
//! `error.rs`, and maps it to the wire there ([`ServiceError`]): one enum for
//! eight services grew clashing names (two `InvalidParameter`s) and made every
//! new code a change to the core, which must not know which services exist.
//! [`Error::into_api`] is the one place a client's call logs an internal
//! failure (work no client asked for goes through [`crate::log_internal`]).

use trailguard_model::ApiError;
use trailguard_store::StoreError;

/// A service's own error, named after its AWS code and mapped to the wire by
/// the service. It reaches callers as [`Error::Service`].
pub trait ServiceError: std::error::Error + Send + Sync + 'static {
    /// The wire code, for example `NoSuchEntity` or `TrailNotFoundException`.
    fn code(&self) -> &'static str;

    /// The HTTP status.
    fn status(&self) -> u16;

    /// The error as the client sees it: a caller fault with the error's text
    /// as its message, unless the service says otherwise.
    fn to_api(&self) -> ApiError {
        ApiError::sender(self.code(), self.status(), self.to_string())
    }
}

/// Every error an operation can end with: the ones the core raises, and any
/// service's own ([`Error::Service`]).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A service's own error, already knowing its AWS shape.
    #[error("{0}")]
    Service(Box<dyn ServiceError>),
    /// Input the core's shared checks refuse (duplicate tag keys), under the
    /// code the services using them answer with for bad input of their own.
    #[error("{0}")]
    InvalidInput(String),
    /// A member that breaks its constraint ([`Error::constraint`], [`Error::missing`]).
    #[error("{0}")]
    ValidationError(String),
    #[error("{0}")]
    AccessDenied(String),
    #[error("{0}")]
    InvalidAction(String),
    #[error("{0}")]
    InvalidClientTokenId(String),
    #[error("{0}")]
    ExpiredToken(String),
    /// Too many slow requests at once, or inputs that kept changing while the
    /// call's slow work was prepared (`prepare`).
    #[error("{0}")]
    Throttling(String),
    /// A handler needs slow work done outside the transaction first: never
    /// answered, `prepare::transact_prepared` runs the job and retries.
    #[error("the call needs work prepared outside its transaction: {0:?}")]
    NeedsPreparation(crate::prepare::Pending),
    /// A storage failure: logged, never shown to the client.
    #[error("storage: {0}")]
    Store(#[from] StoreError),
    /// A stored document that no longer decodes: logged, never shown.
    #[error("corrupt document: {0}")]
    Corrupt(String),
}

impl<E: ServiceError> From<E> for Error {
    fn from(e: E) -> Self {
        Error::Service(Box::new(e))
    }
}

impl Error {
    /// The error as the client is answered with it. The one place internal
    /// failures are logged; the client sees only the generic internal error.
    pub fn into_api(self) -> ApiError {
        if matches!(self, Error::Store(_) | Error::Corrupt(_)) {
            tracing::error!(error = %self, "internal failure");
        }
        self.to_api()
    }

    /// The AWS error as the client sees it, without logging: for recording a
    /// failure that is answered (and logged) elsewhere.
    pub fn to_api(&self) -> ApiError {
        let (code, status) = match self {
            Error::Service(e) => return e.to_api(),
            Error::InvalidInput(_) => ("InvalidInput", 400),
            Error::ValidationError(_) => ("ValidationError", 400),
            Error::AccessDenied(_) => ("AccessDenied", 403),
            Error::InvalidAction(_) => ("InvalidAction", 400),
            Error::InvalidClientTokenId(_) => ("InvalidClientTokenId", 403),
            Error::ExpiredToken(_) => ("ExpiredToken", 403),
            Error::Throttling(_) => ("ThrottlingException", 400),
            Error::Store(_) | Error::Corrupt(_) | Error::NeedsPreparation(_) => {
                return ApiError::internal();
            }
        };
        ApiError::sender(code, status, self.to_string())
    }

    /// The service error this is, if it is one of `E`'s (handlers and tests
    /// telling their own errors apart).
    pub fn service<E: ServiceError>(&self) -> Option<&E> {
        match self {
            Error::Service(e) => {
                let e: &(dyn std::error::Error + 'static) = e.as_ref();
                e.downcast_ref()
            }
            _ => None,
        }
    }

    /// AWS's wording for a value that breaks a constraint; the value is quoted
    /// bounded (it may be as long as the request).
    pub fn constraint(member: &str, value: &str, constraint: &str) -> Self {
        Error::ValidationError(format!(
            "1 validation error detected: Value '{}' at '{member}' failed to satisfy constraint: {constraint}",
            trailguard_model::error::quote(value)
        ))
    }

    /// AWS's wording for a missing required member.
    pub fn missing(member: &str) -> Self {
        Error::ValidationError(format!(
            "1 validation error detected: Value null at '{member}' failed to satisfy constraint: Member must not be null"
        ))
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Refused(&'static str);

    impl std::fmt::Display for Refused {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }

    impl std::error::Error for Refused {}

    impl ServiceError for Refused {
        fn code(&self) -> &'static str {
            "RefusedException"
        }

        fn status(&self) -> u16 {
            409
        }
    }

    #[test]
    fn a_service_error_keeps_its_code_status_and_message() {
        let e = Error::from(Refused("no"));
        assert_eq!(e.to_api(), ApiError::sender("RefusedException", 409, "no"));
        assert_eq!(e.to_string(), "no");
        assert!(matches!(e.service::<Refused>(), Some(Refused("no"))));
        assert!(
            Error::AccessDenied("x".into())
                .service::<Refused>()
                .is_none()
        );
        assert_eq!(e.into_api().code, "RefusedException");
    }

    #[test]
    fn internal_failures_are_answered_without_their_details() {
        let e = Error::Corrupt("users/alice: bad json".into());
        assert_eq!(e.into_api(), ApiError::internal());
    }
}
