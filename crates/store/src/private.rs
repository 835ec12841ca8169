//! Keeping the data directory to its owner.
//!
//! The database holds every secret (root and user access keys, session
//! secrets, CloudTrail's digest-signing private keys) and the objects hold the
//! trail's log files, so the data directory is `0700` and every file in it
//! `0600`, whatever the umask: [`restrict_umask`] at startup makes everything
//! the process creates (SQLite's `-wal` and `-shm` files too) private, and the
//! store also sets the modes on what it creates itself. A data directory that
//! other users can reach is refused rather than repaired: how it got that way
//! is the operator's to know.

use std::fs::{DirBuilder, OpenOptions, Permissions};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// The mode of the data directory and every directory in it.
pub const DIR_MODE: u32 = 0o700;
/// The mode of every file in the data directory.
pub const FILE_MODE: u32 = 0o600;

/// Sets the process umask so that nothing it creates is readable by others.
pub fn restrict_umask() {
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
}

/// Creates `dir` (and missing parents) `0700`, or checks that the existing
/// one is owned by this user and closed to everyone else. The error says what
/// to run.
pub fn ensure_private_dir(dir: &Path) -> Result<(), String> {
    let shown = dir.display();
    match std::fs::metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            DirBuilder::new()
                .recursive(true)
                .mode(DIR_MODE)
                .create(dir)
                .map_err(|e| format!("cannot create the data directory {shown}: {e}"))?;
            // The umask could have taken bits away from DIR_MODE, never added.
            std::fs::set_permissions(dir, Permissions::from_mode(DIR_MODE))
                .map_err(|e| format!("cannot restrict the data directory {shown}: {e}"))
        }
        Err(e) => Err(format!("cannot read the data directory {shown}: {e}")),
        Ok(meta) if !meta.is_dir() => Err(format!(
            "the data directory {shown} exists and is not a directory"
        )),
        Ok(meta) => {
            let me = rustix::process::geteuid().as_raw();
            if meta.uid() != me {
                return Err(format!(
                    "the data directory {shown} belongs to user id {}, not to this user ({me}); \
                     it holds every secret, so run trailguard as its owner",
                    meta.uid()
                ));
            }
            let mode = meta.mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(format!(
                    "the data directory {shown} is open to other users (mode {mode:04o}); it holds \
                     every secret and the audit trail. Run `chmod 700 {}` and start again",
                    shell_quote(dir)
                ));
            }
            Ok(())
        }
    }
}

/// Creates `dir` (and missing parents) `0700` inside the data directory.
pub fn create_dir(dir: &Path) -> std::io::Result<()> {
    DirBuilder::new()
        .recursive(true)
        .mode(DIR_MODE)
        .create(dir)?;
    std::fs::set_permissions(dir, Permissions::from_mode(DIR_MODE))
}

/// Opens `path` for writing, created or truncated, `0600`.
pub fn create_file(path: &Path) -> std::io::Result<std::fs::File> {
    let f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(FILE_MODE)
        .open(path)?;
    // A file left by an earlier run keeps its old mode on open.
    f.set_permissions(Permissions::from_mode(FILE_MODE))?;
    Ok(f)
}

/// Sets an existing file to `0600`; a missing one is fine.
pub fn restrict_file(path: &Path) -> std::io::Result<()> {
    match std::fs::set_permissions(path, Permissions::from_mode(FILE_MODE)) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

fn shell_quote(path: &Path) -> String {
    let s = path.display().to_string();
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-+,:@".contains(&b))
    {
        s
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().mode() & 0o777
    }

    #[test]
    fn a_new_data_directory_is_private_and_an_open_one_is_refused() {
        let base = tempfile::tempdir().unwrap();
        let dir = base.path().join("new data");
        ensure_private_dir(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
        ensure_private_dir(&dir).unwrap();

        std::fs::set_permissions(&dir, Permissions::from_mode(0o755)).unwrap();
        let err = ensure_private_dir(&dir).unwrap_err();
        assert!(err.contains("mode 0755"), "{err}");
        assert!(
            err.contains(&format!("chmod 700 '{}'", dir.display())),
            "{err}"
        );
        std::fs::set_permissions(&dir, Permissions::from_mode(0o720)).unwrap();
        assert!(ensure_private_dir(&dir).is_err());

        let file = base.path().join("plain");
        std::fs::write(&file, b"").unwrap();
        assert!(
            ensure_private_dir(&file)
                .unwrap_err()
                .contains("not a directory")
        );
    }

    #[test]
    fn created_files_and_directories_are_owner_only() {
        let base = tempfile::tempdir().unwrap();
        let dir = base.path().join("a/b");
        create_dir(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
        let path = dir.join("f");
        std::fs::write(&path, b"old").unwrap();
        std::fs::set_permissions(&path, Permissions::from_mode(0o644)).unwrap();
        drop(create_file(&path).unwrap());
        assert_eq!(mode(&path), 0o600);
        assert_eq!(std::fs::read(&path).unwrap(), b"");
        restrict_file(&base.path().join("missing")).unwrap();
    }
}
