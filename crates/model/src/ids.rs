//! Injected id generation, in AWS's formats.
//!
//! IAM unique ids are a four-letter prefix (`AIDA` user, `AROA` role, `AGPA` group,
//! `ANPA` policy, `AIPA` instance profile) and 17 characters of base32; access key
//! ids are `AKIA` (long-term) or `ASIA` (session) and 16 more. Tests use [`SeqIds`]
//! so golden files stay stable.

use rand::Rng;
use std::sync::atomic::{AtomicU64, Ordering};

const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const BASE64ISH: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// A source of random-looking identifiers and secrets.
pub trait IdGen: Send + Sync {
    /// `len` characters of upper-case base32 (`A-Z2-7`).
    fn base32(&self, len: usize) -> String;
    /// `len` characters of base64's alphabet, for secrets and tokens.
    fn secret(&self, len: usize) -> String;
    /// A version-4 style GUID, lower-case with dashes.
    fn uuid(&self) -> String;

    /// An IAM unique id: `prefix` plus 17 base32 characters.
    fn unique_id(&self, prefix: &str) -> String {
        format!("{prefix}{}", self.base32(17))
    }
    /// An access key id: `prefix` (`AKIA`/`ASIA`) plus 16 base32 characters.
    fn access_key_id(&self, prefix: &str) -> String {
        format!("{prefix}{}", self.base32(16))
    }
    /// A 40-character secret access key.
    fn secret_access_key(&self) -> String {
        self.secret(40)
    }
    /// A 12-digit account id.
    fn account_id(&self) -> String;
}

/// `len` random characters of `alphabet`.
fn pick(alphabet: &[u8], len: usize) -> String {
    let mut rng = rand::rng();
    (0..len)
        .map(|_| {
            let i = rng.random_range(0..alphabet.len());
            char::from(alphabet.get(i).copied().unwrap_or(b'A'))
        })
        .collect()
}

/// Ids from the operating system's random generator.
#[derive(Debug, Default, Clone, Copy)]
pub struct RandomIds;

impl IdGen for RandomIds {
    fn base32(&self, len: usize) -> String {
        pick(BASE32, len)
    }
    fn secret(&self, len: usize) -> String {
        pick(BASE64ISH, len)
    }
    fn uuid(&self) -> String {
        uuid::Uuid::new_v4().to_string()
    }
    fn account_id(&self) -> String {
        let mut rng = rand::rng();
        // AWS account ids never start with 0 in practice; keep the first digit non-zero.
        format!(
            "{}{:011}",
            rng.random_range(1..10),
            rng.random_range(0..100_000_000_000u64)
        )
    }
}

/// Deterministic ids for tests: a counter rendered in each alphabet.
#[derive(Debug, Default)]
pub struct SeqIds(AtomicU64);

impl SeqIds {
    fn next(&self) -> u64 {
        self.0.fetch_add(1, Ordering::Relaxed) + 1
    }
    fn render(&self, alphabet: &[u8], len: usize) -> String {
        let mut n = self.next();
        let mut out = vec![alphabet.first().copied().unwrap_or(b'A'); len];
        for slot in out.iter_mut().rev() {
            let digit = usize::try_from(n % alphabet.len() as u64).unwrap_or(0);
            *slot = alphabet.get(digit).copied().unwrap_or(b'A');
            n /= alphabet.len() as u64;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
}

impl IdGen for SeqIds {
    fn base32(&self, len: usize) -> String {
        self.render(BASE32, len)
    }
    fn secret(&self, len: usize) -> String {
        self.render(BASE64ISH, len)
    }
    fn uuid(&self) -> String {
        format!("00000000-0000-4000-8000-{:012x}", self.next())
    }
    fn account_id(&self) -> String {
        format!("{:012}", 100_000_000_000 + self.next())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        let ids = RandomIds;
        let u = ids.unique_id("AIDA");
        assert_eq!(u.len(), 21);
        assert!(u.starts_with("AIDA"));
        assert!(u.bytes().all(|b| BASE32.contains(&b)));
        assert_eq!(ids.access_key_id("AKIA").len(), 20);
        assert_eq!(ids.secret_access_key().len(), 40);
        let acct = ids.account_id();
        assert_eq!(acct.len(), 12);
        assert!(acct.bytes().all(|b| b.is_ascii_digit()));
    }

    #[test]
    fn sequential_ids_are_distinct_and_stable() {
        let ids = SeqIds::default();
        assert_eq!(ids.unique_id("AIDA"), "AIDAAAAAAAAAAAAAAAAAB");
        assert_eq!(ids.unique_id("AIDA"), "AIDAAAAAAAAAAAAAAAAAC");
        assert_ne!(ids.uuid(), ids.uuid());
    }
}
