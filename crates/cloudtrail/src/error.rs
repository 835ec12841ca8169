//! CloudTrail's own error codes, and how each reaches the wire.

use std::fmt;

use trailguard_core::error::ServiceError;

/// A CloudTrail error, named after its AWS code (without `Exception`).
#[derive(Debug)]
pub enum CloudTrailError {
    TrailAlreadyExists(String),
    TrailNotFound(String),
    InvalidTrailName(String),
    S3BucketDoesNotExist(String),
    InsufficientS3BucketPolicy(String),
    InvalidEventSelectors(String),
    InvalidParameter(String),
    InvalidParameterCombination(String),
    InvalidS3Prefix(String),
    InvalidHomeRegion(String),
    ResourceNotFound(String),
    InvalidTagParameter(String),
    TagsLimitExceeded(String),
    InvalidLookupAttributes(String),
    InvalidTimeRange(String),
    InvalidMaxResults(String),
    InvalidNextToken(String),
}

impl std::error::Error for CloudTrailError {}

impl fmt::Display for CloudTrailError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.shape().2)
    }
}

impl ServiceError for CloudTrailError {
    fn code(&self) -> &'static str {
        self.shape().0
    }

    fn status(&self) -> u16 {
        self.shape().1
    }
}

impl CloudTrailError {
    /// Code, status and message, in the one match.
    fn shape(&self) -> (&'static str, u16, &str) {
        match self {
            CloudTrailError::TrailAlreadyExists(m) => ("TrailAlreadyExistsException", 400, m),
            CloudTrailError::TrailNotFound(m) => ("TrailNotFoundException", 400, m),
            CloudTrailError::InvalidTrailName(m) => ("InvalidTrailNameException", 400, m),
            CloudTrailError::S3BucketDoesNotExist(m) => ("S3BucketDoesNotExistException", 400, m),
            CloudTrailError::InsufficientS3BucketPolicy(m) => {
                ("InsufficientS3BucketPolicyException", 400, m)
            }
            CloudTrailError::InvalidEventSelectors(m) => ("InvalidEventSelectorsException", 400, m),
            CloudTrailError::InvalidParameter(m) => ("InvalidParameterException", 400, m),
            CloudTrailError::InvalidParameterCombination(m) => {
                ("InvalidParameterCombinationException", 400, m)
            }
            CloudTrailError::InvalidS3Prefix(m) => ("InvalidS3PrefixException", 400, m),
            CloudTrailError::InvalidHomeRegion(m) => ("InvalidHomeRegionException", 400, m),
            CloudTrailError::ResourceNotFound(m) => ("ResourceNotFoundException", 400, m),
            CloudTrailError::InvalidTagParameter(m) => ("InvalidTagParameterException", 400, m),
            CloudTrailError::TagsLimitExceeded(m) => ("TagsLimitExceededException", 400, m),
            CloudTrailError::InvalidLookupAttributes(m) => {
                ("InvalidLookupAttributesException", 400, m)
            }
            CloudTrailError::InvalidTimeRange(m) => ("InvalidTimeRangeException", 400, m),
            CloudTrailError::InvalidMaxResults(m) => ("InvalidMaxResultsException", 400, m),
            CloudTrailError::InvalidNextToken(m) => ("InvalidNextTokenException", 400, m),
        }
    }
}
