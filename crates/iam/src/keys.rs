//! Access keys: at most two per user, secrets shown once, last-used tracking.

use super::entities::{
    AccessKey, KeyLastUsed, Kind, NS_ACCESS_KEY, NS_KEY_LAST_USED, NS_KEYS_BY_OWNER, key_index,
    keys_by_owner_prefix,
};
use super::principals::load;
use super::{paginate, target_user};
use crate::error::IamError;
use trailguard_core::authz::Authorized;
use trailguard_core::env::Env;
use trailguard_core::error::{Error, Result};
use trailguard_core::params::Params;
use trailguard_model::Value;

const MAX_KEYS: usize = 2;

/// Keys belonging to a user (`None`: the root user) of the current account.
pub fn keys_of(env: &mut Env<'_>, user: Option<&str>) -> Result<Vec<AccessKey>> {
    let prefix = keys_by_owner_prefix(&env.account, user);
    let ids: Vec<String> = env
        .tx
        .scan(NS_KEYS_BY_OWNER, &prefix, None, usize::MAX)?
        .into_iter()
        .filter_map(|(k, _)| k.strip_prefix(&prefix).map(str::to_string))
        .collect();
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(k) = env.get::<AccessKey>(NS_ACCESS_KEY, &id)? {
            out.push(k);
        }
    }
    Ok(out)
}

/// Stores a key and its owner-index entry.
pub fn save_key(env: &mut Env<'_>, key: &AccessKey) -> Result<()> {
    env.put(NS_ACCESS_KEY, &key.id, key)?;
    env.tx.put(NS_KEYS_BY_OWNER, &key_index(key), b"")?;
    Ok(())
}

/// Deletes a key and its owner-index entry.
fn delete_key(env: &mut Env<'_>, key: &AccessKey) -> Result<()> {
    env.delete(NS_ACCESS_KEY, &key.id)?;
    env.tx.delete(NS_KEYS_BY_OWNER, &key_index(key))?;
    env.delete(NS_KEY_LAST_USED, &key.id)?;
    Ok(())
}

fn status(active: bool) -> &'static str {
    if active { "Active" } else { "Inactive" }
}

pub fn create_access_key(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let user = target_user(env, p)?;
    let user = match user {
        Some(name) => Some(load(env, Kind::User, &name)?.name),
        None => None,
    };
    if keys_of(env, user.as_deref())?.len() >= MAX_KEYS {
        return Err(IamError::LimitExceeded(format!(
            "Cannot exceed quota for AccessKeysPerUser: {MAX_KEYS}"
        ))
        .into());
    }
    let key = AccessKey {
        id: env.ids.access_key_id("AKIA"),
        account: env.account.clone(),
        user,
        secret: env.ids.secret_access_key().into(),
        active: true,
        create_date: env.now,
        last_used: None,
    };
    save_key(env, &key)?;
    Ok(created(&key))
}

/// `CreateAccessKey`'s output for a new key (the secret is `Sensitive`, so its
/// record leaves it out).
pub fn created(key: &AccessKey) -> Value {
    Value::structure().with(
        "AccessKey",
        Value::structure()
            .with("UserName", key.user.clone())
            .with("AccessKeyId", &key.id)
            .with("Status", status(key.active))
            .with(
                "SecretAccessKey",
                Value::Sensitive(Box::new(Value::Str(key.secret.expose().to_string()))),
            )
            .with("CreateDate", key.create_date),
    )
}

pub fn list_access_keys(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let user = target_user(env, p)?;
    let user = match user {
        Some(name) => Some(load(env, Kind::User, &name)?.name),
        None => None,
    };
    let keys: Vec<(String, AccessKey)> = keys_of(env, user.as_deref())?
        .into_iter()
        .map(|k| (k.id.clone(), k))
        .collect();
    Ok(paginate(keys, p, |k| {
        Value::structure()
            .with("UserName", k.user.clone())
            .with("AccessKeyId", &k.id)
            .with("Status", status(k.active))
            .with("CreateDate", k.create_date)
    })?
    .into_value("AccessKeyMetadata"))
}

fn owned_key(env: &mut Env<'_>, p: Params<'_>) -> Result<AccessKey> {
    let id = p.str_len("AccessKeyId", 16, 128)?;
    let user = target_user(env, p)?;
    let not_found =
        || IamError::NoSuchEntity(format!("The Access Key with id {id} cannot be found")).into();
    let key: AccessKey = env.get(NS_ACCESS_KEY, id)?.ok_or_else(not_found)?;
    let same_owner = match (&key.user, &user) {
        (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
        (None, None) => true,
        _ => false,
    };
    if key.account != env.account || !same_owner {
        return Err(not_found());
    }
    Ok(key)
}

pub fn update_access_key(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let active = match p.str("Status")? {
        "Active" => true,
        "Inactive" => false,
        other => {
            return Err(Error::constraint(
                "status",
                other,
                "Member must satisfy enum value set: [Active, Inactive]",
            ));
        }
    };
    let mut key = owned_key(env, p)?;
    key.active = active;
    save_key(env, &key)?;
    Ok(Value::Null)
}

pub fn delete_access_key(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let key = owned_key(env, p)?;
    delete_key(env, &key)?;
    Ok(Value::Null)
}

pub fn get_access_key_last_used(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let id = p.str_len("AccessKeyId", 16, 128)?;
    let key: Option<AccessKey> = env.get(NS_ACCESS_KEY, id)?;
    let key = key.filter(|k| k.account == env.account).ok_or_else(|| {
        Error::AccessDenied(format!("The Access Key with id {id} cannot be found"))
    })?;
    let used: Option<KeyLastUsed> = env.get(NS_KEY_LAST_USED, id)?;
    let last = match used.as_ref().or(key.last_used.as_ref()) {
        Some(l) => Value::structure()
            .with("LastUsedDate", l.date)
            .with("ServiceName", &l.service)
            .with("Region", &l.region),
        None => Value::structure()
            .with("ServiceName", "N/A")
            .with("Region", "N/A"),
    };
    Ok(Value::structure()
        .with(
            "UserName",
            key.user.clone().unwrap_or_else(|| "root".into()),
        )
        .with("AccessKeyLastUsed", last))
}
