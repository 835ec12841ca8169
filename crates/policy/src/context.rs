//! The request context: condition keys and their values.
//!
//! Key names compare case-insensitively, as IAM's do, so they are stored
//! lower-cased. A key is single-valued or multivalued (`aws:TagKeys`,
//! `aws:CalledVia`); the set operators treat the two differently.

use std::collections::HashMap;

/// A context value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContextValue {
    Single(String),
    Multi(Vec<String>),
}

impl ContextValue {
    /// The values, as a slice-like list.
    pub fn values(&self) -> Vec<&str> {
        match self {
            ContextValue::Single(s) => vec![s.as_str()],
            ContextValue::Multi(v) => v.iter().map(String::as_str).collect(),
        }
    }
}

/// Condition keys and values for one request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    values: HashMap<String, ContextValue>,
}

impl Context {
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets a single-valued key.
    pub fn set(&mut self, key: &str, value: impl Into<String>) -> &mut Self {
        self.values
            .insert(key.to_ascii_lowercase(), ContextValue::Single(value.into()));
        self
    }

    /// Sets a multivalued key.
    pub fn set_multi(&mut self, key: &str, values: Vec<String>) -> &mut Self {
        self.values
            .insert(key.to_ascii_lowercase(), ContextValue::Multi(values));
        self
    }

    /// Looks a key up, case-insensitively.
    pub fn get(&self, key: &str) -> Option<&ContextValue> {
        if key.bytes().any(|b| b.is_ascii_uppercase()) {
            self.values.get(&key.to_ascii_lowercase())
        } else {
            self.values.get(key)
        }
    }

    /// A single value (the first of a multivalued key), for policy variables.
    pub fn single(&self, key: &str) -> Option<&str> {
        match self.get(key)? {
            ContextValue::Single(s) => Some(s),
            ContextValue::Multi(_) => None,
        }
    }

    /// Every key present, lower-cased.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.values.keys().map(String::as_str)
    }
}
