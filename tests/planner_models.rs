//! The models' part of the plan, pure (issue 16): readiness observed before planning becomes
//! `models_not_ready` only for workshops whose key window is open (and not with
//! `check_models = false`); a live key is re-verified once in the hour before its start, and
//! not again once its tag reads `verified` inside that hour.

mod common;

use common::observed::{desired_from, key, managed_user, observed, t};
use workshop_keys::core::observed::{CredentialsFile, KeyStatus, Observed};
use workshop_keys::core::planner::plan;
use workshop_keys::models::Readiness;

const LLAMA: &str = "meta.llama3-8b-instruct-v1:0";
const TITAN: &str = "amazon.titan-embed-text-v1";
const KEY: &str = "AKIAMODELSTEST000001";

fn schedule(extra: &str) -> String {
    format!(
        "[settings]\nuser = \"wk\"\nlead = \"12h\"\nmodels = [\"{LLAMA}\", \"{TITAN}\"]\n{extra}\n\n[[workshop]]\nid = \"ws\"\nstart = 2026-12-03T09:00:00Z\nend = 2026-12-03T17:00:00Z\n"
    )
}

fn readiness(model: &str, ready: bool) -> Readiness {
    Readiness {
        model: model.into(),
        region: "us-east-1".into(),
        ready,
        authorization: "AUTHORIZED".into(),
        entitlement: if ready { "AVAILABLE" } else { "NOT_AVAILABLE" }.into(),
        agreement: if ready { "AVAILABLE" } else { "NOT_AVAILABLE" }.into(),
        region_availability: "AVAILABLE".into(),
        fix: (!ready).then(|| format!("run `workshop-keys models activate {model} --yes`")),
    }
}

/// User `wk` with the workshop's live key, its credentials file here, and `tags`.
fn world(text: &str, now: &str, tags: &[(&str, &str)]) -> Observed {
    let d = desired_from(text);
    let mut all = vec![(KEY, "ws")];
    all.extend_from_slice(tags);
    let u = managed_user(
        "wk",
        vec![key(KEY, KeyStatus::Active, "2026-12-02T21:00:00Z")],
        &all,
        d.policy_document("wk", t(now)),
    );
    let mut o = observed(vec![u]);
    o.files.insert(
        "ws".into(),
        CredentialsFile {
            access_key_id: KEY.into(),
            written: Some(t("2026-12-02T21:00:00Z")),
        },
    );
    o.models.insert(LLAMA.into(), readiness(LLAMA, false));
    o.models.insert(TITAN.into(), readiness(TITAN, true));
    o
}

#[test]
fn models_not_ready_only_while_the_key_window_is_open() {
    let text = schedule("");
    let d = desired_from(&text);
    let before = world(&text, "2026-12-02T20:00:00Z", &[]);
    assert!(plan(&d, &before, t("2026-12-02T20:00:00Z"))
        .models_not_ready
        .is_empty());

    let now = "2026-12-03T03:00:00Z";
    let p = plan(&d, &world(&text, now, &[]), t(now));
    assert_eq!(p.models_not_ready.len(), 1, "{p:#?}");
    let m = &p.models_not_ready[0];
    assert_eq!((m.workshop.as_str(), m.model.as_str()), ("ws", LLAMA));
    assert!(m.fix.contains("workshop-keys models activate"));
    assert!(!p.is_clean());
    assert!(
        p.actions.is_empty(),
        "readiness changes nothing in IAM: {p:#?}"
    );

    let after = "2026-12-03T18:30:00Z";
    assert!(plan(&d, &world(&text, after, &[]), t(after))
        .models_not_ready
        .is_empty());

    let off = schedule("check_models = false");
    let p = plan(&desired_from(&off), &world(&off, now, &[]), t(now));
    assert!(p.models_not_ready.is_empty() && p.is_clean(), "{p:#?}");

    // A read that failed is a warning with what to do, not a verdict.
    let mut o = world(&text, now, &[]);
    o.models.clear();
    o.models_unread
        .insert(LLAMA.into(), "AccessDeniedException: no".into());
    let p = plan(&d, &o, t(now));
    assert!(p.models_not_ready.is_empty());
    assert!(
        p.warnings
            .iter()
            .any(|w| w.contains(LLAMA) && w.contains("check_models = false")),
        "{:?}",
        p.warnings
    );
}

#[test]
fn reverify_once_inside_the_hour_before_the_start() {
    let text = schedule("check_models = false");
    let d = desired_from(&text);
    let due = |now: &str, tags: &[(&str, &str)]| -> Vec<String> {
        plan(&d, &world(&text, now, tags), t(now))
            .reverify
            .iter()
            .map(|r| format!("{} {} {}", r.user, r.workshop, r.access_key_id))
            .collect()
    };
    let tag = format!("workshop-keys:verified:{KEY}");
    let one = vec![format!("wk ws {KEY}")];
    // Verified when made, hours before: due inside the hour, not before it, not once started.
    let made = [(tag.as_str(), "2026-12-02T21:00:05Z verified")];
    assert!(due("2026-12-03T07:59:59Z", &made).is_empty());
    assert_eq!(due("2026-12-03T08:00:00Z", &made), one);
    assert_eq!(due("2026-12-03T08:59:59Z", &made), one);
    assert!(due("2026-12-03T09:00:00Z", &made).is_empty());
    // Recorded `verified` inside the hour: done.
    let done = [(tag.as_str(), "2026-12-03T08:30:00Z verified")];
    assert!(due("2026-12-03T08:40:00Z", &done).is_empty());
    // Recorded a failure inside the hour: checked again on every run.
    let failed = [(
        tag.as_str(),
        "2026-12-03T08:30:00Z marketplace-subscription",
    )];
    assert_eq!(due("2026-12-03T08:40:00Z", &failed), one);
    // No record at all: due.
    assert_eq!(due("2026-12-03T08:40:00Z", &[]), one);

    let p = plan(
        &d,
        &world(&text, "2026-12-03T08:30:00Z", &made),
        t("2026-12-03T08:30:00Z"),
    );
    assert!(p.actions.is_empty(), "{p:#?}");
    assert!(p.reverify[0].reason.contains("starts in 30m"), "{p:#?}");
    assert!(!p.is_clean());

    // Not without verification, nor for a key whose secret is not here.
    let off = schedule("check_models = false\nverify = false");
    let p = plan(
        &desired_from(&off),
        &world(&off, "2026-12-03T08:30:00Z", &made),
        t("2026-12-03T08:30:00Z"),
    );
    assert!(p.reverify.is_empty());
    let mut o = world(&text, "2026-12-03T08:30:00Z", &made);
    o.files.clear();
    assert!(plan(&d, &o, t("2026-12-03T08:30:00Z")).reverify.is_empty());
}
