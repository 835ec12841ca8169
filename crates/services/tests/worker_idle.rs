//! The worker's background jobs do work in proportion to what changed: a job
//! whose starting namespace held nothing stays idle (the worker skips it
//! without a transaction) until a commit writes that namespace, and wakes
//! for that and nothing else.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code"
)]

mod common;

use common::World;
use serde_json::json;
use trailguard_core::Moment;
use trailguard_services::ids;

/// What the worker would see.
trait Worker {
    /// The names of the jobs, and the outboxes, that are not idle.
    fn busy(&self) -> Vec<&'static str>;
    /// One worker run: every job that is not idle, then the outboxes.
    fn tick(&self);
}

impl Worker for World {
    fn busy(&self) -> Vec<&'static str> {
        let registry = self.services.registry();
        let mut busy: Vec<&'static str> = registry
            .background()
            .filter(|j| !j.idle(&self.services))
            .map(|j| j.name())
            .collect();
        if registry.outboxes().any(|o| !o.idle(&self.services)) {
            busy.push("outbox");
        }
        busy
    }

    fn tick(&self) {
        let registry = self.services.registry();
        for job in registry.background() {
            if !job.idle(&self.services) {
                job.run(&self.services, Moment::Tick).unwrap();
            }
        }
        for outbox in registry.outboxes() {
            outbox.due(&self.services, 10).unwrap();
        }
    }
}

#[test]
fn jobs_sleep_until_a_commit_writes_what_they_start_from() {
    let w = World::new();
    // Nothing is known before a first look.
    assert_eq!(
        w.busy(),
        [
            "service-linked role deletion tasks",
            "finding summaries",
            "detection",
            "finding export",
            "trail delivery",
            "outbox"
        ]
    );
    w.tick();
    assert!(w.busy().is_empty(), "{:?}", w.busy());

    // Calls that give no job anything wake none.
    w.call(ids::IAM, "CreateUser", json!({"UserName": "alice"}));
    w.call(ids::IAM, "GetUser", json!({"UserName": "alice"}));
    w.call(ids::S3, "CreateBucket", json!({"bucketName": "logs"}));
    assert!(w.busy().is_empty(), "{:?}", w.busy());

    // A detector wakes detection and export, which stay awake while it exists.
    w.call(ids::GUARDDUTY, "CreateDetector", json!({"enable": true}));
    assert_eq!(w.busy(), ["detection", "finding export"]);
    w.tick();
    // (The outbox may now hold the findings detection made of the root's calls.)
    let busy = w.busy();
    assert_eq!(busy.get(..2), Some(&["detection", "finding export"][..]));
    assert!(!busy.contains(&"trail delivery"), "{busy:?}");

    // A trail wakes delivery.
    let policy = json!({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
        "Action": "s3:PutObject", "Resource": "arn:aws:s3:::logs/*"}]});
    w.call(
        ids::S3,
        "PutBucketPolicy",
        json!({"bucketName": "logs", "Body": base64_of(&policy.to_string())}),
    );
    w.call(
        ids::CLOUDTRAIL,
        "CreateTrail",
        json!({"Name": "main", "S3BucketName": "logs"}),
    );
    w.call(ids::CLOUDTRAIL, "StartLogging", json!({"Name": "main"}));
    assert!(w.busy().contains(&"trail delivery"), "{:?}", w.busy());
    assert!(!w.busy().contains(&"service-linked role deletion tasks"));
}

#[test]
fn a_deletion_task_wakes_its_job_until_it_is_done() {
    let w = World::new();
    w.tick();
    w.call(
        ids::IAM,
        "CreateServiceLinkedRole",
        json!({"AWSServiceName": "lex.amazonaws.com"}),
    );
    assert!(w.busy().is_empty(), "{:?}", w.busy());
    w.call(
        ids::IAM,
        "DeleteServiceLinkedRole",
        json!({"RoleName": "AWSServiceRoleForLexBots"}),
    );
    assert_eq!(w.busy(), ["service-linked role deletion tasks"]);
    // The task finishes (Lex has no bots using the role), and the job sleeps
    // again once a run has seen nothing pending.
    for _ in 0..3 {
        w.tick();
    }
    assert!(w.busy().is_empty(), "{:?}", w.busy());
}

fn base64_of(text: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(text)
}
