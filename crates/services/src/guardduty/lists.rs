//! Trusted IP lists (`IPSet`) and threat lists (`ThreatIntelSet`).
//!
//! A list is loaded from an object in a trailguard bucket (`s3://bucket/key` or
//! an `https://s3.amazonaws.com/bucket/key` URL) or a local file (`file:///path`)
//! in `TXT` (one IP, CIDR or, for threat lists, domain a line; `#` comments) or
//! `OTX_CSV` (`type,indicator,...` rows after a header). The whole file is parsed
//! before anything is stored, so a bad file is refused with the line at fault and
//! never half-loaded. AWS's quotas apply: one trusted list of 2,000 entries, six
//! threat lists of 250,000, files up to 35 MB. Active trusted IPs silence every
//! detection; active threat lists drive the `MaliciousIPCaller.Custom` findings.

use super::Detector;
use crate::authz::Authorized;
use crate::env::Env;
use crate::error::{Error, Result};
use crate::params::Params;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use std::net::IpAddr;
use time::OffsetDateTime;
use trailguard_model::Value;

const MAX_FILE: usize = 35 * 1024 * 1024;
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
    fn max_entries(self) -> usize {
        match self {
            Kind::Trusted => 2_000,
            Kind::Threat => 250_000,
        }
    }
    fn label(self) -> &'static str {
        match self {
            Kind::Trusted => "IPSet",
            Kind::Threat => "ThreatIntelSet",
        }
    }
}

/// An address range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    fn parse(text: &str) -> Option<Self> {
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (a.parse::<IpAddr>().ok()?, Some(p.parse::<u8>().ok()?)),
            None => (text.parse::<IpAddr>().ok()?, None),
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        (prefix <= max).then_some(Self { addr, prefix })
    }

    /// Whether `ip` is in the range.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let bits = |a: IpAddr| -> (u128, u32) {
            match a {
                IpAddr::V4(v) => (u128::from(u32::from(v)), 32),
                IpAddr::V6(v) => (u128::from(v), 128),
            }
        };
        let ((net, width), (x, xw)) = (bits(self.addr), bits(ip));
        if width != xw {
            return false;
        }
        let host_bits = width - u32::from(self.prefix);
        net.checked_shr(host_bits).unwrap_or(0) == x.checked_shr(host_bits).unwrap_or(0)
    }
}

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
    Error::BadRequest(format!(
        "The request is rejected because {}",
        message.into()
    ))
}

/// `(bucket, key)` of an S3 location.
fn s3_location(location: &str) -> Option<(String, String)> {
    let rest = location
        .strip_prefix("s3://")
        .or_else(|| location.strip_prefix("https://s3.amazonaws.com/"))
        .map(str::to_string)
        .or_else(|| {
            let host_path = location.strip_prefix("https://")?;
            let (host, path) = host_path.split_once('/')?;
            let bucket = host.split(".s3").next()?;
            Some(format!("{bucket}/{path}"))
        })?;
    let (bucket, key) = rest.split_once('/')?;
    (!bucket.is_empty() && !key.is_empty()).then(|| (bucket.to_string(), key.to_string()))
}

fn fetch(env: &mut Env<'_>, location: &str) -> Result<Vec<u8>> {
    let bytes = if let Some(path) = location.strip_prefix("file://") {
        std::fs::read(path).map_err(|e| bad(format!("the file {location} cannot be read: {e}")))?
    } else if let Some((bucket, key)) = s3_location(location) {
        crate::s3::load_bucket(env, &bucket).map_err(|_| {
            bad(format!(
                "the bucket of {location} does not exist or is not yours."
            ))
        })?;
        crate::s3::read_object(env, &bucket, &key)?
            .ok_or_else(|| bad(format!("the object {location} does not exist.")))?
    } else {
        return Err(bad(format!(
            "the location {location} is not an S3 URL (s3://bucket/key) or a file:// path."
        )));
    };
    if bytes.len() > MAX_FILE {
        return Err(bad("the list file is larger than 35 MB."));
    }
    Ok(bytes)
}

fn is_domain(s: &str) -> bool {
    s.contains('.')
        && s.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// Parses a list file; an entry that is neither an address, a range nor (for
/// threat lists) a domain is an error naming its line.
pub fn parse(kind: Kind, format: &str, bytes: &[u8]) -> Result<(Vec<Cidr>, Vec<String>)> {
    let text = std::str::from_utf8(bytes).map_err(|_| bad("the list file is not UTF-8 text."))?;
    let mut cidrs = Vec::new();
    let mut domains = Vec::new();
    let mut entry = |n: usize, raw: &str| -> Result<()> {
        let value = raw.trim();
        if let Some(c) = Cidr::parse(value) {
            cidrs.push(c);
            Ok(())
        } else if kind == Kind::Threat && is_domain(value) {
            domains.push(value.to_ascii_lowercase());
            Ok(())
        } else {
            Err(bad(format!(
                "line {n} of the list file is not a valid entry: {value}"
            )))
        }
    };
    match format {
        "TXT" => {
            for (i, line) in text.lines().enumerate() {
                let line = line.split('#').next().unwrap_or_default().trim();
                if !line.is_empty() {
                    entry(i + 1, line)?;
                }
            }
        }
        "OTX_CSV" => {
            for (i, line) in text.lines().enumerate().skip(1) {
                if line.trim().is_empty() {
                    continue;
                }
                let mut cols = line.split(',').map(str::trim);
                let (ty, indicator) = (
                    cols.next().unwrap_or_default(),
                    cols.next().unwrap_or_default(),
                );
                match ty.to_ascii_lowercase().as_str() {
                    "ipv4" | "ipv6" | "cidr" | "domain" | "hostname" => entry(i + 1, indicator)?,
                    _ => {
                        return Err(bad(format!(
                            "line {} of the list file has an unknown indicator type: {ty}",
                            i + 1
                        )));
                    }
                }
            }
        }
        other => {
            return Err(bad(format!(
                "the format {other} is not supported by trailguard yet; use TXT or OTX_CSV."
            )));
        }
    }
    let total = cidrs.len() + domains.len();
    if total > kind.max_entries() {
        return Err(bad(format!(
            "the list has {total} entries; a {} holds at most {}.",
            kind.label(),
            kind.max_entries()
        )));
    }
    Ok((cidrs, domains))
}

/// The detector's active lists of a kind.
pub fn active(env: &mut Env<'_>, d: &Detector, kind: Kind) -> Result<Vec<List>> {
    let all: Vec<List> = env.scan_all(kind.ns(), &d.prefix())?;
    Ok(all.into_iter().filter(|l| l.active).collect())
}

/// Deletes a detector's lists (DeleteDetector).
pub fn delete_all(env: &mut Env<'_>, d: &Detector) -> Result<()> {
    for kind in [Kind::Trusted, Kind::Threat] {
        env.delete_prefix(kind.ns(), &d.prefix())?;
    }
    Ok(())
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
    let name = p.str_len("name", 1, 300)?.to_string();
    let format = format_param(p)?;
    let location = p.str_len("location", 1, 300)?.to_string();
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
    let bytes = fetch(env, &location)?;
    let (cidrs, domains) = parse(kind, &format, &bytes)?;
    let list = List {
        id: env.ids.uuid().replace('-', ""),
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
    let mut l = load(env, &d, kind, p.str(kind.id_member())?)?;
    if let Some(name) = p.opt_str_len("name", 1, 300)? {
        l.name = name.to_string();
    }
    if let Some(location) = p.opt_str_len("location", 1, 300)? {
        let bytes = fetch(env, location)?;
        let (cidrs, domains) = parse(kind, &l.format, &bytes)?;
        l.location = location.to_string();
        l.cidrs = cidrs;
        l.domains = domains;
    }
    if let Some(a) = p.opt_bool("activate")? {
        l.active = a;
    }
    env.put(kind.ns(), &format!("{}{}", d.prefix(), l.id), &l)?;
    Ok(Value::structure())
}

fn delete(env: &mut Env<'_>, p: Params<'_>, kind: Kind) -> Result<Value> {
    let d = super::load(env, p.str("detectorId")?)?;
    let l = load(env, &d, kind, p.str(kind.id_member())?)?;
    env.delete(kind.ns(), &format!("{}{}", d.prefix(), l.id))?;
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
        assert_eq!(
            s3_location("https://s3.amazonaws.com/lists/threats.txt"),
            Some(("lists".into(), "threats.txt".into()))
        );
        assert_eq!(
            s3_location("https://lists.s3.us-east-1.amazonaws.com/a/b.txt"),
            Some(("lists".into(), "a/b.txt".into()))
        );
    }
}
