//! Amazon S3's REST/XML protocol, for the calls trail buckets need.
//!
//! Path-style requests (`/bucket/key`) and virtual-hosted ones on `localhost`
//! (`bucket.localhost`) are both understood. The operation comes from the
//! method, whether a key is present and the sub-resource in the query
//! (`?policy`, `?location`, `list-type=2`). Parameters use the names CloudTrail
//! records for S3 (`bucketName`, `key`); the body is carried as base64 in `Body`,
//! which the audit record leaves out.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use percent_encoding::percent_decode_str;
use serde_json::{Map, Value as Json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc2822;
use trailguard_model::clock::iso8601_millis;
use trailguard_model::{ApiError, Value};

use crate::xml::escape;

/// S3's XML namespace.
pub const NAMESPACE: &str = "http://s3.amazonaws.com/doc/2006-03-01/";

/// A decoded S3 request.
#[derive(Debug, Clone, PartialEq)]
pub struct S3Request {
    pub operation: &'static str,
    pub params: Json,
}

/// The bucket named by a virtual-hosted `Host` (`bucket.localhost:4747`).
fn host_bucket(host: Option<&str>) -> Option<String> {
    let host = host?.split(':').next()?;
    let bucket = host.strip_suffix(".localhost")?;
    (!bucket.is_empty()).then(|| bucket.to_string())
}

fn decode_component(s: &str) -> String {
    percent_decode_str(s).decode_utf8_lossy().into_owned()
}

/// Decodes a request. Errors are S3's own (`MethodNotAllowed`, `InvalidArgument`).
pub fn decode(
    method: &str,
    path: &str,
    query: &str,
    headers: &http::HeaderMap,
    body: &[u8],
) -> Result<S3Request, ApiError> {
    let host = headers.get("host").and_then(|v| v.to_str().ok());
    let raw = path.strip_prefix('/').unwrap_or(path);
    let (bucket, key) = match host_bucket(host) {
        Some(b) => (Some(b), (!raw.is_empty()).then(|| decode_component(raw))),
        None => match raw.split_once('/') {
            Some((b, k)) => (
                Some(decode_component(b)),
                (!k.is_empty()).then(|| decode_component(k)),
            ),
            None if raw.is_empty() => (None, None),
            None => (Some(decode_component(raw)), None),
        },
    };
    let mut params = Map::new();
    let mut sub = Vec::new();
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        let member = match name.as_ref() {
            "prefix" => "prefix",
            "marker" => "marker",
            "max-keys" => "maxKeys",
            "delimiter" => "delimiter",
            "encoding-type" => "encodingType",
            "list-type" => "listType",
            "continuation-token" => "continuationToken",
            "start-after" => "startAfter",
            "fetch-owner" => "fetchOwner",
            other => {
                sub.push(other.to_string());
                continue;
            }
        };
        params.insert(member.into(), Json::String(value.into_owned()));
    }
    let has = |s: &str| sub.iter().any(|q| q == s);
    let not_allowed = || {
        ApiError::sender(
            "MethodNotAllowed",
            405,
            "The specified method is not allowed against this resource.",
        )
    };
    let operation = match (&bucket, &key, method) {
        (None, _, "GET") => "ListBuckets",
        (None, _, _) => return Err(not_allowed()),
        (Some(_), None, "PUT") if has("policy") => "PutBucketPolicy",
        (Some(_), None, "PUT") => "CreateBucket",
        (Some(_), None, "GET") if has("policy") => "GetBucketPolicy",
        (Some(_), None, "GET") if has("location") => "GetBucketLocation",
        (Some(_), None, "GET") if params.get("listType").and_then(Json::as_str) == Some("2") => {
            "ListObjectsV2"
        }
        (Some(_), None, "GET") => "ListObjects",
        (Some(_), None, "HEAD") => "HeadBucket",
        (Some(_), None, "DELETE") if has("policy") => "DeleteBucketPolicy",
        (Some(_), None, "DELETE") => "DeleteBucket",
        (Some(_), Some(_), "GET") => "GetObject",
        (Some(_), Some(_), "HEAD") => "HeadObject",
        (Some(_), Some(_), "PUT") => "PutObject",
        (Some(_), Some(_), "DELETE") => "DeleteObject",
        _ => return Err(not_allowed()),
    };
    if let Some(b) = bucket {
        params.insert("bucketName".into(), Json::String(b));
    }
    if let Some(k) = key {
        params.insert("key".into(), Json::String(k));
    }
    if matches!(operation, "PutObject" | "PutBucketPolicy" | "CreateBucket") && !body.is_empty() {
        params.insert("Body".into(), Json::String(B64.encode(body)));
    }
    if operation == "PutObject" {
        let mut meta = Map::new();
        for (name, value) in headers {
            if let Some(k) = name.as_str().strip_prefix("x-amz-meta-") {
                meta.insert(
                    k.to_string(),
                    Json::String(String::from_utf8_lossy(value.as_bytes()).into_owned()),
                );
            }
        }
        if !meta.is_empty() {
            params.insert("Metadata".into(), Json::Object(meta));
        }
        if let Some(ct) = headers.get("content-type").and_then(|v| v.to_str().ok()) {
            params.insert("ContentType".into(), Json::String(ct.to_string()));
        }
    }
    Ok(S3Request {
        operation,
        params: Json::Object(params),
    })
}

/// An encoded response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoded {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// `Mon, 23 Nov 2026 22:00:00 GMT`.
pub fn http_date(t: OffsetDateTime) -> String {
    t.format(&Rfc2822)
        .map(|s| s.replace("+0000", "GMT"))
        .unwrap_or_default()
}

/// S3's XML: a `List` member repeats its element (S3 lists are flattened), a
/// `ListOf(name)` member wraps elements called `name`.
fn write(v: &Value, out: &mut String) {
    match v {
        Value::Null | Value::Blob(_) => {}
        Value::Str(s) => escape(s, out),
        Value::Int(n) => out.push_str(&n.to_string()),
        Value::Float(f) => out.push_str(&f.to_string()),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Time(t) => out.push_str(&iso8601_millis(*t)),
        Value::Sensitive(inner) => write(inner, out),
        Value::List(_) | Value::Map(_) => {}
        Value::ListOf(name, items) => {
            for item in items {
                element(name, item, out);
            }
        }
        Value::Struct(members) => {
            for (name, value) in members {
                match value {
                    Value::List(items) => {
                        for item in items {
                            element(name, item, out);
                        }
                    }
                    Value::Null => {}
                    other => element(name, other, out),
                }
            }
        }
    }
}

fn element(name: &str, v: &Value, out: &mut String) {
    out.push('<');
    out.push_str(name);
    out.push('>');
    write(v, out);
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

fn document(root: &str, v: &Value) -> Vec<u8> {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<");
    out.push_str(root);
    out.push_str(" xmlns=\"");
    out.push_str(NAMESPACE);
    out.push_str("\">");
    write(v, &mut out);
    out.push_str("</");
    out.push_str(root);
    out.push('>');
    out.into_bytes()
}

fn text(v: &Value, name: &str) -> Option<String> {
    match v.get(name)? {
        Value::Str(s) => Some(s.clone()),
        Value::Int(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Encodes an operation's output.
pub fn encode(operation: &str, out: &Value) -> Encoded {
    let mut headers = Vec::new();
    let (status, body) = match operation {
        "ListBuckets" => (200, document("ListAllMyBucketsResult", out)),
        "ListObjects" | "ListObjectsV2" => (200, document("ListBucketResult", out)),
        "GetBucketLocation" => {
            let mut doc = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
            doc.push_str("<LocationConstraint xmlns=\"");
            doc.push_str(NAMESPACE);
            doc.push_str("\">");
            if let Some(region) = text(out, "LocationConstraint") {
                escape(&region, &mut doc);
            }
            doc.push_str("</LocationConstraint>");
            (200, doc.into_bytes())
        }
        "GetBucketPolicy" => (200, text(out, "Policy").unwrap_or_default().into_bytes()),
        "CreateBucket" => {
            if let Some(l) = text(out, "Location") {
                headers.push(("location".into(), l));
            }
            (200, Vec::new())
        }
        "GetObject" | "HeadObject" | "PutObject" => {
            if let Some(e) = text(out, "ETag") {
                headers.push(("etag".into(), e));
            }
            if operation != "PutObject" {
                if let Some(ct) = text(out, "ContentType") {
                    headers.push(("content-type".into(), ct));
                }
                if let Some(Value::Time(t)) = out.get("LastModified") {
                    headers.push(("last-modified".into(), http_date(*t)));
                }
                if let Some(Value::Map(meta)) = out.get("Metadata") {
                    for (k, v) in meta {
                        if let Value::Str(s) = v {
                            headers.push((format!("x-amz-meta-{k}"), s.clone()));
                        }
                    }
                }
                if let Some(n) = text(out, "ContentLength") {
                    headers.push(("content-length".into(), n));
                }
            }
            let body = match (operation, out.get("Body")) {
                ("GetObject", Some(Value::Blob(b))) => b.clone(),
                _ => Vec::new(),
            };
            (200, body)
        }
        "DeleteObject" | "DeleteBucket" | "DeleteBucketPolicy" | "PutBucketPolicy" => {
            (204, Vec::new())
        }
        _ => (200, Vec::new()),
    };
    if !headers.iter().any(|(n, _)| n == "content-type") && !body.is_empty() {
        let ct = if operation == "GetBucketPolicy" {
            "application/json"
        } else {
            "application/xml"
        };
        headers.push(("content-type".into(), ct.into()));
    }
    Encoded {
        status,
        headers,
        body,
    }
}

/// S3's error document (HEAD responses carry none).
pub fn error(err: &ApiError, request_id: &str, resource: Option<&str>) -> Vec<u8> {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>");
    escape(&err.code, &mut out);
    out.push_str("</Code><Message>");
    escape(&err.message, &mut out);
    out.push_str("</Message>");
    if let Some(r) = resource {
        out.push_str("<Resource>");
        escape(r, &mut out);
        out.push_str("</Resource>");
    }
    out.push_str("<RequestId>");
    escape(request_id, &mut out);
    out.push_str("</RequestId></Error>");
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests")]
    use super::*;

    fn op(method: &str, path: &str, query: &str) -> S3Request {
        decode(method, path, query, &http::HeaderMap::new(), b"").unwrap()
    }

    #[test]
    fn operations_from_method_path_and_subresource() {
        assert_eq!(op("GET", "/", "").operation, "ListBuckets");
        assert_eq!(op("PUT", "/b", "").operation, "CreateBucket");
        assert_eq!(op("PUT", "/b", "policy").operation, "PutBucketPolicy");
        assert_eq!(op("GET", "/b", "location").operation, "GetBucketLocation");
        assert_eq!(
            op("GET", "/b", "list-type=2&prefix=a").operation,
            "ListObjectsV2"
        );
        assert_eq!(op("GET", "/b/", "prefix=a").operation, "ListObjects");
        assert_eq!(op("DELETE", "/b", "policy").operation, "DeleteBucketPolicy");
        let r = op("GET", "/b/AWSLogs/a%20b/%E2%9C%93.json.gz", "");
        assert_eq!(r.operation, "GetObject");
        assert_eq!(r.params["bucketName"], "b");
        assert_eq!(r.params["key"], "AWSLogs/a b/\u{2713}.json.gz");
        assert!(decode("POST", "/", "", &http::HeaderMap::new(), b"").is_err());
        let mut h = http::HeaderMap::new();
        h.insert("host", "logs.localhost:4747".parse().unwrap());
        h.insert("x-amz-meta-signature", "abcd".parse().unwrap());
        let r = decode("PUT", "/k/1", "", &h, b"data").unwrap();
        assert_eq!(r.params["bucketName"], "logs");
        assert_eq!(r.params["key"], "k/1");
        assert_eq!(r.params["Metadata"]["signature"], "abcd");
        assert_eq!(r.params["Body"], B64.encode(b"data"));
    }

    #[test]
    fn xml_lists_are_flattened_or_wrapped() {
        let out = Value::structure()
            .with("Name", "b")
            .with(
                "Contents",
                Value::List(vec![Value::structure().with("Key", "a&b")]),
            )
            .with(
                "Buckets",
                Value::ListOf("Bucket".into(), vec![Value::structure().with("Name", "x")]),
            );
        let e = encode("ListObjects", &out);
        let body = String::from_utf8(e.body).unwrap();
        assert!(body.contains("<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>b</Name><Contents><Key>a&amp;b</Key></Contents><Buckets><Bucket><Name>x</Name></Bucket></Buckets></ListBucketResult>"));
        let t = time::macros::datetime!(2026-11-23 22:00:00 UTC);
        assert_eq!(http_date(t), "Mon, 23 Nov 2026 22:00:00 GMT");
        let e = encode("DeleteObject", &Value::structure());
        assert_eq!((e.status, e.body.len()), (204, 0));
    }
}
