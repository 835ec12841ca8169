//! The composition root: the only crate that knows sockets, the runtime and how
//! `protocol` connects to `services`.
//!
//! One generic dispatch path serves every service: route by the SigV4 scope,
//! verify the signature, decode, execute (authorize + run + audit in one store
//! transaction), encode. Logging and request ids are written once, here.
//!
//! Clients cannot hold the server: connections are capped ([`Limits`]),
//! headers and bodies have deadlines, failed accepts back off, and the health
//! endpoint fails when the store cannot take a write (`health`).

mod dispatch;
mod health;
mod publish;
mod stall;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use trailguard_core::{Moment, Services};
use trailguard_store::CatchUp;

pub use dispatch::MAX_BODY;
pub use health::HEALTH_DEADLINE;

/// What the server needs to run.
pub struct Server {
    pub services: Arc<Services>,
    pub clock: Arc<dyn trailguard_model::Clock>,
    pub ids: Arc<dyn trailguard_model::IdGen>,
    /// The region `serve` announces; every signed request names its own, one
    /// AWS serves, and is served and recorded there.
    pub default_region: String,
    /// Where GuardDuty findings are published (`http://...`; `slack+http://...`
    /// for a Slack-compatible payload).
    pub webhooks: Vec<String>,
    /// How many connections and for how long.
    pub limits: Limits,
}

/// What one client may hold: the defences against clients that open
/// connections and send slowly or not at all. Defaults in [`Limits::default`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Connections served at once. Beyond it the server stops accepting, so
    /// further connections wait in the kernel's backlog (and take no file
    /// descriptor) until one closes.
    pub max_connections: usize,
    /// How long a client has to send a request's headers, counted from the
    /// moment the connection opens or its previous response was sent: also
    /// how long an idle keep-alive connection is kept, and how long a response
    /// may wait for the client to read any of it.
    pub header_timeout: Duration,
    /// How long a client has to send a request's whole body once its headers
    /// are in; then it is answered `RequestTimeout` and the connection closed.
    pub body_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            // Half the usual 1024 file-descriptor limit: the rest stays for the
            // database, blobs, webhooks and the backlog's turn.
            max_connections: 512,
            // AWS's front ends close a connection idle for about 20 s.
            header_timeout: Duration::from_secs(20),
            // 8 MiB (the largest body) in 60 s is ~140 KB/s.
            body_timeout: Duration::from_secs(60),
        }
    }
}

/// The longest pause after failed `accept()` calls in a row.
const ACCEPT_BACKOFF_MAX: Duration = Duration::from_secs(1);
/// The first pause after a failed `accept()`.
const ACCEPT_BACKOFF_MIN: Duration = Duration::from_millis(5);
/// Failed accepts are logged at most this often (with how many there were).
const ACCEPT_LOG_EVERY: Duration = Duration::from_secs(1);

/// Pauses after failed `accept()` calls: a full file-descriptor table fails
/// every accept at once, and retrying at once spins a core and floods the log.
struct AcceptBackoff {
    pause: Duration,
    failures: u64,
    last_log: Option<Instant>,
}

impl AcceptBackoff {
    fn new() -> Self {
        Self {
            pause: Duration::ZERO,
            failures: 0,
            last_log: None,
        }
    }

    fn succeeded(&mut self) {
        self.pause = Duration::ZERO;
    }

    /// Logs (at most once per [`ACCEPT_LOG_EVERY`]) and says how long to wait.
    fn failed(&mut self, e: &std::io::Error) -> Duration {
        use std::io::ErrorKind;
        // A client that gave up before its connection was taken: not our failure.
        if matches!(
            e.kind(),
            ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset | ErrorKind::Interrupted
        ) {
            tracing::debug!(error = %e, "a connection closed before it was accepted");
            return Duration::ZERO;
        }
        self.failures += 1;
        if self
            .last_log
            .is_none_or(|at| at.elapsed() >= ACCEPT_LOG_EVERY)
        {
            tracing::warn!(
                error = %e,
                failures = self.failures,
                "accepting connections is failing; pausing up to 1 s between attempts"
            );
            self.failures = 0;
            self.last_log = Some(Instant::now());
        }
        self.pause = (self.pause * 2).clamp(ACCEPT_BACKOFF_MIN, ACCEPT_BACKOFF_MAX);
        self.pause
    }
}

/// Serves until `shutdown` resolves, then stops accepting and waits for
/// in-flight requests (each of which commits or rolls back as a whole).
pub async fn run(
    server: Server,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let limits = server.limits;
    let server = Arc::new(server);
    let probe = Arc::new(health::Probe::default());
    let wake = Arc::new(tokio::sync::Notify::new());
    let worker = tokio::spawn(background_worker(
        server.services.clone(),
        server.webhooks.clone(),
        wake.clone(),
    ));
    let maintain = Arc::new(tokio::sync::Notify::new());
    let maintenance = tokio::spawn(store_maintenance(server.services.clone(), maintain.clone()));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let slots = Arc::new(tokio::sync::Semaphore::new(limits.max_connections.max(1)));
    let mut http = hyper::server::conn::http1::Builder::new();
    // Without a timer hyper silently ignores the header timeout.
    http.timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    let mut backoff = AcceptBackoff::new();
    tokio::pin!(shutdown);
    loop {
        // A slot first, then a connection: beyond the limit connections wait
        // in the backlog rather than holding a descriptor here.
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let (stream, peer) = match accepted {
            Ok(a) => {
                backoff.succeeded();
                a
            }
            Err(e) => {
                let pause = backoff.failed(&e);
                tokio::select! {
                    () = tokio::time::sleep(pause) => continue,
                    () = &mut shutdown => break,
                }
            }
        };
        let server = server.clone();
        let probe = probe.clone();
        let wake = wake.clone();
        let maintain = maintain.clone();
        let service = hyper::service::service_fn(move |req| {
            let server = server.clone();
            let probe = probe.clone();
            let wake = wake.clone();
            let maintain = maintain.clone();
            async move {
                let response = dispatch::handle(&server, &probe, req, peer).await;
                // What the request committed may be the worker's to act on.
                wake.notify_one();
                maintain.notify_one();
                Ok::<_, std::convert::Infallible>(response)
            }
        });
        let io =
            stall::WriteDeadline::new(hyper_util::rt::TokioIo::new(stream), limits.header_timeout);
        let conn = http.serve_connection(io, service);
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
            drop(slot);
        });
    }
    drop(listener);
    worker.abort();
    maintenance.abort();
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(std::time::Duration::from_secs(30)) => {
            tracing::warn!("in-flight requests did not finish within 30 s");
        }
    }
    // Background work that must not wait for the next start (trails deliver
    // what they owe) runs once more before exiting, as a graceful stop should.
    let services = server.services.clone();
    match tokio::task::spawn_blocking(move || {
        run_jobs(&services, Moment::Shutdown);
    })
    .await
    {
        Ok(()) => {}
        Err(e) => tracing::warn!(error = %e, "the shutdown flush failed"),
    }
    Ok(())
}

/// The worker's period when nothing wakes it.
const WORKER_TICK: std::time::Duration = std::time::Duration::from_millis(500);
/// The least time between two runs: requests in a burst share one run.
const WORKER_GAP: std::time::Duration = std::time::Duration::from_millis(50);

/// Periodic work the services need done outside requests: each service's
/// background jobs in registration order (service-linked role deletion tasks,
/// GuardDuty's finding summaries, detections and export, then trail delivery,
/// which so delivers what the others recorded in the same run), then
/// the events services post to webhooks. Each step is its own transaction, so
/// stopping at any point leaves every task in a state the next run picks up.
///
/// It runs every [`WORKER_TICK`], and soon after a request (`wake`), at most
/// once per [`WORKER_GAP`], so a finding or a deletion task's outcome follows
/// the call that caused it within tens of milliseconds. Jobs and outboxes
/// that know they have nothing to do ([`trailguard_core::BackgroundJob::idle`])
/// are skipped, so a run after requests that gave no job anything costs
/// no transaction.
async fn background_worker(
    services: Arc<Services>,
    webhooks: Vec<String>,
    wake: Arc<tokio::sync::Notify>,
) {
    let publisher = publish::Publisher::new(webhooks);
    let mut pace = Pace::new();
    loop {
        pace.next(&wake).await;
        // Each job on a blocking thread of its own: one that panics is
        // logged and the others (trail delivery among them) still run. A
        // job known to have nothing to do is skipped without a thread or a
        // transaction.
        let busy: Vec<usize> = services
            .registry()
            .background()
            .enumerate()
            .filter(|(_, job)| !job.idle(&services))
            .map(|(i, _)| i)
            .collect();
        for i in busy {
            let s = services.clone();
            let run = tokio::task::spawn_blocking(move || {
                if let Some(job) = s.registry().background().nth(i) {
                    run_job(&s, job.as_ref(), Moment::Tick);
                }
            });
            if let Err(e) = run.await {
                tracing::warn!(error = %e, "a background job failed");
            }
        }
        publisher.publish(&services).await;
    }
}

/// The store's own deferred work (the lookup index, checkpoints: see
/// `Store::catch_up`), on a loop of its own so that no job or webhook can
/// hold it back: the unindexed tail that lookups read stays short.
async fn store_maintenance(services: Arc<Services>, wake: Arc<tokio::sync::Notify>) {
    let mut pace = Pace::new();
    loop {
        pace.next(&wake).await;
        let s = services.clone();
        let caught_up =
            tokio::task::spawn_blocking(move || s.catch_up_store(CatchUp::WhenWorthIt)).await;
        if let Err(e) = caught_up {
            tracing::warn!(error = %e, "the store's catch-up failed");
        }
    }
}

/// When a background loop runs: every [`WORKER_TICK`], and soon after a
/// request notifies it, at most once per [`WORKER_GAP`] (requests in a burst
/// share a run).
struct Pace {
    tick: tokio::time::Interval,
    ran: bool,
}

impl Pace {
    fn new() -> Self {
        let mut tick = tokio::time::interval(WORKER_TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        Self { tick, ran: false }
    }

    /// Waits for the next run.
    async fn next(&mut self, wake: &tokio::sync::Notify) {
        if self.ran {
            tokio::time::sleep(WORKER_GAP).await;
        }
        self.ran = true;
        tokio::select! {
            _ = self.tick.tick() => {}
            () = wake.notified() => {}
        }
    }
}

/// Runs every background job once; a job that fails is logged and the next
/// runs anyway.
fn run_jobs(services: &Services, moment: Moment) {
    if moment == Moment::Shutdown {
        services.catch_up_store(CatchUp::All);
    }
    for job in services.registry().background() {
        run_job(services, job.as_ref(), moment);
    }
}

fn run_job(services: &Services, job: &dyn trailguard_core::BackgroundJob, moment: Moment) {
    match job.run(services, moment) {
        Ok(n) if n > 0 && moment == Moment::Shutdown => {
            tracing::info!(job = job.name(), done = n, "flushed on shutdown");
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(job = job.name(), error = %e, "background job failed"),
    }
}

/// The address a listener is bound to, for logs.
pub fn local_addr(listener: &TcpListener) -> Option<SocketAddr> {
    listener.local_addr().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_accepts_back_off_up_to_a_second_and_success_resets() {
        let mut b = AcceptBackoff::new();
        let emfile = std::io::Error::from_raw_os_error(24);
        let pauses: Vec<Duration> = (0..12).map(|_| b.failed(&emfile)).collect();
        assert_eq!(pauses.first(), Some(&ACCEPT_BACKOFF_MIN));
        assert!(pauses.windows(2).all(|w| matches!(w, [a, b] if a <= b)));
        assert_eq!(pauses.last(), Some(&ACCEPT_BACKOFF_MAX));
        // Only the first failure in this second was logged; the rest are counted.
        assert_eq!(b.failures, 11);
        b.succeeded();
        assert_eq!(b.failed(&emfile), ACCEPT_BACKOFF_MIN);
        // A client that left before being accepted is no reason to pause.
        let aborted = std::io::Error::from(std::io::ErrorKind::ConnectionAborted);
        assert_eq!(b.failed(&aborted), Duration::ZERO);
    }
}
