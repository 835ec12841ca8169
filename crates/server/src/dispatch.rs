//! One request, from bytes to response: route, authenticate, decode, execute, encode.

use crate::Server;
use crate::health::Probe;
use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use std::net::SocketAddr;
use std::time::Instant;
use trailguard_model::error::quote;
use trailguard_model::{ApiError, Caller, RequestContext, ServiceId, Value};
use trailguard_protocol::sigv4::{self, AuthError, PathMode, SignedRequest};
use trailguard_protocol::{json, limits, query, rest, route, s3, xml};

/// The largest request body accepted (by any service; see [`limits::max_body`]).
pub const MAX_BODY: usize = limits::MAX_BODY;
/// The record's `userAgent` maximum (CloudTrail's 1 KB), applied as the request arrives.
const MAX_USER_AGENT: usize = trailguard_model::cloudtrail::MAX_USER_AGENT;

type Body = Full<Bytes>;

/// How a response is rendered when the service is known (or guessed).
fn error_response(service: ServiceId, request_id: &str, err: &ApiError) -> Response<Body> {
    match route::protocol(service) {
        route::Protocol::RestXmlS3 => {
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
            let mut resp = Response::new(Full::new(Bytes::from(s3::error(&err, request_id, None))));
            *resp.status_mut() =
                StatusCode::from_u16(err.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            resp.headers_mut().insert(
                http::header::CONTENT_TYPE,
                HeaderValue::from_static("application/xml"),
            );
            if let Ok(v) = HeaderValue::from_str(request_id) {
                resp.headers_mut().insert("x-amz-request-id", v);
            }
            // The bucket's region, also as the header HEAD requests (which have
            // no error document) are redirected by.
            if let Some((_, region)) = err.extra.iter().find(|(name, _)| *name == "Region")
                && let Ok(v) = HeaderValue::from_str(region)
            {
                resp.headers_mut().insert("x-amz-bucket-region", v);
            }
            resp
        }
        route::Protocol::AwsQuery => build(
            err.status,
            request_id,
            "text/xml",
            xml::error(route::xml_namespace(service), request_id, err),
        ),
        proto @ (route::Protocol::AwsJson11 { .. } | route::Protocol::RestJson1) => {
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
            let content_type = if proto == route::Protocol::RestJson1 {
                "application/json"
            } else {
                "application/x-amz-json-1.1"
            };
            let mut resp = build(err.status, request_id, content_type, json::error_body(&err));
            if let Ok(v) = HeaderValue::from_str(&err.code) {
                resp.headers_mut().insert(json::ERROR_TYPE_HEADER, v);
            }
            resp
        }
    }
}

/// Asks hyper to close the connection after this response: what is left of
/// the request's body is not worth reading.
fn closing(mut resp: Response<Body>) -> Response<Body> {
    resp.headers_mut()
        .insert(http::header::CONNECTION, HeaderValue::from_static("close"));
    resp
}

fn build(
    status: u16,
    request_id: &str,
    content_type: &'static str,
    body: String,
) -> Response<Body> {
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = resp.headers_mut();
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static(content_type),
    );
    if let Ok(v) = HeaderValue::from_str(request_id) {
        headers.insert("x-amzn-requestid", v);
    }
    resp
}

fn auth_error(service: ServiceId, e: &AuthError) -> ApiError {
    match e {
        AuthError::Missing => ApiError::sender("MissingAuthenticationToken", 403, e.message()),
        AuthError::Incomplete(_) => ApiError::sender("IncompleteSignature", 400, e.message()),
        AuthError::Skewed(_) | AuthError::Mismatch => {
            ApiError::sender("SignatureDoesNotMatch", 403, e.message())
        }
        AuthError::Expired(_) => ApiError::sender("AccessDenied", 403, e.message()),
        // S3 names the region it expected; the others say the scope is invalid.
        AuthError::UnknownRegion(region) if service == ServiceId::S3 => ApiError::sender(
            "AuthorizationHeaderMalformed",
            400,
            format!(
                "The authorization header is malformed; the region '{}' is wrong; expecting 'us-east-1'",
                quote(region)
            ),
        )
        .with_extra("Region", "us-east-1"),
        AuthError::UnknownRegion(_) => ApiError::sender("SignatureDoesNotMatch", 403, e.message()),
        AuthError::HeadersNotSigned(_) if service == ServiceId::S3 => {
            ApiError::sender("AccessDenied", 403, e.message())
        }
        AuthError::HeadersNotSigned(names) => ApiError::sender(
            "SignatureDoesNotMatch",
            403,
            format!("{}: {}", e.message(), quote(&names.join(", "))),
        ),
    }
}

/// Handles one HTTP request; never fails (errors become AWS error responses).
pub async fn handle(
    server: &Server,
    probe: &Probe,
    req: Request<hyper::body::Incoming>,
    peer: SocketAddr,
) -> Response<Body> {
    let started = Instant::now();
    let request_id = server.ids.uuid();
    let (parts, body) = req.into_parts();
    if parts.uri.path() == "/_trailguard/health" {
        return match probe.check(&server.services).await {
            Ok(()) => build(200, &request_id, "text/plain", "ok\n".into()),
            Err(why) => {
                tracing::warn!(reason = %why, "health check failed");
                build(
                    503,
                    &request_id,
                    "text/plain",
                    format!("unavailable: {why}\n"),
                )
            }
        };
    }
    // The service the signature names sets the body's cap and the error's shape.
    let scoped = sigv4::scope_service(&SignedRequest {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        query: parts.uri.query().unwrap_or(""),
        headers: &parts.headers,
        body: b"",
    })
    .and_then(|name| ServiceId::from_signing_name(&name));
    let shape = scoped.unwrap_or(ServiceId::Iam);
    let max_body = limits::max_body(scoped);
    let too_large = || {
        let err = ApiError::sender(
            "RequestEntityTooLarge",
            413,
            format!("Request body must be at most {max_body} bytes."),
        );
        closing(error_response(shape, &request_id, &err))
    };
    // A declared length over the cap is answered before a byte of the body is read.
    let declared = parts
        .headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > u64::try_from(max_body).unwrap_or(u64::MAX)) {
        return too_large();
    }
    let collected = tokio::time::timeout(
        server.limits.body_timeout,
        Limited::new(body, max_body).collect(),
    )
    .await;
    let body = match collected {
        Ok(Ok(b)) => b.to_bytes(),
        Ok(Err(e)) if e.is::<LengthLimitError>() => return too_large(),
        Ok(Err(_)) => {
            let err = ApiError::sender(
                "IncompleteBody",
                400,
                "The request body ended before the number of bytes its Content-Length announced.",
            );
            return closing(error_response(shape, &request_id, &err));
        }
        Err(_) => {
            // A client that sends headers and then trickles or stalls its body
            // would hold the connection (and its slot) for as long as it likes.
            tracing::info!(request_id = %request_id, peer = %peer, "request body timed out");
            let err = ApiError::sender(
                "RequestTimeout",
                400,
                "Your socket connection to the server was not read from or written to within the timeout period. Idle connections will be closed.",
            );
            return closing(error_response(shape, &request_id, &err));
        }
    };
    let (response, service, action) = dispatch(server, &parts, &body, peer, &request_id).await;
    tracing::info!(
        request_id = %request_id,
        service = service.map(ServiceId::signing_name).unwrap_or("-"),
        action = action.as_deref().unwrap_or("-"),
        status = response.status().as_u16(),
        micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
        "request"
    );
    response
}

async fn dispatch(
    server: &Server,
    parts: &http::request::Parts,
    body: &Bytes,
    peer: SocketAddr,
    request_id: &str,
) -> (Response<Body>, Option<ServiceId>, Option<String>) {
    let query = parts.uri.query().unwrap_or("");
    let signed = SignedRequest {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        query,
        headers: &parts.headers,
        body,
    };
    // Route: the signature's scope names the service; unsigned requests get the
    // query protocol's error shape, as IAM and STS would answer them.
    let service = match sigv4::scope_service(&signed) {
        Some(name) => match ServiceId::from_signing_name(&name) {
            Some(s) => s,
            None => {
                let err = ApiError::sender(
                    "InvalidAction",
                    400,
                    format!(
                        "trailguard does not serve the service '{}' (yet).",
                        quote(&name)
                    ),
                );
                return (error_response(ServiceId::Iam, request_id, &err), None, None);
            }
        },
        None => {
            let err = auth_error(ServiceId::Sts, &AuthError::Missing);
            return (error_response(ServiceId::Sts, request_id, &err), None, None);
        }
    };
    // S3 accepts unsigned and streaming (chunk-signed) payloads, as AWS does.
    let unsigned_body_ok = service == ServiceId::S3
        || rest::find(
            rest::routes(service),
            parts.method.as_str(),
            parts.uri.path(),
        )
        .is_some_and(|(r, _)| r.unsigned_body);
    // S3 signs the path as sent; every other service normalizes and re-encodes it.
    let path_mode = if service == ServiceId::S3 {
        PathMode::Raw
    } else {
        PathMode::NormalizeDoubleEncode
    };
    // The scope's region and the signed headers are checked before the secret
    // is looked up: neither needs it.
    let claim = match sigv4::parse_with(&signed, path_mode, unsigned_body_ok).and_then(|c| {
        sigv4::check_scope_region(&c)?;
        sigv4::check_signed_amz_headers(&signed, &c)?;
        Ok(c)
    }) {
        Ok(c) => c,
        Err(e) => {
            return (
                error_response(service, request_id, &auth_error(service, &e)),
                Some(service),
                None,
            );
        }
    };
    let services = server.services.clone();
    let key_id = claim.access_key_id.clone();
    let token = claim.security_token.clone();
    let credential =
        match tokio::task::spawn_blocking(move || services.authenticate(&key_id, token.as_deref()))
            .await
        {
            Ok(Ok(c)) => c,
            Ok(Err(e)) => return (error_response(service, request_id, &e), Some(service), None),
            Err(_) => {
                return (
                    error_response(service, request_id, &ApiError::internal()),
                    Some(service),
                    None,
                );
            }
        };
    if let Err(e) = sigv4::verify(&claim, credential.secret.expose(), server.clock.now()) {
        return (
            error_response(service, request_id, &auth_error(service, &e)),
            Some(service),
            None,
        );
    }
    // A chunk-signed body is decoded here, every chunk's signature checked, so
    // nothing past this point sees the framing or an unverified byte.
    let decoded_body;
    let body: &Bytes =
        match sigv4::streaming_body(&claim, credential.secret.expose(), &parts.headers, body) {
            Ok(None) => body,
            Ok(Some(data)) => {
                decoded_body = Bytes::from(data);
                &decoded_body
            }
            Err(e) => {
                let err = ApiError::sender(e.code, e.status, e.message);
                return (
                    error_response(service, request_id, &err),
                    Some(service),
                    None,
                );
            }
        };
    let decoded = match route::protocol(service) {
        route::Protocol::AwsQuery => {
            let form: &[u8] = if parts.method == http::Method::POST {
                body
            } else {
                b""
            };
            query::decode(query, form).map_err(|e| match e {
                query::QueryError::MissingAction => {
                    ApiError::sender("MissingAction", 400, "Missing Action")
                }
                query::QueryError::Malformed(m) => ApiError::sender("MalformedQueryString", 400, m),
            })
        }
        route::Protocol::AwsJson11 { target_prefix } => {
            let target = parts
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
                Some(op) => json::decode_body(body)
                    .map(|params| query::QueryRequest {
                        action: op.to_string(),
                        version: None,
                        params,
                    })
                    .map_err(|m| ApiError::sender("SerializationException", 400, m)),
            }
        }
        route::Protocol::RestXmlS3 => s3::decode(
            parts.method.as_str(),
            parts.uri.path(),
            query,
            &parts.headers,
            body,
        )
        .map(|r| query::QueryRequest {
            action: r.operation.to_string(),
            version: None,
            params: r.params,
        }),
        route::Protocol::RestJson1 => rest::decode(
            rest::routes(service),
            parts.method.as_str(),
            parts.uri.path(),
            query,
            &parts.headers,
            body,
        )
        .map(|(_, req)| req)
        .map_err(|e| match e {
            rest::RestError::NoRoute => ApiError::sender(
                "UnknownOperationException",
                404,
                format!(
                    "No {} operation is served at {} {}.",
                    service.signing_name(),
                    parts.method,
                    quote(parts.uri.path())
                ),
            ),
            rest::RestError::Malformed(m) => ApiError::sender("SerializationException", 400, m),
        }),
    };
    let decoded = match decoded {
        Ok(d) => d,
        Err(err) => {
            return (
                error_response(service, request_id, &err),
                Some(service),
                None,
            );
        }
    };
    let ctx = RequestContext {
        request_id: request_id.to_string(),
        source_ip: peer.ip().to_string(),
        user_agent: user_agent(&parts.headers),
        // A region AWS serves (checked above): the call is served, and
        // recorded, in the region it was signed for.
        region: claim.region.clone(),
        received_at: server.clock.now(),
        secure_transport: false,
    };
    let action = decoded.action.clone();
    let services = server.services.clone();
    let caller: Caller = credential.caller;
    let result = tokio::task::spawn_blocking(move || {
        services.execute(service, &decoded.action, &decoded.params, &caller, &ctx)
    })
    .await
    .unwrap_or_else(|_| Err(ApiError::internal()));
    let response = match result {
        Ok(out) => success(service, &action, request_id, &out),
        Err(e) => error_response(service, request_id, &e),
    };
    (response, Some(service), Some(action))
}

fn success(service: ServiceId, action: &str, request_id: &str, out: &Value) -> Response<Body> {
    match route::protocol(service) {
        route::Protocol::AwsQuery => build(
            200,
            request_id,
            "text/xml",
            xml::response(action, route::xml_namespace(service), request_id, out),
        ),
        route::Protocol::AwsJson11 { .. } => {
            let body = match json::to_json(out) {
                serde_json::Value::Null => "{}".to_string(),
                v => v.to_string(),
            };
            build(200, request_id, "application/x-amz-json-1.1", body)
        }
        route::Protocol::RestXmlS3 => {
            let encoded = s3::encode(action, out);
            let mut resp = Response::new(Full::new(Bytes::from(encoded.body)));
            *resp.status_mut() = StatusCode::from_u16(encoded.status).unwrap_or(StatusCode::OK);
            let headers = resp.headers_mut();
            for (name, value) in encoded.headers {
                if let (Ok(n), Ok(v)) = (
                    http::header::HeaderName::from_bytes(name.as_bytes()),
                    HeaderValue::from_str(&value),
                ) {
                    headers.insert(n, v);
                }
            }
            if let Ok(v) = HeaderValue::from_str(request_id) {
                headers.insert("x-amz-request-id", v);
            }
            resp
        }
        route::Protocol::RestJson1 => {
            let Some(route) = rest::routes(service).iter().find(|r| r.operation == action) else {
                return error_response(service, request_id, &ApiError::internal());
            };
            let encoded = rest::encode(route, out);
            let mut resp = Response::new(Full::new(Bytes::from(encoded.body)));
            *resp.status_mut() = StatusCode::from_u16(encoded.status).unwrap_or(StatusCode::OK);
            let headers = resp.headers_mut();
            for (name, value) in encoded.headers {
                // A value a header cannot carry is left out; its encoded twin is sent.
                if let Ok(v) = HeaderValue::from_str(&value) {
                    headers.insert(name, v);
                }
            }
            if let Ok(v) = HeaderValue::from_str(request_id) {
                headers.insert("x-amzn-requestid", v);
            }
            resp
        }
    }
}

fn user_agent(headers: &http::HeaderMap) -> String {
    let ua = headers
        .get(http::header::USER_AGENT)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .unwrap_or_default();
    if ua.len() <= MAX_USER_AGENT {
        return ua;
    }
    let mut cut = MAX_USER_AGENT;
    while !ua.is_char_boundary(cut) {
        cut -= 1;
    }
    ua.get(..cut).unwrap_or_default().to_string()
}
