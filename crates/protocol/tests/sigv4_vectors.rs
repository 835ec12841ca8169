//! AWS's published SigV4 test suite (see `sigv4-vectors/README.md`): for every
//! case the canonical request and string to sign must match byte for byte, and the
//! published signature must verify.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "test code: a malformed vector should fail loudly"
)]

use std::fs;
use std::path::Path;
use trailguard_protocol::sigv4::{self, PathMode, SignedRequest};

const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

struct Case {
    method: String,
    target: String,
    headers: http::HeaderMap,
    body: Vec<u8>,
}

fn parse_request(text: &str, canonical: &str) -> Case {
    let (head, body) = match text.split_once("\n\n") {
        Some((h, b)) => (h, b.as_bytes().to_vec()),
        None => (text, Vec::new()),
    };
    let mut lines = head.lines();
    let request_line = lines.next().unwrap();
    let method = request_line.split(' ').next().unwrap().to_string();
    let target = request_line
        .strip_prefix(&format!("{method} "))
        .unwrap()
        .rsplit_once(' ')
        .unwrap()
        .0
        .to_string();
    let mut pairs: Vec<(String, String)> = Vec::new();
    for line in lines {
        if line.starts_with(' ') || line.starts_with('\t') {
            // Obsolete line folding: the continuation belongs to the previous value.
            let last = pairs.last_mut().unwrap();
            last.1.push(' ');
            last.1.push_str(line.trim());
            continue;
        }
        let (k, v) = line.split_once(':').unwrap();
        pairs.push((k.to_ascii_lowercase(), v.to_string()));
    }
    // Some cases sign a session token that the request file leaves out; take it
    // from the canonical request, as a client would have sent it.
    if !pairs.iter().any(|(k, _)| k == "x-amz-security-token")
        && let Some(line) = canonical
            .lines()
            .find(|l| l.starts_with("x-amz-security-token:"))
    {
        pairs.push((
            "x-amz-security-token".into(),
            line["x-amz-security-token:".len()..].into(),
        ));
    }
    let mut headers = http::HeaderMap::new();
    for (k, v) in pairs {
        headers.append(
            http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            http::HeaderValue::from_bytes(v.as_bytes()).unwrap(),
        );
    }
    Case {
        method,
        target,
        headers,
        body,
    }
}

#[test]
fn aws_sigv4_test_suite() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sigv4-vectors");
    let mut cases: Vec<_> = fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    assert!(cases.len() >= 30, "the suite has at least 30 cases");
    let mut failures = Vec::new();
    for dir in &cases {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let read = |f: &str| fs::read_to_string(dir.join(f)).unwrap();
        let expected_creq = read("canonical-request.txt");
        let expected_sts = read("string-to-sign.txt");
        let authz = read("authorization.txt");
        let mut case = parse_request(&read("request.txt"), &expected_creq);
        case.headers.insert(
            http::header::AUTHORIZATION,
            http::HeaderValue::from_str(authz.trim()).unwrap(),
        );
        let (path, query) = case.target.split_once('?').unwrap_or((&case.target, ""));
        let req = SignedRequest {
            method: &case.method,
            path,
            query,
            headers: &case.headers,
            body: &case.body,
        };
        let claim = match sigv4::parse(&req, PathMode::NormalizeDoubleEncode) {
            Ok(c) => c,
            Err(e) => {
                failures.push(format!("{name}: parse failed: {e:?}"));
                continue;
            }
        };
        if claim.canonical_request != expected_creq {
            failures.push(format!(
                "{name}: canonical request differs\n--- expected\n{expected_creq}\n--- got\n{}",
                claim.canonical_request
            ));
            continue;
        }
        if sigv4::string_to_sign(&claim) != expected_sts {
            failures.push(format!("{name}: string to sign differs"));
            continue;
        }
        let now = time::macros::datetime!(2015-08-30 12:36:00 UTC);
        if let Err(e) = sigv4::verify(&claim, SECRET, now) {
            failures.push(format!("{name}: signature did not verify: {e:?}"));
        }
        if sigv4::verify(&claim, "not-the-secret", now).is_ok() {
            failures.push(format!("{name}: a wrong secret verified"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}
