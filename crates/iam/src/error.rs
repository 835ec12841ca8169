//! IAM's and STS's own error codes, and how each reaches the wire. The codes
//! the core raises too (`InvalidInput`, `ValidationError`, `AccessDenied`) are
//! the core's.

use std::fmt;

use trailguard_core::error::ServiceError;

/// An IAM error, named after its AWS code.
#[derive(Debug)]
pub enum IamError {
    NoSuchEntity(String),
    EntityAlreadyExists(String),
    DeleteConflict(String),
    LimitExceeded(String),
    MalformedPolicyDocument(String),
    UnmodifiableEntity(String),
}

impl std::error::Error for IamError {}

impl fmt::Display for IamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.shape().2)
    }
}

impl ServiceError for IamError {
    fn code(&self) -> &'static str {
        self.shape().0
    }

    fn status(&self) -> u16 {
        self.shape().1
    }
}

impl IamError {
    /// Code, status and message, in the one match.
    fn shape(&self) -> (&'static str, u16, &str) {
        match self {
            IamError::NoSuchEntity(m) => ("NoSuchEntity", 404, m),
            IamError::EntityAlreadyExists(m) => ("EntityAlreadyExists", 409, m),
            IamError::DeleteConflict(m) => ("DeleteConflict", 409, m),
            IamError::LimitExceeded(m) => ("LimitExceeded", 409, m),
            IamError::MalformedPolicyDocument(m) => ("MalformedPolicyDocument", 400, m),
            IamError::UnmodifiableEntity(m) => ("UnmodifiableEntity", 400, m),
        }
    }
}

/// An STS error, named after its AWS code.
#[derive(Debug)]
pub enum StsError {
    MalformedPolicyDocument(String),
    PackedPolicyTooLarge(String),
}

impl std::error::Error for StsError {}

impl fmt::Display for StsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.shape().2)
    }
}

impl ServiceError for StsError {
    fn code(&self) -> &'static str {
        self.shape().0
    }

    fn status(&self) -> u16 {
        self.shape().1
    }
}

impl StsError {
    /// Code, status and message, in the one match.
    fn shape(&self) -> (&'static str, u16, &str) {
        match self {
            StsError::MalformedPolicyDocument(m) => ("MalformedPolicyDocument", 400, m),
            StsError::PackedPolicyTooLarge(m) => ("PackedPolicyTooLarge", 400, m),
        }
    }
}
