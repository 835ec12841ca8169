//! GuardDuty's own error codes, and how each reaches the wire. `AccessDenied`
//! is the core's, which authorization raises for every service.

use std::fmt;

use trailguard_core::error::ServiceError;

/// A GuardDuty error, named after its AWS code (without `Exception`).
#[derive(Debug)]
pub enum GuardDutyError {
    BadRequest(String),
}

impl std::error::Error for GuardDutyError {}

impl fmt::Display for GuardDutyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.shape().2)
    }
}

impl ServiceError for GuardDutyError {
    fn code(&self) -> &'static str {
        self.shape().0
    }

    fn status(&self) -> u16 {
        self.shape().1
    }
}

impl GuardDutyError {
    /// Code, status and message, in the one match.
    fn shape(&self) -> (&'static str, u16, &str) {
        match self {
            GuardDutyError::BadRequest(m) => ("BadRequestException", 400, m),
        }
    }
}
