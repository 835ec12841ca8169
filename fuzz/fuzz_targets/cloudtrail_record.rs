//! A CloudTrail record from anywhere (an exported log, a caller's parameters
//! in the server's own trail) is read once by the detection engine: any bytes
//! give a record or a refusal, never a panic, and every rule, field lookup
//! and remembering detector copes with what it gets.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use trailguard_detect::engine::{Cx, Engine, NoFacts};
use trailguard_detect::state::{self, State};
use trailguard_detect::{Intel, Record};

fuzz_target!(|data: &[u8]| {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    let engine = ENGINE.get_or_init(Engine::builtin);
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (parsed, len) = Record::parse_first(text);
    if let Some(len) = len {
        assert!(len <= text.len());
    }
    let Ok(r) = parsed else {
        return;
    };
    for path in ["eventName", "requestParameters.bucketName", "userIdentity.sessionContext.sessionIssuer.arn", "a.b.c", "responseElements"] {
        let _ = r.field(path);
    }
    let intel = Intel::default();
    let mut facts = NoFacts;
    let mut cx = Cx { intel: &intel, facts: &mut facts, origin: None, seen: None };
    let mut out = Vec::new();
    engine.check(&r, &mut cx, &mut out);
    for c in &out {
        let _ = trailguard_detect::catalogue::fill(&c.finding_type.title, &c.fill);
    }
    if let Some(f) = state::fact(&r, &cx) {
        State::default().observe(&f, &mut out);
    }
});
