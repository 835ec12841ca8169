//! Typed, validated access to an operation's decoded parameters.
//!
//! Parameters arrive as a JSON tree (from the query decoder or a JSON body) with
//! AWS's member names; each accessor checks AWS's constraints and answers with
//! AWS's `ValidationError` wording, naming the member in lower camel case.

use crate::error::{Error, Result};
use serde_json::Value as Json;
use trailguard_model::cloudtrail::lower_camel;

/// An operation's parameters.
#[derive(Debug, Clone, Copy)]
pub struct Params<'a>(pub &'a Json);

/// A tag as IAM stores it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

/// Characters IAM allows in user, role, group, policy and profile names: `[\w+=,.@-]`.
pub fn is_iam_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_+=,.@-".contains(c)
}

/// The one input member that names an operation's resource. The operation's
/// resource function (what authorization decides on) and its handler (what it
/// acts on) both read it through this, so they cannot read different members.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Names(pub &'static str);

impl Names {
    /// The member, required (the handler's read).
    pub fn read<'a>(self, p: Params<'a>) -> Result<&'a str> {
        p.str(self.0)
    }

    /// The member if present (the resource function's read: a missing member
    /// is the handler's validation error, after authorization on `*`).
    pub fn read_opt<'a>(self, p: Params<'a>) -> Result<Option<&'a str>> {
        p.opt_str(self.0)
    }
}

impl<'a> Params<'a> {
    fn raw(&self, name: &str) -> Option<&'a Json> {
        self.0.get(name)
    }

    /// An optional string member.
    pub fn opt_str(&self, name: &str) -> Result<Option<&'a str>> {
        match self.raw(name) {
            None | Some(Json::Null) => Ok(None),
            Some(Json::String(s)) => Ok(Some(s)),
            Some(other) => Err(Error::constraint(
                &lower_camel(name),
                &other.to_string(),
                "Member must be a string",
            )),
        }
    }

    /// A required string member.
    pub fn str(&self, name: &str) -> Result<&'a str> {
        self.opt_str(name)?
            .ok_or_else(|| Error::missing(&lower_camel(name)))
    }

    /// A required string with a length range.
    pub fn str_len(&self, name: &str, min: usize, max: usize) -> Result<&'a str> {
        let v = self.str(name)?;
        check_len(name, v, min, max)?;
        Ok(v)
    }

    /// An optional string with a length range.
    pub fn opt_str_len(&self, name: &str, min: usize, max: usize) -> Result<Option<&'a str>> {
        let v = self.opt_str(name)?;
        if let Some(v) = v {
            check_len(name, v, min, max)?;
        }
        Ok(v)
    }

    /// A required IAM entity name (`[\w+=,.@-]+`, 1 to `max` characters).
    pub fn iam_name(&self, name: &str, max: usize) -> Result<&'a str> {
        let v = self.str_len(name, 1, max)?;
        check_iam_name(name, v)?;
        Ok(v)
    }

    /// An optional IAM entity name.
    pub fn opt_iam_name(&self, name: &str, max: usize) -> Result<Option<&'a str>> {
        match self.opt_str(name)? {
            None => Ok(None),
            Some(_) => self.iam_name(name, max).map(Some),
        }
    }

    /// An optional path, defaulting to `/`.
    pub fn path(&self, name: &str) -> Result<String> {
        let Some(p) = self.opt_str(name)? else {
            return Ok("/".into());
        };
        check_len(name, p, 1, 512)?;
        let valid = p == "/"
            || (p.len() >= 2
                && p.starts_with('/')
                && p.ends_with('/')
                && p.chars().all(|c| ('\u{21}'..='\u{7e}').contains(&c)));
        if !valid {
            return Err(Error::constraint(
                &lower_camel(name),
                p,
                "Member must satisfy regular expression pattern: (\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)",
            ));
        }
        Ok(p.to_string())
    }

    /// An optional path prefix for list filters (must start with `/`).
    pub fn path_prefix(&self) -> Result<Option<&'a str>> {
        let p = self.opt_str("PathPrefix")?;
        if let Some(p) = p {
            check_len("PathPrefix", p, 1, 512)?;
            if !p.starts_with('/') {
                return Err(Error::constraint(
                    "pathPrefix",
                    p,
                    "Member must satisfy regular expression pattern: \\u002F[\\u0021-\\u007F]*",
                ));
            }
        }
        Ok(p)
    }

    /// An optional integer within `[min, max]`.
    pub fn opt_int(&self, name: &str, min: i64, max: i64) -> Result<Option<i64>> {
        let n = match self.raw(name) {
            None | Some(Json::Null) => return Ok(None),
            Some(Json::String(s)) => s.trim().parse::<i64>().ok(),
            Some(Json::Number(n)) => n.as_i64(),
            Some(_) => None,
        };
        let Some(n) = n else {
            return Err(Error::constraint(
                &lower_camel(name),
                &self.raw(name).map(|v| v.to_string()).unwrap_or_default(),
                "Member must be a number",
            ));
        };
        if n < min {
            return Err(Error::constraint(
                &lower_camel(name),
                &n.to_string(),
                &format!("Member must have value greater than or equal to {min}"),
            ));
        }
        if n > max {
            return Err(Error::constraint(
                &lower_camel(name),
                &n.to_string(),
                &format!("Member must have value less than or equal to {max}"),
            ));
        }
        Ok(Some(n))
    }

    /// An optional boolean.
    pub fn opt_bool(&self, name: &str) -> Result<Option<bool>> {
        match self.raw(name) {
            None | Some(Json::Null) => Ok(None),
            Some(Json::Bool(b)) => Ok(Some(*b)),
            Some(Json::String(s)) if s.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(Json::String(s)) if s.eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(other) => Err(Error::constraint(
                &lower_camel(name),
                &other.to_string(),
                "Member must be a boolean",
            )),
        }
    }

    /// A list of strings (absent means empty).
    pub fn str_list(&self, name: &str) -> Result<Vec<&'a str>> {
        match self.raw(name) {
            None | Some(Json::Null) => Ok(Vec::new()),
            Some(Json::Array(items)) => items
                .iter()
                .map(|i| {
                    i.as_str().ok_or_else(|| {
                        Error::constraint(
                            &lower_camel(name),
                            &i.to_string(),
                            "Member must be a string",
                        )
                    })
                })
                .collect(),
            // A JSON protocol may send a lone string; the query decoder never does.
            Some(other) => Err(Error::constraint(
                &lower_camel(name),
                &other.to_string(),
                "Member must be a list",
            )),
        }
    }

    /// A `Tags` list, validated as IAM does (at most 50, key 1-128, value 0-256).
    pub fn tags(&self, name: &str) -> Result<Vec<Tag>> {
        let items = match self.raw(name) {
            None | Some(Json::Null) => return Ok(Vec::new()),
            Some(Json::Array(items)) => items,
            Some(other) => {
                return Err(Error::constraint(
                    &lower_camel(name),
                    &other.to_string(),
                    "Member must be a list",
                ));
            }
        };
        if items.len() > 50 {
            return Err(Error::constraint(
                &lower_camel(name),
                "[...]",
                "Member must have length less than or equal to 50",
            ));
        }
        let mut tags = Vec::with_capacity(items.len());
        for item in items {
            let p = Params(item);
            let key = p.str_len("Key", 1, 128).map_err(|_| {
                Error::constraint(
                    "tags.member.key",
                    p.opt_str("Key").ok().flatten().unwrap_or(""),
                    "Member must have length between 1 and 128",
                )
            })?;
            let value = p.opt_str("Value")?.unwrap_or("");
            if value.chars().count() > 256 {
                return Err(Error::constraint(
                    "tags.member.value",
                    value,
                    "Member must have length less than or equal to 256",
                ));
            }
            tags.push(Tag {
                key: key.to_string(),
                value: value.to_string(),
            });
        }
        let mut keys: Vec<String> = tags.iter().map(|t| t.key.to_lowercase()).collect();
        keys.sort();
        if keys.windows(2).any(|w| w.first() == w.get(1)) {
            return Err(Error::InvalidInput(
                "Duplicate tag keys found. Please note that Tag keys are case insensitive.".into(),
            ));
        }
        Ok(tags)
    }

    /// `MaxItems` (1 to 1000, default 100).
    pub fn max_items(&self) -> Result<usize> {
        let n = self.opt_int("MaxItems", 1, 1000)?.unwrap_or(100);
        Ok(usize::try_from(n).unwrap_or(100))
    }

    /// `Marker`, if any.
    pub fn marker(&self) -> Result<Option<&'a str>> {
        self.opt_str_len("Marker", 1, 320)
    }
}

fn check_len(name: &str, v: &str, min: usize, max: usize) -> Result<()> {
    let n = v.chars().count();
    if n < min {
        return Err(Error::constraint(
            &lower_camel(name),
            v,
            &format!("Member must have length greater than or equal to {min}"),
        ));
    }
    if n > max {
        return Err(Error::constraint(
            &lower_camel(name),
            v,
            &format!("Member must have length less than or equal to {max}"),
        ));
    }
    Ok(())
}

/// Checks an IAM entity name's characters.
pub fn check_iam_name(member: &str, v: &str) -> Result<()> {
    if v.chars().all(is_iam_name_char) {
        Ok(())
    } else {
        Err(Error::constraint(
            &lower_camel(member),
            v,
            "Member must satisfy regular expression pattern: [\\w+=,.@-]+",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_and_paths() {
        let j = json!({"UserName":"bad name","Path":"/a/b/","Bad":"a","MaxItems":"0"});
        let p = Params(&j);
        assert_eq!(
            p.iam_name("UserName", 64).unwrap_err().to_string(),
            "1 validation error detected: Value 'bad name' at 'userName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+"
        );
        assert_eq!(p.path("Path").unwrap(), "/a/b/");
        assert!(p.path("Bad").is_err());
        assert_eq!(p.path("Missing").unwrap(), "/");
        assert!(p.max_items().is_err());
        assert_eq!(
            p.str("Nope").unwrap_err().to_string(),
            "1 validation error detected: Value null at 'nope' failed to satisfy constraint: Member must not be null"
        );
    }

    #[test]
    fn tags_are_validated() {
        let j = json!({"Tags":[{"Key":"a","Value":"1"},{"Key":"A","Value":"2"}]});
        assert!(matches!(
            Params(&j).tags("Tags"),
            Err(Error::InvalidInput(_))
        ));
        let j = json!({"Tags":[{"Key":"a"}]});
        assert_eq!(
            Params(&j).tags("Tags").unwrap(),
            vec![Tag {
                key: "a".into(),
                value: "".into()
            }]
        );
    }
}
