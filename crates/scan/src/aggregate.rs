//! Findings as `scan` reports them: candidates aggregated as GuardDuty does
//! (the same type and activity make one finding, with a count and first and
//! last seen), each keeping the events behind it.

use std::collections::HashMap;
use time::OffsetDateTime;
use trailguard_detect::{Candidate, EventRef};

/// Event references kept per finding (the earliest ones; the count is exact).
pub const MAX_EVENTS: usize = 100;

/// One aggregated finding.
#[derive(Debug, Clone)]
pub struct Finding {
    /// The first occurrence (its resource, action and rule describe the finding).
    pub first: Candidate,
    pub account: String,
    pub region: String,
    pub count: u64,
    pub first_seen: OffsetDateTime,
    pub last_seen: OffsetDateTime,
    pub events: Vec<EventRef>,
}

/// Findings by aggregation key.
#[derive(Default)]
pub struct Findings {
    by_key: HashMap<String, Finding>,
}

impl Findings {
    /// Adds an occurrence seen in an account and region.
    pub fn add(&mut self, account: &str, region: &str, c: Candidate) {
        let key = format!("{account}/{region}/{}", c.aggregation_key);
        match self.by_key.get_mut(&key) {
            Some(f) => {
                f.count += 1;
                f.first_seen = f.first_seen.min(c.event_time);
                f.last_seen = f.last_seen.max(c.event_time);
                let room = MAX_EVENTS.saturating_sub(f.events.len());
                f.events.extend(c.events.into_iter().take(room));
            }
            None => {
                let events = c.events.iter().take(MAX_EVENTS).cloned().collect();
                self.by_key.insert(
                    key,
                    Finding {
                        account: account.to_string(),
                        region: region.to_string(),
                        count: 1,
                        first_seen: c.event_time,
                        last_seen: c.event_time,
                        events,
                        first: c,
                    },
                );
            }
        }
    }

    pub fn len(&self) -> usize {
        self.by_key.len()
    }
    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    /// The findings in a stable order: by first seen, type, then key; each
    /// finding's events by where they were read.
    pub fn into_sorted(self) -> Vec<(String, Finding)> {
        let mut all: Vec<(String, Finding)> = self.by_key.into_iter().collect();
        for (_, f) in &mut all {
            f.events
                .sort_by_key(|e| (e.origin.map(|o| (o.file, o.offset)), e.event_id.clone()));
        }
        all.sort_by(|(ka, a), (kb, b)| {
            (a.first_seen, &a.first.finding_type.name, ka).cmp(&(
                b.first_seen,
                &b.first.finding_type.name,
                kb,
            ))
        });
        all
    }
}
