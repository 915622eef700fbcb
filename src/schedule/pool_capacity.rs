//! Pool capacity: the participants' keys needed at once must fit two per pool user.
//!
//! A participant workshop needs N keys from `start - lead` until `end + grace + hold` (a
//! deactivated key keeps its slot until it is deleted). The shared sweep over those intervals
//! adds up the keys open at each moment; where the sum passes `2 × pool_size`, the workshop
//! that tips it over is reported with the moment and the numbers. Once per span over the
//! limit: fixing that workshop (or the pool) shows the next one.

use chrono::{DateTime, TimeDelta, Utc};

use super::Workshop;
use crate::core::limits::KEYS_PER_USER;
use crate::core::occupancy::Sweep;
use crate::text::count;
use crate::time::rfc3339_utc;

/// The pool is too small at `when`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shortfall {
    /// Index (into the slice given to `shortfalls`) of the workshop that tips it over.
    pub at: usize,
    pub when: DateTime<Utc>,
    /// Participant keys needed at `when`, all workshops together.
    pub needed: u64,
    pub pool_size: u32,
}

impl Shortfall {
    /// `the schedule needs 212 participant keys at T (workshop "b" adds 40); the pool of 100
    /// users holds 200`
    pub fn message(&self, workshops: &[Workshop]) -> String {
        let w = &workshops[self.at];
        format!(
            "the schedule needs {} at {} (workshop \"{}\" adds {}); the pool of {} holds {}",
            count(self.needed as usize, "participant key", "participant keys"),
            rfc3339_utc(self.when),
            w.id,
            w.participants.unwrap_or(0),
            count(self.pool_size as usize, "user", "users"),
            capacity(self.pool_size)
        )
    }

    pub fn hint(&self) -> String {
        "raise pool_size, or shorten lead/grace/hold".to_string()
    }
}

fn capacity(pool_size: u32) -> u64 {
    u64::from(pool_size) * KEYS_PER_USER as u64
}

/// Where the participants' keys needed at once exceed what the pool holds. `workshops` should
/// be sorted by (start, id): workshops whose keys are needed from the same moment are added in
/// slice order, so the one reported is the first that does not fit.
pub fn shortfalls(workshops: &[Workshop], hold: TimeDelta, pool_size: u32) -> Vec<Shortfall> {
    let limit = capacity(pool_size);
    let n = |i: usize| u64::from(workshops[i].participants.unwrap_or(0));
    let mut sweep = Sweep::new(
        workshops
            .iter()
            .enumerate()
            .filter(|(_, w)| w.participants.is_some())
            .map(|(i, w)| (w.key_from(), w.revoke_at() + hold, i)),
    );
    let mut needed: u64 = 0;
    let mut over = false;
    let mut found: Vec<Shortfall> = Vec::new();
    while let Some(step) = sweep.next() {
        if step.opened {
            needed += n(step.key);
            if needed > limit && !over {
                over = true;
                found.push(Shortfall {
                    at: step.key,
                    when: step.at,
                    needed,
                    pool_size,
                });
            }
        } else {
            needed -= n(step.key);
        }
        // The moment's last step: the count from now on.
        if sweep.peek_time() != Some(step.at) {
            if let Some(last) = found.last_mut().filter(|f| f.when == step.at) {
                last.needed = needed;
            }
            over = needed > limit;
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        crate::time::parse_time(s).unwrap()
    }

    fn ws(id: &str, participants: Option<u32>, start: &str, end: &str) -> Workshop {
        Workshop {
            id: id.into(),
            title: None,
            start: at(start),
            end: at(end),
            user: "u".into(),
            lead: TimeDelta::hours(1),
            grace: TimeDelta::hours(1),
            participants,
            models: vec![],
            line: 1,
        }
    }

    const H: TimeDelta = TimeDelta::hours(2);

    #[test]
    fn fits_exactly_two_per_user() {
        let w = vec![
            ws(
                "a",
                Some(100),
                "2026-12-03T09:00:00Z",
                "2026-12-03T17:00:00Z",
            ),
            ws(
                "b",
                Some(100),
                "2026-12-03T09:00:00Z",
                "2026-12-03T17:00:00Z",
            ),
            // Shared keys are not the pool's.
            ws("s", None, "2026-12-03T09:00:00Z", "2026-12-03T17:00:00Z"),
        ];
        assert!(shortfalls(&w, H, 100).is_empty());
        let f = shortfalls(&w, H, 99);
        assert_eq!(f.len(), 1);
        assert_eq!((f[0].at, f[0].needed), (1, 200));
        assert_eq!(
            f[0].message(&w),
            "the schedule needs 200 participant keys at 2026-12-03T08:00:00Z (workshop \"b\" \
             adds 100); the pool of 99 users holds 198"
        );
        assert_eq!(f[0].hint(), "raise pool_size, or shorten lead/grace/hold");
    }

    #[test]
    fn the_hold_keeps_keys_in_the_pool_and_touching_spans_do_not_add_up() {
        // a's keys: 08:00 .. 18:00 + 2h hold = 20:00; b's from 19:00 (lead 1h).
        let w = vec![
            ws(
                "a",
                Some(150),
                "2026-12-03T09:00:00Z",
                "2026-12-03T17:00:00Z",
            ),
            ws(
                "b",
                Some(60),
                "2026-12-03T20:00:00Z",
                "2026-12-03T22:00:00Z",
            ),
        ];
        let f = shortfalls(&w, H, 100);
        assert_eq!(f.len(), 1);
        assert_eq!(
            (f[0].at, f[0].when, f[0].needed),
            (1, at("2026-12-03T19:00:00Z"), 210)
        );
        // With a hold of one hour, a's keys are gone when b's begin.
        assert!(shortfalls(&w, TimeDelta::hours(1), 100).is_empty());
    }

    #[test]
    fn one_report_per_span_with_the_moments_total() {
        let w = vec![
            ws("a", Some(3), "2026-12-03T09:00:00Z", "2026-12-03T17:00:00Z"),
            ws("b", Some(2), "2026-12-03T09:00:00Z", "2026-12-03T17:00:00Z"),
            ws("c", Some(4), "2026-12-03T09:00:00Z", "2026-12-03T17:00:00Z"),
            ws("d", Some(1), "2026-12-03T12:00:00Z", "2026-12-03T13:00:00Z"),
            ws("e", Some(5), "2026-12-05T09:00:00Z", "2026-12-05T17:00:00Z"),
        ];
        // Pool of 2: 4 keys. b tips it over at 08:00, when 9 are needed; d adds to the same
        // span; e alone on another day tips it again.
        let f = shortfalls(&w, H, 2);
        let got: Vec<(usize, u64)> = f.iter().map(|f| (f.at, f.needed)).collect();
        assert_eq!(got, [(1, 9), (4, 5)]);
    }

    #[test]
    fn ten_thousand_workshops_are_quick() {
        let base = at("2026-01-01T00:00:00Z");
        let w: Vec<Workshop> = (0..10_000)
            .map(|i| {
                let mut w = ws(
                    &format!("w{i}"),
                    Some(40),
                    "2026-01-01T00:00:00Z",
                    "2026-01-01T01:00:00Z",
                );
                w.start = base + TimeDelta::hours(i);
                w.end = w.start + TimeDelta::hours(8);
                w
            })
            .collect();
        // Each workshop's keys live 12h (1h lead, 8h, 1h grace, 2h hold); one starts every
        // hour: 12 workshops' keys at once, 480.
        assert!(shortfalls(&w, H, 240).is_empty());
        assert_eq!(shortfalls(&w, H, 239).len(), 1);
    }
}
