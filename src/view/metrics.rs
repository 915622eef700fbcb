//! `reconcile --metrics-file`: the run's outcome and the keys' state in Prometheus's text
//! format, for node_exporter's textfile collector. Pure: the values come from the plan, the
//! apply report, the snapshot and the status view; the command writes the file.
//!
//! The key and workshop gauges describe IAM as the run left it: the snapshot read before the
//! run, with the actions that succeeded and the checks made applied to it ([`after_run`]).
//! They are judged at the plan's time (`--at` when given); the run timestamps are the real
//! clock's.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::{DateTime, Utc};

use crate::apply::{Report, Status};
use crate::core::observed::{KeyStatus, Observed, ObservedKey, ObservedUser};
use crate::core::plan::{ActionKind, Blocked, Op};
use crate::core::tags;
use crate::verify::check::KeyCheck;
use crate::view::health::{outside_window, recorded_outcome};
use crate::view::status::{StatusView, WorkshopState};

/// The `state` label values of `workshop_keys_workshops`, each always written (0 when none).
pub const WORKSHOP_STATES: [&str; 6] =
    ["upcoming", "waiting", "live", "revoked", "ended", "blocked"];

/// The gauges that describe IAM's state; absent when the run failed before it read IAM.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Gauges {
    pub keys_active: usize,
    pub keys_inactive: usize,
    /// By `state` label: every one of [`WORKSHOP_STATES`].
    pub workshops: BTreeMap<&'static str, usize>,
    /// Active keys outside their window: past `end + grace`, before `start - lead` (a workshop
    /// moved later), or claimed by no scheduled workshop.
    pub overdue_keys: usize,
    /// Active keys inside their window whose last verification (this run's, or the one recorded
    /// in IAM) found a fault of the key: `access-denied`, `model-not-enabled`, `invalid-token`.
    /// (`throttled` and `network` mean "could not check" and are not counted.)
    pub verification_failures: usize,
    pub quarantined_users: usize,
}

/// The run itself.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RunInfo {
    /// When it ran (real clock).
    pub at: DateTime<Utc>,
    pub ok: bool,
    /// The last successful run (Unix seconds): `at` when this one succeeded, else the value in
    /// the previous file; 0 when no run has succeeded yet, so that an age alert fires.
    pub last_success: f64,
}

impl RunInfo {
    /// This run, with the last success carried over from `previous` (the old file's text).
    pub fn new(at: DateTime<Utc>, ok: bool, previous: Option<&str>) -> RunInfo {
        let last_success = if ok {
            at.timestamp() as f64
        } else {
            previous.and_then(last_success).unwrap_or(0.0)
        };
        RunInfo {
            at,
            ok,
            last_success,
        }
    }
}

/// The value of `workshop_keys_last_success_timestamp_seconds` in an earlier file.
pub fn last_success(text: &str) -> Option<f64> {
    text.lines().find_map(|line| {
        let mut words = line.split_whitespace();
        (words.next() == Some("workshop_keys_last_success_timestamp_seconds"))
            .then(|| words.next()?.parse::<f64>().ok())
            .flatten()
            .filter(|v| v.is_finite() && *v >= 0.0)
    })
}

/// IAM as the run left it: `observed` (read before the run) with the report's successful
/// actions and the checks' outcomes applied.
pub fn after_run(
    observed: &Observed,
    report: &Report,
    checks: &[KeyCheck],
    now: DateTime<Utc>,
) -> Observed {
    let mut after = observed.clone();
    for r in report.results.iter().filter(|r| r.status == Status::Ok) {
        let a = &r.action;
        if let (Op::CreateUser { path, tags }, None) = (&a.action, after.user(&a.user)) {
            after.users.push(ObservedUser {
                name: a.user.clone(),
                path: path.clone(),
                tags: tags.clone(),
                keys: Vec::new(),
                inline_policies: BTreeMap::new(),
                attached_policies: Vec::new(),
            });
            continue;
        }
        if a.action == ActionKind::DeleteUser {
            after.users.retain(|u| u.name != a.user);
            continue;
        }
        let Some(u) = after.users.iter_mut().find(|u| u.name == a.user) else {
            continue;
        };
        let key = a.access_key_id();
        match a.kind() {
            ActionKind::TagUser => {
                u.tags.extend(
                    a.tags()
                        .into_iter()
                        .flatten()
                        .map(|(k, v)| (k.clone(), v.clone())),
                );
                for t in a.untag() {
                    u.tags.remove(t);
                }
            }
            ActionKind::CreateKey => {
                if let Some(id) = &r.created_key {
                    u.keys.push(ObservedKey {
                        access_key_id: id.clone(),
                        status: KeyStatus::Active,
                        created: now,
                        last_used: None,
                    });
                    if let Some(w) = &a.workshop {
                        u.tags.insert(id.clone(), w.clone());
                    }
                }
            }
            ActionKind::DeactivateKey => {
                if let Some(k) = u
                    .keys
                    .iter_mut()
                    .find(|k| Some(k.access_key_id.as_str()) == key)
                {
                    k.status = KeyStatus::Inactive;
                }
            }
            ActionKind::DeleteKey => {
                if let Some(id) = key {
                    u.keys.retain(|k| k.access_key_id != id);
                    for t in tags::tags_of_key(id) {
                        u.tags.remove(&t);
                    }
                }
            }
            _ => {}
        }
    }
    for c in checks {
        if let Some(u) = after.users.iter_mut().find(|u| u.name == c.user) {
            if u.key(&c.access_key_id).is_some() {
                u.tags.insert(
                    tags::verified_tag(&c.access_key_id),
                    format!("{} {}", crate::time::format_time(now), c.outcome.as_str()),
                );
            }
        }
    }
    after
}

/// The gauges for a status view (of [`after_run`]'s snapshot) and the plan's blocked workshops.
pub fn gauges(view: &StatusView, blocked: &[Blocked]) -> Gauges {
    let mut g = Gauges {
        workshops: WORKSHOP_STATES.iter().map(|s| (*s, 0)).collect(),
        quarantined_users: view.quarantined.len(),
        ..Gauges::default()
    };
    for k in view
        .users
        .iter()
        .filter(|u| u.managed)
        .flat_map(|u| &u.keys)
    {
        if k.status == KeyStatus::Inactive {
            g.keys_inactive += 1;
            continue;
        }
        g.keys_active += 1;
        if outside_window(k, view.at).is_some() {
            g.overdue_keys += 1;
        } else if k
            .verified
            .as_deref()
            .and_then(recorded_outcome)
            .is_some_and(|o| o.is_key_fault())
        {
            g.verification_failures += 1;
        }
    }
    for w in &view.workshops {
        // A blocked workshop counts as blocked only, so that the states add up to the schedule.
        let state = if blocked.iter().any(|b| b.workshop_id() == w.id) {
            "blocked"
        } else {
            match w.state {
                WorkshopState::Upcoming => "upcoming",
                WorkshopState::Waiting => "waiting",
                WorkshopState::KeyLive => "live",
                WorkshopState::Revoked => "revoked",
                WorkshopState::Ended => "ended",
            }
        };
        *g.workshops.entry(state).or_default() += 1;
    }
    g
}

/// One gauge's HELP and TYPE lines and its samples.
fn gauge(out: &mut String, name: &str, help: &str, samples: &[(Option<(&str, &str)>, f64)]) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} gauge");
    for (label, value) in samples {
        match label {
            Some((k, v)) => {
                let _ = writeln!(out, "{name}{{{k}=\"{v}\"}} {value}");
            }
            None => {
                let _ = writeln!(out, "{name} {value}");
            }
        }
    }
}

/// The file's text. Without `gauges` (the run failed before it read IAM) only the run's
/// three metrics are written: the state gauges would be guesses.
pub fn render(run: &RunInfo, gauges: Option<&Gauges>) -> String {
    let mut out = String::new();
    gauge(
        &mut out,
        "workshop_keys_last_run_timestamp_seconds",
        "When workshop-keys reconcile last ran (Unix time).",
        &[(None, run.at.timestamp() as f64)],
    );
    gauge(
        &mut out,
        "workshop_keys_last_success_timestamp_seconds",
        "When a workshop-keys reconcile last succeeded (Unix time; 0: never).",
        &[(None, run.last_success)],
    );
    gauge(
        &mut out,
        "workshop_keys_run_ok",
        "1 when the last reconcile succeeded (exit 0), 0 when it failed.",
        &[(None, if run.ok { 1.0 } else { 0.0 })],
    );
    let Some(g) = gauges else {
        return out;
    };
    let n = |v: usize| v as f64;
    gauge(
        &mut out,
        "workshop_keys_keys",
        "Access keys of the managed users after the run, by status.",
        &[
            (Some(("state", "active")), n(g.keys_active)),
            (Some(("state", "inactive")), n(g.keys_inactive)),
        ],
    );
    let workshops: Vec<_> = WORKSHOP_STATES
        .iter()
        .map(|s| {
            (
                Some(("state", *s)),
                n(g.workshops.get(s).copied().unwrap_or(0)),
            )
        })
        .collect();
    gauge(
        &mut out,
        "workshop_keys_workshops",
        "Scheduled workshops after the run, by state (a blocked workshop counts only as blocked).",
        &workshops,
    );
    gauge(
        &mut out,
        "workshop_keys_overdue_keys",
        "Active keys outside their window (past end + grace, or claimed by no scheduled workshop).",
        &[(None, n(g.overdue_keys))],
    );
    gauge(
        &mut out,
        "workshop_keys_verification_failures",
        "Active keys in their window whose last Bedrock check found a fault of the key.",
        &[(None, n(g.verification_failures))],
    );
    gauge(
        &mut out,
        "workshop_keys_quarantined_users",
        "Managed users AWS quarantined because a key leaked (until workshop-keys release).",
        &[(None, n(g.quarantined_users))],
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apply::ActionResult;
    use crate::core::plan::{Action, Effect, Quarantined};
    use crate::verify::Outcome;
    use crate::view::status::{KeyView, UserView, WorkshopView};

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn key(id: &str, status: KeyStatus, workshop: Option<&str>, verified: Option<&str>) -> KeyView {
        KeyView {
            access_key_id: id.into(),
            status,
            created: t("2026-12-02T07:00:00Z"),
            age_seconds: 0,
            workshop: workshop.map(Into::into),
            window_from: workshop.map(|_| t("2026-12-02T07:00:00Z")),
            window_until: workshop.map(|_| t("2026-12-02T18:00:00Z")),
            last_used: None,
            credentials_file: true,
            verified: verified.map(Into::into),
        }
    }

    fn workshop(id: &str, state: WorkshopState) -> WorkshopView {
        WorkshopView {
            id: id.into(),
            title: None,
            user: "wk".into(),
            start: t("2026-12-02T09:00:00Z"),
            end: t("2026-12-02T17:00:00Z"),
            key_from: t("2026-12-02T07:00:00Z"),
            revoke_at: t("2026-12-02T18:00:00Z"),
            delete_at: t("2026-12-03T18:00:00Z"),
            state,
            access_key_id: None,
        }
    }

    #[test]
    fn gauges_count_keys_states_overdue_failures_and_quarantines() {
        let view = StatusView {
            at: t("2026-12-02T12:00:00Z"),
            users: vec![
                UserView {
                    name: "wk".into(),
                    path: "/w/".into(),
                    managed: true,
                    keys: vec![
                        key(
                            "AKIA1",
                            KeyStatus::Active,
                            Some("a"),
                            Some("2026-12-02T07:00:00Z verified"),
                        ),
                        key(
                            "AKIA2",
                            KeyStatus::Active,
                            Some("b"),
                            Some("2026-12-02T07:00:00Z access-denied"),
                        ),
                        key("AKIA3", KeyStatus::Inactive, Some("c"), None),
                    ],
                },
                UserView {
                    name: "other".into(),
                    path: "/w/".into(),
                    managed: true,
                    // Claimed by no workshop: overdue, and not a verification failure.
                    keys: vec![key(
                        "AKIA4",
                        KeyStatus::Active,
                        None,
                        Some("x invalid-token"),
                    )],
                },
            ],
            workshops: vec![
                workshop("a", WorkshopState::KeyLive),
                workshop("b", WorkshopState::KeyLive),
                workshop("c", WorkshopState::Revoked),
                workshop("d", WorkshopState::Waiting),
                workshop("e", WorkshopState::Upcoming),
            ],
            quarantined: vec![Quarantined {
                user: "other".into(),
                policy_arn: "arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantineV3".into(),
                keys: vec![],
                since: None,
            }],
            warnings: vec![],
        };
        // A participant's entry (its claim) blocks its workshop.
        let blocked = [
            Blocked {
                workshop: "d".into(),
                reason: "r".into(),
            },
            Blocked {
                workshop: "b/p07".into(),
                reason: "pool full".into(),
            },
        ];
        let g = gauges(&view, &blocked);
        assert_eq!((g.keys_active, g.keys_inactive), (3, 1));
        assert_eq!(g.overdue_keys, 1);
        assert_eq!(g.verification_failures, 1);
        assert_eq!(g.quarantined_users, 1);
        let states: Vec<(&str, usize)> = WORKSHOP_STATES
            .iter()
            .map(|s| (*s, g.workshops[s]))
            .collect();
        assert_eq!(
            states,
            [
                ("upcoming", 1),
                ("waiting", 0),
                ("live", 1),
                ("revoked", 1),
                ("ended", 0),
                ("blocked", 2)
            ]
        );
        // Past the window, a's key is overdue (and no longer a verification concern).
        let mut late = view.clone();
        late.at = t("2026-12-02T19:00:00Z");
        let g = gauges(&late, &[]);
        assert_eq!((g.overdue_keys, g.verification_failures), (3, 0));
    }

    #[test]
    fn the_text_has_help_type_and_every_label() {
        let run = RunInfo::new(t("2026-12-02T12:00:00Z"), true, None);
        let g = Gauges {
            keys_active: 2,
            workshops: WORKSHOP_STATES.iter().map(|s| (*s, 0)).collect(),
            ..Gauges::default()
        };
        let text = render(&run, Some(&g));
        assert!(text.starts_with(
            "# HELP workshop_keys_last_run_timestamp_seconds When workshop-keys reconcile last ran (Unix time).\n\
             # TYPE workshop_keys_last_run_timestamp_seconds gauge\n\
             workshop_keys_last_run_timestamp_seconds 1796212800\n"
        ), "{text}");
        assert!(text.contains("\nworkshop_keys_last_success_timestamp_seconds 1796212800\n"));
        assert!(text.contains("\nworkshop_keys_run_ok 1\n"));
        assert!(text.contains("\nworkshop_keys_keys{state=\"active\"} 2\n"));
        assert!(text.contains("\nworkshop_keys_workshops{state=\"blocked\"} 0\n"));
        assert_eq!(text.matches("# TYPE ").count(), 8);
        assert!(text.ends_with("workshop_keys_quarantined_users 0\n"));
    }

    #[test]
    fn a_failed_run_keeps_the_last_success_and_writes_no_guesses() {
        let old = render(&RunInfo::new(t("2026-12-02T12:00:00Z"), true, None), None);
        assert_eq!(last_success(&old), Some(1_796_212_800.0));
        let failed = RunInfo::new(t("2026-12-02T12:15:00Z"), false, Some(&old));
        assert_eq!(failed.last_success, 1_796_212_800.0);
        let text = render(&failed, None);
        assert!(text.contains("\nworkshop_keys_run_ok 0\n"));
        assert!(text.contains("\nworkshop_keys_last_success_timestamp_seconds 1796212800\n"));
        assert!(!text.contains("workshop_keys_keys"));
        // Never succeeded, or an unreadable old file: 0, so that an age alert fires.
        assert_eq!(
            RunInfo::new(t("2026-12-02T12:15:00Z"), false, None).last_success,
            0.0
        );
        assert_eq!(
            last_success("workshop_keys_last_success_timestamp_seconds NaN\n"),
            None
        );
        assert_eq!(last_success("garbage"), None);
    }

    #[test]
    fn after_run_applies_what_succeeded_and_the_checks() {
        let now = t("2026-12-02T07:00:00Z");
        let mut user = ObservedUser {
            name: "wk".into(),
            path: "/w/".into(),
            tags: [("AKIAOLD".to_string(), "a".to_string())].into(),
            keys: vec![ObservedKey {
                access_key_id: "AKIAOLD".into(),
                status: KeyStatus::Active,
                created: now,
                last_used: None,
            }],
            inline_policies: BTreeMap::new(),
            attached_policies: vec![],
        };
        user.tags
            .insert("managed-by".into(), "workshop-keys".into());
        let observed = Observed {
            users: vec![user],
            ..Observed::default()
        };
        let result = |action: Action, status: Status, created: Option<&str>| ActionResult {
            action,
            status,
            detail: None,
            created_key: created.map(Into::into),
            credentials_file: None,
        };
        let report = Report {
            results: vec![
                result(
                    Action::new(
                        Op::DeactivateKey {
                            access_key_id: "AKIAOLD".into(),
                            tags: BTreeMap::new(),
                        },
                        Effect::Change,
                        "wk",
                        "r",
                    ),
                    Status::Ok,
                    None,
                ),
                result(
                    Action::new(
                        Op::CreateKey {
                            bearer_token_until: None,
                        },
                        Effect::Create,
                        "wk",
                        "r",
                    )
                    .workshop("b"),
                    Status::Ok,
                    Some("AKIANEW"),
                ),
                // Failed: changes nothing.
                result(
                    Action::new(
                        Op::DeleteKey {
                            access_key_id: "AKIAOLD".into(),
                        },
                        Effect::Delete,
                        "wk",
                        "r",
                    ),
                    Status::Failed,
                    None,
                ),
            ],
        };
        let check = KeyCheck {
            workshop: "b".into(),
            user: "wk".into(),
            access_key_id: "AKIANEW".into(),
            outcome: Outcome::AccessDenied,
            models: vec![],
            bearer_token: None,
            advice: None,
            record_error: None,
            recorded: Vec::new(),
        };
        let after = after_run(&observed, &report, &[check], now);
        let u = after.user("wk").unwrap();
        assert_eq!(u.key("AKIAOLD").unwrap().status, KeyStatus::Inactive);
        assert_eq!(u.key("AKIANEW").unwrap().status, KeyStatus::Active);
        assert_eq!(u.tags["AKIANEW"], "b");
        assert_eq!(
            u.tags[&tags::verified_tag("AKIANEW")],
            "2026-12-02T07:00:00Z access-denied"
        );
    }
}
