//! Authorization and the handler read the same member: every served operation is
//! called with its model's required members naming a victim resource plus decoy
//! members (every member name any served operation defines that this one does
//! not: `Name`, `TrailName`, `ResourceId`, `filterName`, `UserName`,
//! `bucketName`, `detectorId`...) naming another. The resource the call is
//! authorized on (read back from the denial of a user with no permissions) must
//! be the same with and without the decoys, and name the victim unless the
//! operation acts on an account-wide resource. The operation's own optional
//! members move the resource only where they name it.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "test code"
)]

use serde_json::{Map, Value as Json, json};
use std::collections::BTreeSet;
use std::sync::Arc;
use time::macros::datetime;
use trailguard_core::inputs::{Inputs, inputs};
use trailguard_model::{Caller, FixedClock, RequestContext, SeqIds, ServiceId};
use trailguard_services::ids;
use trailguard_services::{Accounts as _, Services};
use trailguard_store::SqliteStore;

/// Operations whose resource no required member names: account-wide listings
/// and creations, calls on the caller itself, and calls whose resource is named
/// by an optional member (absent here) or by a member inside a structure.
const NOT_NAMED_BY_A_REQUIRED_MEMBER: &[&str] = &[
    // The caller's own user when `UserName` (optional) is absent.
    "iam:GetUser",
    "iam:CreateAccessKey",
    "iam:ListAccessKeys",
    "iam:UpdateAccessKey",
    "iam:DeleteAccessKey",
    // The key's owner, looked up by `AccessKeyId` (unknown here).
    "iam:GetAccessKeyLastUsed",
    // The role inside `DeletionTaskId` (not a task id here).
    "iam:GetServiceLinkedRoleDeletionStatus",
    // Account-wide listings, reads and policy evaluation.
    "iam:ListUsers",
    "iam:ListGroups",
    "iam:ListRoles",
    "iam:ListPolicies",
    "iam:ListInstanceProfiles",
    "iam:SimulateCustomPolicy",
    "iam:GetContextKeysForCustomPolicy",
    "iam:GetAccountSummary",
    "iam:GetAccountAuthorizationDetails",
    "redshift:DescribeClusters",
    "cloudtrail:LookupEvents",
    "cloudtrail:DescribeTrails",
    "cloudtrail:ListTrails",
    "cloudtrail:ListTags",
    "cloudtrail:ListPublicKeys",
    "lex:GetBots",
    "lex:GetIntents",
    "lex:GetSlotTypes",
    // The lexicons named by `LexiconNames` (optional).
    "polly:SynthesizeSpeech",
    "polly:DescribeVoices",
    "guardduty:CreateDetector",
    "guardduty:ListDetectors",
    "guardduty:ListInvitations",
    "guardduty:GetInvitationsCount",
    "guardduty:DeclineInvitations",
    "s3:ListBuckets",
];

/// Operations whose resource an optional member names (so setting it changes
/// the resource, as it changes what the handler acts on): `UserName` of the
/// calls that default to the caller, `Path` in the ARN of a new policy, user,
/// group, role or instance profile, and `ClusterIdentifier` narrowing
/// `DescribeClusters`. For every other operation
/// no optional string member moves the resource either.
const NAMED_BY_AN_OPTIONAL_MEMBER: &[&str] = &[
    "iam:GetUser",
    "iam:CreatePolicy",
    "iam:CreateUser",
    "iam:CreateGroup",
    "iam:CreateRole",
    "iam:CreateInstanceProfile",
    "iam:CreateAccessKey",
    "iam:ListAccessKeys",
    "iam:UpdateAccessKey",
    "iam:DeleteAccessKey",
    "redshift:DescribeClusters",
];

fn value_for(shape_type: &str, key: &str) -> Json {
    match shape_type {
        "string" | "blob" => json!(format!("victim{key}")),
        "list" => json!([format!("victim{key}")]),
        "structure" | "map" => json!({}),
        "integer" | "long" => json!(1),
        "boolean" => json!(true),
        "timestamp" => json!(0),
        other => panic!("no test value for shape type {other}"),
    }
}

fn required(model: &Inputs) -> Map<String, Json> {
    model
        .members
        .iter()
        .filter(|m| m.required)
        .map(|m| (m.key.clone(), value_for(&m.shape_type, &m.key)))
        .collect()
}

/// Every optional string member of the operation, set to a decoy value.
fn model_decoys(model: &Inputs) -> Map<String, Json> {
    model
        .members
        .iter()
        .filter(|m| !m.required && m.shape_type == "string")
        .map(|m| (m.key.clone(), json!(format!("decoy{}", m.key))))
        .collect()
}

/// What the call was authorized on, from AWS's denial text; any other answer
/// (a validation error before authorization) is returned whole.
fn authorized_resource(
    services: &Services,
    caller: &Caller,
    service: ServiceId,
    op: &str,
    params: &Json,
) -> String {
    let ctx = RequestContext {
        request_id: "req".into(),
        source_ip: "192.0.2.10".into(),
        user_agent: "decoys".into(),
        region: "us-east-1".into(),
        received_at: datetime!(2026-11-23 19:03:04 UTC),
        secure_transport: false,
    };
    let err = services
        .execute(service, op, params, caller, &ctx)
        .expect_err("a user without permissions is refused");
    match err.message.split_once(" on resource: ") {
        Some((_, rest)) if err.code == "AccessDenied" => rest
            .split_once(" because ")
            .map_or(rest, |(r, _)| r)
            .to_string(),
        _ => format!("{}: {}", err.code, err.message),
    }
}

#[test]
fn decoy_members_never_change_what_a_call_is_authorized_on() {
    let store = Arc::new(SqliteStore::in_memory().unwrap());
    let clock = Arc::new(FixedClock::new(datetime!(2026-11-23 19:03:04 UTC)));
    let services = trailguard_services::services(store, clock, Arc::new(SeqIds::default()));
    services
        .bootstrap(
            Some("123456789012"),
            Some(("AKIAROOTROOTROOTROOT", "root-secret")),
        )
        .unwrap();
    let root = services
        .authenticate("AKIAROOTROOTROOTROOT", None)
        .unwrap()
        .caller;
    let ctx = RequestContext {
        request_id: "setup".into(),
        source_ip: "192.0.2.10".into(),
        user_agent: "decoys".into(),
        region: "us-east-1".into(),
        received_at: datetime!(2026-11-23 19:03:04 UTC),
        secure_transport: false,
    };
    services
        .execute(
            ids::IAM,
            "CreateUser",
            &json!({"UserName": "nobody"}),
            &root,
            &ctx,
        )
        .unwrap();
    let key = services
        .execute(
            ids::IAM,
            "CreateAccessKey",
            &json!({"UserName": "nobody"}),
            &root,
            &ctx,
        )
        .unwrap();
    let key_id = match key.get("AccessKey").and_then(|k| k.get("AccessKeyId")) {
        Some(trailguard_model::Value::Str(s)) => s.clone(),
        other => panic!("no access key id: {other:?}"),
    };
    let nobody = services.authenticate(&key_id, None).unwrap().caller;

    let every_key: BTreeSet<String> = trailguard_services::all_operations()
        .filter_map(|(s, op)| inputs(s, op.name))
        .flat_map(|m| m.members.iter().map(|m| m.key.clone()))
        .collect();
    let mut unnamed = Vec::new();
    let mut checked = 0;
    for (service, op) in trailguard_services::all_operations() {
        // Always allowed, or decided by the role's trust policy in the handler.
        if matches!(
            op.name,
            "GetCallerIdentity" | "GetSessionToken" | "AssumeRole"
        ) {
            continue;
        }
        let model = inputs(service, op.name)
            .unwrap_or_else(|| panic!("{}:{} has no model entry", service.signing_name(), op.name));
        let plain = required(model);
        let mut decoyed = plain.clone();
        for k in &every_key {
            if !model.defines(k) {
                decoyed.insert(k.clone(), json!(format!("decoy{k}")));
            }
        }
        let name = format!("{}:{}", service.signing_name(), op.name);
        let want = authorized_resource(&services, &nobody, service, op.name, &Json::Object(plain));
        let got = authorized_resource(&services, &nobody, service, op.name, &Json::Object(decoyed));
        assert_eq!(got, want, "{name}: decoys changed the resource");
        assert!(!got.contains("decoy"), "{name}: authorized on {got}");
        // The operation's own optional string members, set to other values, move
        // the resource only where they name it.
        let mut optional = model_decoys(model);
        optional.extend(required(model));
        let moved = authorized_resource(
            &services,
            &nobody,
            service,
            op.name,
            &Json::Object(optional),
        );
        assert_eq!(
            moved != want,
            NAMED_BY_AN_OPTIONAL_MEMBER.contains(&name.as_str()),
            "{name}: {want} became {moved}"
        );
        if !want.contains("victim") {
            unnamed.push(format!("{name} -> {want}"));
        }
        checked += 1;
    }
    assert_eq!(checked, trailguard_services::all_operations().count() - 3);
    let unexpected: Vec<&String> = unnamed
        .iter()
        .filter(|u| {
            !NOT_NAMED_BY_A_REQUIRED_MEMBER
                .iter()
                .any(|n| u.split(" -> ").next() == Some(*n))
        })
        .collect();
    assert!(
        unexpected.is_empty(),
        "authorized on a resource no required member names:\n{}",
        unexpected
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
}
