//! The awsQuery decoder must answer every input with a value within the limits
//! or a decode error; never a panic or a stack overflow (seeds include the red
//! team's name of 5,000 segments).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first byte splits the input into a URL query string and a form body.
    let Some((&split, rest)) = data.split_first() else { return };
    let at = usize::from(split).min(rest.len());
    let (url, body) = rest.split_at(at);
    let url = String::from_utf8_lossy(url);
    if let Ok(decoded) = trailguard_protocol::query::decode(&url, body) {
        assert!(!decoded.action.is_empty());
        // However the names nest, the tree stays within the depth limit.
        let mut stack = vec![(&decoded.params, 0usize)];
        while let Some((v, d)) = stack.pop() {
            assert!(d <= trailguard_protocol::limits::MAX_DEPTH);
            match v {
                serde_json::Value::Object(m) => stack.extend(m.values().map(|c| (c, d + 1))),
                serde_json::Value::Array(a) => stack.extend(a.iter().map(|c| (c, d + 1))),
                _ => {}
            }
        }
    }
});
