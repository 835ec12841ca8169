//! Condition blocks: operators, `...IfExists`, `ForAllValues:`/`ForAnyValue:`,
//! and the rules for missing and multivalued keys, as IAM documents them.
//!
//! Within a block every clause must hold (AND); a clause's values are
//! alternatives (OR), or for negated operators must all miss (NOR).

use crate::context::{Context, ContextValue};
use crate::matching::{arn_match, wildcard_match_literal};
use crate::variables::{Resolved, resolve};
use serde_json::Value as Json;
use std::net::IpAddr;

/// The base operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    StringEquals,
    StringNotEquals,
    StringEqualsIgnoreCase,
    StringNotEqualsIgnoreCase,
    StringLike,
    StringNotLike,
    NumericEquals,
    NumericNotEquals,
    NumericLessThan,
    NumericLessThanEquals,
    NumericGreaterThan,
    NumericGreaterThanEquals,
    DateEquals,
    DateNotEquals,
    DateLessThan,
    DateLessThanEquals,
    DateGreaterThan,
    DateGreaterThanEquals,
    Bool,
    BinaryEquals,
    IpAddress,
    NotIpAddress,
    ArnEquals,
    ArnLike,
    ArnNotEquals,
    ArnNotLike,
    Null,
}

impl Operator {
    fn parse(name: &str) -> Option<Self> {
        use Operator::*;
        Some(match name.to_ascii_lowercase().as_str() {
            "stringequals" => StringEquals,
            "stringnotequals" => StringNotEquals,
            "stringequalsignorecase" => StringEqualsIgnoreCase,
            "stringnotequalsignorecase" => StringNotEqualsIgnoreCase,
            "stringlike" => StringLike,
            "stringnotlike" => StringNotLike,
            "numericequals" => NumericEquals,
            "numericnotequals" => NumericNotEquals,
            "numericlessthan" => NumericLessThan,
            "numericlessthanequals" => NumericLessThanEquals,
            "numericgreaterthan" => NumericGreaterThan,
            "numericgreaterthanequals" => NumericGreaterThanEquals,
            "dateequals" => DateEquals,
            "datenotequals" => DateNotEquals,
            "datelessthan" => DateLessThan,
            "datelessthanequals" => DateLessThanEquals,
            "dategreaterthan" => DateGreaterThan,
            "dategreaterthanequals" => DateGreaterThanEquals,
            "bool" => Bool,
            "binaryequals" => BinaryEquals,
            "ipaddress" => IpAddress,
            "notipaddress" => NotIpAddress,
            "arnequals" => ArnEquals,
            "arnlike" => ArnLike,
            "arnnotequals" => ArnNotEquals,
            "arnnotlike" => ArnNotLike,
            "null" => Null,
            _ => return None,
        })
    }

    /// Negated operators hold when the request value matches none of the policy values.
    fn negated(self) -> bool {
        use Operator::*;
        matches!(
            self,
            StringNotEquals
                | StringNotEqualsIgnoreCase
                | StringNotLike
                | NumericNotEquals
                | DateNotEquals
                | NotIpAddress
                | ArnNotEquals
                | ArnNotLike
        )
    }

    /// Whether policy variables are resolved in this operator's values.
    fn takes_variables(self) -> bool {
        use Operator::*;
        matches!(
            self,
            StringEquals
                | StringNotEquals
                | StringEqualsIgnoreCase
                | StringNotEqualsIgnoreCase
                | StringLike
                | StringNotLike
                | Bool
                | ArnEquals
                | ArnLike
                | ArnNotEquals
                | ArnNotLike
        )
    }
}

/// `ForAllValues:` / `ForAnyValue:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetOperator {
    ForAllValues,
    ForAnyValue,
}

/// One `operator: {key: values}` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Clause {
    pub operator: Operator,
    pub set: Option<SetOperator>,
    pub if_exists: bool,
    /// The condition key as written.
    pub key: String,
    /// The key lower-cased, for lookups.
    pub key_lower: String,
    pub values: Vec<String>,
}

/// Parses a `Condition` object into clauses; `None` is a syntax error.
pub fn parse(block: &Json) -> Option<Vec<Clause>> {
    let Json::Object(ops) = block else {
        return None;
    };
    let mut clauses = Vec::new();
    for (name, keys) in ops {
        let (set, rest) = if let Some(r) = strip_prefix_ci(name, "ForAllValues:") {
            (Some(SetOperator::ForAllValues), r)
        } else if let Some(r) = strip_prefix_ci(name, "ForAnyValue:") {
            (Some(SetOperator::ForAnyValue), r)
        } else {
            (None, name.as_str())
        };
        let (base, if_exists) = match strip_suffix_ci(rest, "IfExists") {
            Some(b) => (b, true),
            None => (rest, false),
        };
        let operator = Operator::parse(base)?;
        if if_exists && operator == Operator::Null {
            return None;
        }
        let Json::Object(keys) = keys else {
            return None;
        };
        for (key, values) in keys {
            let values = match values {
                Json::Array(items) => items.iter().map(scalar).collect::<Option<Vec<_>>>()?,
                other => vec![scalar(other)?],
            };
            clauses.push(Clause {
                operator,
                set,
                if_exists,
                key_lower: key.to_ascii_lowercase(),
                key: key.clone(),
                values,
            });
        }
    }
    Some(clauses)
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| s.get(prefix.len()..))
        .flatten()
}

fn strip_suffix_ci<'a>(s: &'a str, suffix: &str) -> Option<&'a str> {
    let cut = s.len().checked_sub(suffix.len())?;
    let tail = s.get(cut..)?;
    tail.eq_ignore_ascii_case(suffix)
        .then(|| s.get(..cut))
        .flatten()
}

fn scalar(v: &Json) -> Option<String> {
    match v {
        Json::String(s) => Some(s.clone()),
        Json::Bool(b) => Some(b.to_string()),
        Json::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Parses a date as IAM does: ISO 8601 or epoch seconds.
fn parse_date(s: &str) -> Option<i128> {
    if let Ok(n) = s.trim().parse::<i64>() {
        return Some(i128::from(n) * 1_000_000_000);
    }
    let fmt = &time::format_description::well_known::Iso8601::DEFAULT;
    if let Ok(t) = time::OffsetDateTime::parse(s, fmt) {
        return Some(t.unix_timestamp_nanos());
    }
    if let Ok(t) = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339) {
        return Some(t.unix_timestamp_nanos());
    }
    // A date alone, as in "2026-11-23".
    time::Date::parse(
        s,
        &time::macros::format_description!("[year]-[month]-[day]"),
    )
    .ok()
    .map(|d| d.midnight().assume_utc().unix_timestamp_nanos())
}

fn parse_cidr(s: &str) -> Option<(IpAddr, u8)> {
    let (ip, len) = match s.split_once('/') {
        Some((ip, len)) => (
            ip.trim().parse::<IpAddr>().ok()?,
            len.trim().parse::<u8>().ok()?,
        ),
        None => {
            let ip = s.trim().parse::<IpAddr>().ok()?;
            (ip, if ip.is_ipv4() { 32 } else { 128 })
        }
    };
    let max = if ip.is_ipv4() { 32 } else { 128 };
    (len <= max).then_some((ip, len))
}

fn in_cidr(ip: IpAddr, (net, len): (IpAddr, u8)) -> bool {
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(b)) => {
            let mask = if len == 0 {
                0
            } else {
                u32::MAX << (32 - u32::from(len))
            };
            u32::from(a) & mask == u32::from(b) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(b)) => {
            let mask = if len == 0 {
                0
            } else {
                u128::MAX << (128 - u32::from(len))
            };
            u128::from(a) & mask == u128::from(b) & mask
        }
        _ => false,
    }
}

fn base64_decode(s: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(s.trim())
        .ok()
}

/// Whether one request value matches one (already resolved) policy value under
/// the positive form of `op`.
fn matches_one(op: Operator, policy: &str, literal: &[(usize, usize)], request: &str) -> bool {
    use Operator::*;
    let num = |s: &str| s.trim().parse::<f64>().ok();
    match op {
        StringEquals | StringNotEquals => policy == request,
        StringEqualsIgnoreCase | StringNotEqualsIgnoreCase => {
            policy.to_lowercase() == request.to_lowercase()
        }
        StringLike | StringNotLike => wildcard_match_literal(policy, literal, request, false),
        NumericEquals
        | NumericNotEquals
        | NumericLessThan
        | NumericLessThanEquals
        | NumericGreaterThan
        | NumericGreaterThanEquals => {
            let (Some(p), Some(r)) = (num(policy), num(request)) else {
                return false;
            };
            match op {
                NumericEquals | NumericNotEquals => r == p,
                NumericLessThan => r < p,
                NumericLessThanEquals => r <= p,
                NumericGreaterThan => r > p,
                _ => r >= p,
            }
        }
        DateEquals
        | DateNotEquals
        | DateLessThan
        | DateLessThanEquals
        | DateGreaterThan
        | DateGreaterThanEquals => {
            let (Some(p), Some(r)) = (parse_date(policy), parse_date(request)) else {
                return false;
            };
            match op {
                DateEquals | DateNotEquals => r == p,
                DateLessThan => r < p,
                DateLessThanEquals => r <= p,
                DateGreaterThan => r > p,
                _ => r >= p,
            }
        }
        Bool => policy.eq_ignore_ascii_case(request),
        BinaryEquals => match (base64_decode(policy), base64_decode(request)) {
            (Some(p), Some(r)) => p == r,
            _ => policy == request,
        },
        IpAddress | NotIpAddress => match (parse_cidr(policy), request.trim().parse::<IpAddr>()) {
            (Some(net), Ok(ip)) => in_cidr(ip, net),
            _ => false,
        },
        ArnEquals | ArnLike | ArnNotEquals | ArnNotLike => arn_match(policy, literal, request),
        Null => false,
    }
}

/// What a clause needed that the request did not have (for the simulator).
#[derive(Debug, Default)]
pub struct Missing(pub Vec<String>);

/// Evaluates one clause.
pub fn evaluate(clause: &Clause, ctx: &Context, variables: bool, missing: &mut Missing) -> bool {
    let present = ctx.get(&clause.key_lower);
    if clause.operator == Operator::Null {
        let wants_absent = clause.values.iter().any(|v| v.eq_ignore_ascii_case("true"));
        let wants_present = clause
            .values
            .iter()
            .any(|v| v.eq_ignore_ascii_case("false"));
        let absent = match present {
            None => true,
            Some(ContextValue::Multi(v)) => v.is_empty(),
            Some(ContextValue::Single(_)) => false,
        };
        return (absent && wants_absent) || (!absent && wants_present);
    }
    // Resolve variables in policy values; a value that cannot resolve matches nothing.
    let with_variables = variables && clause.operator.takes_variables();
    let hit = |request: &str| {
        clause
            .values
            .iter()
            .any(|v| match resolve(v, ctx, with_variables) {
                Resolved::Text { text, literal } => {
                    matches_one(clause.operator, &text, &literal, request)
                }
                Resolved::Unresolvable => false,
            })
    };
    // Per request value: the positive form matches any policy value; the negated
    // form holds when it matches none.
    let holds = |request: &str| hit(request) != clause.operator.negated();
    match (clause.set, present) {
        (Some(SetOperator::ForAllValues), None) => true,
        (Some(SetOperator::ForAnyValue), None) => false,
        (Some(SetOperator::ForAllValues), Some(ContextValue::Multi(vs))) => {
            vs.iter().all(|v| holds(v))
        }
        (Some(SetOperator::ForAnyValue), Some(ContextValue::Multi(vs))) => {
            vs.iter().any(|v| holds(v))
        }
        // A set operator on a single value treats it as a one-element set.
        (Some(_), Some(ContextValue::Single(v))) => holds(v),
        (None, None) => absent(clause, missing),
        (None, Some(ContextValue::Multi(vs))) if vs.is_empty() => absent(clause, missing),
        // A plain operator on a multivalued key does not match.
        (None, Some(ContextValue::Multi(_))) => false,
        (None, Some(ContextValue::Single(v))) => holds(v),
    }
}

/// A missing key: `...IfExists` holds, negated operators hold, positive ones fail.
fn absent(clause: &Clause, missing: &mut Missing) -> bool {
    if clause.if_exists {
        return true;
    }
    missing.0.push(clause.key.clone());
    clause.operator.negated()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(cond: Json, ctx: &Context) -> bool {
        let clauses = parse(&cond).unwrap();
        let mut m = Missing::default();
        clauses.iter().all(|c| evaluate(c, ctx, true, &mut m))
    }

    #[test]
    fn operators() {
        let mut ctx = Context::new();
        ctx.set("aws:SourceIp", "203.0.113.7")
            .set("aws:CurrentTime", "2026-11-23T19:00:00Z")
            .set("aws:username", "alice")
            .set("s3:max-keys", "10")
            .set("aws:SecureTransport", "false")
            .set_multi("aws:TagKeys", vec!["team".into(), "cost".into()]);
        assert!(check(
            json!({"IpAddress": {"aws:sourceip": "203.0.113.0/24"}}),
            &ctx
        ));
        assert!(!check(
            json!({"IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "2001:db8::/32"]}}),
            &ctx
        ));
        assert!(check(
            json!({"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}),
            &ctx
        ));
        assert!(check(
            json!({"DateLessThan": {"aws:CurrentTime": "2027-01-01T00:00:00Z"}}),
            &ctx
        ));
        assert!(check(
            json!({"DateGreaterThan": {"aws:CurrentTime": 1700000000}}),
            &ctx
        ));
        assert!(!check(
            json!({"StringLike": {"s3:prefix": "x"}, "Null": {"s3:prefix": "true"}}),
            &ctx
        ));
        assert!(check(json!({"Null": {"s3:prefix": "true"}}), &ctx));
        assert!(
            check(json!({"StringNotEquals": {"s3:prefix": "x"}}), &ctx),
            "negated on a missing key holds"
        );
        assert!(!check(json!({"StringEquals": {"s3:prefix": "x"}}), &ctx));
        assert!(check(
            json!({"StringEqualsIfExists": {"s3:prefix": "x"}}),
            &ctx
        ));
        assert!(check(
            json!({"NumericLessThanEquals": {"s3:max-keys": "10"}}),
            &ctx
        ));
        assert!(check(json!({"Bool": {"aws:SecureTransport": false}}), &ctx));
        assert!(check(
            json!({"StringEquals": {"aws:username": "${aws:username}"}}),
            &ctx
        ));
        assert!(check(
            json!({"ForAllValues:StringEquals": {"aws:TagKeys": ["team", "cost", "env"]}}),
            &ctx
        ));
        assert!(!check(
            json!({"ForAllValues:StringEquals": {"aws:TagKeys": ["team"]}}),
            &ctx
        ));
        assert!(check(
            json!({"ForAnyValue:StringEquals": {"aws:TagKeys": ["team"]}}),
            &ctx
        ));
        assert!(
            check(
                json!({"ForAllValues:StringEquals": {"aws:CalledVia": ["x"]}}),
                &ctx
            ),
            "missing key: vacuous truth"
        );
        assert!(!check(
            json!({"ForAnyValue:StringEquals": {"aws:CalledVia": ["x"]}}),
            &ctx
        ));
        assert!(
            !check(json!({"StringEquals": {"aws:TagKeys": "team"}}), &ctx),
            "plain operator on a multivalued key"
        );
        assert!(!check(
            json!({"ArnLike": {"aws:username": "arn:aws:iam::*:user/*"}}),
            &ctx
        ));
        assert!(parse(&json!({"StringEqualz": {"a": "b"}})).is_none());
        assert!(parse(&json!({"NullIfExists": {"a": "true"}})).is_none());
    }

    #[test]
    fn cidrs() {
        assert!(in_cidr(
            "2001:db8::1".parse().unwrap(),
            parse_cidr("2001:db8::/32").unwrap()
        ));
        assert!(!in_cidr(
            "2001:db9::1".parse().unwrap(),
            parse_cidr("2001:db8::/32").unwrap()
        ));
        assert!(in_cidr(
            "10.1.2.3".parse().unwrap(),
            parse_cidr("0.0.0.0/0").unwrap()
        ));
        assert!(parse_cidr("10.0.0.0/33").is_none());
    }
}
