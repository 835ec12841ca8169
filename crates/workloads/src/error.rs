//! The error codes of Redshift, Lex and Polly, one enum each, and how each
//! reaches the wire.

use std::fmt;

use trailguard_core::error::ServiceError;
use trailguard_model::{ApiError, Fault};

/// A Redshift error, named after its AWS code.
#[derive(Debug)]
pub enum RedshiftError {
    ClusterAlreadyExists(String),
    ClusterNotFound(String),
    InvalidParameterValue(String),
    InvalidParameterCombination(String),
}

impl std::error::Error for RedshiftError {}

impl fmt::Display for RedshiftError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.shape().2)
    }
}

impl ServiceError for RedshiftError {
    fn code(&self) -> &'static str {
        self.shape().0
    }

    fn status(&self) -> u16 {
        self.shape().1
    }
}

impl RedshiftError {
    /// Code, status and message, in the one match.
    fn shape(&self) -> (&'static str, u16, &str) {
        match self {
            RedshiftError::ClusterAlreadyExists(m) => ("ClusterAlreadyExists", 400, m),
            RedshiftError::ClusterNotFound(m) => ("ClusterNotFound", 404, m),
            RedshiftError::InvalidParameterValue(m) => ("InvalidParameterValue", 400, m),
            RedshiftError::InvalidParameterCombination(m) => {
                ("InvalidParameterCombination", 400, m)
            }
        }
    }
}

/// A Lex error, named after its AWS code (without `Exception`).
#[derive(Debug)]
pub enum LexError {
    NotFound(String),
    BadRequest(String),
    PreconditionFailed(String),
    ResourceInUse(String),
    DependencyFailed(String),
    NotAcceptable(String),
    UnsupportedMediaType(String),
}

impl std::error::Error for LexError {}

impl fmt::Display for LexError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.shape().2)
    }
}

impl ServiceError for LexError {
    fn code(&self) -> &'static str {
        self.shape().0
    }

    fn status(&self) -> u16 {
        self.shape().1
    }
}

impl LexError {
    /// Code, status and message, in the one match.
    fn shape(&self) -> (&'static str, u16, &str) {
        match self {
            LexError::NotFound(m) => ("NotFoundException", 404, m),
            LexError::BadRequest(m) => ("BadRequestException", 400, m),
            LexError::PreconditionFailed(m) => ("PreconditionFailedException", 412, m),
            LexError::ResourceInUse(m) => ("ResourceInUseException", 400, m),
            LexError::DependencyFailed(m) => ("DependencyFailedException", 424, m),
            LexError::NotAcceptable(m) => ("NotAcceptableException", 406, m),
            LexError::UnsupportedMediaType(m) => ("UnsupportedMediaTypeException", 415, m),
        }
    }
}

/// A Polly error, named after its AWS code (without `Exception`).
#[derive(Debug)]
pub enum PollyError {
    Validation(String),
    TextLengthExceeded(String),
    InvalidSsml(String),
    InvalidSampleRate(String),
    MarksNotSupportedForFormat(String),
    EngineNotSupported(String),
    LanguageNotSupported(String),
    InvalidNextToken(String),
    /// Polly could not synthesize (the speech engine is missing or failed).
    ServiceFailure(String),
}

impl std::error::Error for PollyError {}

impl fmt::Display for PollyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.shape().2)
    }
}

impl ServiceError for PollyError {
    fn code(&self) -> &'static str {
        self.shape().0
    }

    fn status(&self) -> u16 {
        self.shape().1
    }

    fn to_api(&self) -> ApiError {
        let mut api = ApiError::sender(self.code(), self.status(), self.to_string());
        if let PollyError::ServiceFailure(_) = self {
            // A server fault, but its cause (a missing speech engine) is the
            // operator's to fix, so the message is sent.
            api.fault = Fault::Receiver;
        }
        api
    }
}

impl PollyError {
    /// Code, status and message, in the one match.
    fn shape(&self) -> (&'static str, u16, &str) {
        match self {
            PollyError::Validation(m) => ("ValidationException", 400, m),
            PollyError::TextLengthExceeded(m) => ("TextLengthExceededException", 400, m),
            PollyError::InvalidSsml(m) => ("InvalidSsmlException", 400, m),
            PollyError::InvalidSampleRate(m) => ("InvalidSampleRateException", 400, m),
            PollyError::MarksNotSupportedForFormat(m) => {
                ("MarksNotSupportedForFormatException", 400, m)
            }
            PollyError::EngineNotSupported(m) => ("EngineNotSupportedException", 400, m),
            PollyError::LanguageNotSupported(m) => ("LanguageNotSupportedException", 400, m),
            PollyError::InvalidNextToken(m) => ("InvalidNextTokenException", 400, m),
            PollyError::ServiceFailure(m) => ("ServiceFailureException", 500, m),
        }
    }
}
