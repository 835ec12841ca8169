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
    /// Further members of the error document, after the message, for the
    /// protocols whose errors carry them (S3's `<Region>` for a request signed
    /// for the wrong region, which clients follow to the bucket's region).
    pub extra: Vec<(&'static str, String)>,
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
            extra: Vec::new(),
        }
    }

    /// The same error with a further member of its document (see [`ApiError::extra`]).
    #[must_use]
    pub fn with_extra(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.extra.push((name, value.into()));
        self
    }

    /// A service-fault error; the message must never carry internal details.
    pub fn internal() -> Self {
        Self {
            code: Cow::Borrowed("ServiceFailure"),
            status: 500,
            fault: Fault::Receiver,
            message: "The request processing has failed because of an unknown error, exception or failure.".into(),
            extra: Vec::new(),
        }
    }
}

/// Most characters of client input an error message quotes. Messages name the
/// offending value, as AWS's do, but never echo more of it than this: a message
/// is sent back, logged and stored in the audit record.
pub const MAX_QUOTED: usize = 256;

/// Client input as an error message quotes it: whole when at most
/// [`MAX_QUOTED`] characters, otherwise its first [`MAX_QUOTED`] characters and `...`.
pub fn quote(input: &str) -> Cow<'_, str> {
    match input.char_indices().nth(MAX_QUOTED) {
        None => Cow::Borrowed(input),
        Some((cut, _)) => Cow::Owned(format!("{}...", input.get(..cut).unwrap_or_default())),
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for ApiError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_are_bounded_on_character_boundaries() {
        assert_eq!(quote("bob"), "bob");
        let long = "é".repeat(MAX_QUOTED + 10);
        let q = quote(&long);
        assert_eq!(q.chars().count(), MAX_QUOTED + 3);
        assert!(q.ends_with("..."));
        assert_eq!(quote(&"a".repeat(MAX_QUOTED)).len(), MAX_QUOTED);
    }
}
