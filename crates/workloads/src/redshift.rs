//! Amazon Redshift clusters, as metadata: enough for its service-linked role to
//! behave as AWS's does. Creating the first cluster creates
//! `AWSServiceRoleForRedshift` (if the caller may), the service assumes the role
//! to set the cluster up, and while any cluster exists the role cannot be deleted.
//! The roles a cluster may use (`IamRoles`) are passed to it: each needs
//! `iam:PassRole` (with `iam:PassedToService` = Redshift), must exist in the
//! account and trust Redshift, and is kept and listed on the cluster.

use crate::error::RedshiftError;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use trailguard_core::authz::{self, Authorized};
use trailguard_core::env::Env;
use trailguard_core::error::Result;
use trailguard_core::identity::{Entity, Kind, key};
use trailguard_core::ops::Operation;
use trailguard_core::params::Params;
use trailguard_iam::linked::{self, LinkedResources};
use trailguard_model::wire::Protocol;
use trailguard_model::{ServiceDef, Value};

const NS_CLUSTER: &str = "redshift.cluster";
/// Redshift's service principal.
pub const SERVICE: &str = "redshift.amazonaws.com";

/// Amazon Redshift.
pub const DEF: ServiceDef = ServiceDef {
    xml_namespace: "http://redshift.amazonaws.com/doc/2012-12-01/",
    ..ServiceDef::new("redshift", "redshift.amazonaws.com", Protocol::AwsQuery)
};
/// At most this many IAM roles per cluster (Redshift's quota).
const MAX_CLUSTER_IAM_ROLES: usize = 50;

/// The Redshift operations served.
pub const OPERATIONS: &[Operation] = &[
    Operation::write("CreateCluster", cluster_res, create_cluster),
    Operation::read(
        "DescribeClusters",
        |e, p| match p.opt_str("ClusterIdentifier")? {
            Some(_) => cluster_res(e, p),
            None => Ok("*".into()),
        },
        describe_clusters,
    ),
    Operation::write("DeleteCluster", cluster_res, delete_cluster),
];

/// A cluster.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Cluster {
    id: String,
    account: String,
    region: String,
    node_type: String,
    number_of_nodes: i64,
    master_username: String,
    db_name: String,
    port: i64,
    endpoint: String,
    #[serde(with = "time::serde::rfc3339")]
    created: OffsetDateTime,
    /// The IAM roles passed to the cluster, by ARN.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    iam_roles: Vec<String>,
}

impl Cluster {
    fn arn(&self) -> String {
        format!(
            "arn:aws:redshift:{}:{}:cluster:{}",
            self.region, self.account, self.id
        )
    }

    fn to_value(&self, status: &str) -> Value {
        Value::structure()
            .with("ClusterIdentifier", &self.id)
            .with("NodeType", &self.node_type)
            .with("ClusterStatus", status)
            .with(
                "ClusterAvailabilityStatus",
                if status == "available" {
                    "Available"
                } else {
                    "Modifying"
                },
            )
            .with("MasterUsername", &self.master_username)
            .with("DBName", &self.db_name)
            .with(
                "Endpoint",
                Value::structure()
                    .with("Address", &self.endpoint)
                    .with("Port", self.port),
            )
            .with("ClusterCreateTime", self.created)
            .with(
                "IamRoles",
                Value::ListOf(
                    "ClusterIamRole".into(),
                    self.iam_roles
                        .iter()
                        .map(|arn| {
                            Value::structure()
                                .with("IamRoleArn", arn)
                                .with("ApplyStatus", "in-sync")
                        })
                        .collect(),
                ),
            )
            .with("NumberOfNodes", self.number_of_nodes)
            .with("PubliclyAccessible", false)
            .with("Encrypted", false)
            .with(
                "ClusterNamespaceArn",
                format!(
                    "arn:aws:redshift:{}:{}:namespace:{}",
                    self.region, self.account, self.id
                ),
            )
    }
}

fn cluster_key(account: &str, region: &str, id: &str) -> String {
    format!("{account}/{region}/{id}")
}

fn cluster_res(env: &mut Env<'_>, p: Params<'_>) -> Result<String> {
    let id = p.opt_str("ClusterIdentifier")?.unwrap_or("*");
    Ok(format!(
        "arn:aws:redshift:{}:{}:cluster:{id}",
        env.ctx.region, env.account
    ))
}

/// Redshift's cluster identifier rules.
fn check_identifier(id: &str) -> Result<()> {
    let valid = !id.is_empty()
        && id.len() <= 63
        && id.starts_with(|c: char| c.is_ascii_lowercase())
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !id.ends_with('-')
        && !id.contains("--");
    if valid {
        Ok(())
    } else {
        Err(RedshiftError::InvalidParameterValue(
            "Cluster identifier must contain from 1 to 63 alphanumeric characters or hyphens; alphabetic characters must be lowercase; the first character must be a letter; it cannot end with a hyphen or contain two consecutive hyphens.".into(),
        ).into())
    }
}

/// `IamRoles`: the query protocol sends `IamRoles.IamRoleArn.N`, a JSON client
/// a list.
fn role_arns(p: Params<'_>) -> Result<Vec<String>> {
    let bad = || {
        RedshiftError::InvalidParameterValue("IamRoles must be a list of IAM role ARNs.".into())
            .into()
    };
    let items: Vec<(u64, String)> = match p.0.get("IamRoles") {
        None | Some(serde_json::Value::Null) => return Ok(Vec::new()),
        Some(serde_json::Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, v)| Some((i as u64, v.as_str()?.to_string())))
            .collect::<Option<_>>()
            .ok_or_else(bad)?,
        Some(serde_json::Value::Object(m)) => match m.get("IamRoleArn") {
            Some(serde_json::Value::Object(indexed)) => indexed
                .iter()
                .map(|(k, v)| Some((k.parse().ok()?, v.as_str()?.to_string())))
                .collect::<Option<_>>()
                .ok_or_else(bad)?,
            Some(serde_json::Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, v)| Some((i as u64, v.as_str()?.to_string())))
                .collect::<Option<_>>()
                .ok_or_else(bad)?,
            _ => return Err(bad()),
        },
        Some(_) => return Err(bad()),
    };
    let mut items = items;
    items.sort_by_key(|(i, _)| *i);
    let mut arns: Vec<String> = Vec::with_capacity(items.len());
    for (_, arn) in items {
        if !arns.contains(&arn) {
            arns.push(arn);
        }
    }
    if arns.len() > MAX_CLUSTER_IAM_ROLES {
        return Err(RedshiftError::InvalidParameterValue(format!(
            "A cluster can have at most {MAX_CLUSTER_IAM_ROLES} IAM roles."
        ))
        .into());
    }
    Ok(arns)
}

/// Passes each role to Redshift: the caller needs `iam:PassRole` on it, and it
/// must be a role of this account that Redshift may assume.
fn pass_roles(env: &mut Env<'_>, p: Params<'_>, arns: &[String]) -> Result<()> {
    for arn in arns {
        authz::authorize_pass_role(env, arn, SERVICE, p)?;
        let account = env.account.clone();
        let role: Option<Entity> = match arn
            .strip_prefix(&format!("arn:aws:iam::{account}:role/"))
            .map(|rest| rest.rsplit('/').next().unwrap_or(rest).to_string())
        {
            Some(name) => env.get(Kind::Role.ns(), &key(&account, &name))?,
            None => None,
        };
        if !role.is_some_and(|r| r.arn == *arn && authz::trusts_service(&r, SERVICE)) {
            return Err(RedshiftError::InvalidParameterValue(format!(
                "The IAM role {arn} is not valid. The IAM role must delegate access to an Amazon Redshift account."
            )).into());
        }
    }
    Ok(())
}

fn load(env: &mut Env<'_>, id: &str) -> Result<Cluster> {
    let k = cluster_key(&env.account, &env.ctx.region, id);
    env.get(NS_CLUSTER, &k)?
        .ok_or_else(|| RedshiftError::ClusterNotFound(format!("Cluster {id} not found.")).into())
}

pub fn create_cluster(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let id = p.str("ClusterIdentifier")?.to_string();
    check_identifier(&id)?;
    let node_type = p.str("NodeType")?.to_string();
    let master_username = p.str_len("MasterUsername", 1, 128)?.to_string();
    if p.opt_str("MasterUserPassword")?.is_none()
        && p.opt_bool("ManageMasterPassword")? != Some(true)
    {
        return Err(RedshiftError::InvalidParameterValue(
            "A master user password is required.".into(),
        )
        .into());
    }
    let multi = p.opt_str("ClusterType")? == Some("multi-node");
    let nodes = p
        .opt_int("NumberOfNodes", 1, 128)?
        .unwrap_or(if multi { 2 } else { 1 });
    let k = cluster_key(&env.account, &env.ctx.region, &id);
    if env.get::<Cluster>(NS_CLUSTER, &k)?.is_some() {
        return Err(RedshiftError::ClusterAlreadyExists("Cluster already exists".into()).into());
    }
    let iam_roles = role_arns(p)?;
    pass_roles(env, p, &iam_roles)?;
    // First use: the service creates its role, then acts through it.
    let role = linked::ensure_role(env, SERVICE)?;
    linked::assume_role(env, role, SERVICE, "RedshiftCluster")?;
    let cluster = Cluster {
        endpoint: format!(
            "{id}.{}.{}.redshift.amazonaws.com",
            env.ids.base32(12).to_lowercase(),
            env.ctx.region
        ),
        id,
        account: env.account.clone(),
        region: env.ctx.region.clone(),
        node_type,
        number_of_nodes: nodes,
        master_username,
        db_name: p.opt_str("DBName")?.unwrap_or("dev").to_string(),
        port: p.opt_int("Port", 1150, 65535)?.unwrap_or(5439),
        created: env.now,
        iam_roles,
    };
    env.put(NS_CLUSTER, &k, &cluster)?;
    Ok(Value::structure().with("Cluster", cluster.to_value("creating")))
}

pub fn describe_clusters(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let clusters: Vec<Cluster> = match p.opt_str("ClusterIdentifier")? {
        Some(id) => vec![load(env, id)?],
        None => {
            let prefix = format!("{}/{}/", env.account, env.ctx.region);
            env.scan_all(NS_CLUSTER, &prefix)?
        }
    };
    let max = usize::try_from(p.opt_int("MaxRecords", 20, 100)?.unwrap_or(100)).unwrap_or(100);
    let after = p.opt_str("Marker")?;
    let mut page: Vec<&Cluster> = clusters
        .iter()
        .filter(|c| after.is_none_or(|m| c.id.as_str() > m))
        .collect();
    let marker = (page.len() > max)
        .then(|| page.get(max - 1).map(|c| c.id.clone()))
        .flatten();
    page.truncate(max);
    Ok(Value::structure()
        .with(
            "Clusters",
            Value::ListOf(
                "Cluster".into(),
                page.iter().map(|c| c.to_value("available")).collect(),
            ),
        )
        .with("Marker", marker))
}

pub fn delete_cluster(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    let id = p.str("ClusterIdentifier")?;
    let skip = p.opt_bool("SkipFinalClusterSnapshot")?.unwrap_or(false);
    if !skip && p.opt_str("FinalClusterSnapshotIdentifier")?.is_none() {
        return Err(RedshiftError::InvalidParameterCombination(
            "FinalClusterSnapshotIdentifier is required unless SkipFinalClusterSnapshot is specified.".into(),
        ).into());
    }
    let cluster = load(env, id)?;
    let k = cluster_key(&env.account, &cluster.region, &cluster.id);
    env.delete(NS_CLUSTER, &k)?;
    Ok(Value::structure().with("Cluster", cluster.to_value("deleting")))
}

/// Redshift's side of the linked-service seam.
pub struct Linked;

impl LinkedResources for Linked {
    fn service(&self) -> &'static str {
        SERVICE
    }

    fn resources_using_role(&self, env: &mut Env<'_>) -> Result<Vec<(String, String)>> {
        let prefix = format!("{}/", env.account);
        let clusters: Vec<Cluster> = env.scan_all(NS_CLUSTER, &prefix)?;
        Ok(clusters
            .iter()
            .map(|c| (c.region.clone(), c.arn()))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use trailguard_core::error::Error;

    #[test]
    fn iam_roles_are_read_in_index_order_from_either_protocol_shape() {
        let query = json!({"IamRoles": {"IamRoleArn": {"10": "c", "2": "b", "1": "a"}}});
        assert_eq!(
            role_arns(Params(&query)).ok(),
            Some(vec!["a".into(), "b".into(), "c".into()])
        );
        let list = json!({"IamRoles": ["a", "b", "a"]});
        assert_eq!(
            role_arns(Params(&list)).ok(),
            Some(vec!["a".into(), "b".into()])
        );
        assert_eq!(role_arns(Params(&json!({}))).ok(), Some(Vec::new()));
        let bad = json!({"IamRoles": {"IamRoleArn": {"x": "a"}}});
        assert!(matches!(
            role_arns(Params(&bad))
                .as_ref()
                .err()
                .and_then(Error::service),
            Some(RedshiftError::InvalidParameterValue(_))
        ));
        let many: Vec<String> = (0..=MAX_CLUSTER_IAM_ROLES)
            .map(|i| format!("r{i}"))
            .collect();
        assert!(role_arns(Params(&json!({ "IamRoles": many }))).is_err());
    }
}
