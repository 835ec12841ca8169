//! Trail delivery under versioned settings, through `Services` with a fixed
//! clock: a change to a trail governs only the records after its own, and the
//! changing call's own record is delivered by the settings before it (or, if
//! those would not, by the settings it sets).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "test code"
)]

use base64::Engine as _;
use serde_json::{Value as Json, json};
use std::collections::BTreeSet;
use std::io::Read as _;
use std::sync::Arc;
use time::macros::datetime;
use trailguard_model::{Caller, FixedClock, RequestContext, SeqIds, ServiceId, Value};
use trailguard_services::ids;
use trailguard_services::{Accounts as _, Services};
use trailguard_services::{Config, TrailTiming as Timing};
use trailguard_store::{SqliteStore, Store};

const ACCOUNT: &str = "123456789012";
const BUCKET: &str = "trail-logs";

struct World {
    services: Services,
    store: Arc<SqliteStore>,
    root: Caller,
    calls: usize,
}

impl World {
    fn new() -> Self {
        let store = Arc::new(SqliteStore::in_memory().unwrap());
        let clock = Arc::new(FixedClock::new(datetime!(2026-11-23 19:03:04 UTC)));
        // Deliveries happen only when forced, or when a trail stops or is deleted.
        let services = trailguard_services::services_with(
            &Config {
                trail_timing: Timing {
                    log_interval: time::Duration::days(1),
                    digest_interval: time::Duration::days(1),
                },
                ..Config::default()
            },
            store.clone(),
            clock,
            Arc::new(SeqIds::default()),
        );
        services
            .bootstrap(Some(ACCOUNT), Some(("AKIAROOTROOTROOTROOT", "root-secret")))
            .unwrap();
        let root = services
            .authenticate("AKIAROOTROOTROOTROOT", None)
            .unwrap()
            .caller;
        let mut w = Self {
            services,
            store,
            root,
            calls: 0,
        };
        w.call(ids::S3, "CreateBucket", json!({"bucketName": BUCKET}));
        let policy = json!({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
            "Action": "s3:PutObject", "Resource": format!("arn:aws:s3:::{BUCKET}/*")}]});
        let body = base64::engine::general_purpose::STANDARD.encode(policy.to_string());
        w.call(
            ids::S3,
            "PutBucketPolicy",
            json!({"bucketName": BUCKET, "Body": body}),
        );
        w
    }

    fn call(&mut self, service: ServiceId, action: &str, params: Json) -> Value {
        self.calls += 1;
        let ctx = RequestContext {
            request_id: format!("req-{}", self.calls),
            source_ip: "192.0.2.10".into(),
            user_agent: "test".into(),
            region: "us-east-1".into(),
            received_at: datetime!(2026-11-23 19:03:04 UTC),
            secure_transport: true,
        };
        self.services
            .execute(service, action, &params, &self.root, &ctx)
            .unwrap_or_else(|e| panic!("{action}: {e:?}"))
    }

    /// The event id of the newest record.
    fn last_event(&self) -> String {
        let all = self.store.events_after(0, usize::MAX).unwrap();
        let record: Json = serde_json::from_str(&all.last().unwrap().record).unwrap();
        record["eventID"].as_str().unwrap().to_string()
    }

    /// Calls, and returns the event id of the call's record.
    fn act(&mut self, service: ServiceId, action: &str, params: Json) -> String {
        self.call(service, action, params);
        self.last_event()
    }

    /// The event ids in every log file delivered to the bucket, with repeats.
    fn delivered(&mut self) -> Vec<String> {
        let listed = self.call(
            ids::S3,
            "ListObjectsV2",
            json!({"bucketName": BUCKET, "prefix": "AWSLogs/"}),
        );
        let Some(Value::List(contents)) = listed.get("Contents").cloned() else {
            return Vec::new();
        };
        let mut ids = Vec::new();
        for item in contents {
            let Some(Value::Str(key)) = item.get("Key").cloned() else {
                panic!("no key in {item:?}")
            };
            if !key.contains("/CloudTrail/") {
                continue;
            }
            let object = self.call(
                ids::S3,
                "GetObject",
                json!({"bucketName": BUCKET, "key": key}),
            );
            let Some(Value::Blob(gz)) = object.get("Body").cloned() else {
                panic!("no body for {key}")
            };
            let mut text = String::new();
            flate2::read::GzDecoder::new(gz.as_slice())
                .read_to_string(&mut text)
                .unwrap();
            let doc: Json = serde_json::from_str(&text).unwrap();
            for r in doc["Records"].as_array().unwrap() {
                ids.push(r["eventID"].as_str().unwrap().to_string());
            }
        }
        ids
    }
}

fn user(w: &mut World, name: &str) -> String {
    w.act(ids::IAM, "CreateUser", json!({"UserName": name}))
}

#[test]
fn every_change_governs_only_the_records_after_its_own() {
    let mut w = World::new();
    w.call(
        ids::CLOUDTRAIL,
        "CreateTrail",
        json!({"Name": "audit", "S3BucketName": BUCKET}),
    );
    let mut owed = BTreeSet::new();
    let mut hidden = BTreeSet::new();
    owed.insert(w.act(ids::CLOUDTRAIL, "StartLogging", json!({"Name": "audit"})));
    owed.insert(user(&mut w, "before-stop"));
    owed.insert(w.act(ids::CLOUDTRAIL, "StopLogging", json!({"Name": "audit"})));
    hidden.insert(user(&mut w, "while-stopped"));
    owed.insert(w.act(ids::CLOUDTRAIL, "StartLogging", json!({"Name": "audit"})));
    owed.insert(user(&mut w, "after-start"));
    owed.insert(w.act(
        ids::CLOUDTRAIL,
        "PutEventSelectors",
        json!({"TrailName": "audit", "EventSelectors": [{"IncludeManagementEvents": false}]}),
    ));
    hidden.insert(user(&mut w, "while-excluded"));
    owed.insert(w.act(
        ids::CLOUDTRAIL,
        "PutEventSelectors",
        json!({"TrailName": "audit", "EventSelectors": [{"IncludeManagementEvents": true}]}),
    ));
    owed.insert(user(&mut w, "after-restore"));
    owed.insert(w.act(ids::CLOUDTRAIL, "DeleteTrail", json!({"Name": "audit"})));
    hidden.insert(user(&mut w, "after-delete"));

    // No delivery ran in between: one forced delivery settles it all.
    w.services
        .run_background(trailguard_core::Moment::Shutdown)
        .unwrap();
    let delivered = w.delivered();
    let set: BTreeSet<String> = delivered.iter().cloned().collect();
    assert_eq!(set.len(), delivered.len(), "a record was delivered twice");
    assert_eq!(set, owed);
    assert!(set.is_disjoint(&hidden));

    // The deleted trail's delivery state is gone: nothing more is delivered.
    user(&mut w, "later");
    w.services
        .run_background(trailguard_core::Moment::Shutdown)
        .unwrap();
    assert_eq!(w.delivered().len(), delivered.len());
}

/// The sequence number of the record with this event id.
fn seq_of(w: &World, event_id: &str) -> i64 {
    w.store
        .events_after(0, usize::MAX)
        .unwrap()
        .into_iter()
        .find(|e| e.record.contains(event_id))
        .unwrap()
        .seq
}

#[test]
fn a_trail_stored_before_settings_were_versioned_keeps_delivering_as_it_did() {
    let mut w = World::new();
    w.call(
        ids::CLOUDTRAIL,
        "CreateTrail",
        json!({"Name": "legacy", "S3BucketName": BUCKET}),
    );
    let start = w.act(ids::CLOUDTRAIL, "StartLogging", json!({"Name": "legacy"}));
    let before = user(&mut w, "before-stop");
    let stop = w.act(ids::CLOUDTRAIL, "StopLogging", json!({"Name": "legacy"}));
    let after = user(&mut w, "after-stop");
    // What the previous version left: no epochs, and a state stopping at StopLogging's record.
    let key = format!("{ACCOUNT}/us-east-1/legacy");
    let old_state = json!({"cursor": seq_of(&w, &start) - 1, "pending": {}, "chains": {},
        "digest_start": null, "stop_seq": seq_of(&w, &stop)});
    trailguard_store::transact(w.store.as_ref(), |tx| {
        for (k, _) in tx.scan("cloudtrail.epoch", &format!("{key}/"), None, usize::MAX)? {
            tx.delete("cloudtrail.epoch", &k)?;
        }
        tx.put(
            "cloudtrail.delivery",
            &key,
            old_state.to_string().as_bytes(),
        )
    })
    .unwrap();

    w.services
        .run_background(trailguard_core::Moment::Shutdown)
        .unwrap();
    let delivered: BTreeSet<String> = w.delivered().into_iter().collect();
    let expected: BTreeSet<String> = [start, before, stop].into_iter().collect();
    assert_eq!(delivered, expected);
    assert!(!delivered.contains(&after));
}
