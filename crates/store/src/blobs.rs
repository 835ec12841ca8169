//! Object bytes, kept apart from the documents that describe them.
//!
//! Blobs are content-addressed (SHA-256): a blob is written, made durable and
//! renamed into place before the transaction that names it commits, so a crash
//! leaves at most an unreferenced file and never a half-written object. Writing
//! the same bytes twice is one file. Directories are `0700` and files `0600`
//! (see [`crate::private`]). The [`Blobs`] trait is the seam for an
//! external S3-compatible store.

use crate::StoreError;
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Where object bytes live.
pub trait Blobs: Send + Sync {
    /// Stores bytes durably; returns their id.
    fn put(&self, bytes: &[u8]) -> Result<String, StoreError>;
    /// The bytes with this id, if present.
    fn get(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError>;
}

/// Blobs as files under a directory, named by their SHA-256.
#[derive(Debug)]
pub struct FsBlobs {
    root: PathBuf,
}

impl FsBlobs {
    /// Uses (and creates, `0700`) `root`.
    pub fn open(root: &Path) -> Result<Self, StoreError> {
        crate::private::create_dir(root)?;
        Ok(Self {
            root: root.to_path_buf(),
        })
    }

    fn path(&self, id: &str) -> Option<PathBuf> {
        let valid = id.len() == 64 && id.bytes().all(|b| b.is_ascii_hexdigit());
        let (dir, rest) = (id.get(..2)?, id.get(2..)?);
        valid.then(|| self.root.join(dir).join(rest))
    }
}

impl Blobs for FsBlobs {
    fn put(&self, bytes: &[u8]) -> Result<String, StoreError> {
        let id = hex::encode(Sha256::digest(bytes));
        let path = self
            .path(&id)
            .ok_or_else(|| StoreError::Io(std::io::Error::other("bad blob id")))?;
        if path.exists() {
            return Ok(id);
        }
        let dir = path
            .parent()
            .ok_or_else(|| StoreError::Io(std::io::Error::other("blob path has no parent")))?;
        crate::private::create_dir(dir)?;
        let tmp = dir.join(format!(".{}.tmp-{}", &id, std::process::id()));
        let mut f = crate::private::create_file(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, &path)?;
        Ok(id)
    }

    fn get(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let Some(path) = self.path(id) else {
            return Ok(None);
        };
        match std::fs::read(path) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    #[test]
    fn content_addressed_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = FsBlobs::open(dir.path()).unwrap();
        let id = blobs.put(b"hello").unwrap();
        assert_eq!(id, hex::encode(Sha256::digest(b"hello")));
        assert_eq!(blobs.put(b"hello").unwrap(), id);
        assert_eq!(blobs.get(&id).unwrap().unwrap(), b"hello");
        assert_eq!(blobs.get(&"0".repeat(64)).unwrap(), None);
        assert_eq!(blobs.get("../../etc/passwd").unwrap(), None);
    }

    #[test]
    fn blob_files_and_directories_are_owner_only() {
        use std::os::unix::fs::MetadataExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().mode() & 0o777;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("objects");
        let blobs = FsBlobs::open(&root).unwrap();
        let id = blobs.put(b"secret log").unwrap();
        let path = blobs.path(&id).unwrap();
        assert_eq!(mode(&root), 0o700);
        assert_eq!(mode(path.parent().unwrap()), 0o700);
        assert_eq!(mode(&path), 0o600);
    }
}

/// Blobs in memory, for tests and throwaway servers.
#[derive(Debug, Default)]
pub struct MemBlobs {
    blobs: std::sync::Mutex<std::collections::HashMap<String, Vec<u8>>>,
}

impl Blobs for MemBlobs {
    fn put(&self, bytes: &[u8]) -> Result<String, StoreError> {
        let id = hex::encode(Sha256::digest(bytes));
        self.blobs
            .lock()
            .map_err(|_| StoreError::Poisoned)?
            .insert(id.clone(), bytes.to_vec());
        Ok(id)
    }

    fn get(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .blobs
            .lock()
            .map_err(|_| StoreError::Poisoned)?
            .get(id)
            .cloned())
    }
}
