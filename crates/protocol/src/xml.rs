//! awsQuery responses and errors as XML.
//!
//! aws-sdk-rust requires the result element to be the first child of the response
//! element, so `<OpResult>` always precedes `<ResponseMetadata>`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use trailguard_model::clock::iso8601;
use trailguard_model::{ApiError, Fault, Value};

/// Escapes text for XML character data and attribute values.
pub fn escape(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
}

fn write_value(v: &Value, out: &mut String) {
    match v {
        Value::Null => {}
        Value::Str(s) => escape(s, out),
        Value::Int(n) => out.push_str(&n.to_string()),
        Value::Float(f) => out.push_str(&f.to_string()),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Time(t) => out.push_str(&iso8601(*t)),
        Value::Sensitive(inner) => write_value(inner, out),
        Value::Blob(bytes) => out.push_str(&B64.encode(bytes)),
        Value::List(items) => write_list("member", items, out),
        Value::ListOf(name, items) => write_list(name, items, out),
        Value::Map(entries) => {
            for (key, value) in entries {
                out.push_str("<entry><key>");
                escape(key, out);
                out.push_str("</key><value>");
                write_value(value, out);
                out.push_str("</value></entry>");
            }
        }
        Value::Struct(members) => {
            for (name, value) in members {
                if matches!(value, Value::Null) {
                    continue;
                }
                out.push('<');
                out.push_str(name);
                out.push('>');
                write_value(value, out);
                out.push_str("</");
                out.push_str(name);
                out.push('>');
            }
        }
    }
}

fn write_list(element: &str, items: &[Value], out: &mut String) {
    for item in items {
        out.push('<');
        out.push_str(element);
        out.push('>');
        write_value(item, out);
        out.push_str("</");
        out.push_str(element);
        out.push('>');
    }
}

/// Renders a successful response for `action`.
pub fn response(action: &str, namespace: &str, request_id: &str, output: &Value) -> String {
    let mut out = String::with_capacity(512);
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<");
    out.push_str(action);
    out.push_str("Response xmlns=\"");
    out.push_str(namespace);
    out.push_str("\">");
    if !matches!(output, Value::Null) {
        out.push('<');
        out.push_str(action);
        out.push_str("Result>");
        write_value(output, &mut out);
        out.push_str("</");
        out.push_str(action);
        out.push_str("Result>");
    }
    out.push_str("<ResponseMetadata><RequestId>");
    escape(request_id, &mut out);
    out.push_str("</RequestId></ResponseMetadata></");
    out.push_str(action);
    out.push_str("Response>");
    out
}

/// Renders an error as an `ErrorResponse`.
pub fn error(namespace: &str, request_id: &str, err: &ApiError) -> String {
    let mut out = String::with_capacity(256);
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ErrorResponse xmlns=\"");
    out.push_str(namespace);
    out.push_str("\"><Error><Type>");
    out.push_str(match err.fault {
        Fault::Sender => "Sender",
        Fault::Receiver => "Receiver",
    });
    out.push_str("</Type><Code>");
    escape(&err.code, &mut out);
    out.push_str("</Code><Message>");
    escape(&err.message, &mut out);
    out.push_str("</Message></Error><RequestId>");
    escape(request_id, &mut out);
    out.push_str("</RequestId></ErrorResponse>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn golden_response() {
        let out = Value::structure().with(
            "User",
            Value::structure()
                .with("Path", "/")
                .with("UserName", "a<b")
                .with("CreateDate", datetime!(2026-11-23 19:03:04 UTC))
                .with(
                    "Tags",
                    vec![Value::structure().with("Key", "k").with("Value", "v")],
                ),
        );
        assert_eq!(
            response(
                "GetUser",
                "https://iam.amazonaws.com/doc/2010-05-08/",
                "req-1",
                &out
            ),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<GetUserResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><GetUserResult><User><Path>/</Path><UserName>a&lt;b</UserName><CreateDate>2026-11-23T19:03:04Z</CreateDate><Tags><member><Key>k</Key><Value>v</Value></member></Tags></User></GetUserResult><ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata></GetUserResponse>"
        );
        assert_eq!(
            response("DeleteUser", "ns", "r", &Value::Null),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<DeleteUserResponse xmlns=\"ns\"><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></DeleteUserResponse>"
        );
    }

    #[test]
    fn golden_error() {
        let e = ApiError::sender("NoSuchEntity", 404, "The user with name x cannot be found.");
        assert_eq!(
            error("ns", "r", &e),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ErrorResponse xmlns=\"ns\"><Error><Type>Sender</Type><Code>NoSuchEntity</Code><Message>The user with name x cannot be found.</Message></Error><RequestId>r</RequestId></ErrorResponse>"
        );
    }
}
