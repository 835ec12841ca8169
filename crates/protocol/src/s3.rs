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

use crate::limits::{MAX_DEPTH, MAX_MEMBERS, MAX_XML_BODY};
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

/// S3's sub-resources: query parameters that name a different operation on the
/// bucket or object than the method alone would (AWS's REST API, including the
/// list SigV2 signs). Only `policy` and `location` are served; any other one
/// answers `NotImplemented` and changes nothing, so a call meant for a
/// configuration never reaches the object or bucket itself.
pub const SUB_RESOURCES: &[&str] = &[
    "accelerate",
    "acl",
    "analytics",
    "attributes",
    "cors",
    "delete",
    "encryption",
    "intelligent-tiering",
    "inventory",
    "legal-hold",
    "lifecycle",
    "location",
    "logging",
    "metadataConfiguration",
    "metadataTable",
    "metrics",
    "notification",
    "object-lock",
    "ownershipControls",
    "partNumber",
    "policy",
    "policyStatus",
    "publicAccessBlock",
    "renameObject",
    "replication",
    "requestPayment",
    "restore",
    "retention",
    "select",
    "select-type",
    "session",
    "tagging",
    "torrent",
    "uploadId",
    "uploads",
    "versionId",
    "versioning",
    "versions",
    "website",
];

/// Query parameters that are arguments of the served operations (listing
/// options), not sub-resources, with the member each becomes.
const ARGUMENTS: &[(&str, &str)] = &[
    ("prefix", "prefix"),
    ("marker", "marker"),
    ("max-keys", "maxKeys"),
    ("delimiter", "delimiter"),
    ("encoding-type", "encodingType"),
    ("list-type", "listType"),
    ("continuation-token", "continuationToken"),
    ("start-after", "startAfter"),
    ("fetch-owner", "fetchOwner"),
];

/// Request headers on a PUT that ask for behaviour not served: a copy or a
/// conditional write (ignored, they would overwrite an object the client meant
/// to keep), object lock (the client would believe the object immutable) and
/// customer-provided encryption keys (the object would be readable without the
/// key).
const UNSERVED_HEADERS: &[&str] = &[
    "x-amz-copy-source",
    "x-amz-copy-source-range",
    "if-match",
    "if-none-match",
    "x-amz-write-offset-bytes",
    "x-amz-bucket-object-lock-enabled",
    "x-amz-object-lock-mode",
    "x-amz-object-lock-retain-until-date",
    "x-amz-object-lock-legal-hold",
    "x-amz-server-side-encryption-customer-algorithm",
    "x-amz-server-side-encryption-customer-key",
];

fn not_implemented() -> ApiError {
    ApiError::sender(
        "NotImplemented",
        501,
        "A header or query you provided implies functionality that is not implemented.",
    )
}

fn malformed_xml() -> ApiError {
    ApiError::sender(
        "MalformedXML",
        400,
        "The XML you provided was not well-formed or did not validate against our published schema.",
    )
}

/// Query parameters that belong to the signature or to the SDK, not to S3:
/// presigned-URL members, botocore's `x-id`, and GetObject's `response-*`
/// header overrides (which change no state).
fn ignored_parameter(name: &str) -> bool {
    name.starts_with("X-Amz-") || name == "x-id" || name.starts_with("response-")
}

/// Decodes a request. Errors are S3's own (`MethodNotAllowed`,
/// `NotImplemented`, `MalformedXML`, `InvalidArgument`).
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
    let mut sub: Option<String> = None;
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        if let Some((_, member)) = ARGUMENTS.iter().find(|(q, _)| *q == name.as_ref()) {
            params.insert((*member).into(), Json::String(value.into_owned()));
        } else if !ignored_parameter(&name) {
            // A sub-resource, known or not: what it asks for decides the
            // operation, so nothing unrecognised falls through to the method.
            match &sub {
                Some(first) if first != name.as_ref() => return Err(not_implemented()),
                _ => sub = Some(name.into_owned()),
            }
        }
    }
    if method == "PUT" && UNSERVED_HEADERS.iter().any(|h| headers.contains_key(*h)) {
        return Err(not_implemented());
    }
    let not_allowed = || {
        ApiError::sender(
            "MethodNotAllowed",
            405,
            "The specified method is not allowed against this resource.",
        )
    };
    let operation = match (&bucket, &key, method, sub.as_deref()) {
        (None, _, "GET", None) => "ListBuckets",
        (None, _, _, Some(_)) => return Err(not_implemented()),
        (None, _, _, None) => return Err(not_allowed()),
        (Some(_), None, "PUT", Some("policy")) => "PutBucketPolicy",
        (Some(_), None, "GET", Some("policy")) => "GetBucketPolicy",
        (Some(_), None, "DELETE", Some("policy")) => "DeleteBucketPolicy",
        (Some(_), None, "GET", Some("location")) => "GetBucketLocation",
        (_, _, _, Some(_)) => return Err(not_implemented()),
        (Some(_), None, "PUT", None) => "CreateBucket",
        (Some(_), None, "GET", None)
            if params.get("listType").and_then(Json::as_str) == Some("2") =>
        {
            "ListObjectsV2"
        }
        (Some(_), None, "GET", None) => "ListObjects",
        (Some(_), None, "HEAD", None) => "HeadBucket",
        (Some(_), None, "DELETE", None) => "DeleteBucket",
        (Some(_), Some(_), "GET", None) => "GetObject",
        (Some(_), Some(_), "HEAD", None) => "HeadObject",
        (Some(_), Some(_), "PUT", None) => "PutObject",
        (Some(_), Some(_), "DELETE", None) => "DeleteObject",
        _ => return Err(not_allowed()),
    };
    if let Some(b) = bucket {
        params.insert("bucketName".into(), Json::String(b));
    }
    if let Some(k) = key {
        params.insert("key".into(), Json::String(k));
    }
    if matches!(operation, "PutObject" | "PutBucketPolicy") && !body.is_empty() {
        params.insert("Body".into(), Json::String(B64.encode(body)));
    }
    if operation == "CreateBucket"
        && let Some(region) = location_constraint(body)?
    {
        // As CloudTrail records it.
        let mut config = Map::new();
        config.insert("LocationConstraint".into(), Json::String(region));
        params.insert("CreateBucketConfiguration".into(), Json::Object(config));
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
    if matches!(operation, "PutObject" | "CreateBucket")
        && let Some(acl) = headers.get("x-amz-acl").and_then(|v| v.to_str().ok())
    {
        params.insert("x-amz-acl".into(), Json::String(acl.to_string()));
    }
    Ok(S3Request {
        operation,
        params: Json::Object(params),
    })
}

/// One XML tag: its name and whether it opens, closes or is empty.
enum Tag<'a> {
    Open(&'a str),
    Close(&'a str),
    Empty,
}

/// `<LocationConstraint>` of a `CreateBucketConfiguration` body, read by a
/// bounded scanner (size, depth and element count): the element's text when it
/// is a direct child of the root, `None` for an empty body or an empty constraint.
pub fn location_constraint(body: &[u8]) -> Result<Option<String>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    if body.len() > MAX_XML_BODY {
        return Err(malformed_xml());
    }
    let text = std::str::from_utf8(body).map_err(|_| malformed_xml())?;
    let mut rest = text;
    let mut stack: Vec<&str> = Vec::new();
    let mut elements = 0usize;
    let mut found: Option<String> = None;
    let mut saw_root = false;
    loop {
        let Some(lt) = rest.find('<') else {
            if !rest.trim().is_empty() && stack.is_empty() {
                return Err(malformed_xml());
            }
            break;
        };
        let (content, after) = rest.split_at(lt);
        if stack.len() == 2 && stack.last() == Some(&"LocationConstraint") {
            let value = content.trim();
            if !value.is_empty() {
                found = Some(value.to_string());
            }
        } else if stack.is_empty() && !content.trim().is_empty() {
            return Err(malformed_xml());
        }
        let gt = after.find('>').ok_or_else(malformed_xml)?;
        let inner = after.get(1..gt).ok_or_else(malformed_xml)?;
        rest = after.get(gt + 1..).ok_or_else(malformed_xml)?;
        let tag = if inner.starts_with('?') || inner.starts_with('!') {
            // The XML declaration or a comment: neither opens an element.
            if inner.starts_with("!--") && !inner.ends_with("--") {
                return Err(malformed_xml());
            }
            continue;
        } else if let Some(name) = inner.strip_prefix('/') {
            Tag::Close(name.trim())
        } else if inner.ends_with('/') {
            Tag::Empty
        } else {
            Tag::Open(inner.split_whitespace().next().unwrap_or_default())
        };
        match tag {
            Tag::Open(name) => {
                elements += 1;
                if name.is_empty() || (stack.is_empty() && saw_root) {
                    return Err(malformed_xml());
                }
                saw_root = true;
                stack.push(name);
            }
            Tag::Empty => {
                elements += 1;
                if stack.is_empty() {
                    if saw_root {
                        return Err(malformed_xml());
                    }
                    saw_root = true;
                }
            }
            Tag::Close(name) => {
                if stack.pop() != Some(name) {
                    return Err(malformed_xml());
                }
            }
        }
        if elements > MAX_MEMBERS || stack.len() > MAX_DEPTH {
            return Err(malformed_xml());
        }
    }
    if !stack.is_empty() || !saw_root {
        return Err(malformed_xml());
    }
    Ok(found)
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
    for (name, value) in &err.extra {
        out.push('<');
        out.push_str(name);
        out.push('>');
        escape(value, &mut out);
        out.push_str("</");
        out.push_str(name);
        out.push('>');
    }
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
        assert_eq!(op("GET", "/b", "policy=").operation, "GetBucketPolicy");
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

    fn code(method: &str, path: &str, query: &str) -> String {
        decode(method, path, query, &http::HeaderMap::new(), b"")
            .unwrap_err()
            .code
            .into_owned()
    }

    #[test]
    fn unserved_sub_resources_are_not_implemented_whatever_the_method() {
        for sub in SUB_RESOURCES {
            if matches!(*sub, "policy" | "location") {
                continue;
            }
            for (method, path) in [
                ("GET", "/b"),
                ("PUT", "/b"),
                ("DELETE", "/b"),
                ("POST", "/b"),
                ("GET", "/b/k"),
                ("PUT", "/b/k"),
                ("DELETE", "/b/k"),
                ("POST", "/b/k"),
                ("HEAD", "/b/k"),
            ] {
                assert_eq!(
                    code(method, path, sub),
                    "NotImplemented",
                    "{method} {path}?{sub}"
                );
                assert_eq!(
                    code(method, path, &format!("{sub}=&prefix=a")),
                    "NotImplemented"
                );
            }
        }
        // Unknown parameters, and a served sub-resource on an object, are not
        // taken for the plain operation either.
        assert_eq!(code("DELETE", "/b", "somethingNew"), "NotImplemented");
        assert_eq!(code("PUT", "/b/k", "policy"), "NotImplemented");
        assert_eq!(code("GET", "/b", "policy&acl"), "NotImplemented");
        // Presigned-URL members and SDK markers are not sub-resources.
        assert_eq!(
            op(
                "GET",
                "/b/k",
                "x-id=GetObject&X-Amz-Expires=60&response-content-type=a"
            )
            .operation,
            "GetObject"
        );
        let mut h = http::HeaderMap::new();
        h.insert("x-amz-copy-source", "other/key".parse().unwrap());
        let e = decode("PUT", "/b/k", "", &h, b"").unwrap_err();
        assert_eq!((e.code.as_ref(), e.status), ("NotImplemented", 501));
        let mut h = http::HeaderMap::new();
        h.insert("x-amz-bucket-object-lock-enabled", "true".parse().unwrap());
        assert!(decode("PUT", "/b", "", &h, b"").is_err());
        let mut h = http::HeaderMap::new();
        h.insert("if-none-match", "*".parse().unwrap());
        assert_eq!(
            decode("GET", "/b/k", "", &h, b"").unwrap().operation,
            "GetObject"
        );
    }

    #[test]
    fn create_bucket_configuration_is_read_within_bounds() {
        let cfg = |body: &str| location_constraint(body.as_bytes());
        assert_eq!(
            cfg("<?xml version=\"1.0\"?>\n<CreateBucketConfiguration xmlns=\"x\"><LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>").unwrap().as_deref(),
            Some("eu-west-1")
        );
        assert_eq!(cfg("").unwrap(), None);
        assert_eq!(cfg("<CreateBucketConfiguration/>").unwrap(), None);
        // A LocationConstraint nested deeper is not the bucket's.
        assert_eq!(
            cfg("<C><X><LocationConstraint>eu-west-1</LocationConstraint></X></C>").unwrap(),
            None
        );
        for bad in [
            "<C>",
            "<C></D>",
            "<C></C><C></C>",
            "text",
            "<C><LocationConstraint>x</C>",
        ] {
            assert_eq!(cfg(bad).unwrap_err().code, "MalformedXML", "{bad}");
        }
        let deep = format!("{}{}", "<a>".repeat(100_000), "</a>".repeat(100_000));
        assert_eq!(cfg(&deep).unwrap_err().code, "MalformedXML");
        let deep = format!(
            "{}{}",
            "<a>".repeat(MAX_DEPTH + 1),
            "</a>".repeat(MAX_DEPTH + 1)
        );
        assert_eq!(cfg(&deep).unwrap_err().code, "MalformedXML");
        let wide = format!("<C>{}</C>", "<a/>".repeat(MAX_MEMBERS));
        assert_eq!(cfg(&wide).unwrap_err().code, "MalformedXML");
        let e = decode("PUT", "/b", "", &http::HeaderMap::new(), b"<C>").unwrap_err();
        assert_eq!((e.code.as_ref(), e.status), ("MalformedXML", 400));
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
