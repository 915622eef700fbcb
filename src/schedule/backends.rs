//! `settings.store`, `settings.secrets_prefix`, `settings.state` and `settings.lock_lease`:
//! where secrets and the records of recent writes live. Checks return a located `Problem`.

use chrono::TimeDelta;

use super::fields::Problem;

/// Default of `secrets_prefix`.
pub const DEFAULT_SECRETS_PREFIX: &str = "workshop-keys/";
/// Default of `lock_lease`.
pub const DEFAULT_LOCK_LEASE: TimeDelta = TimeDelta::minutes(10);

/// Where credentials bundles go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StoreKind {
    /// `<credentials_dir>/<workshop>.env`.
    #[default]
    Files,
    /// The secret `<secrets_prefix><workshop>` in AWS Secrets Manager.
    SecretsManager,
}

/// `state = "s3://BUCKET/PREFIX"`: records and the lock as objects under `prefix`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Location {
    pub bucket: String,
    /// Without a trailing '/'; may be empty (the bucket's root).
    pub prefix: String,
}

impl S3Location {
    /// The object key of `name` under the prefix.
    pub fn key(&self, name: &str) -> String {
        if self.prefix.is_empty() {
            name.to_string()
        } else {
            format!("{}/{name}", self.prefix)
        }
    }

    /// `s3://bucket/key` of `name`, for messages.
    pub fn url(&self, name: &str) -> String {
        format!("s3://{}/{}", self.bucket, self.key(name))
    }
}

/// The store and state settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Backends {
    pub store: StoreKind,
    pub secrets_prefix: String,
    /// `None`: next to the schedule (the credentials directory and `<schedule>.lock`).
    pub state: Option<S3Location>,
    /// How long an S3 lock outlives a holder that stopped renewing it.
    pub lock_lease: TimeDelta,
}

impl Default for Backends {
    fn default() -> Self {
        Backends {
            store: StoreKind::Files,
            secrets_prefix: DEFAULT_SECRETS_PREFIX.to_string(),
            state: None,
            lock_lease: DEFAULT_LOCK_LEASE,
        }
    }
}

pub(super) fn check_store(value: &str) -> Result<StoreKind, Problem> {
    match value {
        "files" => Ok(StoreKind::Files),
        "secretsmanager" => Ok(StoreKind::SecretsManager),
        other => Err(Problem::new(format!(
            "store {other:?} is not known: it is \"files\" or \"secretsmanager\""
        ))
        .hint("write store = \"files\" (credentials files next to the schedule) or store = \"secretsmanager\" (AWS Secrets Manager)")),
    }
}

/// A Secrets Manager name prefix: the characters secret names allow, ending in '/' or '-'
/// by convention but not necessarily; at most 256 characters with the workshop id.
pub(super) fn check_secrets_prefix(value: &str) -> Result<(), Problem> {
    let ok = !value.is_empty()
        && value.len() <= 180
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/_+=.@-".contains(c));
    if ok {
        Ok(())
    } else {
        Err(Problem::new(format!(
            "secrets_prefix {value:?} cannot start a Secrets Manager secret name: use 1-180 characters of A-Za-z0-9/_+=.@-"
        ))
        .hint(format!("e.g. secrets_prefix = \"{DEFAULT_SECRETS_PREFIX}\"")))
    }
}

/// `s3://BUCKET/PREFIX`, with a bucket name S3 allows.
pub(super) fn check_state(value: &str) -> Result<S3Location, Problem> {
    let hint = || {
        "write state = \"s3://my-bucket/workshop-keys\" (the bucket must exist; workshop-keys never creates one), or remove state to keep it next to the schedule".to_string()
    };
    let Some(rest) = value.strip_prefix("s3://") else {
        return Err(Problem::new(format!(
            "state {value:?} is not an S3 location: it starts with s3://"
        ))
        .hint(hint()));
    };
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    let bucket_ok = (3..=63).contains(&bucket.len())
        && bucket
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-.".contains(&b))
        && bucket.starts_with(|c: char| c.is_ascii_alphanumeric())
        && bucket.ends_with(|c: char| c.is_ascii_alphanumeric());
    if !bucket_ok {
        return Err(Problem::new(format!(
            "state {value:?} names no valid bucket: {bucket:?} must be 3-63 characters of a-z0-9.-"
        ))
        .hint(hint()));
    }
    let prefix = prefix.trim_end_matches('/');
    if prefix.split('/').any(|p| p == "." || p == "..") || prefix.contains("//") {
        return Err(Problem::new(format!(
            "state {value:?} has an empty, '.' or '..' part in its prefix"
        ))
        .hint(hint()));
    }
    Ok(S3Location {
        bucket: bucket.to_string(),
        prefix: prefix.to_string(),
    })
}

/// A lease long enough to renew (every third of it) over a slow network.
pub(super) fn check_lock_lease(lease: TimeDelta) -> Result<(), Problem> {
    if lease < TimeDelta::seconds(3) || lease > TimeDelta::hours(24) {
        return Err(Problem::new("lock_lease must be between 3s and 24h").hint(
            "e.g. lock_lease = \"10m\" (renewed every third of it while a run holds the lock)",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values() {
        assert_eq!(
            check_store("secretsmanager").unwrap(),
            StoreKind::SecretsManager
        );
        assert!(check_store("vault").is_err());
        assert!(check_secrets_prefix("workshop-keys/").is_ok());
        assert!(check_secrets_prefix("bad prefix").is_err());
        let l = check_state("s3://my-bucket/team/wk/").unwrap();
        assert_eq!(
            (l.bucket.as_str(), l.key("lock")),
            ("my-bucket", "team/wk/lock".into())
        );
        assert_eq!(check_state("s3://my-bucket").unwrap().key("lock"), "lock");
        assert!(check_state("/tmp/state").is_err());
        assert!(check_state("s3://My_Bucket/x").is_err());
        assert!(check_lock_lease(TimeDelta::seconds(1)).is_err());
        assert!(check_lock_lease(TimeDelta::minutes(10)).is_ok());
    }
}
