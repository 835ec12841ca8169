//! The runtime: one store, clock and id source shared by every service, the
//! path every call takes ([`Services::execute`]), authentication, and the
//! identity background work runs as.

use crate::audit;
use crate::authz;
use crate::catalogue::Catalogue;
pub use crate::credentials::Credential;
use crate::credentials::{Credentials, resolve};
use crate::env::Env;
use crate::error::{self, Error};
use crate::identity::{KeyLastUsed, NS_KEY_LAST_USED};
use crate::inputs;
use crate::module::{Moment, Registry};
use crate::ops::Operation;
use crate::params::Params;
use crate::prepare;
use std::sync::Arc;
use trailguard_model::{
    ApiError, Caller, Clock, IdGen, Principal, RequestContext, ServiceId, Value,
};
use trailguard_store::{Blobs, Store, transact};

/// Every service of the registry, sharing one store, clock and id source.
pub struct Services {
    registry: Registry,
    store: Arc<dyn Store>,
    blobs: Arc<dyn Blobs>,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdGen>,
    catalogue: Catalogue,
    /// The bound on slow work running outside transactions (`prepare`).
    workers: prepare::Workers,
    /// Access keys resolved since the last commit that wrote keys.
    credentials: Credentials,
}

impl Services {
    pub fn new(
        registry: Registry,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        ids: Arc<dyn IdGen>,
    ) -> Self {
        Self {
            registry,
            store,
            blobs: Arc::new(trailguard_store::MemBlobs::default()),
            clock,
            ids,
            catalogue: Catalogue::builtin(),
            workers: prepare::Workers::default(),
            credentials: Credentials::default(),
        }
    }

    /// Keeps object bytes (S3 buckets, trail logs) in `blobs` rather than memory.
    #[must_use]
    pub fn with_blobs(mut self, blobs: Arc<dyn Blobs>) -> Self {
        self.blobs = blobs;
        self
    }

    /// The services served.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Catches up the store's deferred work (see [`Store::catch_up`]);
    /// failures are logged, and the next run tries again.
    pub fn catch_up_store(&self, how: trailguard_store::CatchUp) -> usize {
        match self.store.catch_up(how) {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(error = %e, "the store could not catch up");
                0
            }
        }
    }

    /// The store's change counter for namespace `ns` (see [`Store::changes`]).
    pub fn changes(&self, ns: &str) -> Option<u64> {
        self.store.changes(ns)
    }

    /// The clock every call and background job reads.
    pub fn clock(&self) -> &dyn Clock {
        self.clock.as_ref()
    }

    /// The id source.
    pub fn ids(&self) -> &dyn IdGen {
        self.ids.as_ref()
    }

    /// Runs every service's background jobs once, in registration order
    /// (tests and tools; the server's worker runs them one by one). Returns
    /// how much they did together.
    pub fn run_background(&self, moment: Moment) -> Result<usize, ApiError> {
        let mut done = 0;
        for job in self.registry.background() {
            done += job.run(self, moment)?;
        }
        Ok(done)
    }

    /// Work done on every start before any call (upgrades of stored data),
    /// each service's in one transaction of its own.
    pub fn start(&self) -> Result<(), ApiError> {
        let bg = self.background("trailguard", "AWS Internal");
        for on_start in self.registry.modules().iter().filter_map(|m| m.on_start) {
            self.in_background(&bg, "", on_start)
                .map_err(|e| log_internal(&e))?;
        }
        Ok(())
    }

    /// Returns once the store can take a write (health checks); an error when
    /// it failed. Blocks while another transaction holds the writer.
    pub fn probe_store(&self) -> Result<(), String> {
        self.store.probe_write().map_err(|e| e.to_string())
    }

    /// Resolves a signature's access key id (and session token) to the
    /// secret that verifies it and the caller it names: a long-term key of
    /// an active user or root, or an unexpired session whose token matches.
    pub fn authenticate(
        &self,
        access_key_id: &str,
        token: Option<&str>,
    ) -> Result<Credential, ApiError> {
        if let Some(hit) = self.authenticate_cached(access_key_id, token) {
            return hit;
        }
        // The marks are read before the store, so a write that commits
        // after them leaves this entry stale on arrival, never fresh.
        let marks = self.credentials.marks(self);
        let resolved = transact(self.store.as_ref(), |tx| resolve(tx, access_key_id))
            .map_err(Error::into_api)?;
        let mut credential = resolved.clone().check(token, self.clock.now())?;
        credential.unverified = Some((marks, resolved));
        Ok(credential)
    }

    /// Keeps what [`Services::authenticate`] read for `access_key_id` once
    /// the request's signature verified with it, so the key's next calls are
    /// answered from memory. A key id alone (it is no secret: records show
    /// it) does not get an entry made.
    pub fn remember(&self, access_key_id: &str, credential: &mut Credential) {
        if let Some((marks, resolved)) = credential.unverified.take() {
            self.credentials.remember(access_key_id, marks, resolved);
        }
    }

    /// [`Services::authenticate`] from memory alone: `None` when the key id
    /// was not resolved since the last commit that wrote keys, sessions or
    /// users (then authenticate, which reads the store). Never blocks on
    /// the store's writer, so the server calls it on its event loop.
    pub fn authenticate_cached(
        &self,
        access_key_id: &str,
        token: Option<&str>,
    ) -> Option<Result<Credential, ApiError>> {
        let resolved = self.credentials.get(self, access_key_id)?;
        Some(resolved.check(token, self.clock.now()))
    }

    /// Runs one API call for an authenticated caller and records it.
    pub fn execute(
        &self,
        service: ServiceId,
        action: &str,
        params: &serde_json::Value,
        caller: &Caller,
        ctx: &RequestContext,
    ) -> Result<Value, ApiError> {
        let Some(op) = self.registry.operation(service, action) else {
            return Err(Error::InvalidAction(format!(
                "The action {} is not valid for this web service.",
                trailguard_model::error::quote(action)
            ))
            .to_api());
        };
        // Before anything else: members the operation's AWS model does not define
        // never reach authorization, the handler or the record.
        let retained = inputs::retain_defined(service, op.name, params);
        let params: &serde_json::Value = &retained;
        let facts = audit::CallFacts {
            service,
            name: op.name,
            read_only: op.read_only,
            record_response: op.record_response,
            management: !op.data_event,
            params,
        };
        let account = caller.principal.account_id().to_string();
        let now = self.clock.now();
        let mut trace = None;
        let jobs = prepare::JobContext {
            blobs: self.blobs.as_ref(),
        };
        // Slow work a handler asks for runs between attempts, with the writer
        // released; each attempt starts afresh from what is committed.
        let outcome = prepare::transact_prepared(
            self.store.as_ref(),
            &self.workers,
            &jobs,
            |tx, prepared| {
                let mut env = Env::new(
                    tx,
                    self.blobs.as_ref(),
                    now,
                    self.ids.as_ref(),
                    caller,
                    ctx,
                    account.clone(),
                    &self.catalogue,
                    &self.registry,
                    prepared,
                );
                let result = run_operation(&mut env, service, op, Params(params));
                let out = match result {
                    Ok(out) => out,
                    Err(e) => {
                        trace = env.decision_trace.take();
                        return Err(e);
                    }
                };
                audit::record(&mut env, facts, Ok(&out))?;
                Ok::<_, Error>(out)
            },
        );
        match outcome {
            Ok(out) => Ok(out),
            Err(e) => {
                let api = e.into_api();
                let recorded = transact(self.store.as_ref(), |tx| {
                    let nothing_prepared = prepare::Prepared::default();
                    let mut env = Env::new(
                        tx,
                        self.blobs.as_ref(),
                        now,
                        self.ids.as_ref(),
                        caller,
                        ctx,
                        account.clone(),
                        &self.catalogue,
                        &self.registry,
                        &nothing_prepared,
                    );
                    env.decision_trace = trace.take();
                    audit::record(&mut env, facts, Err(&api))
                });
                if let Err(e) = recorded {
                    // The call failed anyway; the client still gets its error.
                    tracing::error!(error = %e, "could not record a failed call");
                }
                Err(api)
            }
        }
    }
}

/// Who an AWS service's own background work acts as, and from where.
pub struct Background {
    now: time::OffsetDateTime,
    caller: Caller,
    ctx: RequestContext,
}

impl Background {
    /// The same background identity with a request id of its own (work
    /// recorded as if it were one call).
    pub fn with_request_id(mut self, id: String) -> Background {
        self.ctx.request_id = id;
        self
    }

    /// The same background identity working in `region` (what its records show).
    pub fn in_region(&self, region: &str) -> Background {
        Background {
            now: self.now,
            caller: self.caller.clone(),
            ctx: RequestContext {
                region: region.to_string(),
                ..self.ctx.clone()
            },
        }
    }
}

impl Services {
    /// The identity and origin of a service's background work (`origin` is what
    /// its records would show as source and agent).
    pub fn background(&self, principal: &str, origin: &str) -> Background {
        let now = self.clock.now();
        Background {
            now,
            caller: Caller::long_term(
                Principal::Service {
                    service: principal.to_string(),
                },
                "",
            ),
            ctx: RequestContext {
                request_id: String::new(),
                source_ip: origin.to_string(),
                user_agent: origin.to_string(),
                region: "us-east-1".into(),
                received_at: now,
                secure_transport: true,
            },
        }
    }

    /// Runs `f` in one transaction of its own, as background work in `account`.
    /// No job is prepared here (`Env::prepared` answers `NeedsPreparation`,
    /// which fails the work): background work does its slow part before.
    pub fn in_background<T>(
        &self,
        bg: &Background,
        account: &str,
        f: impl FnOnce(&mut Env<'_>) -> error::Result<T>,
    ) -> error::Result<T> {
        transact(self.store.as_ref(), |tx| {
            let _inside = prepare::InTransaction::enter();
            let nothing_prepared = prepare::Prepared::default();
            let mut env = Env::new(
                tx,
                self.blobs.as_ref(),
                bg.now,
                self.ids.as_ref(),
                &bg.caller,
                &bg.ctx,
                account.to_string(),
                &self.catalogue,
                &self.registry,
                &nothing_prepared,
            );
            f(&mut env)
        })
    }
}

/// Authorizes and runs one operation inside the caller's transaction.
pub fn run_operation(
    env: &mut Env<'_>,
    service: ServiceId,
    op: &Operation,
    p: Params<'_>,
) -> error::Result<Value> {
    let action_name = format!(
        "{}:{}",
        service.signing_name(),
        op.action.unwrap_or(op.name)
    );
    if let Some(check) = env
        .registry
        .module(service)
        .and_then(|m| m.before_authorization)
    {
        // Before authorization, as AWS (S3: a bucket is served only in its region).
        check(env, op.name, p)?;
    }
    let token = if op.authorized_in_handler {
        // The handler decides (STS: GetCallerIdentity is always allowed;
        // AssumeRole is decided by `authz::authorize_assume_role`, the trust
        // policy being the resource policy; GetSessionToken is refused to
        // session credentials).
        authz::in_handler(&action_name)
    } else {
        // Every resource is decided on its own; the first refused names itself
        // in the denial. The handler gets the proof for the operation's own
        // resource, the first.
        let mut first = None;
        for resource in op.resources(env, p)? {
            let token = authz::authorize(env, &action_name, &resource, p)?;
            first.get_or_insert(token);
        }
        first.ok_or_else(|| Error::Corrupt(format!("{} names no resource", op.name)))?
    };
    // The proof must be for this operation, whoever built it.
    if token.action() != action_name {
        return Err(Error::Corrupt(format!(
            "{} ran with a decision for {}",
            op.name,
            token.action()
        )));
    }
    let out = (op.run)(env, &token, p)?;
    note_key_use(env, service)?;
    Ok(out)
}

/// Updates the calling long-term key's last-used facts. IAM reports the
/// time to the minute (`2015-03-13T10:45:00Z` in its examples), so the key is
/// written when the minute, service or region changes, not on every call: a
/// key in steady use costs one write a minute, not one a call.
fn note_key_use(env: &mut Env<'_>, service: ServiceId) -> error::Result<()> {
    if env.caller.session.is_some() || env.caller.access_key_id.is_empty() {
        return Ok(());
    }
    let id = env.caller.access_key_id.clone();
    let used = KeyLastUsed {
        date: to_the_minute(env.now),
        service: service.signing_name().to_string(),
        region: env.ctx.region.clone(),
    };
    if env.get::<KeyLastUsed>(NS_KEY_LAST_USED, &id)?.as_ref() != Some(&used) {
        env.put(NS_KEY_LAST_USED, &id, &used)?;
    }
    Ok(())
}

fn to_the_minute(t: time::OffsetDateTime) -> time::OffsetDateTime {
    t.replace_nanosecond(0)
        .and_then(|t| t.replace_second(0))
        .unwrap_or(t)
}

/// Logs a failure of work no client asked for (start, background jobs), of
/// whatever kind, and answers the one error clients see for internal failures.
/// A client's call is answered through [`Error::into_api`] instead.
pub fn log_internal(e: &Error) -> ApiError {
    tracing::error!(error = %e, "internal failure");
    ApiError::internal()
}
