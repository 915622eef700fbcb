//! Table tests of the planner's security rules: AWS's quarantine of a leaked key is respected
//! (never detached, keys deactivated, no new key, explicit release), the AWS-enforced deadline
//! in each user's policy, and the user-tag quota. Pure inputs, no server.
//!
//! The emulator validates the deadline condition's syntax but does not enforce it, so what the
//! deadline *is* at each moment is proven here, and `deadline_emulator.rs` reads the written
//! documents back from moto.

mod common;

use common::observed::{desired_from, key, lines, managed_user, observed, t};
use workshop_keys::core::desired::Desired;
use workshop_keys::core::observed::KeyStatus::{Active, Inactive};
use workshop_keys::core::observed::ObservedUser;
use workshop_keys::core::plan::ActionKind;
use workshop_keys::core::planner::{plan, release};
use workshop_keys::core::policy::{self, deadline_of, POLICY_NAME};
use workshop_keys::core::tags;

const K1: &str = "AKIAAAAAAAAAAAAAAAA1";
const K2: &str = "AKIAAAAAAAAAAAAAAAA2";
const V3: &str = "arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantineV3";

/// Settings with lead 24h, grace 1h, hold 24h; workshops `(id, start, end, extra lines)`.
fn schedule(workshops: &[(&str, &str, &str, &str)]) -> Desired {
    let mut text =
        String::from("[settings]\nuser = \"wk\"\nlead = \"24h\"\ngrace = \"1h\"\nhold = \"24h\"\n");
    for (id, start, end, extra) in workshops {
        text.push_str(&format!(
            "[[workshop]]\nid = \"{id}\"\nstart = {start}\nend = {end}\n{extra}\n"
        ));
    }
    desired_from(&text)
}

fn deadline(d: &Desired, at: &str) -> String {
    workshop_keys::time::format_time(d.deadline("wk", t(at)))
}

// ---- the deadline --------------------------------------------------------------------------

#[test]
fn deadline_before_any_window_is_long_past() {
    let d = schedule(&[("a", "2026-12-10T09:00:00Z", "2026-12-10T17:00:00Z", "")]);
    assert_eq!(deadline(&d, "2026-12-09T08:59:59Z"), "1970-01-01T00:00:00Z");
    let doc = d.policy_document("wk", t("2026-12-01T00:00:00Z"));
    assert_eq!(
        doc["Statement"][1]["Condition"]["DateGreaterThan"]["aws:CurrentTime"],
        "1970-01-01T00:00:00Z"
    );
    assert_eq!(doc["Statement"][1]["Sid"], policy::DEADLINE_SID);
    assert_eq!(doc["Statement"][1]["Effect"], "Deny");
    assert_eq!(doc["Statement"][1]["Action"], "bedrock:*");
}

#[test]
fn deadline_inside_one_window_is_its_end_plus_grace() {
    let d = schedule(&[("a", "2026-12-10T09:00:00Z", "2026-12-10T17:00:00Z", "")]);
    // The window begins at start - lead.
    assert_eq!(deadline(&d, "2026-12-09T09:00:00Z"), "2026-12-10T18:00:00Z");
    assert_eq!(deadline(&d, "2026-12-10T12:00:00Z"), "2026-12-10T18:00:00Z");
}

#[test]
fn deadline_with_two_overlapping_windows_moves_when_the_second_begins() {
    let d = schedule(&[
        ("a", "2026-12-10T09:00:00Z", "2026-12-10T17:00:00Z", ""),
        ("b", "2026-12-10T13:00:00Z", "2026-12-11T17:00:00Z", ""),
    ]);
    assert_eq!(deadline(&d, "2026-12-09T12:00:00Z"), "2026-12-10T18:00:00Z");
    assert_eq!(deadline(&d, "2026-12-09T13:00:00Z"), "2026-12-11T18:00:00Z");
    // A later window ending earlier never pulls it back.
    let d = schedule(&[
        ("long", "2026-12-10T09:00:00Z", "2026-12-12T17:00:00Z", ""),
        ("short", "2026-12-11T09:00:00Z", "2026-12-11T10:00:00Z", ""),
    ]);
    assert_eq!(deadline(&d, "2026-12-10T10:00:00Z"), "2026-12-12T18:00:00Z");
}

#[test]
fn deadline_uses_a_workshops_own_grace() {
    let d = schedule(&[(
        "a",
        "2026-12-10T09:00:00Z",
        "2026-12-10T17:00:00Z",
        "grace = \"3h30m\"",
    )]);
    assert_eq!(deadline(&d, "2026-12-10T00:00:00Z"), "2026-12-10T20:30:00Z");
}

#[test]
fn deadline_stays_at_the_last_value_after_all_windows_end() {
    let d = schedule(&[
        ("a", "2026-12-10T09:00:00Z", "2026-12-10T17:00:00Z", ""),
        ("b", "2026-12-12T09:00:00Z", "2026-12-12T17:00:00Z", ""),
    ]);
    assert_eq!(deadline(&d, "2026-12-11T00:00:00Z"), "2026-12-10T18:00:00Z");
    assert_eq!(deadline(&d, "2026-12-20T00:00:00Z"), "2026-12-12T18:00:00Z");
    assert_eq!(deadline(&d, "2027-06-01T00:00:00Z"), "2026-12-12T18:00:00Z");
}

#[test]
fn deadline_follows_a_workshop_moved_later_or_removed() {
    let now = "2026-12-10T10:00:00Z";
    let before = schedule(&[
        ("a", "2026-12-05T09:00:00Z", "2026-12-05T17:00:00Z", ""),
        ("b", "2026-12-10T09:00:00Z", "2026-12-10T17:00:00Z", ""),
    ]);
    assert_eq!(deadline(&before, now), "2026-12-10T18:00:00Z");
    // b moved a week later: its window has not begun, so its key goes and AWS denies now.
    let moved = schedule(&[
        ("a", "2026-12-05T09:00:00Z", "2026-12-05T17:00:00Z", ""),
        ("b", "2026-12-17T09:00:00Z", "2026-12-17T17:00:00Z", ""),
    ]);
    assert_eq!(deadline(&moved, now), "2026-12-05T18:00:00Z");
    let removed = schedule(&[("a", "2026-12-05T09:00:00Z", "2026-12-05T17:00:00Z", "")]);
    assert_eq!(deadline(&removed, now), "2026-12-05T18:00:00Z");
    // The planner writes the earlier deadline.
    let u = managed_user("wk", vec![], &[], before.policy_document("wk", t(now)));
    let p = plan(&moved, &observed(vec![u]), t(now));
    let put = p
        .actions
        .iter()
        .find(|a| a.action == ActionKind::PutUserPolicy)
        .expect("policy rewritten");
    assert_eq!(
        deadline_of(put.policy_document().unwrap()),
        Some(t("2026-12-05T18:00:00Z"))
    );
    assert_eq!(
        put.reason,
        "deadline moves from 2026-12-10T18:00:00Z to 2026-12-05T18:00:00Z"
    );
}

#[test]
fn deadline_is_written_before_the_new_windows_key_and_is_stable() {
    let d = schedule(&[("a", "2026-12-10T09:00:00Z", "2026-12-10T17:00:00Z", "")]);
    let old = d.policy_document("wk", t("2026-12-01T00:00:00Z"));
    let now = t("2026-12-09T09:00:00Z");
    let p = plan(
        &d,
        &observed(vec![managed_user("wk", vec![], &[], old)]),
        now,
    );
    assert_eq!(
        lines(&p),
        vec!["put_user_policy wk BedrockInvokeOnly", "create_key wk a"]
    );
    // Once written, a second plan at the same moment is a no-op.
    let written = p.actions[0].policy_document().cloned().unwrap();
    let k = key(K1, Active, "2026-12-09T09:00:00Z");
    let u = managed_user("wk", vec![k], &[(K1, "a")], written);
    let mut obs = observed(vec![u]);
    obs.files.insert(
        "a".into(),
        workshop_keys::core::observed::CredentialsFile {
            access_key_id: K1.into(),
            written: Some(now),
        },
    );
    let again = plan(&d, &obs, now);
    assert!(again.is_empty(), "{:?}", lines(&again));
}

#[test]
fn deadline_off_writes_the_plain_policy() {
    let mut d = schedule(&[("a", "2026-12-10T09:00:00Z", "2026-12-10T17:00:00Z", "")]);
    d.enforce_deadline = false;
    let doc = d.policy_document("wk", t("2026-12-10T00:00:00Z"));
    assert_eq!(doc["Statement"].as_array().unwrap().len(), 1);
    assert_eq!(deadline_of(&doc), None);
}

// ---- quarantine ----------------------------------------------------------------------------

fn quarantined_user(
    d: &Desired,
    now: &str,
    keys: Vec<workshop_keys::core::observed::ObservedKey>,
    tags: &[(&str, &str)],
) -> ObservedUser {
    let mut u = managed_user("wk", keys, tags, d.policy_document("wk", t(now)));
    u.attached_policies = vec![V3.into()];
    u
}

#[test]
fn quarantine_is_never_detached_and_the_exposed_keys_are_deactivated() {
    let d = schedule(&[("a", "2026-12-10T09:00:00Z", "2026-12-10T17:00:00Z", "")]);
    let now = "2026-12-10T10:00:00Z";
    let keys = vec![
        key(K1, Active, "2026-12-09T09:00:00Z"),
        key(K2, Active, "2026-12-09T08:00:00Z"),
    ];
    let u = quarantined_user(&d, now, keys, &[(K1, "a")]);
    let p = plan(&d, &observed(vec![u]), t(now));
    assert_eq!(
        lines(&p),
        vec![
            "tag_user wk",
            "deactivate_key wk AKIAAAAAAAAAAAAAAAA1",
            "deactivate_key wk AKIAAAAAAAAAAAAAAAA2",
        ]
    );
    assert!(p
        .actions
        .iter()
        .all(|a| a.action != ActionKind::DetachUserPolicy
            && a.action != ActionKind::CreateKey
            && a.action != ActionKind::DeleteUser));
    // The record: when it was first seen, and which keys were exposed.
    assert_eq!(
        p.actions[0].tags().unwrap()[tags::QUARANTINED],
        format!("{now} {K1} {K2}")
    );
    assert_eq!(p.quarantined.len(), 1);
    assert_eq!(p.quarantined[0].user, "wk");
    assert_eq!(p.quarantined[0].policy_arn, V3);
    assert_eq!(p.quarantined[0].keys, vec![K1, K2]);
    assert_eq!(p.blocked.len(), 1);
    assert_eq!(p.blocked[0].workshop, "a");
    assert!(p.blocked[0].reason.contains("quarantined by AWS"));
    assert!(p.blocked[0].reason.contains("workshop-keys release wk"));
    assert!(!p.is_clean());
    let json = serde_json::to_value(&p).unwrap();
    assert_eq!(
        json["quarantined"],
        serde_json::json!([{"user": "wk", "policy_arn": V3, "keys": [K1, K2]}])
    );
}

#[test]
fn quarantine_keeps_reporting_once_recorded_and_makes_no_key() {
    let d = schedule(&[("a", "2026-12-10T09:00:00Z", "2026-12-10T17:00:00Z", "")]);
    let now = "2026-12-10T11:00:00Z";
    let record = format!("2026-12-10T10:00:00Z {K1}");
    let u = quarantined_user(
        &d,
        now,
        vec![key(K1, Inactive, "2026-12-09T09:00:00Z")],
        &[
            (K1, "a"),
            (tags::QUARANTINED, &record),
            (
                "workshop-keys:deactivated:AKIAAAAAAAAAAAAAAAA1",
                "2026-12-10T10:00:00Z",
            ),
        ],
    );
    let p = plan(&d, &observed(vec![u]), t(now));
    assert!(p.actions.is_empty(), "{:?}", lines(&p));
    assert_eq!(p.quarantined[0].since, Some(t("2026-12-10T10:00:00Z")));
    assert_eq!(p.blocked.len(), 1);
    let text = workshop_keys::view::render::plan_text(&p);
    assert!(text.contains("! quarantined        user wk: AWS attached AWSCompromisedKeyQuarantineV3 since 2026-12-10T10:00:00Z"), "{text}");
}

#[test]
fn quarantine_of_a_user_the_schedule_dropped_keeps_the_user() {
    let d = schedule(&[]);
    let now = "2026-12-10T10:00:00Z";
    let mut u = quarantined_user(&d, now, vec![key(K1, Active, "2026-12-09T09:00:00Z")], &[]);
    u.name = "gone".into();
    let p = plan(&d, &observed(vec![u]), t(now));
    let about_gone: Vec<String> = lines(&p)
        .into_iter()
        .filter(|l| l.contains("gone"))
        .collect();
    assert_eq!(
        about_gone,
        vec!["tag_user gone", "deactivate_key gone AKIAAAAAAAAAAAAAAAA1"]
    );
    assert!(p.warnings.iter().any(|w| w.contains("release gone")));
}

#[test]
fn quarantine_record_is_dropped_once_the_policy_is_gone() {
    let d = schedule(&[]);
    let now = "2026-12-10T10:00:00Z";
    let u = managed_user(
        "wk",
        vec![],
        &[(tags::QUARANTINED, "2026-12-10T09:00:00Z")],
        d.policy_document("wk", t(now)),
    );
    let p = plan(&d, &observed(vec![u]), t(now));
    assert_eq!(lines(&p), vec!["tag_user wk"]);
    assert_eq!(p.actions[0].untag(), [tags::QUARANTINED.to_string()]);
    assert!(p.quarantined.is_empty());
}

#[test]
fn other_managed_policies_are_still_detached_beside_a_quarantine() {
    let d = schedule(&[]);
    let now = "2026-12-10T10:00:00Z";
    let mut u = quarantined_user(&d, now, vec![], &[(tags::QUARANTINED, now)]);
    u.attached_policies
        .push("arn:aws:iam::aws:policy/ReadOnlyAccess".into());
    let p = plan(&d, &observed(vec![u]), t(now));
    assert_eq!(
        lines(&p),
        vec!["detach_user_policy wk arn:aws:iam::aws:policy/ReadOnlyAccess"]
    );
}

#[test]
fn release_deletes_every_exposed_key_before_detaching() {
    let d = schedule(&[]);
    let now = "2026-12-10T12:00:00Z";
    // K2 was exposed and is gone from IAM's list already; K1 is still there.
    let record = format!("2026-12-10T10:00:00Z {K1} {K2}");
    let u = quarantined_user(
        &d,
        now,
        vec![key(K1, Inactive, "2026-12-09T09:00:00Z")],
        &[(tags::QUARANTINED, &record)],
    );
    let (deletes, lift) = release(&u, t(now));
    assert_eq!(
        lines(&deletes),
        vec![
            "delete_key wk AKIAAAAAAAAAAAAAAAA1",
            "delete_key wk AKIAAAAAAAAAAAAAAAA2"
        ]
    );
    assert_eq!(
        lines(&lift),
        vec![format!("detach_user_policy wk {V3}"), "tag_user wk".into()]
    );
    let mut free = u.clone();
    free.attached_policies.clear();
    let (deletes, lift) = release(&free, t(now));
    assert!(deletes.is_empty() && lift.is_empty());
}

// ---- IAM's tag quota -----------------------------------------------------------------------

#[test]
fn a_user_with_too_many_tags_of_its_own_gets_no_new_key() {
    let d = schedule(&[("a", "2026-12-10T09:00:00Z", "2026-12-10T17:00:00Z", "")]);
    let now = "2026-12-10T10:00:00Z";
    let own: Vec<(String, String)> = (0..41).map(|i| (format!("team-{i}"), "x".into())).collect();
    let refs: Vec<(&str, &str)> = own.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let u = managed_user("wk", vec![], &refs, d.policy_document("wk", t(now)));
    let p = plan(&d, &observed(vec![u]), t(now));
    assert!(p.actions.is_empty(), "{:?}", lines(&p));
    assert_eq!(
        p.blocked[0].reason,
        "user wk carries 41 tags that are not workshop-keys' own; with the up to 10 the tool keeps for its keys it would pass IAM's limit of 50 tags per user, and tagging a new key would fail: remove at least 1 of them"
    );
    // 40 leave room.
    let u = managed_user("wk", vec![], &refs[..40], d.policy_document("wk", t(now)));
    assert_eq!(
        lines(&plan(&d, &observed(vec![u]), t(now))),
        vec!["create_key wk a"]
    );
}

#[test]
fn quarantine_arn_prefix_is_the_documented_one() {
    assert_eq!(
        policy::QUARANTINE_ARN_PREFIX,
        "arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantine"
    );
    assert_eq!(POLICY_NAME, "BedrockInvokeOnly");
}

// ---- the executor keeps the order's promise ------------------------------------------------

/// When writing the policy with the new deadline fails, the window's key is not created in that
/// run: it would meet the old deadline (and be denied at once).
#[test]
fn no_key_is_created_when_its_users_new_deadline_could_not_be_written() {
    use workshop_keys::apply::{apply, ApplyContext, Status};
    use workshop_keys::iam::fake::{FakeIam, FakeUser, Stage};
    use workshop_keys::iam::{IamError, IamErrorKind};
    use workshop_keys::store::files::CredentialsDir;

    let d = schedule(&[("a", "2026-12-10T09:00:00Z", "2026-12-10T17:00:00Z", "")]);
    let now = t("2026-12-09T09:00:00Z");
    let iam = FakeIam::new();
    iam.insert_user(
        "wk",
        FakeUser {
            path: "/workshop/".into(),
            tags: [("managed-by".to_string(), "workshop-keys".to_string())].into(),
            inline_policies: [(
                POLICY_NAME.to_string(),
                d.policy_document("wk", t("2026-12-01T00:00:00Z"))
                    .to_string(),
            )]
            .into(),
            ..FakeUser::default()
        },
    );
    iam.set_fault_hook(Some(Box::new(|op, stage| {
        (op == "PutUserPolicy" && stage == Stage::Before).then(|| {
            IamError::new(
                op,
                Some("wk"),
                IamErrorKind::Transient,
                "ServiceFailure",
                "down",
            )
        })
    })));
    let u = managed_user(
        "wk",
        vec![],
        &[],
        d.policy_document("wk", t("2026-12-01T00:00:00Z")),
    );
    let p = plan(&d, &observed(vec![u]), now);
    assert_eq!(
        lines(&p),
        vec!["put_user_policy wk BedrockInvokeOnly", "create_key wk a"]
    );
    let tmp = tempfile::tempdir().unwrap();
    let creds = CredentialsDir::new(tmp.path().join("credentials"));
    let state = workshop_keys::state::local::LocalState::new(creds.clone(), "workshops.toml");
    let ctx = ApplyContext {
        credentials: &creds,
        state: &state,
        region: "us-east-1",
        concurrency: 8,
    };
    let report = futures::executor::block_on(apply(&p, &iam, &ctx));
    let statuses: Vec<Status> = report.results.iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![Status::Failed, Status::Skipped]);
    assert!(iam.users()["wk"].keys.is_empty());
    assert!(report.results[1]
        .detail
        .as_deref()
        .unwrap()
        .contains("writing the policy of user wk failed"));
}
