//! The policy simulator: `SimulatePrincipalPolicy`, `SimulateCustomPolicy` and
//! the `GetContextKeysFor*` calls, answered by the same engine that authorizes
//! every real call, so a simulation can never disagree with enforcement.
//!
//! A simulation is the cross product of `ActionNames` and `ResourceArns`, which
//! can be large, so it is never built: a result's place in the product is one
//! number (action-major), `Marker` carries the place where the next page starts,
//! and each call evaluates only the pairs of its own page (at most `MaxItems`,
//! AWS's 1 to 1,000). The evaluation is slow work, done outside the store's
//! writer: the handler checks AWS's limits on every input and loads the
//! principal's policies inside the transaction, then asks for a
//! [`SimulationPage`] job (`prepare`) carrying the policy texts, the context and
//! the page's pairs; the job parses and decides with the writer released.

use super::entities::{CustomerPolicy, Entity, Kind, NS_POLICY, key};
use super::{decode_marker, encode_marker};
use crate::error::IamError;
use std::sync::Arc;
use std::time::{Duration, Instant};
use trailguard_core::authz::Authorized;
use trailguard_core::env::Env;
use trailguard_core::error::{Error, Result};
use trailguard_core::params::Params;
use trailguard_core::prepare::{Job, JobContext};
use trailguard_model::Value;
use trailguard_model::cloudtrail::lower_camel;
use trailguard_policy::position::statement_spans;
use trailguard_policy::{Context, Policy, PolicyDocument, PolicyKind, Principal, Query, decide};

/// AWS's limits on the simulator's inputs (its API model): each action name 3
/// to 128 characters, each resource ARN 1 to 2,048, each policy document 1 to
/// 131,072; `MaxItems` 1 to 1,000 (default 100) and `Marker` 1 to 320 are
/// checked by `Params`. AWS documents no limit on how many actions or resources
/// one call names: the request size bounds them, and paging bounds the work.
const ACTION_NAME_LEN: (usize, usize) = (3, 128);
const RESOURCE_ARN_LEN: (usize, usize) = (1, 2048);
const POLICY_DOCUMENT_LEN: (usize, usize) = (1, 131_072);
const CONTEXT_KEY_NAME_LEN: (usize, usize) = (5, 256);
/// The characters a policy document may contain (AWS's pattern
/// `[\u0009\u000A\u000D\u0020-\u00FF]+`).
fn policy_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{ff}')
}

/// A policy as the simulator reports it: its text, which the job parses.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Source {
    id: String,
    /// `user`, `group`, `role`, `aws-managed`, `user-managed`, `resource` or `none`.
    source_type: &'static str,
    kind: PolicyKind,
    text: String,
}

/// Each string of a list member, checked against a length range, with AWS's
/// wording for a list whose member breaks its constraint.
fn checked_list<'a>(
    p: Params<'a>,
    member: &str,
    (min, max): (usize, usize),
) -> Result<Vec<&'a str>> {
    let items = p.str_list(member)?;
    if let Some(bad) = items.iter().find(|item| {
        let n = item.chars().count();
        n < min || n > max
    }) {
        return Err(Error::constraint(
            &lower_camel(member),
            &truncated(bad),
            &format!(
                "Member must satisfy constraint: [Member must have length less than or equal to {max}, Member must have length greater than or equal to {min}]"
            ),
        ));
    }
    Ok(items)
}

/// A value as an error message quotes it: never more than a short prefix.
fn truncated(v: &str) -> String {
    v.chars().take(64).collect()
}

fn input_list(p: Params<'_>, member: &str, kind: PolicyKind) -> Result<Vec<Source>> {
    let texts = checked_list(p, member, POLICY_DOCUMENT_LEN)?;
    texts
        .into_iter()
        .enumerate()
        .map(|(i, text)| {
            if !text.chars().all(policy_char) {
                return Err(Error::constraint(
                    &lower_camel(member),
                    &truncated(text),
                    "Member must satisfy constraint: [Member must satisfy regular expression pattern: [\\u0009\\u000A\\u000D\\u0020-\\u00FF]+]",
                ));
            }
            Ok(Source {
                id: format!("{member}.{}", i + 1),
                source_type: "none",
                kind,
                text: text.to_string(),
            })
        })
        .collect()
}

/// One `ContextEntries` member, as given.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ContextInput {
    name: String,
    values: Vec<String>,
    multi: bool,
}

fn context_entries(p: Params<'_>) -> Result<Vec<ContextInput>> {
    let Some(entries) = p.0.get("ContextEntries").and_then(|v| v.as_array()) else {
        return Ok(Vec::new());
    };
    entries
        .iter()
        .map(|e| {
            let ep = Params(e);
            let name = ep.str_len(
                "ContextKeyName",
                CONTEXT_KEY_NAME_LEN.0,
                CONTEXT_KEY_NAME_LEN.1,
            )?;
            let values = ep
                .str_list("ContextKeyValues")?
                .into_iter()
                .map(str::to_string)
                .collect();
            let ty = ep.opt_str("ContextKeyType")?.unwrap_or("string");
            Ok(ContextInput {
                name: name.to_string(),
                values,
                multi: ty.ends_with("List"),
            })
        })
        .collect()
}

fn context(inputs: &[ContextInput]) -> Context {
    let mut ctx = Context::new();
    for i in inputs {
        if i.multi {
            ctx.set_multi(&i.name, i.values.clone());
        } else if let Some(v) = i.values.first() {
            ctx.set(&i.name, v.clone());
        }
    }
    ctx
}

/// The text of a managed policy's default version (pretty-printed, as its
/// statement positions are reported), or `None` when there is no such policy.
fn managed_text(env: &mut Env<'_>, arn: &str) -> Result<Option<String>> {
    let document = if let Some(m) = env.catalogue.get(arn) {
        m.document.clone()
    } else {
        let Some(name) = arn.rsplit('/').next() else {
            return Ok(None);
        };
        let account = arn.split(':').nth(4).unwrap_or_default().to_string();
        let policy: Option<CustomerPolicy> = env.get(NS_POLICY, &key(&account, name))?;
        let Some(document) = policy.filter(|p| p.arn == arn).and_then(|p| {
            p.versions
                .into_iter()
                .find(|v| v.version_id == p.default_version_id)
                .map(|v| v.document)
        }) else {
            return Ok(None);
        };
        document
    };
    Ok(Some(
        serde_json::from_str::<serde_json::Value>(&document)
            .ok()
            .and_then(|j| serde_json::to_string_pretty(&j).ok())
            .unwrap_or(document),
    ))
}

fn managed_source_type(arn: &str) -> &'static str {
    if arn.starts_with("arn:aws:iam::aws:") {
        "aws-managed"
    } else {
        "user-managed"
    }
}

fn entity_sources(env: &mut Env<'_>, entity: &Entity, out: &mut Vec<Source>) -> Result<()> {
    for arn in &entity.attached {
        let Some(text) = managed_text(env, arn)? else {
            continue;
        };
        out.push(Source {
            id: arn.rsplit('/').next().unwrap_or(arn).to_string(),
            source_type: managed_source_type(arn),
            kind: PolicyKind::Identity,
            text,
        });
    }
    for (name, text) in &entity.inline {
        out.push(Source {
            id: name.clone(),
            source_type: match entity.kind {
                Kind::User => "user",
                Kind::Group => "group",
                Kind::Role => "role",
            },
            kind: PolicyKind::Identity,
            text: text.clone(),
        });
    }
    Ok(())
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
            IamError::NoSuchEntity(format!(
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
        && let Some(text) = managed_text(env, b)?
    {
        out.push(Source {
            id: b.rsplit('/').next().unwrap_or(b).to_string(),
            source_type: managed_source_type(b),
            kind: PolicyKind::PermissionsBoundary,
            text,
        });
    }
    Ok((entity, out))
}

fn position(p: trailguard_policy::position::Position) -> Value {
    Value::structure()
        .with("Line", i64::try_from(p.line).unwrap_or(0))
        .with("Column", i64::try_from(p.column).unwrap_or(0))
}

/// The time one page of a simulation may take before it ends early, with
/// `IsTruncated` and a marker at the first pair it did not evaluate.
pub const PAGE_TIME: Duration = Duration::from_secs(2);

/// One page of a simulation, with everything its results depend on: the
/// policies' texts, who calls, the context, and the page's (action, resource)
/// pairs. Its memory is one page's, whatever the size of the whole product.
#[derive(Debug, PartialEq, Eq)]
pub struct SimulationPage {
    sources: Vec<Source>,
    caller_arn: String,
    caller_account: String,
    resource_owner: Option<String>,
    context: Vec<ContextInput>,
    pairs: Vec<(String, String)>,
}

impl Job for SimulationPage {
    /// The page's `EvaluationResults`, or why a policy does not parse.
    type Output = std::result::Result<Arc<Vec<Value>>, String>;

    fn run(&self, _: &JobContext<'_>) -> Self::Output {
        let documents = self
            .sources
            .iter()
            .map(|s| PolicyDocument::parse(&s.text).map_err(|e| e.0))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let policies: Vec<Policy<'_>> = self
            .sources
            .iter()
            .zip(&documents)
            .map(|(s, document)| Policy {
                id: &s.id,
                kind: s.kind,
                document,
            })
            .collect();
        // Statement positions, worked out once per policy that matches.
        let mut spans: Vec<Option<Vec<_>>> = vec![None; self.sources.len()];
        let has_boundary = self
            .sources
            .iter()
            .any(|s| s.kind == PolicyKind::PermissionsBoundary);
        let ctx = context(&self.context);
        let mut results = Vec::with_capacity(self.pairs.len());
        let started = Instant::now();
        for (action, resource) in &self.pairs {
            // Policies and ARNs are the caller's to make costly to match: a
            // page ends early (truncated, its marker at the next pair) once it
            // has used its time, so no call holds a worker for long.
            if !results.is_empty() && started.elapsed() >= PAGE_TIME {
                break;
            }
            let q = Query {
                principal: Principal {
                    arn: &self.caller_arn,
                    account: &self.caller_account,
                    role_arn: None,
                    is_service: false,
                    is_root: false,
                },
                action,
                resource,
                resource_account: self.resource_owner.as_deref(),
                context: &ctx,
            };
            let d = decide(&policies, &q);
            let matched: Vec<Value> = d
                .matched
                .iter()
                .filter_map(|m| {
                    let i = self.sources.iter().position(|s| s.id == m.policy)?;
                    let src = self.sources.get(i)?;
                    let slot = spans.get_mut(i)?;
                    let (start, end) = slot
                        .get_or_insert_with(|| statement_spans(&src.text))
                        .get(m.statement)
                        .copied()?;
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
                .with("EvalActionName", action.as_str())
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
            results.push(result);
        }
        Ok(Arc::new(results))
    }
}

/// Where a page starts: the place `Marker` carries (0 without one).
fn page_start(p: Params<'_>, total: usize) -> Result<usize> {
    let Some(marker) = decode_marker(p.marker()?)? else {
        return Ok(0);
    };
    marker
        .strip_prefix("sim:")
        .and_then(|n| n.parse::<usize>().ok())
        .filter(|n| *n > 0 && *n < total)
        .ok_or_else(|| Error::ValidationError("Invalid Marker.".into()))
}

/// Checks the inputs, works out the page, and has it evaluated outside the
/// transaction.
fn simulate(
    env: &mut Env<'_>,
    p: Params<'_>,
    mut sources: Vec<Source>,
    caller_arn: &str,
    caller_account: &str,
) -> Result<Value> {
    let actions = checked_list(p, "ActionNames", ACTION_NAME_LEN)?;
    if actions.is_empty() {
        return Err(Error::missing("actionNames"));
    }
    let mut resources = checked_list(p, "ResourceArns", RESOURCE_ARN_LEN)?;
    if resources.is_empty() {
        resources.push("*");
    }
    if let Some(rp) = p.opt_str_len(
        "ResourcePolicy",
        POLICY_DOCUMENT_LEN.0,
        POLICY_DOCUMENT_LEN.1,
    )? {
        sources.push(Source {
            id: "ResourcePolicy".into(),
            source_type: "resource",
            kind: PolicyKind::Resource,
            text: rp.to_string(),
        });
    }
    let resource_owner = p
        .opt_str_len("ResourceOwner", 1, 2048)?
        .map(|o| o.split(':').nth(4).unwrap_or(o).to_string());
    let context = context_entries(p)?;
    let max = p.max_items()?;
    let total = actions.len().saturating_mul(resources.len());
    let start = page_start(p, total)?;
    let end = start.saturating_add(max).min(total);
    let width = resources.len().max(1);
    let pairs = (start..end)
        .filter_map(|i| {
            let action = actions.get(i / width)?;
            let resource = resources.get(i % width)?;
            Some(((*action).to_string(), (*resource).to_string()))
        })
        .collect();
    let job = SimulationPage {
        sources,
        caller_arn: caller_arn.to_string(),
        caller_account: caller_account.to_string(),
        resource_owner,
        context,
        pairs,
    };
    let results = env
        .prepared(job)?
        .map_err(IamError::MalformedPolicyDocument)?;
    // A page cut short by its time budget ends where its results end.
    let end = start.saturating_add(results.len()).min(end);
    let next = (end < total).then(|| encode_marker(&format!("sim:{end}")));
    Ok(Value::structure()
        .with("EvaluationResults", Value::List(results.as_ref().clone()))
        .with("IsTruncated", next.is_some())
        .with("Marker", next))
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
        .opt_str_len("CallerArn", 1, 2048)?
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
    let caller = p.opt_str_len("CallerArn", 1, 2048)?.map_or_else(
        || format!("arn:aws:iam::{account}:user/simulated"),
        str::to_string,
    );
    simulate(env, p, sources, &caller, &account)
}

/// The context keys some policies use: parsing them is left to a job too.
#[derive(Debug, PartialEq, Eq)]
pub struct ContextKeys(Vec<Source>);

impl Job for ContextKeys {
    /// The keys, sorted case-insensitively, or why a policy does not parse.
    type Output = std::result::Result<Arc<Vec<String>>, String>;

    fn run(&self, _: &JobContext<'_>) -> Self::Output {
        let mut keys: Vec<String> = Vec::new();
        for s in &self.0 {
            let document = PolicyDocument::parse(&s.text).map_err(|e| e.0)?;
            for k in document.context_keys() {
                if !keys.iter().any(|have| have.eq_ignore_ascii_case(&k)) {
                    keys.push(k);
                }
            }
        }
        keys.sort_by_key(|k| k.to_ascii_lowercase());
        Ok(Arc::new(keys))
    }
}

fn keys_value(env: &Env<'_>, sources: Vec<Source>) -> Result<Value> {
    let keys = env
        .prepared(ContextKeys(sources))?
        .map_err(IamError::MalformedPolicyDocument)?;
    Ok(Value::structure().with("ContextKeyNames", keys.as_ref().clone()))
}

pub fn get_context_keys_for_custom_policy(
    env: &mut Env<'_>,
    _: &Authorized,
    p: Params<'_>,
) -> Result<Value> {
    let sources = input_list(p, "PolicyInputList", PolicyKind::Identity)?;
    if sources.is_empty() {
        return Err(Error::missing("policyInputList"));
    }
    keys_value(env, sources)
}

pub fn get_context_keys_for_principal_policy(
    env: &mut Env<'_>,
    _: &Authorized,
    p: Params<'_>,
) -> Result<Value> {
    let arn = p.str_len("PolicySourceArn", 20, 2048)?.to_string();
    let (_, mut sources) = principal_sources(env, &arn)?;
    sources.extend(input_list(p, "PolicyInputList", PolicyKind::Identity)?);
    keys_value(env, sources)
}
