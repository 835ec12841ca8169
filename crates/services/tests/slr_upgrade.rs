//! Stores written before roles carried their service-linked flag: the start
//! marks the roles that are exactly what a linked service makes, and nothing
//! else, so upgrading neither orphans GuardDuty's, Lex's or Redshift's role nor
//! adopts a planted look-alike.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "test code"
)]

use serde_json::{Value as Json, json};
use std::sync::Arc;
use time::macros::datetime;
use trailguard_core::identity::{Entity, Kind, key};
use trailguard_model::{ApiError, FixedClock, RequestContext, SeqIds, Value};
use trailguard_services::ids;
use trailguard_services::{Accounts as _, Services};
use trailguard_store::{SqliteStore, StoreError, transact};

const ACCOUNT: &str = "123456789012";
const ROOT_KEY: (&str, &str) = ("AKIAROOTROOTROOTROOT", "root-secret");
const GUARDDUTY: &str = "guardduty.amazonaws.com";
const REDSHIFT: &str = "redshift.amazonaws.com";

/// A start of the server on `store`; `ids` go on across starts, as a real
/// server's random ids never repeat.
fn services(store: &Arc<SqliteStore>, ids: &Arc<SeqIds>) -> Services {
    let clock = Arc::new(FixedClock::new(datetime!(2026-11-23 19:03:04 UTC)));
    let s = trailguard_services::services(store.clone(), clock, ids.clone());
    s.bootstrap(Some(ACCOUNT), Some(ROOT_KEY)).unwrap();
    s
}

fn call(s: &Services, action: &str, params: Json) -> Result<Value, ApiError> {
    let root = s.authenticate(ROOT_KEY.0, None).unwrap().caller;
    let ctx = RequestContext {
        request_id: "req".into(),
        source_ip: "192.0.2.10".into(),
        user_agent: "test".into(),
        region: "us-east-1".into(),
        received_at: datetime!(2026-11-23 19:03:04 UTC),
        secure_transport: true,
    };
    s.execute(ids::IAM, action, &params, &root, &ctx)
}

/// Rewrites a stored role as an earlier version kept it: without the flag.
fn as_stored_before_the_flag(store: &SqliteStore, name: &str, change: impl FnOnce(&mut Entity)) {
    transact(store, |tx| {
        let k = key(ACCOUNT, name);
        let mut role: Entity =
            serde_json::from_slice(&tx.get(Kind::Role.ns(), &k)?.unwrap()).unwrap();
        role.linked_service = None;
        change(&mut role);
        tx.put(Kind::Role.ns(), &k, &serde_json::to_vec(&role).unwrap())?;
        // The upgrade has not run on this store yet.
        tx.delete("store.upgrade", "service-linked-role-flag")?;
        Ok::<_, StoreError>(())
    })
    .unwrap();
}

fn error_code(r: Result<Value, ApiError>) -> String {
    r.err().map(|e| e.code.to_string()).unwrap_or_default()
}

#[test]
fn roles_exactly_as_a_linked_service_makes_them_are_marked_and_look_alikes_are_not() {
    let store = Arc::new(SqliteStore::in_memory().unwrap());
    let ids = Arc::new(SeqIds::default());
    let s = services(&store, &ids);
    for service in [GUARDDUTY, REDSHIFT] {
        call(
            &s,
            "CreateServiceLinkedRole",
            json!({"AWSServiceName": service}),
        )
        .unwrap();
    }
    as_stored_before_the_flag(&store, "AWSServiceRoleForAmazonGuardDuty", |_| {});
    // A look-alike with one more policy than the service's own.
    as_stored_before_the_flag(&store, "AWSServiceRoleForRedshift", |role| {
        role.attached
            .push("arn:aws:iam::aws:policy/AdministratorAccess".into());
    });
    let s = services(&store, &ids);
    // Marked: the service-linked role refuses changes again.
    assert_eq!(
        error_code(call(
            &s,
            "AttachRolePolicy",
            json!({"RoleName": "AWSServiceRoleForAmazonGuardDuty",
                   "PolicyArn": "arn:aws:iam::aws:policy/AdministratorAccess"})
        )),
        "UnmodifiableEntity"
    );
    // Not marked: it stays an ordinary role its owner can detach from and delete.
    call(
        &s,
        "DetachRolePolicy",
        json!({"RoleName": "AWSServiceRoleForRedshift",
               "PolicyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}),
    )
    .unwrap();
    // The marker keeps later starts from looking again: the look-alike, now of
    // exactly the service's shape, stays ordinary.
    let s = services(&store, &ids);
    call(
        &s,
        "DetachRolePolicy",
        json!({"RoleName": "AWSServiceRoleForRedshift",
               "PolicyArn": "arn:aws:iam::aws:policy/aws-service-role/AmazonRedshiftServiceLinkedRolePolicy"}),
    )
    .unwrap();
}
