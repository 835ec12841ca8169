//! Instance profiles: containers for one role each.

use super::entities::{Detail, Entity, InstanceProfile, Kind, NS_PROFILE, account_prefix, key};
use super::paginate;
use super::principals::{load, merge_tags, remove_tags, save, tags_page};
use crate::error::IamError;
use trailguard_core::authz::Authorized;
use trailguard_core::env::Env;
use trailguard_core::error::Result;
use trailguard_core::params::Params;
use trailguard_model::Value;

fn load_profile(env: &mut Env<'_>, name: &str) -> Result<InstanceProfile> {
    let account = env.account.clone();
    env.get(NS_PROFILE, &key(&account, name))?.ok_or_else(|| {
        IamError::NoSuchEntity(format!("Instance Profile {name} cannot be found.")).into()
    })
}

fn save_profile(env: &mut Env<'_>, p: &InstanceProfile) -> Result<()> {
    let account = env.account.clone();
    env.put(NS_PROFILE, &key(&account, &p.name), p)
}

fn profile_value(env: &mut Env<'_>, p: &InstanceProfile, with_tags: bool) -> Result<Value> {
    let mut roles = Vec::new();
    for r in &p.roles {
        let role = load(env, Kind::Role, r)?;
        let mut v = role.to_value(Detail::Summary);
        if let Value::Struct(members) = &mut v {
            members.retain(|(k, _)| k != "PermissionsBoundary");
        }
        roles.push(v);
    }
    Ok(Value::structure()
        .with("Path", &p.path)
        .with("InstanceProfileName", &p.name)
        .with("InstanceProfileId", &p.id)
        .with("Arn", &p.arn)
        .with("CreateDate", p.create_date)
        .with("Roles", Value::List(roles))
        .with(
            "Tags",
            if with_tags && !p.tags.is_empty() {
                super::entities::tags_value(&p.tags)
            } else {
                Value::Null
            },
        ))
}

/// The profiles containing a role, rendered.
pub fn profiles_for_role(env: &mut Env<'_>, role: &Entity) -> Result<Vec<Value>> {
    let mut out = Vec::new();
    for name in &role.instance_profiles {
        let p = load_profile(env, name)?;
        out.push(profile_value(env, &p, false)?);
    }
    Ok(out)
}

pub fn create_profile(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let name = p.iam_name("InstanceProfileName", 128)?.to_string();
    let path = p.path("Path")?;
    let tags = p.tags("Tags")?;
    let account = env.account.clone();
    if env
        .get::<InstanceProfile>(NS_PROFILE, &key(&account, &name))?
        .is_some()
    {
        return Err(IamError::EntityAlreadyExists(format!(
            "Instance Profile {name} already exists."
        ))
        .into());
    }
    let profile = InstanceProfile {
        id: env.ids.unique_id("AIPA"),
        arn: format!("arn:aws:iam::{account}:instance-profile{path}{name}"),
        name,
        path,
        create_date: env.now,
        roles: Vec::new(),
        tags,
    };
    save_profile(env, &profile)?;
    Ok(Value::structure().with("InstanceProfile", profile_value(env, &profile, true)?))
}

pub fn get_profile(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let profile = load_profile(env, p.iam_name("InstanceProfileName", 128)?)?;
    Ok(Value::structure().with("InstanceProfile", profile_value(env, &profile, true)?))
}

pub fn list_profiles(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let prefix = p.path_prefix()?.unwrap_or("/").to_string();
    let account = env.account.clone();
    let all: Vec<(String, InstanceProfile)> = env
        .scan(NS_PROFILE, &account_prefix(&account), None, usize::MAX)?
        .into_iter()
        .filter(|(_, ip): &(String, InstanceProfile)| ip.path.starts_with(&prefix))
        .collect();
    let mut rendered = Vec::with_capacity(all.len());
    for (k, ip) in all {
        rendered.push((k, profile_value(env, &ip, false)?));
    }
    Ok(paginate(rendered, p, Clone::clone)?.into_value("InstanceProfiles"))
}

pub fn delete_profile(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let profile = load_profile(env, p.iam_name("InstanceProfileName", 128)?)?;
    if !profile.roles.is_empty() {
        return Err(IamError::DeleteConflict(
            "Cannot delete entity, must remove roles from instance profile first.".into(),
        )
        .into());
    }
    let account = env.account.clone();
    env.delete(NS_PROFILE, &key(&account, &profile.name))?;
    Ok(Value::Null)
}

pub fn add_role(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let mut profile = load_profile(env, p.iam_name("InstanceProfileName", 128)?)?;
    let mut role = load(env, Kind::Role, p.iam_name("RoleName", 64)?)?;
    if !profile.roles.is_empty() {
        return Err(IamError::LimitExceeded(
            "Cannot exceed quota for InstanceSessionsPerInstanceProfile: 1".into(),
        )
        .into());
    }
    profile.roles.push(role.name.clone());
    role.instance_profiles.push(profile.name.clone());
    save_profile(env, &profile)?;
    save(env, &role)?;
    Ok(Value::Null)
}

pub fn remove_role(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let mut profile = load_profile(env, p.iam_name("InstanceProfileName", 128)?)?;
    let mut role = load(env, Kind::Role, p.iam_name("RoleName", 64)?)?;
    if !profile
        .roles
        .iter()
        .any(|r| r.eq_ignore_ascii_case(&role.name))
    {
        return Err(IamError::NoSuchEntity(format!(
            "The role with name {} cannot be found in instance profile {}.",
            role.name, profile.name
        ))
        .into());
    }
    profile
        .roles
        .retain(|r| !r.eq_ignore_ascii_case(&role.name));
    role.instance_profiles
        .retain(|n| !n.eq_ignore_ascii_case(&profile.name));
    save_profile(env, &profile)?;
    save(env, &role)?;
    Ok(Value::Null)
}

pub fn list_for_role(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let role = load(env, Kind::Role, p.iam_name("RoleName", 64)?)?;
    let profiles = profiles_for_role(env, &role)?;
    let items: Vec<(String, Value)> = profiles
        .into_iter()
        .enumerate()
        .map(|(i, v)| (format!("{i:04}"), v))
        .collect();
    Ok(paginate(items, p, Clone::clone)?.into_value("InstanceProfiles"))
}

pub fn tag_profile(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let mut profile = load_profile(env, p.iam_name("InstanceProfileName", 128)?)?;
    merge_tags(&mut profile.tags, p.tags("Tags")?)?;
    save_profile(env, &profile)?;
    Ok(Value::Null)
}

pub fn untag_profile(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let mut profile = load_profile(env, p.iam_name("InstanceProfileName", 128)?)?;
    remove_tags(&mut profile.tags, p)?;
    save_profile(env, &profile)?;
    Ok(Value::Null)
}

pub fn list_profile_tags(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let profile = load_profile(env, p.iam_name("InstanceProfileName", 128)?)?;
    tags_page(&profile.tags, p)
}
