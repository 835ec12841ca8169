//! The protocol-neutral value tree that operations return.
//!
//! One output value feeds both the wire encoder (query XML, JSON) and the audit
//! recorder (CloudTrail `responseElements`), so the two can never disagree about
//! what a call returned. [`Value::Sensitive`] marks what the wire carries but
//! CloudTrail must not (secret access keys, passwords).

use time::OffsetDateTime;

/// An API value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Absent: omitted from every rendering.
    Null,
    Str(String),
    Int(i64),
    /// A double (GuardDuty severities).
    Float(f64),
    Bool(bool),
    Time(OffsetDateTime),
    /// A list; query XML renders each element as `<member>`.
    List(Vec<Value>),
    /// A list whose elements query XML names differently (Redshift's `<Cluster>`).
    ListOf(String, Vec<Value>),
    /// A structure with members in declaration order.
    Struct(Vec<(String, Value)>),
    /// A map; query XML renders each pair as `<entry><key/><value/></entry>`.
    Map(Vec<(String, Value)>),
    /// A value sent to the caller but kept out of the audit record.
    Sensitive(Box<Value>),
    /// Raw bytes (synthesized audio): a REST payload as is, base64 elsewhere,
    /// never in the audit record.
    Blob(Vec<u8>),
}

impl Value {
    /// An empty structure, to fill with [`Value::with`].
    pub fn structure() -> Self {
        Value::Struct(Vec::new())
    }

    /// Adds a member to a structure (no-op on other variants); `Null` members are kept
    /// out so callers can pass optional values directly.
    #[must_use]
    pub fn with(mut self, name: &str, value: impl Into<Value>) -> Self {
        let value = value.into();
        if let (Value::Struct(members), false) = (&mut self, matches!(value, Value::Null)) {
            members.push((name.to_string(), value));
        }
        self
    }

    /// Looks a member up by name.
    pub fn get(&self, name: &str) -> Option<&Value> {
        match self {
            Value::Struct(members) => members.iter().find(|(k, _)| k == name).map(|(_, v)| v),
            Value::Sensitive(inner) => inner.get(name),
            _ => None,
        }
    }

    /// A JSON document as a value: objects become structures (members in the
    /// document's order), numbers without a fraction become `Int`, other numbers
    /// their decimal text, `null` is absent.
    pub fn from_json(j: &serde_json::Value) -> Self {
        use serde_json::Value as Json;
        match j {
            Json::Null => Value::Null,
            Json::Bool(b) => Value::Bool(*b),
            Json::Number(n) => match (n.as_i64(), n.as_f64()) {
                (Some(i), _) => Value::Int(i),
                (None, Some(f)) => Value::Float(f),
                (None, None) => Value::Str(n.to_string()),
            },
            Json::String(s) => Value::Str(s.clone()),
            Json::Array(items) => Value::List(items.iter().map(Value::from_json).collect()),
            Json::Object(m) => Value::Struct(
                m.iter()
                    .map(|(k, v)| (k.clone(), Value::from_json(v)))
                    .collect(),
            ),
        }
    }

    /// The string inside a `Str`.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Str(s)
    }
}
impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Str(s.to_string())
    }
}
impl From<&String> for Value {
    fn from(s: &String) -> Self {
        Value::Str(s.clone())
    }
}
impl From<i64> for Value {
    fn from(n: i64) -> Self {
        Value::Int(n)
    }
}
impl From<u32> for Value {
    fn from(n: u32) -> Self {
        Value::Int(i64::from(n))
    }
}
impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}
impl From<OffsetDateTime> for Value {
    fn from(t: OffsetDateTime) -> Self {
        Value::Time(t)
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}
impl<T: Into<Value>> From<Vec<T>> for Value {
    fn from(v: Vec<T>) -> Self {
        Value::List(v.into_iter().map(Into::into).collect())
    }
}
