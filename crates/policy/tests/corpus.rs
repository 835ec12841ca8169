//! The conformance corpus (`tests/corpus/*.json`, format in its README): every
//! case's decision and deciding statements, as AWS documents them.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "test code"
)]

use serde_json::Value as Json;
use std::collections::BTreeSet;
use std::path::Path;
use trailguard_policy::{
    Context, Outcome, Policy, PolicyDocument, PolicyKind, Principal, Query, decide,
};

fn kind(s: &str) -> PolicyKind {
    match s {
        "identity" => PolicyKind::Identity,
        "resource" => PolicyKind::Resource,
        "boundary" => PolicyKind::PermissionsBoundary,
        "session" => PolicyKind::Session,
        "trust" => PolicyKind::Trust,
        "scp" => PolicyKind::ServiceControl,
        other => panic!("unknown policy kind {other}"),
    }
}

fn context(v: &Json) -> Context {
    let mut ctx = Context::new();
    for (k, v) in v.as_object().into_iter().flatten() {
        match v {
            Json::Array(items) => {
                ctx.set_multi(
                    k,
                    items
                        .iter()
                        .map(|i| i.as_str().unwrap().to_string())
                        .collect(),
                );
            }
            Json::String(s) => {
                ctx.set(k, s.clone());
            }
            other => {
                ctx.set(k, other.to_string());
            }
        }
    }
    ctx
}

fn run_case(case: &Json) -> Result<(), String> {
    let docs: Vec<(String, PolicyKind, PolicyDocument)> = case["policies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let text = p["document"].to_string();
            let doc = PolicyDocument::parse(&text).unwrap_or_else(|e| {
                panic!("{}: policy {} does not parse: {e}", case["name"], p["id"])
            });
            (
                p["id"].as_str().unwrap().to_string(),
                kind(p["kind"].as_str().unwrap()),
                doc,
            )
        })
        .collect();
    let policies: Vec<Policy<'_>> = docs
        .iter()
        .map(|(id, kind, document)| Policy {
            id,
            kind: *kind,
            document,
        })
        .collect();
    let req = &case["request"];
    let pr = &req["principal"];
    let ty = pr["type"].as_str().unwrap();
    let role_arn = pr["arn"].as_str().unwrap();
    let arn = if ty == "AssumedRole" {
        pr["session_arn"].as_str().unwrap_or(role_arn)
    } else {
        role_arn
    };
    let ctx = context(&req["context"]);
    let principal = Principal {
        arn,
        account: pr["account"].as_str().unwrap_or(""),
        role_arn: (ty == "AssumedRole").then_some(role_arn),
        is_service: ty == "AWSService",
        is_root: ty == "Account",
    };
    let q = Query {
        principal,
        action: req["action"].as_str().unwrap(),
        resource: req["resource"].as_str().unwrap(),
        resource_account: req["resource_account"].as_str(),
        context: &ctx,
    };
    let d = decide(&policies, &q);
    let expected = case["expect"]["decision"].as_str().unwrap();
    let got = match d.outcome {
        Outcome::Allow => "Allow",
        Outcome::ExplicitDeny => "ExplicitDeny",
        Outcome::ImplicitDeny => "ImplicitDeny",
    };
    if got != expected {
        return Err(format!(
            "decision {got}, expected {expected} ({:?})",
            d.reason
        ));
    }
    let want: BTreeSet<(String, u64)> = case["expect"]["deciding"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| {
            (
                m["policy"].as_str().unwrap().to_string(),
                m["statement"].as_u64().unwrap(),
            )
        })
        .collect();
    let mine: BTreeSet<(String, u64)> = d
        .matched
        .iter()
        .filter(|m| {
            got == "ExplicitDeny"
                || matches!(
                    m.kind,
                    PolicyKind::Identity | PolicyKind::Resource | PolicyKind::Trust
                )
        })
        .map(|m| (m.policy.clone(), m.statement as u64))
        .collect();
    let ok = match got {
        "ExplicitDeny" => mine == want,
        "Allow" => mine.is_subset(&want) && (want.is_empty() == mine.is_empty()),
        _ => true,
    };
    if ok {
        Ok(())
    } else {
        Err(format!("deciding statements {mine:?}, expected {want:?}"))
    }
}

#[test]
fn conformance_corpus() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    let mut total = 0;
    let mut failures = Vec::new();
    for f in &files {
        let cases: Vec<Json> = serde_json::from_str(&std::fs::read_to_string(f).unwrap()).unwrap();
        for case in &cases {
            total += 1;
            if let Err(e) = run_case(case) {
                failures.push(format!(
                    "{} / {}: {e}\n    {}",
                    f.file_name().unwrap().to_string_lossy(),
                    case["name"].as_str().unwrap(),
                    case["doc"].as_str().unwrap_or("")
                ));
            }
        }
    }
    assert!(total >= 200, "the corpus has {total} cases");
    assert!(
        failures.is_empty(),
        "{} of {total} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
