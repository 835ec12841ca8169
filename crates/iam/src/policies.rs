//! Managed policies (AWS's and the customer's), versions, attachments and inline policies.

use super::entities::{
    CustomerPolicy, Entity, Kind, NS_AWS_POLICY_USE, NS_POLICY, PolicyVersion, account_prefix,
    encode_document, key, policy_size,
};
use super::paginate;
use super::principals::{load, merge_tags, remove_tags, save, tags_page};
use crate::error::IamError;
use trailguard_core::authz::Authorized;
use trailguard_core::catalogue::ManagedPolicy;
use trailguard_core::env::Env;
use trailguard_core::error::{Error, Result};
use trailguard_core::params::Params;
use trailguard_model::Value;
use trailguard_policy::PolicyDocument;

const MANAGED_QUOTA: usize = 6144;
const MAX_VERSIONS: usize = 5;
const MAX_ATTACHED: usize = 10;

/// Parses and checks an identity-based policy document.
fn check_identity_document(doc: &str, require_2012: bool) -> Result<PolicyDocument> {
    let parsed = PolicyDocument::parse(doc).map_err(|e| IamError::MalformedPolicyDocument(e.0))?;
    if require_2012 && parsed.version.as_deref() != Some("2012-10-17") {
        return Err(IamError::MalformedPolicyDocument(
            "Policy document must be version 2012-10-17 or greater.".into(),
        )
        .into());
    }
    parsed
        .validate_identity()
        .map_err(|e| IamError::MalformedPolicyDocument(e.0))?;
    Ok(parsed)
}

fn invalid_arn(arn: &str) -> Error {
    Error::InvalidInput(format!("ARN {arn} is not valid."))
}

/// Finds a customer policy by ARN, if the ARN names one in this account.
fn find_customer(env: &mut Env<'_>, arn: &str) -> Result<Option<CustomerPolicy>> {
    let prefix = format!("arn:aws:iam::{}:policy/", env.account);
    let Some(rest) = arn.strip_prefix(&prefix) else {
        return Ok(None);
    };
    let name = rest.rsplit('/').next().unwrap_or(rest);
    let account = env.account.clone();
    let found: Option<CustomerPolicy> = env.get(NS_POLICY, &key(&account, name))?;
    Ok(found.filter(|p| p.arn == arn))
}

fn check_policy_arn(arn: &str) -> Result<()> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    match parts.as_slice() {
        ["arn", "aws", "iam", "", _, res]
            if res.starts_with("policy/") && arn.len() >= 20 && arn.len() <= 2048 =>
        {
            Ok(())
        }
        _ => Err(invalid_arn(arn)),
    }
}

fn load_customer(env: &mut Env<'_>, arn: &str) -> Result<CustomerPolicy> {
    check_policy_arn(arn)?;
    find_customer(env, arn)?
        .ok_or_else(|| IamError::NoSuchEntity(format!("Policy {arn} was not found.")).into())
}

fn save_customer(env: &mut Env<'_>, p: &CustomerPolicy) -> Result<()> {
    let account = env.account.clone();
    env.put(NS_POLICY, &key(&account, &p.name), p)
}

fn aws_use_count(env: &mut Env<'_>, arn: &str) -> Result<i64> {
    let account = env.account.clone();
    Ok(env
        .get::<i64>(NS_AWS_POLICY_USE, &format!("{account}/{arn}"))?
        .unwrap_or(0))
}

fn bump_aws_use(env: &mut Env<'_>, arn: &str, by: i64) -> Result<()> {
    let account = env.account.clone();
    let k = format!("{account}/{arn}");
    let n = env.get::<i64>(NS_AWS_POLICY_USE, &k)?.unwrap_or(0) + by;
    if n <= 0 {
        env.delete(NS_AWS_POLICY_USE, &k)?;
        Ok(())
    } else {
        env.put(NS_AWS_POLICY_USE, &k, &n)
    }
}

fn customer_value(p: &CustomerPolicy, with_description: bool) -> Value {
    Value::structure()
        .with("PolicyName", &p.name)
        .with("PolicyId", &p.id)
        .with("Arn", &p.arn)
        .with("Path", &p.path)
        .with("DefaultVersionId", &p.default_version_id)
        .with("AttachmentCount", p.attachment_count)
        .with("PermissionsBoundaryUsageCount", p.boundary_usage_count)
        .with("IsAttachable", true)
        .with(
            "Description",
            if with_description {
                p.description.clone()
            } else {
                None
            },
        )
        .with("CreateDate", p.create_date)
        .with("UpdateDate", p.update_date)
        .with(
            "Tags",
            if with_description && !p.tags.is_empty() {
                super::entities::tags_value(&p.tags)
            } else {
                Value::Null
            },
        )
}

fn aws_value(m: &ManagedPolicy, attachments: i64, with_description: bool) -> Value {
    Value::structure()
        .with("PolicyName", &m.name)
        .with("PolicyId", &m.policy_id)
        .with("Arn", &m.arn)
        .with("Path", &m.path)
        .with("DefaultVersionId", &m.default_version_id)
        .with("AttachmentCount", attachments)
        .with("PermissionsBoundaryUsageCount", 0i64)
        .with("IsAttachable", true)
        .with(
            "Description",
            if with_description {
                m.description.clone()
            } else {
                None
            },
        )
        .with("CreateDate", m.create_date)
        .with("UpdateDate", m.update_date)
}

pub fn create_policy(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let name = p.iam_name("PolicyName", 128)?.to_string();
    let path = p.path("Path")?;
    let doc = p.str_len("PolicyDocument", 1, 131_072)?;
    let description = p.opt_str_len("Description", 0, 1000)?.map(str::to_string);
    let tags = p.tags("Tags")?;
    if policy_size(doc) > MANAGED_QUOTA {
        return Err(IamError::LimitExceeded(format!(
            "Cannot exceed quota for PolicySize: {MANAGED_QUOTA}"
        ))
        .into());
    }
    check_identity_document(doc, true)?;
    let account = env.account.clone();
    if env
        .get::<CustomerPolicy>(NS_POLICY, &key(&account, &name))?
        .is_some()
    {
        return Err(IamError::EntityAlreadyExists(format!(
            "A policy called {name} already exists. Duplicate names are not allowed."
        ))
        .into());
    }
    let policy = CustomerPolicy {
        id: env.ids.unique_id("ANPA"),
        arn: format!("arn:aws:iam::{account}:policy{path}{name}"),
        name,
        path,
        description,
        create_date: env.now,
        update_date: env.now,
        default_version_id: "v1".into(),
        versions: vec![PolicyVersion {
            version_id: "v1".into(),
            document: doc.to_string(),
            create_date: env.now,
        }],
        next_version: 2,
        attachment_count: 0,
        boundary_usage_count: 0,
        tags,
    };
    save_customer(env, &policy)?;
    Ok(Value::structure().with(
        "Policy",
        customer_value(&policy, false).with(
            "Tags",
            if policy.tags.is_empty() {
                Value::Null
            } else {
                super::entities::tags_value(&policy.tags)
            },
        ),
    ))
}

pub fn get_policy(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let arn = p.str("PolicyArn")?;
    check_policy_arn(arn)?;
    if let Some(m) = env.catalogue.get(arn) {
        let n = aws_use_count(env, arn)?;
        return Ok(Value::structure().with("Policy", aws_value(m, n, true)));
    }
    let policy = load_customer(env, arn)?;
    Ok(Value::structure().with("Policy", customer_value(&policy, true)))
}

/// Every customer managed policy in the account.
pub fn customer_policies(env: &mut Env<'_>) -> Result<Vec<CustomerPolicy>> {
    let account = env.account.clone();
    env.scan_all(NS_POLICY, &account_prefix(&account))
}

/// AWS managed policies attached to something in the account.
pub fn attached_aws_policies(env: &mut Env<'_>) -> Result<Vec<String>> {
    let account = env.account.clone();
    let prefix = format!("{account}/");
    Ok(env
        .scan::<i64>(NS_AWS_POLICY_USE, &prefix, None, usize::MAX)?
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .filter_map(|(k, _)| k.strip_prefix(&prefix).map(str::to_string))
        .collect())
}

pub fn list_policies(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let scope = p.opt_str("Scope")?.unwrap_or("All");
    if !matches!(scope, "All" | "AWS" | "Local") {
        return Err(Error::constraint(
            "scope",
            scope,
            "Member must satisfy enum value set: [All, AWS, Local]",
        ));
    }
    let only_attached = p.opt_bool("OnlyAttached")?.unwrap_or(false);
    let prefix = p.path_prefix()?.unwrap_or("/").to_string();
    let mut items: Vec<(String, Value)> = Vec::new();
    if scope != "Local" {
        let entries: Vec<(String, String)> = env
            .catalogue
            .all()
            .iter()
            .filter(|m| m.path.starts_with(&prefix))
            .map(|m| (m.arn.clone(), m.path.clone()))
            .collect();
        for (arn, _) in entries {
            let n = aws_use_count(env, &arn)?;
            if only_attached && n == 0 {
                continue;
            }
            if let Some(m) = env.catalogue.get(&arn) {
                items.push((format!("0/{arn}"), aws_value(m, n, false)));
            }
        }
    }
    if scope != "AWS" {
        let mut local = customer_policies(env)?;
        local.sort_by(|a, b| a.arn.cmp(&b.arn));
        for pol in local.iter().filter(|pol| pol.path.starts_with(&prefix)) {
            if only_attached && pol.attachment_count == 0 {
                continue;
            }
            items.push((format!("1/{}", pol.arn), customer_value(pol, false)));
        }
    }
    Ok(paginate(items, p, Clone::clone)?.into_value("Policies"))
}

pub fn delete_policy(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let arn = p.str("PolicyArn")?;
    if env.catalogue.get(arn).is_some() {
        return Err(Error::InvalidInput(format!("ARN {arn} is not valid.")));
    }
    let policy = load_customer(env, arn)?;
    if policy.attachment_count > 0 || boundary_users(env, arn)? > 0 {
        return Err(IamError::DeleteConflict(
            "Cannot delete a policy attached to entities.".into(),
        )
        .into());
    }
    if policy.versions.len() > 1 {
        return Err(IamError::DeleteConflict(
            "This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy.".into(),
        ).into());
    }
    let account = env.account.clone();
    env.delete(NS_POLICY, &key(&account, &policy.name))?;
    Ok(Value::Null)
}

/// How many users and roles use `arn` as their permissions boundary.
fn boundary_users(env: &mut Env<'_>, arn: &str) -> Result<i64> {
    let account = env.account.clone();
    let mut n = 0;
    for kind in [Kind::User, Kind::Role] {
        let all: Vec<Entity> = env.scan_all(kind.ns(), &account_prefix(&account))?;
        n += all
            .iter()
            .filter(|e| e.permissions_boundary.as_deref() == Some(arn))
            .count();
    }
    Ok(i64::try_from(n).unwrap_or(i64::MAX))
}

fn version_value(v: &PolicyVersion, default: &str, with_document: bool) -> Value {
    Value::structure()
        .with(
            "Document",
            if with_document {
                Some(encode_document(&v.document))
            } else {
                None
            },
        )
        .with("VersionId", &v.version_id)
        .with("IsDefaultVersion", v.version_id == default)
        .with("CreateDate", v.create_date)
}

pub fn create_policy_version(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let arn = p.str("PolicyArn")?;
    let doc = p.str_len("PolicyDocument", 1, 131_072)?;
    let set_default = p.opt_bool("SetAsDefault")?.unwrap_or(false);
    let mut policy = load_customer(env, arn)?;
    if policy_size(doc) > MANAGED_QUOTA {
        return Err(IamError::LimitExceeded(format!(
            "Cannot exceed quota for PolicySize: {MANAGED_QUOTA}"
        ))
        .into());
    }
    check_identity_document(doc, true)?;
    if policy.versions.len() >= MAX_VERSIONS {
        return Err(IamError::LimitExceeded(
            "A managed policy can have up to 5 versions. Before you create a new version, you must delete an existing version.".into(),
        ).into());
    }
    let version = PolicyVersion {
        version_id: format!("v{}", policy.next_version),
        document: doc.to_string(),
        create_date: env.now,
    };
    policy.next_version += 1;
    if set_default {
        policy.default_version_id.clone_from(&version.version_id);
    }
    policy.update_date = env.now;
    policy.versions.push(version.clone());
    save_customer(env, &policy)?;
    Ok(Value::structure().with(
        "PolicyVersion",
        version_value(&version, &policy.default_version_id, false),
    ))
}

fn aws_version(m: &ManagedPolicy) -> PolicyVersion {
    PolicyVersion {
        version_id: m.default_version_id.clone(),
        document: m.document.clone(),
        create_date: m.update_date,
    }
}

pub fn get_policy_version(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let arn = p.str("PolicyArn")?;
    let id = p.str("VersionId")?;
    let not_found = || {
        IamError::NoSuchEntity(format!(
            "Policy {arn} version {id} does not exist or is not attachable."
        ))
        .into()
    };
    if let Some(m) = env.catalogue.get(arn) {
        if id != m.default_version_id {
            return Err(not_found());
        }
        return Ok(
            Value::structure().with("PolicyVersion", version_value(&aws_version(m), id, true))
        );
    }
    let policy = load_customer(env, arn)?;
    let v = policy
        .versions
        .iter()
        .find(|v| v.version_id == id)
        .ok_or_else(not_found)?;
    Ok(Value::structure().with(
        "PolicyVersion",
        version_value(v, &policy.default_version_id, true),
    ))
}

pub fn list_policy_versions(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let arn = p.str("PolicyArn")?;
    let (versions, default) = match env.catalogue.get(arn) {
        Some(m) => (vec![aws_version(m)], m.default_version_id.clone()),
        None => {
            let policy = load_customer(env, arn)?;
            (policy.versions, policy.default_version_id)
        }
    };
    // Newest first, as IAM lists them.
    let mut items: Vec<(String, PolicyVersion)> = versions
        .into_iter()
        .map(|v| {
            let n: u64 = v.version_id.trim_start_matches('v').parse().unwrap_or(0);
            (format!("{:020}", u64::MAX - n), v)
        })
        .collect();
    items.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(paginate(items, p, |v| version_value(v, &default, false))?.into_value("Versions"))
}

pub fn delete_policy_version(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let arn = p.str("PolicyArn")?;
    let id = p.str("VersionId")?;
    let mut policy = load_customer(env, arn)?;
    if policy.default_version_id == id {
        return Err(IamError::DeleteConflict(
            "Cannot delete the default version of a policy.".into(),
        )
        .into());
    }
    let before = policy.versions.len();
    policy.versions.retain(|v| v.version_id != id);
    if policy.versions.len() == before {
        return Err(IamError::NoSuchEntity(format!(
            "Policy {arn} version {id} does not exist or is not attachable."
        ))
        .into());
    }
    save_customer(env, &policy)?;
    Ok(Value::Null)
}

pub fn set_default_policy_version(
    env: &mut Env<'_>,
    _: &Authorized,
    p: Params<'_>,
) -> Result<Value> {
    let arn = p.str("PolicyArn")?;
    let id = p.str("VersionId")?;
    let mut policy = load_customer(env, arn)?;
    if !policy.versions.iter().any(|v| v.version_id == id) {
        return Err(IamError::NoSuchEntity(format!(
            "Policy {arn} version {id} does not exist or is not attachable."
        ))
        .into());
    }
    policy.default_version_id = id.to_string();
    policy.update_date = env.now;
    save_customer(env, &policy)?;
    Ok(Value::Null)
}

pub fn list_entities_for_policy(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let arn = p.str("PolicyArn")?;
    if env.catalogue.get(arn).is_none() {
        load_customer(env, arn)?;
    }
    let filter = p.opt_str("EntityFilter")?;
    let account = env.account.clone();
    let mut out = Value::structure();
    for (kind, member, wanted) in [
        (Kind::Group, "PolicyGroups", "Group"),
        (Kind::User, "PolicyUsers", "User"),
        (Kind::Role, "PolicyRoles", "Role"),
    ] {
        if filter
            .is_some_and(|f| f != wanted && f != "LocalManagedPolicy" && f != "AWSManagedPolicy")
        {
            out = out.with(member, Value::List(Vec::new()));
            continue;
        }
        let all: Vec<Entity> = env.scan_all(kind.ns(), &account_prefix(&account))?;
        let id_member = format!("{}Id", kind.title());
        out = out.with(
            member,
            Value::List(
                all.iter()
                    .filter(|e| e.attached.iter().any(|a| a == arn))
                    .map(|e| {
                        Value::structure()
                            .with(kind.name_param(), &e.name)
                            .with(&id_member, &e.id)
                    })
                    .collect(),
            ),
        );
    }
    Ok(out.with("IsTruncated", false))
}

/// Checks a permissions-boundary ARN names an existing managed policy.
pub fn check_boundary(env: &mut Env<'_>, arn: &str) -> Result<String> {
    check_policy_arn(arn)?;
    if env.catalogue.get(arn).is_some() || find_customer(env, arn)?.is_some() {
        Ok(arn.to_string())
    } else {
        Err(IamError::NoSuchEntity(format!(
            "Scope ARN: {arn} does not exist or is not attachable."
        ))
        .into())
    }
}

/// `{PolicyName, PolicyArn}` of an attached policy.
pub fn attached_value(env: &Env<'_>, arn: &str) -> Value {
    let name = env
        .catalogue
        .get(arn)
        .map(|m| m.name.clone())
        .unwrap_or_else(|| arn.rsplit('/').next().unwrap_or(arn).to_string());
    Value::structure()
        .with("PolicyName", name)
        .with("PolicyArn", arn)
}

pub fn attach(env: &mut Env<'_>, _: &Authorized, p: Params<'_>, kind: Kind) -> Result<Value> {
    let mut entity = load(
        env,
        kind,
        p.iam_name(kind.name_param(), kind.max_name_len())?,
    )?;
    super::slr::ensure_modifiable(&entity)?;
    let arn = p.str("PolicyArn")?;
    check_policy_arn(arn)?;
    let not_attachable =
        || IamError::NoSuchEntity(format!("Policy {arn} does not exist or is not attachable."));
    let customer = if env.catalogue.get(arn).is_some() {
        None
    } else {
        Some(find_customer(env, arn)?.ok_or_else(not_attachable)?)
    };
    if entity.attached.iter().any(|a| a == arn) {
        return Ok(Value::Null);
    }
    if entity.attached.len() >= MAX_ATTACHED {
        return Err(IamError::LimitExceeded(format!(
            "Cannot exceed quota for PoliciesPer{}: {MAX_ATTACHED}",
            kind.title()
        ))
        .into());
    }
    entity.attached.push(arn.to_string());
    save(env, &entity)?;
    match customer {
        Some(mut c) => {
            c.attachment_count += 1;
            save_customer(env, &c)?;
        }
        None => bump_aws_use(env, arn, 1)?,
    }
    Ok(Value::Null)
}

pub fn detach(env: &mut Env<'_>, _: &Authorized, p: Params<'_>, kind: Kind) -> Result<Value> {
    let mut entity = load(
        env,
        kind,
        p.iam_name(kind.name_param(), kind.max_name_len())?,
    )?;
    super::slr::ensure_modifiable(&entity)?;
    let arn = p.str("PolicyArn")?;
    check_policy_arn(arn)?;
    if !entity.attached.iter().any(|a| a == arn) {
        return Err(IamError::NoSuchEntity(format!("Policy {arn} was not found.")).into());
    }
    entity.attached.retain(|a| a != arn);
    save(env, &entity)?;
    match find_customer(env, arn)? {
        Some(mut c) => {
            c.attachment_count = (c.attachment_count - 1).max(0);
            save_customer(env, &c)?;
        }
        None => bump_aws_use(env, arn, -1)?,
    }
    Ok(Value::Null)
}

pub fn list_attached(
    env: &mut Env<'_>,
    _: &Authorized,
    p: Params<'_>,
    kind: Kind,
) -> Result<Value> {
    let entity = load(
        env,
        kind,
        p.iam_name(kind.name_param(), kind.max_name_len())?,
    )?;
    let prefix = p.path_prefix()?;
    let items: Vec<(String, String)> = entity
        .attached
        .iter()
        .filter(|arn| {
            prefix.is_none_or(|pre| {
                let path = arn.split_once(":policy").map_or("/", |(_, rest)| rest);
                path.starts_with(pre)
            })
        })
        .enumerate()
        .map(|(i, a)| (format!("{i:04}"), a.clone()))
        .collect();
    Ok(paginate(items, p, |arn| attached_value(env, arn))?.into_value("AttachedPolicies"))
}

fn inline_not_found(kind: Kind, name: &str) -> Error {
    IamError::NoSuchEntity(format!(
        "The {} policy with name {name} cannot be found.",
        kind.noun()
    ))
    .into()
}

fn inline_name(p: Params<'_>) -> Result<&str> {
    let name = p.str_len("PolicyName", 1, 128)?;
    trailguard_core::params::check_iam_name("PolicyName", name)?;
    Ok(name)
}

pub fn put_inline(env: &mut Env<'_>, _: &Authorized, p: Params<'_>, kind: Kind) -> Result<Value> {
    let mut entity = load(
        env,
        kind,
        p.iam_name(kind.name_param(), kind.max_name_len())?,
    )?;
    super::slr::ensure_modifiable(&entity)?;
    let name = inline_name(p)?;
    let doc = p.str_len("PolicyDocument", 1, 131_072)?;
    check_identity_document(doc, false)?;
    let others: usize = entity
        .inline
        .iter()
        .filter(|(n, _)| n.as_str() != name)
        .map(|(_, d)| policy_size(d))
        .sum();
    if others + policy_size(doc) > kind.inline_quota() {
        return Err(IamError::LimitExceeded(format!(
            "Maximum policy size of {} bytes exceeded for {} {}",
            kind.inline_quota(),
            kind.noun(),
            entity.name
        ))
        .into());
    }
    entity.inline.insert(name.to_string(), doc.to_string());
    save(env, &entity)?;
    Ok(Value::Null)
}

pub fn get_inline(env: &mut Env<'_>, _: &Authorized, p: Params<'_>, kind: Kind) -> Result<Value> {
    let entity = load(
        env,
        kind,
        p.iam_name(kind.name_param(), kind.max_name_len())?,
    )?;
    let name = inline_name(p)?;
    let doc = entity
        .inline
        .get(name)
        .ok_or_else(|| inline_not_found(kind, name))?;
    Ok(Value::structure()
        .with(kind.name_param(), &entity.name)
        .with("PolicyName", name)
        .with("PolicyDocument", encode_document(doc)))
}

pub fn delete_inline(
    env: &mut Env<'_>,
    _: &Authorized,
    p: Params<'_>,
    kind: Kind,
) -> Result<Value> {
    let mut entity = load(
        env,
        kind,
        p.iam_name(kind.name_param(), kind.max_name_len())?,
    )?;
    super::slr::ensure_modifiable(&entity)?;
    let name = inline_name(p)?;
    if entity.inline.remove(name).is_none() {
        return Err(inline_not_found(kind, name));
    }
    save(env, &entity)?;
    Ok(Value::Null)
}

pub fn list_inline(env: &mut Env<'_>, _: &Authorized, p: Params<'_>, kind: Kind) -> Result<Value> {
    let entity = load(
        env,
        kind,
        p.iam_name(kind.name_param(), kind.max_name_len())?,
    )?;
    let items: Vec<(String, String)> = entity
        .inline
        .keys()
        .map(|k| (k.clone(), k.clone()))
        .collect();
    Ok(paginate(items, p, |n| Value::Str(n.clone()))?.into_value("PolicyNames"))
}

pub fn tag_policy(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let mut policy = load_customer(env, p.str("PolicyArn")?)?;
    merge_tags(&mut policy.tags, p.tags("Tags")?)?;
    save_customer(env, &policy)?;
    Ok(Value::Null)
}

pub fn untag_policy(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let mut policy = load_customer(env, p.str("PolicyArn")?)?;
    remove_tags(&mut policy.tags, p)?;
    save_customer(env, &policy)?;
    Ok(Value::Null)
}

pub fn list_policy_tags(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let policy = load_customer(env, p.str("PolicyArn")?)?;
    tags_page(&policy.tags, p)
}

fn versions_list(versions: &[PolicyVersion], default: &str) -> Value {
    Value::List(
        versions
            .iter()
            .map(|v| version_value(v, default, true))
            .collect(),
    )
}

/// A customer policy in `GetAccountAuthorizationDetails`.
pub fn policy_detail(pol: &CustomerPolicy) -> Value {
    customer_value(pol, true).with(
        "PolicyVersionList",
        versions_list(&pol.versions, &pol.default_version_id),
    )
}

/// An AWS managed policy in `GetAccountAuthorizationDetails`.
pub fn aws_policy_detail(env: &mut Env<'_>, m: &ManagedPolicy) -> Result<Value> {
    let n = aws_use_count(env, &m.arn)?;
    Ok(aws_value(m, n, true).with(
        "PolicyVersionList",
        versions_list(&[aws_version(m)], &m.default_version_id),
    ))
}
