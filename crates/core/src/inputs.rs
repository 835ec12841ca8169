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

/// Every operation's input members, keyed `signing-name:Operation`.
pub fn table() -> &'static HashMap<String, Inputs> {
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
