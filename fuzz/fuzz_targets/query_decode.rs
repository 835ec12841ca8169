//! The awsQuery decoder must answer every input with a value or a decode error.
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
    }
});
