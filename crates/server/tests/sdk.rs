//! The AWS SDK for Rust against the real server, started in-process on port 0.
//!
//! These prove the wire compatibility the SDK is strictest about (awsQuery result
//! element order, timestamps, error codes) and that every call leaves its
//! CloudTrail record in the store.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "test code"
)]

use aws_sdk_iam::config::{BehaviorVersion, Credentials, Region};
use std::sync::Arc;
use tokio::net::TcpListener;
use trailguard_model::{RandomIds, SystemClock};
use trailguard_server::Server;
use trailguard_services::Accounts as _;
use trailguard_store::{Durability, SqliteStore, Store};

const ACCOUNT: &str = "123456789012";
const KEY: &str = "AKIAIOSFODNN7EXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

struct Running {
    endpoint: String,
    store: Arc<SqliteStore>,
    _dir: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

async fn start() -> Running {
    let dir = tempfile::tempdir().unwrap();
    let store =
        Arc::new(SqliteStore::open(&dir.path().join("trailguard.db"), Durability::Normal).unwrap());
    let services = Arc::new(trailguard_services::services(
        store.clone(),
        Arc::new(SystemClock),
        Arc::new(RandomIds),
    ));
    services
        .bootstrap(Some(ACCOUNT), Some((KEY, SECRET)))
        .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = Server {
        services,
        clock: Arc::new(SystemClock),
        ids: Arc::new(RandomIds),
        default_region: "us-east-1".into(),
        webhooks: Vec::new(),
        limits: trailguard_server::Limits::default(),
    };
    tokio::spawn(trailguard_server::run(server, listener, async {
        let _ = rx.await;
    }));
    Running {
        endpoint,
        store,
        _dir: dir,
        stop: Some(tx),
    }
}

fn creds(key: &str, secret: &str, token: Option<&str>) -> Credentials {
    Credentials::new(key, secret, token.map(str::to_string), None, "test")
}

fn iam(r: &Running, c: Credentials) -> aws_sdk_iam::Client {
    let conf = aws_sdk_iam::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(&r.endpoint)
        .credentials_provider(c)
        .build();
    aws_sdk_iam::Client::from_conf(conf)
}

fn sts(r: &Running, c: Credentials) -> aws_sdk_sts::Client {
    let conf = aws_sdk_sts::Config::builder()
        .behavior_version(aws_sdk_sts::config::BehaviorVersion::latest())
        .region(aws_sdk_sts::config::Region::new("us-east-1"))
        .endpoint_url(&r.endpoint)
        .credentials_provider(c)
        .build();
    aws_sdk_sts::Client::from_conf(conf)
}

/// The records of the test's calls (after the first start's own record of the
/// root key's creation).
fn records(r: &Running) -> Vec<serde_json::Value> {
    let all: Vec<serde_json::Value> = r
        .store
        .events_after(0, 100_000)
        .unwrap()
        .into_iter()
        .map(|e| serde_json::from_str(&e.record).unwrap())
        .collect();
    assert_eq!(all[0]["eventName"], "CreateAccessKey");
    assert_eq!(all[0]["sourceIPAddress"], "AWS Internal");
    all[1..].to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn iam_lifecycle_pagination_and_errors() {
    let r = start().await;
    let client = iam(&r, creds(KEY, SECRET, None));
    for i in 0..5 {
        let out = client
            .create_user()
            .user_name(format!("sdk-user-{i}"))
            .path("/team/")
            .send()
            .await
            .unwrap();
        let user = out.user.unwrap();
        assert!(user.user_id.starts_with("AIDA") && user.user_id.len() == 21);
        assert_eq!(
            user.arn,
            format!("arn:aws:iam::{ACCOUNT}:user/team/sdk-user-{i}")
        );
    }
    // Pages of two, followed by marker, yield every user exactly once.
    let mut names = Vec::new();
    let mut marker = None;
    loop {
        let page = client
            .list_users()
            .max_items(2)
            .set_marker(marker.clone())
            .send()
            .await
            .unwrap();
        names.extend(page.users.into_iter().map(|u| u.user_name));
        if !page.is_truncated {
            break;
        }
        marker = page.marker;
        assert!(marker.is_some());
    }
    assert_eq!(
        names,
        (0..5).map(|i| format!("sdk-user-{i}")).collect::<Vec<_>>()
    );

    let err = client
        .get_user()
        .user_name("nobody")
        .send()
        .await
        .unwrap_err();
    let service_err = err.into_service_error();
    assert!(service_err.is_no_such_entity_exception(), "{service_err:?}");

    let err = client
        .create_user()
        .user_name("sdk-user-0")
        .send()
        .await
        .unwrap_err();
    assert!(
        err.into_service_error()
            .is_entity_already_exists_exception()
    );

    let err = client
        .create_policy()
        .policy_name("bad")
        .policy_document("not json")
        .send()
        .await
        .unwrap_err();
    assert!(
        err.into_service_error()
            .is_malformed_policy_document_exception()
    );

    // Every call above is in the trail, the failures with their error codes.
    let recs = records(&r);
    let by_name = |n: &str| recs.iter().filter(|e| e["eventName"] == n).count();
    assert_eq!(by_name("CreateUser"), 6);
    assert_eq!(by_name("ListUsers"), 3);
    assert!(
        recs.iter()
            .any(|e| e["eventName"] == "GetUser" && e["errorCode"] == "NoSuchEntity")
    );
    assert!(
        recs.iter().any(
            |e| e["eventName"] == "CreatePolicy" && e["errorCode"] == "MalformedPolicyDocument"
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assume_role_credentials_authenticate_as_the_session() {
    let r = start().await;
    let admin = iam(&r, creds(KEY, SECRET, None));
    admin.create_user().user_name("alice").send().await.unwrap();
    admin
        .attach_user_policy()
        .user_name("alice")
        .policy_arn("arn:aws:iam::aws:policy/AdministratorAccess")
        .send()
        .await
        .unwrap();
    let key = admin
        .create_access_key()
        .user_name("alice")
        .send()
        .await
        .unwrap()
        .access_key
        .unwrap();
    assert!(key.access_key_id.starts_with("AKIA"));
    assert_eq!(key.secret_access_key.len(), 40);
    let trust = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{ACCOUNT}:user/alice"}},"Action":"sts:AssumeRole"}}]}}"#
    );
    let role = admin
        .create_role()
        .role_name("deployer")
        .assume_role_policy_document(trust)
        .send()
        .await
        .unwrap()
        .role
        .unwrap();

    let alice = sts(&r, creds(&key.access_key_id, &key.secret_access_key, None));
    let me = alice.get_caller_identity().send().await.unwrap();
    assert_eq!(
        me.arn(),
        Some(format!("arn:aws:iam::{ACCOUNT}:user/alice").as_str())
    );

    let assumed = alice
        .assume_role()
        .role_arn(&role.arn)
        .role_session_name("ci-run")
        .duration_seconds(900)
        .send()
        .await
        .unwrap();
    let c = assumed.credentials.unwrap();
    assert!(c.access_key_id.starts_with("ASIA"));
    let session = sts(
        &r,
        creds(
            &c.access_key_id,
            &c.secret_access_key,
            Some(&c.session_token),
        ),
    );
    let me = session.get_caller_identity().send().await.unwrap();
    assert_eq!(
        me.arn(),
        Some(format!("arn:aws:sts::{ACCOUNT}:assumed-role/deployer/ci-run").as_str())
    );
    assert_eq!(
        me.user_id(),
        Some(format!("{}:ci-run", role.role_id).as_str())
    );

    // A tampered token is refused.
    let forged = sts(
        &r,
        creds(&c.access_key_id, &c.secret_access_key, Some("forged")),
    );
    let err = forged.get_caller_identity().send().await.unwrap_err();
    assert_eq!(
        err.into_service_error().meta().code(),
        Some("InvalidClientTokenId")
    );

    // The role remembers its last use, and the trail holds the session's identity.
    let got = admin
        .get_role()
        .role_name("deployer")
        .send()
        .await
        .unwrap()
        .role
        .unwrap();
    assert!(got.role_last_used.unwrap().last_used_date.is_some());
    let recs = records(&r);
    let last = recs
        .iter()
        .rev()
        .find(|e| e["eventName"] == "GetCallerIdentity" && e.get("errorCode").is_none())
        .unwrap();
    assert_eq!(last["userIdentity"]["type"], "AssumedRole");
    assert_eq!(
        last["userIdentity"]["sessionContext"]["sessionIssuer"]["arn"],
        role.arn.as_str()
    );
    assert!(
        !serde_json::to_string(&recs)
            .unwrap()
            .contains(&c.secret_access_key)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_secret_and_unknown_key_are_refused() {
    let r = start().await;
    let wrong = sts(&r, creds(KEY, "not-the-secret", None));
    let err = wrong.get_caller_identity().send().await.unwrap_err();
    assert_eq!(
        err.into_service_error().meta().code(),
        Some("SignatureDoesNotMatch")
    );
    let unknown = sts(&r, creds("AKIAUNKNOWNKEY000000", SECRET, None));
    let err = unknown.get_caller_identity().send().await.unwrap_err();
    assert_eq!(
        err.into_service_error().meta().code(),
        Some("InvalidClientTokenId")
    );
    // Refused signatures leave no record: there is no identity to record.
    assert!(records(&r).is_empty());
}
