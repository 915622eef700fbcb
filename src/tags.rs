//! The IAM user tags through which the tool keeps its state in IAM itself, so that any machine
//! running it sees the same thing.

use std::collections::BTreeMap;

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
pub fn tags_of_key(key_id: &str) -> [String; 4] {
    [
        key_id.to_string(),
        deactivated_tag(key_id),
        verified_tag(key_id),
        delivered_tag(key_id),
    ]
}

pub fn format_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

pub fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s.split_whitespace().next()?)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}
