//! What a rule reports: a candidate finding, with the events behind it. The
//! GuardDuty service turns candidates into findings (aggregation, filters,
//! publishing); `scan` aggregates them in memory. Neither cares which rule,
//! built in or Sigma, made one.

use crate::catalogue::{FindingType, fill};
use serde_json::{Value as Json, json};
use std::sync::Arc;
use time::OffsetDateTime;

/// Where an event was read from: set by `scan` (index into its file table,
/// byte offset and line of the record); the server's events have none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Origin {
    pub file: u32,
    pub offset: u64,
    pub line: u64,
}

/// One event behind a candidate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRef {
    pub event_id: String,
    pub origin: Option<Origin>,
}

/// Which rule made a candidate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleRef {
    /// A built-in rule, by its file's name.
    Builtin(&'static str),
    /// A Sigma rule: its id and title.
    Sigma { id: String, title: String },
}

/// A candidate finding.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub finding_type: Arc<FindingType>,
    pub rule: RuleRef,
    /// Identifies "the same activity": repeats update one finding.
    pub aggregation_key: String,
    /// The account and region of the activity (the record's
    /// `recipientAccountId` and `awsRegion`).
    pub account: String,
    pub region: String,
    /// GuardDuty's `resource` section (camelCase, as stored).
    pub resource: Json,
    /// GuardDuty's `service.action` section.
    pub action: Json,
    /// GuardDuty's `service.evidence`, when threat intelligence named it.
    pub evidence: Option<Json>,
    /// Extra facts for `service.additionalInfo` (an object).
    pub additional: Json,
    pub events: Vec<EventRef>,
    pub event_time: OffsetDateTime,
    /// Values for the type's title and description `{placeholders}`.
    pub fill: Vec<(&'static str, String)>,
}

impl Candidate {
    /// The ids of the events behind it.
    pub fn event_ids(&self) -> Vec<String> {
        self.events.iter().map(|e| e.event_id.clone()).collect()
    }
}

/// Where a finding is kept: what GuardDuty's `Finding` says of its detector.
#[derive(Debug, Clone, Copy)]
pub struct Home<'h> {
    pub account: &'h str,
    pub region: &'h str,
    pub detector_id: &'h str,
    /// The detector's ARN.
    pub detector_arn: &'h str,
}

impl Candidate {
    /// A new finding in GuardDuty's schema (botocore's `Finding`, camelCase
    /// as the wire carries it) for this candidate's first occurrence.
    pub fn document(&self, id: &str, home: Home<'_>, now: &str, seen: &str) -> Json {
        let mut info = self.additional.clone();
        if !self.events.is_empty()
            && let Some(map) = info.as_object_mut()
        {
            map.insert("cloudTrailEventIds".into(), json!(self.event_ids()));
        }
        let mut service = json!({
            "action": self.action,
            "archived": false,
            "count": 1,
            "detectorId": home.detector_id,
            "eventFirstSeen": seen,
            "eventLastSeen": seen,
            "resourceRole": self.finding_type.resource_role,
            "serviceName": "guardduty",
            "additionalInfo": {"value": info.to_string(), "type": "default"},
        });
        if let (Some(e), Some(map)) = (&self.evidence, service.as_object_mut()) {
            map.insert("evidence".into(), e.clone());
        }
        json!({
            "accountId": home.account,
            "arn": format!("{}/finding/{id}", home.detector_arn),
            "createdAt": now,
            "description": fill(&self.finding_type.description, &self.fill),
            "id": id,
            "partition": "aws",
            "region": home.region,
            "resource": self.resource,
            "schemaVersion": "2.0",
            "service": service,
            "severity": self.finding_type.severity,
            "title": fill(&self.finding_type.title, &self.fill),
            "type": self.finding_type.name,
            "updatedAt": now,
        })
    }
}
