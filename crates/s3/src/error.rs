//! S3's own error codes, and how each reaches the wire. `AccessDenied` is the
//! core's, which authorization raises for every service.

use std::fmt;

use trailguard_core::error::ServiceError;
use trailguard_model::ApiError;

/// An S3 error, named after its AWS code.
#[derive(Debug)]
pub enum S3Error {
    NoSuchBucket(String),
    NoSuchKey(String),
    InvalidBucketName(String),
    BucketAlreadyExists(String),
    BucketAlreadyOwnedByYou(String),
    BucketNotEmpty(String),
    NoSuchBucketPolicy(String),
    MalformedPolicy(String),
    InvalidArgument(String),
    KeyTooLongError(String),
    InvalidLocationConstraint(String),
    IllegalLocationConstraint(String),
    /// A request signed for a region that is not the bucket's.
    AuthorizationHeaderMalformed {
        signed: String,
        expected: String,
    },
}

impl std::error::Error for S3Error {}

impl fmt::Display for S3Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            S3Error::AuthorizationHeaderMalformed { signed, expected } => write!(
                f,
                "The authorization header is malformed; the region '{signed}' is wrong; expecting '{expected}'"
            ),
            other => f.write_str(other.shape().2),
        }
    }
}

impl ServiceError for S3Error {
    fn code(&self) -> &'static str {
        self.shape().0
    }

    fn status(&self) -> u16 {
        self.shape().1
    }

    fn to_api(&self) -> ApiError {
        let api = ApiError::sender(self.code(), self.status(), self.to_string());
        match self {
            // The bucket's region, which clients follow (botocore re-signs for it).
            S3Error::AuthorizationHeaderMalformed { expected, .. } => {
                api.with_extra("Region", expected.clone())
            }
            _ => api,
        }
    }
}

impl S3Error {
    /// Code, status and message, in the one match (the message of
    /// `AuthorizationHeaderMalformed` is composed by `Display`).
    fn shape(&self) -> (&'static str, u16, &str) {
        match self {
            S3Error::NoSuchBucket(m) => ("NoSuchBucket", 404, m),
            S3Error::NoSuchKey(m) => ("NoSuchKey", 404, m),
            S3Error::InvalidBucketName(m) => ("InvalidBucketName", 400, m),
            S3Error::BucketAlreadyExists(m) => ("BucketAlreadyExists", 409, m),
            S3Error::BucketAlreadyOwnedByYou(m) => ("BucketAlreadyOwnedByYou", 409, m),
            S3Error::BucketNotEmpty(m) => ("BucketNotEmpty", 409, m),
            S3Error::NoSuchBucketPolicy(m) => ("NoSuchBucketPolicy", 404, m),
            S3Error::MalformedPolicy(m) => ("MalformedPolicy", 400, m),
            S3Error::InvalidArgument(m) => ("InvalidArgument", 400, m),
            S3Error::KeyTooLongError(m) => ("KeyTooLongError", 400, m),
            S3Error::InvalidLocationConstraint(m) => ("InvalidLocationConstraint", 400, m),
            S3Error::IllegalLocationConstraint(m) => ("IllegalLocationConstraintException", 400, m),
            S3Error::AuthorizationHeaderMalformed { .. } => {
                ("AuthorizationHeaderMalformed", 400, "")
            }
        }
    }
}
