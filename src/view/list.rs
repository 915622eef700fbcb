//! The `list` view: the schedule's workshops with their state now, as a table or JSON.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::schedule::Schedule;
use crate::time::format_time;

/// Where a workshop is in time: `upcoming` before its start, `live` from its start until its
/// end, `past` from its end on. (Keys live longer: from `start - lead` until `end + grace`;
/// `status` shows those states.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ListedState {
    Upcoming,
    Live,
    Past,
}

impl ListedState {
    pub fn as_str(self) -> &'static str {
        match self {
            ListedState::Upcoming => "upcoming",
            ListedState::Live => "live",
            ListedState::Past => "past",
        }
    }
}

/// One workshop of `list`. `title` is `null` in JSON when the workshop has none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListedWorkshop {
    pub id: String,
    pub title: Option<String>,
    pub user: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub state: ListedState,
}

/// Every workshop with its state at `now`, sorted by start, then id.
pub fn list(schedule: &Schedule, now: DateTime<Utc>) -> Vec<ListedWorkshop> {
    let mut out: Vec<ListedWorkshop> = schedule
        .workshops
        .iter()
        .map(|w| ListedWorkshop {
            id: w.id.clone(),
            title: w.title.clone(),
            user: w.user.clone(),
            start: w.start,
            end: w.end,
            state: if now < w.start {
                ListedState::Upcoming
            } else if now < w.end {
                ListedState::Live
            } else {
                ListedState::Past
            },
        })
        .collect();
    out.sort_by(|a, b| (a.start, &a.id).cmp(&(b.start, &b.id)));
    out
}

/// `list_text` fitted to `width` (unchanged without one): when the full table is wider, each
/// workshop's user and title go on a line of their own under it, wrapped, and times are
/// shortened to `2026-12-02 09:00` (UTC). Ids are never cut.
pub fn list_text_fitted(workshops: &[ListedWorkshop], width: Option<usize>) -> String {
    let full = list_text(workshops);
    let Some(width) = width else {
        return full;
    };
    if workshops.is_empty() || full.lines().all(|l| l.chars().count() <= width) {
        return full;
    }
    let short = |t: DateTime<Utc>| t.format("%Y-%m-%d %H:%M").to_string();
    let mut rows: Vec<Vec<String>> = vec![["WORKSHOP", "STATE", "START", "END"]
        .map(String::from)
        .to_vec()];
    for w in workshops {
        rows.push(vec![
            w.id.clone(),
            w.state.as_str().to_string(),
            short(w.start),
            short(w.end),
        ]);
        let mut about = format!("  user {}", w.user);
        if let Some(title) = &w.title {
            about.push_str(&format!(" · {title}"));
        }
        rows.push(vec![about]);
    }
    crate::view::render::fit_lines(&crate::view::render::table(&rows, ""), Some(width))
}

/// A table with a header (times in UTC), or `No workshops.`.
pub fn list_text(workshops: &[ListedWorkshop]) -> String {
    if workshops.is_empty() {
        return "No workshops.\n".to_string();
    }
    let header = ["WORKSHOP", "STATE", "START", "END", "USER", "TITLE"];
    let mut rows: Vec<Vec<String>> = vec![header.map(String::from).to_vec()];
    for w in workshops {
        rows.push(vec![
            w.id.clone(),
            w.state.as_str().to_string(),
            format_time(w.start),
            format_time(w.end),
            w.user.clone(),
            w.title.clone().unwrap_or_else(|| "-".into()),
        ]);
    }
    crate::view::render::table(&rows, "")
}
