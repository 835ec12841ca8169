//! A secret string (secret access keys, session secrets and tokens, private
//! keys) that never shows itself by accident.
//!
//! `Debug` and `Display` print `[REDACTED]`, so a secret inside a logged
//! struct, an error or a `{:?}` stays out of logs; the value is reached only
//! through [`Secret::expose`], which names every place that uses it. Stored as
//! the plain string (serde is transparent), so documents keep their format.

use serde::{Deserialize, Serialize};

/// A string that redacts itself in `Debug` and `Display`.
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself: for signing, verifying and the one response that
    /// hands it to its owner.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// True when `other` is this secret, compared in time independent of
    /// where they differ.
    pub fn matches(&self, other: &str) -> bool {
        let (a, b) = (self.0.as_bytes(), other.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[REDACTED]")
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[REDACTED]")
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    #[test]
    fn debug_and_display_redact_but_storage_keeps_the_value() {
        let s = Secret::new("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
        assert_eq!(format!("{s}"), "[REDACTED]");
        assert_eq!(format!("{s:?}"), "[REDACTED]");
        assert_eq!(format!("{:?}", Some(&s)), "Some([REDACTED])");
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(json, "\"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\"");
        let back: Secret = serde_json::from_str(&json).unwrap();
        assert_eq!(back, s);
        assert!(s.matches("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"));
        assert!(!s.matches("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEZ"));
        assert!(!s.matches("short"));
    }
}
