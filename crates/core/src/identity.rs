//! The identity schema: the stored documents authentication and authorization
//! read (accounts, users, groups and roles, customer managed policies, access
//! keys, STS sessions) and how they render in API output.
//!
//! It lives in the core because the authorization point and authentication
//! read it on every call; IAM and STS are the services that change it.
//! Users, groups and roles share one [`Entity`] type: they differ in a few fields
//! and in names, and sharing it lets attach/detach/inline/tag operations be
//! written once for all three.

use crate::env::Env;
use crate::error::Result;
use crate::params::Tag;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use time::OffsetDateTime;
use trailguard_model::{Principal, Value};

pub const NS_POLICY: &str = "iam.policy";
pub const NS_PROFILE: &str = "iam.instance_profile";
pub const NS_ACCESS_KEY: &str = "iam.access_key";
pub const NS_AWS_POLICY_USE: &str = "iam.aws_policy_use";
/// Index of access keys by owner: `<account>/<owner>/<key id>`, so a user's keys
/// are a prefix scan rather than a scan of every key.
pub const NS_KEYS_BY_OWNER: &str = "iam.access_key_by_owner";
/// Where and when each access key was last used ([`KeyLastUsed`], by key
/// id): apart from the key, so a key in use never rewrites the document
/// authentication reads (and caches).
pub const NS_KEY_LAST_USED: &str = "iam.access_key_last_used";

/// The owner segment of the key index: the user's lower-cased name, or `%root`
/// (`%` cannot appear in IAM names) for the root user.
fn key_owner(user: Option<&str>) -> String {
    user.map_or_else(|| "%root".to_string(), str::to_lowercase)
}

/// The index prefix of an owner's keys.
pub fn keys_by_owner_prefix(account: &str, user: Option<&str>) -> String {
    format!("{account}/{}/", key_owner(user))
}

/// Where an access key sits in the owner index.
pub fn key_index(k: &AccessKey) -> String {
    format!(
        "{}{}",
        keys_by_owner_prefix(&k.account, k.user.as_deref()),
        k.id
    )
}

/// The case-insensitive storage key of a named entity in an account.
pub fn key(account: &str, name: &str) -> String {
    format!("{account}/{}", name.to_lowercase())
}

/// The prefix of every key in an account.
pub fn account_prefix(account: &str) -> String {
    format!("{account}/")
}

/// Users, groups and roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Kind {
    User,
    Group,
    Role,
}

impl Kind {
    pub const fn ns(self) -> &'static str {
        match self {
            Kind::User => "iam.user",
            Kind::Group => "iam.group",
            Kind::Role => "iam.role",
        }
    }
    /// The unique-id prefix.
    pub fn id_prefix(self) -> &'static str {
        match self {
            Kind::User => "AIDA",
            Kind::Group => "AGPA",
            Kind::Role => "AROA",
        }
    }
    /// The ARN resource type and lower-case noun.
    pub fn noun(self) -> &'static str {
        match self {
            Kind::User => "user",
            Kind::Group => "group",
            Kind::Role => "role",
        }
    }
    /// `User`, `Group`, `Role`: used in member and action names.
    pub fn title(self) -> &'static str {
        match self {
            Kind::User => "User",
            Kind::Group => "Group",
            Kind::Role => "Role",
        }
    }
    /// The name parameter, `UserName` etc.
    pub fn name_param(self) -> &'static str {
        match self {
            Kind::User => "UserName",
            Kind::Group => "GroupName",
            Kind::Role => "RoleName",
        }
    }
    pub fn max_name_len(self) -> usize {
        match self {
            Kind::User | Kind::Role => 64,
            Kind::Group => 128,
        }
    }
    /// Total size of inline policies allowed, not counting white space.
    pub fn inline_quota(self) -> usize {
        match self {
            Kind::User => 2048,
            Kind::Group => 5120,
            Kind::Role => 10240,
        }
    }
    pub fn not_found(self, name: &str) -> String {
        format!("The {} with name {name} cannot be found.", self.noun())
    }
    pub fn arn(self, account: &str, path: &str, name: &str) -> String {
        format!("arn:aws:iam::{account}:{}{path}{name}", self.noun())
    }
}

/// When and where a role was last used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastUsed {
    #[serde(with = "time::serde::rfc3339")]
    pub date: OffsetDateTime,
    pub region: String,
}

/// A user, group or role.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entity {
    pub kind: Kind,
    pub name: String,
    pub id: String,
    pub arn: String,
    pub path: String,
    #[serde(with = "time::serde::rfc3339")]
    pub create_date: OffsetDateTime,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<Tag>,
    /// Attached managed policy ARNs, in attachment order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attached: Vec<String>,
    /// Inline policies by name, documents as sent.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub inline: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions_boundary: Option<String>,
    /// Users: the groups they belong to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    /// Groups: their members.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<String>,
    /// Roles: the trust policy as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assume_role_policy: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_session_duration: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used: Option<LastUsed>,
    /// Roles: the unique ids of the users and roles the trust policy names, by ARN.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub trust_pins: BTreeMap<String, String>,
    /// Roles: instance profiles that contain them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub instance_profiles: Vec<String>,
    /// Roles: the service principal this role is linked to. Set only when the
    /// service-linked role path (`iam::slr::create`) makes the role, never from
    /// request input, so it, not the path or the name, is what makes a role
    /// service-linked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linked_service: Option<String>,
}

/// IAM returns policy documents URL-encoded.
pub fn encode_document(doc: &str) -> String {
    const KEEP: &percent_encoding::AsciiSet = &NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~');
    utf8_percent_encode(doc, KEEP).to_string()
}

pub fn tags_value(tags: &[Tag]) -> Value {
    Value::List(
        tags.iter()
            .map(|t| {
                Value::structure()
                    .with("Key", &t.key)
                    .with("Value", &t.value)
            })
            .collect(),
    )
}

fn boundary_value(arn: &Option<String>) -> Value {
    match arn {
        None => Value::Null,
        Some(arn) => Value::structure()
            .with("PermissionsBoundaryType", "PermissionsBoundaryPolicy")
            .with("PermissionsBoundaryArn", arn),
    }
}

/// Which optional members a rendering includes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detail {
    /// List operations: no tags, no last-used.
    Summary,
    /// Get operations: everything.
    Full,
}

impl Entity {
    /// Renders as IAM's `User`, `Group` or `Role` structure.
    pub fn to_value(&self, detail: Detail) -> Value {
        let name_member = self.kind.name_param();
        let id_member = format!("{}Id", self.kind.title());
        let mut v = Value::structure()
            .with("Path", &self.path)
            .with(name_member, &self.name)
            .with(&id_member, &self.id)
            .with("Arn", &self.arn)
            .with("CreateDate", self.create_date);
        if self.kind == Kind::Role {
            v = v
                .with(
                    "AssumeRolePolicyDocument",
                    self.assume_role_policy.as_deref().map(encode_document),
                )
                .with("Description", self.description.clone())
                .with("MaxSessionDuration", self.max_session_duration);
        }
        if self.kind != Kind::Group {
            v = v.with(
                "PermissionsBoundary",
                boundary_value(&self.permissions_boundary),
            );
        }
        if detail == Detail::Full && self.kind != Kind::Group && !self.tags.is_empty() {
            v = v.with("Tags", tags_value(&self.tags));
        }
        if detail == Detail::Full && self.kind == Kind::Role {
            let last = match &self.last_used {
                None => Value::structure(),
                Some(l) => Value::structure()
                    .with("LastUsedDate", l.date)
                    .with("Region", &l.region),
            };
            v = v.with("RoleLastUsed", last);
        }
        v
    }
}

/// One version of a customer managed policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyVersion {
    pub version_id: String,
    pub document: String,
    #[serde(with = "time::serde::rfc3339")]
    pub create_date: OffsetDateTime,
}

/// A customer managed policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomerPolicy {
    pub name: String,
    pub id: String,
    pub arn: String,
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub create_date: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub update_date: OffsetDateTime,
    pub default_version_id: String,
    pub versions: Vec<PolicyVersion>,
    /// The next version number to hand out (`v{n}`); never reused.
    pub next_version: u32,
    pub attachment_count: i64,
    #[serde(default)]
    pub boundary_usage_count: i64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<Tag>,
}

/// An access key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessKey {
    pub id: String,
    pub account: String,
    /// The owning user; `None` for the root user's keys.
    pub user: Option<String>,
    pub secret: trailguard_model::Secret,
    pub active: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub create_date: OffsetDateTime,
    /// Last use as stored before it moved to [`NS_KEY_LAST_USED`]; read
    /// only where that has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used: Option<KeyLastUsed>,
}

/// Where and when an access key was last used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyLastUsed {
    #[serde(with = "time::serde::rfc3339")]
    pub date: OffsetDateTime,
    pub service: String,
    pub region: String,
}

/// An instance profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceProfile {
    pub name: String,
    pub id: String,
    pub arn: String,
    pub path: String,
    #[serde(with = "time::serde::rfc3339")]
    pub create_date: OffsetDateTime,
    /// Role names (at most one, as in AWS).
    #[serde(default)]
    pub roles: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<Tag>,
}

/// Counts policy characters as IAM does: white space is not counted.
pub fn policy_size(doc: &str) -> usize {
    doc.chars().filter(|c| !c.is_whitespace()).count()
}

pub const NS_SESSION: &str = "sts.session";

/// Who a session stands for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SessionPrincipal {
    Role {
        role_name: String,
        role_id: String,
        role_arn: String,
        session_name: String,
    },
    User {
        name: String,
        id: String,
        arn: String,
    },
    Root,
}

/// A set of temporary credentials.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub access_key_id: String,
    pub secret: trailguard_model::Secret,
    pub token: trailguard_model::Secret,
    pub account: String,
    pub principal: SessionPrincipal,
    #[serde(with = "time::serde::rfc3339")]
    pub issued: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub expires: OffsetDateTime,
    /// Session policies: inline documents and managed policy ARNs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policies: Vec<String>,
}

impl Session {
    /// The principal the session authenticates as.
    pub fn to_principal(&self) -> Principal {
        match &self.principal {
            SessionPrincipal::Role {
                role_name,
                role_id,
                role_arn,
                session_name,
            } => Principal::AssumedRole {
                account_id: self.account.clone(),
                role_name: role_name.clone(),
                role_id: role_id.clone(),
                role_arn: role_arn.clone(),
                session_name: session_name.clone(),
            },
            SessionPrincipal::User { name, id, arn } => Principal::User {
                account_id: self.account.clone(),
                name: name.clone(),
                id: id.clone(),
                arn: arn.clone(),
            },
            SessionPrincipal::Root => Principal::Root {
                account_id: self.account.clone(),
            },
        }
    }
}

/// Accounts this server holds: the default one (made by the first start) and
/// those made with `trailguard account create`.
pub const NS_ACCOUNT: &str = "account";
/// The key of the default account's document in [`NS_ACCOUNT`].
pub const DEFAULT_ACCOUNT_KEY: &str = "default";

/// What the data directory remembers of its default account: which account it
/// is and which root key its first start made. Never the secret: the key
/// itself is the only copy, so deleting it deletes it. (Documents written
/// before this also held the secret; the next start rewrites them without.)
#[derive(Serialize, Deserialize)]
pub struct DefaultAccount {
    pub account_id: String,
    pub access_key_id: String,
}

/// Whether this server holds `account` (the default account or one made with
/// `trailguard account create`).
pub fn account_exists(env: &mut Env<'_>, account: &str) -> Result<bool> {
    if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(false);
    }
    if env.tx.get(NS_ACCOUNT, account)?.is_some() {
        return Ok(true);
    }
    let default: Option<DefaultAccount> = env.get(NS_ACCOUNT, DEFAULT_ACCOUNT_KEY)?;
    Ok(default.is_some_and(|d| d.account_id == account))
}
