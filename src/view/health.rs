//! `status --check`: what is wrong right now, one problem per line, for a monitoring check
//! (Nagios-style: `CRITICAL: ...` lines, then a summary; exit 1 when there is any problem).
//! Pure: built from the status view, the plan's blocked workshops and `settings.verify`.
//!
//! A problem is:
//! - a key that is active outside its workshop's window (before `start - lead`, from
//!   `end + grace` on), or that no scheduled workshop claims;
//! - a workshop that is live or imminent without a verified key. *Imminent* means its key
//!   window has begun but it has not started (`start - lead <= now < start`); *live* means
//!   `start <= now < end`. "Verified" is the key's `workshop-keys:verified:<key>` tag, which
//!   reconcile and `verify` write, saying `verified`. With `verify = false` in the schedule,
//!   an active key is enough (and the summary says verification is off);
//! - a blocked workshop;
//! - a user AWS quarantined.

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

use crate::core::observed::KeyStatus;
use crate::core::plan::Blocked;
use crate::time::human;
use crate::verify::Outcome;
use crate::view::status::{KeyView, StatusView};

/// Where an active key stands against its workshop's window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outside {
    /// Its window opens this much later.
    Before(TimeDelta),
    /// Its window closed this long ago.
    After(TimeDelta),
    /// No tag claims it for a workshop.
    Unclaimed,
    /// Its claim names a workshop the schedule does not have on this user.
    UnknownWorkshop(String),
}

/// Where `k` is outside its window at `at`, or `None` when it is inside.
pub fn outside_window(k: &KeyView, at: DateTime<Utc>) -> Option<Outside> {
    let Some(workshop) = &k.workshop else {
        return Some(Outside::Unclaimed);
    };
    match (k.window_from, k.window_until) {
        (Some(from), _) if at < from => Some(Outside::Before(from - at)),
        (_, Some(until)) if at >= until => Some(Outside::After(at - until)),
        (Some(_), Some(_)) => None,
        _ => Some(Outside::UnknownWorkshop(workshop.clone())),
    }
}

/// The outcome recorded in a `workshop-keys:verified:<key>` tag (`<time> <outcome>`).
pub fn recorded_outcome(tag: &str) -> Option<Outcome> {
    let word = tag.split_whitespace().nth(1)?;
    Outcome::ALL.into_iter().find(|o| o.as_str() == word)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workshop: Option<String>,
    pub user: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_key_id: Option<String>,
    /// What is wrong and what to do, after the names.
    pub problem: String,
}

impl Problem {
    /// `CRITICAL: workshop berlin (user wk): key AKIA… active 3h past its window`.
    pub fn line(&self) -> String {
        let whose = match &self.workshop {
            Some(w) => format!("workshop {w} (user {})", self.user),
            None => format!("user {}", self.user),
        };
        let key = self
            .access_key_id
            .as_ref()
            .map(|k| format!("key {k} "))
            .unwrap_or_default();
        format!("CRITICAL: {whose}: {key}{}", self.problem)
    }
}

/// Every problem at the view's time, in a stable order: keys, workshops, quarantines.
pub fn problems(view: &StatusView, blocked: &[Blocked], verify: bool) -> Vec<Problem> {
    let mut out = key_problems(view);
    out.extend(workshop_problems(view, blocked, verify));
    out.extend(quarantine_problems(view));
    out
}

/// Active keys outside their windows, or claimed by nobody.
fn key_problems(view: &StatusView) -> Vec<Problem> {
    let at = view.at;
    let mut out = Vec::new();
    for u in view.users.iter().filter(|u| u.managed) {
        for k in u.keys.iter().filter(|k| k.status == KeyStatus::Active) {
            let problem = match outside_window(k, at) {
                None => continue,
                Some(Outside::After(d)) => format!(
                    "active {} past its window (end + grace); run `workshop-keys reconcile` to deactivate it",
                    human(d)
                ),
                Some(Outside::Before(d)) => format!(
                    "active {} before its window opens; run `workshop-keys reconcile`",
                    human(d)
                ),
                Some(Outside::Unclaimed) => {
                    "active but claimed by no workshop; run `workshop-keys reconcile`".to_string()
                }
                Some(Outside::UnknownWorkshop(_)) => {
                    "active for a workshop this user no longer has in the schedule; run `workshop-keys reconcile`"
                        .to_string()
                }
            };
            out.push(Problem {
                workshop: k.workshop.clone(),
                user: u.name.clone(),
                access_key_id: Some(k.access_key_id.clone()),
                problem,
            });
        }
    }
    out
}

/// Blocked workshops, and live or imminent ones without an active (or a verified) key.
fn workshop_problems(view: &StatusView, blocked: &[Blocked], verify: bool) -> Vec<Problem> {
    let at = view.at;
    let mut out = Vec::new();
    let quarantined = |user: &str| view.quarantined.iter().any(|q| q.user == user);
    for w in &view.workshops {
        // A participant's entry (claim `ws/p07`) blocks its workshop too.
        let mine: Vec<&Blocked> = blocked.iter().filter(|b| b.workshop_id() == w.id).collect();
        if let Some(b) = mine.first() {
            let whom = match (b.participant(), mine.len() - 1) {
                (None, _) => String::new(),
                (Some(p), 0) => format!("participant {p}: "),
                (Some(p), more) => format!("participant {p} (and {more} more): "),
            };
            out.push(Problem {
                workshop: Some(w.id.clone()),
                user: w.user.clone(),
                access_key_id: w.access_key_id.clone(),
                problem: format!("blocked: {whom}{}", b.reason),
            });
            continue;
        }
        // Live or imminent: the trainer may hand the key out now.
        if !(w.key_from <= at && at < w.end) || quarantined(&w.user) {
            continue;
        }
        let phase = if at < w.start {
            format!("starts in {}", human(w.start - at))
        } else {
            "is live".to_string()
        };
        let Some(key) = &w.access_key_id else {
            out.push(Problem {
                workshop: Some(w.id.clone()),
                user: w.user.clone(),
                access_key_id: None,
                problem: format!("{phase} and has no active key; run `workshop-keys reconcile`"),
            });
            continue;
        };
        if !verify {
            continue;
        }
        let tag = view
            .users
            .iter()
            .filter(|u| u.name == w.user)
            .flat_map(|u| &u.keys)
            .find(|k| &k.access_key_id == key)
            .and_then(|k| k.verified.as_deref());
        let problem = match tag.map(|t| (t, recorded_outcome(t))) {
            Some((_, Some(Outcome::Verified))) => continue,
            None => format!(
                "was never verified ({phase}); run `workshop-keys verify --workshop {}`",
                w.id
            ),
            Some((t, _)) => format!(
                "is not verified: last check {t} ({phase}); run `workshop-keys verify --workshop {}`",
                w.id
            ),
        };
        out.push(Problem {
            workshop: Some(w.id.clone()),
            user: w.user.clone(),
            access_key_id: Some(key.clone()),
            problem,
        });
    }
    out
}

/// Users AWS quarantined, with their exposed keys and the workshops left without a key.
fn quarantine_problems(view: &StatusView) -> Vec<Problem> {
    let at = view.at;
    let mut out = Vec::new();
    for q in &view.quarantined {
        let affected: Vec<&str> = view
            .workshops
            .iter()
            .filter(|w| w.user == q.user && w.key_from <= at && at < w.revoke_at)
            .map(|w| w.id.as_str())
            .collect();
        let keys = if q.keys.is_empty() {
            String::new()
        } else {
            format!("; exposed keys {}", q.keys.join(", "))
        };
        let gets_none = if affected.is_empty() {
            String::new()
        } else {
            format!("; workshops {} get no key", affected.join(", "))
        };
        out.push(Problem {
            workshop: None,
            user: q.user.clone(),
            access_key_id: None,
            problem: format!(
                "quarantined by AWS ({}){keys}{gets_none}; once the leak is dealt with, run `workshop-keys release {}`",
                q.policy_arn, q.user
            ),
        });
    }
    out
}

/// `n thing` or `n things`.
fn count(n: usize, thing: &str) -> String {
    format!("{n} {thing}{}", if n == 1 { "" } else { "s" })
}

/// The last line: `OK: ...` or `CRITICAL: N problems ...`.
pub fn summary(view: &StatusView, problems: &[Problem], verify: bool) -> String {
    let active = view
        .users
        .iter()
        .flat_map(|u| &u.keys)
        .filter(|k| k.status == KeyStatus::Active)
        .count();
    let facts = format!(
        "{}, {}",
        count(view.workshops.len(), "workshop"),
        count(active, "active key"),
    );
    let verification = if verify {
        ""
    } else {
        " (verification is off: settings.verify = false)"
    };
    if problems.is_empty() {
        format!("OK: {facts}; every key inside its window, every live or imminent workshop has a verified key, nothing blocked or quarantined{verification}")
    } else {
        format!(
            "CRITICAL: {} ({facts}){verification}",
            count(problems.len(), "problem")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::plan::Quarantined;
    use crate::view::status::{UserView, WorkshopState, WorkshopView};

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    const KEY: &str = "AKIAEXAMPLEKEY000001";

    /// berlin 09:00-17:00 on wk, lead 2h, grace 1h, hold 1d; its key active and verified.
    fn view(at: &str) -> StatusView {
        let key = KeyView {
            access_key_id: KEY.into(),
            status: KeyStatus::Active,
            created: t("2026-12-02T07:00:00Z"),
            age_seconds: 0,
            workshop: Some("berlin".into()),
            window_from: Some(t("2026-12-02T07:00:00Z")),
            window_until: Some(t("2026-12-02T18:00:00Z")),
            last_used: None,
            credentials_file: true,
            verified: Some("2026-12-02T07:00:05Z verified".into()),
        };
        StatusView {
            at: t(at),
            users: vec![UserView {
                name: "wk".into(),
                path: "/workshop/".into(),
                managed: true,
                keys: vec![key],
            }],
            workshops: vec![WorkshopView {
                id: "berlin".into(),
                title: None,
                user: "wk".into(),
                start: t("2026-12-02T09:00:00Z"),
                end: t("2026-12-02T17:00:00Z"),
                key_from: t("2026-12-02T07:00:00Z"),
                revoke_at: t("2026-12-02T18:00:00Z"),
                delete_at: t("2026-12-03T18:00:00Z"),
                state: WorkshopState::KeyLive,
                access_key_id: Some(KEY.into()),
            }],
            quarantined: vec![],
            warnings: vec![],
        }
    }

    fn lines(v: &StatusView, blocked: &[Blocked], verify: bool) -> Vec<String> {
        problems(v, blocked, verify)
            .iter()
            .map(Problem::line)
            .collect()
    }

    #[test]
    fn a_verified_key_in_its_window_is_ok() {
        for at in ["2026-12-02T08:00:00Z", "2026-12-02T12:00:00Z"] {
            let v = view(at);
            assert_eq!(lines(&v, &[], true), Vec::<String>::new());
            assert!(summary(&v, &[], true).starts_with("OK: 1 workshop, 1 active key;"));
        }
    }

    #[test]
    fn a_key_active_past_its_window_names_workshop_user_key_and_how_long() {
        let mut v = view("2026-12-02T21:00:00Z");
        v.workshops[0].state = WorkshopState::Revoked;
        assert_eq!(
            lines(&v, &[], true),
            [format!("CRITICAL: workshop berlin (user wk): key {KEY} active 3h past its window (end + grace); run `workshop-keys reconcile` to deactivate it")]
        );
        let p = problems(&v, &[], true);
        assert_eq!(
            summary(&v, &p, true),
            "CRITICAL: 1 problem (1 workshop, 1 active key)"
        );
        // Deactivated: nothing wrong.
        v.users[0].keys[0].status = KeyStatus::Inactive;
        assert!(problems(&v, &[], true).is_empty());
    }

    #[test]
    fn keys_before_their_window_unclaimed_or_of_an_unknown_workshop_are_problems() {
        let mut v = view("2026-12-02T06:00:00Z");
        v.workshops[0].state = WorkshopState::Upcoming;
        assert!(lines(&v, &[], true)[0].contains("active 1h before its window opens"));
        v.users[0].keys[0].workshop = None;
        assert_eq!(
            outside_window(&v.users[0].keys[0], v.at),
            Some(Outside::Unclaimed)
        );
        v.users[0].keys[0].workshop = Some("gone".into());
        v.users[0].keys[0].window_from = None;
        v.users[0].keys[0].window_until = None;
        assert_eq!(
            lines(&v, &[], true),
            [format!("CRITICAL: workshop gone (user wk): key {KEY} active for a workshop this user no longer has in the schedule; run `workshop-keys reconcile`")]
        );
    }

    #[test]
    fn a_live_or_imminent_workshop_needs_a_verified_key() {
        // Imminent: window begun, not started.
        let mut v = view("2026-12-02T08:00:00Z");
        v.users[0].keys[0].verified = None;
        assert_eq!(
            lines(&v, &[], true),
            [format!("CRITICAL: workshop berlin (user wk): key {KEY} was never verified (starts in 1h); run `workshop-keys verify --workshop berlin`")]
        );
        // With verification off, the active key is enough.
        assert!(problems(&v, &[], false).is_empty());
        assert!(summary(&v, &[], false).ends_with("(verification is off: settings.verify = false)"));
        // Live, last check failed.
        let mut v = view("2026-12-02T10:00:00Z");
        v.users[0].keys[0].verified = Some("2026-12-02T07:00:05Z access-denied".into());
        assert_eq!(
            lines(&v, &[], true),
            [format!("CRITICAL: workshop berlin (user wk): key {KEY} is not verified: last check 2026-12-02T07:00:05Z access-denied (is live); run `workshop-keys verify --workshop berlin`")]
        );
        // In its grace period (after the end) the key is no longer needed: not checked.
        let mut v = view("2026-12-02T17:30:00Z");
        v.users[0].keys[0].verified = None;
        assert!(problems(&v, &[], true).is_empty());
        // No key at all while live (even with verification off).
        let mut v = view("2026-12-02T10:00:00Z");
        v.users[0].keys.clear();
        v.workshops[0].access_key_id = None;
        v.workshops[0].state = WorkshopState::Waiting;
        assert_eq!(
            lines(&v, &[], false),
            ["CRITICAL: workshop berlin (user wk): is live and has no active key; run `workshop-keys reconcile`"]
        );
    }

    #[test]
    fn a_participants_blocked_entry_blocks_its_workshop() {
        let mut v = view("2026-12-02T10:00:00Z");
        v.users[0].keys.clear();
        v.workshops[0].access_key_id = None;
        v.workshops[0].state = WorkshopState::Waiting;
        // The entry names the claim (`berlin/p03`): the workshop is blocked all the same.
        let participants = [
            Blocked {
                workshop: "berlin/p03".into(),
                reason: "pool full".into(),
            },
            Blocked {
                workshop: "berlin/p04".into(),
                reason: "pool full".into(),
            },
        ];
        assert_eq!(
            lines(&v, &participants, true),
            ["CRITICAL: workshop berlin (user wk): blocked: participant p03 (and 1 more): pool full"]
        );
        assert_eq!(
            lines(&v, &participants[1..], true),
            ["CRITICAL: workshop berlin (user wk): blocked: participant p04: pool full"]
        );
    }

    #[test]
    fn blocked_and_quarantined_are_problems_reported_once() {
        let mut v = view("2026-12-02T10:00:00Z");
        v.users[0].keys.clear();
        v.workshops[0].access_key_id = None;
        v.workshops[0].state = WorkshopState::Waiting;
        let blocked = [Blocked {
            workshop: "berlin".into(),
            reason: "user wk is outside the managed path".into(),
        }];
        assert_eq!(
            lines(&v, &blocked, true),
            ["CRITICAL: workshop berlin (user wk): blocked: user wk is outside the managed path"]
        );
        v.quarantined = vec![Quarantined {
            user: "wk".into(),
            policy_arn: "arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantineV3".into(),
            keys: vec![KEY.into()],
            since: None,
        }];
        assert_eq!(
            lines(&v, &[], true),
            [format!("CRITICAL: user wk: quarantined by AWS (arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantineV3); exposed keys {KEY}; workshops berlin get no key; once the leak is dealt with, run `workshop-keys release wk`")]
        );
    }

    #[test]
    fn recorded_outcomes_are_read_from_the_tag() {
        assert_eq!(
            recorded_outcome("2026-12-02T07:00:05Z verified"),
            Some(Outcome::Verified)
        );
        assert_eq!(
            recorded_outcome("2026-12-02T07:00:05Z model-not-enabled"),
            Some(Outcome::ModelNotEnabled)
        );
        assert_eq!(recorded_outcome("garbage"), None);
    }
}
