//! Users, groups and roles: lifecycle, membership, trust policies, boundaries and tags.

use super::entities::{
    Detail, Entity, Kind, NS_KEYS_BY_OWNER, account_prefix, key, key_index, tags_value,
};
use super::{paginate, target_user};
use crate::error::IamError;
use trailguard_core::authz::Authorized;
use trailguard_core::env::Env;
use trailguard_core::error::Result;
use trailguard_core::params::Params;
use trailguard_model::Value;

/// Loads an entity or fails with AWS's `NoSuchEntity`.
pub fn load(env: &mut Env<'_>, kind: Kind, name: &str) -> Result<Entity> {
    let account = env.account.clone();
    env.get(kind.ns(), &key(&account, name))?
        .ok_or_else(|| IamError::NoSuchEntity(kind.not_found(name)).into())
}

/// Stores an entity under its (case-insensitive) name.
pub fn save(env: &mut Env<'_>, entity: &Entity) -> Result<()> {
    let account = env.account.clone();
    env.put(entity.kind.ns(), &key(&account, &entity.name), entity)
}

fn create(env: &mut Env<'_>, p: Params<'_>, kind: Kind) -> Result<Entity> {
    let name = p
        .iam_name(kind.name_param(), kind.max_name_len())?
        .to_string();
    let path = p.path("Path")?;
    let tags = if kind == Kind::Group {
        Vec::new()
    } else {
        p.tags("Tags")?
    };
    let account = env.account.clone();
    if env
        .get::<Entity>(kind.ns(), &key(&account, &name))?
        .is_some()
    {
        return Err(IamError::EntityAlreadyExists(format!(
            "{} with name {name} already exists.",
            kind.title()
        ))
        .into());
    }
    let boundary = match p.opt_str("PermissionsBoundary")? {
        Some(arn) if kind != Kind::Group => Some(super::policies::check_boundary(env, arn)?),
        _ => None,
    };
    Ok(Entity {
        kind,
        id: env.ids.unique_id(kind.id_prefix()),
        arn: kind.arn(&account, &path, &name),
        name,
        path,
        create_date: env.now,
        tags,
        attached: Vec::new(),
        inline: Default::default(),
        permissions_boundary: boundary,
        groups: Vec::new(),
        members: Vec::new(),
        assume_role_policy: None,
        description: None,
        max_session_duration: None,
        last_used: None,
        instance_profiles: Vec::new(),
        trust_pins: Default::default(),
        linked_service: None,
    })
}

fn list(env: &mut Env<'_>, p: Params<'_>, kind: Kind, member: &str) -> Result<Value> {
    let prefix = p.path_prefix()?.unwrap_or("/").to_string();
    let account = env.account.clone();
    let all: Vec<(String, Entity)> = env
        .scan(kind.ns(), &account_prefix(&account), None, usize::MAX)?
        .into_iter()
        .filter(|(_, e): &(String, Entity)| e.path.starts_with(&prefix))
        .collect();
    Ok(paginate(all, p, |e| e.to_value(Detail::Summary))?.into_value(member))
}

pub fn create_user(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let user = create(env, p, Kind::User)?;
    save(env, &user)?;
    Ok(Value::structure().with("User", user.to_value(Detail::Full)))
}

pub fn get_user(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let Some(name) = target_user(env, p)? else {
        // The root user asking about itself.
        let account = env.account.clone();
        return Ok(Value::structure().with(
            "User",
            Value::structure()
                .with("UserId", account.as_str())
                .with("Arn", format!("arn:aws:iam::{account}:root"))
                .with("CreateDate", env.now),
        ));
    };
    let user = load(env, Kind::User, &name)?;
    Ok(Value::structure().with("User", user.to_value(Detail::Full)))
}

pub fn list_users(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    list(env, p, Kind::User, "Users")
}

/// Renames and/or moves an entity, keeping every reference to it consistent.
fn rename(env: &mut Env<'_>, p: Params<'_>, kind: Kind) -> Result<Value> {
    let name = p.iam_name(kind.name_param(), kind.max_name_len())?;
    let new_name = p.opt_iam_name(&format!("New{}", kind.name_param()), kind.max_name_len())?;
    let new_path = match p.opt_str("NewPath")? {
        Some(_) => Some(p.path("NewPath")?),
        None => None,
    };
    let mut entity = load(env, kind, name)?;
    let account = env.account.clone();
    if let Some(new_name) = new_name
        && !new_name.eq_ignore_ascii_case(&entity.name)
        && env
            .get::<Entity>(kind.ns(), &key(&account, new_name))?
            .is_some()
    {
        return Err(IamError::EntityAlreadyExists(format!(
            "{} with name {new_name} already exists.",
            kind.title()
        ))
        .into());
    }
    let old_name = entity.name.clone();
    env.delete(kind.ns(), &key(&account, &old_name))?;
    if let Some(n) = new_name {
        entity.name = n.to_string();
    }
    if let Some(path) = new_path {
        entity.path = path;
    }
    let old_arn = std::mem::replace(
        &mut entity.arn,
        kind.arn(&account, &entity.path, &entity.name),
    );
    // Trust policies that named the entity follow it to its new ARN.
    if old_arn != entity.arn {
        super::trust::repin(env, &old_arn, &entity.arn, &entity.id)?;
    }
    // Keep membership lists pointing at the new name.
    let (other_kind, links) = match kind {
        Kind::User => (Kind::Group, entity.groups.clone()),
        Kind::Group => (Kind::User, entity.members.clone()),
        Kind::Role => (Kind::Role, Vec::new()),
    };
    for other in links {
        let mut o = load(env, other_kind, &other)?;
        let list = if kind == Kind::User {
            &mut o.members
        } else {
            &mut o.groups
        };
        for n in list.iter_mut() {
            if n.eq_ignore_ascii_case(&old_name) {
                n.clone_from(&entity.name);
            }
        }
        save(env, &o)?;
    }
    if kind == Kind::User {
        // The key index is by owner name: move the user's keys to the new one.
        for mut k in super::keys::keys_of(env, Some(&old_name))? {
            env.tx.delete(NS_KEYS_BY_OWNER, &key_index(&k))?;
            k.user = Some(entity.name.clone());
            super::keys::save_key(env, &k)?;
        }
    }
    save(env, &entity)?;
    Ok(Value::Null)
}

pub fn update_user(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    rename(env, p, Kind::User)
}

fn ensure_deletable(entity: &Entity) -> Result<()> {
    if !entity.attached.is_empty() {
        return Err(IamError::DeleteConflict(
            "Cannot delete entity, must detach all policies first.".into(),
        )
        .into());
    }
    if !entity.inline.is_empty() {
        return Err(IamError::DeleteConflict(
            "Cannot delete entity, must delete policies first.".into(),
        )
        .into());
    }
    Ok(())
}

pub fn delete_user(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let name = p.iam_name("UserName", 64)?;
    let user = load(env, Kind::User, name)?;
    let account = env.account.clone();
    if !super::keys::keys_of(env, Some(&user.name))?.is_empty() {
        return Err(IamError::DeleteConflict(
            "Cannot delete entity, must delete access keys first.".into(),
        )
        .into());
    }
    if !user.groups.is_empty() {
        return Err(IamError::DeleteConflict(
            "Cannot delete entity, must remove users from group first.".into(),
        )
        .into());
    }
    ensure_deletable(&user)?;
    env.delete(Kind::User.ns(), &key(&account, &user.name))?;
    super::trust::unpin(env, &user)?;
    Ok(Value::Null)
}

pub fn create_group(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let group = create(env, p, Kind::Group)?;
    save(env, &group)?;
    Ok(Value::structure().with("Group", group.to_value(Detail::Full)))
}

pub fn get_group(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let name = p.iam_name("GroupName", 128)?;
    let group = load(env, Kind::Group, name)?;
    let mut members = Vec::new();
    for m in &group.members {
        let user = load(env, Kind::User, m)?;
        members.push((key(&env.account, m), user));
    }
    members.sort_by(|a, b| a.0.cmp(&b.0));
    let page = paginate(members, p, |u| u.to_value(Detail::Summary))?;
    let truncated = page.next.is_some();
    Ok(Value::structure()
        .with("Group", group.to_value(Detail::Full))
        .with("Users", Value::List(page.items))
        .with("IsTruncated", truncated)
        .with("Marker", page.next))
}

pub fn list_groups(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    list(env, p, Kind::Group, "Groups")
}

pub fn update_group(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    rename(env, p, Kind::Group)
}

pub fn delete_group(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let name = p.iam_name("GroupName", 128)?;
    let group = load(env, Kind::Group, name)?;
    if !group.members.is_empty() {
        return Err(IamError::DeleteConflict(
            "Cannot delete entity, must remove users from group first.".into(),
        )
        .into());
    }
    ensure_deletable(&group)?;
    let account = env.account.clone();
    env.delete(Kind::Group.ns(), &key(&account, &group.name))?;
    Ok(Value::Null)
}

pub fn add_user_to_group(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let mut group = load(env, Kind::Group, p.iam_name("GroupName", 128)?)?;
    let mut user = load(env, Kind::User, p.iam_name("UserName", 64)?)?;
    if user
        .groups
        .iter()
        .any(|g| g.eq_ignore_ascii_case(&group.name))
    {
        return Ok(Value::Null);
    }
    if user.groups.len() >= 10 {
        return Err(
            IamError::LimitExceeded("Cannot exceed quota for GroupsPerUser: 10".into()).into(),
        );
    }
    user.groups.push(group.name.clone());
    group.members.push(user.name.clone());
    save(env, &user)?;
    save(env, &group)?;
    Ok(Value::Null)
}

pub fn remove_user_from_group(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let mut group = load(env, Kind::Group, p.iam_name("GroupName", 128)?)?;
    let mut user = load(env, Kind::User, p.iam_name("UserName", 64)?)?;
    if !user
        .groups
        .iter()
        .any(|g| g.eq_ignore_ascii_case(&group.name))
    {
        return Err(IamError::NoSuchEntity(format!(
            "User {} is not in group {}.",
            user.name, group.name
        ))
        .into());
    }
    user.groups.retain(|g| !g.eq_ignore_ascii_case(&group.name));
    group
        .members
        .retain(|m| !m.eq_ignore_ascii_case(&user.name));
    save(env, &user)?;
    save(env, &group)?;
    Ok(Value::Null)
}

pub fn list_groups_for_user(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let user = load(env, Kind::User, p.iam_name("UserName", 64)?)?;
    let mut groups = Vec::new();
    for g in &user.groups {
        groups.push((key(&env.account, g), load(env, Kind::Group, g)?));
    }
    groups.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(paginate(groups, p, |g| g.to_value(Detail::Summary))?.into_value("Groups"))
}

fn max_session(p: Params<'_>) -> Result<Option<i64>> {
    p.opt_int("MaxSessionDuration", 3600, 43200)
}

pub fn create_role(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let doc = p.str_len("AssumeRolePolicyDocument", 1, 131_072)?;
    let pins = super::trust::check(env, doc)?;
    let description = p.opt_str_len("Description", 0, 1000)?;
    let max = max_session(p)?.unwrap_or(3600);
    // Only a linked service (through `slr::create`) makes roles under this path.
    super::slr::ensure_path_not_reserved(&p.path("Path")?)?;
    let mut role = create(env, p, Kind::Role)?;
    role.assume_role_policy = Some(doc.to_string());
    role.trust_pins = pins;
    role.description = description.map(str::to_string);
    role.max_session_duration = Some(max);
    save(env, &role)?;
    let mut out = role.to_value(Detail::Full);
    // CreateRole's answer carries no RoleLastUsed.
    if let Value::Struct(members) = &mut out {
        members.retain(|(k, _)| k != "RoleLastUsed");
    }
    Ok(Value::structure().with("Role", out))
}

pub fn get_role(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let role = load(env, Kind::Role, p.iam_name("RoleName", 64)?)?;
    Ok(Value::structure().with("Role", role.to_value(Detail::Full)))
}

pub fn list_roles(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    list(env, p, Kind::Role, "Roles")
}

pub fn update_role(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let mut role = load(env, Kind::Role, p.iam_name("RoleName", 64)?)?;
    if p.opt_str("MaxSessionDuration")?.is_some() {
        // Only the description of a service-linked role may change.
        super::slr::ensure_modifiable(&role)?;
    }
    if let Some(d) = p.opt_str_len("Description", 0, 1000)? {
        role.description = Some(d.to_string());
    }
    if let Some(m) = max_session(p)? {
        role.max_session_duration = Some(m);
    }
    save(env, &role)?;
    Ok(Value::structure())
}

pub fn update_role_description(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let mut role = load(env, Kind::Role, p.iam_name("RoleName", 64)?)?;
    role.description = Some(p.str_len("Description", 0, 1000)?.to_string());
    save(env, &role)?;
    let mut out = role.to_value(Detail::Full);
    if let Value::Struct(members) = &mut out {
        members.retain(|(k, _)| k != "RoleLastUsed");
    }
    Ok(Value::structure().with("Role", out))
}

pub fn update_assume_role_policy(
    env: &mut Env<'_>,
    _: &Authorized,
    p: Params<'_>,
) -> Result<Value> {
    let mut role = load(env, Kind::Role, p.iam_name("RoleName", 64)?)?;
    super::slr::ensure_modifiable(&role)?;
    let doc = p.str_len("PolicyDocument", 1, 131_072)?;
    role.trust_pins = super::trust::check(env, doc)?;
    role.assume_role_policy = Some(doc.to_string());
    save(env, &role)?;
    Ok(Value::Null)
}

pub fn delete_role(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let role = load(env, Kind::Role, p.iam_name("RoleName", 64)?)?;
    super::slr::ensure_modifiable(&role)?;
    if !role.instance_profiles.is_empty() {
        return Err(IamError::DeleteConflict(
            "Cannot delete entity, must remove roles from instance profile first.".into(),
        )
        .into());
    }
    ensure_deletable(&role)?;
    let account = env.account.clone();
    env.delete(Kind::Role.ns(), &key(&account, &role.name))?;
    super::trust::unpin(env, &role)?;
    Ok(Value::Null)
}

fn put_boundary(env: &mut Env<'_>, p: Params<'_>, kind: Kind) -> Result<Value> {
    let mut entity = load(env, kind, p.iam_name(kind.name_param(), 64)?)?;
    super::slr::ensure_modifiable(&entity)?;
    let arn = super::policies::check_boundary(env, p.str("PermissionsBoundary")?)?;
    entity.permissions_boundary = Some(arn);
    save(env, &entity)?;
    Ok(Value::Null)
}

fn delete_boundary(env: &mut Env<'_>, p: Params<'_>, kind: Kind) -> Result<Value> {
    let mut entity = load(env, kind, p.iam_name(kind.name_param(), 64)?)?;
    super::slr::ensure_modifiable(&entity)?;
    entity.permissions_boundary = None;
    save(env, &entity)?;
    Ok(Value::Null)
}

pub fn put_user_boundary(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    put_boundary(env, p, Kind::User)
}
pub fn delete_user_boundary(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    delete_boundary(env, p, Kind::User)
}
pub fn put_role_boundary(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    put_boundary(env, p, Kind::Role)
}
pub fn delete_role_boundary(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    delete_boundary(env, p, Kind::Role)
}

/// Merges tags into a tag list (keys compare case-insensitively), keeping the 50-tag limit.
pub fn merge_tags(
    existing: &mut Vec<trailguard_core::params::Tag>,
    new: Vec<trailguard_core::params::Tag>,
) -> Result<()> {
    for tag in new {
        match existing
            .iter_mut()
            .find(|t| t.key.eq_ignore_ascii_case(&tag.key))
        {
            Some(t) => t.value = tag.value,
            None => existing.push(tag),
        }
    }
    if existing.len() > 50 {
        return Err(IamError::LimitExceeded(
            "The number of tags has reached the maximum limit.".into(),
        )
        .into());
    }
    Ok(())
}

/// Removes tags by key.
pub fn remove_tags(existing: &mut Vec<trailguard_core::params::Tag>, p: Params<'_>) -> Result<()> {
    let keys = p.str_list("TagKeys")?;
    existing.retain(|t| !keys.iter().any(|k| k.eq_ignore_ascii_case(&t.key)));
    Ok(())
}

fn tag(env: &mut Env<'_>, p: Params<'_>, kind: Kind) -> Result<Value> {
    let mut e = load(env, kind, p.iam_name(kind.name_param(), 64)?)?;
    merge_tags(&mut e.tags, p.tags("Tags")?)?;
    save(env, &e)?;
    Ok(Value::Null)
}

fn untag(env: &mut Env<'_>, p: Params<'_>, kind: Kind) -> Result<Value> {
    let mut e = load(env, kind, p.iam_name(kind.name_param(), 64)?)?;
    remove_tags(&mut e.tags, p)?;
    save(env, &e)?;
    Ok(Value::Null)
}

/// Renders a tag list page (tags are few; IAM still pages them).
pub fn tags_page(tags: &[trailguard_core::params::Tag], p: Params<'_>) -> Result<Value> {
    let items: Vec<(String, trailguard_core::params::Tag)> = tags
        .iter()
        .enumerate()
        .map(|(i, t)| (format!("{i:04}"), t.clone()))
        .collect();
    let page = paginate(items, p, |t| tags_value(std::slice::from_ref(t)))?;
    let truncated = page.next.is_some();
    let flat: Vec<Value> = page
        .items
        .into_iter()
        .flat_map(|v| match v {
            Value::List(items) => items,
            other => vec![other],
        })
        .collect();
    Ok(Value::structure()
        .with("Tags", Value::List(flat))
        .with("IsTruncated", truncated)
        .with("Marker", page.next))
}

fn list_tags(env: &mut Env<'_>, p: Params<'_>, kind: Kind) -> Result<Value> {
    let e = load(env, kind, p.iam_name(kind.name_param(), 64)?)?;
    tags_page(&e.tags, p)
}

pub fn tag_user(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    tag(env, p, Kind::User)
}
pub fn untag_user(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    untag(env, p, Kind::User)
}
pub fn list_user_tags(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    list_tags(env, p, Kind::User)
}
pub fn tag_role(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    tag(env, p, Kind::Role)
}
pub fn untag_role(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    untag(env, p, Kind::Role)
}
pub fn list_role_tags(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    list_tags(env, p, Kind::Role)
}

/// IAM's snapshot of everything in the account.
pub fn get_account_authorization_details(
    env: &mut Env<'_>,
    _: &Authorized,
    p: Params<'_>,
) -> Result<Value> {
    let filter = p.str_list("Filter")?;
    let wants = |f: &str| filter.is_empty() || filter.contains(&f);
    let account = env.account.clone();
    let inline_list = |e: &Entity| {
        Value::List(
            e.inline
                .iter()
                .map(|(n, d)| {
                    Value::structure()
                        .with("PolicyName", n)
                        .with("PolicyDocument", super::entities::encode_document(d))
                })
                .collect(),
        )
    };
    let attached_list = |env: &Env<'_>, e: &Entity| {
        Value::List(
            e.attached
                .iter()
                .map(|arn| super::policies::attached_value(env, arn))
                .collect(),
        )
    };
    let mut out = Value::structure();
    if wants("User") {
        let users: Vec<Entity> = env.scan_all(Kind::User.ns(), &account_prefix(&account))?;
        out = out.with(
            "UserDetailList",
            Value::List(
                users
                    .iter()
                    .map(|u| {
                        Value::structure()
                            .with("Path", &u.path)
                            .with("UserName", &u.name)
                            .with("UserId", &u.id)
                            .with("Arn", &u.arn)
                            .with("CreateDate", u.create_date)
                            .with("UserPolicyList", inline_list(u))
                            .with("GroupList", u.groups.clone())
                            .with("AttachedManagedPolicies", attached_list(env, u))
                            .with("Tags", tags_value(&u.tags))
                    })
                    .collect(),
            ),
        );
    }
    if wants("Group") {
        let groups: Vec<Entity> = env.scan_all(Kind::Group.ns(), &account_prefix(&account))?;
        out = out.with(
            "GroupDetailList",
            Value::List(
                groups
                    .iter()
                    .map(|g| {
                        Value::structure()
                            .with("Path", &g.path)
                            .with("GroupName", &g.name)
                            .with("GroupId", &g.id)
                            .with("Arn", &g.arn)
                            .with("CreateDate", g.create_date)
                            .with("GroupPolicyList", inline_list(g))
                            .with("AttachedManagedPolicies", attached_list(env, g))
                    })
                    .collect(),
            ),
        );
    }
    if wants("Role") {
        let roles: Vec<Entity> = env.scan_all(Kind::Role.ns(), &account_prefix(&account))?;
        let mut list = Vec::new();
        for r in &roles {
            let profiles = super::profiles::profiles_for_role(env, r)?;
            list.push(
                Value::structure()
                    .with("Path", &r.path)
                    .with("RoleName", &r.name)
                    .with("RoleId", &r.id)
                    .with("Arn", &r.arn)
                    .with("CreateDate", r.create_date)
                    .with(
                        "AssumeRolePolicyDocument",
                        r.assume_role_policy
                            .as_deref()
                            .map(super::entities::encode_document),
                    )
                    .with("InstanceProfileList", Value::List(profiles))
                    .with("RolePolicyList", inline_list(r))
                    .with("AttachedManagedPolicies", attached_list(env, r))
                    .with("Tags", tags_value(&r.tags))
                    .with(
                        "RoleLastUsed",
                        r.last_used.as_ref().map_or_else(Value::structure, |l| {
                            Value::structure()
                                .with("LastUsedDate", l.date)
                                .with("Region", &l.region)
                        }),
                    ),
            );
        }
        out = out.with("RoleDetailList", Value::List(list));
    }
    if wants("LocalManagedPolicy") || wants("AWSManagedPolicy") {
        let mut list = Vec::new();
        if wants("LocalManagedPolicy") {
            for pol in super::policies::customer_policies(env)? {
                list.push(super::policies::policy_detail(&pol));
            }
        }
        if wants("AWSManagedPolicy") {
            let attached = super::policies::attached_aws_policies(env)?;
            for arn in attached {
                if let Some(m) = env.catalogue.get(&arn) {
                    list.push(super::policies::aws_policy_detail(env, m)?);
                }
            }
        }
        out = out.with("Policies", Value::List(list));
    }
    Ok(out.with("IsTruncated", false))
}

/// IAM's account summary: entity counts and the quotas trailguard enforces.
pub fn get_account_summary(env: &mut Env<'_>, _: &Authorized, _: Params<'_>) -> Result<Value> {
    let account = env.account.clone();
    let prefix = account_prefix(&account);
    let count = |n: usize| Value::Int(i64::try_from(n).unwrap_or(i64::MAX));
    let users = env
        .scan::<Entity>(Kind::User.ns(), &prefix, None, usize::MAX)?
        .len();
    let groups = env
        .scan::<Entity>(Kind::Group.ns(), &prefix, None, usize::MAX)?
        .len();
    let roles = env
        .scan::<Entity>(Kind::Role.ns(), &prefix, None, usize::MAX)?
        .len();
    let policies = super::policies::customer_policies(env)?;
    let versions: usize = policies.iter().map(|p| p.versions.len()).sum();
    let profiles = env
        .scan::<super::entities::InstanceProfile>(
            super::entities::NS_PROFILE,
            &prefix,
            None,
            usize::MAX,
        )?
        .len();
    let root_keys = super::keys::keys_of(env, None)?.iter().any(|k| k.active);
    let entries: Vec<(&str, Value)> = vec![
        ("Users", count(users)),
        ("UsersQuota", Value::Int(5000)),
        ("Groups", count(groups)),
        ("GroupsQuota", Value::Int(300)),
        ("Roles", count(roles)),
        ("RolesQuota", Value::Int(1000)),
        ("Policies", count(policies.len())),
        ("PoliciesQuota", Value::Int(1500)),
        ("PolicyVersionsInUse", count(versions)),
        ("PolicyVersionsInUseQuota", Value::Int(10000)),
        ("InstanceProfiles", count(profiles)),
        ("InstanceProfilesQuota", Value::Int(1000)),
        ("AccessKeysPerUserQuota", Value::Int(2)),
        ("GroupsPerUserQuota", Value::Int(10)),
        ("AttachedPoliciesPerUserQuota", Value::Int(10)),
        ("AttachedPoliciesPerGroupQuota", Value::Int(10)),
        ("AttachedPoliciesPerRoleQuota", Value::Int(10)),
        ("PolicySizeQuota", Value::Int(6144)),
        ("UserPolicySizeQuota", Value::Int(2048)),
        ("GroupPolicySizeQuota", Value::Int(5120)),
        ("RolePolicySizeQuota", Value::Int(10240)),
        ("AssumeRolePolicySizeQuota", Value::Int(2048)),
        ("VersionsPerPolicyQuota", Value::Int(5)),
        ("AccountAccessKeysPresent", Value::Int(i64::from(root_keys))),
        ("AccountMFAEnabled", Value::Int(0)),
        ("MFADevices", Value::Int(0)),
        ("MFADevicesInUse", Value::Int(0)),
        ("Providers", Value::Int(0)),
        ("ServerCertificates", Value::Int(0)),
        ("ServerCertificatesQuota", Value::Int(20)),
        ("SigningCertificatesPerUserQuota", Value::Int(2)),
        ("AccountSigningCertificatesPresent", Value::Int(0)),
        ("GlobalEndpointTokenVersion", Value::Int(1)),
    ];
    Ok(Value::structure().with(
        "SummaryMap",
        Value::Map(
            entries
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        ),
    ))
}
