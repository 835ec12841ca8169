//! The trailguard binary: argument parsing and human-facing output only.

mod rules;
mod scan;
mod simulate;

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use trailguard_model::{RandomIds, SystemClock};
use trailguard_server::Server;
use trailguard_services::{Accounts as _, BootstrapError, Config, TrailTiming};
use trailguard_store::{Durability, FsBlobs, SqliteStore};

#[derive(Parser)]
#[command(
    name = "trailguard",
    version,
    about = "A self-hosted, AWS-compatible identity, audit and threat-detection service."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum DurabilityArg {
    /// Commits survive a crash of the process.
    Normal,
    /// Commits are also fsynced, surviving power loss.
    Full,
}

#[derive(Subcommand)]
enum Command {
    /// Run the service on the embedded store.
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:4747", env = "TRAILGUARD_LISTEN")]
        listen: String,
        /// Where state and the audit trail are kept.
        #[arg(long, default_value = "./trailguard-data", env = "TRAILGUARD_DATA_DIR")]
        data_dir: PathBuf,
        /// The default account id (12 digits); generated on first start if unset.
        #[arg(long, env = "TRAILGUARD_ACCOUNT_ID")]
        account_id: Option<String>,
        /// The root user's access key id; generated on first start if unset.
        #[arg(long, env = "TRAILGUARD_ROOT_ACCESS_KEY_ID", hide_env_values = true)]
        root_access_key_id: Option<String>,
        /// The root user's secret access key; generated on first start if unset.
        #[arg(
            long,
            env = "TRAILGUARD_ROOT_SECRET_ACCESS_KEY",
            hide_env_values = true
        )]
        root_secret_access_key: Option<String>,
        /// Region reported when a request names none.
        #[arg(long, default_value = "us-east-1", env = "TRAILGUARD_REGION")]
        region: String,
        /// How hard each commit works to be durable.
        #[arg(
            long,
            value_enum,
            default_value = "normal",
            env = "TRAILGUARD_DURABILITY"
        )]
        durability: DurabilityArg,
        /// Seconds between a logging trail's log file deliveries (AWS: about 300).
        #[arg(long, default_value_t = 300, env = "TRAILGUARD_TRAIL_LOG_INTERVAL")]
        trail_log_interval: u32,
        /// Seconds between a trail's digest files (AWS: hourly).
        #[arg(long, default_value_t = 3600, env = "TRAILGUARD_TRAIL_DIGEST_INTERVAL")]
        trail_digest_interval: u32,
        /// Where GuardDuty findings are published as EventBridge events (repeat,
        /// or comma-separate in the environment); `slack+http://...` sends a
        /// Slack-compatible payload instead.
        #[arg(
            long = "findings-webhook",
            env = "TRAILGUARD_FINDINGS_WEBHOOKS",
            value_delimiter = ','
        )]
        findings_webhooks: Vec<String>,
        /// Sigma rules (a file or a folder) GuardDuty's detectors run beside
        /// the built-in detections; those for AWS CloudTrail are applied
        /// (repeat, or comma-separate in the environment).
        #[arg(
            long = "rules",
            value_name = "PATH",
            env = "TRAILGUARD_RULES",
            value_delimiter = ','
        )]
        rules: Vec<PathBuf>,
        /// Connections served at once; more wait until one closes.
        #[arg(long, default_value_t = 512, env = "TRAILGUARD_MAX_CONNECTIONS",
              value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
        max_connections: u32,
        /// Seconds a client has to send a request's headers (from connecting or
        /// from its previous response: also the keep-alive idle timeout).
        #[arg(long, default_value_t = 20, env = "TRAILGUARD_HEADER_TIMEOUT",
              value_parser = clap::value_parser!(u64).range(1..=3600))]
        header_timeout: u64,
        /// Seconds a client has to send a request's body once its headers are in.
        #[arg(long, default_value_t = 60, env = "TRAILGUARD_BODY_TIMEOUT",
              value_parser = clap::value_parser!(u64).range(1..=3600))]
        body_timeout: u64,
    },
    /// List every API operation served, with its IAM action, as JSON lines.
    Operations,
    /// Manage the accounts of a data directory (works while the server runs).
    Account {
        #[command(subcommand)]
        command: AccountCommand,
    },
    /// Run the detections over exported logs (CloudTrail files, folders in
    /// AWS's layout, NDJSON or standard input), offline.
    Scan(Box<scan::ScanArgs>),
    /// Work with Sigma rules.
    Rules {
        #[command(subcommand)]
        command: RulesCommand,
    },
    /// Work with IAM policies offline.
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
}

#[derive(Subcommand)]
enum AccountCommand {
    /// Create another account with its own root credentials (for member accounts,
    /// cross-account roles); prints them as a credentials profile.
    Create {
        /// Where state is kept (the server's `--data-dir`).
        #[arg(long, default_value = "./trailguard-data", env = "TRAILGUARD_DATA_DIR")]
        data_dir: PathBuf,
        /// The account id (12 digits); generated if unset.
        #[arg(long)]
        account_id: Option<String>,
    },
}

#[derive(Subcommand)]
enum RulesCommand {
    /// Run each rule file against the events beside it (NAME.positive.json
    /// must all match, NAME.negative.json none).
    Test(rules::TestArgs),
}

#[derive(Subcommand)]
enum PolicyCommand {
    /// Decide requests against policy files with the server's engine, showing the deciding statements.
    Simulate(simulate::SimulateArgs),
}

fn main() -> ExitCode {
    // Everything this process creates (the database and SQLite's -wal and -shm
    // files, blobs, directories) is its owner's alone, whatever the umask.
    trailguard_store::private::restrict_umask();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("TRAILGUARD_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let cli = Cli::parse();
    match cli.command {
        Command::Scan(args) => ExitCode::from(scan::run(*args)),
        Command::Rules {
            command: RulesCommand::Test(args),
        } => ExitCode::from(rules::run(&args)),
        Command::Policy {
            command: PolicyCommand::Simulate(args),
        } => match simulate::run(&args) {
            Ok(code) => ExitCode::from(code),
            Err(e) => {
                eprintln!("trailguard: {e}");
                ExitCode::from(2)
            }
        },
        Command::Account {
            command:
                AccountCommand::Create {
                    data_dir,
                    account_id,
                },
        } => match create_account(&data_dir, account_id.as_deref()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("trailguard: {e}");
                ExitCode::FAILURE
            }
        },
        Command::Operations => {
            for (service, op) in trailguard_services::all_operations() {
                println!(
                    "{{\"service\":\"{}\",\"operation\":\"{}\",\"action\":\"{}:{}\",\"read_only\":{}}}",
                    service.signing_name(),
                    op.name,
                    service.signing_name(),
                    op.action.unwrap_or(op.name),
                    op.read_only
                );
            }
            ExitCode::SUCCESS
        }
        Command::Serve {
            listen,
            data_dir,
            account_id,
            root_access_key_id,
            root_secret_access_key,
            region,
            durability,
            trail_log_interval,
            trail_digest_interval,
            findings_webhooks,
            rules,
            max_connections,
            header_timeout,
            body_timeout,
        } => match serve(ServeArgs {
            rules,
            webhooks: findings_webhooks,
            listen,
            data_dir,
            account_id,
            root_access_key_id,
            root_secret_access_key,
            region,
            durability,
            trail_timing: TrailTiming {
                log_interval: time::Duration::seconds(i64::from(trail_log_interval.max(1))),
                digest_interval: time::Duration::seconds(i64::from(trail_digest_interval.max(1))),
            },
            limits: trailguard_server::Limits {
                max_connections: usize::try_from(max_connections).unwrap_or(usize::MAX),
                header_timeout: std::time::Duration::from_secs(header_timeout),
                body_timeout: std::time::Duration::from_secs(body_timeout),
            },
        }) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("trailguard: {e}");
                ExitCode::FAILURE
            }
        },
    }
}

struct ServeArgs {
    rules: Vec<PathBuf>,
    listen: String,
    data_dir: PathBuf,
    account_id: Option<String>,
    root_access_key_id: Option<String>,
    root_secret_access_key: Option<String>,
    region: String,
    durability: DurabilityArg,
    trail_timing: TrailTiming,
    webhooks: Vec<String>,
    limits: trailguard_server::Limits,
}

fn serve(args: ServeArgs) -> Result<(), String> {
    if let Some(acct) = &args.account_id
        && (acct.len() != 12 || !acct.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(format!(
            "TRAILGUARD_ACCOUNT_ID must be 12 digits, not '{acct}'"
        ));
    }
    let root_key = match (&args.root_access_key_id, &args.root_secret_access_key) {
        (Some(k), Some(s)) => Some((k.as_str(), s.as_str())),
        (None, None) => None,
        _ => {
            return Err(
                "set both TRAILGUARD_ROOT_ACCESS_KEY_ID and TRAILGUARD_ROOT_SECRET_ACCESS_KEY, or neither".into(),
            );
        }
    };
    let detection = match args.rules.is_empty() {
        true => None,
        false => {
            let (engine, correlations) = scan::engine_with_rules(&args.rules, true, false, false)?;
            if !correlations.is_empty() {
                tracing::warn!(
                    count = correlations.list.len(),
                    "Sigma correlation rules are applied by `trailguard scan` only; the server leaves them out and runs the rules they name on their own"
                );
            }
            Some(Arc::new(engine))
        }
    };
    trailguard_store::private::ensure_private_dir(&args.data_dir)?;
    let db = args.data_dir.join("trailguard.db");
    let durability = match args.durability {
        DurabilityArg::Normal => Durability::Normal,
        DurabilityArg::Full => Durability::Full,
    };
    let store = SqliteStore::open(&db, durability)
        .map_err(|e| format!("cannot open {}: {e}", db.display()))?;
    let clock = Arc::new(SystemClock);
    let ids = Arc::new(RandomIds);
    let objects = args.data_dir.join("objects");
    let blobs =
        FsBlobs::open(&objects).map_err(|e| format!("cannot open {}: {e}", objects.display()))?;
    let services = Arc::new(
        trailguard_services::services_with(
            &Config {
                trail_timing: args.trail_timing,
                detection,
            },
            Arc::new(store),
            clock.clone(),
            ids.clone(),
        )
        .with_blobs(Arc::new(blobs)),
    );
    let boot = services
        .bootstrap(args.account_id.as_deref(), root_key)
        .map_err(|e| match e {
            BootstrapError::Refused(m) => m,
            BootstrapError::Internal(e) => {
                format!("cannot set up the default account: {}", e.message)
            }
        })?;
    for note in &boot.notes {
        tracing::warn!("{note}");
    }

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&args.listen)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
        let addr = trailguard_server::local_addr(&listener).map_or(args.listen.clone(), |a| a.to_string());
        println!("trailguard listening on http://{addr} (account {}, data in {})", boot.account_id, args.data_dir.display());
        if let Some(identity) = &boot.generated {
            println!("Generated root credentials for account {}; they are stored in the data directory and stay valid across restarts until deleted. They are shown only now.", identity.account_id);
            println!("Add this profile to ~/.aws/credentials, then use --profile trailguard --endpoint-url http://{addr}:\n");
            println!("[trailguard]");
            println!("aws_access_key_id = {}", identity.access_key_id);
            println!("aws_secret_access_key = {}", identity.secret_access_key.expose());
            println!("region = {}\n", args.region);
        }
        let server = Server {
            services,
            clock,
            ids,
            default_region: args.region,
            webhooks: args.webhooks,
            limits: args.limits,
        };
        trailguard_server::run(server, listener, shutdown_signal())
            .await
            .map_err(|e| format!("server failed: {e}"))?;
        println!("trailguard stopped");
        Ok(())
    })
}

fn create_account(data_dir: &std::path::Path, account_id: Option<&str>) -> Result<(), String> {
    if let Some(acct) = account_id
        && (acct.len() != 12 || !acct.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(format!("the account id must be 12 digits, not '{acct}'"));
    }
    trailguard_store::private::ensure_private_dir(data_dir)?;
    let db = data_dir.join("trailguard.db");
    let store = SqliteStore::open(&db, Durability::Normal)
        .map_err(|e| format!("cannot open {}: {e}", db.display()))?;
    let services =
        trailguard_services::services(Arc::new(store), Arc::new(SystemClock), Arc::new(RandomIds));
    let identity = services
        .create_account(account_id)
        .map_err(|e| format!("cannot create the account: {}", e.message))?;
    println!(
        "Created account {}. Its root credentials:\n",
        identity.account_id
    );
    println!("[trailguard-{}]", identity.account_id);
    println!("aws_access_key_id = {}", identity.access_key_id);
    println!(
        "aws_secret_access_key = {}",
        identity.secret_access_key.expose()
    );
    Ok(())
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
