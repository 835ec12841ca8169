//! The AWS services trailguard serves.

/// A service, named as clients sign for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServiceId {
    Iam,
    Sts,
    Redshift,
    CloudTrail,
    /// Amazon Lex V1: model building and runtime share the signing name `lex`.
    Lex,
    Polly,
    GuardDuty,
    S3,
}

impl ServiceId {
    /// Maps a SigV4 signing name to a service.
    pub fn from_signing_name(name: &str) -> Option<Self> {
        match name {
            "iam" => Some(ServiceId::Iam),
            "sts" => Some(ServiceId::Sts),
            "redshift" => Some(ServiceId::Redshift),
            "cloudtrail" => Some(ServiceId::CloudTrail),
            "lex" => Some(ServiceId::Lex),
            "polly" => Some(ServiceId::Polly),
            "guardduty" => Some(ServiceId::GuardDuty),
            "s3" => Some(ServiceId::S3),
            _ => None,
        }
    }

    /// The SigV4 signing name, also the IAM action prefix.
    pub fn signing_name(self) -> &'static str {
        match self {
            ServiceId::Iam => "iam",
            ServiceId::Sts => "sts",
            ServiceId::Redshift => "redshift",
            ServiceId::CloudTrail => "cloudtrail",
            ServiceId::Lex => "lex",
            ServiceId::Polly => "polly",
            ServiceId::GuardDuty => "guardduty",
            ServiceId::S3 => "s3",
        }
    }

    /// A global service answers in every region and records in us-east-1.
    pub fn is_global(self) -> bool {
        matches!(self, ServiceId::Iam)
    }

    /// CloudTrail's `eventSource`.
    pub fn event_source(self) -> &'static str {
        match self {
            ServiceId::Iam => "iam.amazonaws.com",
            ServiceId::Sts => "sts.amazonaws.com",
            ServiceId::Redshift => "redshift.amazonaws.com",
            ServiceId::CloudTrail => "cloudtrail.amazonaws.com",
            ServiceId::Lex => "lex.amazonaws.com",
            ServiceId::Polly => "polly.amazonaws.com",
            ServiceId::GuardDuty => "guardduty.amazonaws.com",
            ServiceId::S3 => "s3.amazonaws.com",
        }
    }
}
