//! The seam between IAM and the services that own service-linked roles.
//!
//! A linked service creates its role on first use (through [`ensure_role`]),
//! acts through it (through [`assume_role`] and [`session`], which leave the
//! same CloudTrail records AWS leaves), and grants its role access on the
//! caller's behalf (through [`set_role_policy`], the only way an inline policy
//! reaches a service-linked role). Which of its resources still use the role
//! it answers through `trailguard_core::linked::LinkedResources`, registered in
//! its `ServiceModule`.

pub use trailguard_core::linked::{LinkedResources, act_as};

use crate::error::IamError;
use crate::slr;
use trailguard_core::audit::{self, CallFacts, Origin};
use trailguard_core::authz;
use trailguard_core::env::Env;
use trailguard_core::error::{Error, Result};
use trailguard_core::identity::{Detail, Entity, Kind, key};
use trailguard_core::params::Params;
use trailguard_model::{Caller, Principal, Value};

/// The service's own role in the account, if it made one. A role with the same
/// name made any other way (by `CreateRole`, under any path) is never the
/// service's: a service only uses the role its creation path marked as its own.
pub fn existing_role(env: &mut Env<'_>, service: &str) -> Result<Option<Entity>> {
    let Some(name) = env
        .catalogue
        .linked_service(service)
        .map(|l| l.role_name.clone())
    else {
        return Ok(None);
    };
    let account = env.account.clone();
    let role: Option<Entity> = env.get(Kind::Role.ns(), &key(&account, &name))?;
    Ok(role.filter(|r| slr::is_linked_to(r, service)))
}

/// Ensures the service's role exists, creating it on the caller's behalf (and
/// recording that as AWS does) when the caller may `iam:CreateServiceLinkedRole`
/// for this service. A same-named role the service did not make is not adopted:
/// creating the real one then fails as `CreateServiceLinkedRole` does, with the
/// name taken.
pub fn ensure_role(env: &mut Env<'_>, service: &str) -> Result<Entity> {
    let linked = env
        .catalogue
        .linked_service(service)
        .cloned()
        .ok_or_else(|| Error::InvalidInput(format!("{service} has no service-linked role")))?;
    let account = env.account.clone();
    if let Some(role) = existing_role(env, service)? {
        return Ok(role);
    }
    let params = serde_json::json!({ "AWSServiceName": service });
    let arn = format!(
        "arn:aws:iam::{account}:role{}{service}/{}",
        slr::SLR_PATH_PREFIX,
        linked.role_name
    );
    // The service asks on the caller's behalf, so aws:ViaAWSService holds.
    env.via_service = Some(service.to_string());
    let decision = authz::authorize(env, "iam:CreateServiceLinkedRole", &arn, Params(&params));
    env.via_service = None;
    decision?;
    let role = slr::create(env, service, linked.description.as_deref(), None)?;
    // AWS records the creation with the caller's identity, invoked by the service.
    let mut caller = env.caller.clone();
    caller.invoked_by = Some(service.to_string());
    let out = Value::structure().with("Role", role.to_value(Detail::Summary));
    audit::append(
        env,
        &caller,
        &Origin::service(service),
        CallFacts {
            service: crate::DEF.id,
            name: "CreateServiceLinkedRole",
            read_only: false,
            record_response: true,
            management: true,
            params: &params,
        },
        Ok(&out),
        None,
    )?;
    Ok(role)
}

/// The service assumes its role, as AWS services do before acting: records the
/// `AssumeRole` with the service's identity and updates `RoleLastUsed`. Returns
/// the caller the service then acts as.
pub fn assume_role(
    env: &mut Env<'_>,
    mut role: Entity,
    service: &str,
    session_name: &str,
) -> Result<Caller> {
    if !slr::is_linked_to(&role, service) {
        // Only the role the service made for itself is the service's to use.
        return Err(Error::AccessDenied(format!(
            "{service} is not authorized to perform: sts:AssumeRole on resource: {}",
            role.arn
        )));
    }
    let service_caller = Caller {
        principal: Principal::Service {
            service: service.to_string(),
        },
        access_key_id: String::new(),
        session: None,
        invoked_by: None,
    };
    let session = crate::sts::issue_role_session(env, &role, session_name, 3600, Vec::new())?;
    crate::sts::note_role_use(env, &mut role)?;
    let params = serde_json::json!({
        "RoleArn": role.arn,
        "RoleSessionName": session_name,
        "DurationSeconds": "3600",
    });
    let out = crate::sts::assumed_role_output(&role, session_name, &session);
    let shared = env.ids.uuid();
    audit::append(
        env,
        &service_caller,
        &Origin::service(service),
        CallFacts {
            service: crate::sts::DEF.id,
            name: "AssumeRole",
            read_only: true,
            record_response: true,
            management: true,
            params: &params,
        },
        Ok(&out),
        Some(shared),
    )?;
    Ok(Caller {
        principal: Principal::AssumedRole {
            account_id: env.account.clone(),
            role_name: role.name.clone(),
            role_id: role.id.clone(),
            role_arn: role.arn.clone(),
            session_name: session_name.to_string(),
        },
        access_key_id: session.access_key_id.clone(),
        session: Some(trailguard_model::SessionInfo {
            issued_at: session.issued,
            expires_at: session.expires,
            mfa_authenticated: false,
        }),
        invoked_by: Some(service.to_string()),
    })
}

/// The service changes an inline policy of its own role on the caller's behalf,
/// as GuardDuty does to let its role read a list's location: the caller must be
/// allowed `iam:PutRolePolicy` (or, with no document, `iam:DeleteRolePolicy`) on
/// the role, asked with `aws:ViaAWSService`, and the change is recorded with the
/// caller's identity `invokedBy` the service. Customers can never change a
/// service-linked role; only its service does, through here.
pub fn set_role_policy(
    env: &mut Env<'_>,
    service: &str,
    policy_name: &str,
    document: Option<&str>,
) -> Result<Entity> {
    let role_name = env
        .catalogue
        .linked_service(service)
        .map(|l| l.role_name.clone())
        .ok_or_else(|| Error::InvalidInput(format!("{service} has no service-linked role")))?;
    let account = env.account.clone();
    let mut role = env
        .get::<Entity>(Kind::Role.ns(), &key(&account, &role_name))?
        .ok_or_else(|| {
            IamError::NoSuchEntity(format!("The role with name {role_name} cannot be found."))
        })?;
    let (action, name) = match document {
        Some(_) => ("iam:PutRolePolicy", "PutRolePolicy"),
        None => ("iam:DeleteRolePolicy", "DeleteRolePolicy"),
    };
    let mut params = serde_json::json!({ "RoleName": role.name, "PolicyName": policy_name });
    if let (Some(doc), Some(map)) = (document, params.as_object_mut()) {
        map.insert("PolicyDocument".into(), doc.into());
    }
    env.via_service = Some(service.to_string());
    let decision = authz::authorize(env, action, &role.arn, Params(&params));
    env.via_service = None;
    decision?;
    match document {
        Some(doc) => {
            role.inline.insert(policy_name.to_string(), doc.to_string());
        }
        None => {
            role.inline.remove(policy_name);
        }
    }
    env.put(Kind::Role.ns(), &key(&account, &role.name), &role)?;
    let mut caller = env.caller.clone();
    caller.invoked_by = Some(service.to_string());
    audit::append(
        env,
        &caller,
        &Origin::service(service),
        CallFacts {
            service: crate::DEF.id,
            name,
            read_only: false,
            record_response: true,
            management: true,
            params: &params,
        },
        Ok(&Value::Null),
        None,
    )?;
    Ok(role)
}

/// Removes the service's own inline policies `names` when the resources they
/// served go with their parent (GuardDuty's lists with their detector): the
/// service tidies its role, unasked and unrecorded.
pub fn drop_role_policies(env: &mut Env<'_>, service: &str, names: &[String]) -> Result<()> {
    let Some(role_name) = env
        .catalogue
        .linked_service(service)
        .map(|l| l.role_name.clone())
    else {
        return Ok(());
    };
    let account = env.account.clone();
    let Some(mut role) = env.get::<Entity>(Kind::Role.ns(), &key(&account, &role_name))? else {
        return Ok(());
    };
    let before = role.inline.len();
    role.inline.retain(|name, _| !names.contains(name));
    if role.inline.len() != before {
        env.put(Kind::Role.ns(), &key(&account, &role.name), &role)?;
    }
    Ok(())
}

const NS_SERVICE_SESSION: &str = "linked.session";
/// A cached session is reused while it has at least this long to live.
const SESSION_MARGIN_SECONDS: i64 = 300;

/// A session of the service's role for `session_name`, reused while it lasts (as
/// services cache their credentials), else freshly assumed.
pub fn session(
    env: &mut Env<'_>,
    role: Entity,
    service: &str,
    session_name: &str,
) -> Result<Caller> {
    let cache_key = format!("{}/{service}/{session_name}", env.account);
    if let Some(key_id) = env.get::<String>(NS_SERVICE_SESSION, &cache_key)?
        && let Some(s) = env.get::<crate::sts::Session>(crate::sts::NS_SESSION, &key_id)?
        && (s.expires - env.now).whole_seconds() > SESSION_MARGIN_SECONDS
    {
        return Ok(Caller {
            principal: s.to_principal(),
            access_key_id: s.access_key_id.clone(),
            session: Some(trailguard_model::SessionInfo {
                issued_at: s.issued,
                expires_at: s.expires,
                mfa_authenticated: false,
            }),
            invoked_by: Some(service.to_string()),
        });
    }
    let caller = assume_role(env, role, service, session_name)?;
    env.put(NS_SERVICE_SESSION, &cache_key, &caller.access_key_id)?;
    Ok(caller)
}
