//! One request and one reply in whichever protocol a service speaks.
//!
//! Dispatch hands over the service's definition and the request's parts and
//! gets back the operation and its parameter tree, or a [`Reply`] to send:
//! every difference between awsQuery, awsJson1.1, restJson1 and S3's REST/XML
//! (how the operation is named, how errors are spelt and shaped, which
//! payloads may go unsigned, how the path is signed) is decided here, from
//! the [`ServiceDef`], so dispatch knows no wire format.

use crate::query::{self, QueryRequest};
use crate::sigv4::{AuthError, PathMode};
use crate::{json, rest, s3, xml};
use trailguard_model::error::quote;
use trailguard_model::wire::Protocol;
use trailguard_model::{ApiError, ServiceDef, Value};

/// A response to send: status, headers in the order they are set (a later
/// one of the same name replaces an earlier one), and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    fn new(status: u16, content_type: &str, request_id: &str, body: Vec<u8>) -> Self {
        Self {
            status,
            headers: vec![
                ("content-type".into(), content_type.into()),
                ("x-amzn-requestid".into(), request_id.into()),
            ],
            body,
        }
    }
}

/// The request as dispatch has it.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: &'a str,
    pub headers: &'a http::HeaderMap,
    pub body: &'a [u8],
}

/// How the service's requests sign their path: S3 signs it as sent, every
/// other service normalizes and re-encodes it.
pub fn path_mode(def: &ServiceDef) -> PathMode {
    match def.protocol {
        Protocol::RestXmlS3 => PathMode::Raw,
        Protocol::AwsQuery | Protocol::AwsJson11 { .. } | Protocol::RestJson1 => {
            PathMode::NormalizeDoubleEncode
        }
    }
}

/// Whether this request may sign `UNSIGNED-PAYLOAD`: S3 always (and its
/// chunk-signed bodies), otherwise only operations whose model says so.
pub fn unsigned_body_ok(def: &ServiceDef, method: &str, path: &str) -> bool {
    def.protocol == Protocol::RestXmlS3
        || rest::find(def.routes, method, path).is_some_and(|(r, _)| r.unsigned_body)
}

/// The operation and parameter tree of a request.
pub fn decode(def: &ServiceDef, req: &Request<'_>) -> Result<QueryRequest, ApiError> {
    match def.protocol {
        Protocol::AwsQuery => {
            let form: &[u8] = if req.method == "POST" { req.body } else { b"" };
            query::decode(req.query, form).map_err(|e| match e {
                query::QueryError::MissingAction => {
                    ApiError::sender("MissingAction", 400, "Missing Action")
                }
                query::QueryError::Malformed(m) => ApiError::sender("MalformedQueryString", 400, m),
            })
        }
        Protocol::AwsJson11 { target_prefix } => {
            let target = req
                .headers
                .get("x-amz-target")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            match json::target_operation(target, target_prefix) {
                None => Err(ApiError::sender(
                    "UnknownOperationException",
                    400,
                    format!(
                        "The operation named by X-Amz-Target '{}' is not known.",
                        quote(target)
                    ),
                )),
                Some(op) => json::decode_body(req.body)
                    .map(|params| QueryRequest {
                        action: op.to_string(),
                        version: None,
                        params,
                    })
                    .map_err(|m| ApiError::sender("SerializationException", 400, m)),
            }
        }
        Protocol::RestXmlS3 => s3::decode(req.method, req.path, req.query, req.headers, req.body)
            .map(|r| QueryRequest {
                action: r.operation.to_string(),
                version: None,
                params: r.params,
            }),
        Protocol::RestJson1 => rest::decode(
            def.routes,
            req.method,
            req.path,
            req.query,
            req.headers,
            req.body,
        )
        .map(|(_, r)| r)
        .map_err(|e| match e {
            rest::RestError::NoRoute => ApiError::sender(
                "UnknownOperationException",
                404,
                format!(
                    "No {} operation is served at {} {}.",
                    def.id.signing_name(),
                    req.method,
                    quote(req.path)
                ),
            ),
            rest::RestError::Malformed(m) => ApiError::sender("SerializationException", 400, m),
        }),
    }
}

/// A successful call's output.
pub fn success(def: &ServiceDef, action: &str, request_id: &str, out: &Value) -> Reply {
    match def.protocol {
        Protocol::AwsQuery => Reply::new(
            200,
            "text/xml",
            request_id,
            xml::response(action, def.xml_namespace, request_id, out).into_bytes(),
        ),
        Protocol::AwsJson11 { .. } => {
            let body = match json::to_json(out) {
                serde_json::Value::Null => "{}".to_string(),
                v => v.to_string(),
            };
            Reply::new(
                200,
                "application/x-amz-json-1.1",
                request_id,
                body.into_bytes(),
            )
        }
        Protocol::RestXmlS3 => {
            let encoded = s3::encode(action, out);
            let mut headers = encoded.headers;
            headers.push(("x-amz-request-id".into(), request_id.into()));
            Reply {
                status: encoded.status,
                headers,
                body: encoded.body,
            }
        }
        Protocol::RestJson1 => {
            let Some(route) = def.routes.iter().find(|r| r.operation == action) else {
                return error(def, request_id, &ApiError::internal());
            };
            let encoded = rest::encode(route, out);
            let mut headers: Vec<(String, String)> = encoded
                .headers
                .into_iter()
                .map(|(n, v)| (n.to_string(), v))
                .collect();
            headers.push(("x-amzn-requestid".into(), request_id.into()));
            Reply {
                status: encoded.status,
                headers,
                body: encoded.body,
            }
        }
    }
}

/// An error, spelt and shaped as the service's protocol does.
pub fn error(def: &ServiceDef, request_id: &str, err: &ApiError) -> Reply {
    match def.protocol {
        Protocol::RestXmlS3 => {
            // S3 names the same failures its own way.
            let err = match err.code.as_ref() {
                "InvalidClientTokenId" => ApiError {
                    code: "InvalidAccessKeyId".into(),
                    message: "The AWS Access Key Id you provided does not exist in our records."
                        .into(),
                    ..err.clone()
                },
                "MissingAuthenticationToken" => {
                    ApiError::sender("AccessDenied", 403, "Access Denied")
                }
                "ServiceFailure" => ApiError {
                    code: "InternalError".into(),
                    ..err.clone()
                },
                _ => err.clone(),
            };
            let mut headers = vec![
                ("content-type".to_string(), "application/xml".to_string()),
                ("x-amz-request-id".to_string(), request_id.to_string()),
            ];
            // The bucket's region, also as the header HEAD requests (which have
            // no error document) are redirected by.
            if let Some((_, region)) = err.extra.iter().find(|(name, _)| *name == "Region") {
                headers.push(("x-amz-bucket-region".into(), region.to_string()));
            }
            Reply {
                status: err.status,
                body: s3::error(&err, request_id, None),
                headers,
            }
        }
        Protocol::AwsQuery => Reply::new(
            err.status,
            "text/xml",
            request_id,
            xml::error(def.xml_namespace, request_id, err).into_bytes(),
        ),
        proto @ (Protocol::AwsJson11 { .. } | Protocol::RestJson1) => {
            // JSON services name the same failures differently.
            let code = match err.code.as_ref() {
                "SignatureDoesNotMatch" => "InvalidSignatureException",
                "InvalidClientTokenId" => "UnrecognizedClientException",
                "ExpiredToken" => "ExpiredTokenException",
                "MissingAuthenticationToken" => "MissingAuthenticationTokenException",
                "IncompleteSignature" => "IncompleteSignatureException",
                "InvalidAction" => "UnknownOperationException",
                "ServiceFailure" => "InternalFailure",
                "AccessDenied" => "AccessDeniedException",
                other => other,
            };
            let err = ApiError {
                code: code.to_string().into(),
                ..err.clone()
            };
            let content_type = if proto == Protocol::RestJson1 {
                "application/json"
            } else {
                "application/x-amz-json-1.1"
            };
            let mut reply = Reply::new(
                err.status,
                content_type,
                request_id,
                json::error_body(&err).into_bytes(),
            );
            reply
                .headers
                .push((json::ERROR_TYPE_HEADER.into(), err.code.to_string()));
            reply
        }
    }
}

/// A failed signature check, as the service's protocol answers it.
pub fn auth_error(def: &ServiceDef, e: &AuthError) -> ApiError {
    let s3 = def.protocol == Protocol::RestXmlS3;
    match e {
        AuthError::Missing => ApiError::sender("MissingAuthenticationToken", 403, e.message()),
        AuthError::Incomplete(_) => ApiError::sender("IncompleteSignature", 400, e.message()),
        AuthError::Skewed(_) | AuthError::Mismatch => {
            ApiError::sender("SignatureDoesNotMatch", 403, e.message())
        }
        AuthError::Expired(_) => ApiError::sender("AccessDenied", 403, e.message()),
        // S3 names the region it expected; the others say the scope is invalid.
        AuthError::UnknownRegion(region) if s3 => ApiError::sender(
            "AuthorizationHeaderMalformed",
            400,
            format!(
                "The authorization header is malformed; the region '{}' is wrong; expecting 'us-east-1'",
                quote(region)
            ),
        )
        .with_extra("Region", "us-east-1"),
        AuthError::UnknownRegion(_) => ApiError::sender("SignatureDoesNotMatch", 403, e.message()),
        AuthError::HeadersNotSigned(_) if s3 => ApiError::sender("AccessDenied", 403, e.message()),
        AuthError::HeadersNotSigned(names) => ApiError::sender(
            "SignatureDoesNotMatch",
            403,
            format!("{}: {}", e.message(), quote(&names.join(", "))),
        ),
    }
}
