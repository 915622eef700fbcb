//! Builders of pure planner inputs (a schedule's `Desired`, observed users and keys) for table
//! tests, with no server.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Utc};
use workshop_keys::core::desired::Desired;
use workshop_keys::core::observed::{KeyStatus, Observed, ObservedKey, ObservedUser};
use workshop_keys::core::plan::Plan;
use workshop_keys::schedule;

pub fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

/// A schedule's desired state from TOML text.
pub fn desired_from(text: &str) -> Desired {
    let s = schedule::parse(Path::new("test.toml"), text).unwrap_or_else(|e| panic!("{e}"));
    Desired::from_schedule(&s)
}

pub fn key(id: &str, status: KeyStatus, created: &str) -> ObservedKey {
    ObservedKey {
        access_key_id: id.to_string(),
        status,
        created: t(created),
        last_used: None,
    }
}

/// A managed user under `/workshop/` carrying `policy` as its inline `BedrockInvokeOnly`.
pub fn managed_user(
    name: &str,
    keys: Vec<ObservedKey>,
    tags: &[(&str, &str)],
    policy: serde_json::Value,
) -> ObservedUser {
    let mut all: BTreeMap<String, String> = tags
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    all.insert("managed-by".into(), "workshop-keys".into());
    ObservedUser {
        name: name.to_string(),
        path: "/workshop/".into(),
        tags: all,
        keys,
        inline_policies: BTreeMap::from([(
            workshop_keys::core::policy::POLICY_NAME.to_string(),
            policy,
        )]),
        attached_policies: vec![],
    }
}

pub fn observed(users: Vec<ObservedUser>) -> Observed {
    Observed {
        users,
        ..Observed::default()
    }
}

/// `kind user key/workshop/policy` per action, for compact comparisons.
pub fn lines(p: &Plan) -> Vec<String> {
    p.actions
        .iter()
        .map(|a| {
            let what = a
                .access_key_id()
                .or(a.workshop.as_deref())
                .or(a.policy_arn())
                .or(a.policy_name())
                .unwrap_or_default();
            format!("{} {} {}", a.action.as_str(), a.user, what)
                .trim_end()
                .to_string()
        })
        .collect()
}
