//! Regional resources answer only in their region, as AWS's do: an S3 call on
//! a bucket signed for another region is `AuthorizationHeaderMalformed` naming
//! the bucket's region, and a change to a trail from outside its home region is
//! `InvalidHomeRegionException`; reads of a multi-region trail work anywhere.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code"
)]

use base64::Engine as _;
use serde_json::{Value as Json, json};
use std::sync::Arc;
use time::macros::datetime;
use trailguard_model::{ApiError, Caller, FixedClock, RequestContext, SeqIds, ServiceId, Value};
use trailguard_services::ids;
use trailguard_services::{Accounts as _, Services};
use trailguard_store::SqliteStore;

const ACCOUNT: &str = "123456789012";
const EAST: &str = "us-east-1";
const WEST: &str = "eu-west-1";

struct World {
    services: Services,
    root: Caller,
}

impl World {
    fn new() -> Self {
        let store = Arc::new(SqliteStore::in_memory().unwrap());
        let clock = Arc::new(FixedClock::new(datetime!(2026-12-07 16:00:00 UTC)));
        let services = trailguard_services::services(store, clock, Arc::new(SeqIds::default()));
        services
            .bootstrap(Some(ACCOUNT), Some(("AKIAROOTROOTROOTROOT", "root-secret")))
            .unwrap();
        let root = services
            .authenticate("AKIAROOTROOTROOTROOT", None)
            .unwrap()
            .caller;
        Self { services, root }
    }

    fn try_call(
        &self,
        region: &str,
        service: ServiceId,
        action: &str,
        params: &Json,
    ) -> Result<Value, ApiError> {
        let ctx = RequestContext {
            request_id: "req".into(),
            source_ip: "192.0.2.10".into(),
            user_agent: "test".into(),
            region: region.into(),
            received_at: datetime!(2026-12-07 16:00:00 UTC),
            secure_transport: true,
        };
        self.services
            .execute(service, action, params, &self.root, &ctx)
    }

    fn call(&self, region: &str, service: ServiceId, action: &str, params: &Json) -> Value {
        self.try_call(region, service, action, params)
            .unwrap_or_else(|e| panic!("{action} in {region}: {e:?}"))
    }

    fn refused(&self, region: &str, service: ServiceId, action: &str, params: &Json) -> ApiError {
        match self.try_call(region, service, action, params) {
            Ok(_) => panic!("{action} in {region} was served"),
            Err(e) => e,
        }
    }

    /// A us-east-1 bucket CloudTrail may write to.
    fn trail_bucket(&self, name: &str) {
        self.call(EAST, ids::S3, "CreateBucket", &json!({"bucketName": name}));
        let policy = json!({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
            "Action": "s3:PutObject", "Resource": format!("arn:aws:s3:::{name}/*")}]});
        let body = base64::engine::general_purpose::STANDARD.encode(policy.to_string());
        self.call(
            EAST,
            ids::S3,
            "PutBucketPolicy",
            &json!({"bucketName": name, "Body": body}),
        );
    }
}

#[test]
fn s3_calls_on_a_bucket_are_served_only_in_its_region() {
    let w = World::new();
    w.trail_bucket("east-bucket");
    let body = base64::engine::general_purpose::STANDARD.encode("x");
    let put = json!({"bucketName": "east-bucket", "key": "k", "Body": body});
    let e = w.refused(WEST, ids::S3, "PutObject", &put);
    assert_eq!(e.code, "AuthorizationHeaderMalformed");
    assert_eq!(e.status, 400);
    assert_eq!(
        e.message,
        "The authorization header is malformed; the region 'eu-west-1' is wrong; expecting 'us-east-1'"
    );
    assert_eq!(e.extra, vec![("Region", EAST.to_string())]);
    for (action, params) in [
        ("GetBucketPolicy", json!({"bucketName": "east-bucket"})),
        ("DeleteBucketPolicy", json!({"bucketName": "east-bucket"})),
        ("ListObjectsV2", json!({"bucketName": "east-bucket"})),
        ("DeleteBucket", json!({"bucketName": "east-bucket"})),
        (
            "GetObject",
            json!({"bucketName": "east-bucket", "key": "k"}),
        ),
    ] {
        let e = w.refused(WEST, ids::S3, action, &params);
        assert_eq!(e.code, "AuthorizationHeaderMalformed", "{action}");
    }
    // Nothing was written; from the bucket's region the same put works.
    let list = json!({"bucketName": "east-bucket"});
    let listing = w.call(EAST, ids::S3, "ListObjectsV2", &list);
    assert_eq!(listing.get("KeyCount"), Some(&Value::Int(0)));
    w.call(EAST, ids::S3, "PutObject", &put);
    // A missing bucket is NoSuchBucket from any region; ListBuckets is global.
    let missing = json!({"bucketName": "no-such-bucket"});
    assert_eq!(
        w.refused(WEST, ids::S3, "ListObjectsV2", &missing).code,
        "NoSuchBucket"
    );
    w.call(WEST, ids::S3, "ListBuckets", &json!({}));
}

#[test]
fn create_bucket_outside_us_east_1_needs_the_regions_constraint() {
    let w = World::new();
    let e = w.refused(
        WEST,
        ids::S3,
        "CreateBucket",
        &json!({"bucketName": "west-bucket"}),
    );
    assert_eq!(e.code, "IllegalLocationConstraintException");
    let other = json!({"bucketName": "west-bucket",
        "CreateBucketConfiguration": {"LocationConstraint": "us-west-2"}});
    let e = w.refused(WEST, ids::S3, "CreateBucket", &other);
    assert_eq!(e.code, "IllegalLocationConstraintException");
    let own = json!({"bucketName": "west-bucket",
        "CreateBucketConfiguration": {"LocationConstraint": WEST}});
    w.call(WEST, ids::S3, "CreateBucket", &own);
    let away = json!({"bucketName": "away-bucket",
        "CreateBucketConfiguration": {"LocationConstraint": WEST}});
    w.call(EAST, ids::S3, "CreateBucket", &away);
}

#[test]
fn trails_change_only_from_their_home_region() {
    let w = World::new();
    w.trail_bucket("trail-logs");
    for (name, multi) in [("single", false), ("multi", true)] {
        w.call(
            EAST,
            ids::CLOUDTRAIL,
            "CreateTrail",
            &json!({"Name": name, "S3BucketName": "trail-logs", "IsMultiRegionTrail": multi}),
        );
        w.call(
            EAST,
            ids::CLOUDTRAIL,
            "StartLogging",
            &json!({"Name": name}),
        );
        let arn = format!("arn:aws:cloudtrail:{EAST}:{ACCOUNT}:trail/{name}");
        for (action, params) in [
            ("StopLogging", json!({"Name": arn})),
            ("StartLogging", json!({"Name": arn})),
            (
                "UpdateTrail",
                json!({"Name": arn, "EnableLogFileValidation": true}),
            ),
            (
                "PutEventSelectors",
                json!({"TrailName": arn, "EventSelectors": [{"ReadWriteType": "ReadOnly"}]}),
            ),
            (
                "AddTags",
                json!({"ResourceId": arn, "TagsList": [{"Key": "k", "Value": "v"}]}),
            ),
            (
                "RemoveTags",
                json!({"ResourceId": arn, "TagsList": [{"Key": "k"}]}),
            ),
            ("DeleteTrail", json!({"Name": arn})),
        ] {
            let e = w.refused(WEST, ids::CLOUDTRAIL, action, &params);
            assert_eq!(e.code, "InvalidHomeRegionException", "{action} on {name}");
            assert_eq!(e.status, 400);
        }
        let status = w.call(
            EAST,
            ids::CLOUDTRAIL,
            "GetTrailStatus",
            &json!({"Name": name}),
        );
        assert_eq!(status.get("IsLogging"), Some(&Value::Bool(true)), "{name}");
        if multi {
            // Its shadow trail in eu-west-1 reads.
            w.call(
                WEST,
                ids::CLOUDTRAIL,
                "GetTrailStatus",
                &json!({"Name": arn}),
            );
            w.call(WEST, ids::CLOUDTRAIL, "GetTrail", &json!({"Name": arn}));
        }
        w.call(EAST, ids::CLOUDTRAIL, "StopLogging", &json!({"Name": arn}));
        w.call(EAST, ids::CLOUDTRAIL, "DeleteTrail", &json!({"Name": arn}));
    }
}
