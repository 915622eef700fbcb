//! The IAM user tags through which the tool keeps its state in IAM itself, so that any machine
//! running it sees the same thing.

use std::collections::BTreeMap;

use crate::time::{format_time, parse_time};
use chrono::{DateTime, Utc};

/// Marks a user as the tool's to manage.
pub const MANAGED_BY_KEY: &str = "managed-by";
pub const MANAGED_BY_VALUE: &str = "workshop-keys";
/// `workshop-keys:deactivated:<key id>` = RFC 3339 time the key was deactivated.
pub const DEACTIVATED_PREFIX: &str = "workshop-keys:deactivated:";
/// `workshop-keys:verified:<key id>` = `<RFC 3339 time> <outcome>` of the last Bedrock check.
pub const VERIFIED_PREFIX: &str = "workshop-keys:verified:";
/// `workshop-keys:delivered:<key id>` = RFC 3339 time the `deliver` command took the key.
pub const DELIVERED_PREFIX: &str = "workshop-keys:delivered:";
/// `workshop-keys:quarantined` = `<RFC 3339 time> <key id> ...`: when the tool first saw AWS's
/// quarantine policy on the user, and the keys the user held then (their secrets are exposed).
pub const QUARANTINED: &str = "workshop-keys:quarantined";
/// The most tags the tool keeps on one user: managed-by, the quarantine record, and for each of
/// the two keys its claim and three bookkeeping tags. The rest of IAM's 50 are the operator's.
pub const MAX_OWN_TAGS: usize = 2 + crate::core::limits::KEYS_PER_USER * TAGS_PER_KEY;
/// Tags the tool writes about one key (its claim and three bookkeeping tags).
pub const TAGS_PER_KEY: usize = 4;

pub fn is_managed(tags: &BTreeMap<String, String>) -> bool {
    tags.get(MANAGED_BY_KEY).map(String::as_str) == Some(MANAGED_BY_VALUE)
}

/// Access key ids are 16-128 characters of upper-case letters and digits, `AKIA...` for users.
/// A tag with such a key is a claim: its value is the workshop id that owns the key.
pub fn is_access_key_id(s: &str) -> bool {
    (16..=128).contains(&s.len())
        && s.starts_with("AKIA")
        && s.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

pub fn deactivated_tag(key_id: &str) -> String {
    format!("{DEACTIVATED_PREFIX}{key_id}")
}

pub fn verified_tag(key_id: &str) -> String {
    format!("{VERIFIED_PREFIX}{key_id}")
}

pub fn delivered_tag(key_id: &str) -> String {
    format!("{DELIVERED_PREFIX}{key_id}")
}

/// The key id a bookkeeping tag is about, if it is one of ours.
pub fn bookkeeping_key_id(tag: &str) -> Option<&str> {
    [DEACTIVATED_PREFIX, VERIFIED_PREFIX, DELIVERED_PREFIX]
        .iter()
        .find_map(|p| tag.strip_prefix(p))
}

/// Every tag that concerns one key: its claim and its bookkeeping.
pub fn tags_of_key(key_id: &str) -> [String; TAGS_PER_KEY] {
    [
        key_id.to_string(),
        deactivated_tag(key_id),
        verified_tag(key_id),
        delivered_tag(key_id),
    ]
}

/// The quarantine record's value.
pub fn quarantined_value(since: DateTime<Utc>, keys: &[String]) -> String {
    std::iter::once(format_time(since))
        .chain(keys.iter().cloned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// When the quarantine was first seen, and the keys the user held then.
pub fn parse_quarantined(value: &str) -> (Option<DateTime<Utc>>, Vec<String>) {
    let mut words = value.split_whitespace();
    let since = words.next().and_then(parse_time);
    (since, words.map(str::to_string).collect())
}

/// A tag the tool writes or removes itself (as opposed to the operator's own tags).
pub fn is_own(tag: &str) -> bool {
    tag == MANAGED_BY_KEY
        || tag == QUARANTINED
        || is_access_key_id(tag)
        || bookkeeping_key_id(tag).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::limits::{ACCESS_KEY_ID_CHARS, TAG_KEY_CHARS, TAG_VALUE_CHARS};

    /// IAM refuses tag keys over 128 characters: the longest key the tool writes, for an access
    /// key id of the length AWS issues, stays well inside.
    #[test]
    fn own_tag_keys_fit_iams_quota() {
        let id = "AKIA".to_string() + &"Z".repeat(ACCESS_KEY_ID_CHARS - 4);
        for key in tags_of_key(&id)
            .iter()
            .map(String::as_str)
            .chain([QUARANTINED])
        {
            assert!(key.len() <= TAG_KEY_CHARS, "{key}");
        }
        let record = quarantined_value(DateTime::UNIX_EPOCH, &[id.clone(), id.clone()]);
        assert!(record.len() <= TAG_VALUE_CHARS);
        assert_eq!(
            parse_quarantined(&record),
            (Some(DateTime::UNIX_EPOCH), vec![id.clone(), id])
        );
        assert_eq!(MAX_OWN_TAGS, 10);
    }
}
