//! The AWS managed policies, as data (`data/aws-managed-policies.json`).
//!
//! AWS managed policies exist in every account without being created; their
//! documents are facts recorded from AWS. Parsed once at start-up.

use serde::Deserialize;
use std::collections::HashMap;
use std::sync::Arc;
use time::OffsetDateTime;
use trailguard_policy::PolicyDocument;

const DATA: &str = include_str!("../data/aws-managed-policies.json");
const LINKED: &str = include_str!("../data/service-linked-roles.json");

/// A service that supports service-linked roles.
#[derive(Debug, Clone, Deserialize)]
pub struct LinkedService {
    /// The service principal, `lex.amazonaws.com`.
    pub service: String,
    /// The role's name as AWS gives it, `AWSServiceRoleForLexBots`.
    pub role_name: String,
    /// Whether `CreateServiceLinkedRole` accepts a `CustomSuffix`.
    pub custom_suffix: bool,
    /// The one AWS managed policy attached to the role.
    pub policy_arn: String,
    /// The description the service gives the role when it creates it.
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
}

#[derive(Debug, Deserialize)]
struct RawPolicy {
    name: String,
    path: String,
    arn: String,
    policy_id: Option<String>,
    default_version_id: String,
    description: Option<String>,
    create_date: String,
    update_date: String,
    document: serde_json::Value,
}

/// One AWS managed policy.
#[derive(Debug, Clone)]
pub struct ManagedPolicy {
    pub name: String,
    pub path: String,
    pub arn: String,
    pub policy_id: String,
    pub default_version_id: String,
    pub description: Option<String>,
    pub create_date: OffsetDateTime,
    pub update_date: OffsetDateTime,
    /// The document as JSON text.
    pub document: String,
    /// Shared, so authorizing a call never copies a large document.
    pub parsed: Arc<PolicyDocument>,
}

/// Every AWS managed policy, by ARN, in ARN order.
#[derive(Debug, Default)]
pub struct Catalogue {
    policies: Vec<ManagedPolicy>,
    by_arn: HashMap<String, usize>,
    linked: Vec<LinkedService>,
}

/// A stable `ANPA` id for entries whose real id is not recorded.
fn derived_id(arn: &str) -> String {
    const BASE32: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    // FNV-1a, twice with different seeds, gives 128 stable bits.
    let mut out = String::from("ANPA");
    let mut h: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    for b in arn.bytes() {
        h ^= u128::from(b);
        h = h.wrapping_mul(0x0000_0000_0100_0000_0000_0000_0000_013B);
    }
    for _ in 0..17 {
        let idx = usize::try_from(h % 32).unwrap_or(0);
        out.push(char::from(BASE32.get(idx).copied().unwrap_or(b'A')));
        h /= 32;
    }
    out
}

impl Catalogue {
    /// Loads the built-in catalogue. Entries that fail to parse are skipped and reported.
    pub fn builtin() -> Self {
        let raw: Vec<RawPolicy> = match serde_json::from_str(DATA) {
            Ok(r) => r,
            Err(e) => {
                tracing::error!("managed policy catalogue does not parse: {e}");
                return Self::default();
            }
        };
        let mut policies = Vec::with_capacity(raw.len());
        for r in raw {
            let document = r.document.to_string();
            let parsed = match PolicyDocument::parse(&document) {
                Ok(p) => p,
                Err(e) => {
                    tracing::error!("managed policy {} does not parse: {e}", r.arn);
                    continue;
                }
            };
            let date = |s: &str| {
                trailguard_model::clock::parse_iso8601(s).unwrap_or(OffsetDateTime::UNIX_EPOCH)
            };
            policies.push(ManagedPolicy {
                policy_id: r.policy_id.unwrap_or_else(|| derived_id(&r.arn)),
                create_date: date(&r.create_date),
                update_date: date(&r.update_date),
                name: r.name,
                path: r.path,
                arn: r.arn,
                default_version_id: r.default_version_id,
                description: r.description,
                document,
                parsed: Arc::new(parsed),
            });
        }
        policies.sort_by(|a, b| a.arn.cmp(&b.arn));
        let by_arn = policies
            .iter()
            .enumerate()
            .map(|(i, p)| (p.arn.clone(), i))
            .collect();
        let linked = serde_json::from_str(LINKED).unwrap_or_else(|e| {
            tracing::error!("service-linked role catalogue does not parse: {e}");
            Vec::new()
        });
        Self {
            policies,
            by_arn,
            linked,
        }
    }

    /// Looks a policy up by ARN.
    pub fn get(&self, arn: &str) -> Option<&ManagedPolicy> {
        self.by_arn.get(arn).and_then(|i| self.policies.get(*i))
    }

    /// The linked service with this principal.
    pub fn linked_service(&self, principal: &str) -> Option<&LinkedService> {
        self.linked.iter().find(|l| l.service == principal)
    }

    /// Every linked service.
    pub fn linked_services(&self) -> &[LinkedService] {
        &self.linked
    }

    /// All policies in ARN order.
    pub fn all(&self) -> &[ManagedPolicy] {
        &self.policies
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_catalogue_parses_completely() {
        let c = Catalogue::builtin();
        let raw: Vec<serde_json::Value> = serde_json::from_str(DATA).unwrap();
        assert_eq!(
            c.all().len(),
            raw.len(),
            "every entry must parse as a policy"
        );
        let admin = c
            .get("arn:aws:iam::aws:policy/AdministratorAccess")
            .unwrap();
        assert_eq!(admin.name, "AdministratorAccess");
        assert!(admin.policy_id.starts_with("ANPA") && admin.policy_id.len() == 21);
        for needed in [
            "ReadOnlyAccess",
            "PowerUserAccess",
            "IAMFullAccess",
            "aws-service-role/AmazonGuardDutyServiceRolePolicy",
        ] {
            assert!(
                c.get(&format!("arn:aws:iam::aws:policy/{needed}"))
                    .is_some(),
                "{needed}"
            );
        }
    }

    /// Golden facts recorded from AWS (see shared/reference/service-linked-roles.md).
    #[test]
    fn linked_service_catalogue_matches_aws() {
        let c = Catalogue::builtin();
        assert!(c.linked_services().len() >= 71);
        for (principal, role, suffix, policy) in [
            (
                "lex.amazonaws.com",
                "AWSServiceRoleForLexBots",
                false,
                "aws-service-role/AmazonLexBotPolicy",
            ),
            (
                "channels.lex.amazonaws.com",
                "AWSServiceRoleForLexChannels",
                false,
                "aws-service-role/LexChannelPolicy",
            ),
            (
                "guardduty.amazonaws.com",
                "AWSServiceRoleForAmazonGuardDuty",
                false,
                "aws-service-role/AmazonGuardDutyServiceRolePolicy",
            ),
            (
                "redshift.amazonaws.com",
                "AWSServiceRoleForRedshift",
                false,
                "aws-service-role/AmazonRedshiftServiceLinkedRolePolicy",
            ),
            (
                "elasticbeanstalk.amazonaws.com",
                "AWSServiceRoleForElasticBeanstalk",
                false,
                "aws-service-role/AWSElasticBeanstalkServiceRolePolicy",
            ),
            (
                "autoscaling.amazonaws.com",
                "AWSServiceRoleForAutoScaling",
                true,
                "aws-service-role/AutoScalingServiceRolePolicy",
            ),
            (
                "connect.amazonaws.com",
                "AWSServiceRoleForAmazonConnect",
                true,
                "aws-service-role/AmazonConnectServiceLinkedRolePolicy",
            ),
            (
                "acm.amazonaws.com",
                "AWSServiceRoleForCertificateManager",
                false,
                "aws-service-role/CertificateManagerServiceRolePolicy",
            ),
        ] {
            let l = c.linked_service(principal).unwrap();
            assert_eq!(l.role_name, role);
            assert_eq!(l.custom_suffix, suffix, "{principal}");
            assert_eq!(l.policy_arn, format!("arn:aws:iam::aws:policy/{policy}"));
        }
        // Every linked service's policy is in the managed-policy catalogue.
        for l in c.linked_services() {
            assert!(
                c.get(&l.policy_arn).is_some(),
                "{} has no policy {}",
                l.service,
                l.policy_arn
            );
        }
    }

    #[test]
    fn derived_ids_are_stable_and_distinct() {
        assert_eq!(derived_id("a"), derived_id("a"));
        assert_ne!(derived_id("a"), derived_id("b"));
        assert_eq!(derived_id("x").len(), 21);
    }
}
