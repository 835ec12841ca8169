//! Accounts and their root keys: the first start that makes the default
//! account, later starts that only check the configuration against it, and
//! `trailguard account create`.

use crate::error::IamError;
use trailguard_core::audit;
use trailguard_core::env::Env;
use trailguard_core::error::{self, Error};
use trailguard_core::identity::{
    AccessKey, DEFAULT_ACCOUNT_KEY, DefaultAccount, NS_ACCESS_KEY, NS_ACCOUNT,
};
use trailguard_core::{Services, log_internal};
use trailguard_model::{ApiError, Secret};

/// An account's root credentials, as made by a first start or `account create`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootIdentity {
    pub account_id: String,
    pub access_key_id: String,
    pub secret_access_key: Secret,
}

/// The outcome of [`Accounts::bootstrap`].
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

/// Account set-up, on the runtime.
pub trait Accounts {
    /// Sets up the default account on first start, and checks the
    /// configuration against it on every later one.
    fn bootstrap(
        &self,
        account_id: Option<&str>,
        root_key: Option<(&str, &str)>,
    ) -> Result<Bootstrap, BootstrapError>;
    /// Creates another account with its own root key.
    fn create_account(&self, account_id: Option<&str>) -> Result<RootIdentity, ApiError>;
}

impl Accounts for Services {
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
    fn bootstrap(
        &self,
        account_id: Option<&str>,
        root_key: Option<(&str, &str)>,
    ) -> Result<Bootstrap, BootstrapError> {
        // Every service's upgrades of stored data first (IAM's marks the
        // service-linked roles stored before the flag existed).
        self.start().map_err(BootstrapError::Internal)?;
        let bg = self
            .background("iam.amazonaws.com", "AWS Internal")
            .with_request_id(self.ids().uuid());
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
    fn create_account(&self, account_id: Option<&str>) -> Result<RootIdentity, ApiError> {
        let bg = self
            .background("iam.amazonaws.com", "AWS Internal")
            .with_request_id(self.ids().uuid());
        self.in_background(&bg, "", |env| {
            let account_id = account_id.map_or_else(|| env.ids.account_id(), str::to_string);
            let default: Option<DefaultAccount> = env
                .tx
                .get(NS_ACCOUNT, DEFAULT_ACCOUNT_KEY)?
                .and_then(|b| serde_json::from_slice(&b).ok());
            if env.tx.get(NS_ACCOUNT, &account_id)?.is_some()
                || default.is_some_and(|d| d.account_id == account_id)
            {
                return Err(IamError::EntityAlreadyExists(format!(
                    "The account {account_id} already exists."
                ))
                .into());
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
        .map_err(Error::into_api)
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
    crate::keys::save_key(env, &key)?;
    let out = crate::keys::created(&key);
    let op = crate::OPERATIONS
        .iter()
        .find(|op| op.name == "CreateAccessKey")
        .ok_or_else(|| Error::Corrupt("CreateAccessKey is not served".into()))?;
    let params = serde_json::Value::Object(serde_json::Map::new());
    let facts = audit::CallFacts {
        service: crate::DEF.id,
        name: op.name,
        read_only: op.read_only,
        record_response: op.record_response,
        management: !op.data_event,
        params: &params,
    };
    audit::record(env, facts, Ok(&out))
}
