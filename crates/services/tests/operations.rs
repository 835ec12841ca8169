//! The operation tables of every service, checked together: names unique and
//! AWS-shaped, every operation listed in the input-member data, and resource
//! functions that read only members their model defines.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "tests"
)]

use serde_json::{Map, Value as Json, json};
use std::borrow::Cow;
use trailguard_core::Registry;
use trailguard_core::inputs::{inputs, retain_defined, table};
use trailguard_services::ids;
use trailguard_services::{Config, all_operations, modules};

/// Only STS's three credential calls decide in their handler (GetCallerIdentity
/// is always allowed, AssumeRole is decided on the trust policy,
/// GetSessionToken refuses session credentials); every other operation is
/// decided by the core on its resources before its handler runs.
#[test]
fn only_sts_credential_calls_authorize_in_their_handler() {
    let own: Vec<String> = all_operations()
        .filter(|(_, op)| op.authorized_in_handler)
        .map(|(s, op)| format!("{s}:{}", op.name))
        .collect();
    assert_eq!(
        own,
        [
            "sts:GetCallerIdentity",
            "sts:AssumeRole",
            "sts:GetSessionToken"
        ]
    );
}

#[test]
fn every_operation_is_unique_and_named_like_aws() {
    let registry = Registry::new(modules(&Config::default()));
    for (service, table) in registry.modules().iter().map(|m| (m.def.id, m.operations)) {
        let mut names: Vec<&str> = table.iter().map(|o| o.name).collect();
        let n = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), n, "duplicate operation in {service:?}");
        for op in table {
            assert!(
                op.name
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_uppercase()),
                "{}",
                op.name
            );
            assert_eq!(
                registry.operation(service, op.name).map(|o| o.name),
                Some(op.name)
            );
            // Reads are never recorded with a response, except STS's credential
            // calls and Polly's speech (its record shows the characters billed).
            if op.read_only && op.record_response {
                assert!(
                    service == ids::STS || op.name == "SynthesizeSpeech",
                    "{}",
                    op.name
                );
            }
        }
    }
}

#[test]
fn the_data_file_parses_and_lists_every_served_operation() {
    let missing: Vec<String> = all_operations()
        .map(|(s, op)| format!("{}:{}", s.signing_name(), op.name))
        .filter(|k| !table().contains_key(k))
        .collect();
    assert!(
        missing.is_empty(),
        "served operations missing from data/input-members.json (run scripts/input-members.py): {missing:?}"
    );
}

#[test]
fn members_the_model_does_not_define_are_dropped() {
    let p = json!({"TrailName": "t", "Name": "other", "EventSelectors": []});
    let kept = retain_defined(ids::CLOUDTRAIL, "PutEventSelectors", &p);
    assert_eq!(*kept, json!({"TrailName": "t", "EventSelectors": []}));
    let p = json!({"detectorId": "d", "name": "f", "filterName": "other"});
    let kept = retain_defined(ids::GUARDDUTY, "CreateFilter", &p);
    assert_eq!(*kept, json!({"detectorId": "d", "name": "f"}));
    // Nothing to drop: the tree is passed on as is.
    let p = json!({"UserName": "u"});
    assert!(matches!(
        retain_defined(ids::IAM, "GetUser", &p),
        Cow::Borrowed(_)
    ));
    // S3's decoder names map to the model's members.
    let p = json!({"bucketName": "b", "listType": "2", "prefix": "p", "key": "k"});
    let kept = retain_defined(ids::S3, "ListObjectsV2", &p);
    assert_eq!(
        *kept,
        json!({"bucketName": "b", "listType": "2", "prefix": "p"})
    );
    assert_eq!(*retain_defined(ids::IAM, "NoSuchOperation", &p), json!({}));
    assert_eq!(
        *retain_defined(ids::CLOUDTRAIL, "GetTrail", &json!([1])),
        json!({})
    );
}

/// Each operation's resource function reads only members its model defines:
/// called directly, without the filter, on the required members plus every
/// member other operations define, it computes the same resource as on the
/// required members alone. (`Services::execute` drops those members anyway;
/// this keeps a fallback such as `Name`-else-`TrailName` from coming back.)
#[test]
fn resource_functions_read_no_member_their_model_does_not_define() {
    use trailguard_core::env::Env;
    use trailguard_core::params::Params;
    use trailguard_model::{Caller, Principal, RequestContext, SeqIds};
    use trailguard_store::{MemBlobs, SqliteStore, transact};

    let store = SqliteStore::in_memory().unwrap();
    let blobs = MemBlobs::default();
    let ids = SeqIds::default();
    let catalogue = trailguard_core::catalogue::Catalogue::builtin();
    let registry = Registry::new(modules(&Config::default()));
    let caller = Caller::long_term(
        Principal::Root {
            account_id: "123456789012".into(),
        },
        "AKIAROOTROOTROOTROOT",
    );
    let now = time::OffsetDateTime::UNIX_EPOCH;
    let ctx = RequestContext {
        request_id: "r".into(),
        source_ip: "192.0.2.1".into(),
        user_agent: "t".into(),
        region: "us-east-1".into(),
        received_at: now,
        secure_transport: false,
    };
    let every_key: std::collections::BTreeSet<&str> = table()
        .values()
        .flat_map(|m| m.members.iter().map(|m| m.key.as_str()))
        .collect();
    let mut checked = 0;
    for (service, op) in all_operations() {
        let model = inputs(service, op.name).unwrap();
        let mut plain = Map::new();
        for m in model.members.iter().filter(|m| m.required) {
            let v = match m.shape_type.as_str() {
                "string" | "blob" => json!(format!("victim{}", m.key)),
                "list" => json!([format!("victim{}", m.key)]),
                "integer" | "long" => json!(1),
                "boolean" => json!(true),
                _ => json!({}),
            };
            plain.insert(m.key.clone(), v);
        }
        let mut decoyed = plain.clone();
        for k in every_key.iter().filter(|k| !model.defines(k)) {
            decoyed.insert((*k).to_string(), json!(format!("decoy{k}")));
        }
        let (plain, decoyed) = (Json::Object(plain), Json::Object(decoyed));
        let resources = transact(&store, |tx| {
            let prepared = trailguard_core::prepare::Prepared::default();
            let mut env = Env::new(
                tx,
                &blobs,
                now,
                &ids,
                &caller,
                &ctx,
                "123456789012".into(),
                &catalogue,
                &registry,
                &prepared,
            );
            let a = (op.resource)(&mut env, Params(&plain)).map_err(|e| e.to_string());
            let b = (op.resource)(&mut env, Params(&decoyed)).map_err(|e| e.to_string());
            Ok::<_, trailguard_core::error::Error>((a, b))
        })
        .unwrap();
        assert_eq!(resources.1, resources.0, "{}", op.name);
        checked += 1;
    }
    assert_eq!(checked, all_operations().count());
}
