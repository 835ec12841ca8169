//! JSON error bodies for the awsJson1.1 and restJson1 protocols.
//!
//! Clients read the code from different places (botocore's awsJson reads only
//! `__type`; botocore's restJson and aws-sdk-rust read the `x-amzn-ErrorType`
//! header first), so both always carry the same value and no conflicting `code`
//! member is ever sent. Request bodies are parsed within [`crate::limits`].

use crate::limits;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Map, Value as Json};
use trailguard_model::{ApiError, Value};

/// The header clients read the error code from.
pub const ERROR_TYPE_HEADER: &str = "x-amzn-ErrorType";

/// The body of a JSON-protocol error: `{"__type": CODE, "message": MESSAGE}`.
pub fn error_body(err: &ApiError) -> String {
    serde_json::json!({
        "__type": err.code,
        "message": err.message,
    })
    .to_string()
}

/// Renders an output value as a JSON body: members as named, times as epoch
/// seconds (a JSON number, as the SDKs require), sensitive values included (the
/// audit record is where they are hidden).
pub fn to_json(v: &Value) -> Json {
    match v {
        Value::Null => Json::Null,
        Value::Str(s) => Json::String(s.clone()),
        Value::Int(n) => Json::from(*n),
        Value::Float(f) => Json::from(*f),
        Value::Bool(b) => Json::Bool(*b),
        Value::Time(t) => Json::from(t.unix_timestamp()),
        Value::Sensitive(inner) => to_json(inner),
        Value::Blob(bytes) => Json::String(B64.encode(bytes)),
        Value::List(items) | Value::ListOf(_, items) => {
            Json::Array(items.iter().map(to_json).collect())
        }
        Value::Map(entries) => Json::Object(
            entries
                .iter()
                .map(|(k, v)| (k.clone(), to_json(v)))
                .collect(),
        ),
        Value::Struct(members) => Json::Object(
            members
                .iter()
                .filter(|(_, v)| !matches!(v, Value::Null))
                .map(|(k, v)| (k.clone(), to_json(v)))
                .collect::<Map<_, _>>(),
        ),
    }
}

/// The operation named by an `X-Amz-Target` header, if it has the service's
/// prefix: botocore's whole `targetPrefix`, or its last segment, the service's
/// shape name, which Smithy-generated SDKs (the AWS SDK for JavaScript v3) send
/// and AWS accepts (`CloudTrail_20131101.LookupEvents`).
pub fn target_operation<'a>(target: &'a str, prefix: &str) -> Option<&'a str> {
    let short = prefix.rsplit('.').next().unwrap_or(prefix);
    target
        .strip_prefix(prefix)
        .or_else(|| target.strip_prefix(short))?
        .strip_prefix('.')
        .filter(|op| !op.is_empty())
}

/// Decodes a JSON request body into parameters: an empty body is `{}`; anything
/// but a JSON object is an error, and so is a document past [`crate::limits`].
pub fn decode_body(body: &[u8]) -> Result<Json, String> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Json::Object(Map::new()));
    }
    match parse_bounded(body)? {
        v @ Json::Object(_) => Ok(v),
        _ => Err("The request body must be a JSON object.".into()),
    }
}

/// Parses untrusted JSON within [`limits::MAX_DEPTH`], [`limits::MAX_MEMBERS`]
/// and [`limits::MAX_NAME_LEN`]. Depth and members are counted by one flat scan
/// of the bytes before parsing, so the parser (and every later walk of the
/// value) only ever sees a shallow document.
pub fn parse_bounded(bytes: &[u8]) -> Result<Json, String> {
    scan(bytes)?;
    let value = serde_json::from_slice::<Json>(bytes)
        .map_err(|e| format!("The request body is not valid JSON: {e}"))?;
    let mut stack = vec![&value];
    while let Some(v) = stack.pop() {
        match v {
            Json::Object(m) => {
                if m.keys().any(|k| k.len() > limits::MAX_NAME_LEN) {
                    return Err(limits::name_too_long());
                }
                stack.extend(m.values());
            }
            Json::Array(items) => stack.extend(items),
            _ => {}
        }
    }
    Ok(value)
}

/// Bounds nesting and member count without parsing: outside strings, every
/// `{`/`[` opens a level and every `,` separates one more member.
fn scan(bytes: &[u8]) -> Result<(), String> {
    let (mut depth, mut members) = (0usize, 0usize);
    let (mut in_string, mut escaped) = (false, false);
    for &b in bytes {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                members += 1;
                if depth > limits::MAX_DEPTH {
                    return Err(limits::too_deep());
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            b',' => members += 1,
            _ => {}
        }
        if members > limits::MAX_MEMBERS {
            return Err(limits::too_many_members());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    #[test]
    fn values_render_with_epoch_times() {
        let v = Value::structure()
            .with("EventTime", datetime!(2026-11-23 19:03:04 UTC))
            .with("Events", vec![Value::structure().with("ReadOnly", "true")]);
        assert_eq!(
            to_json(&v).to_string(),
            r#"{"EventTime":1795460584,"Events":[{"ReadOnly":"true"}]}"#
        );
        assert_eq!(
            target_operation("com.x.Svc.LookupEvents", "com.x.Svc"),
            Some("LookupEvents")
        );
        assert_eq!(
            target_operation("Svc.LookupEvents", "com.x.Svc"),
            Some("LookupEvents")
        );
        assert_eq!(target_operation("other.LookupEvents", "com.x.Svc"), None);
        assert_eq!(target_operation("x.Svc.LookupEvents", "com.x.Svc"), None);
        assert_eq!(target_operation("Svc.", "com.x.Svc"), None);
        assert!(decode_body(b"").is_ok());
        assert!(decode_body(b"[1]").is_err());
        assert!(decode_body(b"{bad").is_err());
    }

    use super::*;

    #[test]
    fn deep_wide_and_long_documents_are_refused() {
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert_eq!(
            parse_bounded(deep.as_bytes()).unwrap_err(),
            limits::too_deep()
        );
        let nested = |n: usize| format!("{}1{}", "{\"a\":".repeat(n), "}".repeat(n));
        assert!(decode_body(nested(limits::MAX_DEPTH).as_bytes()).is_ok());
        assert_eq!(
            decode_body(nested(limits::MAX_DEPTH + 1).as_bytes()).unwrap_err(),
            limits::too_deep()
        );
        // Brackets inside strings are text, not nesting.
        let quoted = format!("{{\"a\":\"{}\\\"{}\"}}", "[".repeat(100), "{".repeat(100));
        assert!(decode_body(quoted.as_bytes()).is_ok(), "{quoted}");
        let wide = format!("{{\"a\":[{}0]}}", "0,".repeat(limits::MAX_MEMBERS));
        assert_eq!(
            decode_body(wide.as_bytes()).unwrap_err(),
            limits::too_many_members()
        );
        let long = format!("{{\"{}\":1}}", "k".repeat(limits::MAX_NAME_LEN + 1));
        assert_eq!(
            decode_body(long.as_bytes()).unwrap_err(),
            limits::name_too_long()
        );
    }

    #[test]
    fn golden_json_error() {
        let e = ApiError::sender(
            "InvalidLookupAttributesException",
            400,
            "Lookup attribute \"x\" is \"bad\".",
        );
        assert_eq!(
            error_body(&e),
            r#"{"__type":"InvalidLookupAttributesException","message":"Lookup attribute \"x\" is \"bad\"."}"#
        );
    }
}
