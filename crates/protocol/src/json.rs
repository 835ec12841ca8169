//! JSON error bodies for the awsJson1.1 and restJson1 protocols.
//!
//! Clients read the code from different places (botocore's awsJson reads only
//! `__type`; botocore's restJson and aws-sdk-rust read the `x-amzn-ErrorType`
//! header first), so both always carry the same value and no conflicting `code`
//! member is ever sent.

use trailguard_model::ApiError;

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

#[cfg(test)]
mod tests {
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
