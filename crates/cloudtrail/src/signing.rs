//! Digest signing keys: RSA-2048, one current key per account and region, valid
//! for 30 days and then replaced; old keys stay listable so older digests keep
//! verifying. `ListPublicKeys` returns the public halves as PKCS#1 DER, which is
//! what `aws cloudtrail validate-logs` loads.

use md5::{Digest as _, Md5};
use rsa::pkcs1::{DecodeRsaPrivateKey, EncodeRsaPrivateKey, EncodeRsaPublicKey};
use rsa::pkcs1v15::SigningKey as Pkcs1Signer;
use rsa::sha2::Sha256;
use rsa::signature::{SignatureEncoding, Signer};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use trailguard_core::env::Env;
use trailguard_core::error::{Error, Result};

const NS_KEY: &str = "cloudtrail.key";
const VALIDITY: Duration = Duration::days(30);

/// A signing key pair.
#[derive(Clone, Serialize, Deserialize)]
pub struct SigningKey {
    /// PKCS#1 DER of the private key, hex.
    private_der: trailguard_model::Secret,
    /// PKCS#1 DER of the public key, hex.
    pub public_der: String,
    pub fingerprint: String,
    #[serde(with = "time::serde::rfc3339")]
    pub valid_from: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub valid_to: OffsetDateTime,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("fingerprint", &self.fingerprint)
            .field("valid_from", &self.valid_from)
            .field("valid_to", &self.valid_to)
            .finish_non_exhaustive()
    }
}

fn corrupt(e: impl std::fmt::Display) -> Error {
    Error::Corrupt(format!("signing key: {e}"))
}

impl SigningKey {
    fn generate(now: OffsetDateTime) -> Result<Self> {
        let mut rng = rsa::rand_core::OsRng;
        let private = rsa::RsaPrivateKey::new(&mut rng, 2048).map_err(corrupt)?;
        let private_der = private.to_pkcs1_der().map_err(corrupt)?;
        let public_der = private
            .to_public_key()
            .to_pkcs1_der()
            .map_err(corrupt)?
            .as_bytes()
            .to_vec();
        Ok(Self {
            private_der: hex::encode(private_der.as_bytes()).into(),
            fingerprint: hex::encode(Md5::digest(&public_der)),
            public_der: hex::encode(public_der),
            valid_from: now,
            valid_to: now + VALIDITY,
        })
    }

    /// Signs with RSA PKCS#1 v1.5 over SHA-256; returns the signature in hex.
    pub fn sign(&self, message: &[u8]) -> Result<String> {
        let der = hex::decode(self.private_der.expose()).map_err(corrupt)?;
        let private = rsa::RsaPrivateKey::from_pkcs1_der(&der).map_err(corrupt)?;
        let signer = Pkcs1Signer::<Sha256>::new(private);
        Ok(hex::encode(signer.sign(message).to_bytes()))
    }
}

fn region_prefix(env: &Env<'_>, region: &str) -> String {
    format!("{}/{region}/", env.account)
}

/// The key to sign with now, made when there is none.
pub fn current(env: &mut Env<'_>, region: &str) -> Result<SigningKey> {
    let prefix = region_prefix(env, region);
    let keys: Vec<SigningKey> = env.scan_all(NS_KEY, &prefix)?;
    let now = env.now;
    if let Some(k) = keys
        .into_iter()
        .rev()
        .find(|k| k.valid_from <= now && now < k.valid_to)
    {
        return Ok(k);
    }
    let key = SigningKey::generate(now)?;
    let id = format!("{prefix}{}", now.unix_timestamp());
    env.put(NS_KEY, &id, &key)?;
    Ok(key)
}

/// Every key whose validity overlaps `[start, end]` (the current one is made
/// if needed, so a trail's first digest is always verifiable).
pub fn overlapping(
    env: &mut Env<'_>,
    region: &str,
    start: OffsetDateTime,
    end: OffsetDateTime,
) -> Result<Vec<SigningKey>> {
    current(env, region)?;
    let prefix = region_prefix(env, region);
    let keys: Vec<SigningKey> = env.scan_all(NS_KEY, &prefix)?;
    Ok(keys
        .into_iter()
        .filter(|k| k.valid_from <= end && start <= k.valid_to)
        .collect())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;
    use rsa::pkcs1::DecodeRsaPublicKey;
    use rsa::signature::Verifier;

    #[test]
    fn signatures_verify_with_the_listed_public_key() {
        let now = OffsetDateTime::now_utc();
        let key = SigningKey::generate(now).unwrap();
        let sig = hex::decode(key.sign(b"2026-11-23T22:00:00Z\nb/k\nabc\nnull").unwrap()).unwrap();
        let public =
            rsa::RsaPublicKey::from_pkcs1_der(&hex::decode(&key.public_der).unwrap()).unwrap();
        let verifier = rsa::pkcs1v15::VerifyingKey::<Sha256>::new(public);
        let signature = rsa::pkcs1v15::Signature::try_from(sig.as_slice()).unwrap();
        assert!(
            verifier
                .verify(b"2026-11-23T22:00:00Z\nb/k\nabc\nnull", &signature)
                .is_ok()
        );
        assert!(verifier.verify(b"tampered", &signature).is_err());
        assert_eq!(key.fingerprint.len(), 32);
        assert!(key.public_der.starts_with("3082"));
    }
}
