//! Table tests of the planner, one per rule: pure inputs (schedule, observed snapshot, time),
//! expected actions, blocked workshops and warnings.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::observed::lines;
use std::path::Path;

use chrono::{DateTime, TimeDelta, Utc};
use workshop_keys::core::desired::Desired;
use workshop_keys::core::observed::{
    CredentialsFile, CredentialsProblem, KeyStatus, Observed, ObservedKey, ObservedUser,
};
use workshop_keys::core::plan::{ActionKind, Op, Plan};
use workshop_keys::core::planner::plan;
use workshop_keys::core::policy;
use workshop_keys::core::tags;
use workshop_keys::schedule::{self, PolicyChoice};
use workshop_keys::view::render;

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

/// The deadline statement is off here: these tables are about keys; the deadline's own rules
/// are tabled in `planner_security.rs`, with it on.
const SETTINGS: &str = r#"
[settings]
deadline = false
user = "wk"
path = "/workshop/"
lead = "24h"
grace = "1h"
hold = "24h"
"#;

/// A schedule: settings above plus workshops `(id, start, end, user)`.
fn desired(extra_settings: &str, workshops: &[(&str, &str, &str, Option<&str>)]) -> Desired {
    let mut text = format!("{SETTINGS}{extra_settings}\n");
    for (id, start, end, user) in workshops {
        text.push_str(&format!(
            "[[workshop]]\nid = \"{id}\"\nstart = {start}\nend = {end}\n"
        ));
        if let Some(u) = user {
            text.push_str(&format!("user = \"{u}\"\n"));
        }
    }
    let s = schedule::parse(Path::new("test.toml"), &text).unwrap_or_else(|e| panic!("{e}"));
    Desired::from_schedule(&s)
}

fn berlin() -> Desired {
    desired(
        "",
        &[(
            "berlin",
            "2026-12-03T09:00:00Z",
            "2026-12-03T17:00:00Z",
            None,
        )],
    )
}

fn key(id: &str, status: KeyStatus, created: &str) -> ObservedKey {
    ObservedKey {
        access_key_id: id.to_string(),
        status,
        created: t(created),
        last_used: None,
    }
}

fn managed_user(name: &str, keys: Vec<ObservedKey>, extra_tags: &[(&str, &str)]) -> ObservedUser {
    let mut user_tags: BTreeMap<String, String> = extra_tags
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    user_tags.insert("managed-by".into(), "workshop-keys".into());
    ObservedUser {
        name: name.to_string(),
        path: "/workshop/".into(),
        tags: user_tags,
        keys,
        inline_policies: BTreeMap::from([(
            policy::POLICY_NAME.to_string(),
            policy::document(&PolicyChoice::AllModels, None),
        )]),
        attached_policies: vec![],
    }
}

fn observed(users: Vec<ObservedUser>) -> Observed {
    Observed {
        users,
        ..Observed::default()
    }
}

/// `workshop.env` holds `key` (written long ago).
fn with_file(mut obs: Observed, workshop: &str, key: &str) -> Observed {
    obs.files.insert(
        workshop.into(),
        CredentialsFile {
            access_key_id: key.into(),
            written: None,
        },
    );
    obs
}

const K1: &str = "AKIAAAAAAAAAAAAAAAA1";
const K2: &str = "AKIAAAAAAAAAAAAAAAA2";

#[test]
fn new_user_gets_created_tagged_with_policy_but_no_key_before_lead() {
    let p = plan(&berlin(), &Observed::default(), t("2026-12-01T00:00:00Z"));
    assert_eq!(
        lines(&p),
        vec!["create_user wk", "put_user_policy wk BedrockInvokeOnly"]
    );
    let create = &p.actions[0];
    let Op::CreateUser { path, tags } = &create.action else {
        panic!("{create:?}")
    };
    assert_eq!(path, "/workshop/");
    assert_eq!(tags["managed-by"], "workshop-keys");
}

#[test]
fn key_is_created_at_start_minus_lead_not_before() {
    let obs = observed(vec![managed_user("wk", vec![], &[])]);
    let d = berlin();
    assert!(plan(&d, &obs, t("2026-12-02T08:59:59Z")).is_clean());
    let p = plan(&d, &obs, t("2026-12-02T09:00:00Z"));
    assert_eq!(lines(&p), vec!["create_key wk berlin"]);
    assert_eq!(p.actions[0].reason, "workshop berlin starts in 1d");
}

#[test]
fn live_claimed_key_with_file_means_no_changes() {
    let mut obs = observed(vec![managed_user(
        "wk",
        vec![key(K1, KeyStatus::Active, "2026-12-02T09:00:00Z")],
        &[(K1, "berlin")],
    )]);
    obs.files.insert(
        "berlin".into(),
        CredentialsFile {
            access_key_id: K1.into(),
            written: Some(t("2026-12-02T09:00:00Z")),
        },
    );
    let p = plan(&berlin(), &obs, t("2026-12-03T12:00:00Z"));
    assert!(p.is_clean(), "{:?}", p);
    assert!(p.warnings.is_empty(), "{:?}", p.warnings);
    assert_eq!(render::summary_line(&p), render::NO_CHANGES);
}

#[test]
fn regression_a_live_key_whose_secret_is_lost_is_replaced() {
    // Defect 2 of issue 15: berlin's file is gone, so nobody can run the workshop with K1.
    let d = berlin();
    let obs = observed(vec![managed_user(
        "wk",
        vec![key(K1, KeyStatus::Active, "2026-12-02T09:00:00Z")],
        &[(K1, "berlin")],
    )]);
    let p = plan(&d, &obs, t("2026-12-03T12:00:00Z"));
    assert_eq!(lines(&p), vec!["create_key wk berlin"]);
    assert_eq!(
        p.actions[0].reason,
        format!("replace key {K1} of workshop berlin: its credentials file berlin.env is missing, so its secret is lost")
    );
    assert_eq!(
        p.warnings,
        vec![format!("workshop berlin: its live key {K1} has no credentials file here (berlin.env is missing): its secret is lost, so the key is replaced")]
    );

    // A file holding another key (not one written moments ago): the same.
    let other = with_file(obs.clone(), "berlin", K2);
    let p = plan(&d, &other, t("2026-12-03T12:00:00Z"));
    assert_eq!(lines(&p), vec!["create_key wk berlin"]);
    assert!(p.actions[0]
        .reason
        .contains(&format!("holds another key ({K2})")));

    // The replacement is made: it is current, and K1 goes after the rotation overlap.
    let mut replaced = with_file(obs.clone(), "berlin", K2);
    replaced.users[0]
        .keys
        .push(key(K2, KeyStatus::Active, "2026-12-03T12:00:00Z"));
    replaced.users[0].tags.insert(K2.into(), "berlin".into());
    assert!(plan(&d, &replaced, t("2026-12-03T12:30:00Z")).is_clean());
    let p = plan(&d, &replaced, t("2026-12-03T13:00:00Z"));
    assert_eq!(lines(&p), vec![format!("deactivate_key wk {K1}")]);

    // Moments after the create, IAM may not list K2 yet: its fresh file is no lost secret.
    let mut fresh = obs.clone();
    fresh.files.insert(
        "berlin".into(),
        CredentialsFile {
            access_key_id: K2.into(),
            written: Some(t("2026-12-03T12:00:00Z")),
        },
    );
    let p = plan(&d, &fresh, t("2026-12-03T12:00:10Z"));
    assert!(p.is_clean(), "{:?}", lines(&p));

    // The file went with a key made moments ago that IAM does not list yet, but whose claim
    // it does: that key holds a slot, so the replacement waits instead of meeting the limit.
    let mut just_made = obs.clone();
    just_made.users[0].tags.insert(K2.into(), "berlin".into());
    let p = plan(&d, &just_made, t("2026-12-03T12:00:10Z"));
    assert!(
        p.actions.iter().all(|a| a.action != ActionKind::CreateKey),
        "{:?}",
        lines(&p)
    );
    assert_eq!(p.waiting.len(), 1, "{p:?}");
    assert!(p.waiting[0]
        .reason
        .contains(&format!("key {K2} claimed for the workshop is not listed")));

    // No free slot: the workshop is blocked (it cannot run), not silently postponed.
    let two = desired(
        "",
        &[
            ("a", "2026-12-02T09:00:00Z", "2026-12-02T17:00:00Z", None),
            ("b", "2026-12-02T09:00:00Z", "2026-12-02T17:00:00Z", None),
        ],
    );
    let full = with_file(
        observed(vec![managed_user(
            "wk",
            vec![
                key(K1, KeyStatus::Active, "2026-12-01T09:00:00Z"),
                key(K2, KeyStatus::Active, "2026-12-01T09:00:00Z"),
            ],
            &[(K1, "a"), (K2, "b")],
        )]),
        "b",
        K2,
    );
    let p = plan(&two, &full, t("2026-12-02T10:00:00Z"));
    assert!(p.actions.is_empty(), "{:?}", lines(&p));
    assert_eq!(p.blocked.len(), 1, "{:?}", p.blocked);
    assert_eq!(p.blocked[0].workshop, "a");
    assert!(
        p.blocked[0].reason.contains("secret is lost")
            && p.blocked[0].reason.contains("already holds two keys"),
        "{}",
        p.blocked[0].reason
    );
}

/// With `store = "secretsmanager"` the planner names the secret, not a file (issue 11).
#[test]
fn a_lost_secret_is_named_the_way_the_store_names_it() {
    let d = desired(
        "store = \"secretsmanager\"\nsecrets_prefix = \"team/wk/\"",
        &[(
            "berlin",
            "2026-12-03T09:00:00Z",
            "2026-12-03T17:00:00Z",
            None,
        )],
    );
    let obs = observed(vec![managed_user(
        "wk",
        vec![key(K1, KeyStatus::Active, "2026-12-02T09:00:00Z")],
        &[(K1, "berlin")],
    )]);
    let p = plan(&d, &obs, t("2026-12-03T12:00:00Z"));
    assert_eq!(
        p.actions[0].reason,
        format!("replace key {K1} of workshop berlin: its secret team/wk/berlin is missing, so its secret is lost")
    );
    assert_eq!(
        p.warnings,
        vec![format!("workshop berlin: its live key {K1} has no secret in Secrets Manager (team/wk/berlin is missing): its secret is lost, so the key is replaced")]
    );
    // A participant's bundle sits below the workshop's name.
    let names = &d.bundles;
    assert_eq!(names.name("berlin/p07"), "team/wk/berlin/p07");
    assert_eq!(
        workshop_keys::core::desired::BundleNames::Files.name("berlin/p07"),
        "berlin/p07.env"
    );
}

#[test]
fn regression_an_unsafe_credentials_folder_blocks_only_new_keys() {
    // Defect 1 of issue 15: revocation and policy repair go on; only the creates are refused,
    // each reported, with one warning about the folder.
    let d = desired(
        "",
        &[
            ("old", "2026-12-01T09:00:00Z", "2026-12-01T17:00:00Z", None),
            ("new", "2026-12-03T09:00:00Z", "2026-12-03T17:00:00Z", None),
        ],
    );
    let mut user = managed_user(
        "wk",
        vec![key(K1, KeyStatus::Active, "2026-11-30T09:00:00Z")],
        &[(K1, "old")],
    );
    user.inline_policies.insert(
        policy::POLICY_NAME.into(),
        serde_json::json!({"drifted": true}),
    );
    let message = "credentials directory /srv/creds can be read by other users (mode 755): refusing to write secrets there; run `chmod 700 /srv/creds`";
    for unlisted in [false, true] {
        let mut obs = with_file(observed(vec![user.clone()]), "old", K1);
        obs.credentials_problem = Some(CredentialsProblem {
            message: message.into(),
            unlisted,
        });
        let p = plan(&d, &obs, t("2026-12-02T12:00:00Z"));
        assert_eq!(
            lines(&p),
            vec![
                "put_user_policy wk BedrockInvokeOnly".to_string(),
                format!("deactivate_key wk {K1}"),
            ]
        );
        assert_eq!(p.blocked.len(), 1, "{:?}", p.blocked);
        assert_eq!(p.blocked[0].workshop, "new");
        assert_eq!(
            p.blocked[0].reason,
            format!("workshop new starts in 21h, but no key is created: {message}")
        );
        assert_eq!(
            p.warnings,
            vec![format!("{message}. Keys are still deactivated and deleted on time, but no new key is created until this is fixed")]
        );
    }

    // Unlisted files say nothing about a lost secret: a live key is kept, not replaced.
    let live = observed(vec![managed_user(
        "wk",
        vec![key(K2, KeyStatus::Active, "2026-12-02T09:00:00Z")],
        &[(K2, "new")],
    )]);
    let mut unlisted = live.clone();
    unlisted.credentials_problem = Some(CredentialsProblem {
        message: "credentials directory /srv/creds is not a directory".into(),
        unlisted: true,
    });
    let p = plan(&d, &unlisted, t("2026-12-03T12:00:00Z"));
    assert!(p.actions.is_empty() && p.blocked.is_empty(), "{p:?}");
    // A listed but unsafe folder without the file: the replacement is refused, reported.
    let mut listed = live;
    listed.credentials_problem = Some(CredentialsProblem {
        message: message.into(),
        unlisted: false,
    });
    let p = plan(&d, &listed, t("2026-12-03T12:00:00Z"));
    assert!(p.actions.is_empty(), "{:?}", lines(&p));
    assert!(p.blocked[0]
        .reason
        .contains("secret is lost, but no key is created"));
}

#[test]
fn key_is_deactivated_after_grace_and_deleted_after_hold() {
    let d = berlin();
    let active = with_file(
        observed(vec![managed_user(
            "wk",
            vec![key(K1, KeyStatus::Active, "2026-12-02T09:00:00Z")],
            &[(K1, "berlin")],
        )]),
        "berlin",
        K1,
    );
    assert!(plan(&d, &active, t("2026-12-03T17:59:59Z"))
        .actions
        .is_empty());
    let p = plan(&d, &active, t("2026-12-03T18:00:00Z"));
    assert_eq!(lines(&p), vec![format!("deactivate_key wk {K1}")]);
    let inactive = observed(vec![managed_user(
        "wk",
        vec![key(K1, KeyStatus::Inactive, "2026-12-02T09:00:00Z")],
        &[
            (K1, "berlin"),
            (&tags::deactivated_tag(K1), "2026-12-03T18:00:00Z"),
        ],
    )]);
    assert!(plan(&d, &inactive, t("2026-12-04T17:59:59Z"))
        .actions
        .is_empty());
    let p = plan(&d, &inactive, t("2026-12-04T18:00:00Z"));
    assert_eq!(lines(&p), vec![format!("delete_key wk {K1}")]);
    // A run that missed both moments deactivates and deletes in one go, in that order.
    let p = plan(&d, &active, t("2026-12-06T00:00:00Z"));
    assert_eq!(
        lines(&p),
        vec![
            format!("deactivate_key wk {K1}"),
            format!("delete_key wk {K1}")
        ]
    );
}

#[test]
fn orphan_keys_are_deactivated_now_stamped_and_deleted_after_hold() {
    let d = berlin();
    let now = t("2026-11-20T00:00:00Z");
    let obs = observed(vec![managed_user(
        "wk",
        vec![key(K1, KeyStatus::Active, "2026-11-01T00:00:00Z")],
        &[],
    )]);
    let p = plan(&d, &obs, now);
    assert_eq!(lines(&p), vec![format!("deactivate_key wk {K1}")]);
    assert!(p.actions[0].reason.contains("not claimed"));

    // Inactive without our stamp: record when first seen.
    let obs = observed(vec![managed_user(
        "wk",
        vec![key(K1, KeyStatus::Inactive, "2026-11-01T00:00:00Z")],
        &[],
    )]);
    let p = plan(&d, &obs, now);
    assert_eq!(lines(&p), vec![format!("tag_user wk {K1}")]);
    assert_eq!(
        p.actions[0].tags().unwrap()[&tags::deactivated_tag(K1)],
        "2026-11-20T00:00:00Z"
    );

    // Stamped, hold over: deleted.
    let obs = observed(vec![managed_user(
        "wk",
        vec![key(K1, KeyStatus::Inactive, "2026-11-01T00:00:00Z")],
        &[(&tags::deactivated_tag(K1), "2026-11-18T00:00:00Z")],
    )]);
    assert_eq!(
        lines(&plan(&d, &obs, now)),
        vec![format!("delete_key wk {K1}")]
    );

    // Claimed by a workshop the schedule no longer has: an orphan too.
    let obs = observed(vec![managed_user(
        "wk",
        vec![key(K1, KeyStatus::Active, "2026-11-01T00:00:00Z")],
        &[(K1, "removed-workshop")],
    )]);
    let p = plan(&d, &obs, now);
    assert_eq!(lines(&p), vec![format!("deactivate_key wk {K1}")]);
    assert!(p.actions[0].reason.contains("removed-workshop"));
}

#[test]
fn unmanaged_and_outside_path_users_are_never_touched() {
    let d = berlin();
    let now = t("2026-12-03T10:00:00Z");
    let mut u = managed_user(
        "wk",
        vec![key(K1, KeyStatus::Active, "2026-11-01T00:00:00Z")],
        &[],
    );
    u.tags.clear();
    u.inline_policies.clear();
    u.attached_policies = vec!["arn:aws:iam::aws:policy/AdministratorAccess".into()];
    let other = ObservedUser {
        name: "someone-else".into(),
        ..u.clone()
    };
    let p = plan(&d, &observed(vec![u, other]), now);
    assert!(p.actions.is_empty(), "{:?}", lines(&p));
    assert_eq!(p.blocked.len(), 1);
    assert!(p.blocked[0].reason.contains("managed-by=workshop-keys"));

    let obs = Observed {
        outside_path: BTreeSet::from(["wk".to_string()]),
        ..Observed::default()
    };
    let p = plan(&d, &obs, now);
    assert!(p.actions.is_empty(), "{:?}", lines(&p));
    assert!(p.blocked[0].reason.contains("outside the managed path"));
}

#[test]
fn policy_drift_is_repaired_and_extra_policies_removed() {
    let mut u = managed_user("wk", vec![], &[]);
    let mut drifted = policy::document(&PolicyChoice::AllModels, None);
    drifted["Statement"][0]["Action"] = serde_json::json!("*");
    u.inline_policies
        .insert(policy::POLICY_NAME.to_string(), drifted);
    u.inline_policies
        .insert("Extra".to_string(), serde_json::json!({}));
    u.attached_policies = vec!["arn:aws:iam::aws:policy/ReadOnlyAccess".into()];
    let p = plan(&berlin(), &observed(vec![u]), t("2026-11-01T00:00:00Z"));
    assert_eq!(
        lines(&p),
        vec![
            "put_user_policy wk BedrockInvokeOnly",
            "delete_user_policy wk Extra",
            "detach_user_policy wk arn:aws:iam::aws:policy/ReadOnlyAccess",
        ]
    );
    assert_eq!(
        p.actions[0].effect,
        workshop_keys::core::plan::Effect::Change
    );
}

#[test]
fn policy_compared_as_json_not_text() {
    let mut u = managed_user("wk", vec![], &[]);
    let reordered: serde_json::Value = serde_json::from_str(
        r#"{"Statement":[{"Resource":"*","Action":["bedrock:InvokeModelWithResponseStream","bedrock:InvokeModel"],"Effect":"Allow","Sid":"BedrockInvokeOnly"}],"Version":"2012-10-17"}"#,
    )
    .unwrap();
    u.inline_policies
        .insert(policy::POLICY_NAME.to_string(), reordered);
    assert!(plan(&berlin(), &observed(vec![u]), t("2026-11-01T00:00:00Z")).is_clean());
}

#[test]
fn user_no_longer_named_is_emptied_then_deleted() {
    let mut gone = managed_user(
        "old",
        vec![
            key(K1, KeyStatus::Active, "2026-11-01T00:00:00Z"),
            key(K2, KeyStatus::Inactive, "2026-11-01T00:00:00Z"),
        ],
        &[],
    );
    gone.attached_policies = vec!["arn:aws:iam::aws:policy/ReadOnlyAccess".into()];
    let p = plan(
        &berlin(),
        &observed(vec![managed_user("wk", vec![], &[]), gone]),
        t("2026-11-01T00:00:00Z"),
    );
    assert_eq!(
        lines(&p),
        vec![
            "delete_user_policy old BedrockInvokeOnly",
            "detach_user_policy old arn:aws:iam::aws:policy/ReadOnlyAccess",
            &format!("deactivate_key old {K1}"),
            &format!("delete_key old {K1}"),
            &format!("delete_key old {K2}"),
            "delete_user old",
        ]
    );
}

#[test]
fn slot_is_freed_from_held_keys_before_the_create() {
    // Two ended workshops' keys held inactive; a third workshop needs a key.
    let d = desired(
        "",
        &[
            ("a", "2026-12-01T09:00:00Z", "2026-12-01T10:00:00Z", None),
            ("b", "2026-12-01T11:00:00Z", "2026-12-01T12:00:00Z", None),
            ("c", "2026-12-02T14:00:00Z", "2026-12-02T15:00:00Z", None),
        ],
    );
    let obs = observed(vec![managed_user(
        "wk",
        vec![
            key(K1, KeyStatus::Inactive, "2026-11-30T09:00:00Z"),
            key(K2, KeyStatus::Inactive, "2026-11-30T11:00:00Z"),
        ],
        &[
            (K1, "a"),
            (K2, "b"),
            (&tags::deactivated_tag(K1), "2026-12-01T11:00:00Z"),
            (&tags::deactivated_tag(K2), "2026-12-01T13:00:00Z"),
        ],
    )]);
    let p = plan(&d, &obs, t("2026-12-01T14:00:00Z"));
    // `a`'s key is due soonest, so it goes; `b`'s stays held.
    assert_eq!(
        lines(&p),
        vec![format!("delete_key wk {K1}"), "create_key wk c".to_string()]
    );
    assert!(p.actions[0].reason.contains("frees a slot for workshop c"));
}

#[test]
fn third_concurrent_workshop_is_blocked_and_blocks_nothing_else() {
    let d = desired(
        "",
        &[
            ("a", "2026-12-02T09:00:00Z", "2026-12-02T17:00:00Z", None),
            ("b", "2026-12-02T09:00:00Z", "2026-12-02T17:00:00Z", None),
        ],
    );
    // Someone added a third, untagged-but-active key? No: an orphan is deactivated and its slot
    // reused. Here both keys are live for a and b, and c (on another user) is unaffected.
    let obs = observed(vec![managed_user(
        "wk",
        vec![
            key(K1, KeyStatus::Active, "2026-12-01T09:00:00Z"),
            key(K2, KeyStatus::Active, "2026-12-01T09:00:00Z"),
        ],
        &[(K1, "a"), (K2, "b")],
    )]);
    let obs = with_file(with_file(obs, "a", K1), "b", K2);
    assert!(plan(&d, &obs, t("2026-12-02T10:00:00Z")).actions.is_empty());

    // Build a third workshop by hand-editing the desired state (validate would refuse it).
    let mut d3 = d.clone();
    let mut c = d3.users["wk"][0].clone();
    c.workshop = "c".into();
    d3.users.get_mut("wk").unwrap().push(c);
    let p = plan(&d3, &obs, t("2026-12-02T10:00:00Z"));
    assert!(p.actions.iter().all(|a| a.action != ActionKind::CreateKey));
    assert_eq!(p.blocked.len(), 1);
    assert_eq!(p.blocked[0].workshop, "c");
    assert!(p.blocked[0].reason.contains("already holds two keys"));
}

#[test]
fn active_orphan_gives_its_slot_to_a_workshop() {
    let d = berlin();
    let obs = observed(vec![managed_user(
        "wk",
        vec![
            key(K1, KeyStatus::Active, "2026-11-01T00:00:00Z"),
            key(K2, KeyStatus::Active, "2026-11-01T00:00:00Z"),
        ],
        &[],
    )]);
    let p = plan(&d, &obs, t("2026-12-02T10:00:00Z"));
    assert_eq!(
        lines(&p),
        vec![
            format!("deactivate_key wk {K1}"),
            format!("delete_key wk {K1}"),
            "create_key wk berlin".to_string(),
            format!("deactivate_key wk {K2}"),
        ]
    );
}

#[test]
fn rotation_creates_first_and_revokes_after_the_overlap() {
    let d = desired(
        "rotate_after = \"7d\"\nrotation_overlap = \"1h\"\n",
        &[("long", "2026-12-01T09:00:00Z", "2026-12-20T17:00:00Z", None)],
    );
    let mut obs = observed(vec![managed_user(
        "wk",
        vec![key(K1, KeyStatus::Active, "2026-11-30T09:00:00Z")],
        &[(K1, "long")],
    )]);
    obs.files.insert(
        "long".into(),
        CredentialsFile {
            access_key_id: K1.into(),
            written: None,
        },
    );
    assert!(plan(&d, &obs, t("2026-12-07T08:59:00Z")).is_clean());
    let p = plan(&d, &obs, t("2026-12-07T09:00:00Z"));
    assert_eq!(lines(&p), vec!["create_key wk long"]);
    assert!(p.actions[0].reason.contains("rotate"));

    // New key exists: the old one stays for the overlap, then goes.
    obs.users[0]
        .keys
        .push(key(K2, KeyStatus::Active, "2026-12-07T09:00:00Z"));
    obs.users[0].tags.insert(K2.into(), "long".into());
    obs.files.get_mut("long").unwrap().access_key_id = K2.into();
    assert!(plan(&d, &obs, t("2026-12-07T09:30:00Z")).is_clean());
    let p = plan(&d, &obs, t("2026-12-07T10:00:00Z"));
    assert_eq!(lines(&p), vec![format!("deactivate_key wk {K1}")]);
}

#[test]
fn key_whose_tagging_was_interrupted_is_claimed_from_its_file() {
    let mut obs = observed(vec![managed_user(
        "wk",
        vec![key(K1, KeyStatus::Active, "2026-12-02T09:00:00Z")],
        &[],
    )]);
    obs.files.insert(
        "berlin".into(),
        CredentialsFile {
            access_key_id: K1.into(),
            written: Some(t("2026-12-02T09:00:00Z")),
        },
    );
    let p = plan(&berlin(), &obs, t("2026-12-02T09:15:00Z"));
    assert_eq!(lines(&p), vec![format!("tag_user wk {K1}")]);
    assert_eq!(p.actions[0].tags().unwrap()[K1], "berlin");
}

#[test]
fn a_key_not_yet_visible_is_not_created_twice() {
    let mut obs = observed(vec![managed_user("wk", vec![], &[(K1, "berlin")])]);
    obs.files.insert(
        "berlin".into(),
        CredentialsFile {
            access_key_id: K1.into(),
            written: Some(t("2026-12-02T09:00:00Z")),
        },
    );
    let p = plan(&berlin(), &obs, t("2026-12-02T09:05:00Z"));
    assert!(p.actions.is_empty(), "{:?}", lines(&p));
    assert!(p.warnings[0].contains("not visible in IAM yet"));
    // Long after, the key is taken as gone: a new one is made and the stale tag removed.
    let p = plan(&berlin(), &obs, t("2026-12-02T12:00:00Z"));
    assert_eq!(
        lines(&p),
        vec![
            format!("tag_user wk {K1}"),
            "create_key wk berlin".to_string()
        ]
    );
    assert_eq!(p.actions[0].untag(), [K1.to_string()]);
}

#[test]
fn moved_workshop_key_is_deactivated_until_its_new_window() {
    let obs = observed(vec![managed_user(
        "wk",
        vec![key(K1, KeyStatus::Active, "2026-12-02T09:00:00Z")],
        &[(K1, "berlin")],
    )]);
    let later = desired(
        "",
        &[(
            "berlin",
            "2026-12-20T09:00:00Z",
            "2026-12-20T17:00:00Z",
            None,
        )],
    );
    let p = plan(&later, &obs, t("2026-12-02T10:00:00Z"));
    assert_eq!(lines(&p), vec![format!("deactivate_key wk {K1}")]);
    assert!(p.actions[0].reason.contains("does not need a key until"));
}

#[test]
fn plans_are_deterministic_and_round_trip_through_json() {
    let d = desired(
        "",
        &[
            (
                "a",
                "2026-12-02T09:00:00Z",
                "2026-12-02T17:00:00Z",
                Some("u1"),
            ),
            (
                "b",
                "2026-12-02T09:00:00Z",
                "2026-12-02T17:00:00Z",
                Some("u2"),
            ),
            ("c", "2026-12-02T09:00:00Z", "2026-12-02T17:00:00Z", None),
        ],
    );
    let obs = Observed::default();
    let now = t("2026-12-02T08:00:00Z");
    let a = render::json(&plan(&d, &obs, now));
    let b = render::json(&plan(&d, &obs, now));
    assert_eq!(a, b);
    let back: Plan = serde_json::from_str(&a).unwrap();
    assert_eq!(back, plan(&d, &obs, now));
    let v: serde_json::Value = serde_json::from_str(&a).unwrap();
    assert_eq!(v["at"], "2026-12-02T08:00:00Z");
    let first = &v["actions"][0];
    assert_eq!(first["action"], "create_user");
    assert!(first["reason"].is_string());
    // Users are created before any key.
    let kinds: Vec<&str> = v["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    let last_create_user = kinds.iter().rposition(|k| *k == "create_user").unwrap();
    let first_key = kinds.iter().position(|k| *k == "create_key").unwrap();
    assert!(last_create_user < first_key);
    let _ = TimeDelta::zero();
}

/// Caught by the emulator tests: a live workshop moved to another user within the visibility
/// window got no key on its new user, because its old key (still listed on the old user) was
/// taken for one not yet visible.
#[test]
fn regression_workshop_moved_to_another_user_gets_a_key_at_once() {
    let d = desired(
        "",
        &[(
            "berlin",
            "2026-12-03T09:00:00Z",
            "2026-12-03T17:00:00Z",
            Some("other"),
        )],
    );
    let mut obs = observed(vec![
        managed_user(
            "wk",
            vec![key(K1, KeyStatus::Active, "2026-12-02T09:00:00Z")],
            &[(K1, "berlin")],
        ),
        managed_user("other", vec![], &[]),
    ]);
    obs.files.insert(
        "berlin".into(),
        CredentialsFile {
            access_key_id: K1.into(),
            written: Some(t("2026-12-02T09:00:00Z")),
        },
    );
    let p = plan(&d, &obs, t("2026-12-02T09:10:00Z"));
    assert_eq!(
        lines(&p),
        vec![
            "create_key other berlin".to_string(),
            format!("deactivate_key wk {K1}"),
        ]
    );
    assert!(p.warnings.is_empty(), "{:?}", p.warnings);
}

/// Caught by the simulation: IAM may list a key for a while after this tool deleted it; such a
/// key was counted and "deleted again" to make room, so the create met the two-key limit.
#[test]
fn regression_a_key_deleted_by_the_tool_but_still_listed_is_gone_for_the_planner() {
    let d = desired(
        "",
        &[
            ("a", "2026-12-02T09:00:00Z", "2026-12-02T17:00:00Z", None),
            ("b", "2026-12-03T09:00:00Z", "2026-12-03T17:00:00Z", None),
        ],
    );
    let mut obs = observed(vec![managed_user(
        "wk",
        vec![
            key(K1, KeyStatus::Inactive, "2026-11-01T00:00:00Z"),
            key(K2, KeyStatus::Active, "2026-12-01T09:00:00Z"),
        ],
        &[
            (K1, "gone"),
            (&tags::deactivated_tag(K1), "2026-11-02T00:00:00Z"),
            (K2, "a"),
        ],
    )]);
    obs.files.insert(
        "a".into(),
        CredentialsFile {
            access_key_id: K2.into(),
            written: None,
        },
    );
    obs.deleted.insert(K1.into(), t("2026-12-02T08:59:50Z"));
    let p = plan(&d, &obs, t("2026-12-02T09:00:00Z"));
    // K1 is neither counted nor deleted again; b gets the free slot. (Its tags, still
    // listed, are removed once more: harmless.)
    assert_eq!(
        lines(&p),
        vec![format!("tag_user wk {K1}"), "create_key wk b".to_string()]
    );
    assert!(p.actions[0].untag().contains(&K1.to_string()));
}

/// Two workshops on `wk`: `a` holds K1 (claimed, in its file); `b`'s creation was interrupted
/// at 10:00 (record with the keys the user held then).
fn interrupted_b(listed: Vec<ObservedKey>, keys_before: Option<&[&str]>) -> (Desired, Observed) {
    let d = desired(
        "",
        &[
            ("a", "2026-12-02T09:00:00Z", "2026-12-02T17:00:00Z", None),
            ("b", "2026-12-02T10:00:00Z", "2026-12-02T17:00:00Z", None),
        ],
    );
    let mut obs = observed(vec![managed_user("wk", listed, &[(K1, "a")])]);
    obs.files.insert(
        "a".into(),
        CredentialsFile {
            access_key_id: K1.into(),
            written: None,
        },
    );
    obs.creating.insert(
        "b".into(),
        workshop_keys::core::observed::PendingCreate {
            user: "wk".into(),
            at: t("2026-12-01T10:00:00Z"),
            keys_before: keys_before.map(|ids| ids.iter().map(|k| k.to_string()).collect()),
        },
    );
    (d, obs)
}

/// Caught by the simulation: a run whose CreateAccessKey answer was lost (or that died before
/// writing the key's file) may have made a key IAM does not list yet; it holds the last slot
/// for the visibility window, and the workshop waits instead of meeting the two-key limit.
#[test]
fn regression_an_interrupted_creation_holds_the_last_slot_for_a_while() {
    let listed = vec![key(K1, KeyStatus::Active, "2026-12-01T09:00:00Z")];
    let (d, obs) = interrupted_b(listed, Some(&[K1]));
    let p = plan(&d, &obs, t("2026-12-01T10:05:00Z"));
    assert!(p.actions.is_empty(), "{:?}", lines(&p));
    assert_eq!(p.waiting.len(), 1);
    assert_eq!(p.waiting[0].workshop, "b");
    assert!(p.blocked.is_empty());
    assert!(render::summary_line(&p).starts_with("No changes. 1 workshop waiting"));
    // After the window the slot is taken as free (IAM would list such a key by now).
    let p = plan(&d, &obs, t("2026-12-01T10:16:00Z"));
    assert_eq!(lines(&p), vec!["create_key wk b".to_string()]);
}

/// Found by the simulation: a run seconds after a deactivation (IAM still showing the key as
/// active) deactivated it again and restamped it, so its hold restarted.
#[test]
fn regression_deactivating_again_keeps_the_first_deactivation_time() {
    let obs = observed(vec![managed_user(
        "wk",
        vec![key(K1, KeyStatus::Active, "2026-11-01T00:00:00Z")],
        &[(&tags::deactivated_tag(K1), "2026-11-20T00:00:00Z")],
    )]);
    let p = plan(&berlin(), &obs, t("2026-11-20T00:00:10Z"));
    assert_eq!(lines(&p), vec![format!("deactivate_key wk {K1}")]);
    assert_eq!(
        p.actions[0].tags().unwrap()[&tags::deactivated_tag(K1)],
        "2026-11-20T00:00:00Z"
    );
}

/// Caught by the SIGKILL test against the emulator: a run killed while its CreateAccessKey was
/// in flight left `b`'s record; the key it made showed up unclaimed, was deactivated and then
/// deleted, yet the record went on holding a slot, so `b` waited although the user had room.
/// The key IAM lists now, new since the record and claimed by nobody, settles the record.
#[test]
fn regression_an_interrupted_creation_is_settled_once_iam_lists_its_key() {
    let listed = vec![
        key(K1, KeyStatus::Active, "2026-12-01T09:00:00Z"),
        key(K2, KeyStatus::Active, "2026-12-01T10:00:01Z"),
    ];
    let (d, obs) = interrupted_b(listed, Some(&[K1]));
    let p = plan(&d, &obs, t("2026-12-01T10:05:00Z"));
    assert_eq!(
        p.settled,
        vec![workshop_keys::core::plan::Settled {
            workshop: "b".into(),
            user: "wk".into(),
            access_key_id: K2.into(),
        }]
    );
    // K2's secret is nowhere: it goes to make room, and b gets its key in the same run.
    assert_eq!(
        lines(&p),
        vec![
            format!("deactivate_key wk {K2}"),
            format!("delete_key wk {K2}"),
            "create_key wk b".to_string(),
        ]
    );
    assert!(p.waiting.is_empty() && p.blocked.is_empty());
    let text = render::plan_text(&p);
    assert!(text.contains("settle"), "{text}");
    assert!(
        render::summary_line(&p).ends_with("1 interrupted creation settled."),
        "{text}"
    );
}

/// A key that was already there when the creation began is not its outcome; nor can a
/// record without the list of earlier keys be matched: both keep counting the slot.
#[test]
fn an_interrupted_creation_is_not_settled_by_a_key_it_did_not_make() {
    let listed = vec![
        key(K1, KeyStatus::Active, "2026-12-01T09:00:00Z"),
        key(K2, KeyStatus::Inactive, "2026-12-01T09:30:00Z"),
    ];
    for before in [Some(&[K1, K2][..]), None] {
        let (d, mut obs) = interrupted_b(listed.clone(), before);
        obs.users[0]
            .tags
            .insert(tags::deactivated_tag(K2), "2026-12-01T09:40:00Z".into());
        let p = plan(&d, &obs, t("2026-12-01T10:05:00Z"));
        assert!(p.settled.is_empty(), "{before:?}: {:?}", p.settled);
        // K1 kept, K2 held, one slot possibly taken by b's key: freeing one slot is not
        // enough, so nothing is deleted and b waits for IAM.
        assert_eq!(lines(&p), Vec::<String>::new(), "{before:?}");
        assert_eq!(p.waiting.len(), 1, "{before:?}");
        assert_eq!(p.waiting[0].workshop, "b");
    }
}

/// Found while fixing the settle rule: with a key IAM does not list yet, making room took one
/// held key when two slots were short, and the create could meet the two-key limit.
#[test]
fn regression_a_slot_is_freed_only_when_enough_keys_can_go() {
    let d = desired(
        "",
        &[
            ("a", "2026-12-02T09:00:00Z", "2026-12-02T17:00:00Z", None),
            ("c", "2026-12-02T10:00:00Z", "2026-12-02T17:00:00Z", None),
        ],
    );
    let (_, mut obs) = interrupted_b(
        vec![
            key(K1, KeyStatus::Active, "2026-12-01T09:00:00Z"),
            key(K2, KeyStatus::Inactive, "2026-12-01T09:30:00Z"),
        ],
        Some(&[K1, K2]),
    );
    obs.users[0]
        .tags
        .insert(tags::deactivated_tag(K2), "2026-12-01T09:40:00Z".into());
    // b left the schedule, but its interrupted creation may still hold a slot on wk.
    let p = plan(&d, &obs, t("2026-12-01T10:05:00Z"));
    assert_eq!(lines(&p), Vec::<String>::new());
    assert_eq!(p.waiting.len(), 1);
    assert_eq!(p.waiting[0].workshop, "c");
    // Once the window is over, one slot is short: the held key goes.
    let p = plan(&d, &obs, t("2026-12-01T10:16:00Z"));
    assert_eq!(
        lines(&p),
        vec![format!("delete_key wk {K2}"), "create_key wk c".to_string()]
    );
}
