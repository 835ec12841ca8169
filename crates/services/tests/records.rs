//! CloudTrail records as the services write them, per identity type, compared
//! with golden files (`tests/golden/*.json`; regenerate with `UPDATE_GOLDEN=1`).
//! Time and ids are injected, so the records are byte-for-byte stable.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "test code"
)]

use serde_json::{Value as Json, json};
use std::path::Path;
use std::sync::Arc;
use time::macros::datetime;
use trailguard_model::{Caller, FixedClock, RequestContext, SeqIds, ServiceId, Value};
use trailguard_services::ids;
use trailguard_services::{Accounts as _, Services};
use trailguard_store::{SqliteStore, Store};

const ACCOUNT: &str = "123456789012";

struct World {
    services: Services,
    store: Arc<SqliteStore>,
    clock: Arc<FixedClock>,
    calls: usize,
}

impl World {
    fn new() -> Self {
        let store = Arc::new(SqliteStore::in_memory().unwrap());
        let clock = Arc::new(FixedClock::new(datetime!(2026-11-23 19:03:04 UTC)));
        let services = trailguard_services::services(
            store.clone(),
            clock.clone(),
            Arc::new(SeqIds::default()),
        );
        services
            .bootstrap(Some(ACCOUNT), Some(("AKIAROOTROOTROOTROOT", "root-secret")))
            .unwrap();
        Self {
            services,
            store,
            clock,
            calls: 0,
        }
    }

    fn caller(&self, key: &str, token: Option<&str>) -> Caller {
        self.services.authenticate(key, token).unwrap().caller
    }

    fn call(
        &mut self,
        caller: &Caller,
        service: ServiceId,
        action: &str,
        params: Json,
    ) -> Result<Value, trailguard_model::ApiError> {
        self.calls += 1;
        let ctx = RequestContext {
            request_id: format!("req-{}", self.calls),
            source_ip: "192.0.2.10".into(),
            user_agent: "aws-cli/1.46.3 Python/3.11.7".into(),
            region: "us-east-1".into(),
            received_at: self.clock_now(),
            secure_transport: false,
        };
        self.services
            .execute(service, action, &params, caller, &ctx)
    }

    fn clock_now(&self) -> time::OffsetDateTime {
        use trailguard_model::Clock;
        self.clock.now()
    }

    fn last_record(&self) -> Json {
        let all = self.store.events_after(0, usize::MAX).unwrap();
        serde_json::from_str(&all.last().unwrap().record).unwrap()
    }
}

fn golden(name: &str, actual: &Json) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(format!("{name}.json"));
    let text = format!("{}\n", serde_json::to_string_pretty(actual).unwrap());
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &text).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("missing golden file {}", path.display()));
    assert_eq!(text, expected, "record differs from {}", path.display());
}

fn s(v: &Value, path: &[&str]) -> String {
    let mut cur = v;
    for p in path {
        cur = cur.get(p).unwrap();
    }
    match cur {
        Value::Str(s) => s.clone(),
        Value::Sensitive(inner) => match inner.as_ref() {
            Value::Str(s) => s.clone(),
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    }
}

#[test]
fn records_for_each_identity_type() {
    let mut w = World::new();
    let root = w.caller("AKIAROOTROOTROOTROOT", None);

    w.call(
        &root,
        ids::IAM,
        "CreateUser",
        json!({"UserName": "alice", "Tags": [{"Key": "team", "Value": "red"}]}),
    )
    .unwrap();
    golden("root-create-user", &w.last_record());

    let key = w
        .call(
            &root,
            ids::IAM,
            "CreateAccessKey",
            json!({"UserName": "alice"}),
        )
        .unwrap();
    let (key_id, secret) = (
        s(&key, &["AccessKey", "AccessKeyId"]),
        s(&key, &["AccessKey", "SecretAccessKey"]),
    );
    let rec = w.last_record();
    assert!(
        !rec.to_string().contains(&secret),
        "the secret must not reach the trail"
    );
    golden("root-create-access-key", &rec);

    w.call(
        &root,
        ids::IAM,
        "AttachUserPolicy",
        json!({"UserName": "alice", "PolicyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}),
    )
    .unwrap();
    let alice = w.caller(&key_id, None);
    w.call(&alice, ids::IAM, "GetUser", json!({"UserName": "alice"}))
        .unwrap();
    golden("iam-user-get-user", &w.last_record());

    let trust = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{ACCOUNT}:user/alice"}},"Action":"sts:AssumeRole"}}]}}"#
    );
    w.call(
        &root,
        ids::IAM,
        "CreateRole",
        json!({"RoleName": "deployer", "AssumeRolePolicyDocument": trust}),
    )
    .unwrap();
    golden("root-create-role", &w.last_record());

    let creds = w
        .call(&alice, ids::STS, "AssumeRole", json!({"RoleArn": format!("arn:aws:iam::{ACCOUNT}:role/deployer"), "RoleSessionName": "ci", "DurationSeconds": "900"}))
        .unwrap();
    let rec = w.last_record();
    let session_secret = s(&creds, &["Credentials", "SecretAccessKey"]);
    assert!(!rec.to_string().contains(&session_secret));
    golden("iam-user-assume-role", &rec);

    let session = w.caller(
        &s(&creds, &["Credentials", "AccessKeyId"]),
        Some(&s(&creds, &["Credentials", "SessionToken"])),
    );
    w.call(&session, ids::STS, "GetCallerIdentity", json!({}))
        .unwrap();
    golden("assumed-role-get-caller-identity", &w.last_record());

    // A denied call is recorded with AWS's error and message, and changes nothing.
    w.call(&root, ids::IAM, "CreateUser", json!({"UserName": "bob"}))
        .unwrap();
    let bob_key = w
        .call(
            &root,
            ids::IAM,
            "CreateAccessKey",
            json!({"UserName": "bob"}),
        )
        .unwrap();
    let bob = w.caller(&s(&bob_key, &["AccessKey", "AccessKeyId"]), None);
    let err = w
        .call(&bob, ids::IAM, "CreateUser", json!({"UserName": "mallory"}))
        .unwrap_err();
    assert_eq!(err.code, "AccessDenied");
    golden("iam-user-denied-create-user", &w.last_record());
    let missing = w
        .call(&root, ids::IAM, "GetUser", json!({"UserName": "mallory"}))
        .unwrap_err();
    assert_eq!(missing.code, "NoSuchEntity");

    // Every call made exactly one record, whatever its outcome (and the
    // bootstrap one, for the root key).
    assert_eq!(
        w.store.events_after(0, usize::MAX).unwrap().len(),
        w.calls + 1
    );

    // Session credentials stop working when they expire.
    w.clock.advance(time::Duration::seconds(901));
    let expired = w
        .services
        .authenticate(
            &s(&creds, &["Credentials", "AccessKeyId"]),
            Some(&s(&creds, &["Credentials", "SessionToken"])),
        )
        .unwrap_err();
    assert_eq!(expired.code, "ExpiredToken");
}

#[test]
fn a_failed_write_leaves_no_state_behind() {
    let mut w = World::new();
    let root = w.caller("AKIAROOTROOTROOTROOT", None);
    // The trust policy is malformed, so CreateRole fails after validation began.
    let err = w
        .call(
            &root,
            ids::IAM,
            "CreateRole",
            json!({"RoleName": "r", "AssumeRolePolicyDocument": "{\"Statement\":[]}"}),
        )
        .unwrap_err();
    assert_eq!(err.code, "MalformedPolicyDocument");
    let got = w
        .call(&root, ids::IAM, "GetRole", json!({"RoleName": "r"}))
        .unwrap_err();
    assert_eq!(got.code, "NoSuchEntity");
    let recs = w.store.events_after(0, usize::MAX).unwrap();
    // The bootstrap's CreateAccessKey, then the two calls.
    assert_eq!(recs.len(), 3);
    let first: Json = serde_json::from_str(&recs[1].record).unwrap();
    assert_eq!(first["errorCode"], "MalformedPolicyDocument");
    assert_eq!(first["responseElements"], Json::Null);
}

/// No operation runs without passing the authorization point: a user with no
/// policies is refused every operation except the three AWS allows to everyone
/// (STS's caller identity and session token, and AssumeRole, which its role's
/// trust policy decides), and each refusal is recorded.
#[test]
fn every_operation_passes_the_authorization_point() {
    let mut w = World::new();
    let root = w.caller("AKIAROOTROOTROOTROOT", None);
    w.call(&root, ids::IAM, "CreateUser", json!({"UserName": "nobody"}))
        .unwrap();
    let key = w
        .call(
            &root,
            ids::IAM,
            "CreateAccessKey",
            json!({"UserName": "nobody"}),
        )
        .unwrap();
    let nobody = w.caller(&s(&key, &["AccessKey", "AccessKeyId"]), None);
    let mut checked = 0;
    for (service, op) in trailguard_services::all_operations() {
        if matches!(
            op.name,
            "GetCallerIdentity" | "GetSessionToken" | "AssumeRole"
        ) {
            continue;
        }
        let before = w.store.events_after(0, usize::MAX).unwrap().len();
        let err = w.call(&nobody, service, op.name, json!({})).unwrap_err();
        assert_eq!(err.code, "AccessDenied", "{} answered {err:?}", op.name);
        let action = format!(
            "{}:{}",
            service.signing_name(),
            op.action.unwrap_or(op.name)
        );
        assert!(
            err.message.contains(&format!(
                "is not authorized to perform: {action} on resource: "
            )),
            "{}",
            err.message
        );
        let recs = w.store.events_after(0, usize::MAX).unwrap();
        assert_eq!(recs.len(), before + 1);
        let rec: Json = serde_json::from_str(&recs.last().unwrap().record).unwrap();
        assert_eq!(rec["errorCode"], "AccessDenied");
        assert_eq!(rec["eventName"], op.name);
        checked += 1;
    }
    assert_eq!(checked, trailguard_services::all_operations().count() - 3);
}

/// The first start records the root key it makes, as IAM itself; later starts
/// never bring back a deleted key and refuse a key the store never made.
#[test]
fn bootstrap_records_the_root_key_and_never_resurrects_it() {
    let mut w = World::new();
    let created = w.last_record();
    golden("bootstrap_create_access_key", &created);
    assert_eq!(created["eventName"], "CreateAccessKey");
    assert_eq!(created["userIdentity"]["type"], "AWSService");
    assert_eq!(
        created["responseElements"]["accessKey"]["accessKeyId"],
        "AKIAROOTROOTROOTROOT"
    );
    assert!(!created.to_string().contains("root-secret"));

    // A restart with the same configuration changes nothing and records nothing.
    let again = w
        .services
        .bootstrap(Some(ACCOUNT), Some(("AKIAROOTROOTROOTROOT", "root-secret")))
        .unwrap();
    assert!(again.generated.is_none() && again.notes.is_empty());
    assert_eq!(w.store.events_after(0, usize::MAX).unwrap().len(), 1);

    let root = w.caller("AKIAROOTROOTROOTROOT", None);
    w.call(
        &root,
        ids::IAM,
        "DeleteAccessKey",
        json!({"AccessKeyId": "AKIAROOTROOTROOTROOT"}),
    )
    .unwrap();
    let after = w
        .services
        .bootstrap(Some(ACCOUNT), Some(("AKIAROOTROOTROOTROOT", "root-secret")))
        .unwrap();
    assert!(
        after.notes.iter().any(|n| n.contains("was deleted")),
        "{:?}",
        after.notes
    );
    assert!(
        w.services
            .authenticate("AKIAROOTROOTROOTROOT", None)
            .is_err()
    );
    assert_eq!(w.store.events_after(0, usize::MAX).unwrap().len(), 2);

    // An account document from an earlier version, secret included, loses
    // the secret on the next start.
    trailguard_store::transact(w.store.as_ref(), |tx| {
        tx.put(
            "account",
            "default",
            br#"{"account_id":"123456789012","access_key_id":"AKIAROOTROOTROOTROOT","secret_access_key":"root-secret"}"#,
        )
    })
    .unwrap();
    w.services
        .bootstrap(Some(ACCOUNT), Some(("AKIAROOTROOTROOTROOT", "root-secret")))
        .unwrap();
    let doc = trailguard_store::transact(w.store.as_ref(), |tx| tx.get("account", "default"))
        .unwrap()
        .unwrap();
    assert!(!String::from_utf8(doc).unwrap().contains("root-secret"));
    assert!(
        w.services
            .authenticate("AKIAROOTROOTROOTROOT", None)
            .is_err()
    );

    // A key the data directory never made is refused, not added.
    let refused = w
        .services
        .bootstrap(Some(ACCOUNT), Some(("AKIANEWNEWNEWNEWNEW1", "s")))
        .unwrap_err();
    assert!(refused.to_string().contains("never created"), "{refused}");
    assert!(
        w.services
            .authenticate("AKIANEWNEWNEWNEWNEW1", None)
            .is_err()
    );
    // So is another account.
    let refused = w
        .services
        .bootstrap(Some("210987654321"), None)
        .unwrap_err();
    assert!(
        refused.to_string().contains("default account is"),
        "{refused}"
    );
    assert_eq!(w.store.events_after(0, usize::MAX).unwrap().len(), 2);
}
