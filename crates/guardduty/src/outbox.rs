//! Findings out: a durable outbox of EventBridge-format events
//! (`source: aws.guardduty`, `detail-type: GuardDuty Finding`).
//!
//! A new finding is queued in the same transaction that stores it; later
//! occurrences of a finding are queued at most once per the detector's
//! `FindingPublishingFrequency` (the latest state then), as GuardDuty publishes
//! updates. The server delivers each queued event to every configured webhook and
//! removes it only when all have accepted it, retrying with exponential backoff,
//! so delivery is at least once and survives restarts.

use super::Detector;
use serde::{Deserialize, Serialize};
use serde_json::{Value as Json, json};
use time::{Duration, OffsetDateTime};
use trailguard_core::Services;
use trailguard_core::env::Env;
use trailguard_core::error::Result;
use trailguard_core::module::{Notice, Outbox, Quiet};
use trailguard_model::ApiError;

const NS_OUTBOX: &str = "guardduty.outbox";
const NS_PUBLISHED: &str = "guardduty.published";
/// Findings with an update waiting for its publishing interval (same keys), so
/// the worker's tick reads only those.
const NS_PENDING: &str = "guardduty.published.pending";
const MAX_BACKOFF: Duration = Duration::minutes(5);

/// A queued event.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FindingEvent {
    pub id: String,
    /// The EventBridge event, as JSON text.
    pub event: String,
    /// Webhooks that have accepted it.
    pub acked: Vec<String>,
    pub attempts: u32,
    #[serde(with = "time::serde::rfc3339")]
    pub due: OffsetDateTime,
}

impl FindingEvent {
    /// A Slack-compatible payload for the same finding.
    pub fn slack_payload(&self) -> String {
        let e: Json = serde_json::from_str(&self.event).unwrap_or(Json::Null);
        let d = super::findings::get(&e, &["detail"]);
        let text = format!(
            "GuardDuty finding ({severity}) in {account}/{region}: {title}\n{kind} (count {count}, id {id})",
            severity = d["severity"],
            account = d["accountId"].as_str().unwrap_or_default(),
            region = d["region"].as_str().unwrap_or_default(),
            title = d["title"].as_str().unwrap_or_default(),
            kind = d["type"].as_str().unwrap_or_default(),
            count = super::findings::get(d, &["service", "count"]),
            id = d["id"].as_str().unwrap_or_default(),
        );
        json!({ "text": text }).to_string()
    }
}

/// When the finding was last queued.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Published {
    #[serde(with = "time::serde::rfc3339")]
    at: OffsetDateTime,
}

fn frequency(d: &Detector) -> Duration {
    match d.frequency.as_str() {
        "FIFTEEN_MINUTES" => Duration::minutes(15),
        "ONE_HOUR" => Duration::hours(1),
        _ => Duration::hours(6),
    }
}

fn finding_key(d: &Detector, finding: &Json) -> String {
    format!(
        "{}/{}/{}/{}",
        d.account,
        d.region,
        d.id,
        finding["id"].as_str().unwrap_or_default()
    )
}

fn queue(env: &mut Env<'_>, d: &Detector, finding: &Json) -> Result<()> {
    super::export::queue(env, d, finding)?;
    let id = env.ids.uuid();
    let event = json!({
        "version": "0",
        "id": id,
        "detail-type": "GuardDuty Finding",
        "source": "aws.guardduty",
        "account": finding["accountId"],
        "time": trailguard_model::clock::iso8601(env.now),
        "region": finding["region"],
        "resources": [],
        "detail": finding,
    });
    let item = FindingEvent {
        id: id.clone(),
        event: event.to_string(),
        acked: Vec::new(),
        attempts: 0,
        due: env.now,
    };
    env.put(NS_OUTBOX, &id, &item)
}

/// Queues a stored finding: at once when new, per the publishing frequency when
/// updated.
pub fn enqueue(env: &mut Env<'_>, d: &Detector, finding: &Json, new: bool) -> Result<()> {
    let key = finding_key(d, finding);
    let last: Option<Published> = env.get(NS_PUBLISHED, &key)?;
    let due = new || last.is_none_or(|p| env.now - p.at >= frequency(d));
    if due {
        publish(env, d, &key, finding)
    } else {
        env.put(NS_PENDING, &key, &())
    }
}

/// Queues the finding now and notes when.
fn publish(env: &mut Env<'_>, d: &Detector, key: &str, finding: &Json) -> Result<()> {
    queue(env, d, finding)?;
    env.delete(NS_PENDING, key)?;
    env.put(NS_PUBLISHED, key, &Published { at: env.now })
}

/// Queues the updates whose publishing interval has passed.
pub fn release_updates(env: &mut Env<'_>, d: &Detector) -> Result<()> {
    let prefix = d.prefix();
    let waiting: Vec<String> = env
        .tx
        .scan(NS_PENDING, &prefix, None, usize::MAX)?
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    for key in waiting {
        let last: Option<Published> = env.get(NS_PUBLISHED, &key)?;
        if last.is_some_and(|p| env.now - p.at < frequency(d)) {
            continue;
        }
        match env.get::<Json>(super::findings::NS_FINDING, &key)? {
            Some(finding) => publish(env, d, &key, &finding)?,
            // The finding is gone (its detector was deleted): nothing to publish.
            None => {
                env.delete(NS_PENDING, &key)?;
            }
        }
    }
    Ok(())
}

/// Finding events waiting for the operator's webhooks.
pub struct Webhooks {
    /// Idle while the outbox is empty.
    quiet: Quiet,
}

impl Default for Webhooks {
    fn default() -> Self {
        Self {
            quiet: Quiet::new(NS_OUTBOX),
        }
    }
}

impl Outbox for Webhooks {
    fn idle(&self, services: &Services) -> bool {
        self.quiet.idle(services)
    }

    /// Queued finding events due for delivery now, oldest first.
    fn due(&self, services: &Services, limit: usize) -> std::result::Result<Vec<Notice>, ApiError> {
        let bg = services.background(super::SERVICE, super::SERVICE);
        let now = services.clock().now();
        let mark = self.quiet.mark(services);
        let (empty, due) = services
            .in_background(&bg, "", |env| {
                let all: Vec<FindingEvent> = env.scan_all(NS_OUTBOX, "")?;
                let empty = all.is_empty();
                let mut due: Vec<FindingEvent> = all.into_iter().filter(|e| e.due <= now).collect();
                due.sort_by_key(|e| e.due);
                due.truncate(limit);
                Ok((empty, due))
            })
            .map_err(|e| trailguard_core::log_internal(&e))?;
        // Only once the read has committed: what it saw is what is stored.
        self.quiet.found(mark, empty);
        Ok(due
            .into_iter()
            .map(|e| Notice {
                slack_body: e.slack_payload(),
                id: e.id,
                body: e.event,
                acked: e.acked,
            })
            .collect())
    }

    /// Records a delivery attempt of an event: the webhooks that accepted it now;
    /// `done` removes it, otherwise it is retried after a growing backoff.
    fn attempted(
        &self,
        services: &Services,
        id: &str,
        accepted: &[String],
        done: bool,
    ) -> std::result::Result<(), ApiError> {
        let bg = services.background(super::SERVICE, super::SERVICE);
        let now = services.clock().now();
        services
            .in_background(&bg, "", |env| {
                let Some(mut e) = env.get::<FindingEvent>(NS_OUTBOX, id)? else {
                    return Ok(());
                };
                if done {
                    env.delete(NS_OUTBOX, id)?;
                    return Ok(());
                }
                for a in accepted {
                    if !e.acked.contains(a) {
                        e.acked.push(a.clone());
                    }
                }
                e.attempts += 1;
                let backoff = Duration::seconds(1_i64 << e.attempts.min(9)).min(MAX_BACKOFF);
                e.due = now + backoff;
                env.put(NS_OUTBOX, id, &e)
            })
            .map_err(|e| trailguard_core::log_internal(&e))
    }
}
