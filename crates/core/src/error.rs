//! The errors every service shares, and the door through which each service's
//! own errors reach the client.
//!
//! The core raises only what it raises itself (authorization, authentication,
//! input checks in [`crate::params`], throttling, prepared work, storage). Each
//! service keeps its AWS error codes in an enum of its own, in its crate's
//! `error.rs`, and maps it to the wire there ([`ServiceError`]): one enum for
//! eight services grew clashing names (two `InvalidParameter`s) and made every
//! new code a change to the core, which must not know which services exist.
//! [`Error::into_api`] is the one place an internal failure is logged.

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
    // Service errors on their way to their services' own enums.
    #[error("{0}")]
    NoSuchEntity(String),
    #[error("{0}")]
    EntityAlreadyExists(String),
    #[error("{0}")]
    DeleteConflict(String),
    #[error("{0}")]
    LimitExceeded(String),
    #[error("{0}")]
    MalformedPolicyDocument(String),
    #[error("{0}")]
    UnmodifiableEntity(String),
    #[error("{0}")]
    PackedPolicyTooLarge(String),
    #[error("{0}")]
    ClusterAlreadyExists(String),
    #[error("{0}")]
    ClusterNotFound(String),
    #[error("{0}")]
    InvalidParameterValue(String),
    #[error("{0}")]
    InvalidParameterCombination(String),
    #[error("{0}")]
    InvalidLookupAttributes(String),
    #[error("{0}")]
    InvalidTimeRange(String),
    #[error("{0}")]
    InvalidMaxResults(String),
    #[error("{0}")]
    InvalidNextToken(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    PreconditionFailed(String),
    #[error("{0}")]
    ResourceInUse(String),
    #[error("{0}")]
    DependencyFailed(String),
    #[error("{0}")]
    NotAcceptable(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{0}")]
    ValidationException(String),
    #[error("{0}")]
    TextLengthExceeded(String),
    #[error("{0}")]
    InvalidSsml(String),
    #[error("{0}")]
    InvalidSampleRate(String),
    #[error("{0}")]
    MarksNotSupportedForFormat(String),
    #[error("{0}")]
    EngineNotSupported(String),
    #[error("{0}")]
    LanguageNotSupported(String),
    #[error("{0}")]
    SynthesisFailure(String),
    #[error("{0}")]
    NoSuchBucket(String),
    #[error("{0}")]
    NoSuchKey(String),
    #[error("{0}")]
    InvalidBucketName(String),
    #[error("{0}")]
    BucketAlreadyExists(String),
    #[error("{0}")]
    BucketAlreadyOwnedByYou(String),
    #[error("{0}")]
    BucketNotEmpty(String),
    #[error("{0}")]
    NoSuchBucketPolicy(String),
    #[error("{0}")]
    MalformedPolicy(String),
    #[error("{0}")]
    InvalidArgument(String),
    #[error("{0}")]
    KeyTooLongError(String),
    #[error("{0}")]
    InvalidLocationConstraint(String),
    #[error("{0}")]
    IllegalLocationConstraint(String),
    #[error(
        "The authorization header is malformed; the region '{signed}' is wrong; expecting '{expected}'"
    )]
    AuthorizationHeaderMalformed { signed: String, expected: String },
    #[error("{0}")]
    TrailAlreadyExists(String),
    #[error("{0}")]
    TrailNotFound(String),
    #[error("{0}")]
    InvalidTrailName(String),
    #[error("{0}")]
    S3BucketDoesNotExist(String),
    #[error("{0}")]
    InsufficientS3BucketPolicy(String),
    #[error("{0}")]
    InvalidEventSelectors(String),
    #[error("{0}")]
    InvalidParameterCloudTrail(String),
    #[error("{0}")]
    InvalidS3Prefix(String),
    #[error("{0}")]
    InvalidHomeRegion(String),
    #[error("{0}")]
    ResourceNotFound(String),
    #[error("{0}")]
    InvalidTag(String),
    #[error("{0}")]
    TagsLimitExceeded(String),
    #[error("{0}")]
    InvalidParameterCombinationCloudTrail(String),
    #[error("{0}")]
    InvalidKmsKeyId(String),
    /// IAM's code for bad input, which the core's tag checks also raise.
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
            Error::NoSuchEntity(_) => ("NoSuchEntity", 404),
            Error::EntityAlreadyExists(_) => ("EntityAlreadyExists", 409),
            Error::DeleteConflict(_) => ("DeleteConflict", 409),
            Error::LimitExceeded(_) => ("LimitExceeded", 409),
            Error::MalformedPolicyDocument(_) => ("MalformedPolicyDocument", 400),
            Error::UnmodifiableEntity(_) => ("UnmodifiableEntity", 400),
            Error::PackedPolicyTooLarge(_) => ("PackedPolicyTooLarge", 400),
            Error::ClusterAlreadyExists(_) => ("ClusterAlreadyExists", 400),
            Error::ClusterNotFound(_) => ("ClusterNotFound", 404),
            Error::InvalidParameterValue(_) => ("InvalidParameterValue", 400),
            Error::InvalidParameterCombination(_) => ("InvalidParameterCombination", 400),
            Error::InvalidLookupAttributes(_) => ("InvalidLookupAttributesException", 400),
            Error::InvalidTimeRange(_) => ("InvalidTimeRangeException", 400),
            Error::InvalidMaxResults(_) => ("InvalidMaxResultsException", 400),
            Error::InvalidNextToken(_) => ("InvalidNextTokenException", 400),
            Error::NotFound(_) => ("NotFoundException", 404),
            Error::BadRequest(_) => ("BadRequestException", 400),
            Error::Conflict(_) => ("ConflictException", 409),
            Error::PreconditionFailed(_) => ("PreconditionFailedException", 412),
            Error::ResourceInUse(_) => ("ResourceInUseException", 400),
            Error::DependencyFailed(_) => ("DependencyFailedException", 424),
            Error::NotAcceptable(_) => ("NotAcceptableException", 406),
            Error::UnsupportedMediaType(_) => ("UnsupportedMediaTypeException", 415),
            Error::ValidationException(_) => ("ValidationException", 400),
            Error::TextLengthExceeded(_) => ("TextLengthExceededException", 400),
            Error::InvalidSsml(_) => ("InvalidSsmlException", 400),
            Error::InvalidSampleRate(_) => ("InvalidSampleRateException", 400),
            Error::MarksNotSupportedForFormat(_) => ("MarksNotSupportedForFormatException", 400),
            Error::EngineNotSupported(_) => ("EngineNotSupportedException", 400),
            Error::LanguageNotSupported(_) => ("LanguageNotSupportedException", 400),
            Error::NoSuchBucket(_) => ("NoSuchBucket", 404),
            Error::NoSuchKey(_) => ("NoSuchKey", 404),
            Error::InvalidBucketName(_) => ("InvalidBucketName", 400),
            Error::BucketAlreadyExists(_) => ("BucketAlreadyExists", 409),
            Error::BucketAlreadyOwnedByYou(_) => ("BucketAlreadyOwnedByYou", 409),
            Error::BucketNotEmpty(_) => ("BucketNotEmpty", 409),
            Error::NoSuchBucketPolicy(_) => ("NoSuchBucketPolicy", 404),
            Error::MalformedPolicy(_) => ("MalformedPolicy", 400),
            Error::InvalidArgument(_) => ("InvalidArgument", 400),
            Error::KeyTooLongError(_) => ("KeyTooLongError", 400),
            Error::InvalidLocationConstraint(_) => ("InvalidLocationConstraint", 400),
            Error::IllegalLocationConstraint(_) => ("IllegalLocationConstraintException", 400),
            Error::AuthorizationHeaderMalformed { expected, .. } => {
                // The bucket's region, which clients follow (botocore re-signs for it).
                return ApiError::sender("AuthorizationHeaderMalformed", 400, self.to_string())
                    .with_extra("Region", expected.clone());
            }
            Error::TrailAlreadyExists(_) => ("TrailAlreadyExistsException", 400),
            Error::TrailNotFound(_) => ("TrailNotFoundException", 400),
            Error::InvalidTrailName(_) => ("InvalidTrailNameException", 400),
            Error::S3BucketDoesNotExist(_) => ("S3BucketDoesNotExistException", 400),
            Error::InsufficientS3BucketPolicy(_) => ("InsufficientS3BucketPolicyException", 400),
            Error::InvalidEventSelectors(_) => ("InvalidEventSelectorsException", 400),
            Error::InvalidParameterCloudTrail(_) => ("InvalidParameterException", 400),
            Error::InvalidS3Prefix(_) => ("InvalidS3PrefixException", 400),
            Error::InvalidHomeRegion(_) => ("InvalidHomeRegionException", 400),
            Error::ResourceNotFound(_) => ("ResourceNotFoundException", 400),
            Error::InvalidTag(_) => ("InvalidTagParameterException", 400),
            Error::TagsLimitExceeded(_) => ("TagsLimitExceededException", 400),
            Error::InvalidParameterCombinationCloudTrail(_) => {
                ("InvalidParameterCombinationException", 400)
            }
            Error::InvalidKmsKeyId(_) => ("InvalidKmsKeyIdException", 400),
            Error::SynthesisFailure(_) => {
                // A server fault, but its cause (a missing speech engine) is the
                // operator's to fix, so the message is sent.
                let mut e = ApiError::sender("ServiceFailureException", 500, self.to_string());
                e.fault = trailguard_model::Fault::Receiver;
                return e;
            }
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
