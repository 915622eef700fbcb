//! Participants' credentials files: `<credentials_dir>/<workshop>/<label>.env`, in a 0700 folder
//! per workshop, and the flat names of their creation records (`.creating.<workshop>@<label>`).
//! Helpers of `files.rs`; the writes themselves go through `CredentialsDir`.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::files::{io, SecretsError};

/// Between workshop and label in a creation record's name (`.creating.ws@p07`): never in an id,
/// so the record sits beside the others with one flat name, whatever the claim.
pub const RECORD_SEPARATOR: &str = "@";

/// The claim a creation record's name stands for.
/// The flat record name of a claim: `ws`, `ws@p07`.
pub fn record_name(claim: &str) -> String {
    claim.replace(crate::core::participants::CLAIM_SEPARATOR, RECORD_SEPARATOR)
}

pub fn claim_of_record(name: &str) -> String {
    name.replacen(
        RECORD_SEPARATOR,
        &crate::core::participants::CLAIM_SEPARATOR.to_string(),
        1,
    )
}

/// A name that stays in its folder: 1-64 characters of A-Za-z0-9._-, not `.` or `..`.
pub fn safe_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

/// The `<label>.env` files in a participants' folder.
pub fn env_files_in(folder: &Path) -> Result<Vec<(String, PathBuf)>, SecretsError> {
    let mut out = Vec::new();
    for entry in fs::read_dir(folder).map_err(io("list", folder))? {
        let entry = entry.map_err(io("list", folder))?;
        if let Some(label) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.strip_suffix(".env"))
        {
            if safe_name(label) {
                out.push((label.to_string(), entry.path()));
            }
        }
    }
    Ok(out)
}

/// A participants' folder left empty by the removal of `file` goes too (never `dir` itself).
pub fn remove_empty_folder(dir: &Path, file: &Path) {
    if let Some(folder) = file.parent().filter(|f| *f != dir) {
        // Fails, as it should, while the folder holds anything.
        let _ = fs::remove_dir(folder);
    }
}

/// `<dir>/<workshop>/` folders (participants' files), with the workshop id.
pub fn folders(dir: &Path) -> Result<Vec<(PathBuf, String)>, SecretsError> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io("list", dir)(e)),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(io("list", dir))?;
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        if let Some(name) = entry.file_name().to_str().filter(|n| safe_name(n)) {
            if is_dir && !name.starts_with('.') {
                out.push((entry.path(), name.to_string()));
            }
        }
    }
    Ok(out)
}

/// The participants' folders: 0700, their files 0600, like the directory itself.
pub fn check_folders(dir: &Path) -> Result<(), SecretsError> {
    for (folder, _) in folders(dir)? {
        let mode = fs::symlink_metadata(&folder)
            .map_err(io("read", &folder))?
            .mode()
            & 0o777;
        if mode & 0o077 != 0 {
            return Err(SecretsError::Insecure { path: folder, mode });
        }
        for (_, path) in env_files_in(&folder)? {
            let mode = fs::metadata(&path).map_err(io("read", &path))?.mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(SecretsError::InsecureFile { path, mode });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use chrono::{TimeZone, Utc};

    use crate::store::files::{CredentialsDir, Secret};

    #[test]
    fn a_participants_file_lives_in_its_workshops_folder_and_goes_with_it() {
        let tmp = tempfile::tempdir().unwrap();
        let creds = CredentialsDir::new(tmp.path().join("c"));
        let at = Utc.with_ymd_and_hms(2026, 12, 3, 9, 0, 0).unwrap();
        let secret = Secret::new("s3cr3t".into());
        let path = creds
            .write(
                "ws/p07",
                "AKIAEXAMPLE000000007",
                &secret,
                "eu-central-1",
                at,
            )
            .unwrap();
        assert_eq!(path, tmp.path().join("c/ws/p07.env"));
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&tmp.path().join("c/ws")), 0o700);
        creds
            .write("ws", "AKIAEXAMPLE000000001", &secret, "eu-central-1", at)
            .unwrap();
        let files = creds.scan().unwrap();
        assert_eq!(files.keys().collect::<Vec<_>>(), ["ws", "ws/p07"]);
        assert_eq!(files["ws/p07"].access_key_id, "AKIAEXAMPLE000000007");
        assert!(creds.path_for("ws/../x").is_err());
        assert!(creds.path_for("ws/p07/x").is_err());

        let state = crate::state::local::LocalState::new(creds.clone(), "t.toml");
        state
            .begin_create_now("ws/p08", "wp-001", at, None)
            .unwrap();
        assert!(tmp.path().join("c/.creating.ws@p08").exists());
        assert_eq!(state.scan_creating_now().unwrap()["ws/p08"].user, "wp-001");
        state.end_create_now("ws/p08").unwrap();
        assert!(state.scan_creating_now().unwrap().is_empty());

        std::fs::set_permissions(
            tmp.path().join("c/ws"),
            std::fs::Permissions::from_mode(0o755),
        )
        .unwrap();
        assert!(
            creds.check().is_err(),
            "a folder others can read is refused"
        );
        std::fs::set_permissions(
            tmp.path().join("c/ws"),
            std::fs::Permissions::from_mode(0o700),
        )
        .unwrap();

        creds.remove_key("AKIAEXAMPLE000000007").unwrap();
        assert!(!tmp.path().join("c/ws").exists(), "the empty folder goes");
        assert!(tmp.path().join("c/ws.env").exists());
    }
}
