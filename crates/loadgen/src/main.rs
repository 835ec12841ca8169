//! A load generator that speaks signed IAM: every request carries a real SigV4
//! signature, so the server's authentication, authorization, store and audit
//! paths are all measured, as a real client would exercise them.
//!
//! It reports throughput and latency percentiles as one JSON line, so the same
//! run can be compared against another IAM-compatible server (for example Moto).

use bytes::Bytes;
use clap::{Parser, ValueEnum};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use trailguard_protocol::sigv4::{SigningKey, sign_request};

#[derive(Clone, Copy, ValueEnum, Debug)]
enum Workload {
    /// `GetRole` on one existing role.
    GetRole,
    /// `CreateRole` then `DeleteRole` of a fresh role, both counted.
    CreateDeleteRole,
}

#[derive(Parser, Debug)]
#[command(about = "Signed IAM load against an endpoint; prints one JSON line of results.")]
struct Args {
    /// The endpoint, for example http://127.0.0.1:4747.
    #[arg(long)]
    endpoint: String,
    #[arg(long, env = "AWS_ACCESS_KEY_ID")]
    access_key_id: String,
    #[arg(long, env = "AWS_SECRET_ACCESS_KEY", hide_env_values = true)]
    secret_access_key: String,
    #[arg(long, default_value = "us-east-1")]
    region: String,
    #[arg(long, value_enum)]
    workload: Workload,
    /// Concurrent connections.
    #[arg(long, default_value_t = 8)]
    connections: usize,
    /// How long to run, in seconds.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// A label for the output line.
    #[arg(long, default_value = "trailguard")]
    target: String,
    /// Requests per second in all, spread evenly over the connections (an
    /// open loop): each request is due at its slot. A request sent on time
    /// is timed from when it went out; one whose slot passed while the
    /// connection waited for the previous answer is timed from its slot, so
    /// a server that falls behind is charged for the queue it builds.
    /// Without it, each connection sends as fast as it can.
    #[arg(long)]
    rate: Option<f64>,
}

const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}"#;

struct Shared {
    args: Args,
    authority: String,
    client: Client<HttpConnector, Full<Bytes>>,
    errors: AtomicU64,
    counter: AtomicU64,
}

/// A form-encoded query-protocol body.
fn form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Sends one signed IAM call; returns whether it got a 2xx.
async fn call(shared: &Shared, body: String) -> Result<bool, String> {
    let mut headers = http::HeaderMap::new();
    headers.insert(
        http::header::HOST,
        http::HeaderValue::from_str(&shared.authority).map_err(|e| e.to_string())?,
    );
    headers.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/x-www-form-urlencoded; charset=utf-8"),
    );
    let key = SigningKey {
        access_key_id: &shared.args.access_key_id,
        secret: &shared.args.secret_access_key,
        session_token: None,
    };
    sign_request(
        "POST",
        "/",
        "",
        &mut headers,
        body.as_bytes(),
        key,
        &shared.args.region,
        "iam",
        time::OffsetDateTime::now_utc(),
    );
    let mut req = http::Request::builder()
        .method("POST")
        .uri(format!("{}/", shared.args.endpoint.trim_end_matches('/')))
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| e.to_string())?;
    *req.headers_mut() = headers;
    let resp = shared
        .client
        .request(req)
        .await
        .map_err(|e| e.to_string())?;
    let ok = resp.status().is_success();
    // Drain the body so the connection is reused.
    let _ = resp.into_body().collect().await;
    Ok(ok)
}

async fn worker(shared: Arc<Shared>, deadline: Instant, slot: usize) -> Vec<u32> {
    let mut latencies = Vec::new();
    // With a rate, this connection's requests are due every `interval`,
    // offset from the others' by its slot.
    let connections = shared.args.connections.max(1);
    let interval = shared
        .args
        .rate
        .filter(|r| *r > 0.0)
        .map(|r| Duration::from_secs_f64(connections as f64 / r));
    let mut due = Instant::now()
        + interval.map_or(Duration::ZERO, |i| {
            i.mul_f64(slot as f64 / connections as f64)
        });
    while Instant::now() < deadline {
        let bodies = match shared.args.workload {
            Workload::GetRole => vec![form(&[
                ("Action", "GetRole"),
                ("Version", "2010-05-08"),
                ("RoleName", "loadgen-role"),
            ])],
            Workload::CreateDeleteRole => {
                let n = shared.counter.fetch_add(1, Ordering::Relaxed);
                let name = format!("loadgen-{}-{n}", std::process::id());
                vec![
                    form(&[
                        ("Action", "CreateRole"),
                        ("Version", "2010-05-08"),
                        ("RoleName", &name),
                        ("AssumeRolePolicyDocument", TRUST),
                    ]),
                    form(&[
                        ("Action", "DeleteRole"),
                        ("Version", "2010-05-08"),
                        ("RoleName", &name),
                    ]),
                ]
            }
        };
        for body in bodies {
            let started = match interval {
                Some(interval) => {
                    let at = due;
                    due += interval;
                    if Instant::now() < at {
                        // On time: the clock starts when the request goes
                        // out (the timer's own lateness is not the server's).
                        tokio::time::sleep_until(at.into()).await;
                        Instant::now()
                    } else {
                        // Behind (the last answer came after this slot):
                        // the server is charged from the slot.
                        at
                    }
                }
                None => Instant::now(),
            };
            if started >= deadline {
                break;
            }
            match call(&shared, body).await {
                Ok(true) => {}
                _ => {
                    shared.errors.fetch_add(1, Ordering::Relaxed);
                }
            }
            latencies.push(u32::try_from(started.elapsed().as_micros()).unwrap_or(u32::MAX));
        }
    }
    latencies
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * (sorted.len() as f64 - 1.0)).round() as usize;
    f64::from(sorted.get(rank).copied().unwrap_or(0)) / 1000.0
}

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("loadgen: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let authority = match args
            .endpoint
            .parse::<http::Uri>()
            .ok()
            .and_then(|u| u.authority().map(|a| a.to_string()))
        {
            Some(a) => a,
            None => {
                eprintln!("loadgen: --endpoint must be an http URL with a host");
                return ExitCode::FAILURE;
            }
        };
        let client = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(args.connections)
            .build_http();
        let connections = args.connections.max(1);
        let seconds = args.seconds;
        let shared = Arc::new(Shared {
            args,
            authority,
            client,
            errors: AtomicU64::new(0),
            counter: AtomicU64::new(0),
        });
        if matches!(shared.args.workload, Workload::GetRole) {
            // Set-up: the role may already exist.
            let _ = call(
                &shared,
                form(&[
                    ("Action", "CreateRole"),
                    ("Version", "2010-05-08"),
                    ("RoleName", "loadgen-role"),
                    ("AssumeRolePolicyDocument", TRUST),
                ]),
            )
            .await;
        }
        let started = Instant::now();
        let deadline = started + Duration::from_secs(seconds);
        let tasks: Vec<_> = (0..connections)
            .map(|slot| tokio::spawn(worker(shared.clone(), deadline, slot)))
            .collect();
        let mut all = Vec::new();
        for t in tasks {
            if let Ok(l) = t.await {
                all.extend(l);
            }
        }
        let elapsed = started.elapsed().as_secs_f64();
        all.sort_unstable();
        let line = serde_json::json!({
            "target": shared.args.target,
            "workload": format!("{:?}", shared.args.workload),
            "connections": connections,
            "rate": shared.args.rate,
            "seconds": (elapsed * 100.0).round() / 100.0,
            "requests": all.len(),
            "errors": shared.errors.load(Ordering::Relaxed),
            "requests_per_second": ((all.len() as f64 / elapsed) * 10.0).round() / 10.0,
            "p50_ms": percentile(&all, 50.0),
            "p99_ms": percentile(&all, 99.0),
        });
        println!("{line}");
        if shared.errors.load(Ordering::Relaxed) > 0 {
            ExitCode::FAILURE
        } else {
            ExitCode::SUCCESS
        }
    })
}
