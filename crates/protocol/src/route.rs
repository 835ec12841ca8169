//! Which service and protocol a request is for, on a single shared endpoint.
//!
//! Signed requests name their service in the SigV4 credential scope; that is the
//! primary key, since every client signs with the service's signing name even when
//! one endpoint URL serves them all.

use trailguard_model::ServiceId;

/// The wire protocols AWS services speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// Form-encoded requests, XML responses (IAM, STS, Redshift).
    AwsQuery,
    /// JSON in and out, the operation named by `X-Amz-Target: PREFIX.Operation`.
    AwsJson11 { target_prefix: &'static str },
    /// Method and path name the operation; see [`crate::rest`].
    RestJson1,
    /// S3's REST/XML; see [`crate::s3`].
    RestXmlS3,
}

/// The protocol a service speaks.
pub fn protocol(service: ServiceId) -> Protocol {
    match service {
        ServiceId::Iam | ServiceId::Sts | ServiceId::Redshift => Protocol::AwsQuery,
        ServiceId::Lex | ServiceId::Polly | ServiceId::GuardDuty => Protocol::RestJson1,
        ServiceId::S3 => Protocol::RestXmlS3,
        ServiceId::CloudTrail => Protocol::AwsJson11 {
            target_prefix: "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101",
        },
    }
}

/// The XML namespace of a query-protocol service's responses.
pub fn xml_namespace(service: ServiceId) -> &'static str {
    match service {
        ServiceId::Iam => "https://iam.amazonaws.com/doc/2010-05-08/",
        ServiceId::Sts => "https://sts.amazonaws.com/doc/2011-06-15/",
        ServiceId::Redshift => "http://redshift.amazonaws.com/doc/2012-12-01/",
        ServiceId::CloudTrail
        | ServiceId::Lex
        | ServiceId::Polly
        | ServiceId::GuardDuty
        | ServiceId::S3 => "",
    }
}
