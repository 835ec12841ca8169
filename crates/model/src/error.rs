//! The one error shape every protocol renders: an AWS error code, HTTP status and message.
//!
//! Each service keeps its own error enum and maps it to this type in one place;
//! protocols only know how to render an [`ApiError`].

use std::borrow::Cow;
use std::fmt;

/// Whether the caller or the service is at fault (`<Type>` in query errors).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    Sender,
    Receiver,
}

/// An error as the client sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The wire code, for example `NoSuchEntity` or `InvalidLookupAttributesException`.
    pub code: Cow<'static, str>,
    /// The HTTP status.
    pub status: u16,
    pub fault: Fault,
    pub message: String,
}

impl ApiError {
    /// A caller-fault error.
    pub fn sender(
        code: impl Into<Cow<'static, str>>,
        status: u16,
        message: impl Into<String>,
    ) -> Self {
        Self {
            code: code.into(),
            status,
            fault: Fault::Sender,
            message: message.into(),
        }
    }

    /// A service-fault error; the message must never carry internal details.
    pub fn internal() -> Self {
        Self {
            code: Cow::Borrowed("ServiceFailure"),
            status: 500,
            fault: Fault::Receiver,
            message: "The request processing has failed because of an unknown error, exception or failure.".into(),
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for ApiError {}
