//! Participants and the user pool: labels, pool user names, and the claim that ties a key to a
//! participant. Pure; one definition of each name so planner, stores and views agree.

/// The most participants a workshop may have.
pub const MAX_PARTICIPANTS: u32 = 1_000;
/// The most users a pool may have: IAM allows 5,000 users per account; the rest are the
/// operator's.
pub const MAX_POOL_SIZE: u32 = 4_900;
/// `settings.pool` when not set.
pub const DEFAULT_POOL: &str = "workshop-participant";
/// `settings.pool_size` when not set.
pub const DEFAULT_POOL_SIZE: u32 = 100;
/// Between a workshop id and a participant label in a claim (`ws/p07`); workshop ids never
/// hold it.
pub const CLAIM_SEPARATOR: char = '/';

/// The labels of a workshop with `n` participants: `p01`..`p12` for 12, zero-padded to the width
/// of `n`.
pub fn labels(n: u32) -> Vec<String> {
    let width = n.to_string().len();
    (1..=n).map(|i| format!("p{i:0width$}")).collect()
}

/// The name of pool user `i` (1-based): `<pool>-001`, at least three digits.
pub fn pool_user(pool: &str, i: u32) -> String {
    format!("{pool}-{i:03}")
}

/// The number of a pool user, when `name` is one of `pool`'s users within `size`.
pub fn pool_index(pool: &str, size: u32, name: &str) -> Option<u32> {
    let digits = name.strip_prefix(pool)?.strip_prefix('-')?;
    if digits.len() < 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let i: u32 = digits.parse().ok()?;
    (1..=size)
        .contains(&i)
        .then_some(i)
        .filter(|i| pool_user(pool, *i) == name)
}

/// What a key's claim tag holds: the workshop id for a shared key, `ws/label` for a
/// participant's key.
pub fn claim(workshop: &str, participant: Option<&str>) -> String {
    match participant {
        Some(label) => format!("{workshop}{CLAIM_SEPARATOR}{label}"),
        None => workshop.to_string(),
    }
}

/// The workshop and participant a claim names.
pub fn parse_claim(claim: &str) -> (&str, Option<&str>) {
    match claim.split_once(CLAIM_SEPARATOR) {
        Some((workshop, label)) => (workshop, Some(label)),
        None => (claim, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_padded_to_the_width_of_n() {
        assert_eq!(labels(3), ["p1", "p2", "p3"]);
        assert_eq!(labels(12)[0], "p01");
        assert_eq!(labels(12)[11], "p12");
        assert_eq!(labels(100)[6], "p007");
        assert_eq!(labels(MAX_PARTICIPANTS).len(), 1_000);
    }

    #[test]
    fn pool_users_round_trip() {
        assert_eq!(pool_user("wp", 7), "wp-007");
        assert_eq!(pool_user("wp", 4_900), "wp-4900");
        assert_eq!(pool_index("wp", 100, "wp-007"), Some(7));
        assert_eq!(pool_index("wp", 100, "wp-101"), None);
        assert_eq!(pool_index("wp", 100, "wp-07"), None);
        assert_eq!(pool_index("wp", 100, "wp-0007"), None);
        assert_eq!(pool_index("wp", 100, "wpx-007"), None);
        assert_eq!(pool_index("wp", 5_000, "wp-4900"), Some(4_900));
    }

    #[test]
    fn claims_round_trip() {
        assert_eq!(claim("ws", None), "ws");
        assert_eq!(claim("ws", Some("p07")), "ws/p07");
        assert_eq!(parse_claim("ws/p07"), ("ws", Some("p07")));
        assert_eq!(parse_claim("ws"), ("ws", None));
    }
}
