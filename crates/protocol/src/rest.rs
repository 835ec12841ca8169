//! restJson1: the protocol of Lex, Polly and GuardDuty.
//!
//! The HTTP method and a path template name the operation; inputs come from path
//! labels, the query string, headers and the JSON body (or the raw body, for a
//! streaming payload); outputs go back to headers, a raw payload or the JSON body.
//! Each service's routes are data ([`routes`]), taken from the services' published
//! models, so decoding and encoding are one generic pass. Services see the same
//! parameter tree as for the other protocols: labels, query members and headers are
//! merged into the body's object under their member names. The body and
//! `jsonvalue` headers are parsed within [`crate::limits`], bound headers and
//! labels are bounded in length.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use percent_encoding::percent_decode_str;
use serde_json::{Map, Value as Json};
use trailguard_model::Value;

use crate::json::to_json;
use crate::limits;
use crate::query::QueryRequest;

/// How a member travels in a header.
pub use trailguard_model::wire::{Codec, Header, Payload, Route};

/// Why a REST request could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RestError {
    /// No route has this method and path.
    NoRoute,
    /// A header, query value or body that does not decode.
    Malformed(String),
}

/// Matches a path against a template, returning the labels' decoded values.
fn labels(template: &'static str, path: &str) -> Option<Vec<(&'static str, String)>> {
    let mut t = template.split('/');
    let mut p = path.split('/');
    let mut out = Vec::new();
    loop {
        match (t.next(), p.next()) {
            (None, None) => return Some(out),
            (Some(ts), Some(ps)) => {
                let value = percent_decode_str(ps).decode_utf8().ok()?;
                if let Some(label) = ts.strip_prefix('{').and_then(|l| l.strip_suffix('}')) {
                    if value.is_empty() || value.len() > limits::MAX_LABEL_LEN {
                        return None;
                    }
                    out.push((label, value.into_owned()));
                } else if ts != value {
                    return None;
                }
            }
            _ => return None,
        }
    }
}

/// Finds the route for a method and path.
pub fn find(
    routes: &'static [Route],
    method: &str,
    path: &str,
) -> Option<(&'static Route, Vec<(&'static str, String)>)> {
    let exact = |path: &str| {
        routes
            .iter()
            .filter(|r| r.method == method)
            .find_map(|r| labels(r.path, path).map(|l| (r, l)))
    };
    // Some models end a path with `/` (Lex's `GET /bots/`) that Smithy-generated
    // SDKs (the AWS SDK for JavaScript v3) leave off, and AWS serves both.
    exact(path).or_else(|| match path.strip_suffix('/') {
        Some(bare) => exact(bare),
        None => exact(&format!("{path}/")),
    })
}

/// Decodes a request into the operation and its parameter tree.
pub fn decode(
    routes: &'static [Route],
    method: &str,
    path: &str,
    query: &str,
    headers: &http::HeaderMap,
    body: &[u8],
) -> Result<(&'static Route, QueryRequest), RestError> {
    let (route, labels) = find(routes, method, path).ok_or(RestError::NoRoute)?;
    let mut params = match route.payload {
        Payload::Json => match crate::json::decode_body(body) {
            Ok(Json::Object(m)) => m,
            Ok(_) => Map::new(),
            Err(m) => return Err(RestError::Malformed(m)),
        },
        Payload::Raw(member) => {
            let mut m = Map::new();
            if !body.is_empty() {
                let v = match std::str::from_utf8(body) {
                    Ok(s) => s.to_string(),
                    Err(_) => B64.encode(body),
                };
                m.insert(member.into(), Json::String(v));
            }
            m
        }
    };
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        if let Some((_, member)) = route.query.iter().find(|(q, _)| *q == name) {
            params.insert((*member).into(), Json::String(value.into_owned()));
        }
    }
    for binding in route.headers {
        let Some(raw) = headers.get(binding.name) else {
            continue;
        };
        if raw.len() > limits::MAX_BOUND_HEADER {
            return Err(RestError::Malformed(format!(
                "Header {} is longer than {} bytes.",
                binding.name,
                limits::MAX_BOUND_HEADER
            )));
        }
        let text = raw
            .to_str()
            .map_err(|_| RestError::Malformed(format!("Header {} is not text.", binding.name)))?;
        let value = match binding.codec {
            Codec::Plain => Json::String(text.to_string()),
            Codec::JsonBase64 => {
                let bytes = B64.decode(text.trim()).map_err(|_| {
                    RestError::Malformed(format!(
                        "Header {} must be base64-encoded JSON.",
                        binding.name
                    ))
                })?;
                crate::json::parse_bounded(&bytes)
                    .map_err(|m| RestError::Malformed(format!("Header {}: {m}", binding.name)))?
            }
        };
        params.insert(binding.member.into(), value);
    }
    // Labels win over body members of the same name, as the path is what was signed for.
    for (label, value) in labels {
        params.insert(label.into(), Json::String(value));
    }
    Ok((
        route,
        QueryRequest {
            action: route.operation.to_string(),
            version: None,
            params: Json::Object(params),
        },
    ))
}

/// An encoded response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoded {
    pub status: u16,
    /// Header names and values; the content type is among them.
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

fn header_text(v: &Value, codec: Codec) -> Option<String> {
    let text = match (v, codec) {
        (Value::Null, _) => return None,
        (_, Codec::JsonBase64) => B64.encode(to_json(v).to_string()),
        (Value::Str(s), Codec::Plain) => s.clone(),
        (Value::Int(n), Codec::Plain) => n.to_string(),
        (Value::Bool(b), Codec::Plain) => b.to_string(),
        (other, Codec::Plain) => to_json(other).to_string(),
    };
    // Header values cannot carry line breaks or other control characters.
    Some(
        text.chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect(),
    )
}

/// Encodes an operation's output per its route.
pub fn encode(route: &Route, out: &Value) -> Encoded {
    let mut headers = Vec::new();
    let members: &[(String, Value)] = match out {
        Value::Struct(m) => m,
        _ => &[],
    };
    for binding in route.out_headers {
        if let Some(text) = out
            .get(binding.member)
            .and_then(|v| header_text(v, binding.codec))
        {
            headers.push((binding.name, text));
        }
    }
    let body = match route.out_payload {
        Payload::Raw(member) => match out.get(member) {
            Some(Value::Blob(b)) => b.clone(),
            Some(Value::Str(s)) => s.clone().into_bytes(),
            _ => Vec::new(),
        },
        Payload::Json => {
            let rest: Vec<(String, Value)> = members
                .iter()
                .filter(|(k, _)| !route.out_headers.iter().any(|b| b.member == k))
                .cloned()
                .collect();
            if route.status == 204 {
                Vec::new()
            } else {
                match to_json(&Value::Struct(rest)) {
                    Json::Null => b"{}".to_vec(),
                    v => v.to_string().into_bytes(),
                }
            }
        }
    };
    if !headers.iter().any(|(n, _)| *n == "content-type") {
        headers.push(("content-type", "application/json".into()));
    }
    Encoded {
        status: route.status,
        headers,
        body,
    }
}
