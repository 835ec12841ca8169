//! Detectors that remember: per-principal baselines (GuardDuty's
//! `AnomalousBehavior` family) and windows (`ConsoleLoginSuccess.B`).
//!
//! They are kept apart from the stateless rules. A record is first reduced
//! to a [`Fact`] (on any thread: four 64-bit hashes and a time, plus, for the
//! rare record that could raise a finding, its candidate built in advance);
//! facts are then fed to [`State`] in the order of the input, one at a time.
//! Everything is keyed by event time, never by the clock, so the same records
//! give the same findings online and offline, whatever the speed.
//!
//! Memory is bounded whatever the input: at most [`MAX_PRINCIPALS`] principals
//! (the least recently seen are forgotten first), each remembering at most
//! [`MAX_APIS`] APIs, [`MAX_NETWORKS`] networks and [`MAX_AGENTS`] user agents.
//!
//! ## `AnomalousBehavior` (GuardDuty: "an API request ... that was anomalous")
//!
//! GuardDuty's documentation says these findings come from a model of each
//! identity's usual APIs, networks (ASNs) and user agents, and names the APIs
//! of each family (credential access, defense evasion, discovery,
//! exfiltration, impact, initial access, persistence, privilege escalation);
//! it does not publish the model. The choices here:
//! - **Learning**: a principal (a user, or a role across its sessions) is
//!   learned for [`LEARNING_DAYS`] days of event time from its first event;
//!   nothing it does in that time raises a finding.
//! - **Profile**: the APIs it called (`eventSource` and `eventName`), the
//!   networks it called from (IPv4 /24, IPv6 /48; GuardDuty uses the ASN,
//!   which needs a database trailguard does not ship), and its user agents
//!   (the product before the first `/`: `aws-cli`, `Boto3`).
//! - **Anomaly**: after learning, a call to an API of a family ([`family`])
//!   that the principal has never made, from a network or with a user agent
//!   it has never used. A new API alone (a new deployment) or a new network
//!   alone (travel) raises nothing.
//!
//! ## `InstanceCredentialExfiltration.OutsideAWS` and `.InsideAWS`
//!
//! GuardDuty's documentation: credentials "created exclusively for an EC2
//! instance through an instance launch role are being used from an external
//! IP address" (OutsideAWS), or "from an IP address that is owned by a
//! different AWS account than the one the associated EC2 instance is running
//! in" (InsideAWS). GuardDuty knows the instance's addresses; here they are
//! learned: the /16 networks an instance's credentials are used from in
//! their first [`HOME_SECONDS`] seconds are its home. A later call from
//! another network raises OutsideAWS, or InsideAWS when the address is in
//! AWS's published ranges (`scan --aws-ip-ranges ip-ranges.json`; without
//! them every foreign address counts as outside). Private addresses (a VPC
//! endpoint's view) raise nothing; whether the foreign AWS address belongs to
//! another account cannot be told from a log.
//!
//! ## `ConsoleLoginSuccess.B` (GuardDuty: "multiple worldwide successful console logins")
//!
//! Successful console sign-ins of one user from [`LOGIN_NETWORKS`] or more
//! distinct networks (IPv4 /16, IPv6 /32: GuardDuty compares geolocations,
//! which needs a database trailguard does not ship) within
//! [`LOGIN_WINDOW_SECONDS`] seconds of each other.

use crate::candidate::{Candidate, Origin};
use crate::catalogue::finding_type;
use crate::cloudtrail::Record;
use crate::engine::{self, Cx};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::HashMap;
use std::net::IpAddr;

pub const LEARNING_DAYS: i64 = 7;
pub const MAX_PRINCIPALS: usize = 100_000;
pub const MAX_APIS: usize = 4_096;
pub const MAX_NETWORKS: usize = 512;
pub const MAX_AGENTS: usize = 64;
pub const LOGIN_WINDOW_SECONDS: i64 = 3_600;
pub const LOGIN_NETWORKS: usize = 2;

/// The family of an API, as GuardDuty's finding types group them.
pub fn family(name: &str) -> Option<&'static str> {
    Some(match name {
        "GetPasswordData" | "GetSecretValue" | "BatchGetSecretValue" | "GenerateDbAuthToken" => {
            "CredentialAccess:IAMUser/AnomalousBehavior"
        }
        "DeleteFlowLogs"
        | "DisableAlarmActions"
        | "StopLogging"
        | "DeleteTrail"
        | "UpdateTrail"
        | "PutEventSelectors"
        | "DeleteDetector"
        | "UpdateDetector"
        | "StopConfigurationRecorder"
        | "DeleteConfigurationRecorder"
        | "DeleteConfigRule"
        | "DeleteLogGroup"
        | "DeleteLogStream"
        | "DisableKey"
        | "ScheduleKeyDeletion" => "DefenseEvasion:IAMUser/AnomalousBehavior",
        "DescribeInstances"
        | "GetRolePolicy"
        | "ListAccessKeys"
        | "ListUsers"
        | "ListRoles"
        | "ListGroups"
        | "ListPolicies"
        | "GetAccountAuthorizationDetails"
        | "ListBuckets"
        | "DescribeSecurityGroups"
        | "DescribeSnapshots"
        | "DescribeDBInstances"
        | "ListSecrets"
        | "DescribeKeyPairs"
        | "GetBucketPolicy"
        | "ListAttachedUserPolicies" => "Discovery:IAMUser/AnomalousBehavior",
        "PutBucketReplication"
        | "CreateSnapshot"
        | "CreateDBSnapshot"
        | "RestoreDBInstanceFromDBSnapshot"
        | "ModifySnapshotAttribute"
        | "ModifyImageAttribute"
        | "ModifyDBSnapshotAttribute"
        | "CopySnapshot" => "Exfiltration:IAMUser/AnomalousBehavior",
        "DeleteSecurityGroup"
        | "UpdateUser"
        | "PutBucketPolicy"
        | "DeleteBucket"
        | "DeleteDBInstance"
        | "DeleteDBCluster"
        | "TerminateInstances"
        | "DeleteVpc"
        | "PutBucketVersioning"
        | "DeleteObjects" => "Impact:IAMUser/AnomalousBehavior",
        "GetFederationToken" | "StartSession" | "GetAuthorizationToken" | "GetSessionToken" => {
            "InitialAccess:IAMUser/AnomalousBehavior"
        }
        "CreateAccessKey"
        | "ImportKeyPair"
        | "ModifyInstanceAttribute"
        | "CreateUser"
        | "CreateLoginProfile"
        | "UpdateLoginProfile"
        | "CreateFunction" => "Persistence:IAMUser/AnomalousBehavior",
        "AssociateIamInstanceProfile"
        | "AddUserToGroup"
        | "PutUserPolicy"
        | "PutRolePolicy"
        | "PutGroupPolicy"
        | "AttachUserPolicy"
        | "AttachRolePolicy"
        | "AttachGroupPolicy"
        | "CreatePolicyVersion"
        | "SetDefaultPolicyVersion"
        | "UpdateAssumeRolePolicy" => "PrivilegeEscalation:IAMUser/AnomalousBehavior",
        _ => return None,
    })
}

/// A word-at-a-time multiply-rotate hash: stable across builds and
/// versions (stored baselines stay valid), and about eight times faster than
/// a byte-at-a-time one on the principal ARNs every record carries.
fn hash(parts: &[&[u8]]) -> u64 {
    const K: u64 = 0x517c_c1b7_2722_0a95;
    let mix = |h: u64, w: u64| (h.rotate_left(5) ^ w).wrapping_mul(K);
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        let mut chunks = p.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            h = mix(h, u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        let mut w = [0u8; 8];
        if let Some(dst) = w.get_mut(..rest.len()) {
            dst.copy_from_slice(rest);
        }
        // The length ends each part, so ("ab", "c") and ("a", "bc") differ.
        h = mix(mix(h, u64::from_le_bytes(w)), p.len() as u64);
    }
    h ^ (h >> 29)
}

/// The key a principal's (or an instance's) profile is kept under: SHA-256,
/// so nobody can name a role whose key is an admin's and train the admin's
/// baseline through it (the fast hash above can be run backwards).
fn identity_key(parts: &[&[u8]]) -> u64 {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p);
    }
    let digest = h.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(digest.get(..8).unwrap_or(&[0; 8]));
    u64::from_le_bytes(first)
}

/// The network an address belongs to, at a prefix length for each family.
fn network(ip: &str, v4_bits: u32, v6_bits: u32) -> u64 {
    match ip.parse::<IpAddr>().map(|a| a.to_canonical()) {
        Ok(IpAddr::V4(a)) => {
            let n = u32::from(a).checked_shr(32 - v4_bits).unwrap_or(0);
            hash(&[b"v4", &n.to_be_bytes()])
        }
        Ok(IpAddr::V6(a)) => {
            let n = u128::from(a).checked_shr(128 - v6_bits).unwrap_or(0);
            hash(&[b"v6", &n.to_be_bytes()])
        }
        // A service's name ("AWS Internal", "lambda.amazonaws.com").
        Err(_) => hash(&[b"name", ip.as_bytes()]),
    }
}

/// A user agent's product: what comes before the first `/` or space,
/// without case.
fn agent(ua: &str) -> u64 {
    let product = ua.split(['/', ' ']).next().unwrap_or_default();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in product.bytes() {
        h ^= u64::from(b.to_ascii_lowercase());
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// What the remembering detectors need of a record.
#[derive(Debug, Clone)]
pub struct Fact {
    pub principal: u64,
    pub api: u64,
    pub network: u64,
    pub agent: u64,
    /// Event time, in seconds.
    pub time: i64,
    /// The finding type of the API's family, if it has one.
    pub family: Option<&'static str>,
    /// Whether the call succeeded (only those teach a baseline).
    pub succeeded: bool,
    /// A successful console sign-in's /16 network.
    pub login: Option<u64>,
    /// For a record that could raise a finding (a family API or a sign-in):
    /// its text and origin, to build the finding from if one is raised.
    pub record: Option<(Box<str>, Option<Origin>)>,
    /// A call with an EC2 instance's role credentials: the instance, the
    /// /16 network called from, and what kind of address it is.
    pub instance: Option<(u64, u64, Address)>,
}

/// Where an address is, for instance credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Address {
    /// In AWS's published ranges (`Intel::aws`).
    Aws,
    /// Private (RFC 1918, unique local): a VPC endpoint's view.
    Private,
    /// Anywhere else on the internet.
    Public,
}

/// The instance an assumed-role session belongs to, when its credentials are
/// an EC2 instance's: AWS names such sessions after the instance (`i-...`)
/// and marks them with `sessionContext.ec2RoleDelivery`.
fn instance_of<'r>(r: &'r Record<'_>) -> Option<&'r str> {
    if r.identity_type() != "AssumedRole" {
        return None;
    }
    let id = r.identity();
    let session = id.principal_id.as_deref()?.rsplit(':').next()?;
    let looks = session.len() >= 10
        && session.starts_with("i-")
        && session.bytes().skip(2).all(|b| b.is_ascii_hexdigit());
    // Anyone may name a session `i-...`; only EC2 delivers credentials
    // marked with ec2RoleDelivery.
    let delivered = id
        .session_context
        .as_ref()
        .is_some_and(|s| s.ec2_role_delivery.is_some());
    (looks && delivered).then_some(session)
}

fn address(ip: IpAddr, cx: &Cx<'_>) -> Address {
    if cx.intel.aws.contains(ip) {
        return Address::Aws;
    }
    let private = match ip.to_canonical() {
        IpAddr::V4(a) => a.is_private() || a.is_loopback() || a.is_link_local(),
        IpAddr::V6(a) => {
            (a.segments().first().copied().unwrap_or(0) & 0xfe00) == 0xfc00 || a.is_loopback()
        }
    };
    if private {
        Address::Private
    } else {
        Address::Public
    }
}

/// Reduces a record to its fact, or `None` for records no baseline covers
/// (calls by AWS services, by root, or by unknown identities). The engine's
/// filters (services, trusted addresses) apply before.
pub fn fact(r: &Record<'_>, cx: &Cx<'_>) -> Option<Fact> {
    let kind = r.identity_type();
    if !matches!(kind, "IAMUser" | "AssumedRole" | "FederatedUser") || r.by_service() {
        return None;
    }
    if cx.intel.trusted.contains_text(r.source_ip()) {
        return None;
    }
    let principal_text = r.principal();
    if principal_text.is_empty() {
        return None;
    }
    let family = family(r.event_name()).filter(|_| r.error_code().is_none());
    let login = (r.event_name() == "ConsoleLogin"
        && r.response().get("ConsoleLogin").and_then(|v| v.as_str()) == Some("Success"))
    .then(|| network(r.source_ip(), 16, 32));
    let instance = instance_of(r).and_then(|i| {
        let ip = r.source_ip().parse::<IpAddr>().ok()?;
        Some((
            identity_key(&[
                b"instance",
                r.account().as_bytes(),
                r.principal().as_bytes(),
                i.as_bytes(),
            ]),
            network(r.source_ip(), 16, 32),
            address(ip, cx),
        ))
    });
    let record = (family.is_some() || login.is_some() || instance.is_some())
        .then(|| (Box::from(r.text()), cx.origin));
    Some(Fact {
        principal: identity_key(&[principal_text.as_bytes()]),
        api: hash(&[r.event_source().as_bytes(), r.event_name().as_bytes()]),
        network: network(r.source_ip(), 24, 48),
        agent: agent(r.user_agent()),
        time: r.time().unix_timestamp(),
        family,
        succeeded: r.error_code().is_none(),
        login,
        record,
        instance,
    })
}

/// The finding a fact's record raises, built only when it is raised.
fn candidate(f: &Fact, ty_name: &str, rule: &'static str, key_suffix: bool) -> Option<Candidate> {
    let (text, origin) = f.record.as_ref()?;
    let r = Record::parse(text).ok()?;
    let ty = finding_type(ty_name)?;
    let intel = crate::intel::Intel::default();
    let mut facts = crate::engine::NoFacts;
    let cx = Cx {
        intel: &intel,
        facts: &mut facts,
        origin: *origin,
        seen: None,
    };
    let key = if key_suffix {
        format!("{}/{}/{}", ty.name, r.principal(), r.event_name())
    } else {
        format!("{}/{}", ty.name, r.principal())
    };
    let mut c = engine::api_call(ty, rule, &r, &cx);
    c.aggregation_key = key;
    Some(c)
}

/// What is remembered of one principal.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Profile {
    pub first_seen: i64,
    pub last_seen: i64,
    pub apis: Vec<u64>,
    pub networks: Vec<u64>,
    pub agents: Vec<u64>,
    /// Recent successful console sign-ins: (time, network).
    pub logins: Vec<(i64, u64)>,
    /// For an instance: the /16 networks its credentials were used from in
    /// their first [`HOME_SECONDS`] (the instance's own addresses).
    #[serde(default)]
    pub home: Vec<u64>,
}

/// How long an instance's first calls teach where it calls from.
pub const HOME_SECONDS: i64 = 600;
const MAX_HOME: usize = 8;

/// Adds to a sorted, bounded set; says whether it was new.
fn learn(set: &mut Vec<u64>, v: u64, max: usize) -> bool {
    match set.binary_search(&v) {
        Ok(_) => false,
        Err(at) => {
            if set.len() < max {
                set.insert(at, v);
            }
            true
        }
    }
}

impl Profile {
    /// Applies a fact about an instance's credentials (the profile is the
    /// instance's): the networks of its first minutes are home; later, a
    /// call from elsewhere that is not private is exfiltration, inside AWS
    /// when the address is in AWS's ranges.
    pub fn observe_instance(&mut self, f: &Fact, out: &mut Vec<Candidate>) {
        let Some((_, net, kind)) = f.instance else {
            return;
        };
        if self.first_seen == 0 && self.home.is_empty() {
            self.first_seen = f.time;
        }
        self.first_seen = self.first_seen.min(f.time);
        self.last_seen = self.last_seen.max(f.time);
        if kind == Address::Private || self.home.contains(&net) {
            return;
        }
        if f.time - self.first_seen <= HOME_SECONDS {
            if self.home.len() < MAX_HOME {
                self.home.push(net);
            }
            return;
        }
        let ty = match kind {
            Address::Aws => "UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.InsideAWS",
            _ => "UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS",
        };
        if let Some(mut c) = candidate(f, ty, "instance_credential_exfiltration", false) {
            c.additional = json!({"homeNetworks": self.home.len(), "learnedSeconds": HOME_SECONDS});
            out.push(c);
        }
    }

    /// Applies a fact: learns from it and returns what it raises.
    pub fn observe(&mut self, f: &Fact, out: &mut Vec<Candidate>) {
        if self.first_seen == 0 && self.apis.is_empty() {
            self.first_seen = f.time;
        }
        self.first_seen = self.first_seen.min(f.time);
        self.last_seen = self.last_seen.max(f.time);
        let learned = f.time - self.first_seen >= LEARNING_DAYS * 86_400;
        // Only calls that succeeded teach the profile: a failed call (a
        // secret that does not exist) must not warm up the real one.
        if !f.succeeded {
            return;
        }
        let new_api = learn(&mut self.apis, f.api, MAX_APIS);
        let new_network = learn(&mut self.networks, f.network, MAX_NETWORKS);
        let new_agent = learn(&mut self.agents, f.agent, MAX_AGENTS);
        if learned
            && new_api
            && (new_network || new_agent)
            && let Some(ty) = f.family
            && let Some(mut c) = candidate(f, ty, "anomalous_behavior", true)
        {
            let mut unusual = vec!["API"];
            if new_network {
                unusual.push("network");
            }
            if new_agent {
                unusual.push("userAgent");
            }
            c.additional = json!({
                "unusual": unusual,
                "learningDays": LEARNING_DAYS,
                "profiledSince": trailguard_model::clock::iso8601(
                    time::OffsetDateTime::from_unix_timestamp(self.first_seen).unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
                ),
            });
            out.push(c);
        }
        if let Some(net) = f.login {
            self.logins
                .retain(|(t, _)| f.time - *t <= LOGIN_WINDOW_SECONDS);
            self.logins.push((f.time, net));
            // The newest are kept: a login from a new network must count.
            let excess = self.logins.len().saturating_sub(32);
            self.logins.drain(..excess);
            let mut nets: Vec<u64> = self.logins.iter().map(|(_, n)| *n).collect();
            nets.sort_unstable();
            nets.dedup();
            if nets.len() >= LOGIN_NETWORKS
                && let Some(mut c) = candidate(
                    f,
                    "UnauthorizedAccess:IAMUser/ConsoleLoginSuccess.B",
                    "console_login_success_b",
                    false,
                )
            {
                c.additional =
                    json!({"distinctNetworks": nets.len(), "windowSeconds": LOGIN_WINDOW_SECONDS});
                out.push(c);
            }
        }
    }
}

/// The profiles, bounded: when full, the least recently seen tenth is forgotten.
#[derive(Debug, Default)]
pub struct State {
    profiles: HashMap<u64, Profile>,
}

impl State {
    pub fn observe(&mut self, f: &Fact, out: &mut Vec<Candidate>) {
        self.profile(f.principal).observe(f, out);
        if let Some((instance, _, _)) = f.instance {
            self.profile(instance).observe_instance(f, out);
        }
    }

    fn profile(&mut self, key: u64) -> &mut Profile {
        if !self.profiles.contains_key(&key) && self.profiles.len() >= MAX_PRINCIPALS {
            self.forget_oldest();
        }
        self.profiles.entry(key).or_default()
    }

    /// Forgets the least recently seen tenth (by last event time, then key:
    /// exactly a tenth, however many share a time).
    fn forget_oldest(&mut self) {
        let mut ages: Vec<(i64, u64)> = self
            .profiles
            .iter()
            .map(|(k, p)| (p.last_seen, *k))
            .collect();
        let cut = (ages.len() / 10).max(1);
        ages.select_nth_unstable(cut - 1);
        for (_, k) in ages.iter().take(cut) {
            self.profiles.remove(k);
        }
    }

    pub fn len(&self) -> usize {
        self.profiles.len()
    }
    pub fn is_empty(&self) -> bool {
        self.profiles.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::NoFacts;
    use crate::intel::Intel;
    use crate::rules::testing::event;

    fn fact_of(changes: serde_json::Value) -> Fact {
        let text = event(changes);
        let r = Record::parse(&text).unwrap();
        let intel = Intel::default();
        let mut facts = NoFacts;
        let cx = Cx {
            intel: &intel,
            facts: &mut facts,
            origin: None,
            seen: None,
        };
        fact(&r, &cx).unwrap()
    }

    fn day(d: u32, name: &str, ip: &str, ua: &str) -> Fact {
        fact_of(
            json!({"eventTime": format!("2026-11-{d:02}T10:00:00Z"), "eventName": name, "sourceIPAddress": ip, "userAgent": ua}),
        )
    }

    #[test]
    fn anomalies_need_learning_a_new_api_and_a_new_network_or_agent() {
        let mut s = State::default();
        let mut out = Vec::new();
        for d in 1..=8 {
            s.observe(
                &day(d, "ListUsers", "198.51.100.7", "aws-cli/2.15"),
                &mut out,
            );
        }
        // Learning: a family API from a new place on day 2 raises nothing.
        s.observe(
            &day(2, "CreateAccessKey", "203.0.113.9", "curl/8"),
            &mut out,
        );
        assert!(out.is_empty());
        // Learned: a new API from a known place and agent raises nothing.
        s.observe(
            &day(9, "PutUserPolicy", "198.51.100.8", "aws-cli/2.16"),
            &mut out,
        );
        assert!(out.is_empty());
        // A new API from a new network does.
        s.observe(
            &day(10, "GetSecretValue", "192.0.2.1", "aws-cli/2.15"),
            &mut out,
        );
        assert_eq!(out.len(), 1);
        assert_eq!(
            out[0].finding_type.name,
            "CredentialAccess:IAMUser/AnomalousBehavior"
        );
        assert_eq!(out[0].additional["unusual"], json!(["API", "network"]));
        // The same again is no longer new.
        s.observe(
            &day(11, "GetSecretValue", "192.0.2.1", "aws-cli/2.15"),
            &mut out,
        );
        assert_eq!(out.len(), 1);
        // APIs outside the families never raise.
        s.observe(&day(12, "CreateTags", "192.0.3.1", "x/1"), &mut out);
        assert_eq!(out.len(), 1);
    }

    #[test]
    fn console_logins_from_two_networks_within_the_window() {
        let login = |t: &str, ip: &str| {
            fact_of(
                json!({"eventTime": t, "eventSource": "signin.amazonaws.com", "eventName": "ConsoleLogin",
                "sourceIPAddress": ip, "responseElements": {"ConsoleLogin": "Success"}}),
            )
        };
        let mut s = State::default();
        let mut out = Vec::new();
        s.observe(&login("2026-11-01T10:00:00Z", "198.51.100.7"), &mut out);
        s.observe(&login("2026-11-01T10:05:00Z", "198.51.7.7"), &mut out);
        assert!(out.is_empty(), "same /16");
        s.observe(&login("2026-11-01T10:20:00Z", "203.0.113.5"), &mut out);
        assert_eq!(out.len(), 1);
        let mut later = State::default();
        let mut none = Vec::new();
        later.observe(&login("2026-11-01T10:00:00Z", "198.51.100.7"), &mut none);
        later.observe(&login("2026-11-01T13:00:00Z", "203.0.113.5"), &mut none);
        assert!(none.is_empty(), "hours apart");
        let failed = fact_of(
            json!({"eventSource": "signin.amazonaws.com", "eventName": "ConsoleLogin", "responseElements": {"ConsoleLogin": "Failure"}}),
        );
        assert!(failed.login.is_none());
    }

    #[test]
    fn instance_credentials_used_away_from_home() {
        let call = |t: &str, ip: &str, intel: &Intel| {
            let text = event(
                json!({"eventTime": t, "sourceIPAddress": ip, "eventName": "ListBuckets",
                "eventSource": "s3.amazonaws.com",
                "userIdentity": {"type": "AssumedRole", "principalId": "AROAEXAMPLE:i-0123456789abcdef0",
                    "arn": "arn:aws:sts::111122223333:assumed-role/web/i-0123456789abcdef0",
                    "accessKeyId": "ASIAEXAMPLE", "userName": null,
                    "sessionContext": {"sessionIssuer": {"type": "Role", "userName": "web",
                        "arn": "arn:aws:iam::111122223333:role/web"}, "ec2RoleDelivery": "2.0"}}}),
            );
            let r = Record::parse(&text).unwrap();
            let mut facts = NoFacts;
            let cx = Cx {
                intel,
                facts: &mut facts,
                origin: None,
                seen: None,
            };
            fact(&r, &cx).unwrap()
        };
        let aws = Intel {
            aws: crate::intel::aws_ranges(
                br#"{"prefixes":[{"ip_prefix":"3.0.0.0/9"}],"ipv6_prefixes":[]}"#,
            )
            .unwrap(),
            ..Intel::default()
        };
        let mut s = State::default();
        let mut out = Vec::new();
        // Home: the instance's public address, and a VPC endpoint's private view.
        s.observe(&call("2026-11-01T10:00:00Z", "3.80.1.2", &aws), &mut out);
        s.observe(&call("2026-11-01T11:00:00Z", "10.0.3.4", &aws), &mut out);
        s.observe(&call("2026-11-01T12:00:00Z", "3.80.9.9", &aws), &mut out);
        assert!(out.is_empty());
        s.observe(
            &call("2026-11-01T12:05:00Z", "203.0.113.50", &aws),
            &mut out,
        );
        assert_eq!(out.len(), 1);
        assert_eq!(
            out[0].finding_type.name,
            "UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS"
        );
        s.observe(&call("2026-11-01T12:06:00Z", "3.1.2.3", &aws), &mut out);
        assert_eq!(
            out[1].finding_type.name,
            "UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.InsideAWS"
        );
        // A user's own keys are never instance credentials.
        let user = event(json!({"sourceIPAddress": "203.0.113.50"}));
        let r = Record::parse(&user).unwrap();
        let mut facts = NoFacts;
        let cx = Cx {
            intel: &aws,
            facts: &mut facts,
            origin: None,
            seen: None,
        };
        assert!(fact(&r, &cx).unwrap().instance.is_none());
        assert!(crate::intel::aws_ranges(b"{}").is_err());
    }

    #[test]
    fn memory_is_bounded() {
        let mut s = State::default();
        let mut out = Vec::new();
        for i in 0..(MAX_PRINCIPALS as u64 + 10) {
            let f = Fact {
                principal: i,
                api: 1,
                network: 1,
                agent: 1,
                time: i as i64,
                family: None,
                succeeded: true,
                login: None,
                record: None,
                instance: None,
            };
            s.observe(&f, &mut out);
        }
        assert!(s.len() <= MAX_PRINCIPALS);
        // All at one time: still exactly bounded.
        let mut same = State::default();
        for i in 0..(MAX_PRINCIPALS as u64 + 10) {
            let f = Fact {
                principal: i,
                api: 1,
                network: 1,
                agent: 1,
                time: 5,
                family: None,
                succeeded: true,
                login: None,
                record: None,
                instance: None,
            };
            same.observe(&f, &mut out);
        }
        assert!(same.len() <= MAX_PRINCIPALS && same.len() > MAX_PRINCIPALS / 2);
        let mut p = Profile::default();
        for i in 0..(MAX_APIS as u64 * 2) {
            let f = Fact {
                principal: 1,
                api: i,
                network: 1,
                agent: 1,
                time: 1,
                family: None,
                succeeded: true,
                login: None,
                record: None,
                instance: None,
            };
            p.observe(&f, &mut out);
        }
        assert_eq!(p.apis.len(), MAX_APIS);
    }
}
