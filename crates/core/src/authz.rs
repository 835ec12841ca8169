//! The authorization point every operation passes.
//!
//! Operation handlers take an [`Authorized`] proof, and only this module can make
//! one, so no handler can run without a decision. A decision gathers every policy
//! that applies (the caller's identity policies, its permissions boundary, its
//! session policies, and the resource's policy when there is one: a role's trust
//! policy for `AssumeRole`, a bucket's policy for every S3 call on the bucket or
//! its objects, including those CloudTrail and GuardDuty make as their service
//! principals) and the request context, and asks `trailguard-policy` to decide. Denials carry AWS's message,
//! and the decision trace is kept for the audit record.

use crate::env::Env;
use crate::error::{Error, Result};
use crate::identity::{CustomerPolicy, Entity, Kind, NS_POLICY, NS_SESSION, Session, key};
use crate::params::Params;
use std::sync::Arc;
use trailguard_model::Principal;
use trailguard_model::clock::iso8601;
use trailguard_model::error::quote;
use trailguard_policy::{Context, Decision, Policy, PolicyDocument, PolicyKind, Query, Reason};

/// Proof that an action was decided and allowed on a resource. Only this
/// module constructs it, and it names what it authorizes: the core checks
/// that the proof a handler gets is for the operation it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorized {
    action: String,
    resource: String,
}

impl Authorized {
    fn new(action: &str, resource: &str) -> Self {
        Self {
            action: action.to_string(),
            resource: resource.to_string(),
        }
    }

    /// The IAM action allowed (`iam:CreateUser`).
    pub fn action(&self) -> &str {
        &self.action
    }

    /// The resource it was allowed on.
    pub fn resource(&self) -> &str {
        &self.resource
    }
}

/// A policy document with its kind and how decisions name it.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub id: String,
    pub kind: PolicyKind,
    pub document: Arc<PolicyDocument>,
}

/// Loads a managed policy's default version (AWS or customer).
pub fn managed_document(env: &mut Env<'_>, arn: &str) -> Result<Option<Arc<PolicyDocument>>> {
    if let Some(p) = env.catalogue.get(arn) {
        return Ok(Some(Arc::clone(&p.parsed)));
    }
    let Some(name) = arn.rsplit('/').next() else {
        return Ok(None);
    };
    let account = arn.split(':').nth(4).unwrap_or_default().to_string();
    let policy: Option<CustomerPolicy> = env.get(NS_POLICY, &key(&account, name))?;
    Ok(policy.filter(|p| p.arn == arn).and_then(|p| {
        p.versions
            .iter()
            .find(|v| v.version_id == p.default_version_id)
            .and_then(|v| PolicyDocument::parse(&v.document).ok())
            .map(Arc::new)
    }))
}

fn entity_documents(env: &mut Env<'_>, entity: &Entity, out: &mut Vec<Loaded>) -> Result<()> {
    for arn in &entity.attached {
        if let Some(document) = managed_document(env, arn)? {
            out.push(Loaded {
                id: arn.clone(),
                kind: PolicyKind::Identity,
                document,
            });
        }
    }
    for (name, doc) in &entity.inline {
        if let Ok(document) = PolicyDocument::parse(doc) {
            out.push(Loaded {
                id: format!("{}/{}/{name}", entity.kind.noun(), entity.name),
                kind: PolicyKind::Identity,
                document: Arc::new(document),
            });
        }
    }
    Ok(())
}

/// The IAM entity behind a principal (the user, or the role of a session).
/// Permissions follow the entity's unique id, not its name: a session of a role
/// (or a user) that was deleted and re-created gets nothing from the new one.
fn principal_entity(env: &mut Env<'_>, principal: &Principal) -> Result<Option<Entity>> {
    let (kind, name, account, id) = match principal {
        Principal::User {
            name,
            account_id,
            id,
            ..
        } => (Kind::User, name, account_id, id),
        Principal::AssumedRole {
            role_name,
            account_id,
            role_id,
            ..
        } => (Kind::Role, role_name, account_id, role_id),
        Principal::Root { .. } | Principal::Service { .. } => return Ok(None),
    };
    let entity: Option<Entity> = env.get(kind.ns(), &key(account, name))?;
    Ok(entity.filter(|e| e.id == *id))
}

/// Every policy that applies to the caller: identity policies (its own and its
/// groups'), its permissions boundary and its session policies.
pub fn caller_policies(env: &mut Env<'_>) -> Result<Vec<Loaded>> {
    let mut out = Vec::new();
    let principal = env.caller.principal.clone();
    let Some(entity) = principal_entity(env, &principal)? else {
        return Ok(out);
    };
    entity_documents(env, &entity, &mut out)?;
    for group in &entity.groups {
        let g: Option<Entity> = env.get(Kind::Group.ns(), &key(principal.account_id(), group))?;
        if let Some(g) = g {
            entity_documents(env, &g, &mut out)?;
        }
    }
    if let Some(arn) = &entity.permissions_boundary {
        // A boundary that no longer exists allows nothing.
        let document =
            managed_document(env, arn)?.unwrap_or_else(|| Arc::new(PolicyDocument::empty()));
        out.push(Loaded {
            id: arn.clone(),
            kind: PolicyKind::PermissionsBoundary,
            document,
        });
    }
    if env.caller.session.is_some() {
        let id = env.caller.access_key_id.clone();
        let session: Option<Session> = env.get(NS_SESSION, &id)?;
        for (i, doc) in session
            .map(|s| s.policies)
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            let document = match doc.strip_prefix("arn:") {
                Some(_) => managed_document(env, doc)?,
                None => PolicyDocument::parse(doc).ok().map(Arc::new),
            };
            out.push(Loaded {
                id: if doc.starts_with("arn:") {
                    doc.clone()
                } else {
                    format!("session-policy/{i}")
                },
                kind: PolicyKind::Session,
                document: document.unwrap_or_else(|| Arc::new(PolicyDocument::empty())),
            });
        }
    }
    Ok(out)
}

fn tags_into(ctx: &mut Context, prefix: &str, tags: &[crate::params::Tag]) {
    for t in tags {
        ctx.set(&format!("{prefix}/{}", t.key), t.value.clone());
    }
}

/// The request context: AWS's global keys for this caller and request, plus the
/// service keys and tags the request's parameters carry.
pub fn request_context(env: &mut Env<'_>, params: Params<'_>, resource: &str) -> Result<Context> {
    let mut ctx = Context::new();
    let principal = env.caller.principal.clone();
    let principal_arn = match &principal {
        // For a role session, aws:PrincipalArn is the role's ARN.
        Principal::AssumedRole { role_arn, .. } => role_arn.clone(),
        other => other.arn(),
    };
    ctx.set("aws:PrincipalArn", principal_arn)
        .set("aws:PrincipalAccount", principal.account_id())
        .set("aws:PrincipalType", principal.principal_type())
        .set("aws:userid", principal.principal_id())
        .set("aws:SourceIp", env.ctx.source_ip.clone())
        .set("aws:CurrentTime", iso8601(env.now))
        .set("aws:EpochTime", env.now.unix_timestamp().to_string())
        .set("aws:SecureTransport", env.ctx.secure_transport.to_string())
        .set("aws:UserAgent", env.ctx.user_agent.clone())
        .set("aws:RequestedRegion", env.ctx.region.clone())
        .set("aws:ViaAWSService", env.via_service.is_some().to_string())
        .set(
            "aws:PrincipalIsAWSService",
            matches!(principal, Principal::Service { .. }).to_string(),
        );
    if let Principal::User { name, .. } = &principal {
        ctx.set("aws:username", name.clone());
    }
    if let Principal::Service { service } = &principal {
        ctx.set("aws:PrincipalServiceName", service.clone());
    }
    if let Some(session) = &env.caller.session {
        ctx.set("aws:TokenIssueTime", iso8601(session.issued_at))
            .set(
                "aws:MultiFactorAuthPresent",
                session.mfa_authenticated.to_string(),
            );
    }
    if let Some(entity) = principal_entity(env, &principal)? {
        tags_into(&mut ctx, "aws:PrincipalTag", &entity.tags);
    }
    // Service keys, from the parameters that carry them.
    for (param, ctx_key) in [
        ("PolicyArn", "iam:PolicyARN"),
        ("PermissionsBoundary", "iam:PermissionsBoundary"),
        ("AWSServiceName", "iam:AWSServiceName"),
        ("RoleSessionName", "sts:RoleSessionName"),
        ("ExternalId", "sts:ExternalId"),
    ] {
        if let Ok(Some(v)) = params.opt_str(param) {
            ctx.set(ctx_key, v.to_string());
        }
    }
    if let Some(keeper) = env.registry.resource_policies(resource) {
        for (param, ctx_key) in keeper.context_keys() {
            if let Ok(Some(v)) = params.opt_str(param) {
                ctx.set(ctx_key, v.to_string());
            }
        }
    }
    if let Ok(tags) = params.tags("Tags")
        && !tags.is_empty()
    {
        tags_into(&mut ctx, "aws:RequestTag", &tags);
        ctx.set_multi("aws:TagKeys", tags.iter().map(|t| t.key.clone()).collect());
    }
    if let Ok(keys) = params.str_list("TagKeys")
        && !keys.is_empty()
    {
        ctx.set_multi(
            "aws:TagKeys",
            keys.iter().map(|k| (*k).to_string()).collect(),
        );
    }
    // Tags and boundary of the IAM user or role the call acts on.
    if let Some(target) = resource_entity(env, resource)? {
        // A boundary given in the request wins; otherwise the target's own.
        let requested = params.opt_str("PermissionsBoundary").ok().flatten();
        if let (None, Some(b)) = (requested, &target.permissions_boundary) {
            ctx.set("iam:PermissionsBoundary", b.clone());
        }
        tags_into(&mut ctx, "aws:ResourceTag", &target.tags);
        if target.kind == Kind::Role {
            tags_into(&mut ctx, "iam:ResourceTag", &target.tags);
        }
    }
    Ok(ctx)
}

/// The user or role an IAM ARN names, in the account the ARN names (a
/// cross-account role's tags are its own account's).
fn resource_entity(env: &mut Env<'_>, resource: &str) -> Result<Option<Entity>> {
    let Some((account, rest)) = resource
        .strip_prefix("arn:aws:iam::")
        .and_then(|r| r.split_once(':'))
    else {
        return Ok(None);
    };
    if account != env.account && !crate::identity::account_exists(env, account)? {
        return Ok(None);
    }
    let kind = if rest.starts_with("user/") {
        Kind::User
    } else if rest.starts_with("role/") {
        Kind::Role
    } else {
        return Ok(None);
    };
    let name = rest.rsplit('/').next().unwrap_or_default();
    let e: Option<Entity> = env.get(kind.ns(), &key(account, name))?;
    Ok(e.filter(|e| e.arn == resource))
}

fn eval_principal<'a>(p: &'a Principal, arn: &'a str) -> trailguard_policy::Principal<'a> {
    trailguard_policy::Principal {
        arn,
        account: p.account_id(),
        role_arn: match p {
            Principal::AssumedRole { role_arn, .. } => Some(role_arn.as_str()),
            _ => None,
        },
        is_service: matches!(p, Principal::Service { .. }),
        is_root: matches!(p, Principal::Root { .. }),
    }
}

/// AWS's `AccessDenied` text for a decision.
pub fn denial_message(who: &str, action: &str, resource: &str, decision: &Decision) -> String {
    // The resource ARN carries client input (a name of any length): quote it bounded.
    let head = format!(
        "User: {who} is not authorized to perform: {action} on resource: {}",
        quote(resource)
    );
    let article = |kind: PolicyKind| match kind {
        PolicyKind::Identity => "an",
        PolicyKind::Resource
        | PolicyKind::PermissionsBoundary
        | PolicyKind::Session
        | PolicyKind::Trust
        | PolicyKind::ServiceControl => "a",
    };
    match decision.reason {
        Reason::ExplicitDeny(kind) => {
            let arn = decision
                .matched
                .first()
                .map(|m| m.policy.as_str())
                .filter(|p| p.starts_with("arn:"));
            match arn {
                Some(arn) => format!(
                    "{head} with an explicit deny in {} {}: {arn}",
                    article(kind),
                    kind.describe()
                ),
                None => format!(
                    "{head} with an explicit deny in {} {}",
                    article(kind),
                    kind.describe()
                ),
            }
        }
        Reason::NoAllow(kind) => format!(
            "{head} because no {} allows the {action} action",
            kind.describe()
        ),
        Reason::Allowed => head,
    }
}

/// The decision as a trace for the audit record: outcome, reason and the
/// statements that decided.
pub fn trace(decision: &Decision) -> serde_json::Value {
    serde_json::json!({
        "decision": decision.outcome.simulator_name(),
        "reason": match decision.reason {
            Reason::Allowed => "allowed".to_string(),
            Reason::ExplicitDeny(k) => format!("explicit deny in {}", k.describe()),
            Reason::NoAllow(k) => format!("no {} allows the action", k.describe()),
        },
        "matchedStatements": decision.matched.iter().map(|m| serde_json::json!({
            "policy": m.policy,
            "policyType": m.kind.describe(),
            "statementIndex": m.statement,
            "sid": m.sid,
        })).collect::<Vec<_>>(),
        "missingContextValues": decision.missing_context,
    })
}

fn decide_with(
    env: &mut Env<'_>,
    mut policies: Vec<Loaded>,
    resource_policy: Option<Loaded>,
    action: &str,
    resource: &str,
    resource_account: Option<&str>,
    ctx: &Context,
) -> Decision {
    if let Some(r) = resource_policy {
        policies.push(r);
    }
    let principal = env.caller.principal.clone();
    let arn = principal.arn();
    let refs: Vec<Policy<'_>> = policies
        .iter()
        .map(|l| Policy {
            id: &l.id,
            kind: l.kind,
            document: l.document.as_ref(),
        })
        .collect();
    trailguard_policy::decide(
        &refs,
        &Query {
            principal: eval_principal(&principal, &arn),
            action,
            resource,
            resource_account,
            context: ctx,
        },
    )
}

fn finish(
    env: &mut Env<'_>,
    action: &str,
    resource: &str,
    decision: Decision,
) -> Result<Authorized> {
    if decision.is_allowed() {
        return Ok(Authorized::new(action, resource));
    }
    env.decision_trace = Some(trace(&decision));
    let who = env.caller.principal.arn();
    Err(Error::AccessDenied(denial_message(
        &who, action, resource, &decision,
    )))
}

/// Decides whether the caller may perform `action` on `resource`.
pub fn authorize(
    env: &mut Env<'_>,
    action: &str,
    resource: &str,
    params: Params<'_>,
) -> Result<Authorized> {
    authorize_with(env, action, resource, params, &[])
}

/// The policy a resource carries itself (an S3 bucket's policy) and the
/// account that owns the resource.
struct ResourceSide {
    account: String,
    policy: Option<Loaded>,
}

/// The resource-based policy that applies to `resource`, when it has one: the
/// bucket policy for an S3 bucket or object ARN (creating a bucket is decided
/// without the policy of a bucket someone else may own under that name).
fn resource_side(env: &mut Env<'_>, action: &str, resource: &str) -> Result<Option<ResourceSide>> {
    let Some(keeper) = env.registry.resource_policies(resource) else {
        return Ok(None);
    };
    let Some((account, text)) = keeper.policy(env, action, resource)? else {
        return Ok(None);
    };
    let label = keeper.policy_label();
    let policy = text.map(|text| {
        // PutBucketPolicy validated it; a stored policy that no longer parses
        // grants and denies nothing rather than locking the bucket.
        let document = PolicyDocument::parse(&text).unwrap_or_else(|e| {
            tracing::warn!(%resource, error = %e, "a stored resource policy does not parse");
            PolicyDocument::empty()
        });
        Loaded {
            id: label.into(),
            kind: PolicyKind::Resource,
            document: Arc::new(document),
        }
    });
    Ok(Some(ResourceSide { account, policy }))
}

/// [`authorize`], with request-context keys a service brings when it acts on
/// a resource for one of its own (`aws:SourceArn`, `aws:SourceAccount`).
///
/// When the resource carries its own policy (an S3 bucket), it is decided as
/// AWS does: an explicit Deny in any policy wins; in the resource's account an
/// Allow in either the identity policies or the resource policy suffices; from
/// another account both must allow; a service principal is allowed only by a
/// resource policy that names it. The bucket owner's root user may always read,
/// change and delete the bucket policy, so a policy can never lock it out.
pub fn authorize_with(
    env: &mut Env<'_>,
    action: &str,
    resource: &str,
    params: Params<'_>,
    extra: &[(&str, String)],
) -> Result<Authorized> {
    let side = resource_side(env, action, resource)?;
    let own_root = matches!(&env.caller.principal,
        Principal::Root { account_id } if *account_id == env.account);
    if own_root {
        let unrestricted = match &side {
            None => true,
            Some(s) if s.account != env.account => false,
            Some(s) => {
                s.policy.is_none()
                    || env
                        .registry
                        .resource_policies(resource)
                        .is_some_and(|k| k.owner_root_always_may(action))
            }
        };
        if unrestricted {
            return Ok(Authorized::new(action, resource));
        }
    }
    let mut ctx = request_context(env, params, resource)?;
    for (k, v) in extra {
        ctx.set(k, v.clone());
    }
    let policies = caller_policies(env)?;
    let (resource_policy, resource_account) = match side {
        Some(s) => {
            ctx.set("aws:ResourceAccount", s.account.clone());
            (s.policy, Some(s.account))
        }
        None => (None, None),
    };
    let decision = decide_with(
        env,
        policies,
        resource_policy,
        action,
        resource,
        resource_account.as_deref(),
        &ctx,
    );
    finish(env, action, resource, decision)
}

/// For operations that decide in their handler (`Operation::authorized_in_handler`):
/// only the core's dispatch may hand it out.
pub(crate) fn in_handler(action: &str) -> Authorized {
    Authorized::new(action, "*")
}

/// Decides `sts:AssumeRole` on `role`: the trust policy is the resource policy,
/// so naming the caller exactly grants on its own, while naming only its account
/// needs the caller's identity policies too. AWS answers the same `AccessDenied`
/// whether the role is missing or does not trust the caller.
pub fn authorize_assume_role(
    env: &mut Env<'_>,
    role: Option<&Entity>,
    role_arn: &str,
    params: Params<'_>,
) -> Result<Authorized> {
    let action = "sts:AssumeRole";
    let caller = env.caller.principal.clone();
    if matches!(caller, Principal::Root { .. }) {
        return Err(Error::AccessDenied(
            "Roles may not be assumed by root accounts.".into(),
        ));
    }
    let denied = || {
        Error::AccessDenied(format!(
            "User: {} is not authorized to perform: {action} on resource: {}",
            caller.arn(),
            quote(role_arn)
        ))
    };
    let Some(role) = role else {
        return Err(denied());
    };
    let Some(trust) = role
        .assume_role_policy
        .as_deref()
        .and_then(|d| PolicyDocument::parse(d).ok())
    else {
        return Err(denied());
    };
    let ctx = request_context(env, params, role_arn)?;
    let policies = caller_policies(env)?;
    let role_account = role.arn.split(':').nth(4).unwrap_or_default().to_string();
    let trust = Loaded {
        id: format!("{role_arn}/trust-policy"),
        kind: PolicyKind::Trust,
        document: Arc::new(trust),
    };
    let decision = decide_with(
        env,
        policies,
        Some(trust),
        action,
        role_arn,
        Some(&role_account),
        &ctx,
    );
    if decision.is_allowed() {
        return Ok(Authorized::new(action, role_arn));
    }
    env.decision_trace = Some(trace(&decision));
    Err(denied())
}

/// Decides `iam:PassRole` on `role_arn` for a call that hands the role to
/// `service` (Redshift's `IamRoles`): the caller's policies decide, with
/// `iam:PassedToService` in the context, as AWS does.
pub fn authorize_pass_role(
    env: &mut Env<'_>,
    role_arn: &str,
    service: &str,
    params: Params<'_>,
) -> Result<Authorized> {
    let action = "iam:PassRole";
    if let Principal::Root { account_id } = &env.caller.principal
        && *account_id == env.account
    {
        return Ok(Authorized::new(action, role_arn));
    }
    let mut ctx = request_context(env, params, role_arn)?;
    ctx.set("iam:PassedToService", service);
    let policies = caller_policies(env)?;
    let decision = decide_with(env, policies, None, action, role_arn, None, &ctx);
    finish(env, action, role_arn, decision)
}

/// Whether `role`'s trust policy lets `service` assume it.
pub fn trusts_service(role: &Entity, service: &str) -> bool {
    let Some(trust) = role
        .assume_role_policy
        .as_deref()
        .and_then(|d| PolicyDocument::parse(d).ok())
    else {
        return false;
    };
    let id = format!("{}/trust-policy", role.arn);
    let policies = [Policy {
        id: &id,
        kind: PolicyKind::Trust,
        document: &trust,
    }];
    let ctx = Context::new();
    trailguard_policy::decide(
        &policies,
        &Query {
            principal: trailguard_policy::Principal {
                arn: service,
                account: "",
                role_arn: None,
                is_service: true,
                is_root: false,
            },
            action: "sts:AssumeRole",
            resource: &role.arn,
            resource_account: None,
            context: &ctx,
        },
    )
    .is_allowed()
}
