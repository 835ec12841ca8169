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
use trailguard_model::{ServiceId, Value};

use crate::json::to_json;
use crate::limits;
use crate::query::QueryRequest;

/// How a member travels in a header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    /// The text as is (numbers as their decimal form).
    Plain,
    /// JSON, base64-encoded (models' `jsonvalue` headers, such as Lex's slots).
    JsonBase64,
}

/// A member bound to a header.
#[derive(Debug, Clone, Copy)]
pub struct Header {
    pub member: &'static str,
    pub name: &'static str,
    pub codec: Codec,
}

/// Where the body goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Payload {
    /// The members not bound elsewhere, as a JSON object.
    Json,
    /// The raw body is this member (text is given as a string, other bytes as base64).
    Raw(&'static str),
}

/// One operation's HTTP binding.
#[derive(Debug, Clone, Copy)]
pub struct Route {
    pub method: &'static str,
    /// `/bots/{name}/versions/$LATEST`: literal segments and `{member}` labels.
    pub path: &'static str,
    pub operation: &'static str,
    /// The success status.
    pub status: u16,
    /// `(query parameter, member)`.
    pub query: &'static [(&'static str, &'static str)],
    pub headers: &'static [Header],
    pub payload: Payload,
    pub out_headers: &'static [Header],
    pub out_payload: Payload,
    /// The model's `v4-unsigned-body`: the signature may leave the body out.
    pub unsigned_body: bool,
}

impl Route {
    const fn json(method: &'static str, path: &'static str, operation: &'static str) -> Self {
        Self {
            method,
            path,
            operation,
            status: 200,
            query: &[],
            headers: &[],
            payload: Payload::Json,
            out_headers: &[],
            out_payload: Payload::Json,
            unsigned_body: false,
        }
    }

    const fn status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }

    const fn query(mut self, query: &'static [(&'static str, &'static str)]) -> Self {
        self.query = query;
        self
    }
}

const fn h(member: &'static str, name: &'static str) -> Header {
    Header {
        member,
        name,
        codec: Codec::Plain,
    }
}

const fn hj(member: &'static str, name: &'static str) -> Header {
    Header {
        member,
        name,
        codec: Codec::JsonBase64,
    }
}

const LIST_QUERY: &[(&str, &str)] = &[
    ("nextToken", "nextToken"),
    ("maxResults", "maxResults"),
    ("nameContains", "nameContains"),
];

/// Lex V1: the model-building API (`lex-models`) and the runtime (`lex-runtime`)
/// both sign as `lex`; their paths never overlap.
const LEX: &[Route] = &[
    Route::json("PUT", "/bots/{name}/versions/$LATEST", "PutBot"),
    Route::json("GET", "/bots/{name}/versions/{versionOrAlias}", "GetBot"),
    Route::json("GET", "/bots/", "GetBots").query(LIST_QUERY),
    Route::json("DELETE", "/bots/{name}", "DeleteBot").status(204),
    Route::json("PUT", "/bots/{botName}/aliases/{name}", "PutBotAlias"),
    Route::json("GET", "/bots/{botName}/aliases/{name}", "GetBotAlias"),
    Route::json("DELETE", "/bots/{botName}/aliases/{name}", "DeleteBotAlias").status(204),
    Route::json("PUT", "/intents/{name}/versions/$LATEST", "PutIntent"),
    Route::json("GET", "/intents/{name}/versions/{version}", "GetIntent"),
    Route::json("GET", "/intents/", "GetIntents").query(LIST_QUERY),
    Route::json("DELETE", "/intents/{name}", "DeleteIntent").status(204),
    Route::json("PUT", "/slottypes/{name}/versions/$LATEST", "PutSlotType"),
    Route::json("GET", "/slottypes/{name}/versions/{version}", "GetSlotType"),
    Route::json("GET", "/slottypes/", "GetSlotTypes").query(LIST_QUERY),
    Route::json("DELETE", "/slottypes/{name}", "DeleteSlotType").status(204),
    Route::json(
        "POST",
        "/bot/{botName}/alias/{botAlias}/user/{userId}/text",
        "PostText",
    ),
    Route {
        method: "POST",
        path: "/bot/{botName}/alias/{botAlias}/user/{userId}/content",
        operation: "PostContent",
        status: 200,
        query: &[],
        headers: &[
            hj("sessionAttributes", "x-amz-lex-session-attributes"),
            hj("requestAttributes", "x-amz-lex-request-attributes"),
            h("contentType", "content-type"),
            h("accept", "accept"),
        ],
        payload: Payload::Raw("inputStream"),
        out_headers: &[
            h("contentType", "content-type"),
            h("intentName", "x-amz-lex-intent-name"),
            hj("slots", "x-amz-lex-slots"),
            hj("sessionAttributes", "x-amz-lex-session-attributes"),
            h("message", "x-amz-lex-message"),
            h("encodedMessage", "x-amz-lex-encoded-message"),
            h("messageFormat", "x-amz-lex-message-format"),
            h("dialogState", "x-amz-lex-dialog-state"),
            h("slotToElicit", "x-amz-lex-slot-to-elicit"),
            h("inputTranscript", "x-amz-lex-input-transcript"),
            h(
                "encodedInputTranscript",
                "x-amz-lex-encoded-input-transcript",
            ),
            h("botVersion", "x-amz-lex-bot-version"),
            h("sessionId", "x-amz-lex-session-id"),
        ],
        out_payload: Payload::Raw("audioStream"),
        unsigned_body: true,
    },
];

const POLLY: &[Route] = &[
    Route {
        method: "POST",
        path: "/v1/speech",
        operation: "SynthesizeSpeech",
        status: 200,
        query: &[],
        headers: &[],
        payload: Payload::Json,
        out_headers: &[
            h("ContentType", "content-type"),
            h("RequestCharacters", "x-amzn-RequestCharacters"),
        ],
        out_payload: Payload::Raw("AudioStream"),
        unsigned_body: false,
    },
    Route::json("GET", "/v1/voices", "DescribeVoices").query(&[
        ("Engine", "Engine"),
        ("LanguageCode", "LanguageCode"),
        (
            "IncludeAdditionalLanguageCodes",
            "IncludeAdditionalLanguageCodes",
        ),
        ("NextToken", "NextToken"),
    ]),
];

const GUARDDUTY: &[Route] = &[
    Route::json("POST", "/detector", "CreateDetector"),
    Route::json("GET", "/detector", "ListDetectors")
        .query(&[("maxResults", "maxResults"), ("nextToken", "nextToken")]),
    Route::json("GET", "/detector/{detectorId}", "GetDetector"),
    Route::json("POST", "/detector/{detectorId}", "UpdateDetector"),
    Route::json("DELETE", "/detector/{detectorId}", "DeleteDetector"),
    Route::json("POST", "/detector/{detectorId}/findings", "ListFindings"),
    Route::json("POST", "/detector/{detectorId}/findings/get", "GetFindings"),
    Route::json(
        "POST",
        "/detector/{detectorId}/findings/archive",
        "ArchiveFindings",
    ),
    Route::json(
        "POST",
        "/detector/{detectorId}/findings/unarchive",
        "UnarchiveFindings",
    ),
    Route::json(
        "POST",
        "/detector/{detectorId}/findings/feedback",
        "UpdateFindingsFeedback",
    ),
    Route::json(
        "POST",
        "/detector/{detectorId}/findings/statistics",
        "GetFindingsStatistics",
    ),
    Route::json(
        "POST",
        "/detector/{detectorId}/findings/create",
        "CreateSampleFindings",
    ),
    Route::json("POST", "/detector/{detectorId}/filter", "CreateFilter"),
    Route::json("GET", "/detector/{detectorId}/filter", "ListFilters")
        .query(&[("maxResults", "maxResults"), ("nextToken", "nextToken")]),
    Route::json(
        "GET",
        "/detector/{detectorId}/filter/{filterName}",
        "GetFilter",
    ),
    Route::json(
        "POST",
        "/detector/{detectorId}/filter/{filterName}",
        "UpdateFilter",
    ),
    Route::json(
        "DELETE",
        "/detector/{detectorId}/filter/{filterName}",
        "DeleteFilter",
    ),
    Route::json("POST", "/detector/{detectorId}/ipset", "CreateIPSet"),
    Route::json("GET", "/detector/{detectorId}/ipset", "ListIPSets")
        .query(&[("maxResults", "maxResults"), ("nextToken", "nextToken")]),
    Route::json("GET", "/detector/{detectorId}/ipset/{ipSetId}", "GetIPSet"),
    Route::json(
        "POST",
        "/detector/{detectorId}/ipset/{ipSetId}",
        "UpdateIPSet",
    ),
    Route::json(
        "DELETE",
        "/detector/{detectorId}/ipset/{ipSetId}",
        "DeleteIPSet",
    ),
    Route::json(
        "POST",
        "/detector/{detectorId}/threatintelset",
        "CreateThreatIntelSet",
    ),
    Route::json(
        "GET",
        "/detector/{detectorId}/threatintelset",
        "ListThreatIntelSets",
    )
    .query(&[("maxResults", "maxResults"), ("nextToken", "nextToken")]),
    Route::json(
        "GET",
        "/detector/{detectorId}/threatintelset/{threatIntelSetId}",
        "GetThreatIntelSet",
    ),
    Route::json(
        "POST",
        "/detector/{detectorId}/threatintelset/{threatIntelSetId}",
        "UpdateThreatIntelSet",
    ),
    Route::json(
        "DELETE",
        "/detector/{detectorId}/threatintelset/{threatIntelSetId}",
        "DeleteThreatIntelSet",
    ),
    Route::json("POST", "/detector/{detectorId}/member", "CreateMembers"),
    Route::json("GET", "/detector/{detectorId}/member", "ListMembers").query(&[
        ("maxResults", "maxResults"),
        ("nextToken", "nextToken"),
        ("onlyAssociated", "onlyAssociated"),
    ]),
    Route::json(
        "POST",
        "/detector/{detectorId}/member/invite",
        "InviteMembers",
    ),
    Route::json("POST", "/detector/{detectorId}/member/get", "GetMembers"),
    Route::json(
        "POST",
        "/detector/{detectorId}/member/disassociate",
        "DisassociateMembers",
    ),
    Route::json(
        "POST",
        "/detector/{detectorId}/member/delete",
        "DeleteMembers",
    ),
    Route::json(
        "POST",
        "/detector/{detectorId}/administrator",
        "AcceptAdministratorInvitation",
    ),
    Route::json(
        "GET",
        "/detector/{detectorId}/administrator",
        "GetAdministratorAccount",
    ),
    Route::json(
        "POST",
        "/detector/{detectorId}/administrator/disassociate",
        "DisassociateFromAdministratorAccount",
    ),
    Route::json("GET", "/invitation", "ListInvitations")
        .query(&[("maxResults", "maxResults"), ("nextToken", "nextToken")]),
    Route::json("GET", "/invitation/count", "GetInvitationsCount"),
    Route::json("POST", "/invitation/decline", "DeclineInvitations"),
    Route::json(
        "POST",
        "/detector/{detectorId}/publishingDestination",
        "CreatePublishingDestination",
    ),
    Route::json(
        "GET",
        "/detector/{detectorId}/publishingDestination",
        "ListPublishingDestinations",
    )
    .query(&[("maxResults", "maxResults"), ("nextToken", "nextToken")]),
    Route::json(
        "GET",
        "/detector/{detectorId}/publishingDestination/{destinationId}",
        "DescribePublishingDestination",
    ),
    Route::json(
        "POST",
        "/detector/{detectorId}/publishingDestination/{destinationId}",
        "UpdatePublishingDestination",
    ),
    Route::json(
        "DELETE",
        "/detector/{detectorId}/publishingDestination/{destinationId}",
        "DeletePublishingDestination",
    ),
];

/// The routes of a restJson1 service (empty for the others).
pub fn routes(service: ServiceId) -> &'static [Route] {
    match service {
        ServiceId::Lex => LEX,
        ServiceId::Polly => POLLY,
        ServiceId::GuardDuty => GUARDDUTY,
        ServiceId::Iam
        | ServiceId::Sts
        | ServiceId::Redshift
        | ServiceId::CloudTrail
        | ServiceId::S3 => &[],
    }
}

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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests")]
    use super::*;

    #[test]
    fn routes_match_templates_and_decode_labels() {
        let (r, l) = find(LEX, "PUT", "/bots/OrderFlowers/versions/%24LATEST").unwrap();
        assert_eq!(r.operation, "PutBot");
        assert_eq!(l, vec![("name", "OrderFlowers".to_string())]);
        let (r, _) = find(LEX, "GET", "/bots/OrderFlowers/versions/%24LATEST").unwrap();
        assert_eq!(r.operation, "GetBot");
        assert_eq!(find(LEX, "GET", "/bots/").unwrap().0.operation, "GetBots");
        assert_eq!(find(LEX, "GET", "/bots").unwrap().0.operation, "GetBots");
        assert_eq!(
            find(LEX, "GET", "/intents").unwrap().0.operation,
            "GetIntents"
        );
        assert_eq!(
            find(LEX, "GET", "/slottypes").unwrap().0.operation,
            "GetSlotTypes"
        );
        assert!(find(LEX, "PATCH", "/bots/x").is_none());
        assert!(find(LEX, "GET", "/bots//versions/1").is_none());
        let (r, l) = find(LEX, "POST", "/bot/B/alias/%24LATEST/user/u%201/text").unwrap();
        assert_eq!(r.operation, "PostText");
        assert_eq!(l[1].1, "$LATEST");
        assert_eq!(l[2].1, "u 1");
    }

    #[test]
    fn decode_merges_headers_query_and_body() {
        let mut headers = http::HeaderMap::new();
        headers.insert("content-type", "text/plain; charset=utf-8".parse().unwrap());
        headers.insert(
            "x-amz-lex-session-attributes",
            B64.encode(r#"{"a":"1"}"#).parse().unwrap(),
        );
        let (_, req) = decode(
            LEX,
            "POST",
            "/bot/B/alias/A/user/U/content",
            "",
            &headers,
            b"hello",
        )
        .unwrap();
        assert_eq!(req.action, "PostContent");
        assert_eq!(req.params["inputStream"], "hello");
        assert_eq!(req.params["sessionAttributes"]["a"], "1");
        assert_eq!(req.params["botName"], "B");
        let (_, req) = decode(
            LEX,
            "GET",
            "/bots/",
            "maxResults=5&other=x",
            &http::HeaderMap::new(),
            b"",
        )
        .unwrap();
        assert_eq!(req.params, serde_json::json!({"maxResults": "5"}));
        headers.insert("x-amz-lex-session-attributes", "!!".parse().unwrap());
        assert!(matches!(
            decode(
                LEX,
                "POST",
                "/bot/B/alias/A/user/U/content",
                "",
                &headers,
                b""
            ),
            Err(RestError::Malformed(_))
        ));
        assert_eq!(
            decode(POLLY, "GET", "/nope", "", &http::HeaderMap::new(), b"").unwrap_err(),
            RestError::NoRoute
        );
    }

    #[test]
    fn bodies_headers_and_labels_are_bounded() {
        let none = http::HeaderMap::new();
        let deep = format!("{}{}", "[".repeat(50_000), "]".repeat(50_000));
        let body = format!("{{\"a\":{deep}}}");
        assert!(matches!(
            decode(GUARDDUTY, "POST", "/detector", "", &none, body.as_bytes()),
            Err(RestError::Malformed(m)) if m == limits::too_deep()
        ));
        let mut headers = http::HeaderMap::new();
        let nested = format!("{}1{}", "{\"a\":".repeat(40), "}".repeat(40));
        headers.insert(
            "x-amz-lex-session-attributes",
            B64.encode(&nested).parse().unwrap(),
        );
        let content = "/bot/B/alias/A/user/U/content";
        assert!(matches!(
            decode(LEX, "POST", content, "", &headers, b""),
            Err(RestError::Malformed(m)) if m.ends_with(&limits::too_deep())
        ));
        let big = B64.encode(format!(
            "{{\"a\":\"{}\"}}",
            "x".repeat(limits::MAX_BOUND_HEADER)
        ));
        headers.insert("x-amz-lex-session-attributes", big.parse().unwrap());
        assert!(matches!(
            decode(LEX, "POST", content, "", &headers, b""),
            Err(RestError::Malformed(_))
        ));
        let long = format!("/detector/{}", "d".repeat(limits::MAX_LABEL_LEN + 1));
        assert_eq!(
            decode(GUARDDUTY, "GET", &long, "", &none, b"").unwrap_err(),
            RestError::NoRoute
        );
    }

    #[test]
    fn encode_splits_headers_and_payload() {
        let route = &POLLY[0];
        let out = Value::structure()
            .with("AudioStream", Value::Blob(vec![1, 2, 3]))
            .with("ContentType", "audio/mpeg")
            .with("RequestCharacters", 45_i64);
        let e = encode(route, &out);
        assert_eq!(e.body, vec![1, 2, 3]);
        assert!(e.headers.contains(&("content-type", "audio/mpeg".into())));
        assert!(
            e.headers
                .contains(&("x-amzn-RequestCharacters", "45".into()))
        );
        let lex = LEX.iter().find(|r| r.operation == "PostContent").unwrap();
        let out = Value::structure()
            .with("slots", Value::Map(vec![("A".into(), "b".into())]))
            .with("dialogState", "ElicitSlot\n");
        let e = encode(lex, &out);
        assert!(
            e.headers
                .contains(&("x-amz-lex-slots", B64.encode(r#"{"A":"b"}"#)))
        );
        assert!(
            e.headers
                .contains(&("x-amz-lex-dialog-state", "ElicitSlot ".into()))
        );
        let del = LEX.iter().find(|r| r.operation == "DeleteBot").unwrap();
        assert!(encode(del, &Value::structure()).body.is_empty());
        let get = LEX.iter().find(|r| r.operation == "GetBots").unwrap();
        assert_eq!(
            encode(get, &Value::structure().with("bots", Value::List(vec![]))).body,
            br#"{"bots":[]}"#
        );
    }
}
