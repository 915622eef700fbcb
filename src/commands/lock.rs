//! One reconcile at a time: an exclusive lock on `<schedule>.lock`, released by the OS if the
//! process dies, so overlapping cron ticks never both act. The lock sits next to the schedule's
//! fully resolved path, so every spelling of it (relative, absolute, through a symlink) shares
//! one lock.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use fs4::fs_std::FileExt;

use super::CommandError;

/// Take the lock, waiting up to `timeout`; held until the returned file is dropped.
pub(super) fn lock(schedule: &Path, timeout: Duration) -> Result<File, CommandError> {
    // The schedule was just read, so it resolves; should it vanish meanwhile, the path as
    // given is the best key left.
    let resolved = std::fs::canonicalize(schedule).unwrap_or_else(|_| schedule.to_path_buf());
    let mut name = resolved.into_os_string();
    name.push(".lock");
    let path = PathBuf::from(name);
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|source| CommandError::LockFile {
            path: path.clone(),
            source,
        })?;
    let started = Instant::now();
    loop {
        match file.try_lock_exclusive() {
            Ok(true) => return Ok(file),
            Ok(false) => {}
            Err(source) => return Err(CommandError::LockFile { path, source }),
        }
        if started.elapsed() >= timeout {
            return Err(CommandError::Locked { path });
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
