//! The awsQuery request decoder.
//!
//! Form-encoded (and URL query) parameters such as `Tags.member.2.Key=team` become a
//! nested JSON value (`{"Tags":[..., {"Key":"team"}]}`) so that services read query
//! and JSON protocols the same way. Values stay strings; services coerce them
//! against their own rules and report AWS's validation errors. Names, depth and
//! member count are bounded by [`crate::limits`]; past them the request is
//! `MalformedQueryString`.

use crate::limits::{self, MemberBudget};
use serde_json::{Map, Value as Json};
use std::collections::BTreeMap;
use trailguard_model::error::quote;

/// A decoded query-protocol request.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryRequest {
    pub action: String,
    pub version: Option<String>,
    /// Every other parameter, nested.
    pub params: Json,
}

/// Why a query request could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryError {
    /// No `Action` parameter.
    MissingAction,
    /// Structurally contradictory parameters (`A=1` and `A.member.1=2`).
    Malformed(String),
}

#[derive(Debug)]
enum Node {
    Leaf(String),
    Map(BTreeMap<String, Node>),
    List(BTreeMap<u32, Node>),
}

/// Decodes the URL query string and the form body (either may be empty).
///
/// Names are bounded before they are split ([`limits::MAX_NAME_LEN`]), and the
/// tree they build by depth and member count, so the recursive conversion and
/// drop of the tree stay shallow whatever the input.
pub fn decode(url_query: &str, form_body: &[u8]) -> Result<QueryRequest, QueryError> {
    let mut action = None;
    let mut version = None;
    let mut root = Node::Map(BTreeMap::new());
    let mut budget = MemberBudget::default();
    let pairs =
        form_urlencoded::parse(url_query.as_bytes()).chain(form_urlencoded::parse(form_body));
    for (key, value) in pairs {
        match key.as_ref() {
            "Action" => action = Some(value.into_owned()),
            "Version" => version = Some(value.into_owned()),
            k if k.starts_with("X-Amz-") => {}
            k => insert(&mut root, k, value.into_owned(), &mut budget)?,
        }
    }
    let action = action
        .filter(|a| !a.is_empty())
        .ok_or(QueryError::MissingAction)?;
    Ok(QueryRequest {
        action,
        version,
        params: to_json(root),
    })
}

fn malformed(key: &str) -> QueryError {
    QueryError::Malformed(format!("Invalid parameter name: {}", quote(key)))
}

fn insert(
    root: &mut Node,
    key: &str,
    value: String,
    budget: &mut MemberBudget,
) -> Result<(), QueryError> {
    if key.len() > limits::MAX_NAME_LEN {
        return Err(QueryError::Malformed(limits::name_too_long()));
    }
    let segments: Vec<&str> = key.split('.').collect();
    if segments.iter().any(|s| s.is_empty()) {
        return Err(malformed(key));
    }
    let mut node = root;
    let mut i = 0;
    // Each step into a member or list element is one level deeper.
    let mut depth = 0;
    while let Some(seg) = segments.get(i) {
        depth += 1;
        if depth > limits::MAX_DEPTH {
            return Err(QueryError::Malformed(limits::too_deep()));
        }
        let is_last = i + 1 == segments.len();
        // `member.N` and `entry.N` address list elements.
        let list_index = if matches!(*seg, "member" | "entry") {
            segments.get(i + 1).and_then(|n| n.parse::<u32>().ok())
        } else {
            None
        };
        if let Some(index) = list_index {
            if !(1..=limits::MAX_LIST_INDEX).contains(&index) {
                return Err(malformed(key));
            }
            if let Node::Map(m) = node
                && m.is_empty()
            {
                *node = Node::List(BTreeMap::new());
            }
            let Node::List(items) = node else {
                return Err(malformed(key));
            };
            let last = i + 2 == segments.len();
            let child = match items.entry(index) {
                std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::btree_map::Entry::Vacant(e) => {
                    if !budget.take() {
                        return Err(QueryError::Malformed(limits::too_many_members()));
                    }
                    e.insert(if last {
                        Node::Leaf(String::new())
                    } else {
                        Node::Map(BTreeMap::new())
                    })
                }
            };
            if last {
                *child = Node::Leaf(value);
                return Ok(());
            }
            node = child;
            i += 2;
            continue;
        }
        let Node::Map(m) = node else {
            return Err(malformed(key));
        };
        if is_last {
            if m.contains_key(*seg) {
                return Err(malformed(key));
            }
            if !budget.take() {
                return Err(QueryError::Malformed(limits::too_many_members()));
            }
            m.insert((*seg).to_string(), Node::Leaf(value));
            return Ok(());
        }
        node = match m.entry((*seg).to_string()) {
            std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::btree_map::Entry::Vacant(e) => {
                if !budget.take() {
                    return Err(QueryError::Malformed(limits::too_many_members()));
                }
                e.insert(Node::Map(BTreeMap::new()))
            }
        };
        i += 1;
    }
    Ok(())
}

/// Recursive, which is safe: [`insert`] never builds a tree deeper than
/// [`limits::MAX_DEPTH`].
fn to_json(node: Node) -> Json {
    match node {
        Node::Leaf(s) => Json::String(s),
        Node::Map(m) => Json::Object(
            m.into_iter()
                .map(|(k, v)| (k, to_json(v)))
                .collect::<Map<_, _>>(),
        ),
        Node::List(items) => Json::Array(items.into_values().map(to_json).collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nests_members() {
        let r = decode(
            "",
            b"Action=CreateUser&Version=2010-05-08&UserName=bob&Tags.member.1.Key=a&Tags.member.1.Value=1&Tags.member.2.Key=b&Tags.member.2.Value=2&PolicyArns.member.1=arn%3Ax",
        )
        .unwrap();
        assert_eq!(r.action, "CreateUser");
        assert_eq!(r.version.as_deref(), Some("2010-05-08"));
        assert_eq!(
            r.params,
            json!({"PolicyArns":["arn:x"],"Tags":[{"Key":"a","Value":"1"},{"Key":"b","Value":"2"}],"UserName":"bob"})
        );
    }

    #[test]
    fn rejects_contradictions_and_missing_action() {
        assert_eq!(
            decode("", b"UserName=x").unwrap_err(),
            QueryError::MissingAction
        );
        assert!(matches!(
            decode("", b"Action=X&A=1&A.member.1=2"),
            Err(QueryError::Malformed(_))
        ));
        assert!(matches!(
            decode("", b"Action=X&A.member.0=2"),
            Err(QueryError::Malformed(_))
        ));
        assert!(matches!(
            decode("", b"Action=X&A..B=2"),
            Err(QueryError::Malformed(_))
        ));
    }

    #[test]
    fn deep_wide_and_long_names_are_refused_not_overflowed() {
        // The red team's 10 KB request: one name of 5,000 segments.
        let deep = format!("Action=X&{}=1", vec!["a"; 5000].join("."));
        assert_eq!(
            decode("", deep.as_bytes()).unwrap_err(),
            QueryError::Malformed(limits::name_too_long())
        );
        // Within the name length but past the depth.
        let nested = format!("Action=X&{}=1", vec!["a"; limits::MAX_DEPTH + 1].join("."));
        assert_eq!(
            decode("", nested.as_bytes()).unwrap_err(),
            QueryError::Malformed(limits::too_deep())
        );
        let ok = format!("Action=X&{}=1", vec!["a"; limits::MAX_DEPTH].join("."));
        assert!(decode("", ok.as_bytes()).is_ok());
        // Deep list nesting counts two segments per level.
        let lists = format!(
            "Action=X&{}=1",
            vec!["member.1"; limits::MAX_DEPTH + 1].join(".")
        );
        assert_eq!(
            decode("", lists.as_bytes()).unwrap_err(),
            QueryError::Malformed(limits::too_deep())
        );
        let mut wide = String::from("Action=X");
        for n in 0..=limits::MAX_MEMBERS {
            wide.push_str(&format!("&P{n}=1"));
        }
        assert_eq!(
            decode("", wide.as_bytes()).unwrap_err(),
            QueryError::Malformed(limits::too_many_members())
        );
        // An error quotes a bounded part of the name.
        let long = format!("Action=X&{}..a=1", "b".repeat(400));
        match decode("", long.as_bytes()) {
            Err(QueryError::Malformed(m)) => assert!(m.len() < 300, "{m}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn url_query_and_body_merge() {
        let r = decode(
            "Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Date=1",
            b"",
        )
        .unwrap();
        assert_eq!(r.action, "GetCallerIdentity");
        assert_eq!(r.params, json!({}));
    }
}
