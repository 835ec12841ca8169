//! GuardDuty's remembering detections on the server: a user's baseline is
//! learned from the trail over days of event time, kept in the store between
//! detection runs, and a call unusual for it raises an `AnomalousBehavior`
//! finding.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code"
)]

mod common;

use common::World;
use serde_json::{Value as Json, json};
use trailguard_model::{Caller, Value};
use trailguard_services::ids;

fn text(v: &Value, k: &str) -> String {
    match v.get(k) {
        Some(Value::Str(s)) => s.clone(),
        Some(Value::Sensitive(inner)) => match inner.as_ref() {
            Value::Str(s) => s.clone(),
            other => panic!("{k}: {other:?}"),
        },
        other => panic!("{k}: {other:?}"),
    }
}

/// A user with a key, as the server would authenticate it.
fn user(w: &World, name: &str) -> Caller {
    w.call(ids::IAM, "CreateUser", json!({"UserName": name}));
    w.call(
        ids::IAM,
        "AttachUserPolicy",
        json!({"UserName": name, "PolicyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}),
    );
    let made = w.call(ids::IAM, "CreateAccessKey", json!({"UserName": name}));
    let key = made.get("AccessKey").unwrap();
    let id = text(key, "AccessKeyId");
    w.services.authenticate(&id, None).unwrap().caller
}

/// The `AnomalousBehavior` findings after a detection run.
fn finding_types(w: &World, detector: &str) -> Vec<String> {
    trailguard_guardduty::detect::detect_findings(&w.services).unwrap();
    let listed = w.call(
        ids::GUARDDUTY,
        "ListFindings",
        json!({"detectorId": detector}),
    );
    let ids_json = trailguard_protocol::json::to_json(listed.get("findingIds").unwrap());
    let got = w.call(
        ids::GUARDDUTY,
        "GetFindings",
        json!({"detectorId": detector, "findingIds": ids_json}),
    );
    let found: Json = trailguard_protocol::json::to_json(got.get("findings").unwrap());
    let mut types: Vec<String> = found
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["type"].as_str().unwrap().to_string())
        // The set-up is the root user's, which is a finding of its own.
        .filter(|t| t.contains("AnomalousBehavior"))
        .collect();
    types.sort();
    types
}

#[test]
fn a_learned_user_calling_an_unusual_api_from_a_new_network_is_anomalous() {
    let w = World::new();
    let made = w.call(ids::GUARDDUTY, "CreateDetector", json!({"enable": true}));
    let detector = text(&made, "detectorId");
    let alice = user(&w, "alice");
    let home = ("198.51.100.7", "aws-cli/2.15.0 Python/3.11");
    w.call_from(&alice, home, ids::IAM, "ListUsers", json!({}));
    assert_eq!(finding_types(&w, &detector), Vec::<String>::new());
    // Still learning on day 3: nothing, whatever she calls from wherever.
    w.clock.advance(time::Duration::days(3));
    w.call_from(
        &alice,
        ("203.0.113.9", "curl/8"),
        ids::IAM,
        "CreateUser",
        json!({"UserName": "x"}),
    );
    assert_eq!(finding_types(&w, &detector), Vec::<String>::new());
    // Learned (day 8): a new API from her usual network and agent is not unusual.
    w.clock.advance(time::Duration::days(5));
    w.call_from(&alice, home, ids::IAM, "ListRoles", json!({}));
    assert_eq!(finding_types(&w, &detector), Vec::<String>::new());
    let escalate = || {
        w.call_from(
            &alice,
            ("192.0.2.200", "aws-cli/2.15.0 Python/3.11"),
            ids::IAM,
            "PutUserPolicy",
            json!({"UserName": "x", "PolicyName": "p", "PolicyDocument": "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"}]}"}),
        )
    };
    // A privilege-escalation API she never called, from a network she never used, is.
    escalate();
    assert_eq!(
        finding_types(&w, &detector),
        vec!["PrivilegeEscalation:IAMUser/AnomalousBehavior".to_string()]
    );
    // Once called, it is part of her profile: the same again from there is not new.
    escalate();
    assert_eq!(
        finding_types(&w, &detector),
        vec!["PrivilegeEscalation:IAMUser/AnomalousBehavior".to_string()]
    );
}
