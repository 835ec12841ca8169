//! Policy documents from users must parse or be refused, and any parsed document
//! must be decidable, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trailguard_policy::{Context, Policy, PolicyDocument, PolicyKind, Principal, Query, decide};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(doc) = PolicyDocument::parse(text) {
        let _ = doc.validate_identity();
        let _ = doc.validate_trust();
        let mut ctx = Context::new();
        ctx.set("aws:SourceIp", "203.0.113.9")
            .set("aws:username", "alice")
            .set("aws:CurrentTime", "2026-11-23T19:00:00Z")
            .set_multi("aws:TagKeys", vec!["team".into()]);
        let principal = Principal {
            arn: "arn:aws:iam::123456789012:user/alice",
            account: "123456789012",
            role_arn: None,
            is_service: false,
            is_root: false,
        };
        for kind in [PolicyKind::Identity, PolicyKind::Resource, PolicyKind::PermissionsBoundary, PolicyKind::Trust] {
            let q = Query {
                principal,
                action: "iam:CreateUser",
                resource: "arn:aws:iam::123456789012:user/a",
                resource_account: None,
                context: &ctx,
            };
            let _ = decide(&[Policy { id: "fuzz", kind, document: &doc }], &q);
        }
    }
});
