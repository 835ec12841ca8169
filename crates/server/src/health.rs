//! `/_trailguard/health`: ok only while the store can take a write.
//!
//! Every API call needs the store's writer, so a server whose writer is held
//! (a stuck call, another process holding the database) serves nothing and
//! must say so. A probe takes the writer on a blocking thread as a call would
//! and rolls back; the check answers within [`HEALTH_DEADLINE`] whatever the
//! probe does. One probe runs at a time: concurrent checks wait for the same
//! one, and a stuck probe is waited on by later checks instead of being
//! joined by another thread, so health checks never pile up threads.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;
use trailguard_core::Services;

/// How long a health check waits for the store's writer.
pub const HEALTH_DEADLINE: Duration = Duration::from_secs(2);
/// How long a finished probe's answer serves later checks, so a burst of
/// checks costs one write attempt.
const REUSE: Duration = Duration::from_millis(250);

type Answer = Result<(), String>;

enum State {
    Idle,
    Running(watch::Receiver<Option<Answer>>),
    Done(Instant, Answer),
}

/// The one store probe and its latest answer.
pub struct Probe {
    state: Arc<Mutex<State>>,
}

impl Default for Probe {
    fn default() -> Self {
        Self {
            state: Arc::new(Mutex::new(State::Idle)),
        }
    }
}

impl Probe {
    /// Ok when the store took a write within [`HEALTH_DEADLINE`]; otherwise
    /// why not.
    pub async fn check(&self, services: &Arc<Services>) -> Answer {
        let mut answer = {
            let Ok(mut state) = self.state.lock() else {
                return Err("the health probe failed".into());
            };
            match &*state {
                State::Done(at, answer) if at.elapsed() < REUSE => return answer.clone(),
                // Still running (a sender that is gone means the probe died).
                State::Running(rx) if rx.has_changed().is_ok() => rx.clone(),
                State::Idle | State::Done(..) | State::Running(_) => {
                    let (tx, rx) = watch::channel(None);
                    *state = State::Running(rx.clone());
                    let shared = self.state.clone();
                    let services = services.clone();
                    drop(tokio::task::spawn_blocking(move || {
                        let answer = services
                            .probe_store()
                            .map_err(|e| format!("the store failed: {e}"));
                        if let Ok(mut state) = shared.lock() {
                            *state = State::Done(Instant::now(), answer.clone());
                        }
                        let _ = tx.send(Some(answer));
                    }));
                    rx
                }
            }
        };
        match tokio::time::timeout(HEALTH_DEADLINE, answer.wait_for(Option::is_some)).await {
            Ok(Ok(done)) => done
                .clone()
                .unwrap_or(Err("the health probe failed".into())),
            Ok(Err(_)) => Err("the health probe failed".into()),
            Err(_) => Err(format!(
                "the store could not take a write within {} s",
                HEALTH_DEADLINE.as_secs()
            )),
        }
    }
}
