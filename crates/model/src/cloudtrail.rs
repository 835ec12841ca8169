//! The CloudTrail record, in AWS's JSON format (event version 1.08).
//!
//! This is part of the product's contract: trails, `LookupEvents` and offline
//! scans all read exactly this shape, so field names and order follow AWS's logs.

use crate::clock::{cloudtrail_java_date, iso8601};
use crate::principal::{Caller, Principal};
use crate::value::Value;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};

/// The event version trailguard writes.
pub const EVENT_VERSION: &str = "1.08";

/// One CloudTrail event record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Record {
    pub event_version: String,
    pub user_identity: Json,
    pub event_time: String,
    pub event_source: String,
    pub event_name: String,
    pub aws_region: String,
    #[serde(rename = "sourceIPAddress")]
    pub source_ip_address: String,
    pub user_agent: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub error_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub error_message: Option<String>,
    pub request_parameters: Json,
    pub response_elements: Json,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub additional_event_data: Option<Json>,
    #[serde(rename = "requestID")]
    pub request_id: String,
    #[serde(rename = "eventID")]
    pub event_id: String,
    pub read_only: bool,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub resources: Vec<Resource>,
    pub event_type: String,
    pub management_event: bool,
    pub recipient_account_id: String,
    #[serde(
        rename = "sharedEventID",
        skip_serializing_if = "Option::is_none",
        default
    )]
    pub shared_event_id: Option<String>,
    pub event_category: String,
    /// Set when a field was over its maximum size and cut ([`Record::bound_fields`]).
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub omitted: bool,
}

/// Largest `requestParameters`, as serialized JSON (AWS: 100 KB).
pub const MAX_REQUEST_PARAMETERS: usize = 100 * 1024;
/// Largest `responseElements` (AWS: 100 KB).
pub const MAX_RESPONSE_ELEMENTS: usize = 100 * 1024;
/// Largest `additionalEventData` (AWS: 28 KB).
pub const MAX_ADDITIONAL_EVENT_DATA: usize = 28 * 1024;
/// Longest `userAgent` (AWS: 1 KB).
pub const MAX_USER_AGENT: usize = 1024;
/// Longest `errorMessage`. AWS documents no maximum; messages quote client
/// input bounded at the source (`error::quote`), and this keeps any other
/// message from growing the record.
pub const MAX_ERROR_MESSAGE: usize = 1024;

impl Record {
    /// Applies CloudTrail's field maximums: "CloudTrail truncates a field if the
    /// field's contents exceeds the maximum field size. If a field is truncated,
    /// `omitted` is present with a value of `true`." A text field keeps its
    /// longest prefix that fits (on a character boundary); a JSON object cannot be
    /// cut and still mean something, so an oversized one is left out (`null`).
    pub fn bound_fields(&mut self) {
        let mut omitted = false;
        for (field, max) in [
            (&mut self.request_parameters, MAX_REQUEST_PARAMETERS),
            (&mut self.response_elements, MAX_RESPONSE_ELEMENTS),
        ] {
            if json_len(field) > max {
                *field = Json::Null;
                omitted = true;
            }
        }
        if self
            .additional_event_data
            .as_ref()
            .is_some_and(|d| json_len(d) > MAX_ADDITIONAL_EVENT_DATA)
        {
            self.additional_event_data = None;
            omitted = true;
        }
        omitted |= truncate(&mut self.user_agent, MAX_USER_AGENT);
        if let Some(message) = &mut self.error_message {
            omitted |= truncate(message, MAX_ERROR_MESSAGE);
        }
        self.omitted |= omitted;
    }
}

/// The size of a value as the record stores it.
fn json_len(v: &Json) -> usize {
    serde_json::to_vec(v).map_or(usize::MAX, |b| b.len())
}

/// Cuts `s` to at most `max` bytes on a character boundary; whether it cut.
fn truncate(s: &mut String, max: usize) -> bool {
    if s.len() <= max {
        return false;
    }
    let mut cut = max;
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    s.truncate(cut);
    true
}

/// A resource named by an event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resource {
    #[serde(rename = "accountId")]
    pub account_id: String,
    #[serde(rename = "type")]
    pub resource_type: String,
    #[serde(rename = "ARN")]
    pub arn: String,
}

/// Renders CloudTrail's `userIdentity` for a caller.
pub fn user_identity(caller: &Caller) -> Json {
    let mut m = Map::new();
    let p = &caller.principal;
    let ty = match p {
        Principal::Root { .. } => "Root",
        Principal::User { .. } => "IAMUser",
        Principal::AssumedRole { .. } => "AssumedRole",
        Principal::Service { .. } => "AWSService",
    };
    m.insert("type".into(), ty.into());
    if let Principal::Service { service } = p {
        m.insert("invokedBy".into(), service.as_str().into());
        return Json::Object(m);
    }
    m.insert("principalId".into(), p.principal_id().into());
    m.insert("arn".into(), p.arn().into());
    m.insert("accountId".into(), p.account_id().into());
    m.insert("accessKeyId".into(), caller.access_key_id.as_str().into());
    if let Principal::User { name, .. } = p {
        m.insert("userName".into(), name.as_str().into());
    }
    let issuer = match p {
        Principal::AssumedRole {
            account_id,
            role_name,
            role_id,
            role_arn,
            ..
        } => Some(serde_json::json!({
            "type": "Role",
            "principalId": role_id,
            "arn": role_arn,
            "accountId": account_id,
            "userName": role_name,
        })),
        _ => None,
    };
    if let Some(session) = &caller.session {
        let mut ctx = Map::new();
        if let Some(issuer) = issuer {
            ctx.insert("sessionIssuer".into(), issuer);
            ctx.insert("webIdFederationData".into(), Json::Object(Map::new()));
        }
        ctx.insert(
            "attributes".into(),
            serde_json::json!({
                "creationDate": iso8601(session.issued_at),
                "mfaAuthenticated": if session.mfa_authenticated { "true" } else { "false" },
            }),
        );
        m.insert("sessionContext".into(), Json::Object(ctx));
    }
    if let Some(by) = &caller.invoked_by {
        m.insert("invokedBy".into(), by.as_str().into());
    }
    Json::Object(m)
}

/// Renders an operation's output as CloudTrail `responseElements`: members in
/// lower camel case, lists as arrays, times in CloudTrail's Java style, and
/// sensitive values left out.
pub fn response_elements(v: &Value) -> Json {
    match v {
        Value::Null | Value::Sensitive(_) | Value::Blob(_) => Json::Null,
        Value::Str(s) => Json::String(s.clone()),
        Value::Int(n) => Json::from(*n),
        Value::Float(f) => Json::from(*f),
        Value::Bool(b) => Json::Bool(*b),
        Value::Time(t) => Json::String(cloudtrail_java_date(*t)),
        Value::List(items) | Value::ListOf(_, items) => {
            Json::Array(items.iter().map(response_elements).collect())
        }
        Value::Map(entries) => Json::Object(
            entries
                .iter()
                .map(|(k, v)| (k.clone(), response_elements(v)))
                .collect(),
        ),
        Value::Struct(members) => Json::Object(
            members
                .iter()
                .filter(|(_, v)| !matches!(v, Value::Null | Value::Sensitive(_) | Value::Blob(_)))
                .map(|(k, v)| (lower_camel(k), response_elements(v)))
                .collect(),
        ),
    }
}

/// `UserName` -> `userName`, `ARN` -> `aRN` is avoided: an all-caps name is lowered whole.
pub fn lower_camel(name: &str) -> String {
    if name.chars().all(|c| c.is_ascii_uppercase()) {
        return name.to_ascii_lowercase();
    }
    let mut out = String::with_capacity(name.len());
    let mut chars = name.chars();
    if let Some(first) = chars.next() {
        out.push(first.to_ascii_lowercase());
    }
    out.extend(chars);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::principal::SessionInfo;
    use time::macros::datetime;

    #[test]
    fn identities_render_as_cloudtrail_does() {
        let root = Caller::long_term(
            Principal::Root {
                account_id: "123456789012".into(),
            },
            "AKIAROOT",
        );
        assert_eq!(
            user_identity(&root).to_string(),
            r#"{"type":"Root","principalId":"123456789012","arn":"arn:aws:iam::123456789012:root","accountId":"123456789012","accessKeyId":"AKIAROOT"}"#
        );
        let role = Caller {
            principal: Principal::AssumedRole {
                account_id: "123456789012".into(),
                role_name: "Admin".into(),
                role_id: "AROAEXAMPLE".into(),
                role_arn: "arn:aws:iam::123456789012:role/Admin".into(),
                session_name: "s1".into(),
            },
            access_key_id: "ASIAEXAMPLE".into(),
            session: Some(SessionInfo {
                issued_at: datetime!(2026-11-23 19:00:00 UTC),
                expires_at: datetime!(2026-11-23 20:00:00 UTC),
                mfa_authenticated: false,
            }),
            invoked_by: None,
        };
        assert_eq!(
            user_identity(&role).to_string(),
            r#"{"type":"AssumedRole","principalId":"AROAEXAMPLE:s1","arn":"arn:aws:sts::123456789012:assumed-role/Admin/s1","accountId":"123456789012","accessKeyId":"ASIAEXAMPLE","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROAEXAMPLE","arn":"arn:aws:iam::123456789012:role/Admin","accountId":"123456789012","userName":"Admin"},"webIdFederationData":{},"attributes":{"creationDate":"2026-11-23T19:00:00Z","mfaAuthenticated":"false"}}}"#
        );
    }

    #[test]
    fn oversized_fields_are_cut_and_marked_omitted() {
        let mut rec: Record = serde_json::from_value(serde_json::json!({
            "eventVersion": "1.08", "userIdentity": {}, "eventTime": "t",
            "eventSource": "iam.amazonaws.com", "eventName": "CreateUser",
            "awsRegion": "us-east-1", "sourceIPAddress": "127.0.0.1",
            "userAgent": "u".repeat(MAX_USER_AGENT + 5),
            "errorCode": "AccessDenied", "errorMessage": "é".repeat(MAX_ERROR_MESSAGE),
            "requestParameters": {"userName": "x".repeat(MAX_REQUEST_PARAMETERS)},
            "responseElements": null, "requestID": "r", "eventID": "e",
            "readOnly": false, "eventType": "AwsApiCall", "managementEvent": true,
            "recipientAccountId": "123456789012", "eventCategory": "Management"
        }))
        .unwrap();
        assert!(!rec.omitted);
        let small = rec.clone();
        rec.bound_fields();
        assert!(rec.omitted);
        assert_eq!(rec.request_parameters, Json::Null);
        assert_eq!(rec.user_agent.len(), MAX_USER_AGENT);
        assert!(rec.error_message.as_ref().unwrap().len() <= MAX_ERROR_MESSAGE);
        assert_eq!(serde_json::to_value(&rec).unwrap()["omitted"], true);
        // A record within every maximum is left alone and carries no marker.
        let mut fine = Record {
            user_agent: "aws-cli".into(),
            error_message: Some("denied".into()),
            request_parameters: serde_json::json!({"userName": "bob"}),
            ..small
        };
        let before = fine.clone();
        fine.bound_fields();
        assert_eq!(fine, before);
        assert!(
            serde_json::to_value(&fine)
                .unwrap()
                .get("omitted")
                .is_none()
        );
    }

    #[test]
    fn response_elements_hide_secrets_and_use_java_dates() {
        let out = Value::structure().with(
            "AccessKey",
            Value::structure()
                .with("UserName", "bob")
                .with("AccessKeyId", "AKIA1")
                .with(
                    "SecretAccessKey",
                    Value::Sensitive(Box::new("s3cr3t".into())),
                )
                .with("CreateDate", datetime!(2026-11-23 19:03:04 UTC)),
        );
        assert_eq!(
            response_elements(&out).to_string(),
            r#"{"accessKey":{"userName":"bob","accessKeyId":"AKIA1","createDate":"Nov 23, 2026, 7:03:04 PM"}}"#
        );
    }
}
