//! Findings as `scan` reports them: candidates aggregated as GuardDuty does
//! (the same type and activity make one finding, with a count and first and
//! last seen), each keeping the events behind it.

use std::collections::HashMap;
use time::OffsetDateTime;
use trailguard_detect::{Candidate, EventRef};

/// Event references kept per finding (the earliest ones; the count is exact).
pub const MAX_EVENTS: usize = 100;
/// Findings kept in all: beyond this, new ones are counted, not kept, so
/// memory stays bounded whatever the input (about 10 KB a finding).
pub const MAX_FINDINGS: usize = 100_000;

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

/// Findings by aggregation key (and account and region: a key is seldom
/// in more than one, so those are a short list under it).
#[derive(Default)]
pub struct Findings {
    by_key: HashMap<String, Vec<Finding>>,
    len: usize,
    /// New findings turned away at [`MAX_FINDINGS`].
    pub dropped: u64,
}

impl Findings {
    /// Adds an occurrence seen in an account and region.
    pub fn add(&mut self, c: Candidate) {
        let (account, region) = (c.account.as_str(), c.region.as_str());
        let slot = match self.by_key.get_mut(&c.aggregation_key) {
            Some(slot) => slot,
            None => self.by_key.entry(c.aggregation_key.clone()).or_default(),
        };
        match slot
            .iter_mut()
            .find(|f| f.account == account && f.region == region)
        {
            Some(f) => {
                f.count += 1;
                f.first_seen = f.first_seen.min(c.event_time);
                f.last_seen = f.last_seen.max(c.event_time);
                let room = MAX_EVENTS.saturating_sub(f.events.len());
                f.events.extend(c.events.into_iter().take(room));
            }
            None if self.len >= MAX_FINDINGS => self.dropped += 1,
            None => {
                self.len += 1;
                let events = c.events.iter().take(MAX_EVENTS).cloned().collect();
                slot.push(Finding {
                    account: c.account.clone(),
                    region: c.region.clone(),
                    count: 1,
                    first_seen: c.event_time,
                    last_seen: c.event_time,
                    events,
                    first: c,
                });
            }
        }
    }

    /// Counts one more occurrence of the finding under a key in an account
    /// and region, if there is one; says whether there was.
    pub fn again(
        &mut self,
        account: &str,
        region: &str,
        key: &str,
        time: OffsetDateTime,
        event: impl FnOnce() -> EventRef,
    ) -> bool {
        let found = self.by_key.get_mut(key).and_then(|v| {
            v.iter_mut()
                .find(|f| f.account == account && f.region == region)
        });
        let Some(f) = found else {
            return false;
        };
        f.count += 1;
        f.first_seen = f.first_seen.min(time);
        f.last_seen = f.last_seen.max(time);
        if f.events.len() < MAX_EVENTS {
            f.events.push(event());
        }
        true
    }

    /// Adds another set (a worker's, for one block of input).
    pub fn merge(&mut self, other: Findings) {
        self.dropped += other.dropped;
        for (key, list) in other.by_key {
            let slot = self.by_key.entry(key).or_default();
            for f in list {
                match slot
                    .iter_mut()
                    .find(|m| m.account == f.account && m.region == f.region)
                {
                    Some(mine) => {
                        mine.count += f.count;
                        mine.first_seen = mine.first_seen.min(f.first_seen);
                        mine.last_seen = mine.last_seen.max(f.last_seen);
                        let room = MAX_EVENTS.saturating_sub(mine.events.len());
                        mine.events.extend(f.events.into_iter().take(room));
                    }
                    None if self.len >= MAX_FINDINGS => self.dropped += 1,
                    None => {
                        self.len += 1;
                        slot.push(f);
                    }
                }
            }
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The findings in a stable order: by first seen, type, then key; each
    /// finding's events by where they were read.
    pub fn into_sorted(self) -> Vec<(String, Finding)> {
        let mut all: Vec<(String, Finding)> = self
            .by_key
            .into_iter()
            .flat_map(|(key, list)| {
                list.into_iter()
                    .map(move |f| (format!("{}/{}/{key}", f.account, f.region), f))
            })
            .collect();
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
