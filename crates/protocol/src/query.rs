//! The awsQuery request decoder.
//!
//! Form-encoded (and URL query) parameters such as `Tags.member.2.Key=team` become a
//! nested JSON value (`{"Tags":[..., {"Key":"team"}]}`) so that services read query
//! and JSON protocols the same way. Values stay strings; services coerce them
//! against their own rules and report AWS's validation errors.

use serde_json::{Map, Value as Json};
use std::collections::BTreeMap;

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

/// Most list indexes a request may use; bounds memory on hostile input.
const MAX_INDEX: u32 = 10_000;

/// Decodes the URL query string and the form body (either may be empty).
pub fn decode(url_query: &str, form_body: &[u8]) -> Result<QueryRequest, QueryError> {
    let mut action = None;
    let mut version = None;
    let mut root = Node::Map(BTreeMap::new());
    let pairs =
        form_urlencoded::parse(url_query.as_bytes()).chain(form_urlencoded::parse(form_body));
    for (key, value) in pairs {
        match key.as_ref() {
            "Action" => action = Some(value.into_owned()),
            "Version" => version = Some(value.into_owned()),
            k if k.starts_with("X-Amz-") => {}
            k => insert(&mut root, k, value.into_owned())?,
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
    QueryError::Malformed(format!("Invalid parameter name: {key}"))
}

fn insert(root: &mut Node, key: &str, value: String) -> Result<(), QueryError> {
    let segments: Vec<&str> = key.split('.').collect();
    if segments.iter().any(|s| s.is_empty()) {
        return Err(malformed(key));
    }
    let mut node = root;
    let mut i = 0;
    while let Some(seg) = segments.get(i) {
        let is_last = i + 1 == segments.len();
        // `member.N` and `entry.N` address list elements.
        let list_index = if matches!(*seg, "member" | "entry") {
            segments.get(i + 1).and_then(|n| n.parse::<u32>().ok())
        } else {
            None
        };
        if let Some(index) = list_index {
            if !(1..=MAX_INDEX).contains(&index) {
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
            let child = items.entry(index).or_insert_with(|| {
                if last {
                    Node::Leaf(String::new())
                } else {
                    Node::Map(BTreeMap::new())
                }
            });
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
            m.insert((*seg).to_string(), Node::Leaf(value));
            return Ok(());
        }
        node = m
            .entry((*seg).to_string())
            .or_insert_with(|| Node::Map(BTreeMap::new()));
        i += 1;
    }
    Ok(())
}

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
