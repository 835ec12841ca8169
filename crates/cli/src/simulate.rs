//! `trailguard policy simulate`: decide requests against policy files offline,
//! with the same engine the server enforces, and show which statement decided.

use clap::Args;
use std::path::PathBuf;
use trailguard_policy::position::statement_spans;
use trailguard_policy::{
    Context, Outcome, Policy, PolicyDocument, PolicyKind, Principal, Query, Reason, decide,
};

#[derive(Args, Debug)]
pub struct SimulateArgs {
    /// An identity-based policy file (repeatable).
    #[arg(long = "policy", value_name = "FILE")]
    policies: Vec<PathBuf>,
    /// A permissions boundary file.
    #[arg(long, value_name = "FILE")]
    boundary: Option<PathBuf>,
    /// A session policy file.
    #[arg(long, value_name = "FILE")]
    session_policy: Option<PathBuf>,
    /// A resource-based policy file (a bucket policy, say).
    #[arg(long, value_name = "FILE")]
    resource_policy: Option<PathBuf>,
    /// A role trust policy file; the action is then usually sts:AssumeRole.
    #[arg(long, value_name = "FILE")]
    trust_policy: Option<PathBuf>,
    /// The action to decide, `service:Action` (repeatable).
    #[arg(long = "action", required = true)]
    actions: Vec<String>,
    /// The resource ARN (repeatable; default `*`).
    #[arg(long = "resource")]
    resources: Vec<String>,
    /// The caller's ARN (a user, `arn:aws:sts::ACCT:assumed-role/ROLE/SESSION`, or a service).
    #[arg(long, default_value = "arn:aws:iam::123456789012:user/simulated")]
    principal: String,
    /// The account owning the resource, when it is not the caller's.
    #[arg(long)]
    resource_account: Option<String>,
    /// A single-valued context key `key=value` (repeatable).
    #[arg(long = "context", value_name = "KEY=VALUE")]
    context: Vec<String>,
    /// A multivalued context key `key=a,b,c` (repeatable).
    #[arg(long = "context-list", value_name = "KEY=V1,V2")]
    context_list: Vec<String>,
    /// Fail (exit 1) unless every decision is this one.
    #[arg(long, value_parser = ["allowed", "denied"])]
    expect: Option<String>,
}

struct Loaded {
    path: String,
    kind: PolicyKind,
    text: String,
    document: PolicyDocument,
}

fn load(path: &PathBuf, kind: PolicyKind) -> Result<Loaded, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let document = PolicyDocument::parse(&text)
        .map_err(|e| format!("{}: MalformedPolicyDocument: {e}", path.display()))?;
    Ok(Loaded {
        path: path.display().to_string(),
        kind,
        text,
        document,
    })
}

fn principal_parts(arn: &str) -> (String, Option<String>, bool) {
    if !arn.starts_with("arn:") {
        return (String::new(), None, true);
    }
    let account = arn.split(':').nth(4).unwrap_or_default().to_string();
    // A role session's role, for trust and resource policies naming the role.
    let role = arn
        .split_once(":assumed-role/")
        .and_then(|(_, rest)| rest.split('/').next())
        .map(|role| format!("arn:aws:iam::{account}:role/{role}"));
    (account, role, false)
}

/// Runs the command; returns the process exit code.
pub fn run(args: &SimulateArgs) -> Result<u8, String> {
    let mut loaded = Vec::new();
    for p in &args.policies {
        loaded.push(load(p, PolicyKind::Identity)?);
    }
    for (file, kind) in [
        (&args.boundary, PolicyKind::PermissionsBoundary),
        (&args.session_policy, PolicyKind::Session),
        (&args.resource_policy, PolicyKind::Resource),
        (&args.trust_policy, PolicyKind::Trust),
    ] {
        if let Some(f) = file {
            loaded.push(load(f, kind)?);
        }
    }
    let mut ctx = Context::new();
    for kv in &args.context {
        let (k, v) = kv
            .split_once('=')
            .ok_or_else(|| format!("--context {kv}: expected KEY=VALUE"))?;
        ctx.set(k, v);
    }
    for kv in &args.context_list {
        let (k, v) = kv
            .split_once('=')
            .ok_or_else(|| format!("--context-list {kv}: expected KEY=V1,V2"))?;
        ctx.set_multi(
            k,
            v.split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
        );
    }
    let (account, role_arn, is_service) = principal_parts(&args.principal);
    let policies: Vec<Policy<'_>> = loaded
        .iter()
        .map(|l| Policy {
            id: &l.path,
            kind: l.kind,
            document: &l.document,
        })
        .collect();
    let resources = if args.resources.is_empty() {
        vec!["*".to_string()]
    } else {
        args.resources.clone()
    };
    let mut all_as_expected = true;
    for action in &args.actions {
        for resource in &resources {
            let q = Query {
                principal: Principal {
                    arn: &args.principal,
                    account: &account,
                    role_arn: role_arn.as_deref(),
                    is_service,
                    is_root: args.principal.ends_with(":root"),
                },
                action,
                resource,
                resource_account: args.resource_account.as_deref(),
                context: &ctx,
            };
            let d = decide(&policies, &q);
            let word = d.outcome.simulator_name();
            println!("{action} on {resource}: {word}");
            match d.reason {
                Reason::Allowed => {}
                Reason::ExplicitDeny(k) => println!("  explicit deny in a {}", k.describe()),
                Reason::NoAllow(k) => println!("  no {} allows the action", k.describe()),
            }
            for m in &d.matched {
                let at = loaded
                    .iter()
                    .find(|l| l.path == m.policy)
                    .and_then(|l| statement_spans(&l.text).get(m.statement).copied())
                    .map(|(start, _)| format!("{}:{}:{}", m.policy, start.line, start.column))
                    .unwrap_or_else(|| m.policy.clone());
                let sid = m
                    .sid
                    .as_deref()
                    .map(|s| format!(" (Sid {s})"))
                    .unwrap_or_default();
                println!("  decided by statement {} of {at}{sid}", m.statement);
            }
            if !d.missing_context.is_empty() {
                println!("  missing context keys: {}", d.missing_context.join(", "));
            }
            let allowed = d.outcome == Outcome::Allow;
            match args.expect.as_deref() {
                Some("allowed") if !allowed => all_as_expected = false,
                Some("denied") if allowed => all_as_expected = false,
                _ => {}
            }
        }
    }
    Ok(if all_as_expected { 0 } else { 1 })
}
