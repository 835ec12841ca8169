//! SigV4 verification in three pure steps.
//!
//! 1. [`parse`] reads the signature claim from the `Authorization` header or a
//!    presigned query string and builds the canonical request from the HTTP request.
//! 2. The caller looks up the secret for [`Claim::access_key_id`] (this crate never
//!    touches storage).
//! 3. [`verify`] checks the time window and the signature in constant time.
//!
//! Secrets are only ever borrowed here and never formatted.

use hmac::{Hmac, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use sha2::{Digest, Sha256};
use std::fmt::Write as _;
use subtle::ConstantTimeEq;
use time::{Duration, OffsetDateTime, PrimitiveDateTime, macros::format_description};
use trailguard_model::error::quote;

type HmacSha256 = Hmac<Sha256>;

const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// How far a request's timestamp may be from the server's clock.
pub const MAX_SKEW: Duration = Duration::minutes(15);
const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// RFC 3986 unreserved characters stay; everything else is percent-encoded.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');
/// As [`UNRESERVED`], but keeping `/` for paths.
const PATH_SAFE: &AsciiSet = &UNRESERVED.remove(b'/');

/// The parts of an HTTP request that signing covers.
#[derive(Debug, Clone, Copy)]
pub struct SignedRequest<'a> {
    pub method: &'a str,
    /// The path exactly as received (still percent-encoded).
    pub path: &'a str,
    /// The raw query string without `?`.
    pub query: &'a str,
    pub headers: &'a http::HeaderMap,
    pub body: &'a [u8],
}

/// How the service canonicalises paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathMode {
    /// Normalise and encode the received path again (every service but S3).
    NormalizeDoubleEncode,
    /// Use the received path as is (S3).
    Raw,
}

/// What a signature claims, plus what is needed to check it.
#[derive(Clone)]
pub struct Claim {
    pub access_key_id: String,
    /// `YYYYMMDD` of the credential scope.
    pub scope_date: String,
    pub region: String,
    pub service: String,
    /// The request time, `YYYYMMDDTHHMMSSZ`.
    pub amz_date: String,
    pub signed_headers: Vec<String>,
    signature: String,
    /// The session token, if any (`X-Amz-Security-Token`).
    pub security_token: Option<String>,
    /// For presigned URLs, how long the URL is valid.
    pub expires: Option<Duration>,
    pub canonical_request: String,
}

impl std::fmt::Debug for Claim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Claim")
            .field("access_key_id", &self.access_key_id)
            .field("scope_date", &self.scope_date)
            .field("region", &self.region)
            .field("service", &self.service)
            .field("amz_date", &self.amz_date)
            .field("signed_headers", &self.signed_headers)
            .field(
                "security_token",
                &self.security_token.as_ref().map(|_| "[REDACTED]"),
            )
            .finish_non_exhaustive()
    }
}

/// Why a request failed authentication; the server maps each to the protocol's error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthError {
    /// No signature at all.
    Missing,
    /// A signature whose parts are incomplete or malformed (`IncompleteSignature`).
    Incomplete(String),
    /// The request time is outside the allowed window (`SignatureDoesNotMatch`).
    Skewed(String),
    /// A presigned URL past its expiry.
    Expired(String),
    /// The signature does not match (`SignatureDoesNotMatch`).
    Mismatch,
    /// The credential scope names a region AWS does not serve.
    UnknownRegion(String),
    /// `x-amz-*` headers present on the request but not in `SignedHeaders`
    /// (sorted, lower-case).
    HeadersNotSigned(Vec<String>),
}

impl AuthError {
    /// The message AWS sends with the error.
    pub fn message(&self) -> String {
        match self {
            AuthError::Missing => "Request is missing Authentication Token".into(),
            AuthError::Incomplete(m) | AuthError::Skewed(m) | AuthError::Expired(m) => m.clone(),
            AuthError::Mismatch => "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.".into(),
            AuthError::UnknownRegion(region) => format!(
                "Credential should be scoped to a valid region, not '{}'. ",
                quote(region)
            ),
            AuthError::HeadersNotSigned(_) => {
                "There were headers present in the request which were not signed".into()
            }
        }
    }
}

fn header_str<'a>(headers: &'a http::HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Query parameters decoded once, in received order.
fn query_pairs(query: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}

/// Query decoding as SigV4 sees it: `+` is a literal plus, not a space.
fn decode_component(s: &str) -> String {
    percent_decode_str(s).decode_utf8_lossy().into_owned()
}

/// Whether the request carries any signature at all (header or presigned).
pub fn is_signed(req: &SignedRequest<'_>) -> bool {
    header_str(req.headers, "authorization").is_some()
        || query_pairs(req.query)
            .iter()
            .any(|(k, _)| k == "X-Amz-Algorithm" || k == "X-Amz-Signature")
}

/// Reads the credential scope's service name without verifying anything (for routing).
pub fn scope_service(req: &SignedRequest<'_>) -> Option<String> {
    let credential = if let Some(auth) = header_str(req.headers, "authorization") {
        let rest = auth.strip_prefix(ALGORITHM)?;
        auth_params(rest)
            .into_iter()
            .find(|(k, _)| *k == "Credential")
            .map(|(_, v)| v.to_string())?
    } else {
        query_pairs(req.query)
            .into_iter()
            .find(|(k, _)| k == "X-Amz-Credential")
            .map(|(_, v)| v)?
    };
    credential.split('/').nth(3).map(str::to_string)
}

fn auth_params(rest: &str) -> Vec<(&str, &str)> {
    rest.split(',')
        .filter_map(|part| part.trim().split_once('='))
        .map(|(k, v)| (k.trim(), v.trim()))
        .collect()
}

fn incomplete(msg: &str) -> AuthError {
    AuthError::Incomplete(msg.to_string())
}

/// Parses the signature claim and builds the canonical request.
pub fn parse(req: &SignedRequest<'_>, mode: PathMode) -> Result<Claim, AuthError> {
    parse_with(req, mode, mode == PathMode::Raw)
}

/// [`parse`], saying whether the operation may leave its payload unsigned
/// (`UNSIGNED-PAYLOAD`): S3, and operations whose models say `v4-unsigned-body`
/// (Lex's `PostContent`).
pub fn parse_with(
    req: &SignedRequest<'_>,
    mode: PathMode,
    unsigned_payload_ok: bool,
) -> Result<Claim, AuthError> {
    let pairs = query_pairs(req.query);
    let (credential, signed_headers, signature, amz_date, token, expires, presigned) = if let Some(
        auth,
    ) =
        header_str(req.headers, "authorization")
    {
        let rest = auth.strip_prefix(ALGORITHM).ok_or_else(|| {
                incomplete("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
            })?;
        let params = auth_params(rest);
        let get = |name: &str| {
            params
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        };
        let credential = get("Credential").ok_or_else(|| {
                incomplete("Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter.")
            })?;
        let signed = get("SignedHeaders").ok_or_else(|| {
            incomplete("Authorization header requires 'SignedHeaders' parameter.")
        })?;
        let signature = get("Signature")
            .ok_or_else(|| incomplete("Authorization header requires 'Signature' parameter."))?;
        let amz_date = header_str(req.headers, "x-amz-date")
                .map(str::to_string)
                .or_else(|| header_str(req.headers, "date").and_then(http_date_to_amz))
                .ok_or_else(|| {
                    incomplete("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
                })?;
        let token = header_str(req.headers, "x-amz-security-token").map(str::to_string);
        (credential, signed, signature, amz_date, token, None, false)
    } else {
        let get = |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        if get("X-Amz-Algorithm").is_none() && get("X-Amz-Signature").is_none() {
            return Err(AuthError::Missing);
        }
        if get("X-Amz-Algorithm").as_deref() != Some(ALGORITHM) {
            return Err(incomplete(
                "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"",
            ));
        }
        let credential =
            get("X-Amz-Credential").ok_or_else(|| incomplete("Missing X-Amz-Credential"))?;
        let signed =
            get("X-Amz-SignedHeaders").ok_or_else(|| incomplete("Missing X-Amz-SignedHeaders"))?;
        let signature =
            get("X-Amz-Signature").ok_or_else(|| incomplete("Missing X-Amz-Signature"))?;
        let amz_date = get("X-Amz-Date").ok_or_else(|| incomplete("Missing X-Amz-Date"))?;
        let expires = match get("X-Amz-Expires") {
            Some(v) => {
                let secs: i64 = v
                    .parse()
                    .ok()
                    .filter(|s| (1..=604_800).contains(s))
                    .ok_or_else(|| {
                        incomplete("X-Amz-Expires must be between 1 and 604800 seconds")
                    })?;
                Some(Duration::seconds(secs))
            }
            None => None,
        };
        let token = get("X-Amz-Security-Token");
        (
            credential, signed, signature, amz_date, token, expires, true,
        )
    };

    let scope: Vec<&str> = credential.split('/').collect();
    let [access_key_id, scope_date, region, service, terminator] = scope.as_slice() else {
        return Err(AuthError::Incomplete(format!(
            "Credential should be scoped to a valid region, not '{}'. ",
            credential.split('/').nth(2).unwrap_or_default()
        )));
    };
    if *terminator != "aws4_request" {
        return Err(incomplete(
            "Credential should be scoped with a valid terminator: 'aws4_request'.",
        ));
    }
    if access_key_id.is_empty() {
        return Err(incomplete("Credential must contain an access key id."));
    }
    if signature.len() != 64 || !signature.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(AuthError::Mismatch);
    }
    if !amz_date.starts_with(scope_date) || scope_date.len() != 8 {
        return Err(AuthError::Incomplete(format!(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{scope_date}' != '{}', from '{amz_date}'.",
            amz_date.get(..8).unwrap_or(&amz_date)
        )));
    }
    let signed_headers: Vec<String> = signed_headers
        .split(';')
        .map(str::to_ascii_lowercase)
        .collect();
    if !signed_headers.iter().any(|h| h == "host") {
        return Err(incomplete(
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
        ));
    }

    // The signature covers the body through its hash: a claimed hash must be
    // the real one. Only S3 and `v4-unsigned-body` operations may leave the
    // payload unsigned.
    let actual = if req.body.is_empty() {
        EMPTY_SHA256.to_string()
    } else {
        hex::encode(Sha256::digest(req.body))
    };
    let payload_hash = match header_str(req.headers, "x-amz-content-sha256") {
        Some(h) if h.eq_ignore_ascii_case(&actual) => h.to_string(),
        Some(
            h @ ("UNSIGNED-PAYLOAD"
            | "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
            | "STREAMING-UNSIGNED-PAYLOAD-TRAILER"),
        ) if unsigned_payload_ok => h.to_string(),
        Some(_) => return Err(AuthError::Mismatch),
        None if presigned && unsigned_payload_ok => "UNSIGNED-PAYLOAD".to_string(),
        None => actual,
    };
    let canonical_request = canonical_request(req, mode, &signed_headers, &payload_hash, presigned);

    Ok(Claim {
        access_key_id: access_key_id.to_string(),
        scope_date: scope_date.to_string(),
        region: region.to_string(),
        service: service.to_string(),
        amz_date,
        signed_headers,
        signature: signature.to_ascii_lowercase(),
        security_token: token,
        expires,
        canonical_request,
    })
}

/// The credential scope must name a region AWS serves ([`crate::regions`]):
/// there is no endpoint for any other, so no signature for one is valid.
/// Checked before the secret is looked up, as AWS does.
pub fn check_scope_region(claim: &Claim) -> Result<(), AuthError> {
    if crate::regions::is_known(&claim.region) {
        Ok(())
    } else {
        Err(AuthError::UnknownRegion(claim.region.clone()))
    }
}

/// Every `x-amz-*` header present on the request must be signed, whether the
/// signature is in the `Authorization` header or a presigned URL: such headers
/// carry meaning (`X-Amz-Target` names the operation, others carry S3
/// parameters and the payload hash), and an unsigned one could be changed on a
/// captured request. AWS answers S3 this way; trailguard holds every service to it.
pub fn check_signed_amz_headers(req: &SignedRequest<'_>, claim: &Claim) -> Result<(), AuthError> {
    let mut unsigned: Vec<String> = req
        .headers
        .keys()
        .map(http::HeaderName::as_str)
        .filter(|name| name.starts_with("x-amz-"))
        .filter(|name| !claim.signed_headers.iter().any(|s| s == name))
        .map(str::to_string)
        .collect();
    if unsigned.is_empty() {
        return Ok(());
    }
    unsigned.sort();
    unsigned.dedup();
    Err(AuthError::HeadersNotSigned(unsigned))
}

/// Builds the canonical request string.
pub fn canonical_request(
    req: &SignedRequest<'_>,
    mode: PathMode,
    signed_headers: &[String],
    payload_hash: &str,
    presigned: bool,
) -> String {
    let mut out = String::with_capacity(256);
    out.push_str(req.method);
    out.push('\n');
    out.push_str(&canonical_uri(req.path, mode));
    out.push('\n');
    out.push_str(&canonical_query(req.query, presigned));
    out.push('\n');
    for name in signed_headers {
        let values: Vec<String> = req
            .headers
            .get_all(name.as_str())
            .iter()
            .map(|v| collapse_whitespace(&String::from_utf8_lossy(v.as_bytes())))
            .collect();
        let _ = writeln!(out, "{name}:{}", values.join(","));
    }
    out.push('\n');
    out.push_str(&signed_headers.join(";"));
    out.push('\n');
    out.push_str(payload_hash);
    out
}

fn collapse_whitespace(v: &str) -> String {
    v.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn canonical_uri(path: &str, mode: PathMode) -> String {
    let path = if path.is_empty() { "/" } else { path };
    match mode {
        PathMode::Raw => path.to_string(),
        PathMode::NormalizeDoubleEncode => {
            let normalized = normalize_path(path);
            utf8_percent_encode(&normalized, PATH_SAFE).to_string()
        }
    }
}

/// Removes `.` and `..` segments and empty segments, keeping a trailing slash.
fn normalize_path(path: &str) -> String {
    let mut segments: Vec<&str> = Vec::new();
    for seg in path.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    let mut out = String::from("/");
    out.push_str(&segments.join("/"));
    if path.len() > 1 && path.ends_with('/') && !segments.is_empty() {
        out.push('/');
    }
    out
}

fn canonical_query(query: &str, presigned: bool) -> String {
    if query.is_empty() {
        return String::new();
    }
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (
                utf8_percent_encode(&decode_component(k), UNRESERVED).to_string(),
                utf8_percent_encode(&decode_component(v), UNRESERVED).to_string(),
            )
        })
        .filter(|(k, _)| !(presigned && k == "X-Amz-Signature"))
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// The string to sign for a claim.
pub fn string_to_sign(claim: &Claim) -> String {
    format!(
        "{ALGORITHM}\n{}\n{}/{}/{}/aws4_request\n{}",
        claim.amz_date,
        claim.scope_date,
        claim.region,
        claim.service,
        hex::encode(Sha256::digest(claim.canonical_request.as_bytes()))
    )
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length, so this cannot fail.
    match HmacSha256::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(data);
            mac.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
    }
}

/// Derives the signing key for a scope.
pub fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> Vec<u8> {
    let k_date = hmac(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    let k_region = hmac(&k_date, region.as_bytes());
    let k_service = hmac(&k_region, service.as_bytes());
    hmac(&k_service, b"aws4_request")
}

/// Computes the hex signature of a string to sign.
pub fn sign(secret: &str, claim: &Claim) -> String {
    let key = signing_key(secret, &claim.scope_date, &claim.region, &claim.service);
    hex::encode(hmac(&key, string_to_sign(claim).as_bytes()))
}

fn parse_amz_date(s: &str) -> Option<OffsetDateTime> {
    let fmt = format_description!("[year][month][day]T[hour][minute][second]Z");
    PrimitiveDateTime::parse(s, fmt)
        .ok()
        .map(PrimitiveDateTime::assume_utc)
}

fn http_date_to_amz(s: &str) -> Option<String> {
    let t = OffsetDateTime::parse(s, &time::format_description::well_known::Rfc2822).ok()?;
    Some(format_amz_date(t))
}

/// Formats a time as `YYYYMMDDTHHMMSSZ`.
pub fn format_amz_date(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Checks the request time and the signature.
pub fn verify(claim: &Claim, secret: &str, now: OffsetDateTime) -> Result<(), AuthError> {
    let signed_at = parse_amz_date(&claim.amz_date).ok_or_else(|| {
        AuthError::Incomplete(format!(
            "Date must be in ISO-8601 'basic format'. Got '{}'. See http://en.wikipedia.org/wiki/ISO_8601",
            claim.amz_date
        ))
    })?;
    match claim.expires {
        Some(valid_for) => {
            let expires_at = signed_at
                .checked_add(valid_for)
                .ok_or_else(|| AuthError::Expired("Request has expired".into()))?;
            if now > expires_at {
                return Err(AuthError::Expired("Request has expired".into()));
            }
            if signed_at > now + MAX_SKEW {
                return Err(AuthError::Skewed(not_yet_current(signed_at, now)));
            }
        }
        None => {
            if signed_at < now - MAX_SKEW {
                return Err(AuthError::Skewed(format!(
                    "Signature expired: {} is now earlier than {} ({} - 15 min.)",
                    claim.amz_date,
                    format_amz_date(now - MAX_SKEW),
                    format_amz_date(now)
                )));
            }
            if signed_at > now + MAX_SKEW {
                return Err(AuthError::Skewed(not_yet_current(signed_at, now)));
            }
        }
    }
    let expected = sign(secret, claim);
    if bool::from(expected.as_bytes().ct_eq(claim.signature.as_bytes())) {
        Ok(())
    } else {
        Err(AuthError::Mismatch)
    }
}

fn not_yet_current(signed_at: OffsetDateTime, now: OffsetDateTime) -> String {
    format!(
        "Signature not yet current: {} is still later than {} ({} + 15 min.)",
        format_amz_date(signed_at),
        format_amz_date(now + MAX_SKEW),
        format_amz_date(now)
    )
}

/// Credentials to sign with (clients, load generators and tests).
#[derive(Clone, Copy)]
pub struct SigningKey<'a> {
    pub access_key_id: &'a str,
    pub secret: &'a str,
    pub session_token: Option<&'a str>,
}

impl std::fmt::Debug for SigningKey<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

/// Signs a request in place, as an AWS SDK would: adds `x-amz-date`, the session
/// token if any, and `Authorization` over every header present (which must
/// include `host`). Non-S3 path rules.
#[allow(
    clippy::too_many_arguments,
    reason = "mirrors the parts of an HTTP request"
)]
pub fn sign_request(
    method: &str,
    path: &str,
    query: &str,
    headers: &mut http::HeaderMap,
    body: &[u8],
    key: SigningKey<'_>,
    region: &str,
    service: &str,
    now: OffsetDateTime,
) {
    let amz_date = format_amz_date(now);
    if let Ok(v) = http::HeaderValue::from_str(&amz_date) {
        headers.insert("x-amz-date", v);
    }
    if let Some(token) = key.session_token
        && let Ok(v) = http::HeaderValue::from_str(token)
    {
        headers.insert("x-amz-security-token", v);
    }
    headers.remove(http::header::AUTHORIZATION);
    let mut signed_headers: Vec<String> = headers
        .keys()
        .map(|k| k.as_str().to_ascii_lowercase())
        .collect();
    signed_headers.sort();
    signed_headers.dedup();
    let payload_hash = hex::encode(Sha256::digest(body));
    let req = SignedRequest {
        method,
        path,
        query,
        headers,
        body,
    };
    let canonical_request = canonical_request(
        &req,
        PathMode::NormalizeDoubleEncode,
        &signed_headers,
        &payload_hash,
        false,
    );
    let claim = Claim {
        access_key_id: key.access_key_id.to_string(),
        scope_date: amz_date.get(..8).unwrap_or_default().to_string(),
        region: region.to_string(),
        service: service.to_string(),
        amz_date,
        signed_headers,
        signature: String::new(),
        security_token: None,
        expires: None,
        canonical_request,
    };
    let signature = sign(key.secret, &claim);
    let value = format!(
        "{ALGORITHM} Credential={}/{}/{}/{}/aws4_request, SignedHeaders={}, Signature={signature}",
        key.access_key_id,
        claim.scope_date,
        region,
        service,
        claim.signed_headers.join(";")
    );
    if let Ok(v) = http::HeaderValue::from_str(&value) {
        headers.insert(http::header::AUTHORIZATION, v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                http::HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    /// The IAM `ListUsers` example from AWS's SigV4 documentation.
    #[test]
    fn aws_documentation_example_verifies() {
        let h = headers(&[
            ("host", "iam.amazonaws.com"),
            (
                "content-type",
                "application/x-www-form-urlencoded; charset=utf-8",
            ),
            ("x-amz-date", "20150830T123600Z"),
            (
                "authorization",
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7",
            ),
        ]);
        let req = SignedRequest {
            method: "GET",
            path: "/",
            query: "Action=ListUsers&Version=2010-05-08",
            headers: &h,
            body: b"",
        };
        let claim = parse(&req, PathMode::NormalizeDoubleEncode).unwrap();
        assert_eq!(
            hex::encode(Sha256::digest(claim.canonical_request.as_bytes())),
            "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59"
        );
        let now = parse_amz_date("20150830T123600Z").unwrap();
        verify(&claim, "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", now).unwrap();
        assert_eq!(verify(&claim, "wrong", now), Err(AuthError::Mismatch));
        let late = now + Duration::minutes(16);
        assert!(
            matches!(verify(&claim, "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", late), Err(AuthError::Skewed(m)) if m.starts_with("Signature expired: 20150830T123600Z is now earlier than 20150830T123700Z"))
        );
    }

    #[test]
    fn missing_and_incomplete_signatures() {
        let h = headers(&[("host", "x")]);
        let req = SignedRequest {
            method: "GET",
            path: "/",
            query: "",
            headers: &h,
            body: b"",
        };
        assert_eq!(parse(&req, PathMode::Raw).unwrap_err(), AuthError::Missing);
        let h = headers(&[
            ("host", "x"),
            ("authorization", "AWS4-HMAC-SHA256 SignedHeaders=host"),
        ]);
        let req = SignedRequest { headers: &h, ..req };
        assert!(matches!(
            parse(&req, PathMode::Raw),
            Err(AuthError::Incomplete(_))
        ));
    }

    #[test]
    fn signed_requests_round_trip_through_the_verifier() {
        let mut h = headers(&[
            ("host", "127.0.0.1:4747"),
            ("content-type", "application/x-www-form-urlencoded"),
        ]);
        let body = b"Action=GetRole&Version=2010-05-08&RoleName=a%20b";
        let now = parse_amz_date("20261123T190304Z").unwrap();
        let key = SigningKey {
            access_key_id: "AKIAEXAMPLE",
            secret: "s3cret",
            session_token: Some("tok"),
        };
        sign_request("POST", "/", "", &mut h, body, key, "us-east-1", "iam", now);
        let req = SignedRequest {
            method: "POST",
            path: "/",
            query: "",
            headers: &h,
            body,
        };
        let claim = parse(&req, PathMode::NormalizeDoubleEncode).unwrap();
        assert_eq!(claim.security_token.as_deref(), Some("tok"));
        verify(&claim, "s3cret", now).unwrap();
        let tampered = SignedRequest {
            body: b"Action=GetRole&Version=2010-05-08&RoleName=c",
            ..req
        };
        let claim = parse(&tampered, PathMode::NormalizeDoubleEncode).unwrap();
        assert_eq!(verify(&claim, "s3cret", now), Err(AuthError::Mismatch));
    }

    #[test]
    fn a_claimed_body_hash_must_be_the_real_one() {
        let mut h = headers(&[
            ("host", "x"),
            ("content-type", "application/x-www-form-urlencoded"),
        ]);
        let body = b"Action=GetUser&Version=2010-05-08";
        let now = parse_amz_date("20261123T190304Z").unwrap();
        let key = SigningKey {
            access_key_id: "AKIAEXAMPLE",
            secret: "s",
            session_token: None,
        };
        sign_request("POST", "/", "", &mut h, body, key, "us-east-1", "iam", now);
        // Replay with a different body and the original body's hash claimed.
        h.insert(
            "x-amz-content-sha256",
            http::HeaderValue::from_str(&hex::encode(Sha256::digest(body))).unwrap(),
        );
        let forged = SignedRequest {
            method: "POST",
            path: "/",
            query: "",
            headers: &h,
            body: b"Action=AttachUserPolicy",
        };
        assert_eq!(
            parse(&forged, PathMode::NormalizeDoubleEncode).unwrap_err(),
            AuthError::Mismatch
        );
        let mut h2 = h.clone();
        h2.insert(
            "x-amz-content-sha256",
            http::HeaderValue::from_static("UNSIGNED-PAYLOAD"),
        );
        let unsigned = SignedRequest {
            headers: &h2,
            ..forged
        };
        assert_eq!(
            parse(&unsigned, PathMode::NormalizeDoubleEncode).unwrap_err(),
            AuthError::Mismatch
        );
    }

    #[test]
    fn far_future_presigned_dates_do_not_panic() {
        let h = headers(&[("host", "x")]);
        let q = "Action=GetCallerIdentity&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F99991231%2Fus-east-1%2Fsts%2Faws4_request&X-Amz-Date=99991231T235959Z&X-Amz-Expires=604800&X-Amz-SignedHeaders=host&X-Amz-Signature=0000000000000000000000000000000000000000000000000000000000000000";
        let req = SignedRequest {
            method: "GET",
            path: "/",
            query: q,
            headers: &h,
            body: b"",
        };
        let claim = parse(&req, PathMode::NormalizeDoubleEncode).unwrap();
        assert!(verify(&claim, "s", parse_amz_date("20261123T190304Z").unwrap()).is_err());
    }

    fn signed(extra: &[(&str, &str)], region: &str) -> (http::HeaderMap, Claim) {
        let mut h = headers(&[("host", "x")]);
        let now = parse_amz_date("20261123T190304Z").unwrap();
        let key = SigningKey {
            access_key_id: "AKIAEXAMPLE",
            secret: "s",
            session_token: None,
        };
        sign_request(
            "POST",
            "/",
            "",
            &mut h,
            b"{}",
            key,
            region,
            "cloudtrail",
            now,
        );
        for (k, v) in extra {
            h.insert(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                http::HeaderValue::from_str(v).unwrap(),
            );
        }
        let req = SignedRequest {
            method: "POST",
            path: "/",
            query: "",
            headers: &h,
            body: b"{}",
        };
        let claim = parse(&req, PathMode::NormalizeDoubleEncode).unwrap();
        (h.clone(), claim)
    }

    #[test]
    fn only_regions_aws_serves_may_be_scoped() {
        assert!(crate::regions::AWS_REGIONS.is_sorted());
        let (_, claim) = signed(&[], "eu-west-1");
        assert_eq!(check_scope_region(&claim), Ok(()));
        for fake in ["zz-fake-1", "", "US-EAST-1", "us-east-1 "] {
            let claim = Claim {
                region: fake.into(),
                ..claim.clone()
            };
            assert_eq!(
                check_scope_region(&claim),
                Err(AuthError::UnknownRegion(fake.into()))
            );
        }
        assert_eq!(
            AuthError::UnknownRegion("zz-fake-1".into()).message(),
            "Credential should be scoped to a valid region, not 'zz-fake-1'. "
        );
    }

    #[test]
    fn every_amz_header_present_must_be_signed() {
        let (h, claim) = signed(
            &[("x-amz-target", "CloudTrail_20131101.StopLogging")],
            "us-east-1",
        );
        let req = SignedRequest {
            method: "POST",
            path: "/",
            query: "",
            headers: &h,
            body: b"{}",
        };
        assert_eq!(
            check_signed_amz_headers(&req, &claim),
            Err(AuthError::HeadersNotSigned(vec!["x-amz-target".into()]))
        );
        // Signed, it passes; other headers (x-amzn-*, user-agent) need not be.
        let mut h2 = headers(&[
            ("host", "x"),
            ("x-amz-target", "CloudTrail_20131101.GetTrail"),
        ]);
        let now = parse_amz_date("20261123T190304Z").unwrap();
        let key = SigningKey {
            access_key_id: "AKIAEXAMPLE",
            secret: "s",
            session_token: None,
        };
        sign_request(
            "POST",
            "/",
            "",
            &mut h2,
            b"{}",
            key,
            "us-east-1",
            "cloudtrail",
            now,
        );
        h2.insert("x-amzn-trace-id", http::HeaderValue::from_static("Root=1"));
        h2.insert("user-agent", http::HeaderValue::from_static("ua"));
        let req = SignedRequest {
            headers: &h2,
            ..req
        };
        let claim = parse(&req, PathMode::NormalizeDoubleEncode).unwrap();
        assert_eq!(check_signed_amz_headers(&req, &claim), Ok(()));
    }

    #[test]
    fn path_normalization() {
        assert_eq!(normalize_path("/"), "/");
        assert_eq!(normalize_path("/a/./b/../c"), "/a/c");
        assert_eq!(normalize_path("//a//b/"), "/a/b/");
        assert_eq!(
            canonical_uri("/a%20b", PathMode::NormalizeDoubleEncode),
            "/a%2520b"
        );
        assert_eq!(canonical_uri("/a%20b", PathMode::Raw), "/a%20b");
    }
}
