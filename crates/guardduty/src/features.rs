//! A detector's protection plans: `features` (the current API) and
//! `dataSources` (the deprecated one), kept as one set of feature states so
//! either spelling reads back through both.
//!
//! The foundational sources (`CLOUD_TRAIL`, `DNS_LOGS`, `FLOW_LOGS`) are always
//! on and cannot be configured. A new detector starts with `S3_DATA_EVENTS`
//! enabled (S3 Protection is on by default for a new detector, API or console)
//! and every other plan disabled until asked for. A request may configure the
//! plans one way or the other, not both. Pure: the caller supplies the clock.

use crate::error::GuardDutyError;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use std::collections::BTreeMap;
use time::OffsetDateTime;
use trailguard_core::error::{Error, Result};
use trailguard_model::Value;

/// Plans a request may configure (`DetectorFeature` in the botocore the tests pin).
const CONFIGURABLE: &[&str] = &[
    "S3_DATA_EVENTS",
    "EKS_AUDIT_LOGS",
    "EBS_MALWARE_PROTECTION",
    "RDS_LOGIN_EVENTS",
    "EKS_RUNTIME_MONITORING",
    "LAMBDA_NETWORK_LOGS",
    "RUNTIME_MONITORING",
    "AI_PROTECTION",
    "AI_ANALYST",
];
/// Always enabled; reported first, as GuardDuty reports them.
const FOUNDATIONAL: &[&str] = &["CLOUD_TRAIL", "DNS_LOGS", "FLOW_LOGS"];
/// Additional configurations and the plans that take them.
const ADDITIONAL: &[(&str, &[&str])] = &[
    (
        "EKS_ADDON_MANAGEMENT",
        &["EKS_RUNTIME_MONITORING", "RUNTIME_MONITORING"],
    ),
    ("ECS_FARGATE_AGENT_MANAGEMENT", &["RUNTIME_MONITORING"]),
    ("EC2_AGENT_MANAGEMENT", &["RUNTIME_MONITORING"]),
    // Paired with RDS Protection by its name; AWS's documentation does not say.
    ("RDS_DATA_RISK", &["RDS_LOGIN_EVENTS"]),
];

/// One on/off switch and when it last changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Switch {
    pub enabled: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub updated: OffsetDateTime,
}

/// Sets `slot` (made when absent) to `enabled`, stamping `now` only on a change.
fn switch_to(slot: Option<&mut Switch>, enabled: bool, now: OffsetDateTime) -> Option<Switch> {
    match slot {
        Some(s) if s.enabled == enabled => None,
        Some(s) => {
            *s = Switch {
                enabled,
                updated: now,
            };
            None
        }
        None => Some(Switch {
            enabled,
            updated: now,
        }),
    }
}

/// A configurable plan's state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Feature {
    #[serde(flatten)]
    pub switch: Switch,
    #[serde(default)]
    pub additional: BTreeMap<String, Switch>,
}

/// Every configurable plan's state, by name.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Features(pub BTreeMap<String, Feature>);

fn bad(message: &str) -> Error {
    GuardDutyError::BadRequest(format!("The request is rejected because {message}")).into()
}

fn status(v: &Json, what: &str) -> Result<bool> {
    match v.get("status").and_then(Json::as_str) {
        Some("ENABLED") => Ok(true),
        Some("DISABLED") => Ok(false),
        Some(other) => Err(bad(&format!(
            "the status '{other}' of {what} is not ENABLED or DISABLED."
        ))),
        None => Err(bad(&format!("{what} has no status."))),
    }
}

fn flag(v: &Json, path: &[&str], what: &str) -> Result<Option<bool>> {
    let Some(found) = path.iter().try_fold(v, |v, k| v.get(*k)) else {
        return Ok(None);
    };
    found
        .as_bool()
        .map(Some)
        .ok_or_else(|| bad(&format!("{what} must be a boolean.")))
}

impl Features {
    /// A new detector's plans.
    pub fn new(now: OffsetDateTime) -> Self {
        let mut map = BTreeMap::new();
        for name in CONFIGURABLE {
            let switch = Switch {
                enabled: *name == "S3_DATA_EVENTS",
                updated: now,
            };
            map.insert(
                (*name).to_string(),
                Feature {
                    switch,
                    additional: BTreeMap::new(),
                },
            );
        }
        Self(map)
    }

    /// Whether a plan is on (foundational sources always are).
    pub fn enabled(&self, name: &str) -> bool {
        FOUNDATIONAL.contains(&name) || self.0.get(name).is_some_and(|f| f.switch.enabled)
    }

    fn set(&mut self, name: &str, enabled: bool, now: OffsetDateTime) -> &mut Feature {
        let f = self.0.entry(name.to_string()).or_insert_with(|| Feature {
            switch: Switch {
                enabled,
                updated: now,
            },
            additional: BTreeMap::new(),
        });
        switch_to(Some(&mut f.switch), enabled, now);
        f
    }

    /// Applies a request's `features` or `dataSources` (CreateDetector and
    /// UpdateDetector). Validates everything before changing anything.
    pub fn apply(
        &mut self,
        features: Option<&Json>,
        data_sources: Option<&Json>,
        now: OffsetDateTime,
    ) -> Result<()> {
        let features = features.filter(|v| !v.is_null());
        let data_sources = data_sources.filter(|v| !v.is_null());
        if features.is_some() && data_sources.is_some() {
            return Err(bad(
                "features and dataSources cannot be configured in the same request; use features.",
            ));
        }
        let mut next = self.clone();
        if let Some(list) = features {
            let list = list
                .as_array()
                .ok_or_else(|| bad("features must be a list."))?;
            for item in list {
                let name = item
                    .get("name")
                    .and_then(Json::as_str)
                    .ok_or_else(|| bad("a feature has no name."))?;
                if !CONFIGURABLE.contains(&name) {
                    return Err(bad(&format!(
                        "the feature '{name}' is not one of {}.",
                        CONFIGURABLE.join(", ")
                    )));
                }
                let on = status(item, &format!("the feature {name}"))?;
                let extra = match item.get("additionalConfiguration") {
                    None | Some(Json::Null) => Vec::new(),
                    Some(Json::Array(a)) => a.clone(),
                    Some(_) => return Err(bad("additionalConfiguration must be a list.")),
                };
                let mut wanted = Vec::new();
                for a in &extra {
                    let extra_name = a
                        .get("name")
                        .and_then(Json::as_str)
                        .ok_or_else(|| bad("an additionalConfiguration has no name."))?;
                    let fits = ADDITIONAL
                        .iter()
                        .any(|(n, plans)| *n == extra_name && plans.contains(&name));
                    if !fits {
                        return Err(bad(&format!(
                            "the additional configuration '{extra_name}' does not apply to the feature {name}."
                        )));
                    }
                    wanted.push((
                        extra_name.to_string(),
                        status(a, &format!("the additional configuration {extra_name}"))?,
                    ));
                }
                let f = next.set(name, on, now);
                for (n, on) in wanted {
                    if let Some(new) = switch_to(f.additional.get_mut(&n), on, now) {
                        f.additional.insert(n, new);
                    }
                }
            }
        }
        if let Some(ds) = data_sources {
            if !ds.is_object() {
                return Err(bad("dataSources must be a structure."));
            }
            let s3 = flag(ds, &["s3Logs", "enable"], "s3Logs.enable")?;
            let eks = flag(
                ds,
                &["kubernetes", "auditLogs", "enable"],
                "auditLogs.enable",
            )?;
            let ebs = flag(
                ds,
                &[
                    "malwareProtection",
                    "scanEc2InstanceWithFindings",
                    "ebsVolumes",
                ],
                "ebsVolumes",
            )?;
            for (name, on) in [
                ("S3_DATA_EVENTS", s3),
                ("EKS_AUDIT_LOGS", eks),
                ("EBS_MALWARE_PROTECTION", ebs),
            ] {
                if let Some(on) = on {
                    next.set(name, on, now);
                }
            }
        }
        *self = next;
        Ok(())
    }

    /// GetDetector's `features`: the foundational sources, then every plan.
    pub fn to_value(&self, created: OffsetDateTime) -> Value {
        let word = |on: bool| if on { "ENABLED" } else { "DISABLED" };
        let mut out: Vec<Value> = FOUNDATIONAL
            .iter()
            .map(|n| {
                Value::structure()
                    .with("name", *n)
                    .with("status", "ENABLED")
                    .with("updatedAt", Value::Time(created))
            })
            .collect();
        for (name, f) in &self.0 {
            let mut v = Value::structure()
                .with("name", name.as_str())
                .with("status", word(f.switch.enabled))
                .with("updatedAt", Value::Time(f.switch.updated));
            if !f.additional.is_empty() {
                let extra = f
                    .additional
                    .iter()
                    .map(|(n, s)| {
                        Value::structure()
                            .with("name", n.as_str())
                            .with("status", word(s.enabled))
                            .with("updatedAt", Value::Time(s.updated))
                    })
                    .collect();
                v = v.with("additionalConfiguration", Value::List(extra));
            }
            out.push(v);
        }
        Value::List(out)
    }

    /// GetDetector's deprecated `dataSources`, read from the same states.
    pub fn data_sources(&self) -> Value {
        let st =
            |on: bool| Value::structure().with("status", if on { "ENABLED" } else { "DISABLED" });
        Value::structure()
            .with("cloudTrail", st(true))
            .with("dnsLogs", st(true))
            .with("flowLogs", st(true))
            .with("s3Logs", st(self.enabled("S3_DATA_EVENTS")))
            .with(
                "kubernetes",
                Value::structure().with("auditLogs", st(self.enabled("EKS_AUDIT_LOGS"))),
            )
            .with(
                "malwareProtection",
                Value::structure().with(
                    "scanEc2InstanceWithFindings",
                    Value::structure()
                        .with("ebsVolumes", st(self.enabled("EBS_MALWARE_PROTECTION"))),
                ),
            )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn t(s: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_700_000_000 + s).unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }

    #[test]
    fn defaults_and_both_spellings_agree() {
        let mut f = Features::new(t(0));
        assert!(f.enabled("S3_DATA_EVENTS") && f.enabled("CLOUD_TRAIL"));
        assert!(!f.enabled("EKS_AUDIT_LOGS"));
        f.apply(None, Some(&json!({"kubernetes": {"auditLogs": {"enable": true}}, "s3Logs": {"enable": false}})), t(5))
            .unwrap();
        assert!(f.enabled("EKS_AUDIT_LOGS") && !f.enabled("S3_DATA_EVENTS"));
        assert_eq!(f.0["EKS_AUDIT_LOGS"].switch.updated, t(5));
        // Unchanged plans keep their time.
        assert_eq!(f.0["RDS_LOGIN_EVENTS"].switch.updated, t(0));
        f.apply(Some(&json!([{"name": "RUNTIME_MONITORING", "status": "ENABLED", "additionalConfiguration": [{"name": "ECS_FARGATE_AGENT_MANAGEMENT", "status": "ENABLED"}]}])), None, t(9))
            .unwrap();
        assert!(f.0["RUNTIME_MONITORING"].additional["ECS_FARGATE_AGENT_MANAGEMENT"].enabled);
    }

    #[test]
    fn bad_requests_change_nothing() {
        let mut f = Features::new(t(0));
        let before = f.clone();
        for (features, ds) in [
            (
                Some(json!([{"name": "S3_DATA_EVENTS", "status": "DISABLED"}])),
                Some(json!({"s3Logs": {"enable": true}})),
            ),
            (
                Some(
                    json!([{"name": "EKS_AUDIT_LOGS", "status": "DISABLED"}, {"name": "CLOUD_TRAIL", "status": "DISABLED"}]),
                ),
                None,
            ),
            (
                Some(json!([{"name": "S3_DATA_EVENTS", "status": "ON"}])),
                None,
            ),
            (
                Some(
                    json!([{"name": "S3_DATA_EVENTS", "status": "ENABLED", "additionalConfiguration": [{"name": "EKS_ADDON_MANAGEMENT", "status": "ENABLED"}]}]),
                ),
                None,
            ),
            (None, Some(json!({"s3Logs": {"enable": "yes"}}))),
        ] {
            assert!(f.apply(features.as_ref(), ds.as_ref(), t(1)).is_err());
            assert_eq!(f, before);
        }
    }

    fn any_request() -> impl proptest::strategy::Strategy<Value = Json> {
        use proptest::prelude::*;
        let name = prop::sample::select(vec![
            "S3_DATA_EVENTS",
            "EKS_AUDIT_LOGS",
            "RUNTIME_MONITORING",
            "CLOUD_TRAIL",
            "bogus",
        ]);
        let status = prop::sample::select(vec!["ENABLED", "DISABLED", "on"]);
        let extra = prop::collection::vec(
            (
                prop::sample::select(vec!["EKS_ADDON_MANAGEMENT", "EC2_AGENT_MANAGEMENT", "x"]),
                status.clone(),
            )
                .prop_map(|(n, s)| json!({"name": n, "status": s})),
            0..3,
        );
        prop::collection::vec(
            (name, status, prop::option::of(extra)).prop_map(|(n, s, e)| match e {
                Some(e) => json!({"name": n, "status": s, "additionalConfiguration": e}),
                None => json!({"name": n, "status": s}),
            }),
            0..4,
        )
        .prop_map(Json::Array)
    }

    proptest::proptest! {
        #[test]
        fn a_request_applies_whole_or_not_at_all(req in any_request(), flag in proptest::option::of(proptest::bool::ANY)) {
            let mut f = Features::new(t(0));
            let before = f.clone();
            let ds = flag.map(|b| json!({"s3Logs": {"enable": b}}));
            match f.apply(Some(&req), ds.as_ref(), t(1)) {
                Err(_) => proptest::prop_assert_eq!(&f, &before),
                Ok(()) => {
                    proptest::prop_assert!(ds.is_none());
                    // The last mention of a plan is its state.
                    let items: Vec<&Json> = req.as_array().into_iter().flatten().collect();
                    for item in &items {
                        let name = item["name"].as_str().unwrap_or_default();
                        let last = items.iter().rev().find(|i| i["name"] == name);
                        let wanted = last.is_some_and(|i| i["status"] == "ENABLED");
                        proptest::prop_assert_eq!(f.enabled(name), wanted);
                    }
                }
            }
        }
    }
}
