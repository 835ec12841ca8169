//! The shape of the workspace, checked: each crate depends only on the crates
//! ARCHITECTURE.md's table allows (read from `cargo metadata`), the core and
//! the layers under it name no service crate, and every restJson1 route
//! names an operation its service serves (and every operation of a
//! restJson1 service has a route).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "tests"
)]

use serde_json::Value as Json;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use trailguard_model::wire::Protocol;
use trailguard_services::{Config, modules};

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

/// `crate name -> crates it may depend on`, from ARCHITECTURE.md's table.
fn allowed() -> BTreeMap<String, BTreeSet<String>> {
    let text = std::fs::read_to_string(Path::new(ROOT).join("ARCHITECTURE.md")).unwrap();
    let mut table = BTreeMap::new();
    for line in text.lines().filter(|l| l.starts_with("| `trailguard")) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let name = cells[1].split('`').nth(1).unwrap().to_string();
        let deps = cells[cells.len() - 2];
        let set = deps
            .split(',')
            .map(str::trim)
            .filter(|d| !d.is_empty() && *d != "—")
            .map(|d| format!("trailguard-{d}"))
            .collect();
        table.insert(name, set);
    }
    assert!(table.len() >= 10, "ARCHITECTURE.md's crate table not found");
    table
}

/// `crate name -> workspace crates it depends on` (normal and build
/// dependencies; tests may use anything).
fn actual() -> BTreeMap<String, BTreeSet<String>> {
    let out = std::process::Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(ROOT)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: Json = serde_json::from_slice(&out.stdout).unwrap();
    let mut graph = BTreeMap::new();
    for package in meta["packages"].as_array().unwrap() {
        let name = package["name"].as_str().unwrap().to_string();
        let deps = package["dependencies"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["kind"].as_str() != Some("dev"))
            .filter_map(|d| d["name"].as_str())
            .filter(|d| d.starts_with("trailguard-"))
            .map(str::to_string)
            .collect();
        graph.insert(name, deps);
    }
    graph
}

#[test]
fn every_crate_depends_only_on_what_the_architecture_allows() {
    let allowed = allowed();
    for (name, deps) in actual() {
        if name == "trailguard-fuzz" {
            continue;
        }
        let may = allowed
            .get(&name)
            .unwrap_or_else(|| panic!("{name} is not in ARCHITECTURE.md's crate table"));
        let extra: Vec<&String> = deps.difference(may).collect();
        assert!(
            extra.is_empty(),
            "{name} depends on {extra:?}, which ARCHITECTURE.md does not allow"
        );
    }
}

#[test]
fn the_core_and_the_layers_under_it_name_no_service() {
    let services: BTreeSet<String> = [
        "trailguard-iam",
        "trailguard-s3",
        "trailguard-cloudtrail",
        "trailguard-guardduty",
        "trailguard-workloads",
        "trailguard-services",
    ]
    .into_iter()
    .map(str::to_string)
    .collect();
    let graph = actual();
    for layer in [
        "trailguard-core",
        "trailguard-model",
        "trailguard-policy",
        "trailguard-protocol",
        "trailguard-store",
        "trailguard-server",
    ] {
        let named: Vec<&String> = graph[layer].intersection(&services).collect();
        assert!(named.is_empty(), "{layer} depends on {named:?}");
    }
    // Nor in its source: no path into a service crate, and no service's
    // signing name as a match arm or comparison.
    for entry in std::fs::read_dir(Path::new(ROOT).join("crates/core/src")).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        for service in &services {
            let module = service.replace('-', "_");
            assert!(
                !text.contains(&format!("{module}::")),
                "{} uses {module}",
                path.display()
            );
        }
    }
}

#[test]
fn every_route_names_a_served_operation_and_every_rest_operation_has_a_route() {
    for module in modules(&Config::default()) {
        let served: BTreeSet<&str> = module.operations.iter().map(|op| op.name).collect();
        for route in module.def.routes {
            assert!(
                served.contains(route.operation),
                "{}: route {} {} names {}, which is not served",
                module.def.id,
                route.method,
                route.path,
                route.operation
            );
        }
        if module.def.protocol == Protocol::RestJson1 {
            let routed: BTreeSet<&str> = module.def.routes.iter().map(|r| r.operation).collect();
            let missing: Vec<&&str> = served.difference(&routed).collect();
            assert!(
                missing.is_empty(),
                "{}: no route for {missing:?}",
                module.def.id
            );
        } else {
            assert!(module.def.routes.is_empty(), "{}", module.def.id);
        }
    }
}
