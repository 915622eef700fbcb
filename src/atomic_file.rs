//! Replacing a file atomically: a temporary file in the same directory, fsync, rename, fsync of
//! the directory. Readers see the old bytes or the new, never a part; on error the file stays as
//! it was. Used for the schedule, the metrics file and the credentials files.

use std::fs::{self, File};
use std::io::Write as _;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The permissions the written file gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileMode {
    /// Always this mode (e.g. 0600 for secrets).
    Exactly(u32),
    /// The replaced file's mode and owner (best effort); this mode for a new file.
    KeepOr(u32),
}

/// What failed, on which path.
#[derive(Debug, thiserror::Error)]
#[error("cannot write {}: {action} failed: {source}", path.display())]
pub struct AtomicWriteError {
    pub path: PathBuf,
    pub action: &'static str,
    #[source]
    pub source: std::io::Error,
}

/// Replace `path` with `bytes`. A symlink is followed: its target is replaced. The temporary
/// file is named `.NAME.<random>.tmp` and created with mode 0600, so a secret is never readable
/// by others, even for a moment.
pub fn write(path: &Path, bytes: &[u8], mode: FileMode) -> Result<(), AtomicWriteError> {
    let fail = |action: &'static str, at: &Path| {
        let at = at.to_path_buf();
        move |source: std::io::Error| AtomicWriteError {
            path: at,
            action,
            source,
        }
    };
    let (target, meta) = match fs::canonicalize(path) {
        Ok(target) => {
            let meta =
                fs::metadata(&target).map_err(fail("reading the file's permissions", path))?;
            (target, Some(meta))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => (path.to_path_buf(), None),
        Err(e) => return Err(fail("resolving the path", path)(e)),
    };
    let dir = match target.parent() {
        Some(p) if p.as_os_str().is_empty() => Path::new("."),
        Some(p) => p,
        None => Path::new("/"),
    };
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".into());
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".tmp")
        .permissions(fs::Permissions::from_mode(0o600))
        .tempfile_in(dir)
        .map_err(fail("creating a temporary file next to it", path))?;
    tmp.write_all(bytes)
        .map_err(fail("writing the temporary file", path))?;
    let (keep, final_mode) = match mode {
        FileMode::Exactly(m) => (None, fs::Permissions::from_mode(m)),
        FileMode::KeepOr(m) => match meta {
            Some(meta) => (Some(meta.clone()), meta.permissions()),
            None => (None, fs::Permissions::from_mode(m)),
        },
    };
    let file = tmp.as_file();
    file.set_permissions(final_mode)
        .map_err(fail("setting the temporary file's permissions", path))?;
    // Keep owner and group when allowed (e.g. root editing a user's file); best effort.
    let own = file
        .metadata()
        .map_err(fail("reading the temporary file", path))?;
    if let Some(meta) = keep.filter(|m| (own.uid(), own.gid()) != (m.uid(), m.gid())) {
        let _ = std::os::unix::fs::fchown(file, Some(meta.uid()), Some(meta.gid()));
    }
    file.sync_all()
        .map_err(fail("syncing the temporary file", path))?;
    // On error the temporary file is removed when it drops.
    tmp.persist(&target)
        .map_err(|e| fail("renaming the temporary file into place", path)(e.error))?;
    // The new bytes are in place; a failed directory sync only weakens durability.
    if let Err(e) = File::open(dir).and_then(|d| d.sync_all()) {
        tracing::warn!(dir = %dir.display(), error = %e, "could not sync the directory of a file just written");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_new_files_with_the_mode_and_keeps_an_existing_mode() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("f");
        write(&p, b"one", FileMode::KeepOr(0o644)).unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"one");
        assert_eq!(fs::metadata(&p).unwrap().mode() & 0o777, 0o644);
        fs::set_permissions(&p, fs::Permissions::from_mode(0o640)).unwrap();
        write(&p, b"two", FileMode::KeepOr(0o644)).unwrap();
        assert_eq!(fs::metadata(&p).unwrap().mode() & 0o777, 0o640);
        write(&p, b"three", FileMode::Exactly(0o600)).unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"three");
        assert_eq!(fs::metadata(&p).unwrap().mode() & 0o777, 0o600);
        let names: Vec<_> = fs::read_dir(tmp.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "no temporary file left behind");
    }

    #[test]
    fn a_missing_directory_is_an_error_naming_the_path() {
        let e = write(
            Path::new("/nonexistent-dir/x/f"),
            b"x",
            FileMode::Exactly(0o600),
        )
        .unwrap_err();
        assert!(e.to_string().contains("/nonexistent-dir/x/f"), "{e}");
    }
}
