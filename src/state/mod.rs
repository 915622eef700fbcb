//! What a run remembers between runs besides IAM: the records of recent writes that make slot
//! counting exact (a key creation under way, a key just deleted), and the lock that keeps two
//! reconciles of one schedule apart. `local` keeps them next to the schedule; `s3` as objects
//! in a bucket, so that any host holding only the schedule can take its turn.

pub mod local;
pub mod s3;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;

use crate::core::observed::PendingCreate;
use crate::store::SecretsError;

/// The third line of a creation record: the keys the user held just before.
const KEYS_BEFORE: &str = "keys before: ";

/// Records older than this were never seen through; IAM shows any key they made by now.
pub(crate) const RECORD_LIFE: chrono::TimeDelta = chrono::TimeDelta::days(1);

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another run holds the lock (exit 3).
    #[error("the lock {} is held by another run", location.display())]
    Taken { location: PathBuf },
    #[error("cannot use the lock {}: {source}", location.display())]
    Unusable {
        location: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// A lock this run holds. Released by `release` (or, for a local lock, when the process ends).
pub trait HeldLock: Send {
    fn release(self: Box<Self>) -> BoxFuture<'static, ()>;
}

/// The records of recent writes, and the lock. No secret ever goes here.
pub trait StateStore: Send + Sync {
    /// Record, before `CreateAccessKey`, that a key for `workshop` on `user` is being made: if
    /// the run dies before the key's bundle is written, the next run knows a key it cannot see
    /// may take a slot. `keys_before` (the keys IAM lists on the user now) lets a later run
    /// recognise that key once IAM lists it.
    fn begin_create<'a>(
        &'a self,
        workshop: &'a str,
        user: &'a str,
        at: DateTime<Utc>,
        keys_before: Option<&'a BTreeSet<String>>,
    ) -> BoxFuture<'a, Result<(), SecretsError>>;

    /// The creation for `workshop` is seen through (its bundle is written, or no key was made).
    fn end_create<'a>(&'a self, workshop: &'a str) -> BoxFuture<'a, Result<(), SecretsError>>;

    /// Record that `access_key_id` was deleted at `at`: IAM may list it for a while yet, and
    /// it must not be counted, or deleted again to make room.
    fn record_deleted<'a>(
        &'a self,
        access_key_id: &'a str,
        at: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<(), SecretsError>>;

    /// Creations started and not seen through, by workshop id.
    fn scan_creating(&self)
        -> BoxFuture<'_, Result<BTreeMap<String, PendingCreate>, SecretsError>>;

    /// Keys recorded as deleted, and when.
    fn scan_deleted(&self) -> BoxFuture<'_, Result<BTreeMap<String, DateTime<Utc>>, SecretsError>>;

    /// Take the lock, waiting up to `timeout`.
    fn lock(&self, timeout: Duration) -> BoxFuture<'_, Result<Box<dyn HeldLock>, LockError>>;
}

/// A creation record's text: user, time, and the keys held before (when known).
pub(crate) fn creating_text(
    user: &str,
    at: DateTime<Utc>,
    keys_before: Option<&BTreeSet<String>>,
) -> String {
    let mut record = format!("{user}\n{}\n", crate::time::format_time(at));
    if let Some(keys) = keys_before {
        let ids: Vec<&str> = keys.iter().map(String::as_str).collect();
        record.push_str(&format!("{KEYS_BEFORE}{}\n", ids.join(" ")));
    }
    record
}

/// The creation record in `text`, if it is one.
pub(crate) fn parse_creating(text: &str) -> Option<PendingCreate> {
    let mut lines = text.lines();
    let (user, at) = (
        lines.next()?,
        lines.next().and_then(crate::time::parse_time)?,
    );
    let keys_before = lines
        .next()
        .and_then(|l| l.strip_prefix(KEYS_BEFORE))
        .map(|ids| ids.split_whitespace().map(str::to_string).collect());
    Some(PendingCreate {
        user: user.to_string(),
        at,
        keys_before,
    })
}

/// A deletion record's text: the time.
pub(crate) fn deleted_text(at: DateTime<Utc>) -> String {
    format!("{}\n", crate::time::format_time(at))
}

pub(crate) fn parse_deleted(text: &str) -> Option<DateTime<Utc>> {
    crate::time::parse_time(text.trim())
}

/// A record is old when it is further than a day from `at` (either way: `--at` replays).
pub(crate) fn is_old(record: DateTime<Utc>, at: DateTime<Utc>) -> bool {
    (at - record).abs() > RECORD_LIFE
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creation_records_read_back() {
        let at = crate::time::parse_time("2026-12-02T08:00:00Z").unwrap();
        let before = BTreeSet::from(["AKIAEXAMPLE000000001".to_string()]);
        let r = parse_creating(&creating_text("wk", at, Some(&before))).unwrap();
        assert_eq!((r.user.as_str(), r.at), ("wk", at));
        assert_eq!(r.keys_before, Some(before));
        assert_eq!(
            parse_creating(&creating_text("wk", at, None))
                .unwrap()
                .keys_before,
            None
        );
        assert_eq!(parse_deleted(&deleted_text(at)), Some(at));
        assert!(parse_creating("junk").is_none());
    }
}
