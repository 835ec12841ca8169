//! Publishing GuardDuty findings to webhooks: the HTTP side of the services'
//! durable outbox. Each due event is POSTed to every webhook that has not yet
//! accepted it (any 2xx); the outbox keeps it, with backoff, until all have.

use bytes::Bytes;
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use std::sync::Arc;
use std::time::Duration;
use trailguard_core::Notice;
use trailguard_core::Services;

const BATCH: usize = 50;
const TIMEOUT: Duration = Duration::from_secs(5);

/// Delivers queued finding events to the configured webhooks.
pub struct Publisher {
    webhooks: Vec<String>,
    client: Client<HttpConnector, Full<Bytes>>,
}

impl Publisher {
    pub fn new(webhooks: Vec<String>) -> Self {
        Self {
            webhooks,
            client: Client::builder(TokioExecutor::new()).build_http(),
        }
    }

    async fn post(&self, hook: &str, event: &Notice) -> bool {
        let (url, body) = match hook.strip_prefix("slack+") {
            Some(url) => (url, event.slack_body.clone()),
            None => (hook, event.body.clone()),
        };
        let Ok(req) = http::Request::post(url)
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(body)))
        else {
            tracing::warn!(webhook = hook, "webhook URL is not valid");
            return false;
        };
        match tokio::time::timeout(TIMEOUT, self.client.request(req)).await {
            Ok(Ok(resp)) if resp.status().is_success() => true,
            Ok(Ok(resp)) => {
                tracing::warn!(
                    webhook = hook,
                    status = resp.status().as_u16(),
                    "webhook refused a finding"
                );
                false
            }
            Ok(Err(e)) => {
                tracing::warn!(webhook = hook, error = %e, "webhook unreachable");
                false
            }
            Err(_) => {
                tracing::warn!(webhook = hook, "webhook timed out");
                false
            }
        }
    }

    /// One round: every due event to every webhook still owed it. With no
    /// webhooks configured the outbox is simply drained.
    pub async fn publish(&self, services: &Arc<Services>) {
        let count = services.registry().outboxes().count();
        for i in 0..count {
            self.publish_outbox(services, i).await;
        }
    }

    /// Posts the due events of the `i`th outbox to every webhook that has not
    /// taken them yet, and reports each attempt back.
    async fn publish_outbox(&self, services: &Arc<Services>, i: usize) {
        if services
            .registry()
            .outboxes()
            .nth(i)
            .is_some_and(|o| o.idle(services))
        {
            return;
        }
        let s = services.clone();
        let due = tokio::task::spawn_blocking(move || match s.registry().outboxes().nth(i) {
            Some(outbox) => outbox.due(&s, BATCH),
            None => Ok(Vec::new()),
        });
        let events = match due.await {
            Ok(Ok(e)) => e,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "events to publish could not be read");
                return;
            }
            Err(_) => return,
        };
        for event in events {
            let mut accepted = Vec::new();
            for hook in self.webhooks.iter().filter(|h| !event.acked.contains(h)) {
                if self.post(hook, &event).await {
                    accepted.push(hook.clone());
                }
            }
            let done = self
                .webhooks
                .iter()
                .all(|h| event.acked.contains(h) || accepted.contains(h));
            let s = services.clone();
            let id = event.id.clone();
            let attempted =
                tokio::task::spawn_blocking(move || match s.registry().outboxes().nth(i) {
                    Some(outbox) => outbox.attempted(&s, &id, &accepted, done),
                    None => Ok(()),
                });
            match attempted.await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::warn!(error = %e, "event state could not be saved"),
                Err(_) => {}
            }
        }
    }
}
