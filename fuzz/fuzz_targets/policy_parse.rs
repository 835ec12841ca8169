//! Policy documents from users must parse or be refused, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trailguard_policy::{PolicyDocument, Request, Source, evaluate};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(doc) = PolicyDocument::parse(text) {
        let _ = doc.validate_identity();
        let _ = doc.validate_trust();
        let req = Request { action: "iam:CreateUser", resource: "arn:aws:iam::123456789012:user/a" };
        let _ = evaluate(&[Source { name: "fuzz", document: &doc }], &req);
    }
});
