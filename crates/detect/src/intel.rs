//! Threat intelligence as data: address ranges and the lists that hold them
//! (GuardDuty's trusted IP lists and threat lists, in its `TXT` and `OTX_CSV`
//! formats, and a Tor exit-node list the user supplies), looked up by binary
//! search over merged ranges, so a 250,000-entry threat list costs a few
//! comparisons per record.

use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// An address range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

/// An address as a number, and whether it is IPv6 (an IPv4 address written
/// as IPv6, `::ffff:203.0.113.5`, is the IPv4 address).
fn bits(a: IpAddr) -> (u128, bool) {
    match a.to_canonical() {
        IpAddr::V4(v) => (u128::from(u32::from(v)), false),
        IpAddr::V6(v) => (u128::from(v), true),
    }
}

impl Cidr {
    /// `192.0.2.0/24`, `2001:db8::/32` or a single address.
    pub fn parse(text: &str) -> Option<Self> {
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (a.parse::<IpAddr>().ok()?, Some(p.parse::<u8>().ok()?)),
            None => (text.parse::<IpAddr>().ok()?, None),
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        (prefix <= max).then_some(Self { addr, prefix })
    }

    /// The first and last address, and whether they are IPv6.
    fn range(&self) -> (u128, u128, bool) {
        let (n, v6) = bits(self.addr);
        let width: u32 = if v6 { 128 } else { 32 };
        let host = width - u32::from(self.prefix);
        let mask = if host >= 128 {
            u128::MAX
        } else {
            (1u128 << host) - 1
        };
        (n & !mask, n | mask, v6)
    }

    /// Whether `ip` is in the range.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let (lo, hi, v6) = self.range();
        let (x, xv6) = bits(ip);
        v6 == xv6 && lo <= x && x <= hi
    }
}

/// A set of ranges, merged and sorted for lookup.
#[derive(Debug, Clone, Default)]
pub struct IpSet {
    v4: Vec<(u128, u128)>,
    v6: Vec<(u128, u128)>,
}

fn merge(mut ranges: Vec<(u128, u128)>) -> Vec<(u128, u128)> {
    ranges.sort_unstable();
    let mut out: Vec<(u128, u128)> = Vec::with_capacity(ranges.len());
    for (lo, hi) in ranges {
        match out.last_mut() {
            Some(last) if lo <= last.1.saturating_add(1) => last.1 = last.1.max(hi),
            _ => out.push((lo, hi)),
        }
    }
    out
}

impl IpSet {
    pub fn new<'c>(cidrs: impl IntoIterator<Item = &'c Cidr>) -> Self {
        let (mut v4, mut v6) = (Vec::new(), Vec::new());
        for c in cidrs {
            let (lo, hi, is6) = c.range();
            if is6 {
                v6.push((lo, hi));
            } else {
                v4.push((lo, hi));
            }
        }
        Self {
            v4: merge(v4),
            v6: merge(v6),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.v4.is_empty() && self.v6.is_empty()
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let (x, v6) = bits(ip);
        let ranges = if v6 { &self.v6 } else { &self.v4 };
        let after = ranges.partition_point(|(lo, _)| *lo <= x);
        after
            .checked_sub(1)
            .and_then(|i| ranges.get(i))
            .is_some_and(|(_, hi)| x <= *hi)
    }

    /// [`Self::contains`] for an address in text; text that is not an
    /// address (a service's name, say) is in no set.
    pub fn contains_text(&self, ip: &str) -> bool {
        !self.is_empty() && ip.parse::<IpAddr>().is_ok_and(|ip| self.contains(ip))
    }
}

/// Which list a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListKind {
    /// Addresses that raise nothing (GuardDuty's IPSet).
    Trusted,
    /// Addresses (and domains) of known threats (a ThreatIntelSet).
    Threat,
}

impl ListKind {
    /// GuardDuty's quotas: 2,000 entries in a trusted list, 250,000 in a threat list.
    pub fn max_entries(self) -> usize {
        match self {
            ListKind::Trusted => 2_000,
            ListKind::Threat => 250_000,
        }
    }
    fn label(self) -> &'static str {
        match self {
            ListKind::Trusted => "IPSet",
            ListKind::Threat => "ThreatIntelSet",
        }
    }
}

/// A list's entries.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Entries {
    pub cidrs: Vec<Cidr>,
    pub domains: Vec<String>,
}

fn is_domain(s: &str) -> bool {
    s.len() <= 253
        && s.contains('.')
        && s.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// Parses a list file as GuardDuty accepts an upload: [`parse_entries`]
/// within GuardDuty's quota for the kind.
pub fn parse_list(kind: ListKind, format: &str, bytes: &[u8]) -> Result<Entries, String> {
    let out = parse_entries(kind, format, bytes)?;
    let total = out.cidrs.len() + out.domains.len();
    if total > kind.max_entries() {
        return Err(format!(
            "the list has {total} entries; a {} holds at most {}.",
            kind.label(),
            kind.max_entries()
        ));
    }
    Ok(out)
}

/// Parses a list file in GuardDuty's `TXT` or `OTX_CSV` format. An entry that
/// is neither an address, a range nor (for threat lists) a domain is an error
/// naming its line but never quoting it: the file may not be the caller's to
/// read. Errors complete the sentence "The request is rejected because ".
pub fn parse_entries(kind: ListKind, format: &str, bytes: &[u8]) -> Result<Entries, String> {
    let text =
        std::str::from_utf8(bytes).map_err(|_| "the list file is not UTF-8 text.".to_string())?;
    let mut out = Entries::default();
    let mut entry = |n: usize, raw: &str| -> Result<(), String> {
        let value = raw.trim();
        if let Some(c) = Cidr::parse(value) {
            out.cidrs.push(c);
            Ok(())
        } else if kind == ListKind::Threat && is_domain(value) {
            out.domains.push(value.to_ascii_lowercase());
            Ok(())
        } else if kind == ListKind::Threat {
            Err(format!(
                "line {n} of the list file is not an IP address, a CIDR range or a domain name."
            ))
        } else {
            Err(format!(
                "line {n} of the list file is not an IP address or a CIDR range."
            ))
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
                        return Err(format!(
                            "line {} of the list file has an indicator type other than IPv4, IPv6, CIDR, domain or hostname.",
                            i + 1
                        ));
                    }
                }
            }
        }
        other => {
            return Err(format!(
                "the format {other} is not supported by trailguard yet; use TXT or OTX_CSV."
            ));
        }
    }
    Ok(out)
}

/// A threat list as detection uses it.
#[derive(Debug, Clone)]
pub struct ThreatList {
    pub name: String,
    pub ips: IpSet,
}

/// Everything detection knows of addresses.
#[derive(Debug, Clone, Default)]
pub struct Intel {
    /// Calls from here raise nothing.
    pub trusted: IpSet,
    /// The customer's threat lists: calls from here raise the `.Custom` types.
    pub threats: Vec<ThreatList>,
    /// Tor exit nodes (a list the user supplies; GuardDuty uses its own feed).
    pub tor: IpSet,
    /// AWS's own address ranges (its published `ip-ranges.json`), to tell
    /// inside AWS from outside.
    pub aws: IpSet,
}

/// The ranges of AWS's published `ip-ranges.json` (`prefixes[].ip_prefix`,
/// `ipv6_prefixes[].ipv6_prefix`).
pub fn aws_ranges(json: &[u8]) -> Result<IpSet, String> {
    let doc: serde_json::Value = serde_json::from_slice(json)
        .map_err(|_| "not AWS's ip-ranges.json (not JSON)".to_string())?;
    let mut cidrs = Vec::new();
    for (list, key) in [("prefixes", "ip_prefix"), ("ipv6_prefixes", "ipv6_prefix")] {
        for p in doc
            .get(list)
            .and_then(|v| v.as_array())
            .into_iter()
            .flatten()
        {
            if let Some(c) = p.get(key).and_then(|v| v.as_str()).and_then(Cidr::parse) {
                cidrs.push(c);
            }
        }
    }
    if cidrs.is_empty() {
        return Err("not AWS's ip-ranges.json (no prefixes)".into());
    }
    Ok(IpSet::new(&cidrs))
}

impl Intel {
    /// The first threat list naming an address.
    pub fn threat(&self, ip: IpAddr) -> Option<&ThreatList> {
        self.threats.iter().find(|l| l.ips.contains(ip))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn ranges_hold_what_they_cover() {
        let c = Cidr::parse("10.1.0.0/16").unwrap();
        assert!(c.contains(ip("10.1.255.1")));
        assert!(!c.contains(ip("10.2.0.1")));
        assert!(c.contains(ip("::ffff:10.1.0.1")));
        assert!(Cidr::parse("0.0.0.0/0").unwrap().contains(ip("8.8.8.8")));
        assert!(Cidr::parse("::/0").unwrap().contains(ip("2001:db8::1")));
        assert!(Cidr::parse("10.0.0.0/33").is_none());
        let set = IpSet::new(&[
            Cidr::parse("10.0.0.0/24").unwrap(),
            Cidr::parse("10.0.1.0/24").unwrap(),
            Cidr::parse("192.0.2.9").unwrap(),
            Cidr::parse("2001:db8::/32").unwrap(),
        ]);
        assert_eq!(set.v4.len(), 2, "adjacent ranges merge");
        assert!(set.contains(ip("10.0.1.200")));
        assert!(!set.contains(ip("10.0.2.0")));
        assert!(set.contains(ip("192.0.2.9")));
        assert!(!set.contains(ip("192.0.2.8")));
        assert!(set.contains(ip("2001:db8:ffff::1")));
        assert!(!set.contains_text("cloudtrail.amazonaws.com"));
        assert!(set.contains_text("::ffff:192.0.2.9"));
    }

    #[test]
    fn lists_parse_and_refuse_without_quoting() {
        let e = parse_list(
            ListKind::Threat,
            "TXT",
            b"# c\n198.51.100.0/24\nevil.example\n",
        )
        .unwrap();
        assert_eq!(e.cidrs.len(), 1);
        assert_eq!(e.domains, vec!["evil.example"]);
        let err = parse_list(ListKind::Trusted, "TXT", b"root:x:0:0\n").unwrap_err();
        assert!(err.contains("line 1") && !err.contains("root"));
        let otx = parse_list(
            ListKind::Threat,
            "OTX_CSV",
            b"Indicator type,Indicator\nIPv4,203.0.113.5\n",
        )
        .unwrap();
        assert_eq!(otx.cidrs.len(), 1);
        assert!(parse_list(ListKind::Threat, "STIX", b"").is_err());
    }
}
