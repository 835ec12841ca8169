//! The generic restJson1 decoder and encoder over the services' own route
//! tables: templates and labels, header, query and body bindings, bounds.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "tests"
)]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use trailguard_model::Value;
use trailguard_protocol::limits;
use trailguard_protocol::rest::{self, *};

const LEX: &[rest::Route] = trailguard_workloads::lex::routes::ROUTES;
const POLLY: &[rest::Route] = trailguard_workloads::polly::routes::ROUTES;
const GUARDDUTY: &[rest::Route] = trailguard_guardduty::routes::ROUTES;

#[test]
fn routes_match_templates_and_decode_labels() {
    let (r, l) = find(LEX, "PUT", "/bots/OrderFlowers/versions/%24LATEST").unwrap();
    assert_eq!(r.operation, "PutBot");
    assert_eq!(l, vec![("name", "OrderFlowers".to_string())]);
    let (r, _) = find(LEX, "GET", "/bots/OrderFlowers/versions/%24LATEST").unwrap();
    assert_eq!(r.operation, "GetBot");
    assert_eq!(find(LEX, "GET", "/bots/").unwrap().0.operation, "GetBots");
    assert_eq!(find(LEX, "GET", "/bots").unwrap().0.operation, "GetBots");
    assert_eq!(
        find(LEX, "GET", "/intents").unwrap().0.operation,
        "GetIntents"
    );
    assert_eq!(
        find(LEX, "GET", "/slottypes").unwrap().0.operation,
        "GetSlotTypes"
    );
    assert!(find(LEX, "PATCH", "/bots/x").is_none());
    assert!(find(LEX, "GET", "/bots//versions/1").is_none());
    let (r, l) = find(LEX, "POST", "/bot/B/alias/%24LATEST/user/u%201/text").unwrap();
    assert_eq!(r.operation, "PostText");
    assert_eq!(l[1].1, "$LATEST");
    assert_eq!(l[2].1, "u 1");
}

#[test]
fn decode_merges_headers_query_and_body() {
    let mut headers = http::HeaderMap::new();
    headers.insert("content-type", "text/plain; charset=utf-8".parse().unwrap());
    headers.insert(
        "x-amz-lex-session-attributes",
        B64.encode(r#"{"a":"1"}"#).parse().unwrap(),
    );
    let (_, req) = decode(
        LEX,
        "POST",
        "/bot/B/alias/A/user/U/content",
        "",
        &headers,
        b"hello",
    )
    .unwrap();
    assert_eq!(req.action, "PostContent");
    assert_eq!(req.params["inputStream"], "hello");
    assert_eq!(req.params["sessionAttributes"]["a"], "1");
    assert_eq!(req.params["botName"], "B");
    let (_, req) = decode(
        LEX,
        "GET",
        "/bots/",
        "maxResults=5&other=x",
        &http::HeaderMap::new(),
        b"",
    )
    .unwrap();
    assert_eq!(req.params, serde_json::json!({"maxResults": "5"}));
    headers.insert("x-amz-lex-session-attributes", "!!".parse().unwrap());
    assert!(matches!(
        decode(
            LEX,
            "POST",
            "/bot/B/alias/A/user/U/content",
            "",
            &headers,
            b""
        ),
        Err(RestError::Malformed(_))
    ));
    assert_eq!(
        decode(POLLY, "GET", "/nope", "", &http::HeaderMap::new(), b"").unwrap_err(),
        RestError::NoRoute
    );
}

#[test]
fn bodies_headers_and_labels_are_bounded() {
    let none = http::HeaderMap::new();
    let deep = format!("{}{}", "[".repeat(50_000), "]".repeat(50_000));
    let body = format!("{{\"a\":{deep}}}");
    assert!(matches!(
        decode(GUARDDUTY, "POST", "/detector", "", &none, body.as_bytes()),
        Err(RestError::Malformed(m)) if m == limits::too_deep()
    ));
    let mut headers = http::HeaderMap::new();
    let nested = format!("{}1{}", "{\"a\":".repeat(40), "}".repeat(40));
    headers.insert(
        "x-amz-lex-session-attributes",
        B64.encode(&nested).parse().unwrap(),
    );
    let content = "/bot/B/alias/A/user/U/content";
    assert!(matches!(
        decode(LEX, "POST", content, "", &headers, b""),
        Err(RestError::Malformed(m)) if m.ends_with(&limits::too_deep())
    ));
    let big = B64.encode(format!(
        "{{\"a\":\"{}\"}}",
        "x".repeat(limits::MAX_BOUND_HEADER)
    ));
    headers.insert("x-amz-lex-session-attributes", big.parse().unwrap());
    assert!(matches!(
        decode(LEX, "POST", content, "", &headers, b""),
        Err(RestError::Malformed(_))
    ));
    let long = format!("/detector/{}", "d".repeat(limits::MAX_LABEL_LEN + 1));
    assert_eq!(
        decode(GUARDDUTY, "GET", &long, "", &none, b"").unwrap_err(),
        RestError::NoRoute
    );
}

#[test]
fn encode_splits_headers_and_payload() {
    let route = &POLLY[0];
    let out = Value::structure()
        .with("AudioStream", Value::Blob(vec![1, 2, 3]))
        .with("ContentType", "audio/mpeg")
        .with("RequestCharacters", 45_i64);
    let e = encode(route, &out);
    assert_eq!(e.body, vec![1, 2, 3]);
    assert!(e.headers.contains(&("content-type", "audio/mpeg".into())));
    assert!(
        e.headers
            .contains(&("x-amzn-RequestCharacters", "45".into()))
    );
    let lex = LEX.iter().find(|r| r.operation == "PostContent").unwrap();
    let out = Value::structure()
        .with("slots", Value::Map(vec![("A".into(), "b".into())]))
        .with("dialogState", "ElicitSlot\n");
    let e = encode(lex, &out);
    assert!(
        e.headers
            .contains(&("x-amz-lex-slots", B64.encode(r#"{"A":"b"}"#)))
    );
    assert!(
        e.headers
            .contains(&("x-amz-lex-dialog-state", "ElicitSlot ".into()))
    );
    let del = LEX.iter().find(|r| r.operation == "DeleteBot").unwrap();
    assert!(encode(del, &Value::structure()).body.is_empty());
    let get = LEX.iter().find(|r| r.operation == "GetBots").unwrap();
    assert_eq!(
        encode(get, &Value::structure().with("bots", Value::List(vec![]))).body,
        br#"{"bots":[]}"#
    );
}
