//! Authentication answered from memory is never staler than a read: a key
//! made inactive or deleted, or its user deleted, is refused on the next
//! call, and a session's token and expiry are checked on every use.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code"
)]

mod common;

use common::World;
use serde_json::json;
use trailguard_model::Value;
use trailguard_services::ids;

/// Keys and authentication as the server sees them.
trait Keys {
    fn key_for(&self, name: &str) -> (String, String);
    fn authenticates(&self, id: &str, token: Option<&str>) -> Result<String, String>;
}

impl Keys for World {
    /// A new key for user `name`: its id and secret.
    fn key_for(&self, name: &str) -> (String, String) {
        let made = self.call(ids::IAM, "CreateAccessKey", json!({"UserName": name}));
        let text = |k: &str| match made.get("AccessKey").and_then(|a| a.get(k)) {
            Some(Value::Str(s)) => s.clone(),
            Some(Value::Sensitive(inner)) => match inner.as_ref() {
                Value::Str(s) => s.clone(),
                other => panic!("{k}: {other:?}"),
            },
            other => panic!("{k}: {other:?}"),
        };
        (text("AccessKeyId"), text("SecretAccessKey"))
    }

    /// Authenticates the way the server does: memory first, then the store,
    /// and (the signature having verified) keeps what was read.
    fn authenticates(&self, id: &str, token: Option<&str>) -> Result<String, String> {
        let mut credential = self
            .services
            .authenticate(id, token)
            .map_err(|e| e.code.to_string())?;
        self.services.remember(id, &mut credential);
        Ok(credential.secret.expose().to_string())
    }
}

#[test]
fn a_key_made_inactive_or_deleted_is_refused_at_once() {
    let w = World::new();
    w.call(ids::IAM, "CreateUser", json!({"UserName": "alice"}));
    let (id, secret) = w.key_for("alice");
    // A key id alone makes no entry: only a verified signature does.
    w.services.authenticate(&id, None).unwrap();
    assert!(w.services.authenticate_cached(&id, None).is_none());
    assert_eq!(w.authenticates(&id, None), Ok(secret.clone()));
    // Now from memory.
    assert!(w.services.authenticate_cached(&id, None).is_some());

    w.call(
        ids::IAM,
        "UpdateAccessKey",
        json!({"UserName": "alice", "AccessKeyId": id, "Status": "Inactive"}),
    );
    assert!(w.services.authenticate_cached(&id, None).is_none());
    assert_eq!(
        w.authenticates(&id, None),
        Err("InvalidClientTokenId".into())
    );

    w.call(
        ids::IAM,
        "UpdateAccessKey",
        json!({"UserName": "alice", "AccessKeyId": id, "Status": "Active"}),
    );
    assert_eq!(w.authenticates(&id, None), Ok(secret));
    w.call(
        ids::IAM,
        "DeleteAccessKey",
        json!({"UserName": "alice", "AccessKeyId": id}),
    );
    assert_eq!(
        w.authenticates(&id, None),
        Err("InvalidClientTokenId".into())
    );
}

#[test]
fn a_key_in_use_stays_in_memory_and_its_last_use_moves_by_the_minute() {
    let w = World::new();
    w.call(ids::IAM, "CreateUser", json!({"UserName": "bob"}));
    w.call(
        ids::IAM,
        "PutUserPolicy",
        json!({"UserName": "bob", "PolicyName": "read", "PolicyDocument": json!({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "iam:Get*", "Resource": "*"}]
        }).to_string()}),
    );
    let (id, _) = w.key_for("bob");
    let caller = w.services.authenticate(&id, None).unwrap().caller;
    let last_used = || {
        let got = w.call(ids::IAM, "GetAccessKeyLastUsed", json!({"AccessKeyId": id}));
        format!(
            "{:?}",
            got.get("AccessKeyLastUsed")
                .and_then(|l| l.get("LastUsedDate"))
        )
    };
    // Using the key records its last use apart from the key, so the key
    // stays in memory.
    w.authenticates(&id, None).unwrap();
    w.call_as(&caller, ids::IAM, "GetUser", json!({}));
    assert!(w.services.authenticate_cached(&id, None).is_some());
    let first = last_used();
    assert!(first.contains("19:03:00"), "to the minute: {first}");
    // Later uses in the same minute write nothing.
    w.clock.advance(time::Duration::seconds(30));
    w.call_as(&caller, ids::IAM, "GetUser", json!({}));
    assert!(w.services.authenticate_cached(&id, None).is_some());
    assert_eq!(last_used(), first);
    // The next minute's use is recorded.
    w.clock.advance(time::Duration::seconds(60));
    w.call_as(&caller, ids::IAM, "GetUser", json!({}));
    assert!(last_used().contains("19:04:00"), "{}", last_used());
}

#[test]
fn a_session_token_and_expiry_are_checked_on_every_use() {
    let w = World::new();
    let made = w.call(ids::STS, "GetSessionToken", json!({"DurationSeconds": 900}));
    let text = |k: &str| match made.get("Credentials").and_then(|c| c.get(k)) {
        Some(Value::Str(s)) => s.clone(),
        other => panic!("{k}: {other:?}"),
    };
    let (id, token) = (text("AccessKeyId"), text("SessionToken"));
    assert!(w.authenticates(&id, Some(&token)).is_ok());
    assert!(w.services.authenticate_cached(&id, Some(&token)).is_some());
    assert_eq!(
        w.authenticates(&id, Some("not-the-token")),
        Err("InvalidClientTokenId".into())
    );
    assert_eq!(
        w.authenticates(&id, None),
        Err("InvalidClientTokenId".into())
    );
    w.clock.advance(time::Duration::seconds(901));
    assert_eq!(
        w.authenticates(&id, Some(&token)),
        Err("ExpiredToken".into())
    );
}
