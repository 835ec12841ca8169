//! One request, from bytes to response: route, authenticate, decode, execute,
//! encode. Every wire format is `protocol::codec`'s, chosen by the service's
//! definition; nothing here knows one.

use crate::Server;
use crate::health::Probe;
use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use std::net::SocketAddr;
use std::time::Instant;
use trailguard_model::error::quote;
use trailguard_model::{ApiError, Caller, RequestContext, ServiceDef, ServiceId};
use trailguard_protocol::codec::{self, Reply};
use trailguard_protocol::limits;
use trailguard_protocol::sigv4::{self, AuthError, SignedRequest};

/// The largest request body accepted (by any service; see [`limits::max_body`]).
pub const MAX_BODY: usize = limits::MAX_BODY;
/// The record's `userAgent` maximum (CloudTrail's 1 KB), applied as the request arrives.
const MAX_USER_AGENT: usize = trailguard_model::cloudtrail::MAX_USER_AGENT;

type Body = Full<Bytes>;

/// The service whose shape answers a request signed for no service at all
/// (unsigned), and one signed for a service this build does not serve: the
/// query protocol's, as IAM and STS answer them. Falls back to the first
/// registered service.
const UNSIGNED_SHAPE: &str = "sts";
const UNKNOWN_SHAPE: &str = "iam";

fn shape(server: &Server, signing_name: &str) -> Option<&'static ServiceDef> {
    let registry = server.services.registry();
    registry
        .def(signing_name)
        .or_else(|| registry.modules().first().map(|m| m.def))
}

/// The hyper response for a codec's reply.
fn respond(reply: Reply) -> Response<Body> {
    let mut resp = Response::new(Full::new(Bytes::from(reply.body)));
    *resp.status_mut() =
        StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = resp.headers_mut();
    for (name, value) in reply.headers {
        // A value a header cannot carry is left out (restJson1 sends its
        // encoded twin).
        if let (Ok(n), Ok(v)) = (
            http::header::HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            headers.insert(n, v);
        }
    }
    resp
}

/// An error in `def`'s shape; with no service known at all, a plain 500.
fn error_response(def: Option<&ServiceDef>, request_id: &str, err: &ApiError) -> Response<Body> {
    match def {
        Some(def) => respond(codec::error(def, request_id, err)),
        None => build(
            err.status,
            request_id,
            "text/plain",
            err.message.to_string(),
        ),
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
    .and_then(|name| server.services.registry().def(&name));
    let shape = scoped.or_else(|| shape(server, UNKNOWN_SHAPE));
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
    let def = match sigv4::scope_service(&signed) {
        Some(name) => match server.services.registry().def(&name) {
            Some(def) => def,
            None => {
                let err = ApiError::sender(
                    "InvalidAction",
                    400,
                    format!(
                        "trailguard does not serve the service '{}' (yet).",
                        quote(&name)
                    ),
                );
                let shape = shape(server, UNKNOWN_SHAPE);
                return (error_response(shape, request_id, &err), None, None);
            }
        },
        None => {
            let shape = shape(server, UNSIGNED_SHAPE);
            let err = match shape {
                Some(d) => codec::auth_error(d, &AuthError::Missing),
                None => ApiError::internal(),
            };
            return (error_response(shape, request_id, &err), None, None);
        }
    };
    let service = def.id;
    let fail = |err: &ApiError| {
        (
            error_response(Some(def), request_id, err),
            Some(service),
            None,
        )
    };
    let unsigned_body_ok = codec::unsigned_body_ok(def, parts.method.as_str(), parts.uri.path());
    // The scope's region and the signed headers are checked before the secret
    // is looked up: neither needs it.
    let claim =
        match sigv4::parse_with(&signed, codec::path_mode(def), unsigned_body_ok).and_then(|c| {
            sigv4::check_scope_region(&c)?;
            sigv4::check_signed_amz_headers(&signed, &c)?;
            Ok(c)
        }) {
            Ok(c) => c,
            Err(e) => return fail(&codec::auth_error(def, &e)),
        };
    // A key resolved since the last commit that wrote keys is answered from
    // memory; otherwise the store is read on a blocking thread.
    let cached = server
        .services
        .authenticate_cached(&claim.access_key_id, claim.security_token.as_deref());
    let resolved = match cached {
        Some(resolved) => resolved,
        None => {
            let services = server.services.clone();
            let key_id = claim.access_key_id.clone();
            let token = claim.security_token.clone();
            tokio::task::spawn_blocking(move || services.authenticate(&key_id, token.as_deref()))
                .await
                .unwrap_or_else(|_| Err(ApiError::internal()))
        }
    };
    let mut credential = match resolved {
        Ok(c) => c,
        Err(e) => return fail(&e),
    };
    if let Err(e) = sigv4::verify(&claim, credential.secret.expose(), server.clock.now()) {
        return fail(&codec::auth_error(def, &e));
    }
    server
        .services
        .remember(&claim.access_key_id, &mut credential);
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
            Err(e) => return fail(&ApiError::sender(e.code, e.status, e.message)),
        };
    let request = codec::Request {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        query,
        headers: &parts.headers,
        body,
    };
    let decoded = match codec::decode(def, &request) {
        Ok(d) => d,
        Err(err) => return fail(&err),
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
        Ok(out) => respond(codec::success(def, &action, request_id, &out)),
        Err(e) => error_response(Some(def), request_id, &e),
    };
    (response, Some(service), Some(action))
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
