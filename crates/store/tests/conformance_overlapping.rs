//! The feed check against a toy store whose writers really overlap, as a
//! PostgreSQL backend's would: sequence numbers are taken at append and records
//! become visible at commit, so a transaction that took 10 may commit after one
//! that took 11. Bounded by the feed watermark (the lowest number still held,
//! less one) it passes; reading past the watermark, or taking the newest
//! committed number as the watermark, it must fail. This keeps the check able
//! to catch the bug it exists for.

#![allow(
    clippy::unwrap_used,
    clippy::unimplemented,
    reason = "tests; the toy store has only what the feed check uses"
)]

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use trailguard_store::{
    EventRow, FoundEvent, Lookup, Outcome, Store, StoreError, StoredEvent, Tx, conformance,
};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Feed {
    /// `events_after` stops at the watermark: right.
    Bounded,
    /// `events_after` reads every committed record.
    PastWatermark,
    /// Also takes the newest committed number as the watermark, as a
    /// single-writer store may.
    NewestCommitted,
}

#[derive(Default)]
struct State {
    last_taken: i64,
    held: BTreeSet<i64>,
    records: BTreeMap<i64, String>,
    docs: HashMap<(String, String), Vec<u8>>,
}

impl State {
    fn watermark(&self) -> i64 {
        self.held.first().map_or(self.last_taken, |low| low - 1)
    }
}

struct Overlapping {
    state: Mutex<State>,
    feed: Feed,
}

impl Overlapping {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap()
    }

    fn watermark(&self) -> i64 {
        let state = self.state();
        match self.feed {
            Feed::NewestCommitted => state.records.keys().last().copied().unwrap_or(0),
            Feed::Bounded | Feed::PastWatermark => state.watermark(),
        }
    }

    fn events_after(&self, seq: i64, limit: usize) -> Vec<StoredEvent> {
        let state = self.state();
        let top = match self.feed {
            Feed::Bounded => state.watermark(),
            Feed::PastWatermark | Feed::NewestCommitted => i64::MAX,
        };
        state
            .records
            .range(seq + 1..)
            .take_while(|(s, _)| **s <= top)
            .take(limit)
            .map(|(s, r)| StoredEvent {
                seq: *s,
                record: r.clone(),
            })
            .collect()
    }
}

/// A transaction: its writes stay here until it commits; the store lock is
/// held only per call, so transactions overlap.
struct Open<'a> {
    store: &'a Overlapping,
    records: Vec<(i64, String)>,
    docs: Vec<((String, String), Vec<u8>)>,
}

impl Tx for Open<'_> {
    fn get(&mut self, ns: &str, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let key = (ns.to_string(), key.to_string());
        if let Some((_, v)) = self.docs.iter().rev().find(|(k, _)| *k == key) {
            return Ok(Some(v.clone()));
        }
        Ok(self.store.state().docs.get(&key).cloned())
    }

    fn put(&mut self, ns: &str, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.docs
            .push(((ns.to_string(), key.to_string()), value.to_vec()));
        Ok(())
    }

    fn delete(&mut self, _: &str, _: &str) -> Result<bool, StoreError> {
        unimplemented!()
    }

    fn scan(
        &mut self,
        _: &str,
        _: &str,
        _: Option<&str>,
        _: usize,
    ) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        unimplemented!()
    }

    fn visit(
        &mut self,
        _: &str,
        _: &str,
        _: &mut dyn FnMut(&str, &[u8]),
    ) -> Result<(), StoreError> {
        unimplemented!()
    }

    fn append_event(&mut self, row: &EventRow<'_>) -> Result<i64, StoreError> {
        let mut state = self.store.state();
        state.last_taken += 1;
        let seq = state.last_taken;
        state.held.insert(seq);
        self.records.push((seq, row.record.to_string()));
        Ok(seq)
    }

    fn lookup_events(&mut self, _: &Lookup) -> Result<Vec<FoundEvent>, StoreError> {
        unimplemented!()
    }

    fn events_after(&mut self, seq: i64, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        Ok(self.store.events_after(seq, limit))
    }

    fn last_event_seq(&mut self) -> Result<i64, StoreError> {
        Ok(self
            .store
            .state()
            .records
            .keys()
            .last()
            .copied()
            .unwrap_or(0))
    }

    fn feed_watermark(&mut self) -> Result<i64, StoreError> {
        Ok(self.store.watermark())
    }
}

impl Store for Overlapping {
    fn run(
        &self,
        body: &mut dyn FnMut(&mut dyn Tx) -> Result<Outcome, StoreError>,
    ) -> Result<(), StoreError> {
        let mut tx = Open {
            store: self,
            records: Vec::new(),
            docs: Vec::new(),
        };
        let outcome = body(&mut tx);
        let mut state = self.state();
        for (seq, _) in &tx.records {
            state.held.remove(seq);
        }
        if let Ok(Outcome::Commit) = outcome {
            state.records.extend(tx.records);
            state.docs.extend(tx.docs);
        }
        outcome.map(|_| ())
    }

    fn events_after(&self, seq: i64, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        Ok(Overlapping::events_after(self, seq, limit))
    }
}

fn feed_check_passes(feed: Feed) -> bool {
    std::panic::catch_unwind(|| {
        conformance::feed_under_concurrent_writers(&|| -> Arc<dyn Store> {
            Arc::new(Overlapping {
                state: Mutex::default(),
                feed,
            })
        });
    })
    .is_ok()
}

#[test]
fn a_feed_bounded_by_the_watermark_passes_with_overlapping_writers() {
    for _ in 0..5 {
        assert!(feed_check_passes(Feed::Bounded));
    }
}

/// Overlap is up to the scheduler, so a broken feed gets several runs to be
/// caught; one is nearly always enough.
#[test]
fn a_feed_that_ignores_the_watermark_fails() {
    for feed in [Feed::PastWatermark, Feed::NewestCommitted] {
        assert!(
            (0..20).any(|_| !feed_check_passes(feed)),
            "the feed check passed a feed that can skip records"
        );
    }
}
