//! Today's state on the local disk: records as small files in the credentials directory
//! (`.creating.<workshop>`, `.deleted.<key id>`), and an exclusive lock on `<schedule>.lock`,
//! released by the OS if the process dies. The lock sits next to the schedule's fully resolved
//! path, so every spelling of it (relative, absolute, through a symlink) shares one lock.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File};
use std::os::unix::fs::DirBuilderExt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use fs4::fs_std::FileExt;
use futures::future::BoxFuture;

use super::{HeldLock, LockError, StateStore};
use crate::core::observed::PendingCreate;
use crate::core::tags;
use crate::store::files::io;
use crate::store::files::CredentialsDir;
use crate::store::participant_files::{claim_of_record, record_name};
use crate::store::SecretsError;

/// `.creating.<workshop>` (`.creating.<workshop>@<label>` for a participant): a key creation
/// under way (see `begin_create`).
const CREATING_PREFIX: &str = ".creating.";
/// `.deleted.<key id>`: a key this tool deleted, and when (see `record_deleted`).
const DELETED_PREFIX: &str = ".deleted.";

/// Records in the credentials directory; the lock beside `schedule`.
#[derive(Debug, Clone)]
pub struct LocalState {
    dir: CredentialsDir,
    schedule: PathBuf,
}

impl LocalState {
    /// Records go to `dir` (write faults injected there apply to records too).
    pub fn new(dir: CredentialsDir, schedule: impl Into<PathBuf>) -> Self {
        LocalState {
            dir,
            schedule: schedule.into(),
        }
    }

    fn path(&self, prefix: &str, name: &str) -> PathBuf {
        self.dir.dir().join(format!("{prefix}{name}"))
    }

    /// `.creating.<workshop>`, `.creating.<workshop>@<label>` for a participant: one flat
    /// name, beside the others, whatever the claim.
    fn creating_path(&self, claim: &str) -> PathBuf {
        self.path(CREATING_PREFIX, &record_name(claim))
    }

    pub fn begin_create_now(
        &self,
        workshop: &str,
        user: &str,
        at: DateTime<Utc>,
        keys_before: Option<&BTreeSet<String>>,
    ) -> Result<(), SecretsError> {
        self.dir.path_for(workshop)?;
        self.dir.check()?;
        let dir = self.dir.dir();
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(io("create directory", dir))?;
        for (old, c) in self.scan_creating_now()? {
            if super::is_old(c.at, at) {
                let _ = fs::remove_file(self.creating_path(&old));
            }
        }
        let path = self.creating_path(workshop);
        self.dir.injected_fault(workshop, &path)?;
        fs::write(&path, super::creating_text(user, at, keys_before)).map_err(io("write", &path))
    }

    pub fn end_create_now(&self, workshop: &str) -> Result<(), SecretsError> {
        self.dir.path_for(workshop)?;
        let path = self.creating_path(workshop);
        match fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io("remove", &path)(e)),
            _ => Ok(()),
        }
    }

    pub fn record_deleted_now(
        &self,
        access_key_id: &str,
        at: DateTime<Utc>,
    ) -> Result<(), SecretsError> {
        if !tags::is_access_key_id(access_key_id) {
            return Ok(());
        }
        for (id, when) in self.scan_deleted_now()? {
            if super::is_old(when, at) {
                let _ = fs::remove_file(self.path(DELETED_PREFIX, &id));
            }
        }
        let path = self.path(DELETED_PREFIX, access_key_id);
        self.dir.injected_fault(access_key_id, &path)?;
        match fs::write(&path, super::deleted_text(at)) {
            // No directory: no files, so nothing of ours to keep apart.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            other => other.map_err(io("write", &path)),
        }
    }

    pub fn scan_deleted_now(&self) -> Result<BTreeMap<String, DateTime<Utc>>, SecretsError> {
        let mut out = BTreeMap::new();
        for (name, path) in self.entries_with_prefix(DELETED_PREFIX)? {
            let text = fs::read_to_string(&path).map_err(io("read", &path))?;
            if let Some(at) = super::parse_deleted(&text) {
                out.insert(name, at);
            }
        }
        Ok(out)
    }

    pub fn scan_creating_now(&self) -> Result<BTreeMap<String, PendingCreate>, SecretsError> {
        let mut out = BTreeMap::new();
        for (workshop, path) in self.entries_with_prefix(CREATING_PREFIX)? {
            let text = fs::read_to_string(&path).map_err(io("read", &path))?;
            if let Some(record) = super::parse_creating(&text) {
                out.insert(claim_of_record(&workshop), record);
            }
        }
        Ok(out)
    }

    /// Files in the directory whose names start with `prefix`: (rest of the name, path).
    fn entries_with_prefix(&self, prefix: &str) -> Result<Vec<(String, PathBuf)>, SecretsError> {
        let dir = self.dir.dir();
        let entries = match fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io("list", dir)(e)),
        };
        let mut out = Vec::new();
        for entry in entries {
            let entry = entry.map_err(io("list", dir))?;
            if let Some(rest) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.strip_prefix(prefix))
            {
                out.push((rest.to_string(), entry.path()));
            }
        }
        Ok(out)
    }

    /// Take the lock file, waiting up to `timeout`.
    pub fn lock_now(&self, timeout: Duration) -> Result<File, LockError> {
        // The schedule was just read, so it resolves; should it vanish meanwhile, the path as
        // given is the best key left.
        let resolved = fs::canonicalize(&self.schedule).unwrap_or_else(|_| self.schedule.clone());
        let mut name = resolved.into_os_string();
        name.push(".lock");
        let path = PathBuf::from(name);
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|source| LockError::Unusable {
                location: path.clone(),
                source,
            })?;
        let started = Instant::now();
        loop {
            match file.try_lock_exclusive() {
                Ok(true) => return Ok(file),
                Ok(false) => {}
                Err(source) => {
                    return Err(LockError::Unusable {
                        location: path,
                        source,
                    })
                }
            }
            if started.elapsed() >= timeout {
                return Err(LockError::Taken { location: path });
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// The lock file, held while open.
struct FileLock(#[allow(dead_code)] File);

impl HeldLock for FileLock {
    fn release(self: Box<Self>) -> BoxFuture<'static, ()> {
        drop(self);
        Box::pin(async {})
    }
}

impl StateStore for LocalState {
    fn begin_create<'a>(
        &'a self,
        workshop: &'a str,
        user: &'a str,
        at: DateTime<Utc>,
        keys_before: Option<&'a BTreeSet<String>>,
    ) -> BoxFuture<'a, Result<(), SecretsError>> {
        Box::pin(async move { self.begin_create_now(workshop, user, at, keys_before) })
    }
    fn end_create<'a>(&'a self, workshop: &'a str) -> BoxFuture<'a, Result<(), SecretsError>> {
        Box::pin(async move { self.end_create_now(workshop) })
    }
    fn record_deleted<'a>(
        &'a self,
        access_key_id: &'a str,
        at: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<(), SecretsError>> {
        Box::pin(async move { self.record_deleted_now(access_key_id, at) })
    }
    fn scan_creating(
        &self,
    ) -> BoxFuture<'_, Result<BTreeMap<String, PendingCreate>, SecretsError>> {
        Box::pin(async move { self.scan_creating_now() })
    }
    fn scan_deleted(&self) -> BoxFuture<'_, Result<BTreeMap<String, DateTime<Utc>>, SecretsError>> {
        Box::pin(async move { self.scan_deleted_now() })
    }
    fn lock(&self, timeout: Duration) -> BoxFuture<'_, Result<Box<dyn HeldLock>, LockError>> {
        Box::pin(async move {
            let file = self.lock_now(timeout)?;
            Ok(Box::new(FileLock(file)) as Box<dyn HeldLock>)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir() -> (tempfile::TempDir, LocalState) {
        let tmp = tempfile::tempdir().unwrap();
        let creds = CredentialsDir::new(tmp.path().join("credentials"));
        let state = LocalState::new(creds, tmp.path().join("workshops.toml"));
        (tmp, state)
    }

    #[test]
    fn creation_records_keep_the_keys_held_before_and_end_cleanly() {
        let (_tmp, state) = dir();
        let t = DateTime::parse_from_rfc3339("2026-12-02T08:00:00Z")
            .unwrap()
            .to_utc();
        let before = BTreeSet::from(["AKIAEXAMPLE000000001".to_string()]);
        state.begin_create_now("a", "wk", t, Some(&before)).unwrap();
        state
            .begin_create_now("b", "wk", t, Some(&BTreeSet::new()))
            .unwrap();
        state.begin_create_now("c", "wk", t, None).unwrap();
        let records = state.scan_creating_now().unwrap();
        assert_eq!(records["a"].keys_before.as_ref(), Some(&before));
        assert_eq!(records["b"].keys_before, Some(BTreeSet::new()));
        assert_eq!(records["c"].keys_before, None);
        assert_eq!((records["a"].user.as_str(), records["a"].at), ("wk", t));
        for w in ["a", "b", "c"] {
            state.end_create_now(w).unwrap();
        }
        assert!(state.scan_creating_now().unwrap().is_empty());
        // Ending a creation twice is fine (a settled record, then the run's own create).
        state.end_create_now("a").unwrap();
    }
}
