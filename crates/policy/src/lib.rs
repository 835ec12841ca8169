//! The IAM policy language: parsing and evaluation, as a pure function of its inputs.
//!
//! Callers gather every policy that applies to a request (identity policies,
//! permissions boundary, session policies, the resource or trust policy) and the
//! request context, then ask [`decide`] for a [`Decision`] that names the
//! statements that decided and why. Nothing here does IO, so the engine can be
//! fuzzed, benchmarked, run offline (`trailguard policy simulate`) and explained.
//!
//! The logic is AWS's documented one: an explicit deny in any policy wins; in the
//! same account an allow from an identity policy, or from a resource policy,
//! grants, subject to every permissions boundary and session policy present
//! (a resource policy naming the exact user or role session is not limited by
//! them); across accounts both the identity side and the resource side must allow.

pub mod condition;
mod context;
mod document;
mod matching;
pub mod position;
mod variables;

pub use context::{Context, ContextValue};
pub use document::{Effect, ParseError, PolicyDocument, PrincipalSpec, Statement};
pub use matching::{action_matches, arn_match, wildcard_match};

use variables::{Resolved, resolve};

/// The kind of a policy, which decides how it combines with the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicyKind {
    /// Attached to (or inline in) the user, its groups, or the role.
    Identity,
    /// Attached to the resource: a role's trust policy, a bucket policy.
    Resource,
    /// The principal's permissions boundary: a ceiling, never a grant.
    PermissionsBoundary,
    /// Passed when the session was created: a ceiling, never a grant.
    Session,
    /// A role's trust policy: a resource policy that must itself allow `sts:AssumeRole`.
    Trust,
    /// A service control policy: a ceiling for the whole account, never a grant.
    ServiceControl,
}

impl PolicyKind {
    /// The words AWS uses in denial messages.
    pub fn describe(self) -> &'static str {
        match self {
            PolicyKind::Identity => "identity-based policy",
            PolicyKind::Resource => "resource-based policy",
            PolicyKind::PermissionsBoundary => "permissions boundary",
            PolicyKind::Session => "session policy",
            PolicyKind::Trust => "resource-based policy",
            PolicyKind::ServiceControl => "service control policy",
        }
    }
}

/// A policy that applies to a request.
#[derive(Debug, Clone, Copy)]
pub struct Policy<'a> {
    /// How the policy is named in decisions (an ARN or `user/NAME/POLICY`).
    pub id: &'a str,
    pub kind: PolicyKind,
    pub document: &'a PolicyDocument,
}

/// Who is asking, as resource and trust policies name principals.
#[derive(Debug, Clone, Copy)]
pub struct Principal<'a> {
    /// The user ARN, the role-session ARN (`arn:aws:sts::A:assumed-role/R/S`), the
    /// account root ARN, or a service principal (`lex.amazonaws.com`).
    pub arn: &'a str,
    /// The principal's account (empty for services).
    pub account: &'a str,
    /// For role sessions, the role's ARN.
    pub role_arn: Option<&'a str>,
    /// Whether this is an AWS service principal.
    pub is_service: bool,
    /// Whether this is the account's root user, which its own account allows by default.
    pub is_root: bool,
}

/// A request to decide.
#[derive(Debug, Clone, Copy)]
pub struct Query<'a> {
    pub principal: Principal<'a>,
    /// `service:Action`.
    pub action: &'a str,
    /// The resource ARN, or `*` for actions without a resource.
    pub resource: &'a str,
    /// The account owning the resource, when it differs from the principal's.
    pub resource_account: Option<&'a str>,
    pub context: &'a Context,
}

/// The three outcomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Allow,
    ExplicitDeny,
    ImplicitDeny,
}

impl Outcome {
    /// The name IAM's policy simulator gives the outcome.
    pub fn simulator_name(self) -> &'static str {
        match self {
            Outcome::Allow => "allowed",
            Outcome::ExplicitDeny => "explicitDeny",
            Outcome::ImplicitDeny => "implicitDeny",
        }
    }
}

/// A statement that took part in a decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matched {
    pub policy: String,
    pub kind: PolicyKind,
    /// Index in the policy's statement list.
    pub statement: usize,
    pub sid: Option<String>,
}

/// Why the outcome is what it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    Allowed,
    /// A deny statement in a policy of this kind matched.
    ExplicitDeny(PolicyKind),
    /// No statement of this kind allowed the request.
    NoAllow(PolicyKind),
}

/// The decision with its explanation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub outcome: Outcome,
    pub reason: Reason,
    /// The deny statements (explicit deny) or the allow statements (allow) that decided.
    pub matched: Vec<Matched>,
    /// Condition keys the policies asked about that the request did not carry.
    pub missing_context: Vec<String>,
}

impl Decision {
    pub fn is_allowed(&self) -> bool {
        self.outcome == Outcome::Allow
    }
}

/// How a resource policy's `Principal` names the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Named {
    No,
    /// Through its account: delegates to the account's identity policies.
    Account,
    /// Through the role of a role session: subject to boundaries and session policies.
    Role,
    /// By its exact ARN (user, role session, service) or `*`.
    Exactly,
}

fn named_by(spec: &PrincipalSpec, p: &Principal<'_>) -> Named {
    let PrincipalSpec::Named(entries) = spec else {
        return Named::Exactly;
    };
    let mut best = Named::No;
    for (kind, value) in entries {
        let hit = match kind.as_str() {
            "AWS" if value == "*" => Named::Exactly,
            "AWS" if p.is_service => Named::No,
            "AWS"
                if !p.account.is_empty()
                    && (value == p.account
                        || *value == format!("arn:aws:iam::{}:root", p.account)) =>
            {
                Named::Account
            }
            "AWS" if value == p.arn => Named::Exactly,
            "AWS" if p.role_arn == Some(value.as_str()) => Named::Role,
            "Service" if p.is_service && value == p.arn => Named::Exactly,
            _ => Named::No,
        };
        best = best.max(hit);
    }
    best
}

fn resource_matches(patterns: &[String], resource: &str, ctx: &Context, variables: bool) -> bool {
    patterns
        .iter()
        .any(|pattern| match resolve(pattern, ctx, variables) {
            // A request for an action without a resource type (`*`) is matched
            // only by a pattern that covers everything; a `*` that came from a
            // variable's value is literal and does not.
            Resolved::Text { text, literal } if resource == "*" => {
                literal.is_empty() && wildcard_match(&text, "*", false)
            }
            Resolved::Text { text, literal } => {
                (text == "*" && literal.is_empty()) || arn_match(&text, &literal, resource)
            }
            // A resource with an unresolvable variable matches nothing.
            Resolved::Unresolvable => false,
        })
}

/// Whether a statement applies to the query; for resource policies also how the
/// principal is named. `None` when it does not apply.
fn statement_applies(
    st: &Statement,
    kind: PolicyKind,
    q: &Query<'_>,
    variables: bool,
    has_boundary: bool,
    missing: &mut condition::Missing,
) -> Option<Named> {
    if !st.covers_action(q.action) {
        return None;
    }
    // Trust policies have no Resource element; they apply to the role itself.
    let has_resource = st.not_resource || !st.resources.is_empty();
    if has_resource
        && resource_matches(&st.resources, q.resource, q.context, variables) == st.not_resource
    {
        return None;
    }
    let named = match (&st.principal, kind) {
        (Some(spec), PolicyKind::Resource) => {
            let n = named_by(spec, &q.principal);
            match (st.not_principal, n) {
                (false, Named::No) => return None,
                (false, n) => n,
                // AWS documents that a Deny with NotPrincipal always applies to a
                // principal that has a permissions boundary, whatever it lists.
                (true, _) if has_boundary && st.effect == Effect::Deny => Named::Exactly,
                // NotPrincipal spares only the principals it names themselves
                // (naming an account spares its root user, not its other users).
                (true, Named::Exactly | Named::Role) => return None,
                (true, _) => Named::Exactly,
            }
        }
        (Some(spec), PolicyKind::Trust) => match named_by(spec, &q.principal) {
            Named::No => return None,
            n => n,
        },
        (None, PolicyKind::Resource | PolicyKind::Trust) => return None,
        _ => Named::Exactly,
    };
    let holds = st
        .conditions
        .iter()
        .all(|c| condition::evaluate(c, q.context, variables, missing));
    holds.then_some(named)
}

fn matched(policy: &Policy<'_>, statement: usize, st: &Statement) -> Matched {
    Matched {
        policy: policy.id.to_string(),
        kind: policy.kind,
        statement,
        sid: st.sid.clone(),
    }
}

/// Decides a request against every policy that applies to it.
pub fn decide(policies: &[Policy<'_>], q: &Query<'_>) -> Decision {
    let mut missing = condition::Missing::default();
    let has_boundary = policies
        .iter()
        .any(|p| p.kind == PolicyKind::PermissionsBoundary);
    let mut denies = Vec::new();
    let mut identity_allows = Vec::new();
    let mut resource_allows: Vec<(Matched, Named)> = Vec::new();
    let mut boundary_present = false;
    let mut boundary_allows = Vec::new();
    let mut session_present = false;
    let mut session_allows = Vec::new();
    let mut trust_present = false;
    let mut trust_allows: Vec<(Matched, Named)> = Vec::new();
    let mut scp_present = false;
    let mut scp_allows = 0usize;
    for policy in policies {
        match policy.kind {
            PolicyKind::PermissionsBoundary => boundary_present = true,
            PolicyKind::Session => session_present = true,
            PolicyKind::Trust => trust_present = true,
            PolicyKind::ServiceControl => scp_present = true,
            PolicyKind::Identity | PolicyKind::Resource => {}
        }
        let variables = policy.document.variables_enabled();
        for (i, st) in policy.document.statements.iter().enumerate() {
            let Some(named) =
                statement_applies(st, policy.kind, q, variables, has_boundary, &mut missing)
            else {
                continue;
            };
            let m = matched(policy, i, st);
            match (st.effect, policy.kind) {
                (Effect::Deny, _) => denies.push(m),
                (Effect::Allow, PolicyKind::Identity) => identity_allows.push(m),
                (Effect::Allow, PolicyKind::Resource) => resource_allows.push((m, named)),
                (Effect::Allow, PolicyKind::PermissionsBoundary) => boundary_allows.push(m),
                (Effect::Allow, PolicyKind::Session) => session_allows.push(m),
                (Effect::Allow, PolicyKind::Trust) => trust_allows.push((m, named)),
                (Effect::Allow, PolicyKind::ServiceControl) => scp_allows += 1,
            }
        }
    }
    let mut missing_context = missing.0;
    missing_context.sort();
    missing_context.dedup();
    let decision = |outcome, reason, matched| Decision {
        outcome,
        reason,
        matched,
        missing_context: missing_context.clone(),
    };
    if let Some(first) = denies.first() {
        let kind = first.kind;
        return decision(Outcome::ExplicitDeny, Reason::ExplicitDeny(kind), denies);
    }
    let cross_account = q
        .resource_account
        .is_some_and(|acct| !q.principal.account.is_empty() && acct != q.principal.account);
    if scp_present && scp_allows == 0 {
        return decision(
            Outcome::ImplicitDeny,
            Reason::NoAllow(PolicyKind::ServiceControl),
            Vec::new(),
        );
    }
    let ceilings_allow = |out: &mut Vec<Matched>| -> Option<Reason> {
        if boundary_present && boundary_allows.is_empty() {
            return Some(Reason::NoAllow(PolicyKind::PermissionsBoundary));
        }
        if session_present && session_allows.is_empty() {
            return Some(Reason::NoAllow(PolicyKind::Session));
        }
        out.extend(boundary_allows.iter().cloned());
        out.extend(session_allows.iter().cloned());
        None
    };
    if trust_present {
        // The trust policy must allow. Naming the caller exactly grants on its own
        // in the same account; naming its account (or, across accounts, anything)
        // needs the caller's identity policies too, within its ceilings.
        if trust_allows.is_empty() {
            return decision(
                Outcome::ImplicitDeny,
                Reason::NoAllow(PolicyKind::Trust),
                Vec::new(),
            );
        }
        let named = |level: Named| -> Vec<Matched> {
            trust_allows
                .iter()
                .filter(|(_, n)| *n == level)
                .map(|(m, _)| m.clone())
                .collect()
        };
        let exact = named(Named::Exactly);
        if !cross_account && !exact.is_empty() {
            return decision(Outcome::Allow, Reason::Allowed, exact);
        }
        // Naming the role of a role session (role chaining) grants without an
        // identity allow, but within the session's ceilings.
        let mut by_role = named(Named::Role);
        if !cross_account && !by_role.is_empty() {
            if let Some(reason) = ceilings_allow(&mut by_role) {
                return decision(Outcome::ImplicitDeny, reason, Vec::new());
            }
            return decision(Outcome::Allow, Reason::Allowed, by_role);
        }
        if identity_allows.is_empty() {
            return decision(
                Outcome::ImplicitDeny,
                Reason::NoAllow(PolicyKind::Identity),
                Vec::new(),
            );
        }
        let mut out = identity_allows;
        if let Some(reason) = ceilings_allow(&mut out) {
            return decision(Outcome::ImplicitDeny, reason, Vec::new());
        }
        out.extend(trust_allows.into_iter().map(|(m, _)| m));
        return decision(Outcome::Allow, Reason::Allowed, out);
    }
    if q.principal.is_root && !cross_account {
        // The root user may do anything in its own account that nothing denies.
        return decision(Outcome::Allow, Reason::Allowed, Vec::new());
    }
    if cross_account {
        // Both sides must allow: the caller's account through its identity
        // policies (within its ceilings; its root user needs none), the
        // resource's through its policy.
        if identity_allows.is_empty() && !q.principal.is_root {
            return decision(
                Outcome::ImplicitDeny,
                Reason::NoAllow(PolicyKind::Identity),
                Vec::new(),
            );
        }
        if resource_allows.is_empty() {
            return decision(
                Outcome::ImplicitDeny,
                Reason::NoAllow(PolicyKind::Resource),
                Vec::new(),
            );
        }
        let mut out = identity_allows.clone();
        if let Some(reason) = ceilings_allow(&mut out) {
            return decision(Outcome::ImplicitDeny, reason, Vec::new());
        }
        out.extend(resource_allows.into_iter().map(|(m, _)| m));
        return decision(Outcome::Allow, Reason::Allowed, out);
    }
    // Same account: a resource policy naming the exact principal grants on its own.
    let exact: Vec<Matched> = resource_allows
        .iter()
        .filter(|(_, n)| *n == Named::Exactly)
        .map(|(m, _)| m.clone())
        .collect();
    if !exact.is_empty() {
        return decision(Outcome::Allow, Reason::Allowed, exact);
    }
    let mut out = identity_allows;
    out.extend(
        resource_allows
            .into_iter()
            .filter(|(_, n)| *n == Named::Role)
            .map(|(m, _)| m),
    );
    if out.is_empty() {
        return decision(
            Outcome::ImplicitDeny,
            Reason::NoAllow(PolicyKind::Identity),
            Vec::new(),
        );
    }
    if let Some(reason) = ceilings_allow(&mut out) {
        return decision(Outcome::ImplicitDeny, reason, Vec::new());
    }
    decision(Outcome::Allow, Reason::Allowed, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(s: &str) -> PolicyDocument {
        PolicyDocument::parse(s).unwrap()
    }

    const ALICE: Principal<'static> = Principal {
        arn: "arn:aws:iam::111122223333:user/alice",
        account: "111122223333",
        role_arn: None,
        is_service: false,
        is_root: false,
    };

    fn query<'a>(ctx: &'a Context, action: &'a str, resource: &'a str) -> Query<'a> {
        Query {
            principal: ALICE,
            action,
            resource,
            resource_account: None,
            context: ctx,
        }
    }

    #[test]
    fn explicit_deny_beats_allow_and_absence_is_implicit_deny() {
        let admin = doc(
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#,
        );
        let deny = doc(
            r#"{"Version":"2012-10-17","Statement":[{"Sid":"NoDelete","Effect":"Deny","Action":"iam:Delete*","Resource":"arn:aws:iam::*:user/*"}]}"#,
        );
        let ctx = Context::new();
        let both = [
            Policy {
                id: "admin",
                kind: PolicyKind::Identity,
                document: &admin,
            },
            Policy {
                id: "deny",
                kind: PolicyKind::Identity,
                document: &deny,
            },
        ];
        let d = decide(
            &both,
            &query(&ctx, "iam:DeleteUser", "arn:aws:iam::111122223333:user/bob"),
        );
        assert_eq!(d.outcome, Outcome::ExplicitDeny);
        assert_eq!(d.matched[0].sid.as_deref(), Some("NoDelete"));
        assert!(
            decide(
                &both[..1],
                &query(&ctx, "iam:DeleteUser", "arn:aws:iam::111122223333:user/bob")
            )
            .is_allowed()
        );
        assert_eq!(
            decide(&[], &query(&ctx, "iam:GetUser", "*")).reason,
            Reason::NoAllow(PolicyKind::Identity)
        );
    }

    #[test]
    fn boundaries_and_resource_policies() {
        let admin = doc(
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#,
        );
        let boundary = doc(
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"iam:Get*","Resource":"*"}}"#,
        );
        let trust_user = doc(
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/alice"},"Action":"sts:AssumeRole"}}"#,
        );
        let trust_account = doc(
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"sts:AssumeRole"}}"#,
        );
        let ctx = Context::new();
        let with_boundary = [
            Policy {
                id: "admin",
                kind: PolicyKind::Identity,
                document: &admin,
            },
            Policy {
                id: "b",
                kind: PolicyKind::PermissionsBoundary,
                document: &boundary,
            },
        ];
        assert!(decide(&with_boundary, &query(&ctx, "iam:GetUser", "*")).is_allowed());
        let d = decide(&with_boundary, &query(&ctx, "iam:CreateUser", "*"));
        assert_eq!(d.reason, Reason::NoAllow(PolicyKind::PermissionsBoundary));

        let role = "arn:aws:iam::111122223333:role/r";
        let direct = [Policy {
            id: "trust",
            kind: PolicyKind::Resource,
            document: &trust_user,
        }];
        assert!(decide(&direct, &query(&ctx, "sts:AssumeRole", role)).is_allowed());
        let via_account = [Policy {
            id: "trust",
            kind: PolicyKind::Resource,
            document: &trust_account,
        }];
        assert!(!decide(&via_account, &query(&ctx, "sts:AssumeRole", role)).is_allowed());
        let via_account_and_identity = [
            Policy {
                id: "trust",
                kind: PolicyKind::Resource,
                document: &trust_account,
            },
            Policy {
                id: "admin",
                kind: PolicyKind::Identity,
                document: &admin,
            },
        ];
        assert!(
            decide(
                &via_account_and_identity,
                &query(&ctx, "sts:AssumeRole", role)
            )
            .is_allowed()
        );
        // Across accounts the resource side must allow too.
        let mut q = query(&ctx, "sts:AssumeRole", "arn:aws:iam::444455556666:role/r");
        q.resource_account = Some("444455556666");
        let d = decide(
            &[Policy {
                id: "admin",
                kind: PolicyKind::Identity,
                document: &admin,
            }],
            &q,
        );
        assert_eq!(d.reason, Reason::NoAllow(PolicyKind::Resource));
    }

    /// Another account's root user needs no identity policy, only the
    /// resource's; a Deny there still wins.
    #[test]
    fn cross_account_root_is_decided_by_the_resource_policy() {
        let grant = doc(
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}}"#,
        );
        let deny = doc(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"},{"Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/secret"}]}"#,
        );
        let ctx = Context::new();
        let root = Principal {
            arn: "arn:aws:iam::111122223333:root",
            account: "111122223333",
            role_arn: None,
            is_service: false,
            is_root: true,
        };
        let q = |resource| Query {
            principal: root,
            action: "s3:GetObject",
            resource,
            resource_account: Some("444455556666"),
            context: &ctx,
        };
        let on = |document| {
            [Policy {
                id: "bucket-policy",
                kind: PolicyKind::Resource,
                document,
            }]
        };
        assert!(decide(&on(&grant), &q("arn:aws:s3:::b/k")).is_allowed());
        assert!(!decide(&[], &q("arn:aws:s3:::b/k")).is_allowed());
        assert_eq!(
            decide(&on(&deny), &q("arn:aws:s3:::b/secret")).reason,
            Reason::ExplicitDeny(PolicyKind::Resource)
        );
    }

    #[test]
    fn actions_without_resources_need_a_star_resource() {
        let own = doc(
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"iam:Get*","Resource":"arn:aws:iam::111122223333:user/${aws:username}"}}"#,
        );
        let mut ctx = Context::new();
        ctx.set("aws:username", "alice");
        let policies = [Policy {
            id: "own",
            kind: PolicyKind::Identity,
            document: &own,
        }];
        assert!(
            decide(
                &policies,
                &query(&ctx, "iam:GetUser", "arn:aws:iam::111122223333:user/alice")
            )
            .is_allowed()
        );
        assert!(
            !decide(
                &policies,
                &query(&ctx, "iam:GetAccountAuthorizationDetails", "*")
            )
            .is_allowed()
        );
        // A variable whose value is `*` stays literal.
        let mut star = Context::new();
        star.set("aws:username", "*");
        assert!(
            !decide(
                &policies,
                &query(&star, "iam:GetUser", "arn:aws:iam::111122223333:user/bob")
            )
            .is_allowed()
        );
    }

    #[test]
    fn role_chaining_stays_within_the_session_policy() {
        let trust = doc(
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/a"},"Action":"sts:AssumeRole"}}"#,
        );
        let session = doc(
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}}"#,
        );
        let ctx = Context::new();
        let mut q = query(&ctx, "sts:AssumeRole", "arn:aws:iam::111122223333:role/b");
        q.principal = Principal {
            arn: "arn:aws:sts::111122223333:assumed-role/a/s",
            account: "111122223333",
            role_arn: Some("arn:aws:iam::111122223333:role/a"),
            is_service: false,
            is_root: false,
        };
        let trust_only = [Policy {
            id: "t",
            kind: PolicyKind::Trust,
            document: &trust,
        }];
        assert!(decide(&trust_only, &q).is_allowed());
        let with_session = [
            Policy {
                id: "t",
                kind: PolicyKind::Trust,
                document: &trust,
            },
            Policy {
                id: "s",
                kind: PolicyKind::Session,
                document: &session,
            },
        ];
        assert_eq!(
            decide(&with_session, &q).reason,
            Reason::NoAllow(PolicyKind::Session)
        );
    }

    #[test]
    fn conditional_statements_use_the_context() {
        let p = doc(
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"iam:CreateServiceLinkedRole","Resource":"*","Condition":{"StringLike":{"iam:AWSServiceName":"lex.amazonaws.com"}}}}"#,
        );
        let policies = [Policy {
            id: "p",
            kind: PolicyKind::Identity,
            document: &p,
        }];
        let mut ctx = Context::new();
        ctx.set("iam:AWSServiceName", "lex.amazonaws.com");
        assert!(decide(&policies, &query(&ctx, "iam:CreateServiceLinkedRole", "*")).is_allowed());
        let mut other = Context::new();
        other.set("iam:AWSServiceName", "redshift.amazonaws.com");
        assert!(
            !decide(
                &policies,
                &query(&other, "iam:CreateServiceLinkedRole", "*")
            )
            .is_allowed()
        );
        let empty = Context::new();
        let d = decide(
            &policies,
            &query(&empty, "iam:CreateServiceLinkedRole", "*"),
        );
        assert_eq!(d.missing_context, vec!["iam:AWSServiceName".to_string()]);
    }
}
