//! Capacity: no user may need more than two keys at one moment.
//!
//! A workshop needs its key on its user from `start - lead` to `end + grace` (half-open). A
//! sweep over those intervals, per user, finds every moment a workshop's key would be the third
//! (or later) one: that workshop is where the collision is reported, together with the
//! workshops it collides with and the span during which all of them need keys at once.
//! O(n log n) in the number of workshops.

use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, Utc};

use super::Workshop;
use crate::core::occupancy::Sweep;
use crate::time::rfc3339_utc;

pub use crate::core::limits::KEYS_PER_USER as MAX_KEYS_PER_USER;

/// Workshops named in a message before it says "and N more".
const MAX_NAMED: usize = 6;

/// One collision: workshop `at` joins a user that already needs `count - 1` keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collision {
    pub user: String,
    /// Index (into the slice given to `collisions`) of the workshop whose key is one too many.
    pub at: usize,
    /// How many keys `user` would need during `from..to` (at least 3).
    pub count: usize,
    /// The workshops needing them, in slice order (always including `at`); when there are many,
    /// only the first few and `at`.
    pub workshops: Vec<usize>,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

impl Collision {
    /// `user U would need 3 keys at once from A to B (workshops a, b, c); AWS allows two per user`
    pub fn message(&self, workshops: &[Workshop]) -> String {
        let name = |i: usize| workshops.get(i).map_or("?", |w| w.id.as_str());
        let count = self.count;
        let mut names = self
            .workshops
            .iter()
            .map(|&i| name(i))
            .collect::<Vec<_>>()
            .join(", ");
        if count > self.workshops.len() {
            names.push_str(&format!(" and {} more", count - self.workshops.len()));
        }
        format!(
            "user {} would need {count} keys at once from {} to {} (workshops {names}); \
             AWS allows two per user",
            self.user,
            rfc3339_utc(self.from),
            rfc3339_utc(self.to)
        )
    }

    pub fn hint(&self) -> String {
        "move one workshop to another `user = ...`, or shorten lead/grace".to_string()
    }
}

/// The workshops (by index) whose shared key each user holds, and the users in name order.
/// Participants' keys live on the pool, checked by `pool_capacity`.
fn shared_keys_by_user(workshops: &[Workshop]) -> (HashMap<&str, Vec<usize>>, Vec<&str>) {
    let mut by_user: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, w) in workshops.iter().enumerate() {
        if w.participants.is_none() {
            by_user.entry(w.user.as_str()).or_default().push(i);
        }
    }
    let mut users: Vec<&str> = by_user.keys().copied().collect();
    users.sort_unstable();
    (by_user, users)
}

/// Every collision, one per workshop whose key would exceed `MAX_KEYS_PER_USER`.
/// `workshops` should be sorted by (start, id): workshops that join at the same moment are taken
/// in slice order, so the "third" one is the third in the schedule's order.
pub fn collisions(workshops: &[Workshop]) -> Vec<Collision> {
    let (by_user, users) = shared_keys_by_user(workshops);

    let mut found = Vec::new();
    for user in users {
        sweep(user, &by_user[user], workshops, &mut found);
    }
    found
}

fn sweep(user: &str, members: &[usize], workshops: &[Workshop], found: &mut Vec<Collision>) {
    if members.len() <= MAX_KEYS_PER_USER {
        return;
    }
    // Keys are needed over `[key_from, revoke_at)`; joins at one moment go in slice order.
    let mut keys = Sweep::new(members.iter().map(|&i| {
        let w = &workshops[i];
        (w.key_from(), w.revoke_at(), i)
    }));
    while let Some(step) = keys.next() {
        let active = keys.open();
        if !step.opened || active.len() <= MAX_KEYS_PER_USER {
            continue;
        }
        let i = step.key;
        let to = keys
            .earliest_end()
            .unwrap_or_else(|| workshops[i].revoke_at());
        // Name at most a few: a pathological schedule could have thousands active at once.
        let listed: Vec<usize> = if active.len() <= MAX_NAMED {
            active.iter().copied().collect()
        } else {
            let mut v: Vec<usize> = active
                .iter()
                .copied()
                .filter(|&j| j != i)
                .take(MAX_NAMED - 1)
                .collect();
            v.push(i);
            v
        };
        found.push(Collision {
            user: user.to_string(),
            at: i,
            count: active.len(),
            workshops: listed,
            from: step.at,
            to,
        });
    }
}

/// A rotation `rotate_after` asks for that cannot happen on time: when the key of workshop
/// `at` is due for replacement, another workshop (`other`) holds the user's second key, and a
/// rotation needs a third one (old and new key side by side for `rotation_overlap`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotationConflict {
    pub user: String,
    /// Index (into the slice given to `rotation_conflicts`) of the workshop whose key is due.
    pub at: usize,
    /// The workshop whose key is live on the same user at `due`.
    pub other: usize,
    /// The first rotation that cannot happen on time.
    pub due: DateTime<Utc>,
    /// The key due at `due` stays active until then (a later rotation, or `end + grace`).
    pub live_until: DateTime<Utc>,
    /// How long that key is live, against `rotate_after + rotation_overlap` at most.
    pub lives: TimeDelta,
    pub rotate_after: TimeDelta,
    pub overlap: TimeDelta,
}

impl RotationConflict {
    pub fn message(&self, workshops: &[Workshop]) -> String {
        let name = |i: usize| workshops.get(i).map_or("?", |w| w.id.as_str());
        let other_until = workshops.get(self.other).map(|w| w.revoke_at());
        format!(
            "rotate_after = \"{}\" cannot be honoured for workshop {}: its key is due for rotation at {}, \
             but user {} then also holds the key of workshop {}{}, and a rotation needs a third key \
             for rotation_overlap ({}); the key stays active until {}, {} instead of at most {}",
            crate::time::human(self.rotate_after),
            name(self.at),
            rfc3339_utc(self.due),
            self.user,
            name(self.other),
            other_until.map_or(String::new(), |t| format!(" (until {})", rfc3339_utc(t))),
            crate::time::human(self.overlap),
            rfc3339_utc(self.live_until),
            crate::time::human(self.lives),
            crate::time::human(self.rotate_after + self.overlap),
        )
    }

    pub fn hint(&self, workshops: &[Workshop]) -> String {
        let name = |i: usize| workshops.get(i).map_or("?", |w| w.id.as_str());
        format!(
            "give workshop {} or {} a `user = ...` of its own, or accept the longer key life \
             (a warning: the schedule is valid)",
            name(self.at),
            name(self.other)
        )
    }
}

/// Every workshop whose key `rotate_after` cannot replace on time because another workshop's
/// key is live on the same user when the rotation is due (the planner then postpones it until
/// a slot is free). One conflict per workshop: its first late rotation. Linear in the pairs of
/// overlapping windows (few, when the capacity check passes).
pub fn rotation_conflicts(
    workshops: &[Workshop],
    rotate_after: TimeDelta,
    overlap: TimeDelta,
) -> Vec<RotationConflict> {
    if rotate_after <= TimeDelta::zero() {
        return Vec::new();
    }
    let (by_user, users) = shared_keys_by_user(workshops);
    let mut found = Vec::new();
    for user in users {
        let mut members = by_user[user].clone();
        members.sort_by_key(|&i| (workshops[i].key_from(), i));
        // Windows overlapping each workshop's, found by a forward scan over the sorted list.
        let mut overlapping: HashMap<usize, Vec<usize>> = HashMap::new();
        for (n, &i) in members.iter().enumerate() {
            for &j in &members[n + 1..] {
                if workshops[j].key_from() >= workshops[i].revoke_at() {
                    break;
                }
                overlapping.entry(i).or_default().push(j);
                overlapping.entry(j).or_default().push(i);
            }
        }
        for &i in &members {
            let Some(others) = overlapping.get(&i) else {
                continue;
            };
            let w = &workshops[i];
            let (from, until) = (w.key_from(), w.revoke_at());
            // The first due moment (from + k * rotate_after, worth doing) inside another's
            // window; the earlier ones happen on time.
            let first = others
                .iter()
                .filter_map(|&j| {
                    let x = &workshops[j];
                    let since = (x.key_from() - from).max(rotate_after);
                    let k = ceil_div(since, rotate_after);
                    let due = from + rotate_after * k;
                    (due < x.revoke_at() && due + overlap < until).then_some((due, j))
                })
                .min();
            let Some((due, other)) = first else {
                continue;
            };
            // The planner rotates at the first moment no other key is live, if still worth it.
            let mut t = due;
            while let Some(x) = others
                .iter()
                .map(|&j| &workshops[j])
                .find(|x| x.key_from() <= t && t < x.revoke_at())
            {
                t = x.revoke_at();
            }
            let live_until = if t + overlap < until {
                t + overlap
            } else {
                until
            };
            found.push(RotationConflict {
                user: user.to_string(),
                at: i,
                other,
                due,
                live_until,
                lives: live_until - (due - rotate_after),
                rotate_after,
                overlap,
            });
        }
    }
    found.sort_by_key(|c| c.at);
    found
}

/// `ceil(a / b)` for positive `b`, at least 1.
fn ceil_div(a: TimeDelta, b: TimeDelta) -> i32 {
    let (a, b) = (a.num_seconds(), b.num_seconds().max(1));
    ((a + b - 1) / b).clamp(1, i32::MAX as i64) as i32
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn ws(id: &str, user: &str, start: &str, end: &str) -> Workshop {
        Workshop {
            id: id.into(),
            title: None,
            start: at(start),
            end: at(end),
            user: user.into(),
            lead: TimeDelta::hours(24),
            grace: TimeDelta::hours(1),
            participants: None,
            models: vec![],
            line: 1,
        }
    }

    const U: &str = "workshop-bedrock-user";

    #[test]
    fn two_at_once_is_fine() {
        let w = vec![
            ws("a", U, "2026-12-03T08:00:00Z", "2026-12-03T16:00:00Z"),
            ws("b", U, "2026-12-03T08:00:00Z", "2026-12-03T16:00:00Z"),
        ];
        assert!(collisions(&w).is_empty());
    }

    #[test]
    fn three_at_once_is_reported_at_the_third() {
        let w = vec![
            ws("a", U, "2026-12-03T08:00:00Z", "2026-12-03T16:00:00Z"),
            ws("b", U, "2026-12-03T08:00:00Z", "2026-12-03T16:00:00Z"),
            ws("c", U, "2026-12-03T08:00:00Z", "2026-12-03T16:00:00Z"),
        ];
        let c = collisions(&w);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].at, 2);
        assert_eq!(
            c[0].message(&w),
            "user workshop-bedrock-user would need 3 keys at once from 2026-12-02T08:00:00Z \
             to 2026-12-03T17:00:00Z (workshops a, b, c); AWS allows two per user"
        );
        assert_eq!(
            c[0].hint(),
            "move one workshop to another `user = ...`, or shorten lead/grace"
        );
    }

    #[test]
    fn span_is_where_all_of_them_overlap() {
        let w = vec![
            ws("a", U, "2026-12-01T08:00:00Z", "2026-12-01T16:00:00Z"), // key 11-30 08:00 .. 12-01 17:00
            ws("b", U, "2026-12-01T12:00:00Z", "2026-12-02T16:00:00Z"), // key 11-30 12:00 .. 12-02 17:00
            ws("c", U, "2026-12-01T20:00:00Z", "2026-12-03T16:00:00Z"), // key 11-30 20:00 .. 12-03 17:00
        ];
        let c = collisions(&w);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].at, 2);
        assert_eq!(c[0].from, at("2026-11-30T20:00:00Z"));
        assert_eq!(c[0].to, at("2026-12-01T17:00:00Z"));
    }

    #[test]
    fn half_open_intervals_touching_do_not_collide() {
        // b's key is needed exactly from the moment a's stops being needed.
        let mut w = vec![
            ws("a", U, "2026-12-02T08:00:00Z", "2026-12-02T16:00:00Z"),
            ws("x", U, "2026-12-02T08:00:00Z", "2026-12-04T16:00:00Z"),
            ws("b", U, "2026-12-03T17:00:00Z", "2026-12-03T18:00:00Z"),
        ];
        w[2].lead = TimeDelta::hours(24);
        assert_eq!(w[0].revoke_at(), at("2026-12-02T17:00:00Z"));
        assert_eq!(w[2].key_from(), at("2026-12-02T17:00:00Z"));
        assert!(collisions(&w).is_empty());
    }

    #[test]
    fn a_rotation_that_needs_a_third_key_is_found_with_its_consequence() {
        // Two 7-day workshops on one user: a's key is due at key_from + 2d, b holds the other
        // slot until its end + grace, so a's key lives until then (or until a's own end).
        let w = vec![
            ws("a", U, "2026-12-02T09:00:00Z", "2026-12-09T09:00:00Z"),
            ws("b", U, "2026-12-02T09:00:00Z", "2026-12-09T09:00:00Z"),
        ];
        let c = rotation_conflicts(&w, TimeDelta::days(2), TimeDelta::hours(1));
        assert_eq!(c.len(), 2);
        assert_eq!((c[0].at, c[0].other), (0, 1));
        assert_eq!(c[0].due, at("2026-12-03T09:00:00Z"));
        assert_eq!(c[0].live_until, at("2026-12-09T10:00:00Z"));
        assert_eq!(c[0].lives, TimeDelta::hours(8 * 24 + 1));
        // Alone, or one after the other on the user: nothing to say.
        assert!(rotation_conflicts(&w[..1], TimeDelta::days(2), TimeDelta::hours(1)).is_empty());
        let apart = vec![
            ws("a", U, "2026-12-02T09:00:00Z", "2026-12-09T09:00:00Z"),
            ws("b", U, "2026-12-11T09:00:00Z", "2026-12-12T09:00:00Z"),
        ];
        assert!(rotation_conflicts(&apart, TimeDelta::days(2), TimeDelta::hours(1)).is_empty());
        // A short overlap late in a long workshop: the rotation due then waits for the slot.
        let late = vec![
            ws("long", U, "2026-12-02T09:00:00Z", "2026-12-20T09:00:00Z"),
            ws("short", U, "2026-12-06T09:00:00Z", "2026-12-06T17:00:00Z"),
        ];
        let c = rotation_conflicts(&late, TimeDelta::days(2), TimeDelta::hours(1));
        assert_eq!(c.len(), 1, "{c:?}");
        assert_eq!(c[0].due, at("2026-12-05T09:00:00Z"));
        assert_eq!(c[0].live_until, at("2026-12-06T19:00:00Z"));
        // A rotation that is due only after the other workshop is over: on time.
        let after = vec![
            ws("long", U, "2026-12-02T09:00:00Z", "2026-12-20T09:00:00Z"),
            ws("short", U, "2026-12-02T20:00:00Z", "2026-12-02T22:00:00Z"),
        ];
        assert!(rotation_conflicts(&after, TimeDelta::days(2), TimeDelta::hours(1)).is_empty());
    }

    #[test]
    fn different_users_do_not_collide() {
        let w = vec![
            ws("a", U, "2026-12-03T08:00:00Z", "2026-12-03T16:00:00Z"),
            ws("b", U, "2026-12-03T08:00:00Z", "2026-12-03T16:00:00Z"),
            ws("c", "other", "2026-12-03T08:00:00Z", "2026-12-03T16:00:00Z"),
        ];
        assert!(collisions(&w).is_empty());
    }

    #[test]
    fn each_extra_workshop_is_reported_once() {
        let w = vec![
            ws("a", U, "2026-12-03T08:00:00Z", "2026-12-03T16:00:00Z"),
            ws("b", U, "2026-12-03T08:00:00Z", "2026-12-03T16:00:00Z"),
            ws("c", U, "2026-12-03T08:00:00Z", "2026-12-03T16:00:00Z"),
            ws("d", U, "2026-12-03T09:00:00Z", "2026-12-03T16:00:00Z"),
        ];
        let c = collisions(&w);
        assert_eq!(c.len(), 2);
        assert_eq!((c[0].at, c[0].count), (2, 3));
        assert_eq!((c[1].at, c[1].count), (3, 4));
        assert!(c[1].message(&w).contains("4 keys at once"));
        assert!(c[1].message(&w).contains("(workshops a, b, c, d)"));
    }

    #[test]
    fn many_at_once_names_a_few() {
        let w: Vec<Workshop> = (0..50)
            .map(|i| {
                ws(
                    &format!("w{i:02}"),
                    U,
                    "2026-12-03T08:00:00Z",
                    "2026-12-03T16:00:00Z",
                )
            })
            .collect();
        let c = collisions(&w);
        assert_eq!(c.len(), 48);
        let last = c.last().unwrap();
        assert_eq!(last.count, 50);
        assert!(
            last.message(&w)
                .contains("(workshops w00, w01, w02, w03, w04, w49 and 44 more)"),
            "{}",
            last.message(&w)
        );
    }

    #[test]
    fn a_hundred_thousand_chained_workshops_is_fast() {
        // Each key overlaps the next two: always three at once, a collision per workshop.
        let base = at("2026-01-01T00:00:00Z");
        let w: Vec<Workshop> = (0..100_000)
            .map(|i| {
                let start = base + TimeDelta::hours(i);
                let mut w = ws(
                    &format!("w{i}"),
                    U,
                    "2026-01-01T00:00:00Z",
                    "2026-01-01T01:00:00Z",
                );
                w.start = start;
                w.end = start + TimeDelta::minutes(90);
                w.lead = TimeDelta::hours(1);
                w.grace = TimeDelta::minutes(1);
                w
            })
            .collect();
        // Its speed is measured by `cargo bench --bench pipeline`.
        let c = collisions(&w);
        assert_eq!(c.len(), 100_000 - 2);
    }
}
