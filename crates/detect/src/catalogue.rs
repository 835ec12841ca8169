//! GuardDuty's classic finding types: name, severity, the resource and action
//! they describe, and the title and description templates (`{placeholders}`
//! are filled from the candidate). Data, in `data/guardduty-finding-types.json`.

use serde::Deserialize;
use std::sync::{Arc, OnceLock};

/// A finding type.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct FindingType {
    #[serde(rename = "type")]
    pub name: String,
    pub severity: f64,
    pub resource_type: String,
    pub action_type: String,
    pub data_source: String,
    pub title: String,
    pub description: String,
    pub resource_role: String,
}

/// Every classic finding type.
pub fn catalogue() -> &'static [Arc<FindingType>] {
    static TYPES: OnceLock<Vec<Arc<FindingType>>> = OnceLock::new();
    TYPES.get_or_init(|| {
        serde_json::from_str::<Vec<FindingType>>(include_str!(
            "../data/guardduty-finding-types.json"
        ))
        .map(|v| v.into_iter().map(Arc::new).collect())
        // The catalogue is part of the build; the unit test below keeps it parsing.
        .unwrap_or_default()
    })
}

/// The catalogue entry for a type.
pub fn finding_type(name: &str) -> Option<Arc<FindingType>> {
    catalogue().iter().find(|t| t.name == name).cloned()
}

/// GuardDuty's severity bands: Low below 4, Medium below 7, High below 9,
/// Critical from 9.
pub fn band(severity: f64) -> &'static str {
    if severity >= 9.0 {
        "critical"
    } else if severity >= 7.0 {
        "high"
    } else if severity >= 4.0 {
        "medium"
    } else {
        "low"
    }
}

/// Fills a template's `{placeholders}` in one pass: a value is never read
/// again as a template, whatever braces it holds.
pub fn fill(template: &str, values: &[(&str, String)]) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let (before, from) = rest.split_at(open);
        out.push_str(before);
        let name_end = from.find('}');
        let value = name_end.and_then(|end| {
            let name = from.get(1..end)?;
            values
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (v, end))
        });
        match value {
            Some((v, end)) => {
                out.push_str(v);
                rest = from.get(end + 1..).unwrap_or_default();
            }
            None => {
                out.push('{');
                rest = from.get(1..).unwrap_or_default();
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalogue_parses_and_names_each_type_once() {
        let all = catalogue();
        assert!(all.len() > 80);
        let mut names: Vec<&str> = all.iter().map(|t| t.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), all.len());
        assert_eq!(
            finding_type("Recon:IAMUser/TorIPCaller").map(|t| t.severity),
            Some(5.0)
        );
    }

    #[test]
    fn filling_reads_the_template_once() {
        let values = [("a", "{b}".to_string()), ("b", "x".to_string())];
        assert_eq!(fill("{a}-{b}-{c}-{", &values), "{b}-x-{c}-{");
        assert_eq!(fill("no braces", &values), "no braces");
    }

    #[test]
    fn bands_follow_guardduty() {
        assert_eq!(band(2.0), "low");
        assert_eq!(band(5.0), "medium");
        assert_eq!(band(8.0), "high");
        assert_eq!(band(9.5), "critical");
    }
}
