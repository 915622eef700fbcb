//! One reconcile at a time: an exclusive lock on `<schedule>.lock`, released by the OS if the
//! process dies, so overlapping cron ticks never both act.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use fs4::fs_std::FileExt;

use super::CommandError;

/// Take the lock, waiting up to `timeout`; held until the returned file is dropped.
pub(super) fn lock(schedule: &Path, timeout: Duration) -> Result<File, CommandError> {
    let mut name = schedule.as_os_str().to_owned();
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
