//! The authorization point every operation passes.
//!
//! Operation handlers take an [`Authorized`] proof, and only [`authorize`] can make
//! one, so no handler can run without a decision. The decision gathers the
//! caller's identity policies and asks `trailguard-policy` to evaluate them.

use crate::env::Env;
use crate::error::{Error, Result};
use crate::iam::entities::{CustomerPolicy, Entity, Kind, NS_POLICY, key};
use trailguard_model::Principal;
use trailguard_policy::{Decision, PolicyDocument, Request, Source, evaluate};

/// Proof that the current call was authorized. Only this module can construct it.
#[derive(Debug)]
pub struct Authorized {
    _seal: (),
}

/// Loads the documents of the named managed policies (AWS or customer).
fn managed_documents(
    env: &mut Env<'_>,
    arns: &[String],
    out: &mut Vec<(String, PolicyDocument)>,
) -> Result<()> {
    for arn in arns {
        if let Some(p) = env.catalogue.get(arn) {
            out.push((arn.clone(), p.parsed.clone()));
            continue;
        }
        let Some(name) = arn.rsplit('/').next() else {
            continue;
        };
        let policy: Option<CustomerPolicy> = env.get(NS_POLICY, &key(&env.account, name))?;
        if let Some(policy) = policy.filter(|p| &p.arn == arn)
            && let Some(v) = policy
                .versions
                .iter()
                .find(|v| v.version_id == policy.default_version_id)
            && let Ok(doc) = PolicyDocument::parse(&v.document)
        {
            out.push((arn.clone(), doc));
        }
    }
    Ok(())
}

fn entity_documents(
    env: &mut Env<'_>,
    entity: &Entity,
    out: &mut Vec<(String, PolicyDocument)>,
) -> Result<()> {
    managed_documents(env, &entity.attached, out)?;
    for (name, doc) in &entity.inline {
        if let Ok(parsed) = PolicyDocument::parse(doc) {
            out.push((
                format!("{}/{}/{name}", entity.kind.noun(), entity.name),
                parsed,
            ));
        }
    }
    Ok(())
}

/// Every identity-based policy that applies to the caller.
pub fn identity_policies(env: &mut Env<'_>) -> Result<Vec<(String, PolicyDocument)>> {
    let mut out = Vec::new();
    let (kind, name) = match &env.caller.principal {
        Principal::User { name, .. } => (Kind::User, name.clone()),
        Principal::AssumedRole { role_name, .. } => (Kind::Role, role_name.clone()),
        Principal::Root { .. } | Principal::Service { .. } => return Ok(out),
    };
    let account = env.account.clone();
    let entity: Option<Entity> = env.get(kind.ns(), &key(&account, &name))?;
    let Some(entity) = entity else { return Ok(out) };
    entity_documents(env, &entity, &mut out)?;
    for group in &entity.groups {
        let g: Option<Entity> = env.get(Kind::Group.ns(), &key(&account, group))?;
        if let Some(g) = g {
            entity_documents(env, &g, &mut out)?;
        }
    }
    Ok(out)
}

/// Decides whether the caller may perform `action` on `resource`.
pub fn authorize(env: &mut Env<'_>, action: &str, resource: &str) -> Result<Authorized> {
    let principal = env.caller.principal.clone();
    match &principal {
        Principal::Root { account_id } if *account_id == env.account => {
            return Ok(Authorized { _seal: () });
        }
        _ => {}
    }
    let policies = identity_policies(env)?;
    let sources: Vec<Source<'_>> = policies
        .iter()
        .map(|(name, document)| Source { name, document })
        .collect();
    let decision = evaluate(&sources, &Request { action, resource });
    let who = principal.arn();
    match decision {
        Decision::Allow { .. } => Ok(Authorized { _seal: () }),
        Decision::ExplicitDeny { policy, .. } => Err(Error::AccessDenied(format!(
            "User: {who} is not authorized to perform: {action} on resource: {resource} with an explicit deny in an identity-based policy: {policy}"
        ))),
        Decision::ImplicitDeny => Err(Error::AccessDenied(format!(
            "User: {who} is not authorized to perform: {action} on resource: {resource} because no identity-based policy allows the {action} action"
        ))),
    }
}

/// Calls AWS lets every authenticated caller make (`sts:GetCallerIdentity`).
pub fn always() -> Authorized {
    Authorized { _seal: () }
}

/// How a trust policy treats the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Trust {
    /// Named directly (its ARN, or `*`): the trust policy grants on its own.
    Direct,
    /// Named through its account: the caller's identity policies must allow too.
    ViaAccount,
    Denied,
    NotNamed,
}

fn principal_matches(value: &str, caller: &Principal) -> Trust {
    let account = caller.account_id();
    if value == "*" {
        return Trust::Direct;
    }
    if !account.is_empty() && (value == account || value == format!("arn:aws:iam::{account}:root"))
    {
        return Trust::ViaAccount;
    }
    let hit = match caller {
        Principal::User { arn, .. } => value == arn,
        Principal::AssumedRole { role_arn, .. } => value == caller.arn() || value == role_arn,
        Principal::Root { .. } => false,
        Principal::Service { service } => value == service,
    };
    if hit { Trust::Direct } else { Trust::NotNamed }
}

/// Evaluates a role's trust policy for `sts:AssumeRole` by the caller.
fn trust_decision(doc: &PolicyDocument, caller: &Principal, action: &str) -> Trust {
    let mut best = Trust::NotNamed;
    for st in &doc.statements {
        if !st.applies_to(&Request {
            action,
            resource: "*",
        }) {
            continue;
        }
        let Some(trailguard_policy::PrincipalSpec::Named(named)) = &st.principal else {
            if matches!(st.principal, Some(trailguard_policy::PrincipalSpec::Any)) {
                match st.effect {
                    trailguard_policy::Effect::Deny => return Trust::Denied,
                    trailguard_policy::Effect::Allow if st.condition.is_none() => {
                        best = Trust::Direct
                    }
                    trailguard_policy::Effect::Allow => {}
                }
            }
            continue;
        };
        let m = named
            .iter()
            .map(|(kind, v)| match (kind.as_str(), caller) {
                ("Service", Principal::Service { .. }) | ("AWS", _) => principal_matches(v, caller),
                _ => Trust::NotNamed,
            })
            .fold(Trust::NotNamed, |acc, t| match (acc, t) {
                (Trust::Direct, _) | (_, Trust::Direct) => Trust::Direct,
                (Trust::ViaAccount, _) | (_, Trust::ViaAccount) => Trust::ViaAccount,
                _ => Trust::NotNamed,
            });
        if m == Trust::NotNamed {
            continue;
        }
        match st.effect {
            trailguard_policy::Effect::Deny => return Trust::Denied,
            trailguard_policy::Effect::Allow if st.condition.is_some() => {}
            trailguard_policy::Effect::Allow => {
                if best != Trust::Direct {
                    best = m;
                }
            }
        }
    }
    best
}

/// Decides `sts:AssumeRole` on `role`: the trust policy must allow the caller, and
/// unless it names the caller directly, so must the caller's identity policies.
/// AWS answers the same `AccessDenied` whether the role is missing or not trusted.
pub fn authorize_assume_role(
    env: &mut Env<'_>,
    role: Option<&Entity>,
    role_arn: &str,
) -> Result<Authorized> {
    let action = "sts:AssumeRole";
    let caller = env.caller.principal.clone();
    let denied = || {
        Error::AccessDenied(format!(
            "User: {} is not authorized to perform: {action} on resource: {role_arn}",
            caller.arn()
        ))
    };
    let Some(role) = role else {
        return Err(denied());
    };
    let doc = role
        .assume_role_policy
        .as_deref()
        .and_then(|d| PolicyDocument::parse(d).ok())
        .ok_or_else(denied)?;
    match trust_decision(&doc, &caller, action) {
        Trust::Direct => Ok(Authorized { _seal: () }),
        Trust::ViaAccount => authorize(env, action, role_arn).map_err(|_| denied()),
        Trust::Denied | Trust::NotNamed => Err(denied()),
    }
}
