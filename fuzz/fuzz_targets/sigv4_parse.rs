//! SigV4 parsing and verification must never panic, whatever the Authorization
//! header, query string or date look like.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trailguard_protocol::sigv4::{self, PathMode, SignedRequest};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(4, '\n');
    let authorization = parts.next().unwrap_or_default();
    let query = parts.next().unwrap_or_default();
    let date = parts.next().unwrap_or_default();
    let path = parts.next().unwrap_or("/");
    let mut headers = http::HeaderMap::new();
    headers.insert(http::header::HOST, http::HeaderValue::from_static("localhost:4747"));
    if let Ok(v) = http::HeaderValue::from_str(authorization) {
        headers.insert(http::header::AUTHORIZATION, v);
    }
    if let Ok(v) = http::HeaderValue::from_str(date) {
        headers.insert("x-amz-date", v);
    }
    let req = SignedRequest {
        method: "POST",
        path,
        query,
        headers: &headers,
        body: data,
    };
    let _ = sigv4::scope_service(&req);
    for mode in [PathMode::NormalizeDoubleEncode, PathMode::Raw] {
        if let Ok(claim) = sigv4::parse(&req, mode) {
            let _ = sigv4::verify(&claim, "secret", time::OffsetDateTime::UNIX_EPOCH);
        }
    }
});
