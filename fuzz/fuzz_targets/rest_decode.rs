//! The restJson1 decoder (against every service's routes) and the S3 decoder
//! must answer every request with an operation and parameters or an error:
//! never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trailguard_protocol::rest;

fuzz_target!(|data: &[u8]| {
    // Lines: method, path, query, one header value, then the body.
    let mut parts = data.splitn(5, |b| *b == b'\n');
    let mut next = || String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let (method, path, query, header) = (next(), next(), next(), next());
    let body = data.rsplit(|b| *b == b'\n').next().unwrap_or_default();
    let mut headers = http::HeaderMap::new();
    if let Ok(v) = http::HeaderValue::from_str(&header) {
        headers.insert("x-amz-lex-session-attributes", v.clone());
        headers.insert("content-type", v);
    }
    if let Ok(req) = trailguard_protocol::s3::decode(&method, &path, &query, &headers, body) {
        assert!(req.params.is_object());
    }
    for routes in [
        trailguard_workloads::lex::routes::ROUTES,
        trailguard_workloads::polly::routes::ROUTES,
        trailguard_guardduty::routes::ROUTES,
    ] {
        if let Ok((route, req)) = rest::decode(routes, &method, &path, &query, &headers, body)
        {
            assert_eq!(route.operation, req.action);
            assert!(req.params.is_object());
        }
    }
});
