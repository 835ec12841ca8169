//! The input members each served operation's AWS model defines, as data
//! (`data/input-members.json`, generated from botocore's service models by
//! `scripts/input-members.py`), and the one filter [`retain_defined`] that
//! `Services::execute` applies before anything else: a parameter the operation's
//! model does not define never reaches authorization, the handler or the record.
//!
//! AWS's query and JSON services ignore members they do not know (it is how an
//! SDK newer than the service keeps working), so they are dropped, not refused.
//! S3's parameters are the names trailguard's own S3 decoder gives (`bucketName`,
//! `key`, as CloudTrail records them); the script maps them to the model's members
//! in one table, so S3 goes through the same filter. Only top-level members are
//! checked; nested shapes are read by the handlers' own accessors.

use serde::Deserialize;
use serde_json::{Map, Value as Json};
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::OnceLock;
use trailguard_model::ServiceId;

const DATA: &str = include_str!("../data/input-members.json");

/// One top-level input member.
#[derive(Debug, Clone, Deserialize)]
pub struct Member {
    /// Its name in the decoded parameter tree (what handlers read).
    pub key: String,
    /// Its name in the AWS model.
    pub member: String,
    /// Where restJson1 and S3 bind it (`uri`, `querystring`, `header`, `headers`,
    /// `payload`, or an S3 request URI's `literal`); absent for body members.
    #[serde(default)]
    pub location: Option<String>,
    /// The model's shape type (`string`, `list`, `structure`, ...).
    #[serde(rename = "type")]
    pub shape_type: String,
    #[serde(default)]
    pub required: bool,
}

/// An operation's input members.
#[derive(Debug, Clone, Deserialize)]
pub struct Inputs {
    /// botocore's protocol name (`query`, `json`, `rest-json`, `rest-xml`).
    pub protocol: String,
    pub members: Vec<Member>,
}

impl Inputs {
    /// Whether the model defines a member under this tree name.
    pub fn defines(&self, key: &str) -> bool {
        self.members.iter().any(|m| m.key == key)
    }
}

#[derive(Deserialize)]
struct File {
    operations: HashMap<String, Inputs>,
}

fn table() -> &'static HashMap<String, Inputs> {
    static TABLE: OnceLock<HashMap<String, Inputs>> = OnceLock::new();
    TABLE.get_or_init(|| match serde_json::from_str::<File>(DATA) {
        Ok(f) => f.operations,
        Err(e) => {
            // A test parses the file; a broken build still fails closed.
            tracing::error!(error = %e, "data/input-members.json does not parse");
            HashMap::new()
        }
    })
}

/// The input members of an operation, if the data file lists it.
pub fn inputs(service: ServiceId, operation: &str) -> Option<&'static Inputs> {
    table().get(&format!("{}:{operation}", service.signing_name()))
}

/// The parameters with every top-level member the operation's model does not
/// define removed (borrowed unchanged when there is none). An operation missing
/// from the data file keeps nothing: it fails closed, and a test keeps every
/// served operation listed.
pub fn retain_defined<'a>(service: ServiceId, operation: &str, params: &'a Json) -> Cow<'a, Json> {
    let model = inputs(service, operation);
    let defined = |k: &str| model.is_some_and(|m| m.defines(k));
    match params {
        Json::Object(map) if map.keys().all(|k| defined(k)) => Cow::Borrowed(params),
        Json::Object(map) => Cow::Owned(Json::Object(
            map.iter()
                .filter(|(k, _)| defined(k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        )),
        // A body that is not an object has no members.
        _ => Cow::Owned(Json::Object(Map::new())),
    }
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic,
        reason = "tests"
    )]
    use super::*;
    use serde_json::json;

    #[test]
    fn the_data_file_parses_and_lists_every_served_operation() {
        let file: File = serde_json::from_str(DATA).expect("data/input-members.json parses");
        let missing: Vec<String> = crate::all_operations()
            .map(|(s, op)| format!("{}:{}", s.signing_name(), op.name))
            .filter(|k| !file.operations.contains_key(k))
            .collect();
        assert!(
            missing.is_empty(),
            "served operations missing from data/input-members.json (run scripts/input-members.py): {missing:?}"
        );
    }

    #[test]
    fn members_the_model_does_not_define_are_dropped() {
        let p = json!({"TrailName": "t", "Name": "other", "EventSelectors": []});
        let kept = retain_defined(ServiceId::CloudTrail, "PutEventSelectors", &p);
        assert_eq!(*kept, json!({"TrailName": "t", "EventSelectors": []}));
        let p = json!({"detectorId": "d", "name": "f", "filterName": "other"});
        let kept = retain_defined(ServiceId::GuardDuty, "CreateFilter", &p);
        assert_eq!(*kept, json!({"detectorId": "d", "name": "f"}));
        // Nothing to drop: the tree is passed on as is.
        let p = json!({"UserName": "u"});
        assert!(matches!(
            retain_defined(ServiceId::Iam, "GetUser", &p),
            Cow::Borrowed(_)
        ));
        // S3's decoder names map to the model's members.
        let p = json!({"bucketName": "b", "listType": "2", "prefix": "p", "key": "k"});
        let kept = retain_defined(ServiceId::S3, "ListObjectsV2", &p);
        assert_eq!(
            *kept,
            json!({"bucketName": "b", "listType": "2", "prefix": "p"})
        );
        assert_eq!(
            *retain_defined(ServiceId::Iam, "NoSuchOperation", &p),
            json!({})
        );
        assert_eq!(
            *retain_defined(ServiceId::CloudTrail, "GetTrail", &json!([1])),
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
        use crate::env::Env;
        use crate::params::Params;
        use trailguard_model::{Caller, Principal, RequestContext, SeqIds};
        use trailguard_store::{MemBlobs, SqliteStore, transact};

        let store = SqliteStore::in_memory().unwrap();
        let blobs = MemBlobs::default();
        let ids = SeqIds::default();
        let catalogue = crate::catalogue::Catalogue::builtin();
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
        for (service, op) in crate::all_operations() {
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
                let prepared = crate::prepare::Prepared::default();
                let mut env = Env::new(
                    tx,
                    &blobs,
                    now,
                    &ids,
                    &caller,
                    &ctx,
                    "123456789012".into(),
                    &catalogue,
                    &prepared,
                );
                let a = (op.resource)(&mut env, Params(&plain)).map_err(|e| e.to_string());
                let b = (op.resource)(&mut env, Params(&decoyed)).map_err(|e| e.to_string());
                Ok::<_, crate::error::Error>((a, b))
            })
            .unwrap();
            assert_eq!(resources.1, resources.0, "{}", op.name);
            checked += 1;
        }
        assert_eq!(checked, crate::all_operations().count());
    }
}
