//! `trailguard scan`: arguments, lists, the summary and the exit status. The
//! scanning itself is `trailguard-scan`'s.

use clap::{Args, ValueEnum};
use std::io::IsTerminal;
use std::path::PathBuf;
use time::OffsetDateTime;
use trailguard_detect::intel::{self, Cidr, IpSet, ListKind, ThreatList};
use trailguard_detect::{Engine, Intel};
use trailguard_scan::output::printable;
use trailguard_scan::{Format, Options, Summary};
use trailguard_sigma::correlation::Correlations;

#[derive(Clone, Copy, ValueEnum)]
pub enum FormatArg {
    /// trailguard's compact form: one finding a line, with the events behind it.
    Jsonl,
    /// GuardDuty's `Finding`, as GetFindings returns it, one a line.
    Guardduty,
    /// OCSF 1.3 Detection Finding (class 2004) events, one a line.
    Ocsf,
    /// A table for people.
    Table,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum SeverityArg {
    Low,
    Medium,
    High,
    Critical,
}

#[derive(Args)]
pub struct ScanArgs {
    /// Files or folders (AWS's `AWSLogs/` layout or any other) of CloudTrail
    /// logs: `.json.gz` or `.json` CloudTrail files, NDJSON, JSON arrays;
    /// `-` reads standard input. Formats are told by content.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Sigma rules: a rule file or a folder of them (`.yml`, `.yaml`),
    /// loaded unchanged; those for AWS CloudTrail are applied. Repeatable.
    #[arg(long = "rules", value_name = "PATH")]
    rules: Vec<PathBuf>,
    /// Leave out the built-in detections.
    #[arg(long)]
    no_builtin: bool,
    /// A threat list (GuardDuty's TXT or OTX_CSV format); calls from its
    /// addresses raise the `.Custom` finding types. Repeatable.
    #[arg(long = "threat-list", value_name = "FILE")]
    threat_lists: Vec<PathBuf>,
    /// A trusted IP list (TXT or OTX_CSV); calls from its addresses raise
    /// nothing. Repeatable.
    #[arg(long = "trusted-list", value_name = "FILE")]
    trusted_lists: Vec<PathBuf>,
    /// Tor exit nodes, one address a line (such as Tor's published exit list).
    #[arg(long = "tor-exit-list", value_name = "FILE")]
    tor_exit_list: Option<PathBuf>,
    /// AWS's published address ranges (`ip-ranges.json`), so instance
    /// credentials used from another AWS address are told apart (InsideAWS)
    /// from those used outside AWS.
    #[arg(long = "aws-ip-ranges", value_name = "FILE")]
    aws_ip_ranges: Option<PathBuf>,
    /// How findings are written.
    #[arg(long, value_enum, default_value = "jsonl")]
    format: FormatArg,
    /// Write findings here instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,
    /// Write only findings at or above this severity (and exit 1 only for them).
    #[arg(long, value_enum, default_value = "low")]
    min_severity: SeverityArg,
    /// Only events at or after this time (ISO 8601, or a date).
    #[arg(long, value_parser = parse_time)]
    since: Option<OffsetDateTime>,
    /// Only events before this time (ISO 8601, or a date).
    #[arg(long, value_parser = parse_time)]
    until: Option<OffsetDateTime>,
    /// Only events of this account (`recipientAccountId`).
    #[arg(long)]
    account: Option<String>,
    /// Only events of this region (`awsRegion`).
    #[arg(long)]
    region: Option<String>,
    /// Worker threads (default: every core).
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=256))]
    threads: Option<u16>,
    /// No progress bar and no summary.
    #[arg(long, short = 'q')]
    quiet: bool,
}

fn parse_time(s: &str) -> Result<OffsetDateTime, String> {
    if let Some(t) = trailguard_model::clock::parse_iso8601(s) {
        return Ok(t);
    }
    let date = time::Date::parse(s, time::macros::format_description!("[year]-[month]-[day]"))
        .map_err(|_| {
            format!("'{s}' is not an ISO 8601 time (2026-12-01T10:00:00Z) or a date (2026-12-01)")
        })?;
    Ok(date.midnight().assume_utc())
}

/// A list file's entries; OTX_CSV is told by its header, anything else is TXT.
fn read_list(path: &PathBuf, kind: ListKind) -> Result<intel::Entries, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let head = String::from_utf8_lossy(bytes.get(..64).unwrap_or(&bytes)).to_ascii_lowercase();
    let format = if head.trim_start().starts_with("indicator type") {
        "OTX_CSV"
    } else {
        "TXT"
    };
    // Local files have no GuardDuty quota: that bounds uploads to a detector.
    intel::parse_entries(kind, format, &bytes).map_err(|e| format!("{}: {e}", path.display()))
}

fn intel(args: &ScanArgs) -> Result<Intel, String> {
    let mut trusted: Vec<Cidr> = Vec::new();
    for p in &args.trusted_lists {
        trusted.extend(read_list(p, ListKind::Trusted)?.cidrs);
    }
    let mut threats = Vec::new();
    for p in &args.threat_lists {
        let entries = read_list(p, ListKind::Threat)?;
        let name = p.file_name().map_or_else(
            || p.display().to_string(),
            |n| n.to_string_lossy().to_string(),
        );
        threats.push(ThreatList {
            name,
            ips: IpSet::new(&entries.cidrs),
        });
    }
    let tor = match &args.tor_exit_list {
        Some(p) => IpSet::new(&read_list(p, ListKind::Threat)?.cidrs),
        None => IpSet::default(),
    };
    let aws = match &args.aws_ip_ranges {
        Some(p) => {
            let bytes =
                std::fs::read(p).map_err(|e| format!("cannot read {}: {e}", p.display()))?;
            intel::aws_ranges(&bytes).map_err(|e| format!("{}: {e}", p.display()))?
        }
        None => IpSet::default(),
    };
    Ok(Intel {
        trusted: IpSet::new(&trusted),
        threats,
        tor,
        aws,
    })
}

/// The engine: the built-in rules (unless left out) and the Sigma rules at
/// these paths. A rule that does not load is an error naming it.
pub fn engine_with_rules(
    paths: &[PathBuf],
    builtin: bool,
    quiet: bool,
    correlate: bool,
) -> Result<(Engine, Correlations), String> {
    let mut loaded = trailguard_sigma::Loaded::default();
    for p in paths {
        if !p.exists() {
            return Err(format!("no rules at {}", p.display()));
        }
        trailguard_sigma::load(p, &mut loaded);
    }
    if !loaded.errors.is_empty() {
        for (file, e) in &loaded.errors {
            eprintln!("trailguard: {file}: {e}");
        }
        return Err(format!(
            "{} Sigma rules could not be loaded",
            loaded.errors.len()
        ));
    }
    if !quiet {
        for (doc, why) in &loaded.not_applied {
            eprintln!("trailguard: {}: {why}", printable(doc));
        }
    }
    let (total, others) = (
        loaded.rules.len(),
        loaded.rules.iter().filter(|r| !r.cloudtrail).count(),
    );
    if others > 0 && !quiet {
        eprintln!(
            "trailguard: {others} of {total} Sigma rules are not for AWS CloudTrail and are not applied"
        );
    }
    // Where correlations are not applied, the rules they name alert alone.
    let (rules, correlations) = loaded.split_with(correlate).map_err(|errors| {
        for (file, e) in &errors {
            eprintln!("trailguard: {}: {}", printable(file), printable(e));
        }
        format!("{} Sigma correlations could not be set up", errors.len())
    })?;
    Ok((Engine::with(rules, builtin), correlations))
}

/// Runs a scan; the exit status: 0 no finding at the minimum severity, 1 some,
/// 2 a usage or I/O error.
pub fn run(args: ScanArgs) -> u8 {
    match try_run(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("trailguard scan: {e}");
            2
        }
    }
}

fn try_run(args: ScanArgs) -> Result<u8, String> {
    let intel = intel(&args)?;
    let (engine, correlations) =
        engine_with_rules(&args.rules, !args.no_builtin, args.quiet, true)?;
    if engine.is_empty() && correlations.is_empty() {
        return Err("no rules: --no-builtin leaves none, and no --rules were given".into());
    }
    let options = Options {
        paths: args.paths.clone(),
        engine,
        correlations,
        remember: !args.no_builtin,
        intel,
        format: match args.format {
            FormatArg::Jsonl => Format::Jsonl,
            FormatArg::Guardduty => Format::GuardDuty,
            FormatArg::Ocsf => Format::Ocsf,
            FormatArg::Table => Format::Table,
        },
        min_severity: match args.min_severity {
            SeverityArg::Low => 0.0,
            SeverityArg::Medium => 4.0,
            SeverityArg::High => 7.0,
            SeverityArg::Critical => 9.0,
        },
        since: args.since,
        until: args.until,
        account: args.account.clone(),
        region: args.region.clone(),
        threads: args.threads.map(usize::from),
        progress: !args.quiet && std::io::stderr().is_terminal(),
    };
    let summary = match &args.output {
        Some(path) => {
            let file = std::fs::File::create(path)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            let mut out = std::io::BufWriter::new(file);
            trailguard_scan::run(&options, &mut out)
        }
        None => {
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            trailguard_scan::run(&options, &mut out)
        }
    }
    .map_err(|e| format!("cannot write findings: {e}"))?;
    if !args.quiet {
        report(&summary);
    }
    Ok(if summary.io_errors > 0 {
        2
    } else if summary.written > 0 {
        1
    } else {
        0
    })
}

/// The summary, on standard error.
fn report(s: &Summary) {
    const SHOWN: usize = 20;
    for r in s.problems.iter().take(SHOWN) {
        let at = match (r.problem.line, r.problem.offset) {
            (Some(l), Some(o)) => format!(":{l} (byte {o})"),
            (Some(l), None) => format!(":{l}"),
            _ => String::new(),
        };
        eprintln!(
            "trailguard scan: {}{at}: {}",
            printable(&r.file),
            printable(&r.problem.message)
        );
    }
    if s.problem_count > SHOWN as u64 {
        eprintln!(
            "trailguard scan: ... and {} more problems",
            s.problem_count - SHOWN as u64
        );
    }
    if s.dropped_findings > 0 {
        eprintln!(
            "trailguard scan: {} more findings were not kept: at most {} are held; narrow the scan with --since, --until, --account or --region",
            s.dropped_findings,
            trailguard_scan::aggregate::MAX_FINDINGS
        );
    }
    let secs = s.elapsed.as_secs_f64().max(0.000_001);
    eprintln!(
        "scanned {} files, {} records ({:.1} MB) in {:.2}s: {:.0} records/s; {} not CloudTrail records, {} filtered out, {} problems; {} findings ({} at or above the minimum severity)",
        s.files,
        s.records,
        s.bytes as f64 / 1e6,
        secs,
        s.records as f64 / secs,
        s.bad_records,
        s.filtered,
        s.problem_count,
        s.findings,
        s.written
    );
}
