//! The `status` view: managed users and their keys, and each workshop's state. Pure: built
//! from the schedule, an observed snapshot (with last use) and the time.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::core::desired::{Desired, Window};
use crate::core::observed::{KeyStatus, LastUsed, Observed};
use crate::core::plan::Quarantined;
use crate::core::tags;
use crate::schedule::Schedule;

#[derive(Debug, Clone, Serialize)]
pub struct KeyView {
    pub access_key_id: String,
    pub status: KeyStatus,
    pub created: DateTime<Utc>,
    pub age_seconds: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workshop: Option<String>,
    /// The workshop's key window: from `start - lead` until `end + grace`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window_from: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window_until: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_used: Option<LastUsed>,
    pub credentials_file: bool,
    /// The last Bedrock verification recorded in IAM: `<time> <outcome>`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verified: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct UserView {
    pub name: String,
    pub path: String,
    pub managed: bool,
    pub keys: Vec<KeyView>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum WorkshopState {
    /// Before `start - lead`.
    Upcoming,
    /// In its window without an active key yet (the next reconcile creates one).
    Waiting,
    /// In its window with an active key.
    KeyLive,
    /// After `end + grace`, before `end + grace + hold`.
    Revoked,
    /// After `end + grace + hold`.
    Ended,
}

impl WorkshopState {
    pub fn as_str(self) -> &'static str {
        match self {
            WorkshopState::Upcoming => "upcoming",
            WorkshopState::Waiting => "waiting",
            WorkshopState::KeyLive => "key live",
            WorkshopState::Revoked => "revoked",
            WorkshopState::Ended => "ended",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct WorkshopView {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    pub user: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub key_from: DateTime<Utc>,
    pub revoke_at: DateTime<Utc>,
    pub delete_at: DateTime<Utc>,
    pub state: WorkshopState,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_key_id: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StatusView {
    pub at: DateTime<Utc>,
    pub users: Vec<UserView>,
    pub workshops: Vec<WorkshopView>,
    /// Users AWS quarantined because a key leaked.
    pub quarantined: Vec<Quarantined>,
    pub warnings: Vec<String>,
}

pub fn status_view(
    schedule: &Schedule,
    desired: &Desired,
    observed: &Observed,
    quarantined: Vec<Quarantined>,
    warnings: Vec<String>,
    now: DateTime<Utc>,
) -> StatusView {
    let window = |user: &str, id: &str| desired.window(user, id);
    let users = observed
        .users
        .iter()
        .map(|u| UserView {
            name: u.name.clone(),
            path: u.path.clone(),
            managed: u.is_managed(),
            keys: u
                .keys
                .iter()
                .map(|k| {
                    let workshop = u.tags.get(&k.access_key_id).cloned();
                    let w: Option<&Window> = workshop.as_deref().and_then(|id| window(&u.name, id));
                    KeyView {
                        access_key_id: k.access_key_id.clone(),
                        status: k.status,
                        created: k.created,
                        age_seconds: (now - k.created).num_seconds(),
                        window_from: w.map(|w| w.key_from),
                        window_until: w.map(|w| w.revoke_at),
                        last_used: k.last_used.clone(),
                        credentials_file: observed
                            .files
                            .values()
                            .any(|f| f.access_key_id == k.access_key_id),
                        verified: u.tags.get(&tags::verified_tag(&k.access_key_id)).cloned(),
                        workshop,
                    }
                })
                .collect(),
        })
        .collect();
    let workshops = schedule
        .workshops
        .iter()
        .map(|w| {
            // A workshop with participants has one window per participant, all alike.
            let win = window(&w.user, &w.id)
                .or_else(|| desired.participants.iter().find(|p| p.workshop == w.id))
                .expect("every scheduled workshop has a window");
            let live_key = observed
                .user(&w.user)
                .and_then(|u| u.live_key_of(&w.id))
                .map(|k| k.access_key_id.clone());
            let state = if now < win.key_from {
                WorkshopState::Upcoming
            } else if now < win.revoke_at {
                if live_key.is_some() {
                    WorkshopState::KeyLive
                } else {
                    WorkshopState::Waiting
                }
            } else if now < win.delete_at {
                WorkshopState::Revoked
            } else {
                WorkshopState::Ended
            };
            WorkshopView {
                id: w.id.clone(),
                title: w.title.clone(),
                user: w.user.clone(),
                start: w.start,
                end: w.end,
                key_from: win.key_from,
                revoke_at: win.revoke_at,
                delete_at: win.delete_at,
                state,
                access_key_id: live_key,
            }
        })
        .collect();
    StatusView {
        at: now,
        users,
        workshops,
        quarantined,
        warnings,
    }
}
