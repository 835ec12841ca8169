//! `Recon:IAMUser/MaliciousIPCaller.Custom` and
//! `UnauthorizedAccess:IAMUser/MaliciousIPCaller.Custom` (Medium).
//!
//! GuardDuty's documentation: "An API was invoked from an IP address on a
//! custom threat list"; the Recon type for APIs "commonly used in
//! reconnaissance" (list and describe), the other for any other API. Here the
//! reads are the APIs named `Get…`, `List…` and `Describe…`. The evidence names
//! the list. The types without `.Custom` come from GuardDuty's own feed,
//! which trailguard does not have. Aggregated by caller and address.

use crate::candidate::{Candidate, RuleRef};
use crate::cloudtrail::Record;
use crate::engine::{self, Cx, On};
use serde_json::json;
use std::net::IpAddr;

const NAME: &str = "malicious_ip_caller";

pub struct Rule;

impl engine::CloudTrailRule for Rule {
    fn rule(&self) -> RuleRef {
        RuleRef::Builtin(NAME)
    }
    fn on(&self) -> On {
        On::Any
    }
    fn check(&self, r: &Record<'_>, cx: &mut Cx<'_>, out: &mut Vec<Candidate>) {
        if cx.intel.threats.is_empty() {
            return;
        }
        let Ok(ip) = r.source_ip().parse::<IpAddr>() else {
            return;
        };
        let Some(list) = cx.intel.threat(ip) else {
            return;
        };
        let types = (
            "Recon:IAMUser/MaliciousIPCaller.Custom",
            "UnauthorizedAccess:IAMUser/MaliciousIPCaller.Custom",
        );
        let list_name = list.name.clone();
        if let Some(c) = engine::listed_caller(NAME, types, r, cx, ip, out) {
            c.evidence = Some(json!({"threatIntelligenceDetails": [
                {"threatListName": list_name, "threatNames": []}
            ]}));
            c.additional = json!({"threatListName": list_name});
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intel::{Cidr, Intel, IpSet, ThreatList};
    use crate::rules::testing::{event, raised, types};

    fn intel() -> Intel {
        Intel {
            threats: vec![ThreatList {
                name: "bad-hosts".into(),
                ips: IpSet::new(&[Cidr::parse("203.0.113.0/24").unwrap()]),
            }],
            trusted: IpSet::new(&[Cidr::parse("203.0.113.9").unwrap()]),
            ..Intel::default()
        }
    }

    #[test]
    fn positive() {
        let read = event(json!({"sourceIPAddress": "203.0.113.5", "eventName": "ListBuckets"}));
        let found = raised(Rule, &read, &intel());
        assert_eq!(
            found[0].finding_type.name,
            "Recon:IAMUser/MaliciousIPCaller.Custom"
        );
        assert_eq!(
            found[0].evidence.as_ref().unwrap()["threatIntelligenceDetails"][0]["threatListName"],
            "bad-hosts"
        );
        let write = event(json!({"sourceIPAddress": "203.0.113.5", "eventName": "CreateUser"}));
        assert_eq!(
            types(Rule, &write, &intel()),
            ["UnauthorizedAccess:IAMUser/MaliciousIPCaller.Custom"]
        );
    }

    #[test]
    fn negative() {
        let elsewhere = event(json!({"sourceIPAddress": "198.51.100.1"}));
        let trusted = event(json!({"sourceIPAddress": "203.0.113.9"}));
        let service = event(json!({"sourceIPAddress": "cloudtrail.amazonaws.com"}));
        for e in [elsewhere, trusted, service] {
            assert!(types(Rule, &e, &intel()).is_empty(), "{e}");
        }
    }
}
