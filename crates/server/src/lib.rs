//! The composition root: the only crate that knows sockets, the runtime and how
//! `protocol` connects to `services`.
//!
//! One generic dispatch path serves every service: route by the SigV4 scope,
//! verify the signature, decode, execute (authorize + run + audit in one store
//! transaction), encode. Logging and request ids are written once, here.

mod dispatch;
mod publish;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use trailguard_services::Services;

pub use dispatch::MAX_BODY;

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
}

/// Serves until `shutdown` resolves, then stops accepting and waits for
/// in-flight requests (each of which commits or rolls back as a whole).
pub async fn run(
    server: Server,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let server = Arc::new(server);
    let wake = Arc::new(tokio::sync::Notify::new());
    let worker = tokio::spawn(background_worker(
        server.services.clone(),
        server.webhooks.clone(),
        wake.clone(),
    ));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        continue;
                    }
                };
                let server = server.clone();
                let wake = wake.clone();
                let service = hyper::service::service_fn(move |req| {
                    let server = server.clone();
                    let wake = wake.clone();
                    async move {
                        let response = dispatch::handle(&server, req, peer).await;
                        // What the request committed may be the worker's to act on.
                        wake.notify_one();
                        Ok::<_, std::convert::Infallible>(response)
                    }
                });
                let conn = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    if let Err(e) = conn.await {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                });
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    worker.abort();
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(std::time::Duration::from_secs(30)) => {
            tracing::warn!("in-flight requests did not finish within 30 s");
        }
    }
    // Deliver what trails still owe before exiting, as a graceful stop should.
    let services = server.services.clone();
    match tokio::task::spawn_blocking(move || services.deliver_trails(true)).await {
        Ok(Ok(n)) if n > 0 => tracing::info!(trails = n, "trail delivery flushed on shutdown"),
        Ok(Ok(_)) => {}
        Ok(Err(e)) => tracing::warn!(error = %e, "trail delivery could not be flushed"),
        Err(e) => tracing::warn!(error = %e, "trail delivery flush failed"),
    }
    Ok(())
}

/// The worker's period when nothing wakes it.
const WORKER_TICK: std::time::Duration = std::time::Duration::from_millis(500);
/// The least time between two runs: requests in a burst share one run.
const WORKER_GAP: std::time::Duration = std::time::Duration::from_millis(50);

/// Periodic work the services need done outside requests: service-linked role
/// deletion tasks, GuardDuty's finding summaries and live detections, finding
/// publishing and export, and trail delivery. Each step is its own transaction, so
/// stopping at any point leaves every task in a state the next run picks up.
///
/// It runs every [`WORKER_TICK`], and soon after a request (`wake`), at most
/// once per [`WORKER_GAP`], so a finding or a deletion task's outcome follows
/// the call that caused it within tens of milliseconds.
async fn background_worker(
    services: Arc<Services>,
    webhooks: Vec<String>,
    wake: Arc<tokio::sync::Notify>,
) {
    let mut tick = tokio::time::interval(WORKER_TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let publisher = publish::Publisher::new(webhooks);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = wake.notified() => {}
        }
        let s = services.clone();
        match tokio::task::spawn_blocking(move || s.process_deletion_tasks()).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "deletion tasks could not be processed"),
            Err(e) => tracing::warn!(error = %e, "deletion task worker failed"),
        }
        let s = services.clone();
        match tokio::task::spawn_blocking(move || s.build_finding_summaries()).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "finding summaries could not be built"),
            Err(e) => tracing::warn!(error = %e, "finding summary worker failed"),
        }
        let s = services.clone();
        match tokio::task::spawn_blocking(move || s.detect_findings()).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "detections could not run"),
            Err(e) => tracing::warn!(error = %e, "detection worker failed"),
        }
        publisher.publish(&services).await;
        let s = services.clone();
        match tokio::task::spawn_blocking(move || s.export_findings()).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "findings could not be exported"),
            Err(e) => tracing::warn!(error = %e, "finding export worker failed"),
        }
        let s = services.clone();
        match tokio::task::spawn_blocking(move || s.deliver_trails(false)).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "trails could not be delivered"),
            Err(e) => tracing::warn!(error = %e, "trail delivery worker failed"),
        }
        tokio::time::sleep(WORKER_GAP).await;
    }
}

/// The address a listener is bound to, for logs.
pub fn local_addr(listener: &TcpListener) -> Option<SocketAddr> {
    listener.local_addr().ok()
}
