//! `status --workshop ID`: one row per participant (or one for a shared key), with the key
//! that participant holds, its state, its last use and whether its credentials file is here.
//! Pure: built from the schedule, the observed snapshot and which files exist.

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::core::observed::{KeyStatus, Observed, ObservedKey};
use crate::core::participants;
use crate::schedule::Workshop;
use crate::time::format_time;
use crate::view::render::table;

/// A key's state as the row shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RowState {
    Active,
    Inactive,
    /// No key claimed for this participant.
    None,
}

impl RowState {
    pub fn as_str(self) -> &'static str {
        match self {
            RowState::Active => "active",
            RowState::Inactive => "inactive",
            RowState::None => "none",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LastUse {
    pub service: Option<String>,
    pub region: Option<String>,
    pub time: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ParticipantRow {
    /// The label (`p07`); `null` for a shared-key workshop's one row.
    pub participant: Option<String>,
    /// The IAM user holding the key, when there is one.
    pub user: Option<String>,
    pub access_key_id: Option<String>,
    pub state: RowState,
    /// `null` when the key was never used (or there is no key).
    pub last_used: Option<LastUse>,
    /// The credentials file is on this machine.
    pub file: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WorkshopParticipants {
    pub workshop: String,
    /// `participants = N`, `null` for a shared key.
    pub participants: Option<u32>,
    pub key_from: DateTime<Utc>,
    pub revoke_at: DateTime<Utc>,
    pub rows: Vec<ParticipantRow>,
}

/// The rows of workshop `w`. `files` holds the labels whose file exists (the workshop id for a
/// shared key). A participant's key is found on any managed user by its claim tag
/// (`ws/p07`); a shared key on the workshop's user. When several keys carry one claim (a
/// revoked key beside its replacement), the newest active one is shown, else the newest.
pub fn view(w: &Workshop, observed: &Observed, files: &BTreeSet<String>) -> WorkshopParticipants {
    let claims: Vec<(Option<String>, String)> = match w.participants {
        Some(n) => participants::labels(n)
            .into_iter()
            .map(|l| {
                let c = participants::claim(&w.id, Some(&l));
                (Some(l), c)
            })
            .collect(),
        None => vec![(None, w.id.clone())],
    };
    let wanted: BTreeSet<&str> = claims.iter().map(|(_, c)| c.as_str()).collect();
    // One pass over every key: claim -> (user, key), the best so far.
    let mut found: HashMap<&str, (&str, &ObservedKey)> = HashMap::new();
    for u in observed.users.iter().filter(|u| u.is_managed()) {
        if w.participants.is_none() && u.name != w.user {
            continue;
        }
        for k in &u.keys {
            let Some(claim) = u.tags.get(&k.access_key_id).map(String::as_str) else {
                continue;
            };
            let Some(&claim) = wanted.get(claim) else {
                continue;
            };
            let rank = |k: &ObservedKey| (k.status == KeyStatus::Active, k.created);
            match found.get(claim) {
                Some((_, best)) if rank(best) >= rank(k) => {}
                _ => {
                    found.insert(claim, (u.name.as_str(), k));
                }
            }
        }
    }
    let rows = claims
        .iter()
        .map(|(label, claim)| {
            let key = found.get(claim.as_str());
            let file_name = label.as_deref().unwrap_or(&w.id);
            ParticipantRow {
                participant: label.clone(),
                user: key.map(|(u, _)| u.to_string()),
                access_key_id: key.map(|(_, k)| k.access_key_id.clone()),
                state: match key.map(|(_, k)| k.status) {
                    Some(KeyStatus::Active) => RowState::Active,
                    Some(KeyStatus::Inactive) => RowState::Inactive,
                    None => RowState::None,
                },
                last_used: key
                    .and_then(|(_, k)| k.last_used.as_ref())
                    .filter(|l| l.at.is_some())
                    .map(|l| LastUse {
                        service: l.service.clone(),
                        region: l.region.clone(),
                        time: l.at,
                    }),
                file: files.contains(file_name),
            }
        })
        .collect();
    WorkshopParticipants {
        workshop: w.id.clone(),
        participants: w.participants,
        key_from: w.key_from(),
        revoke_at: w.revoke_at(),
        rows,
    }
}

/// The rows as a table under a line naming the workshop and its key window.
pub fn text(v: &WorkshopParticipants) -> String {
    let mut out = String::new();
    let what = match v.participants {
        Some(n) => crate::text::count(n as usize, "participant", "participants"),
        None => "one shared key".to_string(),
    };
    let _ = writeln!(
        out,
        "Workshop {}: {what}, keys from {} until {}",
        v.workshop,
        format_time(v.key_from),
        format_time(v.revoke_at)
    );
    let dash = || "-".to_string();
    let mut rows = vec![["PARTICIPANT", "USER", "KEY", "STATE", "LAST USED", "FILE"]
        .map(String::from)
        .to_vec()];
    for r in &v.rows {
        let last_used = match &r.last_used {
            Some(l) => format!(
                "{} {} {}",
                l.time.map_or_else(dash, format_time),
                l.service.clone().unwrap_or_else(dash),
                l.region.clone().unwrap_or_else(dash)
            ),
            None if r.access_key_id.is_some() => "never".into(),
            None => dash(),
        };
        rows.push(vec![
            r.participant.clone().unwrap_or_else(|| "(shared)".into()),
            r.user.clone().unwrap_or_else(dash),
            r.access_key_id.clone().unwrap_or_else(dash),
            r.state.as_str().into(),
            last_used,
            if r.file { "yes" } else { "no" }.into(),
        ]);
    }
    out.push_str(&table(&rows, "  "));
    out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::core::observed::{LastUsed, ObservedUser};
    use chrono::TimeDelta;

    fn t(s: &str) -> DateTime<Utc> {
        crate::time::parse_time(s).unwrap()
    }

    fn ws(participants: Option<u32>) -> Workshop {
        Workshop {
            id: "room".into(),
            title: None,
            start: t("2026-12-03T09:00:00Z"),
            end: t("2026-12-03T17:00:00Z"),
            user: "workshop-bedrock-user".into(),
            lead: TimeDelta::hours(1),
            grace: TimeDelta::hours(1),
            participants,
            models: vec![],
            line: 1,
        }
    }

    fn key(id: &str, status: KeyStatus, created: &str) -> ObservedKey {
        ObservedKey {
            access_key_id: id.into(),
            status,
            created: t(created),
            last_used: None,
        }
    }

    fn user(name: &str, keys: Vec<(ObservedKey, &str)>) -> ObservedUser {
        let mut tags: BTreeMap<String, String> = keys
            .iter()
            .map(|(k, c)| (k.access_key_id.clone(), c.to_string()))
            .collect();
        tags.insert(
            crate::core::tags::MANAGED_BY_KEY.into(),
            crate::core::tags::MANAGED_BY_VALUE.into(),
        );
        ObservedUser {
            name: name.into(),
            path: "/workshop/".into(),
            tags,
            keys: keys.into_iter().map(|(k, _)| k).collect(),
            inline_policies: BTreeMap::new(),
            attached_policies: vec![],
        }
    }

    #[test]
    fn one_row_per_participant_with_the_newest_active_key() {
        let mut used = key("AKIA1", KeyStatus::Active, "2026-12-03T08:00:00Z");
        used.last_used = Some(LastUsed {
            at: Some(t("2026-12-03T09:30:00Z")),
            service: Some("bedrock".into()),
            region: Some("us-east-1".into()),
        });
        let observed = Observed {
            users: vec![
                user("workshop-participant-001", vec![(used, "room/p1")]),
                user(
                    "workshop-participant-002",
                    vec![
                        (
                            key("AKIA2", KeyStatus::Inactive, "2026-12-03T08:00:00Z"),
                            "room/p2",
                        ),
                        (
                            key("AKIA3", KeyStatus::Active, "2026-12-03T09:40:00Z"),
                            "room/p2",
                        ),
                    ],
                ),
                user(
                    "workshop-participant-003",
                    vec![(
                        key("AKIA4", KeyStatus::Active, "2026-12-03T08:00:00Z"),
                        "other/p3",
                    )],
                ),
            ],
            ..Observed::default()
        };
        let files: BTreeSet<String> = ["p1".to_string()].into();
        let v = view(&ws(Some(3)), &observed, &files);
        let got: Vec<(Option<&str>, Option<&str>, RowState, bool)> = v
            .rows
            .iter()
            .map(|r| {
                (
                    r.participant.as_deref(),
                    r.access_key_id.as_deref(),
                    r.state,
                    r.file,
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (Some("p1"), Some("AKIA1"), RowState::Active, true),
                (Some("p2"), Some("AKIA3"), RowState::Active, false),
                (Some("p3"), None, RowState::None, false),
            ]
        );
        let json = serde_json::to_value(&v.rows[0]).unwrap();
        assert_eq!(json["participant"], "p1");
        assert_eq!(json["state"], "active");
        assert_eq!(json["last_used"]["service"], "bedrock");
        assert_eq!(json["last_used"]["region"], "us-east-1");
        assert_eq!(json["last_used"]["time"], "2026-12-03T09:30:00Z");
        assert_eq!(json["file"], true);
        assert_eq!(
            text(&v),
            "Workshop room: 3 participants, keys from 2026-12-03T08:00:00Z until 2026-12-03T18:00:00Z\n\
             \x20 PARTICIPANT  USER                      KEY    STATE   LAST USED                               FILE\n\
             \x20 p1           workshop-participant-001  AKIA1  active  2026-12-03T09:30:00Z bedrock us-east-1  yes\n\
             \x20 p2           workshop-participant-002  AKIA3  active  never                                   no\n\
             \x20 p3           -                         -      none    -                                       no\n"
        );
    }

    #[test]
    fn a_shared_key_is_one_row_from_the_workshops_user() {
        let observed = Observed {
            users: vec![
                user(
                    "workshop-bedrock-user",
                    vec![(
                        key("AKIA9", KeyStatus::Active, "2026-12-03T08:00:00Z"),
                        "room",
                    )],
                ),
                user(
                    "elsewhere",
                    vec![(
                        key("AKIA8", KeyStatus::Active, "2026-12-03T08:30:00Z"),
                        "room",
                    )],
                ),
            ],
            ..Observed::default()
        };
        let files: BTreeSet<String> = ["room".to_string()].into();
        let v = view(&ws(None), &observed, &files);
        assert_eq!(v.rows.len(), 1);
        let r = &v.rows[0];
        assert_eq!(r.participant, None);
        assert_eq!(r.access_key_id.as_deref(), Some("AKIA9"));
        assert!(r.file && r.last_used.is_none());
        assert!(text(&v).contains("(shared)"));
        assert!(text(&v).contains("never"));
    }
}
