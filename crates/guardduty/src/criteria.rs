//! `FindingCriteria`: conditions on finding fields, as ListFindings, filters and
//! statistics take them.
//!
//! A field is a dot path into the finding's JSON (`service.action.awsApiCallAction.api`);
//! lists along the path are flattened, so a condition holds when any value at
//! the path satisfies it (all values, for the negative operators). Timestamps
//! compare as epoch milliseconds, `severity` as a number, booleans as
//! `"true"`/`"false"`. Pure: no storage, no clock.

use crate::error::GuardDutyError;
use serde_json::Value as Json;
use trailguard_core::error::{Error, Result};

const TIME_FIELDS: &[&str] = &[
    "createdAt",
    "updatedAt",
    "service.eventFirstSeen",
    "service.eventLastSeen",
];

fn bad(message: impl Into<String>) -> Error {
    GuardDutyError::BadRequest(message.into()).into()
}

/// Every value at a dot path, lists flattened.
pub fn values_at<'a>(doc: &'a Json, path: &str) -> Vec<&'a Json> {
    let mut current = vec![doc];
    for part in path.split('.') {
        let mut next = Vec::new();
        for v in current {
            match v {
                Json::Object(m) => {
                    if let Some(child) = m.get(part) {
                        match child {
                            Json::Array(items) => next.extend(items.iter()),
                            other => next.push(other),
                        }
                    }
                }
                Json::Array(items) => {
                    for item in items {
                        if let Some(child) = item.get(part) {
                            next.push(child);
                        }
                    }
                }
                _ => {}
            }
        }
        current = next;
    }
    current
}

fn as_text(v: &Json) -> Option<String> {
    match v {
        Json::String(s) => Some(s.clone()),
        Json::Bool(b) => Some(b.to_string()),
        Json::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Whether a finding's value equals a criterion's string: numbers by value
/// (`Eq ["8"]` matches a severity of `8.0`, as AWS compares them), everything
/// else as text.
fn equals(v: &Json, wanted: &str) -> bool {
    match v {
        Json::Number(n) => n
            .as_f64()
            .zip(wanted.trim().parse::<f64>().ok())
            .is_some_and(|(have, want)| have == want),
        other => as_text(other).is_some_and(|t| t == wanted),
    }
}

/// A value as a number: timestamps as epoch milliseconds.
fn as_number(field: &str, v: &Json) -> Option<f64> {
    if TIME_FIELDS.contains(&field) {
        let text = v.as_str()?;
        let t = trailguard_model::clock::parse_iso8601(text)?;
        #[allow(
            clippy::cast_precision_loss,
            reason = "epoch milliseconds fit a double exactly"
        )]
        return Some((t.unix_timestamp_nanos() / 1_000_000) as f64);
    }
    match v {
        Json::Number(n) => n.as_f64(),
        Json::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn strings(cond: &Json) -> Result<Vec<String>> {
    cond.as_array()
        .ok_or_else(|| bad("The request is rejected because a condition value must be a list."))?
        .iter()
        .map(|v| {
            as_text(v).ok_or_else(|| {
                bad("The request is rejected because a condition value is not a string.")
            })
        })
        .collect()
}

fn number(cond: &Json) -> Result<f64> {
    match cond {
        Json::Number(n) => n.as_f64(),
        Json::String(s) => s.parse().ok(),
        _ => None,
    }
    .ok_or_else(|| bad("The request is rejected because a comparison value must be a number."))
}

/// `*` and `?` wildcards.
fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some(pi);
                mark = ti;
                pi += 1;
            }
            Some(c) if *c == '?' || Some(c) == t.get(ti) => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some(s) => {
                    pi = s + 1;
                    mark += 1;
                    ti = mark;
                }
                None => return false,
            },
        }
    }
    p.get(pi..)
        .is_some_and(|rest| rest.iter().all(|c| *c == '*'))
}

/// Whether one field condition holds.
fn holds(doc: &Json, field: &str, condition: &Json, allow_matches: bool) -> Result<bool> {
    let obj = condition.as_object().ok_or_else(|| {
        bad(format!(
            "The request is rejected because the condition on {field} is not an object."
        ))
    })?;
    let values = values_at(doc, field);
    let texts: Vec<String> = values.iter().filter_map(|v| as_text(v)).collect();
    let numbers: Vec<f64> = values.iter().filter_map(|v| as_number(field, v)).collect();
    for (op, arg) in obj {
        let ok = match op.as_str() {
            "eq" | "equals" => {
                let wanted = strings(arg)?;
                values.iter().any(|v| wanted.iter().any(|w| equals(v, w)))
            }
            "neq" | "notEquals" => {
                let unwanted = strings(arg)?;
                !values.iter().any(|v| unwanted.iter().any(|w| equals(v, w)))
            }
            "gt" | "greaterThan" => {
                let n = number(arg)?;
                numbers.iter().any(|v| *v > n)
            }
            "gte" | "greaterThanOrEqual" => {
                let n = number(arg)?;
                numbers.iter().any(|v| *v >= n)
            }
            "lt" | "lessThan" => {
                let n = number(arg)?;
                numbers.iter().any(|v| *v < n)
            }
            "lte" | "lessThanOrEqual" => {
                let n = number(arg)?;
                numbers.iter().any(|v| *v <= n)
            }
            "matches" | "notMatches" if allow_matches => {
                let patterns = strings(arg)?;
                if patterns.len() > 5 || patterns.iter().any(|p| p.len() > 512) {
                    return Err(bad(
                        "The request is rejected because matches takes at most 5 patterns of at most 512 characters.",
                    ));
                }
                let any = texts.iter().any(|t| patterns.iter().any(|p| glob(p, t)));
                if op == "matches" { any } else { !any }
            }
            "matches" | "notMatches" => {
                return Err(bad(format!(
                    "The request is rejected because {op} is only allowed in filters."
                )));
            }
            other => {
                return Err(bad(format!(
                    "The request is rejected because the condition operator {other} is not valid."
                )));
            }
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Checks a `FindingCriteria` document's shape without evaluating it.
pub fn validate(criteria: Option<&Json>, allow_matches: bool) -> Result<()> {
    matches(
        &Json::Object(serde_json::Map::new()),
        criteria,
        allow_matches,
    )
    .map(|_| ())
}

/// Whether a finding satisfies `{"criterion": {field: condition, ...}}` (all of them).
pub fn matches(doc: &Json, criteria: Option<&Json>, allow_matches: bool) -> Result<bool> {
    let Some(criteria) = criteria.filter(|c| !c.is_null()) else {
        return Ok(true);
    };
    let criterion = match criteria.get("criterion") {
        None | Some(Json::Null) => return Ok(true),
        Some(Json::Object(m)) => m,
        Some(_) => {
            return Err(bad(
                "The request is rejected because criterion must be an object.",
            ));
        }
    };
    let mut all = true;
    for (field, condition) in criterion {
        // Evaluate every condition so a malformed one is reported even after a miss.
        if !holds(doc, field, condition, allow_matches)? {
            all = false;
        }
    }
    Ok(all)
}

/// The fields a `FindingCriteria` document names (none when it is empty or
/// malformed; [`validate`] reports the latter).
pub fn fields(criteria: Option<&Json>) -> Vec<&str> {
    criteria
        .and_then(|c| c.get("criterion"))
        .and_then(Json::as_object)
        .map(|m| m.keys().map(String::as_str).collect())
        .unwrap_or_default()
}

/// The sort key of a finding for `sortCriteria.attributeName`.
pub fn sort_key(doc: &Json, attribute: &str) -> (Option<f64>, Option<String>) {
    let v = values_at(doc, attribute).into_iter().next();
    (v.and_then(|v| as_number(attribute, v)), v.and_then(as_text))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;
    use serde_json::json;

    fn finding() -> Json {
        json!({
            "type": "Recon:EC2/PortProbeUnprotectedPort",
            "severity": 5.0,
            "updatedAt": "2026-11-23T22:00:00.000Z",
            "resource": {"resourceType": "Instance", "instanceDetails": {"tags": [{"key": "env", "value": "prod"}]}},
            "service": {"archived": false, "action": {"actionType": "PORT_PROBE"}}
        })
    }

    fn check(c: Json) -> bool {
        matches(&finding(), Some(&json!({"criterion": c})), true).unwrap()
    }

    #[test]
    fn numbers_equal_by_value_not_text() {
        let f = json!({"severity": 8.0, "service": {"count": 3}});
        assert!(check_on(&f, json!({"severity": {"eq": ["8"]}})));
        assert!(check_on(&f, json!({"severity": {"equals": ["8.0", "2"]}})));
        assert!(!check_on(&f, json!({"severity": {"eq": ["5"]}})));
        assert!(!check_on(&f, json!({"severity": {"neq": ["8"]}})));
        assert!(check_on(&f, json!({"service.count": {"eq": ["3"]}})));
    }

    fn check_on(f: &Json, c: Json) -> bool {
        matches(f, Some(&json!({"criterion": c})), false).unwrap()
    }

    #[test]
    fn operators() {
        assert!(check(
            json!({"type": {"equals": ["Recon:EC2/PortProbeUnprotectedPort"]}})
        ));
        assert!(check(
            json!({"type": {"eq": ["x", "Recon:EC2/PortProbeUnprotectedPort"]}})
        ));
        assert!(!check(
            json!({"type": {"notEquals": ["Recon:EC2/PortProbeUnprotectedPort"]}})
        ));
        assert!(check(
            json!({"severity": {"greaterThanOrEqual": 5}, "service.archived": {"equals": ["false"]}})
        ));
        assert!(!check(json!({"severity": {"gt": 5}})));
        assert!(check(
            json!({"resource.instanceDetails.tags.value": {"equals": ["prod"]}})
        ));
        assert!(check(
            json!({"updatedAt": {"greaterThan": 1_795_000_000_000_i64}})
        ));
        assert!(check(json!({"type": {"matches": ["Recon:*"]}})));
        assert!(!check(json!({"type": {"notMatches": ["*Port*"]}})));
        assert!(
            matches(
                &finding(),
                Some(&json!({"criterion": {"type": {"bogus": ["x"]}}})),
                true
            )
            .is_err()
        );
        assert!(
            matches(
                &finding(),
                Some(&json!({"criterion": {"type": {"matches": ["x"]}}})),
                false
            )
            .is_err()
        );
        assert!(matches(&finding(), None, false).unwrap());
        assert!(glob("a*c?e", "abbbcde") && !glob("a*c", "abd"));
    }
}
