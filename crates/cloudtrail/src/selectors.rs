//! Event selectors: which records a trail delivers.
//!
//! Basic selectors choose read/write management events and S3 data events by
//! ARN prefix; advanced selectors match record fields (`eventCategory`,
//! `eventSource`, `eventName`, `readOnly`, `resources.type`, `resources.ARN`,
//! `errorCode`, `userIdentity.arn`, `eventType`) with `Equals`, `StartsWith`,
//! `EndsWith` and their negations. The two kinds are mutually exclusive; a trail
//! without selectors logs every management event and no data events.

use crate::error::CloudTrailError;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use trailguard_core::error::{Error, Result};
use trailguard_model::Value;

/// A trail's selectors, kept as the caller wrote them (validated).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub enum Selectors {
    #[default]
    Default,
    Basic(Vec<Json>),
    Advanced(Vec<Json>),
}

const FIELDS: &[&str] = &[
    "eventCategory",
    "eventSource",
    "eventName",
    "eventType",
    "readOnly",
    "resources.type",
    "resources.ARN",
    "errorCode",
    "userIdentity.arn",
    "sessionCredentialFromConsole",
    "vpcEndpointId",
];
const OPERATORS: &[&str] = &[
    "Equals",
    "StartsWith",
    "EndsWith",
    "NotEquals",
    "NotStartsWith",
    "NotEndsWith",
];

fn invalid(why: &str) -> Error {
    CloudTrailError::InvalidEventSelectors(why.to_string()).into()
}

/// Validates `PutEventSelectors`' input.
pub fn parse(basic: Option<&Json>, advanced: Option<&Json>) -> Result<Selectors> {
    let basic = basic.filter(|v| !v.is_null());
    let advanced = advanced.filter(|v| !v.is_null());
    match (basic, advanced) {
        (Some(_), Some(_)) => Err(CloudTrailError::InvalidParameterCombination(
            "You cannot apply basic and advanced event selectors to the same trail.".into(),
        )
        .into()),
        (None, None) => Err(CloudTrailError::InvalidParameterCombination(
            "Either EventSelectors or AdvancedEventSelectors is required.".into(),
        )
        .into()),
        (Some(b), None) => {
            let list = b
                .as_array()
                .ok_or_else(|| invalid("EventSelectors must be a list."))?;
            if list.is_empty() || list.len() > 5 {
                return Err(invalid("A trail has 1 to 5 event selectors."));
            }
            for s in list {
                let rw = s
                    .get("ReadWriteType")
                    .and_then(Json::as_str)
                    .unwrap_or("All");
                if !["ReadOnly", "WriteOnly", "All"].contains(&rw) {
                    return Err(invalid("ReadWriteType must be ReadOnly, WriteOnly or All."));
                }
                for r in s
                    .get("DataResources")
                    .and_then(Json::as_array)
                    .into_iter()
                    .flatten()
                {
                    let ty = r.get("Type").and_then(Json::as_str).unwrap_or_default();
                    if ![
                        "AWS::S3::Object",
                        "AWS::Lambda::Function",
                        "AWS::DynamoDB::Table",
                    ]
                    .contains(&ty)
                    {
                        return Err(invalid(&format!("Invalid data resource type: {ty}")));
                    }
                    for v in r
                        .get("Values")
                        .and_then(Json::as_array)
                        .into_iter()
                        .flatten()
                    {
                        let v = v.as_str().unwrap_or_default();
                        if ty == "AWS::S3::Object" && !v.starts_with("arn:aws:s3") {
                            return Err(invalid(&format!(
                                "Value {v} for DataResources.Values is invalid."
                            )));
                        }
                    }
                }
            }
            Ok(Selectors::Basic(list.clone()))
        }
        (None, Some(a)) => {
            let list = a
                .as_array()
                .ok_or_else(|| invalid("AdvancedEventSelectors must be a list."))?;
            if list.is_empty() {
                return Err(invalid("At least one advanced event selector is required."));
            }
            for s in list {
                let fields = s
                    .get("FieldSelectors")
                    .and_then(Json::as_array)
                    .ok_or_else(|| invalid("Each advanced event selector needs FieldSelectors."))?;
                let mut has_category = false;
                for f in fields {
                    let field = f.get("Field").and_then(Json::as_str).unwrap_or_default();
                    if !FIELDS.contains(&field) {
                        return Err(invalid(&format!("Invalid field: {field}")));
                    }
                    if field == "eventCategory" {
                        has_category = true;
                    }
                    let obj = f
                        .as_object()
                        .map(|m| m.keys().filter(|k| *k != "Field").count());
                    if obj == Some(0) {
                        return Err(invalid(&format!("Field {field} needs an operator.")));
                    }
                    for op in OPERATORS {
                        if f.get(*op).is_some()
                            && ["readOnly", "eventCategory", "resources.type"].contains(&field)
                            && *op != "Equals"
                        {
                            return Err(invalid(&format!("Only Equals is allowed for {field}.")));
                        }
                    }
                }
                if !has_category {
                    return Err(invalid(
                        "Each advanced event selector needs an eventCategory field selector.",
                    ));
                }
            }
            Ok(Selectors::Advanced(list.clone()))
        }
    }
}

impl Selectors {
    /// `GetEventSelectors`' answer (without the ARN).
    pub fn to_value(&self) -> Value {
        match self {
            Selectors::Default => Value::structure().with(
                "EventSelectors",
                Value::List(vec![Value::from_json(&serde_json::json!({
                    "ReadWriteType": "All",
                    "IncludeManagementEvents": true,
                    "DataResources": [],
                    "ExcludeManagementEventSources": [],
                }))]),
            ),
            Selectors::Basic(list) => Value::structure().with(
                "EventSelectors",
                Value::List(
                    list.iter()
                        .map(|s| {
                            let mut s = s.clone();
                            if let Some(m) = s.as_object_mut() {
                                m.entry("ReadWriteType").or_insert_with(|| "All".into());
                                m.entry("IncludeManagementEvents")
                                    .or_insert(Json::Bool(true));
                                m.entry("DataResources")
                                    .or_insert_with(|| Json::Array(vec![]));
                                m.entry("ExcludeManagementEventSources")
                                    .or_insert_with(|| Json::Array(vec![]));
                            }
                            Value::from_json(&s)
                        })
                        .collect(),
                ),
            ),
            Selectors::Advanced(list) => Value::structure().with(
                "AdvancedEventSelectors",
                Value::List(list.iter().map(Value::from_json).collect()),
            ),
        }
    }

    /// Whether the trail delivers this record.
    pub fn selects(&self, record: &Json) -> bool {
        let management = record
            .get("managementEvent")
            .and_then(Json::as_bool)
            .unwrap_or(true);
        let read_only = record
            .get("readOnly")
            .and_then(Json::as_bool)
            .unwrap_or(false);
        match self {
            Selectors::Default => management,
            Selectors::Basic(list) => list.iter().any(|s| {
                let rw = s
                    .get("ReadWriteType")
                    .and_then(Json::as_str)
                    .unwrap_or("All");
                let rw_ok = match rw {
                    "ReadOnly" => read_only,
                    "WriteOnly" => !read_only,
                    _ => true,
                };
                if !rw_ok {
                    return false;
                }
                if management {
                    let include = s
                        .get("IncludeManagementEvents")
                        .and_then(Json::as_bool)
                        .unwrap_or(true);
                    let source = record
                        .get("eventSource")
                        .and_then(Json::as_str)
                        .unwrap_or_default();
                    let excluded = s
                        .get("ExcludeManagementEventSources")
                        .and_then(Json::as_array)
                        .is_some_and(|e| e.iter().any(|x| x.as_str() == Some(source)));
                    include && !excluded
                } else {
                    let arns = resource_arns(record, "AWS::S3::Object");
                    s.get("DataResources")
                        .and_then(Json::as_array)
                        .is_some_and(|rs| {
                            rs.iter().any(|r| {
                                r.get("Type").and_then(Json::as_str) == Some("AWS::S3::Object")
                                    && r.get("Values").and_then(Json::as_array).is_some_and(|vs| {
                                        vs.iter().filter_map(Json::as_str).any(|v| {
                                            v == "arn:aws:s3"
                                                || v == "arn:aws:s3:::"
                                                || arns.iter().any(|a| a.starts_with(v))
                                        })
                                    })
                            })
                        })
                }
            }),
            Selectors::Advanced(list) => list.iter().any(|s| {
                s.get("FieldSelectors")
                    .and_then(Json::as_array)
                    .is_some_and(|fields| fields.iter().all(|f| field_matches(f, record)))
            }),
        }
    }
}

/// The ARNs of a record's resources of one type.
fn resource_arns(record: &Json, ty: &str) -> Vec<String> {
    record
        .get("resources")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
        .filter(|r| r.get("type").and_then(Json::as_str) == Some(ty))
        .filter_map(|r| r.get("ARN").and_then(Json::as_str).map(str::to_string))
        .collect()
}

fn field_values(field: &str, record: &Json) -> Vec<String> {
    let s = |v: Option<&Json>| v.and_then(Json::as_str).map(str::to_string);
    match field {
        "eventCategory" => {
            vec![s(record.get("eventCategory")).unwrap_or_else(|| "Management".into())]
        }
        "readOnly" => vec![
            record
                .get("readOnly")
                .and_then(Json::as_bool)
                .unwrap_or(false)
                .to_string(),
        ],
        "resources.type" => record
            .get("resources")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
            .filter_map(|r| s(r.get("type")))
            .collect(),
        "resources.ARN" => record
            .get("resources")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
            .filter_map(|r| s(r.get("ARN")))
            .collect(),
        "userIdentity.arn" => s(record.get("userIdentity").and_then(|u| u.get("arn")))
            .into_iter()
            .collect(),
        other => s(record.get(other)).into_iter().collect(),
    }
}

fn field_matches(selector: &Json, record: &Json) -> bool {
    let field = selector
        .get("Field")
        .and_then(Json::as_str)
        .unwrap_or_default();
    let values = field_values(field, record);
    let list = |op: &str| -> Vec<&str> {
        selector
            .get(op)
            .and_then(Json::as_array)
            .map(|a| a.iter().filter_map(Json::as_str).collect())
            .unwrap_or_default()
    };
    let any = |op: &str, test: &dyn Fn(&str, &str) -> bool| {
        let wanted = list(op);
        wanted.is_empty() || values.iter().any(|v| wanted.iter().any(|w| test(v, w)))
    };
    let none = |op: &str, test: &dyn Fn(&str, &str) -> bool| {
        let unwanted = list(op);
        !values.iter().any(|v| unwanted.iter().any(|w| test(v, w)))
    };
    any("Equals", &|v, w| v == w)
        && any("StartsWith", &|v, w| v.starts_with(w))
        && any("EndsWith", &|v, w| v.ends_with(w))
        && none("NotEquals", &|v, w| v == w)
        && none("NotStartsWith", &|v, w| v.starts_with(w))
        && none("NotEndsWith", &|v, w| v.ends_with(w))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;
    use serde_json::json;

    #[test]
    fn basic_and_advanced_selection() {
        let write = json!({"eventSource": "iam.amazonaws.com", "readOnly": false, "managementEvent": true, "eventCategory": "Management"});
        let read = json!({"eventSource": "iam.amazonaws.com", "readOnly": true, "managementEvent": true, "eventCategory": "Management"});
        let data = json!({"eventSource": "s3.amazonaws.com", "eventName": "PutObject", "readOnly": false, "managementEvent": false, "eventCategory": "Data",
            "resources": [{"type": "AWS::S3::Object", "ARN": "arn:aws:s3:::logs/a/b"}]});
        assert!(Selectors::Default.selects(&write) && !Selectors::Default.selects(&data));
        let wo = parse(Some(&json!([{"ReadWriteType": "WriteOnly"}])), None).unwrap();
        assert!(wo.selects(&write) && !wo.selects(&read) && !wo.selects(&data));
        let s3 = parse(Some(&json!([{"IncludeManagementEvents": false, "DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3:::logs/a/"]}]}])), None).unwrap();
        assert!(s3.selects(&data) && !s3.selects(&write));
        let adv = parse(
            None,
            Some(&json!([{"Name": "puts", "FieldSelectors": [
            {"Field": "eventCategory", "Equals": ["Data"]},
            {"Field": "resources.type", "Equals": ["AWS::S3::Object"]},
            {"Field": "eventName", "NotEquals": ["GetObject"]}]}])),
        )
        .unwrap();
        assert!(adv.selects(&data) && !adv.selects(&write));
        assert!(
            parse(
                None,
                Some(&json!([{"FieldSelectors": [{"Field": "eventName", "Equals": ["x"]}]}]))
            )
            .is_err()
        );
        assert!(parse(Some(&json!([])), Some(&json!([]))).is_err());
        assert!(parse(None, Some(&json!([{"FieldSelectors": [{"Field": "readOnly", "StartsWith": ["t"]}, {"Field": "eventCategory", "Equals": ["Management"]}]}]))).is_err());
    }
}
