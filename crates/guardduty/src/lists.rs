//! Trusted IP lists (`IPSet`) and threat lists (`ThreatIntelSet`).
//!
//! A list is an object in a trailguard bucket, named as AWS names it
//! (`s3://bucket/key`, `https://s3.amazonaws.com/bucket/key`,
//! `https://bucket.s3.amazonaws.com/key` and their region-qualified forms), in
//! `TXT` (one IP, CIDR or, for threat lists, domain a line; `#` comments) or
//! `OTX_CSV` (`type,indicator,...` rows after a header). Nothing else is a
//! location: the server's own files never are.
//!
//! GuardDuty reads the object as AWS's GuardDuty does, through its
//! service-linked role: `AmazonGuardDutyServiceRolePolicy` grants no
//! `s3:GetObject`, so adding, activating or moving a list first gives the role an
//! inline policy reading that one object (which needs the caller's
//! `iam:PutRolePolicy` on the role, see [`trailguard_iam::linked::set_role_policy`]), and
//! deleting the list takes it away (`iam:DeleteRolePolicy`). The read is then a
//! `HeadObject` and a `GetObject` of a session of the role, authorized against
//! the role's policies and the bucket's, and recorded as the role's. The size
//! the object's description gives is checked before a byte is read.
//!
//! Fetching ([`fetch`]) and parsing ([`parse`], a pure function of kind, format
//! and bytes) are separate. The whole file is parsed before anything is stored,
//! so a bad file is refused and never half-loaded; errors name the line at fault
//! and what is wrong with it in general terms, never a byte of the file. AWS's
//! quotas apply: one trusted list of 2,000 entries, six threat lists of
//! 250,000, files up to 35 MB. Active trusted IPs silence every detection;
//! active threat lists drive the `MaliciousIPCaller.Custom` findings.

use super::Detector;
use crate::error::GuardDutyError;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use std::sync::Arc;
use time::OffsetDateTime;
use trailguard_core::authz::Authorized;
use trailguard_core::env::Env;
use trailguard_core::error::{Error, Result};
use trailguard_core::params::Params;
use trailguard_core::prepare::{Job, JobContext};
use trailguard_detect::intel;
use trailguard_iam::linked;
use trailguard_model::Value;

/// AWS's largest list file: 35 MB.
const MAX_FILE_BYTES: u64 = 35 * 1024 * 1024;
/// The session name of GuardDuty's role when it reads a list.
const SESSION_NAME: &str = "GuardDuty";
const FORMATS: &[&str] = &[
    "TXT",
    "STIX",
    "OTX_CSV",
    "ALIEN_VAULT",
    "PROOF_POINT",
    "FIRE_EYE",
];

/// Which kind of list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Trusted,
    Threat,
}

impl Kind {
    fn ns(self) -> &'static str {
        match self {
            Kind::Trusted => "guardduty.ipset",
            Kind::Threat => "guardduty.threatintelset",
        }
    }
    fn id_member(self) -> &'static str {
        match self {
            Kind::Trusted => "ipSetId",
            Kind::Threat => "threatIntelSetId",
        }
    }
    fn max_lists(self) -> usize {
        match self {
            Kind::Trusted => 1,
            Kind::Threat => 6,
        }
    }
    fn label(self) -> &'static str {
        match self {
            Kind::Trusted => "IPSet",
            Kind::Threat => "ThreatIntelSet",
        }
    }
}

pub use trailguard_detect::intel::Cidr;

/// A list and its parsed entries.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct List {
    id: String,
    name: String,
    format: String,
    location: String,
    pub active: bool,
    pub cidrs: Vec<Cidr>,
    pub domains: Vec<String>,
    #[serde(default)]
    tags: serde_json::Map<String, Json>,
    #[serde(with = "time::serde::rfc3339")]
    created: OffsetDateTime,
}

impl List {
    pub fn name(&self) -> &str {
        &self.name
    }
}

fn bad(message: impl Into<String>) -> Error {
    GuardDutyError::BadRequest(format!(
        "The request is rejected because {}",
        message.into()
    ))
    .into()
}

/// Where a list lives: an object in a bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub bucket: String,
    pub key: String,
}

/// A region label in an S3 host name (`us-east-1`, `eu-west-3`, `us-gov-west-1`).
fn region_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 30
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// `%XX` escapes of an `https` URL's path, decoded.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The S3 endpoint part of a host, after the bucket in virtual-hosted style or
/// alone in path style: `s3`, `s3.<region>`, `s3-<region>`.
fn s3_endpoint(label: &str) -> bool {
    label == "s3"
        || label.strip_prefix("s3.").is_some_and(region_label)
        || label.strip_prefix("s3-").is_some_and(region_label)
}

/// The object a list location names, in any of the forms AWS accepts; `None`
/// for anything else (other schemes, other hosts, no key).
pub fn location(text: &str) -> Option<Location> {
    let (bucket, key) = if let Some(rest) = text.strip_prefix("s3://") {
        let (bucket, key) = rest.split_once('/')?;
        (bucket.to_string(), key.to_string())
    } else {
        let rest = text.strip_prefix("https://")?;
        let rest = rest.split(['?', '#']).next().unwrap_or_default();
        let (host, path) = rest.split_once('/')?;
        let front = host.to_ascii_lowercase();
        let front = front.strip_suffix(".amazonaws.com")?;
        if s3_endpoint(front) {
            let (bucket, key) = path.split_once('/')?;
            (bucket.to_string(), percent_decode(key)?)
        } else {
            let at = front.rfind(".s3")?;
            let (bucket, endpoint) = front.split_at(at);
            if !s3_endpoint(endpoint.strip_prefix('.')?) {
                return None;
            }
            (bucket.to_string(), percent_decode(path)?)
        }
    };
    (trailguard_s3::valid_bucket_name(&bucket) && !key.is_empty() && key.len() <= 1024)
        .then_some(Location { bucket, key })
}

/// The inline policy of GuardDuty's role that lets it read one list.
fn policy_name(kind: Kind, id: &str) -> String {
    format!("AmazonGuardDuty{}-{id}", kind.label())
}

/// Gives GuardDuty's role read access to the list's object (on the caller's
/// behalf, so the caller needs `iam:PutRolePolicy` on the role).
fn grant(env: &mut Env<'_>, kind: Kind, id: &str, at: &Location) -> Result<()> {
    let doc = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": format!("arn:aws:s3:::{}/{}", at.bucket, at.key),
        }],
    })
    .to_string();
    linked::set_role_policy(env, super::SERVICE, &policy_name(kind, id), Some(&doc))?;
    Ok(())
}

fn unreadable() -> Error {
    bad(
        "GuardDuty cannot read the list at the location: the object does not exist, or its bucket does not let GuardDuty's service-linked role read it.",
    )
}

/// Reads the list's object as GuardDuty's service-linked role: its size from
/// `HeadObject` first, refused over [`MAX_FILE_BYTES`], then its bytes with
/// `GetObject`; both authorized and recorded as the role's calls. A location
/// the role cannot read fails with one message whatever the reason, so the
/// answer says nothing of other accounts' buckets.
pub fn fetch(env: &mut Env<'_>, at: &Location) -> Result<Vec<u8>> {
    let role_name = env
        .catalogue
        .linked_service(super::SERVICE)
        .map(|l| l.role_name.clone())
        .ok_or_else(unreadable)?;
    let account = env.account.clone();
    let role = env
        .get::<trailguard_core::identity::Entity>(
            trailguard_core::identity::Kind::Role.ns(),
            &trailguard_core::identity::key(&account, &role_name),
        )?
        .ok_or_else(unreadable)?;
    let caller = match linked::session(env, role, super::SERVICE, SESSION_NAME) {
        Ok(c) => c,
        Err(e @ (Error::Store(_) | Error::Corrupt(_))) => return Err(e),
        Err(_) => return Err(unreadable()),
    };
    let object = serde_json::json!({ "bucketName": at.bucket, "key": at.key });
    let mut read = |operation: &str| match linked::act_as(
        env,
        &caller,
        super::SERVICE,
        trailguard_s3::DEF.id,
        operation,
        &object,
    ) {
        Ok(out) => Ok(out),
        Err(e @ (Error::Store(_) | Error::Corrupt(_) | Error::NeedsPreparation(_))) => Err(e),
        Err(_) => Err(unreadable()),
    };
    let head = read("HeadObject")?;
    let size = match head.get("ContentLength") {
        Some(Value::Int(n)) => u64::try_from(*n).unwrap_or(u64::MAX),
        _ => u64::MAX,
    };
    if size > MAX_FILE_BYTES {
        return Err(bad("the list file is larger than 35 MB."));
    }
    match read("GetObject")? {
        Value::Struct(members) => members
            .into_iter()
            .find_map(|(name, v)| match (name.as_str(), v) {
                ("Body", Value::Blob(bytes)) => Some(bytes),
                _ => None,
            })
            .filter(|b| u64::try_from(b.len()).unwrap_or(u64::MAX) <= MAX_FILE_BYTES)
            .ok_or_else(unreadable),
        _ => Err(unreadable()),
    }
}

/// The location parameter, or AWS's refusal of one that names no S3 object.
fn location_param(text: &str) -> Result<Location> {
    location(text).ok_or_else(|| {
        bad("the location is not an S3 object URL (s3://bucket/key or https://bucket.s3.amazonaws.com/key).")
    })
}

/// Parsing a list file (up to [`MAX_FILE_BYTES`]) as a job run outside the
/// store's writer.
#[derive(PartialEq)]
struct ListFile {
    kind: Kind,
    format: String,
    bytes: Vec<u8>,
}

impl std::fmt::Debug for ListFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ListFile")
            .field("kind", &self.kind)
            .field("format", &self.format)
            .field("bytes", &self.bytes.len())
            .finish()
    }
}

type Entries = (Vec<Cidr>, Vec<String>);

impl Job for ListFile {
    /// The entries, or the refusal's message.
    type Output = std::result::Result<Arc<Entries>, String>;

    fn run(&self, _: &JobContext<'_>) -> Self::Output {
        parse(self.kind, &self.format, &self.bytes)
            .map(Arc::new)
            // A refusal's text is its message (`BadRequest` displays as it).
            .map_err(|e| e.to_string())
    }
}

/// A list file's entries, parsed outside the writer ([`ListFile`]).
fn parsed(env: &Env<'_>, kind: Kind, format: &str, bytes: Vec<u8>) -> Result<Entries> {
    let entries = env
        .prepared(ListFile {
            kind,
            format: format.to_string(),
            bytes,
        })?
        .map_err(GuardDutyError::BadRequest)?;
    Ok(entries.as_ref().clone())
}

/// Parses a list file (the engine's parser; its refusal completes GuardDuty's
/// "The request is rejected because" sentence).
pub fn parse(kind: Kind, format: &str, bytes: &[u8]) -> Result<(Vec<Cidr>, Vec<String>)> {
    let kind = match kind {
        Kind::Trusted => intel::ListKind::Trusted,
        Kind::Threat => intel::ListKind::Threat,
    };
    let entries = intel::parse_list(kind, format, bytes).map_err(bad)?;
    Ok((entries.cidrs, entries.domains))
}

/// The active lists of a kind that govern the detector: its own, or for a
/// member account its administrator's.
pub fn active(env: &mut Env<'_>, d: &Detector, kind: Kind) -> Result<Vec<List>> {
    let governing = super::members::governing(env, d)?;
    let all: Vec<List> = env.scan_all(kind.ns(), &governing.prefix())?;
    Ok(all.into_iter().filter(|l| l.active).collect())
}

/// Deletes a detector's lists (DeleteDetector), and the role's access to them.
pub fn delete_all(env: &mut Env<'_>, d: &Detector) -> Result<()> {
    let mut grants = Vec::new();
    for kind in [Kind::Trusted, Kind::Threat] {
        let all: Vec<List> = env.scan_all(kind.ns(), &d.prefix())?;
        grants.extend(all.iter().map(|l| policy_name(kind, &l.id)));
        env.delete_prefix(kind.ns(), &d.prefix())?;
    }
    linked::drop_role_policies(env, super::SERVICE, &grants)
}

fn format_param(p: Params<'_>) -> Result<String> {
    let f = p.str("format")?;
    if FORMATS.contains(&f) {
        Ok(f.to_string())
    } else {
        Err(bad(format!(
            "the format {f} is not one of {}.",
            FORMATS.join(", ")
        )))
    }
}

fn create(env: &mut Env<'_>, p: Params<'_>, kind: Kind) -> Result<Value> {
    let d = super::load(env, p.str("detectorId")?)?;
    super::members::administrator_only(env, &d, &format!("create {}s", kind.label()))?;
    let name = p.str_len("name", 1, 300)?.to_string();
    let format = format_param(p)?;
    let location = p.str_len("location", 1, 300)?.to_string();
    let at = location_param(&location)?;
    let activate = p.opt_bool("activate")?.unwrap_or(false);
    let existing: Vec<List> = env.scan_all(kind.ns(), &d.prefix())?;
    if existing.len() >= kind.max_lists() {
        return Err(bad(format!(
            "a detector can have at most {} {}s.",
            kind.max_lists(),
            kind.label()
        )));
    }
    if existing.iter().any(|l| l.name == name) {
        return Err(bad(format!(
            "a {} named {name} already exists.",
            kind.label()
        )));
    }
    let id = env.ids.uuid().replace('-', "");
    grant(env, kind, &id, &at)?;
    let bytes = fetch(env, &at)?;
    let (cidrs, domains) = parsed(env, kind, &format, bytes)?;
    let list = List {
        id,
        name,
        format,
        location,
        active: activate,
        cidrs,
        domains,
        tags: match p.0.get("tags") {
            Some(Json::Object(m)) => m.clone(),
            _ => serde_json::Map::new(),
        },
        created: env.now,
    };
    env.put(kind.ns(), &format!("{}{}", d.prefix(), list.id), &list)?;
    Ok(Value::structure().with(kind.id_member(), list.id))
}

fn load(env: &mut Env<'_>, d: &Detector, kind: Kind, id: &str) -> Result<List> {
    env.get(kind.ns(), &format!("{}{id}", d.prefix()))?
        .ok_or_else(|| bad(format!("the {} {id} does not exist.", kind.label())))
}

fn get(env: &mut Env<'_>, p: Params<'_>, kind: Kind) -> Result<Value> {
    let d = super::load(env, p.str("detectorId")?)?;
    let l = load(env, &d, kind, p.str(kind.id_member())?)?;
    Ok(Value::structure()
        .with("name", l.name)
        .with("format", l.format)
        .with("location", l.location)
        .with("status", if l.active { "ACTIVE" } else { "INACTIVE" })
        .with("tags", Value::from_json(&Json::Object(l.tags))))
}

fn update(env: &mut Env<'_>, p: Params<'_>, kind: Kind) -> Result<Value> {
    let d = super::load(env, p.str("detectorId")?)?;
    super::members::administrator_only(env, &d, &format!("update {}s", kind.label()))?;
    let mut l = load(env, &d, kind, p.str(kind.id_member())?)?;
    if let Some(name) = p.opt_str_len("name", 1, 300)? {
        l.name = name.to_string();
    }
    let activate = p.opt_bool("activate")?;
    let moved = p.opt_str_len("location", 1, 300)?;
    // Moving or activating a list (re)reads it through the role, as AWS does;
    // renaming and deactivating need no access to it.
    if moved.is_some() || activate == Some(true) {
        let location = moved.unwrap_or(&l.location).to_string();
        let at = location_param(&location)?;
        grant(env, kind, &l.id, &at)?;
        let bytes = fetch(env, &at)?;
        let (cidrs, domains) = parsed(env, kind, &l.format, bytes)?;
        l.location = location;
        l.cidrs = cidrs;
        l.domains = domains;
    }
    if let Some(a) = activate {
        l.active = a;
    }
    env.put(kind.ns(), &format!("{}{}", d.prefix(), l.id), &l)?;
    Ok(Value::structure())
}

fn delete(env: &mut Env<'_>, p: Params<'_>, kind: Kind) -> Result<Value> {
    let d = super::load(env, p.str("detectorId")?)?;
    super::members::administrator_only(env, &d, &format!("delete {}s", kind.label()))?;
    let l = load(env, &d, kind, p.str(kind.id_member())?)?;
    env.delete(kind.ns(), &format!("{}{}", d.prefix(), l.id))?;
    linked::set_role_policy(env, super::SERVICE, &policy_name(kind, &l.id), None)?;
    Ok(Value::structure())
}

fn list(env: &mut Env<'_>, p: Params<'_>, kind: Kind, member: &str) -> Result<Value> {
    let d = super::load(env, p.str("detectorId")?)?;
    let all: Vec<List> = env.scan_all(kind.ns(), &d.prefix())?;
    Ok(Value::structure().with(
        member,
        Value::List(all.into_iter().map(|l| Value::Str(l.id)).collect()),
    ))
}

pub fn create_ip_set(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    create(env, p, Kind::Trusted)
}
pub fn get_ip_set(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    get(env, p, Kind::Trusted)
}
pub fn update_ip_set(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    update(env, p, Kind::Trusted)
}
pub fn delete_ip_set(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    delete(env, p, Kind::Trusted)
}
pub fn list_ip_sets(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    list(env, p, Kind::Trusted, "ipSetIds")
}
pub fn create_threat_intel_set(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    create(env, p, Kind::Threat)
}
pub fn get_threat_intel_set(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    get(env, p, Kind::Threat)
}
pub fn update_threat_intel_set(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    update(env, p, Kind::Threat)
}
pub fn delete_threat_intel_set(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    delete(env, p, Kind::Threat)
}
pub fn list_threat_intel_sets(env: &mut Env<'_>, _: &Authorized, p: Params<'_>) -> Result<Value> {
    list(env, p, Kind::Threat, "threatIntelSetIds")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    #[test]
    fn files_parse_or_name_the_bad_line() {
        let (c, d) = parse(
            Kind::Threat,
            "TXT",
            b"# bad hosts\n198.51.100.7\n203.0.113.0/24\nevil.example.com\n",
        )
        .unwrap();
        assert_eq!((c.len(), d), (2, vec!["evil.example.com".to_string()]));
        assert!(c[1].contains("203.0.113.99".parse().unwrap()));
        assert!(!c[1].contains("203.0.114.1".parse().unwrap()));
        assert!(!c[0].contains("::1".parse().unwrap()));
        let err = parse(Kind::Trusted, "TXT", b"10.0.0.1\nevil.example.com\n").unwrap_err();
        assert!(err.to_string().contains("line 2"), "{err}");
        assert!(parse(Kind::Trusted, "TXT", b"10.0.0.0/33\n").is_err());
        let (c, _) = parse(
            Kind::Threat,
            "OTX_CSV",
            b"Indicator type,Indicator,Description\nIPv4,198.51.100.1,x\nCIDR,2001:db8::/32,y\n",
        )
        .unwrap();
        assert!(c[1].contains("2001:db8::1".parse().unwrap()));
        assert!(parse(Kind::Threat, "OTX_CSV", b"h\nURL,http://x,y\n").is_err());
        assert!(parse(Kind::Threat, "STIX", b"<stix/>").is_err());
        let many: String = (0..2001)
            .map(|i| format!("10.0.{}.{}\n", i / 256, i % 256))
            .collect();
        assert!(parse(Kind::Trusted, "TXT", many.as_bytes()).is_err());
    }

    #[test]
    fn errors_name_the_line_never_its_content() {
        let secret = "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
        for (kind, format, file) in [
            (Kind::Threat, "TXT", format!("10.0.0.1\n{secret}\n")),
            (Kind::Trusted, "TXT", format!("10.0.0.1\n{secret}\n")),
            (Kind::Threat, "OTX_CSV", format!("h\nIPv4,{secret},x\n")),
            (Kind::Threat, "OTX_CSV", format!("h\n{secret},1.2.3.4\n")),
        ] {
            let err = parse(kind, format, file.as_bytes())
                .unwrap_err()
                .to_string();
            assert!(err.contains("line 2"), "{err}");
            assert!(!err.contains("SECRET") && !err.contains("wJalr"), "{err}");
        }
        let err = parse(Kind::Threat, "TXT", b"\xff\xfe secret").unwrap_err();
        assert!(!err.to_string().contains("secret"), "{err}");
    }

    #[test]
    fn locations_are_s3_objects_only() {
        let at = |b: &str, k: &str| {
            Some(Location {
                bucket: b.into(),
                key: k.into(),
            })
        };
        assert_eq!(location("s3://lists/a/b.txt"), at("lists", "a/b.txt"));
        assert_eq!(
            location("https://s3.amazonaws.com/lists/threats.txt"),
            at("lists", "threats.txt")
        );
        assert_eq!(
            location("https://s3.eu-west-3.amazonaws.com/lists/x%20y.txt"),
            at("lists", "x y.txt")
        );
        assert_eq!(
            location("https://s3-us-west-2.amazonaws.com/lists/t.txt"),
            at("lists", "t.txt")
        );
        assert_eq!(
            location("https://lists.s3.us-east-1.amazonaws.com/a/b.txt"),
            at("lists", "a/b.txt")
        );
        assert_eq!(
            location("https://my.lists.s3.amazonaws.com/b.txt"),
            at("my.lists", "b.txt")
        );
        assert_eq!(
            location("https://lists.s3-eu-west-1.amazonaws.com/b.txt?versionId=1"),
            at("lists", "b.txt")
        );
        for refused in [
            "file:///proc/self/environ",
            "file:///dev/zero",
            "/etc/passwd",
            "http://lists.s3.amazonaws.com/b.txt",
            "https://evil.example.com/lists/b.txt",
            "https://lists.s3.amazonaws.com.evil.example/b.txt",
            "https://lists.s3.amazonaws.com/",
            "s3://lists",
            "s3://lists/",
            "s3://Bad_Bucket/k",
            "https://s3.amazonaws.com/lists/%zz",
        ] {
            assert_eq!(location(refused), None, "{refused}");
        }
    }
}
