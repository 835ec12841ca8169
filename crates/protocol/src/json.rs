//! JSON error bodies for the awsJson1.1 and restJson1 protocols.
//!
//! Clients read the code from different places (botocore's awsJson reads only
//! `__type`; botocore's restJson and aws-sdk-rust read the `x-amzn-ErrorType`
//! header first), so both always carry the same value and no conflicting `code`
//! member is ever sent.

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

/// The operation named by an `X-Amz-Target` header, if it has the service's prefix.
pub fn target_operation<'a>(target: &'a str, prefix: &str) -> Option<&'a str> {
    target
        .strip_prefix(prefix)?
        .strip_prefix('.')
        .filter(|op| !op.is_empty())
}

/// Decodes a JSON request body into parameters: an empty body is `{}`; anything
/// but a JSON object is an error.
pub fn decode_body(body: &[u8]) -> Result<Json, String> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Json::Object(Map::new()));
    }
    match serde_json::from_slice::<Json>(body) {
        Ok(v @ Json::Object(_)) => Ok(v),
        Ok(_) => Err("The request body must be a JSON object.".into()),
        Err(e) => Err(format!("The request body is not valid JSON: {e}")),
    }
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
        assert_eq!(target_operation("other.LookupEvents", "com.x.Svc"), None);
        assert!(decode_body(b"").is_ok());
        assert!(decode_body(b"[1]").is_err());
        assert!(decode_body(b"{bad").is_err());
    }

    use super::*;

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
