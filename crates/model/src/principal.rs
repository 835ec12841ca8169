//! Who is calling: the authenticated principal behind a request.

use time::OffsetDateTime;

/// The identity a request was authenticated as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// The account's root user.
    Root { account_id: String },
    /// An IAM user.
    User {
        account_id: String,
        name: String,
        id: String,
        arn: String,
    },
    /// A session of an assumed role (`arn:aws:sts::ACCT:assumed-role/ROLE/SESSION`).
    AssumedRole {
        account_id: String,
        role_name: String,
        role_id: String,
        role_arn: String,
        session_name: String,
    },
    /// An AWS service acting as itself (for example assuming its service-linked role).
    Service { service: String },
}

impl Principal {
    /// The account the principal belongs to (empty for a service principal).
    pub fn account_id(&self) -> &str {
        match self {
            Principal::Root { account_id }
            | Principal::User { account_id, .. }
            | Principal::AssumedRole { account_id, .. } => account_id,
            Principal::Service { .. } => "",
        }
    }

    /// The principal's ARN as AWS reports it in `GetCallerIdentity` and denial messages.
    pub fn arn(&self) -> String {
        match self {
            Principal::Root { account_id } => format!("arn:aws:iam::{account_id}:root"),
            Principal::User { arn, .. } => arn.clone(),
            Principal::AssumedRole {
                account_id,
                role_name,
                session_name,
                ..
            } => format!("arn:aws:sts::{account_id}:assumed-role/{role_name}/{session_name}"),
            Principal::Service { service } => service.clone(),
        }
    }

    /// The `UserId` of `GetCallerIdentity` and `principalId` of CloudTrail.
    pub fn principal_id(&self) -> String {
        match self {
            Principal::Root { account_id } => account_id.clone(),
            Principal::User { id, .. } => id.clone(),
            Principal::AssumedRole {
                role_id,
                session_name,
                ..
            } => format!("{role_id}:{session_name}"),
            Principal::Service { service } => service.clone(),
        }
    }

    /// The value of `aws:PrincipalType`.
    pub fn principal_type(&self) -> &'static str {
        match self {
            Principal::Root { .. } => "Account",
            Principal::User { .. } => "User",
            Principal::AssumedRole { .. } => "AssumedRole",
            Principal::Service { .. } => "AWSService",
        }
    }
}

/// Session facts for callers using temporary credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    /// When the credentials were issued (`aws:TokenIssueTime`).
    pub issued_at: OffsetDateTime,
    /// When they stop working.
    pub expires_at: OffsetDateTime,
    /// Whether MFA was used to obtain them.
    pub mfa_authenticated: bool,
}

/// An authenticated caller: the principal, the key it signed with and, for
/// temporary credentials, the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub principal: Principal,
    /// The access key id that signed the request (empty for service principals).
    pub access_key_id: String,
    pub session: Option<SessionInfo>,
    /// Set when an AWS service made the call (CloudTrail's `invokedBy`).
    pub invoked_by: Option<String>,
}

impl Caller {
    /// A caller signing with long-term credentials.
    pub fn long_term(principal: Principal, access_key_id: impl Into<String>) -> Self {
        Self {
            principal,
            access_key_id: access_key_id.into(),
            session: None,
            invoked_by: None,
        }
    }
}
