//! The policy simulator: `SimulatePrincipalPolicy`, `SimulateCustomPolicy` and
//! the `GetContextKeysFor*` calls, answered by the same engine that authorizes
//! every real call, so a simulation can never disagree with enforcement.

use super::entities::{Entity, Kind, key};
use super::paginate;
use crate::authz::{Authorized, managed_document};
use crate::env::Env;
use crate::error::{Error, Result};
use crate::params::Params;
use std::sync::Arc;
use trailguard_model::Value;
use trailguard_policy::position::statement_spans;
use trailguard_policy::{Context, Policy, PolicyDocument, PolicyKind, Principal, Query, decide};

/// A policy as the simulator reports it.
struct Source {
    id: String,
    /// `user`, `group`, `role`, `aws-managed`, `user-managed`, `resource` or `none`.
    source_type: &'static str,
    kind: PolicyKind,
    text: String,
    document: Arc<PolicyDocument>,
}

fn parse_input(
    text: &str,
    id: String,
    kind: PolicyKind,
    source_type: &'static str,
) -> Result<Source> {
    let document = PolicyDocument::parse(text).map_err(|e| Error::MalformedPolicyDocument(e.0))?;
    Ok(Source {
        id,
        source_type,
        kind,
        text: text.to_string(),
        document: Arc::new(document),
    })
}

fn input_list(p: Params<'_>, member: &str, kind: PolicyKind) -> Result<Vec<Source>> {
    p.str_list(member)?
        .into_iter()
        .enumerate()
        .map(|(i, text)| parse_input(text, format!("{member}.{}", i + 1), kind, "none"))
        .collect()
}

/// `ContextEntries` as a request context.
fn context_entries(p: Params<'_>) -> Result<Context> {
    let mut ctx = Context::new();
    let Some(entries) = p.0.get("ContextEntries").and_then(|v| v.as_array()) else {
        return Ok(ctx);
    };
    for e in entries {
        let ep = Params(e);
        let name = ep.str("ContextKeyName")?;
        let values: Vec<String> = ep
            .str_list("ContextKeyValues")?
            .into_iter()
            .map(str::to_string)
            .collect();
        let ty = ep.opt_str("ContextKeyType")?.unwrap_or("string");
        if ty.ends_with("List") {
            ctx.set_multi(name, values);
        } else if let Some(v) = values.into_iter().next() {
            ctx.set(name, v);
        }
    }
    Ok(ctx)
}

fn entity_sources(env: &mut Env<'_>, entity: &Entity, out: &mut Vec<Source>) -> Result<()> {
    for arn in &entity.attached {
        let Some(document) = managed_document(env, arn)? else {
            continue;
        };
        let aws = arn.starts_with("arn:aws:iam::aws:");
        out.push(Source {
            id: arn.rsplit('/').next().unwrap_or(arn).to_string(),
            source_type: if aws { "aws-managed" } else { "user-managed" },
            kind: PolicyKind::Identity,
            text: serde_json::to_string_pretty(&document_json(env, arn)?).unwrap_or_default(),
            document,
        });
    }
    for (name, text) in &entity.inline {
        out.push(parse_input(
            text,
            name.clone(),
            PolicyKind::Identity,
            match entity.kind {
                Kind::User => "user",
                Kind::Group => "group",
                Kind::Role => "role",
            },
        )?);
    }
    Ok(())
}

/// The JSON of a managed policy's default version, for positions.
fn document_json(env: &mut Env<'_>, arn: &str) -> Result<serde_json::Value> {
    if let Some(m) = env.catalogue.get(arn) {
        return Ok(serde_json::from_str(&m.document).unwrap_or_default());
    }
    let name = arn.rsplit('/').next().unwrap_or_default();
    let account = env.account.clone();
    let policy: Option<super::entities::CustomerPolicy> =
        env.get(super::entities::NS_POLICY, &key(&account, name))?;
    Ok(policy
        .and_then(|p| {
            p.versions
                .into_iter()
                .find(|v| v.version_id == p.default_version_id)
        })
        .and_then(|v| serde_json::from_str(&v.document).ok())
        .unwrap_or_default())
}

/// The entity named by `PolicySourceArn` and every policy that applies to it.
fn principal_sources(env: &mut Env<'_>, arn: &str) -> Result<(Entity, Vec<Source>)> {
    let account = env.account.clone();
    let rest = arn
        .strip_prefix(&format!("arn:aws:iam::{account}:"))
        .ok_or_else(|| Error::InvalidInput(format!("Invalid ARN: {arn}")))?;
    let kind = match rest.split('/').next() {
        Some("user") => Kind::User,
        Some("group") => Kind::Group,
        Some("role") => Kind::Role,
        _ => return Err(Error::InvalidInput(format!("Invalid ARN: {arn}"))),
    };
    let name = rest.rsplit('/').next().unwrap_or_default();
    let entity: Entity = env
        .get(kind.ns(), &key(&account, name))?
        .filter(|e: &Entity| e.arn == arn)
        .ok_or_else(|| {
            Error::NoSuchEntity(format!(
                "The {} with name {name} cannot be found.",
                kind.noun()
            ))
        })?;
    let mut out = Vec::new();
    entity_sources(env, &entity, &mut out)?;
    for g in entity.groups.clone() {
        let group: Option<Entity> = env.get(Kind::Group.ns(), &key(&account, &g))?;
        if let Some(group) = group {
            entity_sources(env, &group, &mut out)?;
        }
    }
    if let Some(b) = &entity.permissions_boundary
        && let Some(document) = managed_document(env, b)?
    {
        out.push(Source {
            id: b.rsplit('/').next().unwrap_or(b).to_string(),
            source_type: if b.starts_with("arn:aws:iam::aws:") {
                "aws-managed"
            } else {
                "user-managed"
            },
            kind: PolicyKind::PermissionsBoundary,
            text: serde_json::to_string_pretty(&document_json(env, b)?).unwrap_or_default(),
            document,
        });
    }
    Ok((entity, out))
}

fn position(p: trailguard_policy::position::Position) -> Value {
    Value::structure()
        .with("Line", i64::try_from(p.line).unwrap_or(0))
        .with("Column", i64::try_from(p.column).unwrap_or(0))
}

/// Runs the simulation for every action and resource.
fn simulate(
    env: &mut Env<'_>,
    p: Params<'_>,
    sources: Vec<Source>,
    caller_arn: &str,
    caller_account: &str,
) -> Result<Value> {
    let actions = p.str_list("ActionNames")?;
    if actions.is_empty() {
        return Err(Error::missing("actionNames"));
    }
    let mut resources: Vec<String> = p
        .str_list("ResourceArns")?
        .into_iter()
        .map(str::to_string)
        .collect();
    if resources.is_empty() {
        resources.push("*".into());
    }
    let mut sources = sources;
    if let Some(rp) = p.opt_str("ResourcePolicy")? {
        sources.push(parse_input(
            rp,
            "ResourcePolicy".into(),
            PolicyKind::Resource,
            "resource",
        )?);
    }
    let resource_owner = p
        .opt_str("ResourceOwner")?
        .map(|o| o.split(':').nth(4).unwrap_or(o).to_string());
    let ctx = context_entries(p)?;
    let policies: Vec<Policy<'_>> = sources
        .iter()
        .map(|s| Policy {
            id: &s.id,
            kind: s.kind,
            document: s.document.as_ref(),
        })
        .collect();
    let has_boundary = sources
        .iter()
        .any(|s| s.kind == PolicyKind::PermissionsBoundary);
    let mut results = Vec::new();
    for action in &actions {
        for resource in &resources {
            let q = Query {
                principal: Principal {
                    arn: caller_arn,
                    account: caller_account,
                    role_arn: None,
                    is_service: false,
                    is_root: false,
                },
                action,
                resource,
                resource_account: resource_owner.as_deref(),
                context: &ctx,
            };
            let d = decide(&policies, &q);
            let matched: Vec<Value> = d
                .matched
                .iter()
                .filter_map(|m| {
                    let src = sources.iter().find(|s| s.id == m.policy)?;
                    let spans = statement_spans(&src.text);
                    let (start, end) = spans.get(m.statement).copied()?;
                    Some(
                        Value::structure()
                            .with("SourcePolicyId", &src.id)
                            .with("SourcePolicyType", src.source_type)
                            .with("StartPosition", position(start))
                            .with("EndPosition", position(end)),
                    )
                })
                .collect();
            let mut result = Value::structure()
                .with("EvalActionName", *action)
                .with("EvalResourceName", resource.as_str())
                .with("EvalDecision", d.outcome.simulator_name())
                .with("MatchedStatements", Value::List(matched))
                .with("MissingContextValues", d.missing_context.clone());
            if has_boundary {
                let allowed = !matches!(
                    d.reason,
                    trailguard_policy::Reason::NoAllow(PolicyKind::PermissionsBoundary)
                        | trailguard_policy::Reason::ExplicitDeny(PolicyKind::PermissionsBoundary)
                );
                result = result.with(
                    "PermissionsBoundaryDecisionDetail",
                    Value::structure().with("AllowedByPermissionsBoundary", allowed),
                );
            }
            results.push((format!("{:06}", results.len()), result));
        }
    }
    let _ = env;
    Ok(paginate(results, p, Clone::clone)?.into_value("EvaluationResults"))
}

pub fn simulate_principal_policy(
    env: &mut Env<'_>,
    _: &Authorized,
    p: Params<'_>,
) -> Result<Value> {
    let arn = p.str_len("PolicySourceArn", 20, 2048)?.to_string();
    let (entity, mut sources) = principal_sources(env, &arn)?;
    sources.extend(input_list(p, "PolicyInputList", PolicyKind::Identity)?);
    let boundary_inputs = input_list(
        p,
        "PermissionsBoundaryPolicyInputList",
        PolicyKind::PermissionsBoundary,
    )?;
    if !boundary_inputs.is_empty() {
        // Given boundaries replace the entity's own.
        sources.retain(|s| s.kind != PolicyKind::PermissionsBoundary);
        sources.extend(boundary_inputs);
    }
    let caller = p
        .opt_str("CallerArn")?
        .map_or(entity.arn.clone(), str::to_string);
    let account = env.account.clone();
    simulate(env, p, sources, &caller, &account)
}

pub fn simulate_custom_policy(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let mut sources = input_list(p, "PolicyInputList", PolicyKind::Identity)?;
    if sources.is_empty() {
        return Err(Error::missing("policyInputList"));
    }
    sources.extend(input_list(
        p,
        "PermissionsBoundaryPolicyInputList",
        PolicyKind::PermissionsBoundary,
    )?);
    let account = env.account.clone();
    let caller = p.opt_str("CallerArn")?.map_or_else(
        || format!("arn:aws:iam::{account}:user/simulated"),
        str::to_string,
    );
    simulate(env, p, sources, &caller, &account)
}

fn keys_value(sources: &[Source]) -> Value {
    let mut keys: Vec<String> = Vec::new();
    for s in sources {
        for k in s.document.context_keys() {
            if !keys.iter().any(|have| have.eq_ignore_ascii_case(&k)) {
                keys.push(k);
            }
        }
    }
    keys.sort_by_key(|k| k.to_ascii_lowercase());
    Value::structure().with("ContextKeyNames", keys)
}

pub fn get_context_keys_for_custom_policy(
    _: &mut Env<'_>,
    _: &Authorized,
    p: Params<'_>,
) -> Result<Value> {
    let sources = input_list(p, "PolicyInputList", PolicyKind::Identity)?;
    if sources.is_empty() {
        return Err(Error::missing("policyInputList"));
    }
    Ok(keys_value(&sources))
}

pub fn get_context_keys_for_principal_policy(
    env: &mut Env<'_>,
    _: &Authorized,
    p: Params<'_>,
) -> Result<Value> {
    let arn = p.str_len("PolicySourceArn", 20, 2048)?.to_string();
    let (_, mut sources) = principal_sources(env, &arn)?;
    sources.extend(input_list(p, "PolicyInputList", PolicyKind::Identity)?);
    Ok(keys_value(&sources))
}
