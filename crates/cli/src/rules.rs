//! `trailguard rules test PATH`: each Sigma rule file against the events
//! beside it. For `NAME.yml`, `NAME.positive.json` (or `.jsonl`) holds events
//! every rule in the file must match, and `NAME.negative.json` (or `.jsonl`)
//! events none may; either may be a CloudTrail file, a JSON array or NDJSON.

use std::path::{Path, PathBuf};
use trailguard_detect::Record;
use trailguard_scan::input::{self, Problem, Sink, Source};
use trailguard_scan::output::printable;
use trailguard_sigma::{Loaded, SigmaRule};

#[derive(clap::Args)]
pub struct TestArgs {
    /// A rule file or a folder of them.
    path: PathBuf,
}

#[derive(Default)]
struct Events {
    records: Vec<(String, u64)>,
    problems: Vec<Problem>,
}

impl Sink for Events {
    fn record(&mut self, text: &str, offset: u64, line: u64) -> Option<usize> {
        let (parsed, len) = Record::parse_first(text);
        if let Err(e) = parsed {
            self.problems.push(Problem::at(offset, line, e.to_string()));
        }
        let len = len?;
        self.records
            .push((text.get(..len).unwrap_or(text).to_string(), line));
        Some(len)
    }
    fn problem(&mut self, p: Problem) {
        self.problems.push(p);
    }
}

/// Rule files under a path, sorted; links to folders are not followed and
/// folders nest at most as deep as the loader walks.
fn rule_files(path: &Path, out: &mut Vec<PathBuf>, depth: usize) {
    if path.is_dir() {
        if depth > trailguard_sigma::MAX_DEPTH {
            return;
        }
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
            .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        entries.sort();
        for e in entries {
            let link_to_folder =
                std::fs::symlink_metadata(&e).is_ok_and(|m| m.is_symlink()) && e.is_dir();
            if !link_to_folder {
                rule_files(&e, out, depth + 1);
            }
        }
    } else if path.extension().is_some_and(|x| x == "yml" || x == "yaml") {
        out.push(path.to_path_buf());
    }
}

/// The events file beside a rule file, if there is one.
fn beside(rule: &Path, kind: &str) -> Option<PathBuf> {
    let stem = rule.file_stem()?.to_string_lossy().to_string();
    ["json", "jsonl", "json.gz", "jsonl.gz"]
        .iter()
        .map(|ext| rule.with_file_name(format!("{stem}.{kind}.{ext}")))
        .find(|p| p.is_file())
}

/// Outcome of one file: failures, and whether it had tests.
fn test_file(file: &Path) -> Result<(Vec<String>, usize), String> {
    let mut loaded = Loaded::default();
    trailguard_sigma::load(file, &mut loaded);
    if let Some((_, e)) = loaded.errors.first() {
        return Err(e.clone());
    }
    let mut failures = Vec::new();
    let mut tested = 0;
    for (kind, want) in [("positive", true), ("negative", false)] {
        let Some(events_file) = beside(file, kind) else {
            continue;
        };
        let mut events = Events::default();
        input::read(&Source::File(events_file.clone()), &mut events)
            .map_err(|e| format!("{}: {e}", events_file.display()))?;
        if let Some(p) = events.problems.first() {
            return Err(format!("{}: {}", events_file.display(), p.message));
        }
        for (text, line) in &events.records {
            let r = Record::parse(text)
                .map_err(|e| format!("{}:{line}: {e}", events_file.display()))?;
            tested += 1;
            for rule in &loaded.rules {
                if matches(rule, &r) != want {
                    failures.push(format!(
                        "{}:{line}: '{}' {} this {kind} event",
                        events_file.display(),
                        rule.title,
                        if want { "does not match" } else { "matches" }
                    ));
                }
            }
        }
    }
    Ok((failures, tested))
}

/// A path as it may be printed.
fn shown(p: &Path) -> String {
    printable(&p.display().to_string()).into_owned()
}

fn matches(rule: &SigmaRule, r: &Record<'_>) -> bool {
    rule.matches(r)
}

/// Exit status: 0 every test passes, 1 some fail, 2 a rule or events file
/// cannot be read.
pub fn run(args: &TestArgs) -> u8 {
    let mut files = Vec::new();
    rule_files(&args.path, &mut files, 0);
    if files.is_empty() {
        eprintln!(
            "trailguard rules test: no rule files at {}",
            args.path.display()
        );
        return 2;
    }
    let (mut passed, mut failed, mut untested, mut broken) = (0, 0, 0, 0);
    for f in &files {
        match test_file(f) {
            Err(e) => {
                broken += 1;
                println!("ERROR    {}: {}", shown(f), printable(&e));
            }
            Ok((_, 0)) => {
                untested += 1;
                println!(
                    "UNTESTED {} (no .positive or .negative events beside it)",
                    f.display()
                );
            }
            Ok((failures, n)) if failures.is_empty() => {
                passed += 1;
                println!("PASS     {} ({n} events)", shown(f));
            }
            Ok((failures, _)) => {
                failed += 1;
                println!("FAIL     {}", shown(f));
                for line in failures {
                    println!("         {}", printable(&line));
                }
            }
        }
    }
    println!("{passed} passed, {failed} failed, {untested} untested, {broken} could not be read");
    if broken > 0 {
        2
    } else if failed > 0 {
        1
    } else {
        0
    }
}
