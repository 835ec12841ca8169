//! Service-linked roles: roles a service creates for itself, that only it may
//! assume and nobody may weaken, deleted through a deletion task.
//!
//! Deletion is a task, as in AWS: `DeleteServiceLinkedRole` only records it, and
//! a background worker moves it through `IN_PROGRESS` to `SUCCEEDED`, or to
//! `FAILED` when the linked service (see `crate::linked`) still has resources
//! that use the role.

use super::entities::{Detail, Entity, Kind, NS_AWS_POLICY_USE, key};
use super::principals::{load, save};
use crate::error::IamError;
use serde::{Deserialize, Serialize};
use trailguard_core::authz::Authorized;
use trailguard_core::env::Env;
use trailguard_core::error::{Error, Result};
use trailguard_core::params::{Params, check_iam_name};
use trailguard_model::Value;

pub const NS_DELETION_TASK: &str = "iam.slr_deletion_task";
/// Ids of unfinished tasks, so the worker never rereads finished ones.
pub(crate) const NS_PENDING_TASK: &str = "iam.slr_deletion_pending";

/// The path prefix of every service-linked role; AWS reserves it, so `CreateRole`
/// refuses it.
pub const SLR_PATH_PREFIX: &str = "/aws-service-role/";

/// Whether a role is service-linked: made by [`create`], which alone sets
/// `linked_service`. The path and the name prove nothing (a role stored before
/// the flag existed, or planted with a look-alike name, is an ordinary role).
pub fn is_service_linked(role: &Entity) -> bool {
    role.kind == Kind::Role && role.linked_service.is_some()
}

/// Whether `role` is the service-linked role of `service`.
pub fn is_linked_to(role: &Entity, service: &str) -> bool {
    role.kind == Kind::Role && role.linked_service.as_deref() == Some(service)
}

/// AWS's refusal of the reserved path for a role made any other way.
pub fn ensure_path_not_reserved(path: &str) -> Result<()> {
    if path.starts_with(SLR_PATH_PREFIX) {
        return Err(Error::InvalidInput(format!(
            "Path prefix '{SLR_PATH_PREFIX}' can only be used for AWS Service linked Roles"
        )));
    }
    Ok(())
}

/// AWS's refusal of a change to a service-linked role.
pub fn ensure_modifiable(role: &Entity) -> Result<()> {
    if is_service_linked(role) {
        return Err(IamError::UnmodifiableEntity(format!(
            "Cannot perform the operation on the protected role '{}' - this role is only modifiable by AWS",
            role.name
        )).into());
    }
    Ok(())
}

/// The ARN `CreateServiceLinkedRole` would create, for authorization.
pub fn role_arn_for(env: &Env<'_>, p: Params<'_>) -> Result<String> {
    let service = p.opt_str("AWSServiceName")?.unwrap_or("");
    let name = env
        .catalogue
        .linked_service(service)
        .map_or_else(String::new, |l| {
            match p.opt_str("CustomSuffix").ok().flatten() {
                Some(suffix) => format!("{}_{suffix}", l.role_name),
                None => l.role_name.clone(),
            }
        });
    Ok(format!(
        "arn:aws:iam::{}:role{SLR_PATH_PREFIX}{service}/{name}",
        env.account
    ))
}

/// Creates a linked service's role; used by the API and by services on first use.
pub fn create(
    env: &mut Env<'_>,
    service: &str,
    description: Option<&str>,
    suffix: Option<&str>,
) -> Result<Entity> {
    let linked = env
        .catalogue
        .linked_service(service)
        .cloned()
        .ok_or_else(|| Error::InvalidInput(format!("Service role name for service {service} could not be found: the service does not support service-linked roles.")))?;
    let name = match suffix {
        Some(_) if !linked.custom_suffix => {
            return Err(Error::InvalidInput(format!(
                "Custom suffix is not allowed for {service}"
            )));
        }
        Some(s) => format!("{}_{s}", linked.role_name),
        None => linked.role_name.clone(),
    };
    let account = env.account.clone();
    if env
        .get::<Entity>(Kind::Role.ns(), &key(&account, &name))?
        .is_some()
    {
        return Err(Error::InvalidInput(format!(
            "Service role name {name} has been taken in this account, please try a different suffix."
        )));
    }
    let path = format!("{SLR_PATH_PREFIX}{service}/");
    let trust = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]
    })
    .to_string();
    let role = Entity {
        kind: Kind::Role,
        id: env.ids.unique_id("AROA"),
        arn: Kind::Role.arn(&account, &path, &name),
        name,
        path,
        create_date: env.now,
        tags: Vec::new(),
        attached: vec![linked.policy_arn.clone()],
        inline: Default::default(),
        permissions_boundary: None,
        groups: Vec::new(),
        members: Vec::new(),
        assume_role_policy: Some(trust),
        description: description.map(str::to_string),
        max_session_duration: Some(3600),
        last_used: None,
        instance_profiles: Vec::new(),
        trust_pins: Default::default(),
        linked_service: Some(service.to_string()),
    };
    save(env, &role)?;
    let use_key = format!("{account}/{}", linked.policy_arn);
    let n = env.get::<i64>(NS_AWS_POLICY_USE, &use_key)?.unwrap_or(0) + 1;
    env.put(NS_AWS_POLICY_USE, &use_key, &n)?;
    Ok(role)
}

/// Marks the service-linked roles a store made before roles carried
/// `linked_service` (once per store; a marker records that it ran). A role is
/// marked only when it is exactly what [`create`] makes: the service's path,
/// its catalogue name (or name and suffix), a trust policy naming only that
/// service, the service's managed policy alone attached and nothing inline.
/// Such a role can be assumed by nobody but the service and grants nothing
/// the real one would not, so marking a look-alike of that exact shape gives
/// its planter nothing; anything else stays an ordinary role.
pub fn flag_stored_roles(env: &mut Env<'_>) -> Result<usize> {
    const NS_UPGRADE: &str = "store.upgrade";
    const MARKER: &str = "service-linked-role-flag";
    if env.tx.get(NS_UPGRADE, MARKER)?.is_some() {
        return Ok(0);
    }
    let mut marked = 0;
    for mut role in env.scan_all::<Entity>(Kind::Role.ns(), "")? {
        if role.linked_service.is_some() {
            continue;
        }
        let Some(service) = role
            .path
            .strip_prefix(SLR_PATH_PREFIX)
            .and_then(|rest| rest.strip_suffix('/'))
            .map(str::to_string)
        else {
            continue;
        };
        let Some(linked) = env.catalogue.linked_service(&service) else {
            continue;
        };
        let named = role.name == linked.role_name
            || role
                .name
                .strip_prefix(&linked.role_name)
                .is_some_and(|rest| rest.starts_with('_'));
        let trust_only_service = role
            .assume_role_policy
            .as_deref()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(t).ok())
            == Some(serde_json::json!({
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]
            }));
        if named
            && trust_only_service
            && role.attached == [linked.policy_arn.clone()]
            && role.inline.is_empty()
            && role.permissions_boundary.is_none()
        {
            // Background work runs in no account: the role's own is in its ARN.
            let Some(account) = role.arn.split(':').nth(4).map(str::to_string) else {
                continue;
            };
            role.linked_service = Some(service);
            env.put(Kind::Role.ns(), &key(&account, &role.name), &role)?;
            marked += 1;
        }
    }
    env.tx.put(NS_UPGRADE, MARKER, b"")?;
    Ok(marked)
}

pub fn create_service_linked_role(
    env: &mut Env<'_>,
    _: &Authorized,
    p: Params<'_>,
) -> Result<Value> {
    let service = p.str_len("AWSServiceName", 1, 128)?;
    let description = p.opt_str_len("Description", 0, 1000)?;
    let suffix = p.opt_str_len("CustomSuffix", 1, 64)?;
    if let Some(s) = suffix {
        check_iam_name("CustomSuffix", s)?;
    }
    let role = create(env, service, description, suffix)?;
    let mut out = role.to_value(Detail::Full);
    if let Value::Struct(members) = &mut out {
        members.retain(|(k, _)| k != "RoleLastUsed");
    }
    Ok(Value::structure().with("Role", out))
}

/// A deletion task.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeletionTask {
    pub id: String,
    pub account: String,
    pub role_name: String,
    /// `NOT_STARTED`, `IN_PROGRESS`, `SUCCEEDED` or `FAILED`.
    pub status: String,
    /// Why it failed: `(region, resource ARNs)` that still use the role.
    #[serde(default)]
    pub usage: Vec<(String, Vec<String>)>,
}

pub fn delete_service_linked_role(
    env: &mut Env<'_>,
    _: &Authorized,
    p: Params<'_>,
) -> Result<Value> {
    let name = p.iam_name("RoleName", 64)?;
    let role = load(env, Kind::Role, name)?;
    if !is_service_linked(&role) {
        return Err(Error::InvalidInput(format!(
            "Role {} is not a service-linked role.",
            role.name
        )));
    }
    let service = service_of(&role);
    let id = format!(
        "task{SLR_PATH_PREFIX}{service}/{}/{}",
        role.name,
        env.ids.uuid()
    );
    let task = DeletionTask {
        id: id.clone(),
        account: env.account.clone(),
        role_name: role.name.clone(),
        status: "NOT_STARTED".into(),
        usage: Vec::new(),
    };
    save_task(env, &task)?;
    Ok(Value::structure().with("DeletionTaskId", id))
}

/// The service principal of a service-linked role, from its flag.
fn service_of(role: &Entity) -> String {
    role.linked_service.clone().unwrap_or_default()
}

/// Stores a task, keeping the pending index in step with its status.
fn save_task(env: &mut Env<'_>, task: &DeletionTask) -> Result<()> {
    env.put(NS_DELETION_TASK, &task.id, task)?;
    if matches!(task.status.as_str(), "NOT_STARTED" | "IN_PROGRESS") {
        env.tx.put(NS_PENDING_TASK, &task.id, b"")?;
    } else {
        env.tx.delete(NS_PENDING_TASK, &task.id)?;
    }
    Ok(())
}

/// The tasks not finished yet, in every account.
pub fn pending_tasks(env: &mut Env<'_>) -> Result<Vec<DeletionTask>> {
    let ids: Vec<String> = env
        .tx
        .scan(NS_PENDING_TASK, "", None, usize::MAX)?
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(t) = env.get::<DeletionTask>(NS_DELETION_TASK, &id)? {
            out.push(t);
        }
    }
    Ok(out)
}

/// Moves one task a step: `NOT_STARTED` -> `IN_PROGRESS`; then the linked
/// service is asked which of its resources still use the role: if any do the
/// task `FAILED` (naming them) and the role stays, otherwise the role is deleted
/// and the task `SUCCEEDED`. `env.account` must be the task's account.
pub fn advance(env: &mut Env<'_>, mut task: DeletionTask) -> Result<()> {
    if task.status == "NOT_STARTED" {
        task.status = "IN_PROGRESS".into();
        return save_task(env, &task);
    }
    let account = env.account.clone();
    let role: Option<Entity> = env.get(Kind::Role.ns(), &key(&account, &task.role_name))?;
    let Some(role) = role.filter(is_service_linked) else {
        // Deleted meanwhile (by an earlier task): nothing left to do. An ordinary
        // role made since under the same name is not the task's to delete.
        task.status = "SUCCEEDED".into();
        return save_task(env, &task);
    };
    let usage = match env.registry.linked(&service_of(&role)) {
        Some(linked) => linked.resources_using_role(env)?,
        None => Vec::new(),
    };
    if !usage.is_empty() {
        let mut by_region: Vec<(String, Vec<String>)> = Vec::new();
        for (region, arn) in usage {
            match by_region.iter_mut().find(|(r, _)| *r == region) {
                Some((_, arns)) => arns.push(arn),
                None => by_region.push((region, vec![arn])),
            }
        }
        task.status = "FAILED".into();
        task.usage = by_region;
        return save_task(env, &task);
    }
    env.delete(Kind::Role.ns(), &key(&account, &role.name))?;
    for arn in &role.attached {
        let use_key = format!("{account}/{arn}");
        let n = env.get::<i64>(NS_AWS_POLICY_USE, &use_key)?.unwrap_or(0) - 1;
        if n > 0 {
            env.put(NS_AWS_POLICY_USE, &use_key, &n)?;
        } else {
            env.delete(NS_AWS_POLICY_USE, &use_key)?;
        }
    }
    task.status = "SUCCEEDED".into();
    save_task(env, &task)
}

pub fn get_deletion_status(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let id = p.str_len("DeletionTaskId", 1, 1000)?;
    let task: DeletionTask = env
        .get(NS_DELETION_TASK, id)?
        .filter(|t: &DeletionTask| t.account == env.account)
        .ok_or_else(|| IamError::NoSuchEntity(format!("Deletion task {id} cannot be found.")))?;
    let mut out = Value::structure().with("Status", task.status.as_str());
    if task.status == "FAILED" {
        out = out.with(
            "Reason",
            Value::structure().with(
                "RoleUsageList",
                Value::List(
                    task.usage
                        .iter()
                        .map(|(region, resources)| {
                            Value::structure()
                                .with("Region", region)
                                .with("Resources", resources.clone())
                        })
                        .collect(),
                ),
            ),
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role(path: &str, linked: Option<&str>) -> Entity {
        Entity {
            kind: Kind::Role,
            name: "AWSServiceRoleForAmazonGuardDuty".into(),
            id: "AROAEXAMPLE".into(),
            arn: format!("arn:aws:iam::123456789012:role{path}AWSServiceRoleForAmazonGuardDuty"),
            path: path.into(),
            create_date: time::OffsetDateTime::UNIX_EPOCH,
            tags: Vec::new(),
            attached: Vec::new(),
            inline: Default::default(),
            permissions_boundary: None,
            groups: Vec::new(),
            members: Vec::new(),
            assume_role_policy: None,
            description: None,
            max_session_duration: None,
            last_used: None,
            trust_pins: Default::default(),
            instance_profiles: Vec::new(),
            linked_service: linked.map(str::to_string),
        }
    }

    #[test]
    fn only_the_stored_flag_makes_a_role_service_linked() {
        let path = "/aws-service-role/guardduty.amazonaws.com/";
        let look_alike = role(path, None);
        assert!(!is_service_linked(&look_alike));
        assert!(!is_linked_to(&look_alike, "guardduty.amazonaws.com"));
        assert!(ensure_modifiable(&look_alike).is_ok());
        let real = role(path, Some("guardduty.amazonaws.com"));
        assert!(is_service_linked(&real));
        assert!(is_linked_to(&real, "guardduty.amazonaws.com"));
        assert!(!is_linked_to(&real, "redshift.amazonaws.com"));
        assert!(matches!(
            ensure_modifiable(&real)
                .as_ref()
                .err()
                .and_then(Error::service),
            Some(IamError::UnmodifiableEntity(_))
        ));
    }

    #[test]
    fn the_reserved_path_and_everything_under_it_is_refused() {
        for path in ["/aws-service-role/", "/aws-service-role/x.amazonaws.com/"] {
            assert!(matches!(
                ensure_path_not_reserved(path),
                Err(Error::InvalidInput(m)) if m.contains("can only be used for AWS Service linked Roles")
            ));
        }
        for path in [
            "/",
            "/service-role/",
            "/aws-service-roles/",
            "/x/aws-service-role/",
        ] {
            assert!(ensure_path_not_reserved(path).is_ok(), "{path}");
        }
    }
}
