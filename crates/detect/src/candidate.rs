//! What a rule reports: a candidate finding, with the events behind it. The
//! GuardDuty service turns candidates into findings (aggregation, filters,
//! publishing); `scan` aggregates them in memory. Neither cares which rule,
//! built in or Sigma, made one.

use crate::catalogue::FindingType;
use serde_json::Value as Json;
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
