//! Authentication: an access key id (and session token) resolved to the
//! secret that verifies a signature and the caller it names, and the cache
//! that keeps every call from reading the store for it.
//!
//! Every signed call authenticates, and most use a key that authenticated a
//! moment ago. Reading it again costs a transaction on the store's writer and
//! a hop to a blocking thread before the signature can even be checked. So a
//! resolution is kept in memory, with the store's change counters
//! ([`trailguard_store::Store::changes`]) of the three namespaces it was read
//! from: sessions, access keys and users. Any commit that writes one of them
//! (a key made inactive or deleted, a user deleted, a session issued) retires
//! every entry, so a cached answer is never older than the last such commit,
//! as with a read. What depends on the time (a session's expiry) and on the
//! request (its token) is checked on every use, not cached.

use crate::error::Error;
use crate::identity::{AccessKey, Entity, Kind, NS_ACCESS_KEY, NS_SESSION, Session, key};
use crate::runtime::Services;
use std::collections::HashMap;
use std::sync::Mutex;
use time::OffsetDateTime;
use trailguard_model::{ApiError, Caller, Principal, Secret, SessionInfo};
use trailguard_store::Tx;

/// What a signature's access key resolves to.
#[derive(Debug)]
pub struct Credential {
    /// The secret to verify the signature with.
    pub secret: Secret,
    pub caller: Caller,
    /// A resolution read from the store, kept once the signature it was
    /// read for verifies ([`Services::remember`]).
    pub(crate) unverified: Option<(Marks, Resolved)>,
}

/// A key id as stored: the secret and caller, and for a session what each
/// use must still check.
#[derive(Clone, Debug)]
pub(crate) struct Resolved {
    secret: Secret,
    caller: Caller,
    session: Option<SessionCheck>,
}

#[derive(Clone, Debug)]
struct SessionCheck {
    token: Secret,
    expires: OffsetDateTime,
}

fn invalid_token() -> Error {
    Error::InvalidClientTokenId("The security token included in the request is invalid.".into())
}

/// Reads what `access_key_id` names: a session, or a long-term key of root
/// or of an existing user. An inactive or unknown key is refused.
pub(crate) fn resolve(tx: &mut dyn Tx, access_key_id: &str) -> Result<Resolved, Error> {
    let corrupt = |e: serde_json::Error| Error::Corrupt(e.to_string());
    if let Some(bytes) = tx.get(NS_SESSION, access_key_id)? {
        let session: Session = serde_json::from_slice(&bytes).map_err(corrupt)?;
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
        return Ok(Resolved {
            secret: session.secret,
            caller,
            session: Some(SessionCheck {
                token: session.token,
                expires: session.expires,
            }),
        });
    }
    let bytes = tx
        .get(NS_ACCESS_KEY, access_key_id)?
        .ok_or_else(invalid_token)?;
    let stored: AccessKey = serde_json::from_slice(&bytes).map_err(corrupt)?;
    if !stored.active {
        return Err(invalid_token());
    }
    let principal = match &stored.user {
        None => Principal::Root {
            account_id: stored.account.clone(),
        },
        Some(name) => {
            let bytes = tx
                .get(Kind::User.ns(), &key(&stored.account, name))?
                .ok_or_else(invalid_token)?;
            let user: Entity = serde_json::from_slice(&bytes).map_err(corrupt)?;
            Principal::User {
                account_id: stored.account.clone(),
                name: user.name,
                id: user.id,
                arn: user.arn,
            }
        }
    };
    Ok(Resolved {
        secret: stored.secret,
        caller: Caller::long_term(principal, stored.id),
        session: None,
    })
}

impl Resolved {
    /// The credential, if the request's token matches the session's and the
    /// session has not expired (long-term keys carry no token to check).
    pub(crate) fn check(
        self,
        token: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<Credential, ApiError> {
        if let Some(session) = self.session {
            let expected = session.token.expose();
            let matches = token.is_some_and(|t| {
                t.len() == expected.len()
                    && bool::from(subtle::ConstantTimeEq::ct_eq(
                        t.as_bytes(),
                        expected.as_bytes(),
                    ))
            });
            if !matches {
                return Err(invalid_token().into_api());
            }
            if now >= session.expires {
                return Err(Error::ExpiredToken(
                    "The security token included in the request is expired".into(),
                )
                .into_api());
            }
        }
        Ok(Credential {
            secret: self.secret,
            caller: self.caller,
            unverified: None,
        })
    }
}

/// The namespaces a resolution reads.
const READS: [&str; 3] = [NS_SESSION, NS_ACCESS_KEY, Kind::User.ns()];

/// At most this many key ids are kept; a full cache starts over. Only keys
/// whose signature verified are kept, so filling it takes their secrets.
const MAX_ENTRIES: usize = 4096;

/// The store's change counters of [`READS`]; `None` when it cannot tell.
pub(crate) type Marks = Option<[u64; 3]>;

/// Resolutions by key id, each with the marks it was read under.
#[derive(Default)]
pub(crate) struct Credentials {
    entries: Mutex<HashMap<String, (Marks, Resolved)>>,
}

impl Credentials {
    pub(crate) fn marks(&self, services: &Services) -> Marks {
        let [a, b, c] = READS.map(|ns| services.changes(ns));
        Some([a?, b?, c?])
    }

    pub(crate) fn get(&self, services: &Services, access_key_id: &str) -> Option<Resolved> {
        let now = self.marks(services);
        let mut entries = self.entries.lock().ok()?;
        match entries.get(access_key_id) {
            Some((at, resolved)) if at.is_some() && *at == now => Some(resolved.clone()),
            Some(_) => {
                // Stale: its secret leaves memory now rather than at the
                // next clear.
                entries.remove(access_key_id);
                None
            }
            None => None,
        }
    }

    pub(crate) fn remember(&self, access_key_id: &str, marks: Marks, resolved: Resolved) {
        if marks.is_none() {
            return;
        }
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= MAX_ENTRIES && !entries.contains_key(access_key_id) {
                entries.clear();
            }
            entries.insert(access_key_id.to_string(), (marks, resolved));
        }
    }
}
