//! An `aws-chunked` body (`STREAMING-AWS4-HMAC-SHA256-PAYLOAD`) of any shape must
//! be decoded or refused, never panic, and a `CreateBucketConfiguration` of any
//! shape must be read within its bounds or refused.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trailguard_protocol::sigv4::{self, PathMode, SignedRequest, STREAMING_PAYLOAD};

fuzz_target!(|data: &[u8]| {
    let _ = trailguard_protocol::s3::location_constraint(data);
    let mut headers = http::HeaderMap::new();
    headers.insert(http::header::HOST, http::HeaderValue::from_static("localhost:4747"));
    headers.insert("x-amz-date", http::HeaderValue::from_static("20130524T000000Z"));
    headers.insert("x-amz-content-sha256", http::HeaderValue::from_static(STREAMING_PAYLOAD));
    headers.insert("x-amz-decoded-content-length", http::HeaderValue::from_static("16"));
    headers.insert(
        http::header::AUTHORIZATION,
        http::HeaderValue::from_static(
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length, Signature=4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9",
        ),
    );
    let req = SignedRequest { method: "PUT", path: "/b/k", query: "", headers: &headers, body: data };
    if let Ok(claim) = sigv4::parse(&req, PathMode::Raw) {
        if let Ok(Some(decoded)) = sigv4::streaming_body(&claim, "secret", &headers, data) {
            assert_eq!(decoded.len(), 16);
        }
    }
});
