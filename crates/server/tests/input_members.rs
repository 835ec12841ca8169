//! The decoders and the model's member list agree on names: every member a
//! restJson1 route binds to a path label, query parameter, header or raw payload,
//! and every parameter the S3 decoder produces, is a member the operation's model
//! defines under that name in `services/data/input-members.json`. Otherwise
//! `Services::execute` would drop a member a handler needs (or the data file's
//! naming rules would be wrong).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "test code"
)]

use std::borrow::Cow;
use trailguard_core::inputs::{Inputs, inputs, retain_defined};
use trailguard_protocol::{rest, s3};
use trailguard_services::ids;

fn location<'a>(model: &'a Inputs, key: &str) -> Option<&'a str> {
    model
        .members
        .iter()
        .find(|m| m.key == key)
        .map(|m| m.location.as_deref().unwrap_or("body"))
}

#[test]
fn every_rest_binding_is_a_model_member_under_the_same_name() {
    let mut checked = 0;
    for service in [ids::LEX, ids::POLLY, ids::GUARDDUTY] {
        for route in trailguard_services::def(service).unwrap().routes {
            let op = route.operation;
            let model = inputs(service, op).unwrap_or_else(|| panic!("{op} not in the data file"));
            let labels: Vec<&str> = route
                .path
                .split('/')
                .filter_map(|s| s.strip_prefix('{').and_then(|l| l.strip_suffix('}')))
                .collect();
            for label in &labels {
                assert_eq!(location(model, label), Some("uri"), "{op}: label {label}");
            }
            // And the other way: every path member of the model is a label here.
            for m in model.members.iter() {
                if m.location.as_deref() == Some("uri") {
                    assert!(labels.contains(&m.key.as_str()), "{op}: {}", m.key);
                }
            }
            for (_, member) in route.query {
                assert_eq!(
                    location(model, member),
                    Some("querystring"),
                    "{op}: {member}"
                );
            }
            for h in route.headers {
                assert_eq!(
                    location(model, h.member),
                    Some("header"),
                    "{op}: {}",
                    h.member
                );
            }
            if let rest::Payload::Raw(member) = route.payload {
                assert_eq!(location(model, member), Some("payload"), "{op}: {member}");
            }
            checked += 1;
        }
    }
    assert!(checked > 50);
}

#[test]
fn every_parameter_the_s3_decoder_produces_is_a_model_member() {
    let mut headers = http::HeaderMap::new();
    headers.insert("content-type", "text/plain".parse().unwrap());
    headers.insert("x-amz-meta-team", "audit".parse().unwrap());
    headers.insert("x-amz-acl", "bucket-owner-full-control".parse().unwrap());
    let listing = "prefix=p&marker=m&max-keys=5&delimiter=%2F&encoding-type=url";
    let listing_v2 = "list-type=2&prefix=p&max-keys=5&delimiter=%2F&encoding-type=url&continuation-token=t&start-after=s&fetch-owner=true";
    let cases: &[(&str, &str, &str, &[u8], &str)] = &[
        ("GET", "/", "", b"", "ListBuckets"),
        (
            "PUT",
            "/b",
            "",
            b"<CreateBucketConfiguration><LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>",
            "CreateBucket",
        ),
        ("DELETE", "/b", "", b"", "DeleteBucket"),
        ("HEAD", "/b", "", b"", "HeadBucket"),
        ("GET", "/b", "location", b"", "GetBucketLocation"),
        ("PUT", "/b", "policy", b"{}", "PutBucketPolicy"),
        ("GET", "/b", "policy", b"", "GetBucketPolicy"),
        ("DELETE", "/b", "policy", b"", "DeleteBucketPolicy"),
        ("GET", "/b", listing, b"", "ListObjects"),
        ("GET", "/b", listing_v2, b"", "ListObjectsV2"),
        ("GET", "/b/k", "", b"", "GetObject"),
        ("HEAD", "/b/k", "", b"", "HeadObject"),
        ("PUT", "/b/k", "", b"bytes", "PutObject"),
        ("DELETE", "/b/k", "", b"", "DeleteObject"),
    ];
    for (method, path, query, body, op) in cases {
        let req = s3::decode(method, path, query, &headers, body).unwrap();
        assert_eq!(req.operation, *op);
        let kept = retain_defined(ids::S3, op, &req.params);
        assert!(
            matches!(kept, Cow::Borrowed(_)),
            "{op}: the model drops {:?} of {}",
            req.params,
            kept
        );
    }
    // Every served S3 operation is covered above.
    let served = trailguard_services::all_operations()
        .filter(|(s, _)| *s == ids::S3)
        .count();
    assert_eq!(served, cases.len());
}
