//! Policy documents: the JSON grammar, parsed into typed statements.

use crate::condition::{self, Clause};
use crate::matching::action_matches;
use serde_json::Value as Json;

/// Why a document is not a valid policy; the message is AWS's `MalformedPolicyDocument` text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError(pub String);

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Allow,
    Deny,
}

/// `Principal` / `NotPrincipal` contents: `"*"` or a map of kind to values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrincipalSpec {
    Any,
    /// `(kind, value)` pairs, kind being `AWS`, `Service` or `Federated`.
    Named(Vec<(String, String)>),
}

/// One statement.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    pub sid: Option<String>,
    pub effect: Effect,
    /// Action patterns, and whether they are `NotAction`.
    pub actions: Vec<String>,
    pub not_action: bool,
    pub resources: Vec<String>,
    pub not_resource: bool,
    pub principal: Option<PrincipalSpec>,
    pub not_principal: bool,
    /// The parsed `Condition` block (empty when there is none).
    pub conditions: Vec<Clause>,
    /// The raw `Condition` block, for listings of context keys.
    pub condition: Option<Json>,
}

impl Statement {
    /// Whether the statement's actions cover `action`.
    pub fn covers_action(&self, action: &str) -> bool {
        self.actions.iter().any(|a| action_matches(a, action)) != self.not_action
    }
}

/// A parsed policy document.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyDocument {
    pub version: Option<String>,
    pub statements: Vec<Statement>,
}

fn syntax() -> ParseError {
    ParseError("Syntax errors in policy.".into())
}

fn string_or_list(v: &Json) -> Result<Vec<String>, ParseError> {
    match v {
        Json::String(s) => Ok(vec![s.clone()]),
        Json::Array(items) => items
            .iter()
            .map(|i| i.as_str().map(str::to_string).ok_or_else(syntax))
            .collect(),
        _ => Err(syntax()),
    }
}

fn principal(v: &Json) -> Result<PrincipalSpec, ParseError> {
    match v {
        Json::String(s) if s == "*" => Ok(PrincipalSpec::Any),
        Json::Object(m) => {
            let mut out = Vec::new();
            for (kind, values) in m {
                if !matches!(
                    kind.as_str(),
                    "AWS" | "Service" | "Federated" | "CanonicalUser"
                ) {
                    return Err(syntax());
                }
                for value in string_or_list(values)? {
                    out.push((kind.clone(), value));
                }
            }
            Ok(PrincipalSpec::Named(out))
        }
        _ => Err(syntax()),
    }
}

impl PolicyDocument {
    /// Parses and checks the grammar.
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        let json: Json = serde_json::from_str(text).map_err(|_| syntax())?;
        let Json::Object(top) = json else {
            return Err(syntax());
        };
        for key in top.keys() {
            if !matches!(key.as_str(), "Version" | "Id" | "Statement") {
                return Err(syntax());
            }
        }
        let version = match top.get("Version") {
            None => None,
            Some(Json::String(v)) if v == "2012-10-17" || v == "2008-10-17" => Some(v.clone()),
            Some(_) => return Err(syntax()),
        };
        let raw_statements = match top.get("Statement") {
            Some(Json::Array(items)) if !items.is_empty() => items.clone(),
            Some(obj @ Json::Object(_)) => vec![obj.clone()],
            _ => return Err(syntax()),
        };
        let mut statements = Vec::with_capacity(raw_statements.len());
        for raw in raw_statements {
            let Json::Object(st) = raw else {
                return Err(syntax());
            };
            for key in st.keys() {
                if !matches!(
                    key.as_str(),
                    "Sid"
                        | "Effect"
                        | "Action"
                        | "NotAction"
                        | "Resource"
                        | "NotResource"
                        | "Principal"
                        | "NotPrincipal"
                        | "Condition"
                ) {
                    return Err(syntax());
                }
            }
            let effect = match st.get("Effect").and_then(Json::as_str) {
                Some("Allow") => Effect::Allow,
                Some("Deny") => Effect::Deny,
                _ => return Err(syntax()),
            };
            let (actions, not_action) = match (st.get("Action"), st.get("NotAction")) {
                (Some(a), None) => (string_or_list(a)?, false),
                (None, Some(a)) => (string_or_list(a)?, true),
                (None, None) => {
                    return Err(ParseError("Policy statement must contain actions.".into()));
                }
                _ => return Err(syntax()),
            };
            if actions.is_empty() {
                return Err(ParseError("Policy statement must contain actions.".into()));
            }
            let (resources, not_resource) = match (st.get("Resource"), st.get("NotResource")) {
                (Some(r), None) => (string_or_list(r)?, false),
                (None, Some(r)) => (string_or_list(r)?, true),
                (None, None) => (Vec::new(), false),
                _ => return Err(syntax()),
            };
            let (principal, not_principal) = match (st.get("Principal"), st.get("NotPrincipal")) {
                (Some(p), None) => (Some(principal(p)?), false),
                (None, Some(p)) => (Some(principal(p)?), true),
                (None, None) => (None, false),
                _ => return Err(syntax()),
            };
            let (condition, conditions) = match st.get("Condition") {
                None => (None, Vec::new()),
                Some(c @ Json::Object(_)) => {
                    (Some(c.clone()), condition::parse(c).ok_or_else(syntax)?)
                }
                Some(_) => return Err(syntax()),
            };
            let sid = match st.get("Sid") {
                None => None,
                Some(Json::String(s)) => Some(s.clone()),
                Some(_) => return Err(syntax()),
            };
            statements.push(Statement {
                sid,
                effect,
                actions,
                not_action,
                resources,
                not_resource,
                principal,
                not_principal,
                conditions,
                condition,
            });
        }
        let mut sids: Vec<&str> = statements.iter().filter_map(|s| s.sid.as_deref()).collect();
        sids.sort_unstable();
        if sids.windows(2).any(|w| w.first() == w.get(1)) {
            return Err(ParseError(
                "Statement IDs (SID) in a single policy must be unique.".into(),
            ));
        }
        Ok(Self {
            version,
            statements,
        })
    }

    /// A document with no statements: it allows nothing (a boundary or session
    /// policy that no longer exists).
    pub fn empty() -> Self {
        Self {
            version: None,
            statements: Vec::new(),
        }
    }

    /// Whether policy variables are resolved (only in version 2012-10-17).
    pub fn variables_enabled(&self) -> bool {
        self.version.as_deref() == Some("2012-10-17")
    }

    /// The condition keys the document refers to, in conditions and in policy
    /// variables, as written (first spelling wins), sorted case-insensitively.
    pub fn context_keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = Vec::new();
        let mut add = |k: &str| {
            if !keys.iter().any(|have| have.eq_ignore_ascii_case(k)) {
                keys.push(k.to_string());
            }
        };
        for st in &self.statements {
            for c in &st.conditions {
                add(&c.key);
                for v in &c.values {
                    for var in variable_names(v) {
                        add(var);
                    }
                }
            }
            if self.variables_enabled() {
                for r in &st.resources {
                    for var in variable_names(r) {
                        add(var);
                    }
                }
            }
        }
        keys.sort_by_key(|k| k.to_ascii_lowercase());
        keys
    }

    /// Checks action names (`*` or `vendor:pattern`) and IAM's Sid rule.
    fn validate_actions(&self) -> Result<(), ParseError> {
        for st in &self.statements {
            if st
                .sid
                .as_deref()
                .is_some_and(|sid| !sid.chars().all(|c| c.is_ascii_alphanumeric()))
            {
                return Err(ParseError(
                    "Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*"
                        .into(),
                ));
            }
            for a in &st.actions {
                if a == "*" {
                    continue;
                }
                let mut parts = a.split(':');
                let vendor = parts.next().unwrap_or_default();
                let Some(_) = parts.next() else {
                    return Err(ParseError(
                        "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.".into(),
                    ));
                };
                if parts.next().is_some() {
                    return Err(ParseError(
                        "Actions/Condition can contain only one colon.".into(),
                    ));
                }
                if vendor.is_empty()
                    || !vendor.chars().all(|c| {
                        c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '*' || c == '?'
                    })
                {
                    return Err(ParseError(format!("Vendor {vendor} is not valid")));
                }
            }
        }
        Ok(())
    }

    /// Checks resources: `*` or an ARN with six parts in a known partition.
    fn validate_resources(&self) -> Result<(), ParseError> {
        for st in &self.statements {
            for r in &st.resources {
                if r == "*" {
                    continue;
                }
                let parts: Vec<&str> = r.splitn(6, ':').collect();
                if parts.len() < 6 || parts.first() != Some(&"arn") {
                    return Err(ParseError(format!(
                        "Resource {r} must be in ARN format or \"*\"."
                    )));
                }
                let partition = parts.get(1).copied().unwrap_or_default();
                if !matches!(partition, "aws" | "aws-cn" | "aws-us-gov" | "*") {
                    return Err(ParseError(format!(
                        "Partition \"{partition}\" is not valid for resource \"{r}\"."
                    )));
                }
            }
        }
        Ok(())
    }

    /// Checks the rules for identity-based (permissions) policies.
    pub fn validate_identity(&self) -> Result<(), ParseError> {
        self.validate_actions()?;
        self.validate_resources()?;
        for st in &self.statements {
            if st.principal.is_some() {
                return Err(ParseError(
                    "Policy document should not specify a principal.".into(),
                ));
            }
            if st.resources.is_empty() {
                return Err(ParseError(
                    "Policy statement must contain resources.".into(),
                ));
            }
        }
        Ok(())
    }

    /// Checks the rules for role trust policies.
    pub fn validate_trust(&self) -> Result<(), ParseError> {
        self.validate_actions()?;
        for st in &self.statements {
            if st.principal.is_none() {
                return Err(ParseError("Missing required field Principal".into()));
            }
            if st.not_principal {
                return Err(ParseError(
                    "AssumeRole policy must not contain NotPrincipal field.".into(),
                ));
            }
            if !st.resources.is_empty() || st.not_resource {
                return Err(ParseError("Has prohibited field Resource".into()));
            }
        }
        Ok(())
    }
}

/// The keys named by `${...}` variables in a value (escapes excluded).
fn variable_names(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(start) = rest.find("${") {
        let after = rest.get(start + 2..).unwrap_or_default();
        let Some(end) = after.find('}') else { break };
        let inner = after.get(..end).unwrap_or_default();
        let key = inner.split(',').next().unwrap_or_default().trim();
        if !matches!(key, "*" | "?" | "$" | "") {
            out.push(key);
        }
        rest = after.get(end + 1..).unwrap_or_default();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grammar() {
        let p = PolicyDocument::parse(
            r#"{"Version":"2012-10-17","Statement":[{"Sid":"A","Effect":"Allow","NotAction":["s3:*"],"Resource":"*"}]}"#,
        )
        .unwrap();
        assert!(p.statements[0].not_action);
        assert!(p.validate_identity().is_ok());
        for bad in [
            "not json",
            "[]",
            r#"{"Statement":[]}"#,
            r#"{"Version":"2013-01-01","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#,
            r#"{"Statement":{"Effect":"allow","Action":"*","Resource":"*"}}"#,
            r#"{"Statement":{"Effect":"Allow","Action":"*","NotAction":"x","Resource":"*"}}"#,
            r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Bogus":1}}"#,
        ] {
            assert!(PolicyDocument::parse(bad).is_err(), "{bad}");
        }
        let dup = PolicyDocument::parse(
            r#"{"Statement":[{"Sid":"a","Effect":"Allow","Action":"*","Resource":"*"},{"Sid":"a","Effect":"Allow","Action":"*","Resource":"*"}]}"#,
        );
        assert_eq!(
            dup.unwrap_err().0,
            "Statement IDs (SID) in a single policy must be unique."
        );
        let trust = PolicyDocument::parse(
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"Service":"lex.amazonaws.com"},"Action":"sts:AssumeRole"}}"#,
        )
        .unwrap();
        assert!(trust.validate_trust().is_ok());
        let keyed = PolicyDocument::parse(
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b/${aws:username}/*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"},"StringEquals":{"aws:PrincipalTag/team":"${aws:ResourceTag/team}"}}}}"#,
        )
        .unwrap();
        assert_eq!(
            keyed.context_keys(),
            vec![
                "aws:PrincipalTag/team",
                "aws:ResourceTag/team",
                "aws:SourceIp",
                "aws:username"
            ]
        );
        assert!(trust.validate_identity().is_err());
        let msg = |doc: &str| {
            PolicyDocument::parse(doc)
                .unwrap()
                .validate_identity()
                .unwrap_err()
                .0
        };
        assert_eq!(
            msg(
                r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"CreateUser","Resource":"*"}}"#
            ),
            "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."
        );
        assert!(msg(
            r#"{"Version":"2012-10-17","Statement":{"Sid":"not ok","Effect":"Allow","Action":"iam:*","Resource":"*"}}"#
        )
        .starts_with("Statement IDs (SID) must be alpha-numeric."));
        assert_eq!(
            msg(
                r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"iam:a:b","Resource":"*"}}"#
            ),
            "Actions/Condition can contain only one colon."
        );
        assert_eq!(
            msg(
                r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"iam:*","Resource":"bucket"}}"#
            ),
            "Resource bucket must be in ARN format or \"*\"."
        );
        assert_eq!(
            msg(
                r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"iam:*","Resource":"arn:aws-xx:iam::1:user/a"}}"#
            ),
            "Partition \"aws-xx\" is not valid for resource \"arn:aws-xx:iam::1:user/a\"."
        );
    }
}
