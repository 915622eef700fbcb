//! Credentials files: one `<credentials_dir>/<workshop-id>.env` per workshop, mode 0600 in a 0700
//! directory, written atomically; a workshop with `participants` has one
//! `<credentials_dir>/<workshop-id>/<label>.env` per participant (folder 0700). Files are named
//! by claim (`ws`, or `ws/p07`). The secret type here never prints itself.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use zeroize::Zeroizing;

use crate::core::observed::CredentialsFile;
use crate::store::participant_files::{self, env_files_in, remove_empty_folder, safe_name};
use crate::text::shell_quote;

pub use super::Secret;

const HEADER: &str = "# workshop-keys:";
/// The comment line before a bearer token: `# AWS_BEARER_TOKEN_BEDROCK expires <time> (...)`.
const TOKEN_COMMENT: &str = "# AWS_BEARER_TOKEN_BEDROCK expires ";
/// The token's line: `AWS_BEARER_TOKEN_BEDROCK=bedrock-api-key-...`.
const TOKEN_VAR: &str = "AWS_BEARER_TOKEN_BEDROCK=";

#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    #[error("cannot {action} {}: {source}; check that the directory exists and belongs to the user running workshop-keys", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("credentials directory {} is not a directory: set settings.credentials_dir to a directory, or move the file away", path.display())]
    NotADirectory { path: PathBuf },
    #[error("credentials directory {} can be read by other users (mode {mode:03o}): refusing to write secrets there; run `chmod 700 {}`", path.display(), shell_quote(path))]
    Insecure { path: PathBuf, mode: u32 },
    #[error("credentials file {} can be read by other users (mode {mode:03o}): run `chmod 600 {}`", path.display(), shell_quote(path))]
    InsecureFile { path: PathBuf, mode: u32 },
    #[error("workshop id {id:?} cannot name a credentials file: it must be 1-64 characters of A-Za-z0-9._-")]
    BadId { id: String },
    #[error("credentials file {} holds no AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY", path.display())]
    Malformed { path: PathBuf },
    /// A call to an AWS service that keeps secrets or records (never carries a secret).
    #[error("{service}: cannot {action} {name}: {detail}")]
    Remote {
        service: &'static str,
        action: &'static str,
        name: String,
        detail: String,
    },
}

pub(crate) fn io<'a>(
    action: &'static str,
    path: &'a Path,
) -> impl FnOnce(std::io::Error) -> SecretsError + 'a {
    move |source| SecretsError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

/// For tests: when it returns true for a workshop id, writing that workshop's credentials file
/// fails as a full disk would.
#[derive(Clone)]
pub struct WriteFault(pub std::sync::Arc<dyn Fn(&str) -> bool + Send + Sync>);

impl std::fmt::Debug for WriteFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WriteFault(..)")
    }
}

/// The directory of credentials files.
#[derive(Debug, Clone)]
pub struct CredentialsDir {
    dir: PathBuf,
    write_fault: Option<WriteFault>,
}

impl CredentialsDir {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        CredentialsDir {
            dir: dir.into(),
            write_fault: None,
        }
    }

    /// For tests: consult `fault` at the start of every `write`; when it returns true the write
    /// fails with "No space left on device" and leaves the directory as it was.
    pub fn with_write_fault(
        mut self,
        fault: std::sync::Arc<dyn Fn(&str) -> bool + Send + Sync>,
    ) -> Self {
        self.write_fault = Some(WriteFault(fault));
        self
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `<dir>/<workshop>.env`, or `<dir>/<workshop>/<label>.env` for a participant's claim
    /// `workshop/label`, refusing ids that could leave the directory.
    pub fn path_for(&self, claim: &str) -> Result<PathBuf, SecretsError> {
        let (workshop, participant) = crate::core::participants::parse_claim(claim);
        if !safe_name(workshop) || !participant.is_none_or(safe_name) {
            return Err(SecretsError::BadId {
                id: claim.to_string(),
            });
        }
        Ok(match participant {
            Some(label) => self.dir.join(workshop).join(format!("{label}.env")),
            None => self.dir.join(format!("{workshop}.env")),
        })
    }

    /// Refuse a directory that is not one, that others can read or enter, or that holds a
    /// credentials file others can read. A missing
    /// directory is fine: it is created with mode 0700 on the first write.
    pub fn check(&self) -> Result<(), SecretsError> {
        let meta = match fs::symlink_metadata(&self.dir) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io("read", &self.dir)(e)),
        };
        if !meta.is_dir() {
            return Err(SecretsError::NotADirectory {
                path: self.dir.clone(),
            });
        }
        let mode = meta.mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(SecretsError::Insecure {
                path: self.dir.clone(),
                mode,
            });
        }
        for entry in fs::read_dir(&self.dir).map_err(io("list", &self.dir))? {
            let entry = entry.map_err(io("list", &self.dir))?;
            if entry.path().extension().is_some_and(|e| e == "env") {
                let meta = entry.metadata().map_err(io("read", &entry.path()))?;
                let mode = meta.mode() & 0o777;
                if mode & 0o077 != 0 {
                    return Err(SecretsError::InsecureFile {
                        path: entry.path(),
                        mode,
                    });
                }
            }
        }
        participant_files::check_folders(&self.dir)
    }

    /// Which key each credentials file holds, by workshop id. Never reads the secret out.
    pub fn scan(&self) -> Result<BTreeMap<String, CredentialsFile>, SecretsError> {
        let mut out = BTreeMap::new();
        for (workshop, path) in self.env_files()? {
            if let Some(f) = read_key_id(&path)? {
                out.insert(workshop, f);
            }
        }
        Ok(out)
    }

    /// The `<workshop>.env` files in the directory (none when it does not exist).
    fn env_files(&self) -> Result<Vec<(String, PathBuf)>, SecretsError> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io("list", &self.dir)(e)),
        };
        let mut files = Vec::new();
        for entry in entries {
            let entry = entry.map_err(io("list", &self.dir))?;
            let name = entry.file_name();
            if let Some(workshop) = name.to_str().and_then(|n| n.strip_suffix(".env")) {
                files.push((workshop.to_string(), entry.path()));
            }
        }
        // Participants' files, by claim `ws/label`.
        for (folder, workshop) in participant_files::folders(&self.dir)? {
            for (label, path) in env_files_in(&folder)? {
                let claim = crate::core::participants::claim(&workshop, Some(&label));
                files.push((claim, path));
            }
        }
        Ok(files)
    }

    /// Write a new key's file atomically: a 0600 temporary file in a 0700 directory, fsync,
    /// rename over the old file, fsync the directory.
    pub fn write(
        &self,
        workshop: &str,
        access_key_id: &str,
        secret: &Secret,
        region: &str,
        written: DateTime<Utc>,
    ) -> Result<PathBuf, SecretsError> {
        self.write_with_token(workshop, access_key_id, secret, region, written, None)
    }

    /// [`CredentialsDir::write`], with a bearer token (`AWS_BEARER_TOKEN_BEDROCK`) and a
    /// comment line giving its expiry when `token` is given. Renewing a token rewrites the
    /// whole file this way, atomically.
    pub fn write_with_token(
        &self,
        workshop: &str,
        access_key_id: &str,
        secret: &Secret,
        region: &str,
        written: DateTime<Utc>,
        token: Option<&crate::bedrock_api_key::BearerToken>,
    ) -> Result<PathBuf, SecretsError> {
        let path = self.path_for(workshop)?;
        self.injected_fault(workshop, &path)?;
        self.check()?;
        // The directory, and a participant's `<workshop>/` folder in it: both 0700.
        let folder = path.parent().unwrap_or(&self.dir);
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(folder)
            .map_err(io("create directory", folder))?;
        let mut contents = Zeroizing::new(format!(
            "{HEADER} workshop {workshop}, written {}\nAWS_ACCESS_KEY_ID={access_key_id}\nAWS_SECRET_ACCESS_KEY={}\nAWS_DEFAULT_REGION={region}\n",
            crate::time::format_time(written),
            secret.expose()
        ));
        if let Some(t) = token {
            // Reserved up front: growing the string would leave unwiped copies of the secret.
            let mut with_token = Zeroizing::new(String::with_capacity(
                contents.len() + t.token.expose().len() + 200,
            ));
            with_token.push_str(&contents);
            with_token.push_str(&format!(
                "{TOKEN_COMMENT}{} (Amazon Bedrock API key for {region}; workshop-keys renews it)\n{TOKEN_VAR}",
                crate::time::format_time(t.expires)
            ));
            with_token.push_str(t.token.expose());
            with_token.push('\n');
            contents = with_token;
        }
        // A run killed mid-write leaves its temporary file (with a secret in it): remove those.
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        let prefix = format!(".{name}.");
        self.remove_temporary_files(folder, &prefix)?;
        // A random name, created exclusively with mode 0600, so no leftover can block a write.
        crate::atomic_file::write(
            &path,
            contents.as_bytes(),
            crate::atomic_file::FileMode::Exactly(0o600),
        )
        .map_err(|e| io(e.action, &path)(e.source))?;
        Ok(path)
    }

    fn remove_temporary_files(&self, folder: &Path, prefix: &str) -> Result<(), SecretsError> {
        for entry in fs::read_dir(folder).map_err(io("list", folder))? {
            let entry = entry.map_err(io("list", folder))?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with(prefix) && name.ends_with(".tmp") {
                match fs::remove_file(entry.path()) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                        return Err(io("remove", &entry.path())(e))
                    }
                    _ => {}
                }
            }
        }
        Ok(())
    }

    /// A full disk, when a test asks for one (see `with_write_fault`).
    pub(crate) fn injected_fault(&self, name: &str, path: &Path) -> Result<(), SecretsError> {
        if self.write_fault.as_ref().is_some_and(|f| (f.0)(name)) {
            return Err(io("write", path)(std::io::Error::new(
                std::io::ErrorKind::StorageFull,
                "No space left on device (os error 28)",
            )));
        }
        Ok(())
    }

    /// Remove every credentials file that holds `access_key_id`. Files holding another key
    /// (a newer one for the same workshop) stay. Returns the files removed.
    pub fn remove_key(&self, access_key_id: &str) -> Result<Vec<PathBuf>, SecretsError> {
        let mut removed = Vec::new();
        for (workshop, f) in self.scan()? {
            if f.access_key_id == access_key_id {
                let path = self.path_for(&workshop)?;
                match fs::remove_file(&path) {
                    Ok(()) => {
                        remove_empty_folder(&self.dir, &path);
                        removed.push(path)
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(io("remove", &path)(e)),
                }
            }
        }
        Ok(removed)
    }

    /// When the bearer token of each credentials file that holds one expires, by workshop id.
    /// Never reads the token out.
    pub fn scan_tokens(&self) -> Result<BTreeMap<String, DateTime<Utc>>, SecretsError> {
        let mut out = BTreeMap::new();
        for (workshop, path) in self.env_files()? {
            let text = match fs::read_to_string(&path) {
                Ok(t) => Zeroizing::new(t),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(io("read", &path)(e)),
            };
            if let Some(expires) = token_expiry(&text) {
                out.insert(workshop, expires);
            }
        }
        Ok(out)
    }

    /// What the tool recorded in a workshop's file (key id, write time), if it exists.
    pub fn file(&self, workshop: &str) -> Result<Option<CredentialsFile>, SecretsError> {
        read_key_id(&self.path_for(workshop)?)
    }

    /// The bearer token a workshop's file holds, with its expiry (for `deliver` and `verify`).
    /// Refuses a file that others can read.
    pub fn read_token(
        &self,
        workshop: &str,
    ) -> Result<Option<crate::bedrock_api_key::BearerToken>, SecretsError> {
        let path = self.path_for(workshop)?;
        let text = match fs::read_to_string(&path) {
            Ok(t) => Zeroizing::new(t),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io("read", &path)(e)),
        };
        let mode = fs::metadata(&path).map_err(io("read", &path))?.mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(SecretsError::InsecureFile { path, mode });
        }
        let token = text
            .lines()
            .find_map(|l| l.strip_prefix(TOKEN_VAR))
            .map(|t| Secret::new(t.trim().to_string()));
        Ok(token
            .zip(token_expiry(&text))
            .map(|(token, expires)| crate::bedrock_api_key::BearerToken { token, expires }))
    }

    /// The key id and secret a workshop's file holds (for `verify`). Refuses a file that
    /// others can read.
    pub fn read_secret(&self, workshop: &str) -> Result<Option<(String, Secret)>, SecretsError> {
        read_secret_at(&self.path_for(workshop)?)
    }
}

/// `<dir>/<workshop>/<label>.env`: a participant's credentials file.
pub fn participant_file(dir: &Path, workshop: &str, label: &str) -> PathBuf {
    dir.join(workshop).join(format!("{label}.env"))
}

/// The key id and write time the credentials file at `path` holds, if it exists.
pub fn key_id_at(path: &Path) -> Result<Option<CredentialsFile>, SecretsError> {
    read_key_id(path)
}

/// The key id and secret the credentials file at `path` holds, if it exists (for `verify` and
/// `handout`). Refuses a file that others can read.
pub fn read_secret_at(path: &Path) -> Result<Option<(String, Secret)>, SecretsError> {
    let path = path.to_path_buf();
    let text = match fs::read_to_string(&path) {
        Ok(t) => Zeroizing::new(t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io("read", &path)(e)),
    };
    let mode = fs::metadata(&path)
        .map_err(io("read", &path))?
        .permissions()
        .mode()
        & 0o777;
    if mode & 0o077 != 0 {
        return Err(SecretsError::InsecureFile { path, mode });
    }
    let value = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix('='))
            .map(|v| v.trim().to_string())
    };
    match (value("AWS_ACCESS_KEY_ID"), value("AWS_SECRET_ACCESS_KEY")) {
        (Some(id), Some(secret)) => Ok(Some((id, Secret::new(secret)))),
        _ => Err(SecretsError::Malformed { path }),
    }
}

/// The expiry on a file's token comment, when the file holds a token.
fn token_expiry(text: &str) -> Option<DateTime<Utc>> {
    if !text.lines().any(|l| l.starts_with(TOKEN_VAR)) {
        return None;
    }
    text.lines()
        .find_map(|l| l.strip_prefix(TOKEN_COMMENT))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(crate::time::parse_time)
}

/// The key id and write time in a credentials file, reading no further than needed.
fn read_key_id(path: &Path) -> Result<Option<CredentialsFile>, SecretsError> {
    let text = match fs::read_to_string(path) {
        Ok(t) => Zeroizing::new(t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io("read", path)(e)),
    };
    let mut key = None;
    let mut written = None;
    for line in text.lines() {
        if let Some(id) = line.strip_prefix("AWS_ACCESS_KEY_ID=") {
            key = Some(id.trim().to_string());
        } else if let Some(rest) = line.strip_prefix(HEADER) {
            written = rest
                .rsplit_once("written ")
                .and_then(|(_, t)| crate::time::parse_time(t));
        }
    }
    Ok(key.map(|access_key_id| CredentialsFile {
        access_key_id,
        written,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir() -> (tempfile::TempDir, CredentialsDir) {
        let tmp = tempfile::tempdir().unwrap();
        let creds = CredentialsDir::new(tmp.path().join("credentials"));
        (tmp, creds)
    }

    #[test]
    fn write_is_owner_only_and_scan_reads_the_key_id() {
        let (_tmp, creds) = dir();
        let secret = Secret::new("s3cr3t-value".into());
        let t = DateTime::parse_from_rfc3339("2026-12-02T08:00:00Z")
            .unwrap()
            .to_utc();
        let path = creds
            .write("ws-1", "AKIAEXAMPLE000000001", &secret, "eu-west-1", t)
            .unwrap();
        assert_eq!(fs::metadata(&path).unwrap().mode() & 0o777, 0o600);
        assert_eq!(fs::metadata(creds.dir()).unwrap().mode() & 0o777, 0o700);
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.contains("AWS_ACCESS_KEY_ID=AKIAEXAMPLE000000001\n"));
        assert!(text.contains("AWS_SECRET_ACCESS_KEY=s3cr3t-value\n"));
        assert!(text.contains("AWS_DEFAULT_REGION=eu-west-1\n"));
        let scanned = creds.scan().unwrap();
        assert_eq!(scanned["ws-1"].access_key_id, "AKIAEXAMPLE000000001");
        assert_eq!(scanned["ws-1"].written, Some(t));
        let (id, s) = creds.read_secret("ws-1").unwrap().unwrap();
        assert_eq!(
            (id.as_str(), s.expose()),
            ("AKIAEXAMPLE000000001", "s3cr3t-value")
        );
        // no temporary files left behind
        assert_eq!(fs::read_dir(creds.dir()).unwrap().count(), 1);
    }

    #[test]
    fn remove_key_only_removes_files_holding_that_key() {
        let (_tmp, creds) = dir();
        let s = Secret::new("x".into());
        creds
            .write("a", "AKIAEXAMPLE000000001", &s, "us-east-1", Utc::now())
            .unwrap();
        creds
            .write("b", "AKIAEXAMPLE000000002", &s, "us-east-1", Utc::now())
            .unwrap();
        let removed = creds.remove_key("AKIAEXAMPLE000000001").unwrap();
        assert_eq!(removed.len(), 1);
        assert!(creds.scan().unwrap().contains_key("b"));
        assert!(!creds.scan().unwrap().contains_key("a"));
    }

    #[test]
    fn refuses_world_readable_dir_file_in_the_way_and_escaping_ids() {
        let (tmp, creds) = dir();
        fs::create_dir(creds.dir()).unwrap();
        fs::set_permissions(creds.dir(), fs::Permissions::from_mode(0o755)).unwrap();
        let s = Secret::new("x".into());
        let e = creds
            .write("a", "AKIAEXAMPLE000000001", &s, "r", Utc::now())
            .unwrap_err();
        assert!(e.to_string().contains("chmod 700"), "{e}");
        let file = CredentialsDir::new(tmp.path().join("plain"));
        fs::write(tmp.path().join("plain"), "x").unwrap();
        assert!(matches!(
            file.check(),
            Err(SecretsError::NotADirectory { .. })
        ));
        assert!(matches!(
            creds.path_for("../x"),
            Err(SecretsError::BadId { .. })
        ));
        assert!(matches!(
            creds.path_for(".."),
            Err(SecretsError::BadId { .. })
        ));
    }

    #[test]
    fn a_token_goes_after_the_key_with_its_expiry_and_is_read_back() {
        let (_tmp, creds) = dir();
        let t = DateTime::parse_from_rfc3339("2026-12-02T08:00:00Z")
            .unwrap()
            .to_utc();
        let secret = Secret::new("s3cr3t-value".into());
        creds
            .write("plain", "AKIAEXAMPLE000000001", &secret, "eu-west-1", t)
            .unwrap();
        let token = crate::bedrock_api_key::BearerToken {
            token: Secret::new("bedrock-api-key-dG9rZW4=".into()),
            expires: t + chrono::TimeDelta::hours(12),
        };
        let path = creds
            .write_with_token(
                "ws",
                "AKIAEXAMPLE000000002",
                &secret,
                "eu-west-1",
                t,
                Some(&token),
            )
            .unwrap();
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.ends_with(
            "AWS_DEFAULT_REGION=eu-west-1\n# AWS_BEARER_TOKEN_BEDROCK expires 2026-12-02T20:00:00Z (Amazon Bedrock API key for eu-west-1; workshop-keys renews it)\nAWS_BEARER_TOKEN_BEDROCK=bedrock-api-key-dG9rZW4=\n"
        ), "{text}");
        assert_eq!(fs::metadata(&path).unwrap().mode() & 0o777, 0o600);
        let tokens = creds.scan_tokens().unwrap();
        assert_eq!(tokens.len(), 1, "only the file with a token: {tokens:?}");
        assert_eq!(tokens["ws"], token.expires);
        let read = creds.read_token("ws").unwrap().unwrap();
        assert_eq!(read.token.expose(), token.token.expose());
        assert_eq!(read.expires, token.expires);
        assert!(creds.read_token("plain").unwrap().is_none());
        assert!(creds.read_token("missing").unwrap().is_none());
        // The key and secret read as before; the write time is kept for the visibility rules.
        let (id, s) = creds.read_secret("ws").unwrap().unwrap();
        assert_eq!(
            (id.as_str(), s.expose()),
            ("AKIAEXAMPLE000000002", "s3cr3t-value")
        );
        assert_eq!(creds.file("ws").unwrap().unwrap().written, Some(t));
    }

    #[test]
    fn secret_debug_is_redacted() {
        let s = Secret::new("top-secret".into());
        assert!(!format!("{s:?}").contains("top-secret"));
    }
}
