//! AWS semantics: IAM and STS operations, the authorization point and the audit
//! recorder, over a transactional store.
//!
//! [`Services::execute`] is the one path every API call takes: find the operation,
//! drop the members its AWS model does not define ([`inputs`]), authorize it, run
//! it and record it in CloudTrail, all in one store transaction. Slow work a
//! handler needs runs between attempts of that transaction, never inside it
//! ([`prepare`]). A failed or denied call rolls its changes back and is then
//! recorded in a transaction of its own. Nothing here knows HTTP or wire formats.

pub mod audit;
pub mod authz;
pub mod catalogue;
pub mod cloudtrail;
pub mod env;
pub mod error;
pub mod guardduty;
pub mod iam;
pub mod inputs;
pub mod lex;
pub mod linked;
pub mod ops;
pub mod params;
pub mod polly;
pub mod prepare;
pub mod redshift;
pub mod s3;
pub mod sts;

use catalogue::Catalogue;
use env::Env;
use error::Error;
use iam::entities::{AccessKey, Entity, KeyLastUsed, Kind, NS_ACCESS_KEY, key};
use ops::Operation;
use params::Params;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use trailguard_model::{
    ApiError, Caller, Clock, IdGen, Principal, RequestContext, Secret, ServiceId, SessionInfo,
    Value,
};
use trailguard_store::{Blobs, Store, transact};

const NS_ACCOUNT: &str = "account";
const DEFAULT_ACCOUNT_KEY: &str = "default";

/// An account's root credentials, as made by a first start or `account create`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootIdentity {
    pub account_id: String,
    pub access_key_id: String,
    pub secret_access_key: Secret,
}

/// What the data directory remembers of its default account: which account it
/// is and which root key its first start made. Never the secret: the key
/// itself is the only copy, so deleting it deletes it. (Documents written
/// before this also held the secret; the next start rewrites them without.)
#[derive(Serialize, Deserialize)]
struct DefaultAccount {
    account_id: String,
    access_key_id: String,
}

/// The outcome of [`Services::bootstrap`].
#[derive(Debug)]
pub struct Bootstrap {
    pub account_id: String,
    /// Root credentials this start generated, to show once (a first start
    /// with none configured).
    pub generated: Option<RootIdentity>,
    /// What the operator should know, e.g. that the configured key was deleted.
    pub notes: Vec<String>,
}

/// Why the server must not start on this data directory as configured.
#[derive(Debug)]
pub enum BootstrapError {
    /// The configuration contradicts what the data directory recorded.
    Refused(String),
    /// The store failed.
    Internal(ApiError),
}

impl std::fmt::Display for BootstrapError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Refused(m) => f.write_str(m),
            Self::Internal(e) => write!(f, "{}", e.message),
        }
    }
}

/// What a signature's access key resolves to.
#[derive(Debug)]
pub struct Credential {
    /// The secret to verify the signature with.
    pub secret: Secret,
    pub caller: Caller,
}

/// Every service, sharing one store, clock and id source.
pub struct Services {
    store: Arc<dyn Store>,
    blobs: Arc<dyn Blobs>,
    trail_timing: cloudtrail::delivery::Timing,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdGen>,
    catalogue: Catalogue,
    /// Set once every detector's finding summaries are known to be built
    /// (detectors made later are built from the start), so the worker stops looking.
    summaries_built: std::sync::atomic::AtomicBool,
    /// The bound on slow work running outside transactions (`prepare`).
    workers: prepare::Workers,
}

/// Looks an operation up.
pub fn operation(service: ServiceId, name: &str) -> Option<&'static Operation> {
    let table = match service {
        ServiceId::Iam => iam::OPERATIONS,
        ServiceId::Sts => sts::OPERATIONS,
        ServiceId::Redshift => redshift::OPERATIONS,
        ServiceId::CloudTrail => cloudtrail::OPERATIONS,
        ServiceId::Lex => lex::OPERATIONS,
        ServiceId::Polly => polly::OPERATIONS,
        ServiceId::GuardDuty => guardduty::OPERATIONS,
        ServiceId::S3 => s3::OPERATIONS,
    };
    table.iter().find(|op| op.name == name)
}

/// Every operation of every service, for listings and conformance checks.
pub fn all_operations() -> impl Iterator<Item = (ServiceId, &'static Operation)> {
    let iam_ops = iam::OPERATIONS.iter().map(|op| (ServiceId::Iam, op));
    let sts_ops = sts::OPERATIONS.iter().map(|op| (ServiceId::Sts, op));
    let redshift_ops = redshift::OPERATIONS
        .iter()
        .map(|op| (ServiceId::Redshift, op));
    let cloudtrail_ops = cloudtrail::OPERATIONS
        .iter()
        .map(|op| (ServiceId::CloudTrail, op));
    let rest_ops = [
        (ServiceId::Lex, lex::OPERATIONS),
        (ServiceId::Polly, polly::OPERATIONS),
        (ServiceId::GuardDuty, guardduty::OPERATIONS),
        (ServiceId::S3, s3::OPERATIONS),
    ]
    .into_iter()
    .flat_map(|(s, ops)| ops.iter().map(move |op| (s, op)));
    iam_ops
        .chain(sts_ops)
        .chain(redshift_ops)
        .chain(cloudtrail_ops)
        .chain(rest_ops)
}

fn invalid_token() -> Error {
    Error::InvalidClientTokenId("The security token included in the request is invalid.".into())
}

impl Services {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, ids: Arc<dyn IdGen>) -> Self {
        Self {
            store,
            blobs: Arc::new(trailguard_store::MemBlobs::default()),
            trail_timing: cloudtrail::delivery::Timing::default(),
            clock,
            ids,
            catalogue: Catalogue::builtin(),
            summaries_built: std::sync::atomic::AtomicBool::new(false),
            workers: prepare::Workers::default(),
        }
    }

    /// Keeps object bytes (S3 buckets, trail logs) in `blobs` rather than memory.
    #[must_use]
    pub fn with_blobs(mut self, blobs: Arc<dyn Blobs>) -> Self {
        self.blobs = blobs;
        self
    }

    /// How often trails deliver log files and digests.
    #[must_use]
    pub fn with_trail_timing(mut self, timing: cloudtrail::delivery::Timing) -> Self {
        self.trail_timing = timing;
        self
    }

    /// Sets up the default account on first start, and checks the
    /// configuration against it on every later one.
    ///
    /// A first start makes the account (`account_id`, or a generated one) and
    /// its root access key (`root_key`, or a generated one), and records the
    /// key's creation as a `CreateAccessKey` CloudTrail event by IAM itself
    /// (an `AWSService` identity from `AWS Internal`): no one signed a request,
    /// so a `Root` identity would claim a root sign-in that never happened (and
    /// trip GuardDuty's root-credential detection on every install).
    ///
    /// A later start changes nothing: a root key deleted or deactivated since
    /// stays so (every change to keys is a recorded call). A configured account
    /// or key that contradicts the data directory is refused, not added: a key
    /// is accepted only if it is the one the first start made, or an existing
    /// root key of the default account with the configured secret.
    pub fn bootstrap(
        &self,
        account_id: Option<&str>,
        root_key: Option<(&str, &str)>,
    ) -> Result<Bootstrap, BootstrapError> {
        let bg = self.background("iam.amazonaws.com", "AWS Internal");
        let bg = Background {
            ctx: RequestContext {
                request_id: self.ids.uuid(),
                ..bg.ctx
            },
            ..bg
        };
        self.in_background(&bg, "", |env| {
            // Account documents written by earlier versions also held the root
            // secret: keep only what they name (the key itself is the one copy).
            for (key, bytes) in env.tx.scan(NS_ACCOUNT, "", None, usize::MAX)? {
                let Ok(doc) = serde_json::from_slice::<DefaultAccount>(&bytes) else {
                    continue;
                };
                let again = serde_json::to_vec(&doc).map_err(|e| Error::Corrupt(e.to_string()))?;
                if again != bytes {
                    env.tx.put(NS_ACCOUNT, &key, &again)?;
                }
            }
            iam::slr::flag_stored_roles(env)?;
            match env.tx.get(NS_ACCOUNT, DEFAULT_ACCOUNT_KEY)? {
                None => first_start(env, account_id, root_key),
                Some(bytes) => {
                    let doc: DefaultAccount = serde_json::from_slice(&bytes)
                        .map_err(|e| Error::Corrupt(format!("default account: {e}")))?;
                    later_start(env, &doc, account_id, root_key)
                }
            }
        })
        .map_err(|e| match e {
            Error::InvalidInput(m) => BootstrapError::Refused(m),
            other => BootstrapError::Internal(log_internal(&other)),
        })
    }

    /// Creates another account with its own root key (`trailguard account
    /// create`), recording the key's creation as a first start does.
    pub fn create_account(&self, account_id: Option<&str>) -> Result<RootIdentity, ApiError> {
        let bg = self.background("iam.amazonaws.com", "AWS Internal");
        let bg = Background {
            ctx: RequestContext {
                request_id: self.ids.uuid(),
                ..bg.ctx
            },
            ..bg
        };
        self.in_background(&bg, "", |env| {
            let account_id = account_id.map_or_else(|| env.ids.account_id(), str::to_string);
            let default: Option<DefaultAccount> = env
                .tx
                .get(NS_ACCOUNT, DEFAULT_ACCOUNT_KEY)?
                .and_then(|b| serde_json::from_slice(&b).ok());
            if env.tx.get(NS_ACCOUNT, &account_id)?.is_some()
                || default.is_some_and(|d| d.account_id == account_id)
            {
                return Err(Error::EntityAlreadyExists(format!(
                    "The account {account_id} already exists."
                )));
            }
            env.account.clone_from(&account_id);
            let key_id = env.ids.access_key_id("AKIA");
            let secret = Secret::new(env.ids.secret_access_key());
            create_root_key(env, &key_id, &secret)?;
            let doc = DefaultAccount {
                account_id: account_id.clone(),
                access_key_id: key_id.clone(),
            };
            let bytes = serde_json::to_vec(&doc).map_err(|e| Error::Corrupt(e.to_string()))?;
            env.tx.put(NS_ACCOUNT, &account_id, &bytes)?;
            Ok(RootIdentity {
                account_id,
                access_key_id: key_id,
                secret_access_key: secret,
            })
        })
        .map_err(|e| match e {
            Error::Store(_) | Error::Corrupt(_) => log_internal(&e),
            other => other.to_api(),
        })
    }

    /// Returns once the store can take a write (health checks); an error when
    /// it failed. Blocks while another transaction holds the writer.
    pub fn probe_store(&self) -> Result<(), String> {
        self.store.probe_write().map_err(|e| e.to_string())
    }

    /// Resolves the access key of a signature to its secret and caller.
    pub fn authenticate(
        &self,
        access_key_id: &str,
        token: Option<&str>,
    ) -> Result<Credential, ApiError> {
        let now = self.clock.now();
        let result = transact(self.store.as_ref(), |tx| {
            if let Some(bytes) = tx.get(sts::NS_SESSION, access_key_id)? {
                let session: sts::Session =
                    serde_json::from_slice(&bytes).map_err(|e| Error::Corrupt(e.to_string()))?;
                let matches = token.is_some_and(|t| {
                    t.len() == session.token.expose().len()
                        && bool::from(subtle::ConstantTimeEq::ct_eq(
                            t.as_bytes(),
                            session.token.expose().as_bytes(),
                        ))
                });
                if !matches {
                    return Err(invalid_token());
                }
                if now >= session.expires {
                    return Err(Error::ExpiredToken(
                        "The security token included in the request is expired".into(),
                    ));
                }
                let caller = Caller {
                    principal: session.to_principal(),
                    access_key_id: session.access_key_id.clone(),
                    session: Some(SessionInfo {
                        issued_at: session.issued,
                        expires_at: session.expires,
                        mfa_authenticated: false,
                    }),
                    invoked_by: None,
                };
                return Ok(Credential {
                    secret: session.secret,
                    caller,
                });
            }
            let bytes = tx
                .get(NS_ACCESS_KEY, access_key_id)?
                .ok_or_else(invalid_token)?;
            let key: AccessKey =
                serde_json::from_slice(&bytes).map_err(|e| Error::Corrupt(e.to_string()))?;
            if !key.active {
                return Err(invalid_token());
            }
            let principal = match &key.user {
                None => Principal::Root {
                    account_id: key.account.clone(),
                },
                Some(name) => {
                    let bytes = tx
                        .get(Kind::User.ns(), &self::key(&key.account, name))?
                        .ok_or_else(invalid_token)?;
                    let user: Entity = serde_json::from_slice(&bytes)
                        .map_err(|e| Error::Corrupt(e.to_string()))?;
                    Principal::User {
                        account_id: key.account.clone(),
                        name: user.name,
                        id: user.id,
                        arn: user.arn,
                    }
                }
            };
            Ok(Credential {
                secret: key.secret,
                caller: Caller::long_term(principal, key.id),
            })
        });
        result.map_err(|e| match e {
            Error::Store(_) | Error::Corrupt(_) => log_internal(&e),
            other => other.to_api(),
        })
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
        let Some(op) = operation(service, action) else {
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
                let api = match &e {
                    Error::Store(_) | Error::Corrupt(_) => log_internal(&e),
                    other => other.to_api(),
                };
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
pub(crate) struct Background {
    now: time::OffsetDateTime,
    caller: Caller,
    ctx: RequestContext,
}

impl Background {
    /// The same background identity working in `region` (what its records show).
    pub(crate) fn in_region(&self, region: &str) -> Background {
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
    pub(crate) fn background(&self, principal: &str, origin: &str) -> Background {
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
    pub(crate) fn in_background<T>(
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
                &nothing_prepared,
            );
            f(&mut env)
        })
    }

    /// Moves every unfinished service-linked role deletion task one step; called
    /// periodically by the server. Returns how many tasks moved.
    pub fn process_deletion_tasks(&self) -> Result<usize, ApiError> {
        let bg = self.background("iam.amazonaws.com", "AWS Internal");
        let pending = self
            .in_background(&bg, "", iam::slr::pending_tasks)
            .map_err(|e| log_internal(&e))?;
        let moved = pending.len();
        for task in pending {
            let account = task.account.clone();
            self.in_background(&bg, &account, |env| iam::slr::advance(env, task))
                .map_err(|e| log_internal(&e))?;
        }
        Ok(moved)
    }
}

/// A first start: make the default account and its root key, recorded.
fn first_start(
    env: &mut Env<'_>,
    account_id: Option<&str>,
    root_key: Option<(&str, &str)>,
) -> error::Result<Bootstrap> {
    let account_id = account_id.map_or_else(|| env.ids.account_id(), str::to_string);
    if env.tx.get(NS_ACCOUNT, &account_id)?.is_some() {
        return Err(Error::InvalidInput(format!(
            "account {account_id} already exists in this data directory as a secondary account \
             (made by `trailguard account create`); choose another TRAILGUARD_ACCOUNT_ID"
        )));
    }
    env.account.clone_from(&account_id);
    let (key_id, secret, generated) = match root_key {
        Some((k, s)) => {
            if !(16..=128).contains(&k.len()) || !k.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return Err(Error::InvalidInput(
                    "TRAILGUARD_ROOT_ACCESS_KEY_ID must be 16 to 128 letters and digits".into(),
                ));
            }
            if s.is_empty() {
                return Err(Error::InvalidInput(
                    "TRAILGUARD_ROOT_SECRET_ACCESS_KEY must not be empty".into(),
                ));
            }
            (k.to_string(), Secret::new(s), false)
        }
        None => (
            env.ids.access_key_id("AKIA"),
            Secret::new(env.ids.secret_access_key()),
            true,
        ),
    };
    if env.tx.get(NS_ACCESS_KEY, &key_id)?.is_some() {
        return Err(Error::InvalidInput(format!(
            "the access key {key_id} already belongs to another account in this data directory"
        )));
    }
    create_root_key(env, &key_id, &secret)?;
    let doc = DefaultAccount {
        account_id: account_id.clone(),
        access_key_id: key_id.clone(),
    };
    let bytes = serde_json::to_vec(&doc).map_err(|e| Error::Corrupt(e.to_string()))?;
    env.tx.put(NS_ACCOUNT, DEFAULT_ACCOUNT_KEY, &bytes)?;
    Ok(Bootstrap {
        generated: generated.then(|| RootIdentity {
            account_id: account_id.clone(),
            access_key_id: key_id,
            secret_access_key: secret,
        }),
        account_id,
        notes: Vec::new(),
    })
}

/// A later start: check the configuration against the data directory and
/// change nothing.
fn later_start(
    env: &mut Env<'_>,
    doc: &DefaultAccount,
    account_id: Option<&str>,
    root_key: Option<(&str, &str)>,
) -> error::Result<Bootstrap> {
    if let Some(given) = account_id
        && given != doc.account_id
    {
        return Err(Error::InvalidInput(format!(
            "this data directory's default account is {}, but TRAILGUARD_ACCOUNT_ID is {given}; \
             the default account is fixed on first start (use another data directory for another account)",
            doc.account_id
        )));
    }
    let mut notes = Vec::new();
    if let Some((key_id, secret)) = root_key {
        match env.get::<AccessKey>(NS_ACCESS_KEY, key_id)? {
            Some(key) => {
                if key.account != doc.account_id || key.user.is_some() {
                    return Err(Error::InvalidInput(format!(
                        "TRAILGUARD_ROOT_ACCESS_KEY_ID names {key_id}, which is not a root access key \
                         of the default account {}",
                        doc.account_id
                    )));
                }
                if !key.secret.matches(secret) {
                    return Err(Error::InvalidInput(format!(
                        "TRAILGUARD_ROOT_SECRET_ACCESS_KEY is not the secret of the root access key \
                         {key_id}; a key's secret never changes (create a new key with CreateAccessKey)"
                    )));
                }
                if !key.active {
                    notes.push(format!(
                        "the configured root access key {key_id} is inactive (see its UpdateAccessKey \
                         record); requests signed with it are refused until it is activated"
                    ));
                }
            }
            None if key_id == doc.access_key_id => notes.push(format!(
                "the configured root access key {key_id} was deleted (see its DeleteAccessKey record) \
                 and is not recreated; unset TRAILGUARD_ROOT_ACCESS_KEY_ID and \
                 TRAILGUARD_ROOT_SECRET_ACCESS_KEY, or set them to a root key made with CreateAccessKey"
            )),
            None => {
                return Err(Error::InvalidInput(format!(
                    "TRAILGUARD_ROOT_ACCESS_KEY_ID names {key_id}, which this data directory never \
                     created; root keys are made only on first start (this data directory's was {}) or \
                     by CreateAccessKey as the root user. Unset TRAILGUARD_ROOT_ACCESS_KEY_ID and \
                     TRAILGUARD_ROOT_SECRET_ACCESS_KEY, or set them to an existing root key",
                    doc.access_key_id
                )));
            }
        }
    }
    Ok(Bootstrap {
        account_id: doc.account_id.clone(),
        generated: None,
        notes,
    })
}

/// Stores a new root access key of `env.account` and records its creation as
/// `CreateAccessKey` by `env.caller`.
fn create_root_key(env: &mut Env<'_>, key_id: &str, secret: &Secret) -> error::Result<()> {
    let key = AccessKey {
        id: key_id.to_string(),
        account: env.account.clone(),
        user: None,
        secret: secret.clone(),
        active: true,
        create_date: env.now,
        last_used: None,
    };
    iam::keys::save_key(env, &key)?;
    let out = iam::keys::created(&key);
    let op = operation(ServiceId::Iam, "CreateAccessKey")
        .ok_or_else(|| Error::Corrupt("CreateAccessKey is not served".into()))?;
    let params = serde_json::Value::Object(serde_json::Map::new());
    let facts = audit::CallFacts {
        service: ServiceId::Iam,
        name: op.name,
        read_only: op.read_only,
        record_response: op.record_response,
        management: !op.data_event,
        params: &params,
    };
    audit::record(env, facts, Ok(&out))
}

/// Whether this server holds `account` (the default account or one made with
/// `trailguard account create`).
pub(crate) fn account_exists(env: &mut Env<'_>, account: &str) -> error::Result<bool> {
    if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(false);
    }
    if env.tx.get(NS_ACCOUNT, account)?.is_some() {
        return Ok(true);
    }
    let default: Option<DefaultAccount> = env.get(NS_ACCOUNT, DEFAULT_ACCOUNT_KEY)?;
    Ok(default.is_some_and(|d| d.account_id == account))
}

/// Authorizes and runs one operation inside the caller's transaction.
pub(crate) fn run_operation(
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
    if service == ServiceId::S3 {
        // Before authorization, as AWS: a bucket is served only in its region.
        s3::check_region(env, op.name, p)?;
    }
    let token = if service == ServiceId::Sts && sts::custom_authorization(op.name) {
        // GetCallerIdentity is always allowed; AssumeRole is decided in its handler
        // by `authz::authorize_assume_role` (the trust policy is the resource
        // policy); GetSessionToken is refused to session credentials by its handler.
        authz::always()
    } else {
        // Every resource is decided on its own; the first refused names itself
        // in the denial.
        let mut token = None;
        for resource in op.resources(env, p)? {
            token = Some(authz::authorize(env, &action_name, &resource, p)?);
        }
        token.ok_or_else(|| Error::Corrupt(format!("{} names no resource", op.name)))?
    };
    let out = (op.run)(env, &token, p)?;
    note_key_use(env, service)?;
    Ok(out)
}

/// Updates the calling long-term key's last-used facts.
fn note_key_use(env: &mut Env<'_>, service: ServiceId) -> error::Result<()> {
    if env.caller.session.is_some() || env.caller.access_key_id.is_empty() {
        return Ok(());
    }
    let id = env.caller.access_key_id.clone();
    if let Some(mut k) = env.get::<AccessKey>(NS_ACCESS_KEY, &id)? {
        k.last_used = Some(KeyLastUsed {
            date: env.now,
            service: service.signing_name().to_string(),
            region: env.ctx.region.clone(),
        });
        env.put(NS_ACCESS_KEY, &id, &k)?;
    }
    Ok(())
}

pub(crate) fn log_internal(e: &Error) -> ApiError {
    tracing::error!(error = %e, "internal failure");
    ApiError::internal()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_is_unique_and_named_like_aws() {
        for (service, table) in [
            (ServiceId::Iam, iam::OPERATIONS),
            (ServiceId::Sts, sts::OPERATIONS),
            (ServiceId::Redshift, redshift::OPERATIONS),
            (ServiceId::CloudTrail, cloudtrail::OPERATIONS),
            (ServiceId::Lex, lex::OPERATIONS),
            (ServiceId::Polly, polly::OPERATIONS),
            (ServiceId::GuardDuty, guardduty::OPERATIONS),
            (ServiceId::S3, s3::OPERATIONS),
        ] {
            let mut names: Vec<&str> = table.iter().map(|o| o.name).collect();
            let n = names.len();
            names.sort_unstable();
            names.dedup();
            assert_eq!(names.len(), n, "duplicate operation in {service:?}");
            for op in table {
                assert!(
                    op.name
                        .chars()
                        .next()
                        .is_some_and(|c| c.is_ascii_uppercase()),
                    "{}",
                    op.name
                );
                assert_eq!(operation(service, op.name).map(|o| o.name), Some(op.name));
                // Reads are never recorded with a response, except STS's credential
                // calls and Polly's speech (its record shows the characters billed).
                if op.read_only && op.record_response {
                    assert!(
                        service == ServiceId::Sts || op.name == "SynthesizeSpeech",
                        "{}",
                        op.name
                    );
                }
            }
        }
    }
}
