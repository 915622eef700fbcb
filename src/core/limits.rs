//! The IAM quotas the tool can meet, defined once. The emulator enforces only the two-key limit,
//! so the others are checked by the tool itself where AWS would refuse (`validate`, the planner).

use chrono::TimeDelta;

/// Access keys per IAM user, active or not.
pub const KEYS_PER_USER: usize = 2;
/// Characters in an IAM user name.
pub const USER_NAME_CHARS: usize = 64;
/// Non-whitespace characters of all of one user's inline policies together.
pub const INLINE_POLICY_CHARS: usize = 2_048;
/// Tags on one IAM user.
pub const TAGS_PER_USER: usize = 50;
/// Characters in a tag key and in a tag value.
pub const TAG_KEY_CHARS: usize = 128;
pub const TAG_VALUE_CHARS: usize = 256;
/// Characters in an access key id AWS issues to IAM users (`AKIA` + 16).
pub const ACCESS_KEY_ID_CHARS: usize = 20;

/// AWS accepts a short-term Bedrock API key for at most 12 hours (`X-Amz-Expires` <= 43,200).
pub const BEDROCK_API_KEY_MAX_LIFE: TimeDelta = TimeDelta::hours(12);

/// How long a key the tool just wrote may stay invisible in IAM reads before the tool stops
/// waiting for it: IAM is eventually consistent.
pub const VISIBILITY_WINDOW: TimeDelta = TimeDelta::minutes(15);

/// How IAM measures a policy against its size quotas: white space does not count.
pub fn policy_chars(document: &str) -> usize {
    document.chars().filter(|c| !c.is_whitespace()).count()
}
