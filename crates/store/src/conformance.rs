//! The checks every [`Store`] backend must pass.
//!
//! The services rely on more than the trait signatures say: keys in bytewise
//! order, records that come back byte for byte, a transaction's documents and
//! records committing together or not at all, and an audit feed in commit order
//! (the feed watermark, see the crate docs). Each check takes a factory that
//! returns a new, empty store on every call, exercises one promise, and panics
//! saying what broke. It is library code, not a test helper, so that a backend
//! in another crate runs the same checks from its tests:
//!
//! ```no_run
//! use std::sync::Arc;
//! use trailguard_store::{SqliteStore, Store, conformance};
//!
//! conformance::run_all(&|| -> Arc<dyn Store> { Arc::new(SqliteStore::in_memory().unwrap()) });
//! ```

#![allow(
    clippy::panic,
    reason = "a failed check panics with what broke, as a failed test does"
)]

use crate::{
    EventRow, FoundEvent, Lookup, LookupFilter, Outcome, Store, StoreError, StoredEvent, Tx,
};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};

/// Makes a new, empty store each time it is called.
pub type NewStore<'a> = &'a dyn Fn() -> Arc<dyn Store>;

/// One check.
pub type Check = fn(NewStore<'_>);

/// Every check, by name.
pub const CHECKS: &[(&str, Check)] = &[
    ("documents", documents),
    ("audit_read_after_write", audit_read_after_write),
    ("lookups", lookups),
    ("atomicity", atomicity),
    ("concurrent_calls", concurrent_calls),
    (
        "feed_under_concurrent_writers",
        feed_under_concurrent_writers,
    ),
];

/// Runs every check in [`CHECKS`], each on a new store.
pub fn run_all(new_store: NewStore<'_>) {
    for (_, check) in CHECKS {
        check(new_store);
    }
}

const NS: &str = "conformance";
const OTHER_NS: &str = "conformance.other";
const ACCOUNT: &str = "111111111111";
const OTHER_ACCOUNT: &str = "222222222222";

fn ok<T>(result: Result<T, StoreError>, doing: &str) -> T {
    match result {
        Ok(v) => v,
        Err(e) => panic!("{doing}: {e}"),
    }
}

/// Runs `body` in a transaction that commits.
fn commit<T>(
    store: &dyn Store,
    doing: &str,
    body: impl FnOnce(&mut dyn Tx) -> Result<T, StoreError>,
) -> T {
    ok(crate::transact(store, body), doing)
}

/// Runs `body` in a transaction that rolls back.
fn roll_back(
    store: &dyn Store,
    doing: &str,
    body: impl FnOnce(&mut dyn Tx) -> Result<(), StoreError>,
) {
    let mut body = Some(body);
    ok(
        store.run(&mut |tx| {
            if let Some(f) = body.take() {
                f(tx)?;
            }
            Ok(Outcome::Rollback)
        }),
        doing,
    );
}

/// The record text for an event id: JSON as CloudTrail writes it.
fn record(id: &str) -> String {
    format!(r#"{{"eventID":"{id}"}}"#)
}

/// A management event in [`ACCOUNT`] whose record is `record`.
fn row<'a>(id: &'a str, record: &'a str) -> EventRow<'a> {
    EventRow {
        event_id: id,
        account_id: ACCOUNT,
        event_time: "2026-01-01T00:00:00Z",
        event_time_ms: 1_767_225_600_000,
        event_source: "iam.amazonaws.com",
        event_name: "GetUser",
        read_only: true,
        username: None,
        access_key_id: None,
        record,
        resources: &[],
        management: true,
    }
}

fn keys(docs: &[(String, Vec<u8>)]) -> Vec<&str> {
    docs.iter().map(|(k, _)| k.as_str()).collect()
}

/// The keys [`Tx::scan`] returns in [`NS`].
fn scan(
    tx: &mut dyn Tx,
    prefix: &str,
    after: Option<&str>,
    limit: usize,
) -> Result<Vec<String>, StoreError> {
    Ok(tx
        .scan(NS, prefix, after, limit)?
        .into_iter()
        .map(|(k, _)| k)
        .collect())
}

fn seqs(events: &[StoredEvent]) -> Vec<i64> {
    events.iter().map(|e| e.seq).collect()
}

fn records(found: Vec<FoundEvent>) -> Vec<String> {
    found.into_iter().map(|f| f.record).collect()
}

/// Every management event of [`ACCOUNT`], newest first.
fn lookup_all() -> Lookup {
    Lookup {
        account_id: ACCOUNT.to_string(),
        filter: None,
        start_ms: 0,
        end_ms: i64::MAX,
        before: None,
        limit: 1_000,
    }
}

fn lookup_id(id: &str) -> Lookup {
    Lookup {
        filter: Some(LookupFilter::EventId(id.to_string())),
        ..lookup_all()
    }
}

/// Calls from many threads at once (as a server makes them, and as a backend
/// that shares commits between calls sees them): each call's documents and
/// record commit together or not at all, a failing call takes nobody else's
/// writes with it, and a call that returned success is committed: every
/// later call sees it.
pub fn concurrent_calls(new_store: NewStore<'_>) {
    const THREADS: usize = 6;
    const CALLS: usize = 40;
    let store = new_store();
    let fails = |t: usize, i: usize| (t + i).is_multiple_of(5);
    let threads: Vec<_> = (0..THREADS)
        .map(|t| {
            let store = store.clone();
            std::thread::spawn(move || {
                for i in 0..CALLS {
                    let id = format!("t{t}-{i}");
                    let text = record(&id);
                    let result = crate::transact(store.as_ref(), |tx| {
                        tx.put(NS, &id, id.as_bytes())?;
                        tx.append_event(&row(&id, &text))?;
                        if fails(t, i) {
                            return Err(StoreError::Poisoned);
                        }
                        Ok(())
                    });
                    assert_eq!(
                        result.is_ok(),
                        !fails(t, i),
                        "call {id} answered {result:?}"
                    );
                    if result.is_ok() {
                        // Answered, so committed: the next call sees it.
                        commit(store.as_ref(), "reading a call's write back", |tx| {
                            assert_eq!(
                                tx.get(NS, &id)?.as_deref(),
                                Some(id.as_bytes()),
                                "call {id} returned but its document is missing"
                            );
                            Ok(())
                        });
                    }
                }
            })
        })
        .collect();
    for t in threads {
        if let Err(panic) = t.join() {
            std::panic::resume_unwind(panic);
        }
    }
    let store = store.as_ref();
    let kept: HashSet<String> = commit(store, "scanning what the calls left", |tx| {
        Ok(tx
            .scan(NS, "", None, usize::MAX)?
            .into_iter()
            .map(|(k, _)| k)
            .collect())
    });
    let expected: HashSet<String> = (0..THREADS)
        .flat_map(|t| {
            (0..CALLS)
                .filter(move |&i| !fails(t, i))
                .map(move |i| format!("t{t}-{i}"))
        })
        .collect();
    assert_eq!(
        kept, expected,
        "the documents left are those of the calls that succeeded"
    );
    let records = ok(store.events_after(0, usize::MAX), "Store::events_after");
    let ids: HashSet<String> = records
        .iter()
        .map(|e| {
            e.record
                .trim_start_matches(r#"{"eventID":""#)
                .trim_end_matches(r#""}"#)
                .to_string()
        })
        .collect();
    assert_eq!(
        ids, expected,
        "the records left are those of the calls that succeeded"
    );
    let seqs: HashSet<i64> = records.iter().map(|e| e.seq).collect();
    assert_eq!(seqs.len(), records.len(), "sequence numbers are unique");
}

/// Documents: get, put, replace, delete, and scans and visits in bytewise key
/// order by prefix, after a key, up to a limit, one namespace at a time.
pub fn documents(new_store: NewStore<'_>) {
    let store = new_store();
    let store = store.as_ref();
    commit(store, "reading an empty store", |tx| {
        assert_eq!(tx.get(NS, "a")?, None, "get of a missing document");
        assert!(
            !tx.delete(NS, "a")?,
            "delete of a missing document said it existed"
        );
        assert!(
            tx.scan(NS, "", None, 10)?.is_empty(),
            "scan of an empty store"
        );
        Ok(())
    });

    let written = [
        "a/2", "a/10", "a/Z", "a/é", "a/1", "a", "ab", "b/1", "a/a", "x%/1", "x_/1", "xy/1",
    ];
    commit(store, "writing documents", |tx| {
        for k in written {
            tx.put(NS, k, k.as_bytes())?;
        }
        tx.put(NS, "a/1", b"replaced")?;
        tx.put(OTHER_NS, "a/0", b"other")?;
        tx.put(OTHER_NS, "binary", &[0, 255, 0, 10])?;
        tx.put(OTHER_NS, "empty", b"")?;
        assert_eq!(
            tx.get(NS, "a/2")?.as_deref(),
            Some(&b"a/2"[..]),
            "a document must be readable in the transaction that wrote it"
        );
        assert_eq!(
            keys(&tx.scan(NS, "a/", None, 100)?).len(),
            6,
            "a scan must see the documents its own transaction wrote"
        );
        Ok(())
    });

    commit(store, "reading documents back", |tx| {
        assert_eq!(
            tx.get(NS, "a/1")?.as_deref(),
            Some(&b"replaced"[..]),
            "put must replace the previous value"
        );
        assert_eq!(
            tx.get(OTHER_NS, "binary")?.as_deref(),
            Some(&[0, 255, 0, 10][..]),
            "values are bytes, returned exactly"
        );
        assert_eq!(
            tx.get(OTHER_NS, "empty")?.as_deref(),
            Some(&b""[..]),
            "an empty value is a document, not a missing one"
        );
        assert_eq!(tx.get(OTHER_NS, "a/2")?, None, "namespaces are separate");

        // Bytewise (code point) order, whatever the database's collation.
        let under_a = ["a/1", "a/10", "a/2", "a/Z", "a/a", "a/é"];
        let all = tx.scan(NS, "a/", None, 100)?;
        assert_eq!(keys(&all), under_a, "scan by prefix, in bytewise key order");
        for (k, v) in &all {
            let expected: &[u8] = if k == "a/1" {
                b"replaced"
            } else {
                k.as_bytes()
            };
            assert_eq!(
                v.as_slice(),
                expected,
                "scan returned the wrong value for {k}"
            );
        }
        assert_eq!(
            keys(&tx.scan(NS, "", None, 100)?),
            [
                "a", "a/1", "a/10", "a/2", "a/Z", "a/a", "a/é", "ab", "b/1", "x%/1", "x_/1", "xy/1"
            ],
            "scan with an empty prefix returns the whole namespace, in order"
        );
        let cases: &[(&str, Option<&str>, usize, &[&str])] = &[
            ("a/", Some("a/10"), 2, &["a/2", "a/Z"]),
            // An `after` before the prefix starts at the prefix.
            ("a/", Some("a"), 2, &["a/1", "a/10"]),
            // `after` need not be a stored key.
            ("a/", Some("a/3"), 10, &["a/Z", "a/a", "a/é"]),
            ("a/", Some("a/z"), 10, &["a/é"]),
            ("a/", Some("a/é"), 10, &[]),
            ("a/", None, 0, &[]),
            ("c/", None, 10, &[]),
            // Prefixes are literal, not patterns.
            ("x%/", None, 10, &["x%/1"]),
            ("x_/", None, 10, &["x_/1"]),
        ];
        for &(prefix, after, limit, expected) in cases {
            assert_eq!(
                scan(tx, prefix, after, limit)?,
                expected,
                "scan(prefix {prefix:?}, after {after:?}, limit {limit})"
            );
        }
        let mut paged = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = scan(tx, "a/", after.as_deref(), 2)?;
            assert!(page.len() <= 2, "scan returned more than its limit");
            match page.last() {
                Some(last) => after = Some(last.clone()),
                None => break,
            }
            paged.extend(page);
        }
        assert_eq!(
            paged, under_a,
            "paging a scan with `after` sees every key once"
        );

        let mut visited = Vec::new();
        tx.visit(NS, "a/", &mut |k, v| {
            visited.push((k.to_string(), v.to_vec()))
        })?;
        assert_eq!(
            visited, all,
            "visit sees what an unlimited scan sees, in order"
        );
        let mut none = 0;
        tx.visit(NS, "c/", &mut |_, _| none += 1)?;
        assert_eq!(none, 0, "visit of a prefix nothing has");
        assert_eq!(
            keys(&tx.scan(OTHER_NS, "a/", None, 10)?),
            ["a/0"],
            "scan stays in its namespace"
        );

        assert!(tx.delete(NS, "a/10")?, "delete of a stored document");
        assert_eq!(tx.get(NS, "a/10")?, None, "a deleted document is gone");
        assert!(!tx.delete(NS, "a/10")?, "a second delete finds nothing");
        assert_eq!(
            scan(tx, "a/", None, 2)?,
            ["a/1", "a/2"],
            "scan skips a document deleted in the same transaction"
        );
        Ok(())
    });
    commit(store, "reading after a delete", |tx| {
        assert_eq!(tx.get(NS, "a/10")?, None, "a committed delete lasts");
        Ok(())
    });
}

/// Audit records: numbered in increasing order and readable, through the feed
/// and lookups, in the transaction that appended them and after it commits.
pub fn audit_read_after_write(new_store: NewStore<'_>) {
    let store = new_store();
    let store = store.as_ref();
    assert!(
        ok(
            store.events_after(0, 10),
            "Store::events_after on an empty store"
        )
        .is_empty(),
        "an empty store has no records"
    );
    assert_eq!(
        ok(
            store.feed_watermark(),
            "Store::feed_watermark on an empty store"
        ),
        0,
        "an empty store's feed watermark"
    );
    commit(store, "reading an empty trail", |tx| {
        assert_eq!(tx.last_event_seq()?, 0, "last_event_seq of an empty store");
        assert_eq!(tx.feed_watermark()?, 0, "feed_watermark of an empty store");
        Ok(())
    });

    // Whitespace, escapes and non-ASCII text must survive: digests hash it.
    let first = r#"{"eventVersion": "1.09",  "userAgent":"Ünïcødé \"q\" \\ /", "n": 1.50}"#;
    let second = record("second");
    let (s1, s2) = commit(
        store,
        "appending and reading back in one transaction",
        |tx| {
            let s1 = tx.append_event(&row("first", first))?;
            let s2 = tx.append_event(&row("second", &second))?;
            assert!(s1 > 0, "sequence numbers start above 0 (got {s1})");
            assert!(
                s2 > s1,
                "a later record gets a higher number ({s2} after {s1})"
            );
            assert_eq!(tx.last_event_seq()?, s2, "last_event_seq after appending");
            let watermark = tx.feed_watermark()?;
            assert!(
                watermark >= s2,
                "with no other transaction open, a transaction's own records are under its \
             feed watermark ({watermark} < {s2})"
            );
            let feed = tx.events_after(0, 10)?;
            assert_eq!(
                feed,
                [
                    StoredEvent {
                        seq: s1,
                        record: first.to_string()
                    },
                    StoredEvent {
                        seq: s2,
                        record: second.clone()
                    },
                ],
                "Tx::events_after must return the transaction's own records, byte for byte"
            );
            assert_eq!(
                records(tx.lookup_events(&lookup_all())?),
                [second.clone(), first.to_string()],
                "lookup_events must see the transaction's own records, newest first"
            );
            Ok((s1, s2))
        },
    );

    let feed = ok(
        store.events_after(0, 10),
        "Store::events_after after commit",
    );
    assert_eq!(seqs(&feed), [s1, s2], "Store::events_after after commit");
    assert_eq!(
        feed.first().map(|e| e.record.as_str()),
        Some(first),
        "a record comes back byte for byte"
    );
    let watermark = ok(store.feed_watermark(), "Store::feed_watermark after commit");
    assert!(
        watermark >= s2,
        "with no transaction open, the feed watermark covers every committed record \
         ({watermark} < {s2})"
    );
    commit(store, "reading the trail in a later transaction", |tx| {
        assert_eq!(
            seqs(&tx.events_after(0, usize::MAX)?),
            [s1, s2],
            "an unlimited read"
        );
        assert_eq!(seqs(&tx.events_after(0, 1)?), [s1], "limit 1");
        assert_eq!(
            seqs(&tx.events_after(s1, 10)?),
            [s2],
            "strictly after the cursor"
        );
        assert!(
            tx.events_after(s2, 10)?.is_empty(),
            "nothing after the newest"
        );
        assert!(tx.events_after(0, 0)?.is_empty(), "limit 0");
        assert_eq!(tx.last_event_seq()?, s2, "last_event_seq after commit");
        assert_eq!(
            records(tx.lookup_events(&lookup_all())?),
            [second.clone(), first.to_string()],
            "lookup_events after commit"
        );
        Ok(())
    });

    let s3 = commit(store, "appending again", |tx| {
        tx.append_event(&row("third", &record("third")))
    });
    assert!(
        s3 > s2,
        "a later transaction's record gets a higher number ({s3} after {s2})"
    );
    assert_eq!(
        seqs(&ok(store.events_after(s2, 10), "Store::events_after")),
        [s3],
        "the feed after the previous newest"
    );
}

/// Lookups: one account, an inclusive time range, one attribute at a time,
/// management events only, newest first by `(time, seq)`, paged by `before`.
pub fn lookups(new_store: NewStore<'_>) {
    // Exact whatever storage work lags: with none of the records caught up
    // ([`Store::catch_up`]), with some, and with all.
    for caught_up in [0, 3, 6] {
        lookups_caught_up_after(new_store, caught_up);
    }
}

/// Appends six records, one transaction each, catching up after the first
/// `caught_up`; looks them up; catches up on all and looks them up again.
fn lookups_caught_up_after(new_store: NewStore<'_>, caught_up: usize) {
    let store = new_store();
    let store = store.as_ref();
    let user = [("AWS::IAM::User".to_string(), "bob".to_string())];
    let object = [("AWS::S3::Object".to_string(), "bucket/key".to_string())];
    let bucket = [("AWS::S3::Bucket".to_string(), "bucket".to_string())];
    const IDS: [&str; 6] = ["r1", "r2", "r3", "r4", "r5", "r6"];
    let [r1, r2, r3, r4, r5, r6] = IDS.map(record);
    let base = row("", "");
    let rows = [
        EventRow {
            event_id: "r1",
            record: &r1,
            event_time_ms: 1_000,
            event_name: "CreateUser",
            read_only: false,
            username: Some("alice"),
            access_key_id: Some("AKIA1"),
            resources: &user,
            ..base.clone()
        },
        EventRow {
            event_id: "r2",
            record: &r2,
            event_time_ms: 2_000,
            event_name: "ListUsers",
            username: Some("alice"),
            access_key_id: Some("AKIA1"),
            ..base.clone()
        },
        // A data event: in the feed, never in lookups.
        EventRow {
            event_id: "r3",
            record: &r3,
            event_time_ms: 2_000,
            event_source: "s3.amazonaws.com",
            event_name: "GetObject",
            username: Some("carol"),
            resources: &object,
            management: false,
            ..base.clone()
        },
        EventRow {
            event_id: "r4",
            record: &r4,
            event_time_ms: 3_000,
            event_source: "s3.amazonaws.com",
            event_name: "CreateBucket",
            read_only: false,
            access_key_id: Some("AKIA2"),
            resources: &bucket,
            ..base.clone()
        },
        EventRow {
            event_id: "r5",
            record: &r5,
            account_id: OTHER_ACCOUNT,
            event_time_ms: 2_000,
            event_name: "CreateUser",
            read_only: false,
            username: Some("alice"),
            ..base.clone()
        },
        // The same time as r2, appended later: listed before it.
        EventRow {
            event_id: "r6",
            record: &r6,
            event_time_ms: 2_000,
            event_name: "CreateRole",
            read_only: false,
            username: Some("bob"),
            ..base.clone()
        },
    ];
    let mut appended = Vec::new();
    for (i, r) in rows.iter().enumerate() {
        if i == caught_up {
            ok(store.catch_up(crate::CatchUp::All), "Store::catch_up");
        }
        appended.push(commit(store, "appending a record to look up", |tx| {
            tx.append_event(r)
        }));
    }
    let seq_of = |id: &str| {
        IDS.iter()
            .position(|r| *r == id)
            .and_then(|p| appended.get(p))
            .copied()
            .unwrap_or_default()
    };

    let all = lookup_all();
    let by = |filter: LookupFilter| Lookup {
        filter: Some(filter),
        ..lookup_all()
    };
    let cases: Vec<(&str, Lookup, Vec<&String>)> = vec![
        ("no filter", all.clone(), vec![&r4, &r6, &r2, &r1]),
        (
            "another account",
            Lookup {
                account_id: OTHER_ACCOUNT.to_string(),
                ..all.clone()
            },
            vec![&r5],
        ),
        (
            "a time range, inclusive at both ends",
            Lookup {
                start_ms: 2_000,
                end_ms: 2_000,
                ..all.clone()
            },
            vec![&r6, &r2],
        ),
        (
            "limit",
            Lookup {
                limit: 2,
                ..all.clone()
            },
            vec![&r4, &r6],
        ),
        (
            "before a (time, seq) cursor",
            Lookup {
                before: Some((2_000, seq_of("r6"))),
                ..all.clone()
            },
            vec![&r2, &r1],
        ),
        ("EventId", by(LookupFilter::EventId("r1".into())), vec![&r1]),
        (
            "EventName",
            by(LookupFilter::EventName("CreateUser".into())),
            vec![&r1],
        ),
        ("ReadOnly true", by(LookupFilter::ReadOnly(true)), vec![&r2]),
        (
            "ReadOnly false",
            by(LookupFilter::ReadOnly(false)),
            vec![&r4, &r6, &r1],
        ),
        (
            "Username",
            by(LookupFilter::Username("alice".into())),
            vec![&r2, &r1],
        ),
        (
            "ResourceType",
            by(LookupFilter::ResourceType("AWS::IAM::User".into())),
            vec![&r1],
        ),
        (
            "ResourceName",
            by(LookupFilter::ResourceName("bucket".into())),
            vec![&r4],
        ),
        (
            "EventSource",
            by(LookupFilter::EventSource("s3.amazonaws.com".into())),
            vec![&r4],
        ),
        (
            "AccessKeyId",
            by(LookupFilter::AccessKeyId("AKIA1".into())),
            vec![&r2, &r1],
        ),
        (
            "an attribute before a (time, seq) cursor",
            Lookup {
                before: Some((2_000, seq_of("r2"))),
                ..by(LookupFilter::Username("alice".into()))
            },
            vec![&r1],
        ),
        (
            "an attribute before a cursor, across records caught up and not",
            Lookup {
                before: Some((3_000, seq_of("r4"))),
                ..by(LookupFilter::ReadOnly(false))
            },
            vec![&r6, &r1],
        ),
        (
            "a data event's id",
            by(LookupFilter::EventId("r3".into())),
            vec![],
        ),
    ];
    let look = |state: &str| {
        commit(store, "looking records up", |tx| {
            for (what, lookup, expected) in &cases {
                let found = tx.lookup_events(lookup)?;
                assert_eq!(
                    found.iter().map(|f| &f.record).collect::<Vec<_>>(),
                    *expected,
                    "lookup_events: {what} ({state})"
                );
            }
            Ok(())
        });
    };
    look(&format!("caught up after {caught_up} of 6 records"));
    ok(store.catch_up(crate::CatchUp::All), "Store::catch_up");
    look("caught up on every record");
    commit(store, "looking records up", |tx| {
        let found = tx.lookup_events(&lookup_id("r6"))?;
        assert_eq!(
            found,
            [FoundEvent {
                seq: seq_of("r6"),
                event_time_ms: 2_000,
                record: r6.clone(),
            }],
            "lookup_events returns each record's sequence number and time"
        );
        Ok(())
    });
    assert_eq!(
        ok(store.events_after(0, 10), "Store::events_after").len(),
        6,
        "the feed has every record, data events included"
    );
}

/// Atomicity: a transaction that rolls back or fails leaves no documents and
/// no records; one that commits makes both visible together.
pub fn atomicity(new_store: NewStore<'_>) {
    let store = new_store();
    let store = store.as_ref();
    let base_record = record("base");
    let base = commit(store, "committing the starting state", |tx| {
        tx.put(NS, "kept", b"v1")?;
        tx.put(NS, "doomed", b"x")?;
        tx.append_event(&row("base", &base_record))
    });
    let texts = [record("rolled-1"), record("rolled-2"), record("failed")];
    let [rolled_1, rolled_2, failed] = &texts;

    let assert_untouched = |after: &str| {
        commit(
            store,
            "reading after a transaction that did not commit",
            |tx| {
                assert_eq!(
                    tx.get(NS, "new")?,
                    None,
                    "{after} left a document it created"
                );
                assert_eq!(
                    tx.get(NS, "kept")?.as_deref(),
                    Some(&b"v1"[..]),
                    "{after} left a document it replaced changed"
                );
                assert!(
                    tx.get(NS, "doomed")?.is_some(),
                    "{after} left a document it deleted gone"
                );
                assert_eq!(
                    tx.last_event_seq()?,
                    base,
                    "{after} left its records' numbers"
                );
                for id in ["rolled-1", "rolled-2", "failed"] {
                    assert!(
                        tx.lookup_events(&lookup_id(id))?.is_empty(),
                        "{after} left record {id} in lookups"
                    );
                }
                Ok(())
            },
        );
        assert!(
            ok(store.events_after(base, 10), "Store::events_after").is_empty(),
            "{after} left records in the feed"
        );
    };

    roll_back(store, "a transaction that rolls back", |tx| {
        tx.put(NS, "new", b"n")?;
        tx.put(NS, "kept", b"v2")?;
        tx.delete(NS, "doomed")?;
        tx.append_event(&row("rolled-1", rolled_1))?;
        tx.append_event(&row("rolled-2", rolled_2))?;
        assert_eq!(tx.get(NS, "kept")?.as_deref(), Some(&b"v2"[..]));
        Ok(())
    });
    assert_untouched("a transaction that rolled back");

    let result = store.run(&mut |tx| {
        tx.put(NS, "new", b"n")?;
        tx.put(NS, "kept", b"v2")?;
        tx.delete(NS, "doomed")?;
        tx.append_event(&row("failed", failed))?;
        Err(StoreError::Poisoned)
    });
    assert!(
        result.is_err(),
        "Store::run must return the error its body returned"
    );
    assert_untouched("a transaction whose body failed");

    let through_transact: Result<(), StoreError> = crate::transact(store, |tx| {
        tx.put(NS, "new", b"n")?;
        tx.append_event(&row("failed", failed))?;
        Err(StoreError::Poisoned)
    });
    assert!(
        through_transact.is_err(),
        "transact returns its body's error"
    );
    assert_untouched("transact with a body that failed");

    ok(store.probe_write(), "probe_write");
    assert_untouched("probe_write");
    assert_eq!(
        commit(store, "reading the probe", |tx| tx.get("health", "probe")),
        None,
        "probe_write must leave nothing"
    );

    let committed = record("committed");
    let seq = commit(store, "a transaction that commits", |tx| {
        tx.put(NS, "new", b"n")?;
        tx.delete(NS, "doomed")?;
        tx.append_event(&row("committed", &committed))
    });
    assert!(seq > base, "a record committed later gets a higher number");
    assert_eq!(
        ok(store.events_after(base, 10), "Store::events_after"),
        [StoredEvent {
            seq,
            record: committed
        }],
        "a committed record is in the feed"
    );
    commit(store, "reading a commit", |tx| {
        assert_eq!(
            tx.get(NS, "new")?.as_deref(),
            Some(&b"n"[..]),
            "a committed put"
        );
        assert_eq!(tx.get(NS, "doomed")?, None, "a committed delete");
        assert_eq!(
            tx.lookup_events(&lookup_id("committed"))?.len(),
            1,
            "a committed record in lookups"
        );
        Ok(())
    });
}

const WRITERS: usize = 4;
const TXS_PER_WRITER: usize = 30;
const FEED_PAGE: usize = 5;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Fate {
    Commit,
    Rollback,
    Fail,
}

/// What one writer does in one transaction.
struct Planned {
    doc_key: String,
    ids: Vec<String>,
    fate: Fate,
    /// Stay open a while after appending.
    linger: bool,
}

fn plan(writer: usize) -> Vec<Planned> {
    (0..TXS_PER_WRITER)
        .map(|t| Planned {
            doc_key: format!("w{writer}-t{t}"),
            ids: (0..=(t + writer) % 3)
                .map(|r| format!("w{writer}-t{t}-r{r}"))
                .collect(),
            fate: match (t + writer) % 5 {
                1 => Fate::Rollback,
                3 => Fate::Fail,
                _ => Fate::Commit,
            },
            linger: (t + writer).is_multiple_of(4),
        })
        .collect()
}

/// The feed under concurrent writers: several threads each run many
/// transactions that append records and write a document, some rolling back
/// or failing, while a reader follows the feed from its cursor. The reader must
/// see every committed record exactly once, in increasing sequence, never a
/// record that did not commit, never one above the feed watermark, and the
/// document of every record it sees.
pub fn feed_under_concurrent_writers(new_store: NewStore<'_>) {
    let store = new_store();
    let store = store.as_ref();
    let plans: Vec<Vec<Planned>> = (0..WRITERS).map(plan).collect();
    // Record text -> (event id, the document its transaction wrote).
    let mut known: HashMap<String, (&str, &str)> = HashMap::new();
    for p in plans.iter().flatten() {
        for id in &p.ids {
            known.insert(record(id), (id, &p.doc_key));
        }
    }
    let known = &known;
    let done = AtomicBool::new(false);
    let start = Barrier::new(WRITERS + 1);

    let (writer_results, reader_result) = std::thread::scope(|s| {
        let writers: Vec<_> = plans
            .iter()
            .map(|planned| {
                let start = &start;
                s.spawn(move || {
                    start.wait();
                    write_planned(store, planned);
                })
            })
            .collect();
        let reader = s.spawn(|| {
            start.wait();
            follow_feed(store, known, &done)
        });
        // Join every writer before telling the reader to finish, even when one
        // panicked, so that the reader always stops.
        let writer_results: Vec<_> = writers.into_iter().map(|w| w.join()).collect();
        done.store(true, Ordering::SeqCst);
        (writer_results, reader.join())
    });
    for r in writer_results {
        if let Err(p) = r {
            std::panic::resume_unwind(p);
        }
    }
    let seen = match reader_result {
        Ok(seen) => seen,
        Err(p) => std::panic::resume_unwind(p),
    };

    let committed: HashSet<&str> = plans
        .iter()
        .flatten()
        .filter(|p| p.fate == Fate::Commit)
        .flat_map(|p| p.ids.iter().map(String::as_str))
        .collect();
    let mut seen_ids = HashSet::new();
    for e in &seen {
        let id = known.get(&e.record).map_or("?", |(id, _)| *id);
        assert!(
            committed.contains(id),
            "the feed returned {id} (seq {}), from a transaction that did not commit",
            e.seq
        );
        assert!(seen_ids.insert(id), "the feed returned {id} twice");
    }
    let everything = ok(store.events_after(0, usize::MAX), "reading the whole feed");
    for id in &committed {
        if !seen_ids.contains(id) {
            let seq = everything
                .iter()
                .find(|e| known.get(&e.record).is_some_and(|(i, _)| i == id))
                .map(|e| e.seq);
            panic!(
                "the reader never saw {id}, which committed (stored as seq {seq:?}): \
                 its cursor passed it before it committed, or the feed watermark never \
                 caught up"
            );
        }
    }
    assert_eq!(
        everything, seen,
        "the whole feed read at the end differs from what the reader saw as it went"
    );
    commit(store, "reading the writers' documents", |tx| {
        for p in plans.iter().flatten() {
            let present = tx.get(NS, &p.doc_key)?.is_some();
            assert_eq!(
                present,
                p.fate == Fate::Commit,
                "document {} is {} after its transaction {}",
                p.doc_key,
                if present { "present" } else { "absent" },
                if p.fate == Fate::Commit {
                    "committed"
                } else {
                    "did not commit"
                }
            );
        }
        Ok(())
    });
}

fn write_planned(store: &dyn Store, planned: &[Planned]) {
    for p in planned {
        let texts: Vec<String> = p.ids.iter().map(|id| record(id)).collect();
        let result = store.run(&mut |tx| {
            for (id, text) in p.ids.iter().zip(&texts) {
                tx.append_event(&row(id, text))?;
                // Keep the transaction open a little while others run.
                std::thread::yield_now();
            }
            tx.put(NS, &p.doc_key, b"")?;
            if p.linger {
                // Hold low numbers while other writers commit higher ones.
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            match p.fate {
                Fate::Commit => Ok(Outcome::Commit),
                Fate::Rollback => Ok(Outcome::Rollback),
                Fate::Fail => Err(StoreError::Poisoned),
            }
        });
        match (p.fate, result) {
            (Fate::Fail, Err(_)) | (Fate::Commit | Fate::Rollback, Ok(())) => {}
            (Fate::Fail, Ok(())) => {
                panic!(
                    "Store::run returned Ok for {}, whose body failed",
                    p.doc_key
                )
            }
            (_, Err(e)) => panic!("writer transaction {} failed: {e}", p.doc_key),
        }
    }
}

/// Follows the feed from cursor 0 until the writers are done and it is
/// drained, alternating [`Store::events_after`] and [`Tx::events_after`];
/// returns every record seen, in order.
fn follow_feed(
    store: &dyn Store,
    known: &HashMap<String, (&str, &str)>,
    done: &AtomicBool,
) -> Vec<StoredEvent> {
    let mut cursor = 0;
    let mut watermark = 0;
    let mut seen: Vec<StoredEvent> = Vec::new();
    for round in 0usize.. {
        let finished = done.load(Ordering::SeqCst);
        let (batch, now) = if round.is_multiple_of(2) {
            let batch = ok(store.events_after(cursor, FEED_PAGE), "Store::events_after");
            (batch, ok(store.feed_watermark(), "Store::feed_watermark"))
        } else {
            commit(store, "reading the feed in a transaction", |tx| {
                let batch = tx.events_after(cursor, FEED_PAGE)?;
                Ok((batch, tx.feed_watermark()?))
            })
        };
        assert!(
            now >= watermark,
            "the feed watermark went back from {watermark} to {now}"
        );
        watermark = now;
        assert!(
            batch.len() <= FEED_PAGE,
            "events_after returned {} records, over its limit {FEED_PAGE}",
            batch.len()
        );
        for e in &batch {
            assert!(
                e.seq > cursor,
                "events_after({cursor}) returned seq {} out of order or at/below the cursor",
                e.seq
            );
            assert!(
                e.seq <= now,
                "events_after returned seq {} above the feed watermark {now}",
                e.seq
            );
            cursor = e.seq;
        }
        if !batch.is_empty() {
            commit(
                store,
                "reading the documents of records in the feed",
                |tx| {
                    for e in &batch {
                        let Some((id, doc)) = known.get(&e.record) else {
                            panic!(
                                "the feed returned a record no writer appended: {}",
                                e.record
                            );
                        };
                        assert!(
                            tx.get(NS, doc)?.is_some(),
                            "the feed returned {id} but its transaction's document {doc} is not \
                         visible: the record and the document did not commit together"
                        );
                    }
                    Ok(())
                },
            );
        }
        let empty = batch.is_empty();
        seen.extend(batch);
        if empty {
            if finished {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }
    seen
}
