//! Role trust policies: their validation, and the pinning of the IAM principals
//! they name to those principals' unique ids.
//!
//! AWS checks that every user and role a trust policy names exists, and ties the
//! grant to that entity's unique id: if the user or role is deleted, the trust
//! policy shows its unique id instead of its ARN, and a new entity created with
//! the same name is not trusted. trailguard does the same by rewriting the
//! trust policies that named an entity when the entity is deleted.

use super::entities::{Entity, Kind, account_prefix, key, policy_size};
use crate::error::IamError;
use serde_json::Value as Json;
use std::collections::BTreeMap;
use trailguard_core::env::Env;
use trailguard_core::error::Result;
use trailguard_policy::PolicyDocument;

/// The AWS principal strings of a trust policy (`Principal.AWS`), in order.
fn aws_principals(doc: &Json) -> Vec<String> {
    let statements = match doc.get("Statement") {
        Some(Json::Array(items)) => items.clone(),
        Some(obj @ Json::Object(_)) => vec![obj.clone()],
        _ => Vec::new(),
    };
    let mut out = Vec::new();
    for st in statements {
        match st.get("Principal").and_then(|p| p.get("AWS")) {
            Some(Json::String(s)) => out.push(s.clone()),
            Some(Json::Array(items)) => {
                out.extend(items.iter().filter_map(|i| i.as_str().map(str::to_string)))
            }
            _ => {}
        }
    }
    out
}

/// Validates a trust policy and returns the unique ids of the users and roles of
/// this account that it names, by ARN.
pub fn check(env: &mut Env<'_>, doc: &str) -> Result<BTreeMap<String, String>> {
    if policy_size(doc) > 2048 {
        return Err(
            IamError::LimitExceeded("Cannot exceed quota for ACLSizePerRole: 2048".into()).into(),
        );
    }
    let json: Json = serde_json::from_str(doc).map_err(|_| {
        IamError::MalformedPolicyDocument("This policy contains invalid Json".into())
    })?;
    let parsed = PolicyDocument::parse(doc).map_err(|e| IamError::MalformedPolicyDocument(e.0))?;
    parsed
        .validate_trust()
        .map_err(|e| IamError::MalformedPolicyDocument(e.0))?;
    let account = env.account.clone();
    let mut pins = BTreeMap::new();
    for principal in aws_principals(&json) {
        let Some(rest) = principal.strip_prefix(&format!("arn:aws:iam::{account}:")) else {
            continue;
        };
        let kind = if rest.starts_with("user/") {
            Kind::User
        } else if rest.starts_with("role/") {
            Kind::Role
        } else {
            continue;
        };
        let name = rest.rsplit('/').next().unwrap_or_default();
        let entity: Option<Entity> = env.get(kind.ns(), &key(&account, name))?;
        match entity.filter(|e| e.arn == principal) {
            Some(e) => {
                pins.insert(principal, e.id);
            }
            None => {
                return Err(IamError::MalformedPolicyDocument(format!(
                    "Invalid principal in policy: \"AWS\":\"{principal}\""
                ))
                .into());
            }
        }
    }
    Ok(pins)
}

/// Replaces `arn` with `id` wherever a trust policy names it.
fn replace_principal(doc: &mut Json, arn: &str, id: &str) {
    let statements: Vec<&mut Json> = match doc.get_mut("Statement") {
        Some(Json::Array(items)) => items.iter_mut().collect(),
        Some(obj @ Json::Object(_)) => vec![obj],
        _ => Vec::new(),
    };
    for st in statements {
        let Some(aws) = st.get_mut("Principal").and_then(|p| p.get_mut("AWS")) else {
            continue;
        };
        match aws {
            Json::String(s) if s == arn => *s = id.to_string(),
            Json::Array(items) => {
                for i in items.iter_mut() {
                    if i.as_str() == Some(arn) {
                        *i = Json::String(id.to_string());
                    }
                }
            }
            _ => {}
        }
    }
}

/// Rewrites every trust policy that names `arn` (pinned to `id`) to name
/// `replacement`; the pin moves with it unless the replacement is the id itself.
fn rewrite(env: &mut Env<'_>, arn: &str, id: &str, replacement: &str) -> Result<()> {
    let account = env.account.clone();
    let roles: Vec<Entity> = env.scan_all(Kind::Role.ns(), &account_prefix(&account))?;
    for mut role in roles {
        if role.trust_pins.get(arn).map(String::as_str) != Some(id) {
            continue;
        }
        let Some(mut doc) = role
            .assume_role_policy
            .as_deref()
            .and_then(|d| serde_json::from_str::<Json>(d).ok())
        else {
            continue;
        };
        replace_principal(&mut doc, arn, replacement);
        role.assume_role_policy = Some(doc.to_string());
        role.trust_pins.remove(arn);
        if replacement != id {
            role.trust_pins
                .insert(replacement.to_string(), id.to_string());
        }
        super::principals::save(env, &role)?;
    }
    Ok(())
}

/// After `deleted` is gone, every trust policy that named it names its unique id.
pub fn unpin(env: &mut Env<'_>, deleted: &Entity) -> Result<()> {
    rewrite(env, &deleted.arn, &deleted.id, &deleted.id)
}

/// After a rename or move, trust policies name the entity by its new ARN.
pub fn repin(env: &mut Env<'_>, old_arn: &str, new_arn: &str, id: &str) -> Result<()> {
    rewrite(env, old_arn, id, new_arn)
}
