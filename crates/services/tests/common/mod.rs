//! A one-account world for tests that drive `Services` directly: an
//! in-memory store, a clock the test moves, and the root user's calls.

#![allow(dead_code, clippy::panic, clippy::unwrap_used, reason = "test code")]

use serde_json::Value as Json;
use std::sync::Arc;
use time::macros::datetime;
use trailguard_model::{Caller, Clock as _, FixedClock, RequestContext, SeqIds, ServiceId, Value};
use trailguard_services::{Accounts as _, Services};
use trailguard_store::SqliteStore;

pub const ACCOUNT: &str = "123456789012";

pub struct World {
    pub services: Services,
    pub clock: Arc<FixedClock>,
    pub root: Caller,
}

impl World {
    pub fn new() -> Self {
        let clock = Arc::new(FixedClock::new(datetime!(2026-11-23 19:03:04 UTC)));
        let services = trailguard_services::services(
            Arc::new(SqliteStore::in_memory().unwrap()),
            clock.clone(),
            Arc::new(SeqIds::default()),
        );
        services
            .bootstrap(Some(ACCOUNT), Some(("AKIAROOTROOTROOTROOT", "root-secret")))
            .unwrap();
        let root = services
            .authenticate("AKIAROOTROOTROOTROOT", None)
            .unwrap()
            .caller;
        Self {
            services,
            clock,
            root,
        }
    }

    /// `action` as `caller`, in us-east-1; panics on an error.
    pub fn call_as(
        &self,
        caller: &Caller,
        service: ServiceId,
        action: &str,
        params: Json,
    ) -> Value {
        self.call_from(caller, ("192.0.2.10", "test"), service, action, params)
    }

    /// [`Self::call_as`] from a source address with a user agent.
    pub fn call_from(
        &self,
        caller: &Caller,
        (source_ip, user_agent): (&str, &str),
        service: ServiceId,
        action: &str,
        params: Json,
    ) -> Value {
        let ctx = RequestContext {
            request_id: "req".into(),
            source_ip: source_ip.into(),
            user_agent: user_agent.into(),
            region: "us-east-1".into(),
            received_at: self.clock.now(),
            secure_transport: true,
        };
        self.services
            .execute(service, action, &params, caller, &ctx)
            .unwrap_or_else(|e| panic!("{action}: {e:?}"))
    }

    /// `action` as the account's root user.
    pub fn call(&self, service: ServiceId, action: &str, params: Json) -> Value {
        self.call_as(&self.root, service, action, params)
    }
}
