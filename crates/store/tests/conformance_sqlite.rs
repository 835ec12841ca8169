//! The SQLite backend against the store conformance suite: in memory, and on
//! disk in a private data directory with each durability setting.

#![allow(clippy::unwrap_used, reason = "tests")]

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use trailguard_store::{Durability, SqliteStore, Store, conformance};

/// Runs every check on stores from `new_store`, saying which check runs.
fn run_all(backend: &str, new_store: conformance::NewStore<'_>) {
    for (name, check) in conformance::CHECKS {
        eprintln!("{backend}: {name}");
        check(new_store);
    }
}

#[test]
fn sqlite_in_memory_conforms() {
    run_all("in memory", &|| -> Arc<dyn Store> {
        Arc::new(SqliteStore::in_memory().unwrap())
    });
}

/// Each store gets a new database file in one `0700` data directory, opened as
/// the server opens it.
fn on_disk(durability: Durability) {
    let base = tempfile::tempdir().unwrap();
    let data: PathBuf = base.path().join("data");
    trailguard_store::private::ensure_private_dir(&data).unwrap();
    let made = AtomicUsize::new(0);
    let new_store = || -> Arc<dyn Store> {
        let n = made.fetch_add(1, Ordering::SeqCst);
        let path = data.join(format!("trailguard-{n}.db"));
        Arc::new(SqliteStore::open(&path, durability).unwrap())
    };
    run_all(&format!("on disk, {durability:?}"), &new_store);
    // Every check ran on disk, each on stores of its own.
    assert!(made.load(Ordering::SeqCst) >= conformance::CHECKS.len());
}

#[test]
fn sqlite_on_disk_with_normal_durability_conforms() {
    on_disk(Durability::Normal);
}

#[test]
fn sqlite_on_disk_with_full_durability_conforms() {
    on_disk(Durability::Full);
}
