//! IAM: users, groups, roles, managed and inline policies, access keys, tags and
//! instance profiles, with AWS's names, ids, limits and errors.
//!
//! Each operation is one entry in [`OPERATIONS`], declaring its IAM action (its
//! name), the resource it acts on and whether it only reads, next to its handler.
//! STS ([`sts`]) lives here too: its sessions are roles' and users' credentials.
//! The documents both change are the core's identity schema
//! (`trailguard_core::identity`), which authorization reads on every call.

pub mod accounts;
pub mod error;
pub mod keys;
pub mod linked;
mod policies;
mod principals;
mod profiles;
mod simulate;
pub mod slr;
pub mod sts;
mod trust;

pub use trailguard_core::identity as entities;

use base64::Engine as _;
use entities::{Entity, Kind, key};
use std::sync::Arc;
use trailguard_core::env::Env;
use trailguard_core::error::{Error, Result};
use trailguard_core::module::{BackgroundJob, Moment, Quiet, ServiceModule};
use trailguard_core::ops::Operation;
use trailguard_core::params::Params;
use trailguard_core::{Services, log_internal};
use trailguard_model::wire::Protocol;
use trailguard_model::{ApiError, Principal, ServiceDef, Value};

/// Every IAM operation trailguard serves.
pub const OPERATIONS: &[Operation] = &[
    // Users, groups and roles.
    Operation::write(
        "CreateUser",
        |e, p| created_res(e, p, Kind::User),
        principals::create_user,
    ),
    Operation::read("GetUser", self_or_named_res, principals::get_user),
    Operation::read(
        "ListUsers",
        |e, _| Ok(list_res(e, "user")),
        principals::list_users,
    ),
    Operation::write(
        "UpdateUser",
        |e, p| named_res(e, p, Kind::User),
        principals::update_user,
    )
    .also_on(|e, p| rename_target_res(e, p, Kind::User)),
    Operation::write(
        "DeleteUser",
        |e, p| named_res(e, p, Kind::User),
        principals::delete_user,
    ),
    Operation::write(
        "CreateGroup",
        |e, p| created_res(e, p, Kind::Group),
        principals::create_group,
    ),
    Operation::read(
        "GetGroup",
        |e, p| named_res(e, p, Kind::Group),
        principals::get_group,
    ),
    Operation::read(
        "ListGroups",
        |e, _| Ok(list_res(e, "group")),
        principals::list_groups,
    ),
    Operation::write(
        "UpdateGroup",
        |e, p| named_res(e, p, Kind::Group),
        principals::update_group,
    )
    .also_on(|e, p| rename_target_res(e, p, Kind::Group)),
    Operation::write(
        "DeleteGroup",
        |e, p| named_res(e, p, Kind::Group),
        principals::delete_group,
    ),
    Operation::write(
        "AddUserToGroup",
        |e, p| named_res(e, p, Kind::Group),
        principals::add_user_to_group,
    ),
    Operation::write(
        "RemoveUserFromGroup",
        |e, p| named_res(e, p, Kind::Group),
        principals::remove_user_from_group,
    ),
    Operation::read(
        "ListGroupsForUser",
        |e, p| named_res(e, p, Kind::User),
        principals::list_groups_for_user,
    ),
    Operation::write(
        "CreateRole",
        |e, p| created_res(e, p, Kind::Role),
        principals::create_role,
    ),
    Operation::read(
        "GetRole",
        |e, p| named_res(e, p, Kind::Role),
        principals::get_role,
    ),
    Operation::read(
        "ListRoles",
        |e, _| Ok(list_res(e, "role")),
        principals::list_roles,
    ),
    Operation::write(
        "UpdateRole",
        |e, p| named_res(e, p, Kind::Role),
        principals::update_role,
    ),
    Operation::write(
        "UpdateRoleDescription",
        |e, p| named_res(e, p, Kind::Role),
        principals::update_role_description,
    ),
    Operation::write(
        "UpdateAssumeRolePolicy",
        |e, p| named_res(e, p, Kind::Role),
        principals::update_assume_role_policy,
    ),
    Operation::write(
        "DeleteRole",
        |e, p| named_res(e, p, Kind::Role),
        principals::delete_role,
    ),
    Operation::write(
        "PutUserPermissionsBoundary",
        |e, p| named_res(e, p, Kind::User),
        principals::put_user_boundary,
    ),
    Operation::write(
        "DeleteUserPermissionsBoundary",
        |e, p| named_res(e, p, Kind::User),
        principals::delete_user_boundary,
    ),
    Operation::write(
        "PutRolePermissionsBoundary",
        |e, p| named_res(e, p, Kind::Role),
        principals::put_role_boundary,
    ),
    Operation::write(
        "DeleteRolePermissionsBoundary",
        |e, p| named_res(e, p, Kind::Role),
        principals::delete_role_boundary,
    ),
    // Tags.
    Operation::write(
        "TagUser",
        |e, p| named_res(e, p, Kind::User),
        principals::tag_user,
    ),
    Operation::write(
        "UntagUser",
        |e, p| named_res(e, p, Kind::User),
        principals::untag_user,
    ),
    Operation::read(
        "ListUserTags",
        |e, p| named_res(e, p, Kind::User),
        principals::list_user_tags,
    ),
    Operation::write(
        "TagRole",
        |e, p| named_res(e, p, Kind::Role),
        principals::tag_role,
    ),
    Operation::write(
        "UntagRole",
        |e, p| named_res(e, p, Kind::Role),
        principals::untag_role,
    ),
    Operation::read(
        "ListRoleTags",
        |e, p| named_res(e, p, Kind::Role),
        principals::list_role_tags,
    ),
    Operation::write("TagPolicy", policy_res, policies::tag_policy),
    Operation::write("UntagPolicy", policy_res, policies::untag_policy),
    Operation::read("ListPolicyTags", policy_res, policies::list_policy_tags),
    Operation::write("TagInstanceProfile", profile_res, profiles::tag_profile),
    Operation::write("UntagInstanceProfile", profile_res, profiles::untag_profile),
    Operation::read(
        "ListInstanceProfileTags",
        profile_res,
        profiles::list_profile_tags,
    ),
    // Managed policies and versions.
    Operation::write(
        "CreatePolicy",
        |e, p| {
            Ok(format!(
                "arn:aws:iam::{}:policy{}{}",
                e.account,
                p.path("Path")?,
                p.opt_str("PolicyName")?.unwrap_or("")
            ))
        },
        policies::create_policy,
    ),
    Operation::read("GetPolicy", policy_res, policies::get_policy),
    Operation::read(
        "ListPolicies",
        |e, _| Ok(list_res(e, "policy")),
        policies::list_policies,
    ),
    Operation::write("DeletePolicy", policy_res, policies::delete_policy),
    Operation::write(
        "CreatePolicyVersion",
        policy_res,
        policies::create_policy_version,
    ),
    Operation::read("GetPolicyVersion", policy_res, policies::get_policy_version),
    Operation::read(
        "ListPolicyVersions",
        policy_res,
        policies::list_policy_versions,
    ),
    Operation::write(
        "DeletePolicyVersion",
        policy_res,
        policies::delete_policy_version,
    ),
    Operation::write(
        "SetDefaultPolicyVersion",
        policy_res,
        policies::set_default_policy_version,
    ),
    Operation::read(
        "ListEntitiesForPolicy",
        policy_res,
        policies::list_entities_for_policy,
    ),
    // Attachments.
    Operation::write(
        "AttachUserPolicy",
        |e, p| named_res(e, p, Kind::User),
        |e, a, p| policies::attach(e, a, p, Kind::User),
    ),
    Operation::write(
        "DetachUserPolicy",
        |e, p| named_res(e, p, Kind::User),
        |e, a, p| policies::detach(e, a, p, Kind::User),
    ),
    Operation::read(
        "ListAttachedUserPolicies",
        |e, p| named_res(e, p, Kind::User),
        |e, a, p| policies::list_attached(e, a, p, Kind::User),
    ),
    Operation::write(
        "AttachGroupPolicy",
        |e, p| named_res(e, p, Kind::Group),
        |e, a, p| policies::attach(e, a, p, Kind::Group),
    ),
    Operation::write(
        "DetachGroupPolicy",
        |e, p| named_res(e, p, Kind::Group),
        |e, a, p| policies::detach(e, a, p, Kind::Group),
    ),
    Operation::read(
        "ListAttachedGroupPolicies",
        |e, p| named_res(e, p, Kind::Group),
        |e, a, p| policies::list_attached(e, a, p, Kind::Group),
    ),
    Operation::write(
        "AttachRolePolicy",
        |e, p| named_res(e, p, Kind::Role),
        |e, a, p| policies::attach(e, a, p, Kind::Role),
    ),
    Operation::write(
        "DetachRolePolicy",
        |e, p| named_res(e, p, Kind::Role),
        |e, a, p| policies::detach(e, a, p, Kind::Role),
    ),
    Operation::read(
        "ListAttachedRolePolicies",
        |e, p| named_res(e, p, Kind::Role),
        |e, a, p| policies::list_attached(e, a, p, Kind::Role),
    ),
    // Inline policies.
    Operation::write(
        "PutUserPolicy",
        |e, p| named_res(e, p, Kind::User),
        |e, a, p| policies::put_inline(e, a, p, Kind::User),
    ),
    Operation::read(
        "GetUserPolicy",
        |e, p| named_res(e, p, Kind::User),
        |e, a, p| policies::get_inline(e, a, p, Kind::User),
    ),
    Operation::write(
        "DeleteUserPolicy",
        |e, p| named_res(e, p, Kind::User),
        |e, a, p| policies::delete_inline(e, a, p, Kind::User),
    ),
    Operation::read(
        "ListUserPolicies",
        |e, p| named_res(e, p, Kind::User),
        |e, a, p| policies::list_inline(e, a, p, Kind::User),
    ),
    Operation::write(
        "PutGroupPolicy",
        |e, p| named_res(e, p, Kind::Group),
        |e, a, p| policies::put_inline(e, a, p, Kind::Group),
    ),
    Operation::read(
        "GetGroupPolicy",
        |e, p| named_res(e, p, Kind::Group),
        |e, a, p| policies::get_inline(e, a, p, Kind::Group),
    ),
    Operation::write(
        "DeleteGroupPolicy",
        |e, p| named_res(e, p, Kind::Group),
        |e, a, p| policies::delete_inline(e, a, p, Kind::Group),
    ),
    Operation::read(
        "ListGroupPolicies",
        |e, p| named_res(e, p, Kind::Group),
        |e, a, p| policies::list_inline(e, a, p, Kind::Group),
    ),
    Operation::write(
        "PutRolePolicy",
        |e, p| named_res(e, p, Kind::Role),
        |e, a, p| policies::put_inline(e, a, p, Kind::Role),
    ),
    Operation::read(
        "GetRolePolicy",
        |e, p| named_res(e, p, Kind::Role),
        |e, a, p| policies::get_inline(e, a, p, Kind::Role),
    ),
    Operation::write(
        "DeleteRolePolicy",
        |e, p| named_res(e, p, Kind::Role),
        |e, a, p| policies::delete_inline(e, a, p, Kind::Role),
    ),
    Operation::read(
        "ListRolePolicies",
        |e, p| named_res(e, p, Kind::Role),
        |e, a, p| policies::list_inline(e, a, p, Kind::Role),
    ),
    // Access keys.
    Operation::write(
        "CreateAccessKey",
        self_or_named_res,
        keys::create_access_key,
    ),
    Operation::read("ListAccessKeys", self_or_named_res, keys::list_access_keys),
    Operation::write(
        "UpdateAccessKey",
        self_or_named_res,
        keys::update_access_key,
    ),
    Operation::write(
        "DeleteAccessKey",
        self_or_named_res,
        keys::delete_access_key,
    ),
    Operation::read(
        "GetAccessKeyLastUsed",
        |e, _| Ok(list_res(e, "user")),
        keys::get_access_key_last_used,
    ),
    // Instance profiles.
    Operation::write(
        "CreateInstanceProfile",
        |e, p| {
            Ok(format!(
                "arn:aws:iam::{}:instance-profile{}{}",
                e.account,
                p.opt_str("Path")?.unwrap_or("/"),
                p.opt_str("InstanceProfileName")?.unwrap_or("")
            ))
        },
        profiles::create_profile,
    ),
    Operation::read("GetInstanceProfile", profile_res, profiles::get_profile),
    Operation::read(
        "ListInstanceProfiles",
        |e, _| Ok(list_res(e, "instance-profile")),
        profiles::list_profiles,
    ),
    Operation::write(
        "DeleteInstanceProfile",
        profile_res,
        profiles::delete_profile,
    ),
    Operation::write("AddRoleToInstanceProfile", profile_res, profiles::add_role),
    Operation::write(
        "RemoveRoleFromInstanceProfile",
        profile_res,
        profiles::remove_role,
    ),
    Operation::read(
        "ListInstanceProfilesForRole",
        |e, p| named_res(e, p, Kind::Role),
        profiles::list_for_role,
    ),
    // Service-linked roles.
    Operation::write(
        "CreateServiceLinkedRole",
        |e, p| slr::role_arn_for(e, p),
        slr::create_service_linked_role,
    ),
    Operation::write(
        "DeleteServiceLinkedRole",
        |e, p| named_res(e, p, Kind::Role),
        slr::delete_service_linked_role,
    ),
    Operation::read(
        "GetServiceLinkedRoleDeletionStatus",
        |e, p| {
            // task/aws-service-role/<service>/<role>/<uuid> names the role.
            let id = p.opt_str("DeletionTaskId")?.unwrap_or("");
            let mut parts = id.rsplitn(2, '/');
            let _uuid = parts.next();
            let rest = parts.next().unwrap_or("").trim_start_matches("task");
            Ok(format!("arn:aws:iam::{}:role{rest}", e.account))
        },
        slr::get_deletion_status,
    ),
    // The policy simulator.
    Operation::read(
        "SimulatePrincipalPolicy",
        |_, p| Ok(p.opt_str("PolicySourceArn")?.unwrap_or("*").to_string()),
        simulate::simulate_principal_policy,
    ),
    Operation::read(
        "SimulateCustomPolicy",
        |_, _| Ok("*".into()),
        simulate::simulate_custom_policy,
    ),
    Operation::read(
        "GetContextKeysForPrincipalPolicy",
        |_, p| Ok(p.opt_str("PolicySourceArn")?.unwrap_or("*").to_string()),
        simulate::get_context_keys_for_principal_policy,
    ),
    Operation::read(
        "GetContextKeysForCustomPolicy",
        |_, _| Ok("*".into()),
        simulate::get_context_keys_for_custom_policy,
    ),
    // Account.
    Operation::read(
        "GetAccountSummary",
        |_, _| Ok("*".into()),
        principals::get_account_summary,
    ),
    Operation::read(
        "GetAccountAuthorizationDetails",
        |_, _| Ok("*".into()),
        principals::get_account_authorization_details,
    ),
];

/// `arn:aws:iam::ACCT:user/` and the like: the resource of account-wide list calls.
fn list_res(env: &Env<'_>, noun: &str) -> String {
    format!("arn:aws:iam::{}:{noun}/", env.account)
}

/// The ARN of the entity named in the request, with its real path when it exists.
fn named_res(env: &mut Env<'_>, p: Params<'_>, kind: Kind) -> Result<String> {
    let name = p.opt_str(kind.name_param())?.unwrap_or("");
    let account = env.account.clone();
    let existing: Option<Entity> = env.get(kind.ns(), &key(&account, name))?;
    Ok(existing.map_or_else(|| kind.arn(&account, "/", name), |e| e.arn))
}

/// The ARN of the user, group or role a call creates, with the path it asks
/// for: AWS authorizes creation on the ARN the entity will have.
fn created_res(env: &mut Env<'_>, p: Params<'_>, kind: Kind) -> Result<String> {
    let name = p.opt_str(kind.name_param())?.unwrap_or("");
    let path = p.opt_str("Path")?.unwrap_or("/");
    Ok(kind.arn(&env.account, path, name))
}

/// The ARN a rename or move (`NewUserName`/`NewGroupName`, `NewPath`) makes: AWS
/// requires the action on it as well as on the entity as it is now.
fn rename_target_res(env: &mut Env<'_>, p: Params<'_>, kind: Kind) -> Result<Vec<String>> {
    let new_name = p.opt_str(&format!("New{}", kind.name_param()))?;
    let new_path = p.opt_str("NewPath")?;
    if new_name.is_none() && new_path.is_none() {
        return Ok(Vec::new());
    }
    let name = p.opt_str(kind.name_param())?.unwrap_or("");
    let account = env.account.clone();
    let existing: Option<Entity> = env.get(kind.ns(), &key(&account, name))?;
    let (path, name) =
        existing.map_or_else(|| ("/".to_string(), name.to_string()), |e| (e.path, e.name));
    Ok(vec![kind.arn(
        &account,
        new_path.unwrap_or(&path),
        new_name.unwrap_or(&name),
    )])
}

/// Calls whose `UserName` defaults to the caller.
fn self_or_named_res(env: &mut Env<'_>, p: Params<'_>) -> Result<String> {
    if p.opt_str("UserName")?.is_some() {
        return named_res(env, p, Kind::User);
    }
    Ok(match &env.caller.principal {
        Principal::User { arn, .. } => arn.clone(),
        other => other.arn(),
    })
}

fn policy_res(_env: &mut Env<'_>, p: Params<'_>) -> Result<String> {
    Ok(p.opt_str("PolicyArn")?.unwrap_or("*").to_string())
}

fn profile_res(env: &mut Env<'_>, p: Params<'_>) -> Result<String> {
    let name = p.opt_str("InstanceProfileName")?.unwrap_or("");
    let account = env.account.clone();
    let existing: Option<entities::InstanceProfile> =
        env.get(entities::NS_PROFILE, &key(&account, name))?;
    Ok(existing.map_or_else(
        || format!("arn:aws:iam::{account}:instance-profile/{name}"),
        |e| e.arn,
    ))
}

/// The user a call is about: `UserName`, or the calling user when absent.
fn target_user(env: &Env<'_>, p: Params<'_>) -> Result<Option<String>> {
    if let Some(name) = p.opt_iam_name("UserName", 64)? {
        return Ok(Some(name.to_string()));
    }
    match &env.caller.principal {
        Principal::User { name, .. } => Ok(Some(name.clone())),
        Principal::Root { .. } => Ok(None),
        _ => Err(Error::ValidationError(
            "Must specify userName when calling with non-User credentials".into(),
        )),
    }
}

/// Encodes a pagination marker (an opaque cursor over store keys).
fn encode_marker(key: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(key.as_bytes())
}

fn decode_marker(marker: Option<&str>) -> Result<Option<String>> {
    let Some(m) = marker else { return Ok(None) };
    base64::engine::general_purpose::STANDARD
        .decode(m)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .map(Some)
        .ok_or_else(|| Error::ValidationError("Invalid Marker.".into()))
}

/// A page of results: items plus IAM's `IsTruncated`/`Marker`.
struct Page {
    items: Vec<Value>,
    next: Option<String>,
}

impl Page {
    /// Renders `{List: [...], IsTruncated, Marker}`.
    fn into_value(self, list_member: &str) -> Value {
        let truncated = self.next.is_some();
        Value::structure()
            .with(list_member, Value::List(self.items))
            .with("IsTruncated", truncated)
            .with("Marker", self.next)
    }
}

/// Pages through (key, item) pairs already in key order.
fn paginate<T>(
    items: Vec<(String, T)>,
    p: Params<'_>,
    render: impl Fn(&T) -> Value,
) -> Result<Page> {
    let max = p.max_items()?;
    let after = decode_marker(p.marker()?)?;
    let mut remaining = items
        .into_iter()
        .filter(|(k, _)| after.as_deref().is_none_or(|a| k.as_str() > a))
        .peekable();
    let mut out = Vec::new();
    let mut last_key = None;
    while out.len() < max {
        let Some((k, item)) = remaining.next() else {
            break;
        };
        out.push(render(&item));
        last_key = Some(k);
    }
    let next = match (remaining.peek(), last_key) {
        (Some(_), Some(k)) => Some(encode_marker(&k)),
        _ => None,
    };
    Ok(Page { items: out, next })
}

/// Stores a user, group or role (for other services acting on IAM entities).
pub fn save_entity(env: &mut Env<'_>, entity: &Entity) -> Result<()> {
    principals::save(env, entity)
}

/// AWS Identity and Access Management: global, recorded in us-east-1.
pub const DEF: ServiceDef = ServiceDef {
    xml_namespace: "https://iam.amazonaws.com/doc/2010-05-08/",
    global: true,
    ..ServiceDef::new("iam", "iam.amazonaws.com", Protocol::AwsQuery)
};

/// IAM, as the core sees it: its operations, the upgrade that marks
/// service-linked roles stored before the flag existed, and the worker that
/// moves service-linked role deletion tasks.
pub fn module() -> ServiceModule {
    ServiceModule {
        on_start: Some(|env| slr::flag_stored_roles(env).map(|_| ())),
        background: vec![Arc::new(DeletionTasks {
            quiet: Quiet::new(slr::NS_PENDING_TASK),
        })],
        ..ServiceModule::new(&DEF, OPERATIONS)
    }
}

/// STS, as the core sees it.
pub fn sts_module() -> ServiceModule {
    ServiceModule::new(&sts::DEF, sts::OPERATIONS)
}

/// Moves every unfinished service-linked role deletion task one step, each
/// in its own transaction.
struct DeletionTasks {
    /// Idle while no task is pending.
    quiet: Quiet,
}

impl BackgroundJob for DeletionTasks {
    fn name(&self) -> &'static str {
        "service-linked role deletion tasks"
    }

    fn idle(&self, services: &Services) -> bool {
        self.quiet.idle(services)
    }

    fn run(&self, services: &Services, moment: Moment) -> std::result::Result<usize, ApiError> {
        if moment == Moment::Shutdown {
            return Ok(0);
        }
        let bg = services.background("iam.amazonaws.com", "AWS Internal");
        let mark = self.quiet.mark(services);
        let pending = services
            .in_background(&bg, "", slr::pending_tasks)
            .map_err(|e| log_internal(&e))?;
        self.quiet.found(mark, pending.is_empty());
        let moved = pending.len();
        for task in pending {
            let account = task.account.clone();
            services
                .in_background(&bg, &account, |env| slr::advance(env, task))
                .map_err(|e| log_internal(&e))?;
        }
        Ok(moved)
    }
}
