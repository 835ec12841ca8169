//! The awsJson1.1 body decoder (and the bounded JSON parser every JSON path
//! shares) must answer every input with an object within the limits or an
//! error: never a panic or a stack overflow, however deep the input nests.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trailguard_protocol::{json, limits};

/// The depth of a parsed value, walked without recursion.
fn depth(v: &serde_json::Value) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(v, 0usize)];
    while let Some((v, d)) = stack.pop() {
        deepest = deepest.max(d);
        match v {
            serde_json::Value::Object(m) => stack.extend(m.values().map(|c| (c, d + 1))),
            serde_json::Value::Array(a) => stack.extend(a.iter().map(|c| (c, d + 1))),
            _ => {}
        }
    }
    deepest
}

fuzz_target!(|data: &[u8]| {
    if let Ok(v) = json::decode_body(data) {
        assert!(v.is_object());
        assert!(depth(&v) <= limits::MAX_DEPTH);
    }
    if let Ok(v) = json::parse_bounded(data) {
        assert!(depth(&v) <= limits::MAX_DEPTH);
    }
});
