//! The audit recorder: one CloudTrail record per call, written through the same
//! transaction as the change it describes.

use crate::env::Env;
use crate::error::Result;
use serde_json::{Map, Value as Json};
use trailguard_model::clock::iso8601;
use trailguard_model::cloudtrail::{
    EVENT_VERSION, Record, lower_camel, response_elements, user_identity,
};
use trailguard_model::{ApiError, Principal, ServiceId, Value};
use trailguard_store::EventRow;

/// Request members CloudTrail never shows.
const HIDDEN: &[&str] = &[
    "password",
    "newPassword",
    "oldPassword",
    "secretAccessKey",
    "masterUserPassword",
];
/// Request members CloudTrail leaves out: payloads (object bodies, Lex input).
const DROPPED: &[&str] = &["body", "inputStream"];
/// Request members CloudTrail shows as numbers.
const NUMERIC: &[&str] = &["durationSeconds", "maxItems", "maxSessionDuration"];

/// Renders request parameters as CloudTrail `requestParameters`.
pub fn request_parameters(params: &Json) -> Json {
    fn convert(v: &Json, name: Option<&str>) -> Json {
        match v {
            Json::Object(m) => Json::Object(
                m.iter()
                    .filter(|(k, _)| !DROPPED.contains(&lower_camel(k).as_str()))
                    .map(|(k, v)| {
                        let key = lower_camel(k);
                        let value = if HIDDEN.contains(&key.as_str()) {
                            Json::String("HIDDEN_DUE_TO_SECURITY_REASONS".into())
                        } else {
                            convert(v, Some(&key))
                        };
                        (key, value)
                    })
                    .collect::<Map<_, _>>(),
            ),
            Json::Array(items) => Json::Array(items.iter().map(|i| convert(i, None)).collect()),
            Json::String(s) if name.is_some_and(|n| NUMERIC.contains(&n)) => s
                .parse::<i64>()
                .map(Json::from)
                .unwrap_or_else(|_| Json::String(s.clone())),
            other => other.clone(),
        }
    }
    match params {
        Json::Object(m) if m.is_empty() => Json::Null,
        Json::Null => Json::Null,
        other => convert(other, None),
    }
}

/// What the service's records show of its parameters, shaped by the
/// service's own rule (Polly's text masked, S3's bucket policy added).
fn shaped(env: &Env<'_>, call: &CallFacts<'_>, mut shown: Json) -> Json {
    if let Some(shape) = env
        .registry
        .module(call.service)
        .and_then(|m| m.record_params)
    {
        shape(call.name, call.params, &mut shown);
    }
    shown
}

/// What the call is, for the record.
#[derive(Debug, Clone, Copy)]
pub struct CallFacts<'a> {
    pub service: ServiceId,
    pub name: &'a str,
    pub read_only: bool,
    pub record_response: bool,
    /// A management event; `false` for data events (S3 object calls).
    pub management: bool,
    pub params: &'a Json,
}

/// Builds the record for a call and appends it in `env`'s transaction. A call
/// on a resource of another account (a cross-account `AssumeRole`) is recorded,
/// as CloudTrail does, in each account: one record per recipient, each with its
/// own `eventID` and `recipientAccountId`, sharing one `sharedEventID`. The
/// decision trace stays with the caller's account.
pub fn record(
    env: &mut Env<'_>,
    call: CallFacts<'_>,
    outcome: std::result::Result<&Value, &ApiError>,
) -> Result<()> {
    let caller = env.caller.clone();
    let origin = Origin {
        source_ip: env.ctx.source_ip.clone(),
        user_agent: env.ctx.user_agent.clone(),
    };
    let mut others: Vec<String> = Vec::new();
    for r in &env.resources {
        if !r.account_id.is_empty()
            && r.account_id != env.account
            && !others.contains(&r.account_id)
        {
            others.push(r.account_id.clone());
        }
    }
    if others.is_empty() {
        return append(env, &caller, &origin, call, outcome, None);
    }
    let shared = env.ids.uuid();
    let resources = env.resources.clone();
    append(env, &caller, &origin, call, outcome, Some(shared.clone()))?;
    let own = env.account.clone();
    for other in others {
        env.resources.clone_from(&resources);
        env.account = other;
        let appended = append(env, &caller, &origin, call, outcome, Some(shared.clone()));
        env.account.clone_from(&own);
        appended?;
    }
    Ok(())
}

/// Where a call came from: the client, or the AWS service acting.
#[derive(Debug, Clone)]
pub struct Origin {
    pub source_ip: String,
    pub user_agent: String,
}

impl Origin {
    /// A call made by an AWS service: both fields are the service principal.
    pub fn service(principal: &str) -> Self {
        Self {
            source_ip: principal.to_string(),
            user_agent: principal.to_string(),
        }
    }
}

/// Appends the record of a call made by `caller` from `origin`, in `env`'s
/// transaction: the client's own call, or what a service did on its behalf.
pub fn append(
    env: &mut Env<'_>,
    caller: &trailguard_model::Caller,
    origin: &Origin,
    call: CallFacts<'_>,
    outcome: std::result::Result<&Value, &ApiError>,
    shared_event_id: Option<String>,
) -> Result<()> {
    // A global service (IAM) records in us-east-1.
    let def = env
        .registry
        .module(call.service)
        .map(|m| m.def)
        .ok_or_else(|| crate::error::Error::Corrupt(format!("{} is not served", call.service)))?;
    let region = if def.global {
        "us-east-1".to_string()
    } else {
        env.ctx.region.clone()
    };
    let (error_code, error_message, response) = match outcome {
        Ok(out) if call.record_response => (None, None, response_elements(out)),
        Ok(_) => (None, None, Json::Null),
        Err(e) => (
            Some(e.code.to_string()),
            Some(e.message.clone()),
            Json::Null,
        ),
    };
    let response = match response {
        Json::Object(m) if m.is_empty() => Json::Null,
        other => other,
    };
    let rec = Record {
        event_version: EVENT_VERSION.into(),
        user_identity: user_identity(caller),
        event_time: iso8601(env.ctx.received_at),
        event_source: def.event_source.into(),
        event_name: call.name.into(),
        aws_region: region,
        source_ip_address: origin.source_ip.clone(),
        user_agent: origin.user_agent.clone(),
        error_code,
        error_message,
        request_parameters: shaped(env, &call, request_parameters(call.params)),
        response_elements: response,
        // Beyond AWS: a denied call carries the decision that denied it.
        additional_event_data: env
            .decision_trace
            .take()
            .map(|t| serde_json::json!({ "trailguardAuthorization": t })),
        request_id: env.ctx.request_id.clone(),
        event_id: env.ids.uuid(),
        read_only: call.read_only,
        resources: std::mem::take(&mut env.resources),
        event_type: "AwsApiCall".into(),
        management_event: call.management,
        recipient_account_id: env.account.clone(),
        shared_event_id,
        event_category: if call.management {
            "Management"
        } else {
            "Data"
        }
        .into(),
        omitted: false,
    };
    let mut rec = rec;
    // However large the request, the record stays within CloudTrail's sizes.
    rec.bound_fields();
    let text =
        serde_json::to_string(&rec).map_err(|e| crate::error::Error::Corrupt(e.to_string()))?;
    let username = match &caller.principal {
        Principal::Root { .. } => Some("root".to_string()),
        Principal::User { name, .. } => Some(name.clone()),
        Principal::AssumedRole { session_name, .. } => Some(session_name.clone()),
        Principal::Service { service } => Some(service.clone()),
    };
    let millis =
        i64::try_from(env.ctx.received_at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX);
    let resources = lookup_resources(&rec.request_parameters, &rec.resources);
    env.tx.append_event(&EventRow {
        event_id: &rec.event_id,
        account_id: &rec.recipient_account_id,
        event_time: &rec.event_time,
        event_time_ms: millis,
        event_source: &rec.event_source,
        event_name: &rec.event_name,
        read_only: rec.read_only,
        username: username.as_deref(),
        access_key_id: Some(caller.access_key_id.as_str()).filter(|k| !k.is_empty()),
        record: &text,
        resources: &resources,
        management: call.management,
    })?;
    Ok(())
}

/// The resources `LookupEvents` reports for an event, as CloudTrail derives them
/// from the record's `requestParameters` and `resources`: `(type, name)`.
pub fn lookup_resources(
    params: &Json,
    named: &[trailguard_model::cloudtrail::Resource],
) -> Vec<(String, String)> {
    const BY_PARAM: &[(&str, &str)] = &[
        ("userName", "AWS::IAM::User"),
        ("roleName", "AWS::IAM::Role"),
        ("groupName", "AWS::IAM::Group"),
        ("policyArn", "AWS::IAM::Policy"),
        ("instanceProfileName", "AWS::IAM::InstanceProfile"),
        ("accessKeyId", "AWS::IAM::AccessKey"),
        ("clusterIdentifier", "AWS::Redshift::Cluster"),
        ("botName", "AWS::Lex::Bot"),
        ("detectorId", "AWS::GuardDuty::Detector"),
    ];
    let mut out: Vec<(String, String)> = Vec::new();
    for (param, ty) in BY_PARAM {
        if let Some(v) = params.get(*param).and_then(Json::as_str) {
            out.push(((*ty).to_string(), v.to_string()));
        }
    }
    for r in named {
        let pair = (r.resource_type.clone(), r.arn.clone());
        if !out.contains(&pair) {
            out.push(pair);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn request_parameters_are_camel_cased_typed_and_redacted() {
        let p = json!({"RoleArn":"arn:x","RoleSessionName":"s","DurationSeconds":"900","Tags":[{"Key":"k","Value":"v"}],"Password":"p"});
        assert_eq!(
            request_parameters(&p),
            json!({"roleArn":"arn:x","roleSessionName":"s","durationSeconds":900,"tags":[{"key":"k","value":"v"}],"password":"HIDDEN_DUE_TO_SECURITY_REASONS"})
        );
        assert_eq!(request_parameters(&json!({})), Json::Null);
    }
}
