//! Events for the rules' tests: a realistic record with what the test changes.

use crate::candidate::Candidate;
use crate::cloudtrail::Record;
use crate::engine::{CloudTrailRule, Cx, Engine, NoFacts};
use crate::intel::Intel;
use serde_json::{Value as Json, json};

/// A successful IAM user's call, with `changes` merged in (a `null` removes a field).
pub fn event(changes: Json) -> String {
    let mut base = json!({
        "eventVersion": "1.09",
        "userIdentity": {
            "type": "IAMUser",
            "principalId": "AIDAEXAMPLEUSER",
            "arn": "arn:aws:iam::111122223333:user/alice",
            "accountId": "111122223333",
            "accessKeyId": "AKIAEXAMPLEKEY",
            "userName": "alice"
        },
        "eventTime": "2026-12-01T10:00:00Z",
        "eventSource": "iam.amazonaws.com",
        "eventName": "ListUsers",
        "awsRegion": "us-east-1",
        "sourceIPAddress": "198.51.100.7",
        "userAgent": "aws-cli/2.15.0 Python/3.11 Linux/6.1",
        "requestParameters": null,
        "responseElements": null,
        "requestID": "r-1",
        "eventID": "e-1",
        "readOnly": true,
        "eventType": "AwsApiCall",
        "managementEvent": true,
        "recipientAccountId": "111122223333",
        "eventCategory": "Management"
    });
    merge(&mut base, changes);
    base.to_string()
}

fn merge(base: &mut Json, changes: Json) {
    match (base, changes) {
        (Json::Object(b), Json::Object(c)) => {
            for (k, v) in c {
                if v.is_null() {
                    b.remove(&k);
                } else if let Some(slot) = b.get_mut(&k).filter(|s| s.is_object() && v.is_object())
                {
                    merge(slot, v);
                } else {
                    b.insert(k, v);
                }
            }
        }
        (b, c) => *b = c,
    }
}

/// The types one rule raises for an event, through the engine (so the
/// engine's service and trusted-address filters apply).
pub fn raised(rule: impl CloudTrailRule + 'static, text: &str, intel: &Intel) -> Vec<Candidate> {
    let engine = Engine::new(vec![Box::new(rule)]);
    let r = Record::parse(text).expect("test events parse");
    let mut out = Vec::new();
    let mut facts = NoFacts;
    let mut cx = Cx {
        intel,
        facts: &mut facts,
        origin: None,
        seen: None,
    };
    engine.check(&r, &mut cx, &mut out);
    out
}

/// Just the type names.
pub fn types(rule: impl CloudTrailRule + 'static, text: &str, intel: &Intel) -> Vec<String> {
    raised(rule, text, intel)
        .into_iter()
        .map(|c| c.finding_type.name.clone())
        .collect()
}
