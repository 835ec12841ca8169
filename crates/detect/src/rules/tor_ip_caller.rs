//! `Recon:IAMUser/TorIPCaller` and `UnauthorizedAccess:IAMUser/TorIPCaller`
//! (Medium).
//!
//! GuardDuty's documentation: "An API was invoked from a Tor exit node IP
//! address"; Recon for list and describe APIs, UnauthorizedAccess for any
//! other. GuardDuty knows the exit nodes from its own feed; trailguard takes
//! them from a list the user supplies (`scan --tor-exit-list`, one address or
//! range a line, as Tor's published exit list), and raises nothing without one.
//! Aggregated by caller and address.

use crate::candidate::{Candidate, RuleRef};
use crate::cloudtrail::Record;
use crate::engine::{self, Cx, On};
use std::net::IpAddr;

const NAME: &str = "tor_ip_caller";

pub struct Rule;

impl engine::CloudTrailRule for Rule {
    fn rule(&self) -> RuleRef {
        RuleRef::Builtin(NAME)
    }
    fn on(&self) -> On {
        On::Any
    }
    fn check(&self, r: &Record<'_>, cx: &mut Cx<'_>, out: &mut Vec<Candidate>) {
        if cx.intel.tor.is_empty() {
            return;
        }
        let Ok(ip) = r.source_ip().parse::<IpAddr>() else {
            return;
        };
        if !cx.intel.tor.contains(ip) {
            return;
        }
        let types = (
            "Recon:IAMUser/TorIPCaller",
            "UnauthorizedAccess:IAMUser/TorIPCaller",
        );
        engine::listed_caller(NAME, types, r, cx, ip, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intel::{Cidr, Intel, IpSet};
    use crate::rules::testing::{event, types};
    use serde_json::json;

    fn intel() -> Intel {
        Intel {
            tor: IpSet::new(&[Cidr::parse("185.220.101.1").unwrap()]),
            ..Intel::default()
        }
    }

    #[test]
    fn positive() {
        let read = event(
            json!({"sourceIPAddress": "185.220.101.1", "eventName": "DescribeInstances", "eventSource": "ec2.amazonaws.com"}),
        );
        assert_eq!(types(Rule, &read, &intel()), ["Recon:IAMUser/TorIPCaller"]);
        let write = event(
            json!({"sourceIPAddress": "185.220.101.1", "eventName": "RunInstances", "eventSource": "ec2.amazonaws.com"}),
        );
        assert_eq!(
            types(Rule, &write, &intel()),
            ["UnauthorizedAccess:IAMUser/TorIPCaller"]
        );
    }

    #[test]
    fn negative() {
        let other = event(json!({"sourceIPAddress": "185.220.101.2"}));
        assert!(types(Rule, &other, &intel()).is_empty());
        let no_list = event(json!({"sourceIPAddress": "185.220.101.1"}));
        assert!(types(Rule, &no_list, &Intel::default()).is_empty());
    }
}
