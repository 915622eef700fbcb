//! The timeline: the schedule drawn across days, for an organiser to see a busy month at a
//! glance. One row per workshop (its key's phases: lead, live, grace, hold) and, per IAM user,
//! one row per key slot (AWS allows two keys per user: which workshop's key occupies each slot
//! over time), plus a `!` row where a user would need a third key.
//!
//! `model` computes the rows from a `Schedule`; `render_text` draws them for a terminal (ANSI
//! colours optional, any width) and `render_svg` as a standalone SVG. Pure: no I/O, no clock;
//! the same inputs give the same output byte for byte.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use chrono::{DateTime, NaiveDate, NaiveTime, TimeDelta, Utc};

use crate::core::limits::KEYS_PER_USER;
use crate::core::occupancy;
use crate::schedule::{Schedule, Workshop};

mod svg;
#[cfg(test)]
mod tests;
mod text;

pub use svg::render_svg;
pub use text::render_text;
#[allow(unused_imports)]
use text::*;
/// Days shown when `--days` is not given.
pub const DEFAULT_DAYS: u32 = 14;
/// Terminal width when neither `COLUMNS` nor the terminal tell.
pub const DEFAULT_WIDTH: usize = 100;
/// Longest range drawn (ten years); longer requests are cut to this.
pub const MAX_DAYS: u32 = 3660;
/// Narrowest label column in the text rendering.
const MIN_LABEL: usize = 4;
const DAY_SECS: i128 = 86_400;

/// What to draw and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimelineOptions {
    /// First moment shown (usually a midnight, UTC).
    pub from: DateTime<Utc>,
    /// Days shown from `from` (at least 1, at most `MAX_DAYS`).
    pub days: u32,
    /// Where the "now" marker goes.
    pub now: DateTime<Utc>,
    /// Terminal columns available to `render_text`.
    pub width: usize,
    /// ANSI colours in `render_text` (false: no escape code at all).
    pub color: bool,
}

impl TimelineOptions {
    /// The end of the range shown (exclusive): `from + days`.
    pub fn to(&self) -> DateTime<Utc> {
        self.from + TimeDelta::days(i64::from(clamp_days(self.days)))
    }
}

fn clamp_days(days: u32) -> u32 {
    days.clamp(1, MAX_DAYS)
}

// ---------------------------------------------------------------------------------------------
// Helpers for the command (pure: the caller reads the environment and the clock).

/// `--from`: a date (`2026-12-01`, midnight UTC) or an RFC 3339 time.
pub fn parse_from(s: &str) -> Result<DateTime<Utc>, String> {
    let s = s.trim();
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(d.and_time(NaiveTime::MIN).and_utc());
    }
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            format!(
                "--from must be a date (2026-12-01) or an RFC 3339 time \
                 (2026-12-01T09:00:00Z), not `{s}`"
            )
        })
}

/// The default `--from`: the start (00:00 UTC) of the day `now` falls in.
pub fn start_of_day(now: DateTime<Utc>) -> DateTime<Utc> {
    now.date_naive().and_time(NaiveTime::MIN).and_utc()
}

/// Columns to draw in: `COLUMNS` when it is a positive number, else the terminal's width, else
/// `DEFAULT_WIDTH`.
pub fn width_from(columns_env: Option<&str>, terminal: Option<usize>) -> usize {
    known_width(columns_env, terminal).unwrap_or(DEFAULT_WIDTH)
}

/// `COLUMNS` when it is a positive number, else the terminal's width, else nothing (output to a
/// pipe or file, where `plan` and `list` keep each item on one line for grep).
pub fn known_width(columns_env: Option<&str>, terminal: Option<usize>) -> Option<usize> {
    columns_env
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|&c| c > 0)
        .or(terminal.filter(|&c| c > 0))
}

/// Colour only when stdout is a terminal and `NO_COLOR` is unset (or empty, as no-color.org
/// specifies).
pub fn use_color(stdout_is_tty: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    stdout_is_tty && no_color.is_none_or(|v| v.is_empty())
}

// ---------------------------------------------------------------------------------------------
// The model.

/// A phase of a key's life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Phase {
    /// `[start - lead, start)`: the key exists, the workshop has not started.
    Lead,
    /// `[start, end)`: the workshop runs.
    Live,
    /// `[end, end + grace)`: still active after the end.
    Grace,
    /// `[end + grace, end + grace + hold)`: deactivated, not yet deleted (it still takes a slot).
    Hold,
    /// A user would need a third key.
    Collision,
}

impl Phase {
    pub fn name(self) -> &'static str {
        match self {
            Phase::Lead => "lead",
            Phase::Live => "live",
            Phase::Grace => "grace",
            Phase::Hold => "hold",
            Phase::Collision => "collision",
        }
    }

    pub fn glyph(self) -> char {
        match self {
            Phase::Lead => '░',
            Phase::Live => '█',
            Phase::Grace => '▒',
            Phase::Hold => '·',
            Phase::Collision => '!',
        }
    }

    /// ANSI SGR parameters.
    fn sgr(self) -> &'static str {
        match self {
            Phase::Lead => "36",
            Phase::Live => "32",
            Phase::Grace => "33",
            Phase::Hold => "90",
            Phase::Collision => "1;31",
        }
    }

    fn bold_sgr(self) -> &'static str {
        match self {
            Phase::Lead => "1;36",
            Phase::Live => "1;32",
            Phase::Grace => "1;33",
            Phase::Hold => "1;90",
            Phase::Collision => "1;31",
        }
    }

    fn svg_fill(self) -> &'static str {
        match self {
            Phase::Lead => "#9ecae1",
            Phase::Live => "#31a354",
            Phase::Grace => "#fdae6b",
            Phase::Hold => "#d9d9d9",
            Phase::Collision => "#d62728",
        }
    }

    /// Which phase a terminal cell shows when several fall into it: the workshop itself first,
    /// then the short grace, then the lead, then the hold.
    fn rank(self) -> u8 {
        match self {
            Phase::Hold => 0,
            Phase::Lead => 1,
            Phase::Grace => 2,
            Phase::Live => 3,
            Phase::Collision => 4,
        }
    }
}

/// A phase over `[from, to)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    pub phase: Phase,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

/// One workshop's key on a row (or, on a `!` row, one span where a third key is needed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bar {
    /// The workshop id (on a `!` row: the workshops involved, comma-separated).
    pub workshop: String,
    /// The workshop's one-character tag (`A`, `B`, ...; `!` on a `!` row).
    pub tag: char,
    pub spans: Vec<Span>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowKind {
    /// A workshop's key phases.
    Workshop { id: String, user: String, tag: char },
    /// Key slot `slot` (1 or 2) of `user`.
    Slot { user: String, slot: usize },
    /// When `user` would need more keys than it has slots.
    Collision { user: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub kind: RowKind,
    pub bars: Vec<Bar>,
}

impl Row {
    /// The full label: `A workshop-id`, `user / slot 1`, `user / !`.
    pub fn label(&self) -> String {
        match &self.kind {
            RowKind::Workshop { id, tag, .. } => format!("{tag} {id}"),
            RowKind::Slot { user, slot } => format!("{user} / slot {slot}"),
            RowKind::Collision { user } => format!("{user} / !"),
        }
    }
}

/// A span during which `user` would need `keys` (> 2) keys at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollisionSpan {
    pub user: String,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// The most keys needed at once during the span.
    pub keys: usize,
    /// Every workshop needing a key during the span, by key creation time.
    pub workshops: Vec<String>,
}

/// What `render_text` and `render_svg` draw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timeline {
    pub from: DateTime<Utc>,
    /// Exclusive: `from + days`.
    pub to: DateTime<Utc>,
    pub days: u32,
    pub now: DateTime<Utc>,
    /// The workshop rows (by start, id), then per user (sorted) its slot rows and, when a
    /// collision is in range, its `!` row.
    pub rows: Vec<Row>,
    /// Collisions overlapping the range, by user then time.
    pub collisions: Vec<CollisionSpan>,
}

const TAGS: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

fn tag_for(i: usize) -> char {
    TAGS.chars().nth(i).unwrap_or('?')
}

/// A workshop's phases, empty ones left out.
fn phases(w: &Workshop, hold: TimeDelta) -> Vec<Span> {
    let revoke = w.revoke_at();
    [
        (Phase::Lead, w.key_from(), w.start),
        (Phase::Live, w.start, w.end),
        (Phase::Grace, w.end, revoke),
        (Phase::Hold, revoke, revoke + hold),
    ]
    .into_iter()
    .filter(|(_, a, b)| a < b)
    .map(|(phase, from, to)| Span { phase, from, to })
    .collect()
}

/// The rows for the workshops overlapping `[opts.from, opts.from + opts.days)`.
pub fn model(schedule: &Schedule, opts: &TimelineOptions) -> Timeline {
    let days = clamp_days(opts.days);
    let from = opts.from;
    let to = opts.to();
    let hold = schedule.settings.hold.max(TimeDelta::zero());
    let in_range = |s: &Span| s.from < to && s.to > from;

    let mut all: Vec<&Workshop> = schedule.workshops.iter().collect();
    all.sort_by(|a, b| (a.start, &a.id).cmp(&(b.start, &b.id)));

    let mut rows = Vec::new();
    let mut tags: BTreeMap<&str, char> = BTreeMap::new();
    let mut users: BTreeSet<&str> = BTreeSet::new();
    for w in &all {
        let spans = phases(w, hold);
        if !spans.iter().any(in_range) {
            continue;
        }
        let tag = tag_for(tags.len());
        tags.entry(w.id.as_str()).or_insert(tag);
        users.insert(w.user.as_str());
        rows.push(Row {
            kind: RowKind::Workshop {
                id: w.id.clone(),
                user: w.user.clone(),
                tag,
            },
            bars: vec![Bar {
                workshop: w.id.clone(),
                tag,
                spans,
            }],
        });
    }

    let mut collisions = Vec::new();
    for user in users {
        // Every workshop of the user counts, shown or not: an earlier key can hold a slot.
        let mut ws: Vec<&Workshop> = all.iter().copied().filter(|w| w.user == user).collect();
        ws.sort_by(|a, b| (a.key_from(), &a.id).cmp(&(b.key_from(), &b.id)));

        for (n, occupancies) in assign_slots(&ws, hold).into_iter().enumerate() {
            let bars = occupancies
                .iter()
                .map(|o| {
                    let w = ws[o.workshop];
                    Bar {
                        workshop: w.id.clone(),
                        tag: tags.get(w.id.as_str()).copied().unwrap_or('?'),
                        spans: phases(w, hold)
                            .into_iter()
                            .filter_map(|s| clip(&s, o.from, o.until))
                            .collect(),
                    }
                })
                .filter(|b| b.spans.iter().any(in_range))
                .collect();
            rows.push(Row {
                kind: RowKind::Slot {
                    user: user.to_string(),
                    slot: n + 1,
                },
                bars,
            });
        }

        let found: Vec<CollisionSpan> = collision_spans(user, &ws)
            .into_iter()
            .filter(|c| c.from < to && c.to > from)
            .collect();
        if !found.is_empty() {
            rows.push(Row {
                kind: RowKind::Collision {
                    user: user.to_string(),
                },
                bars: found
                    .iter()
                    .map(|c| Bar {
                        workshop: c.workshops.join(", "),
                        tag: '!',
                        spans: vec![Span {
                            phase: Phase::Collision,
                            from: c.from,
                            to: c.to,
                        }],
                    })
                    .collect(),
            });
        }
        collisions.extend(found);
    }

    Timeline {
        from,
        to,
        days,
        now: opts.now,
        rows,
        collisions,
    }
}

fn clip(s: &Span, from: DateTime<Utc>, to: DateTime<Utc>) -> Option<Span> {
    let (a, b) = (s.from.max(from), s.to.min(to));
    (a < b).then_some(Span {
        phase: s.phase,
        from: a,
        to: b,
    })
}

/// A workshop's key in a slot over `[from, until)`.
struct Occupancy {
    /// Index into the user's workshops.
    workshop: usize,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
}

/// Greedy slot assignment, by key creation time: a new key takes a slot whose key is gone
/// (the lower first), else one whose key is deactivated (the one due for deletion soonest, which
/// is then deleted early). With both slots holding active keys it waits (a collision) and takes
/// the first slot released, if its window is not over by then.
fn assign_slots(ws: &[&Workshop], hold: TimeDelta) -> Vec<Vec<Occupancy>> {
    let mut slots: Vec<Vec<Occupancy>> = (0..KEYS_PER_USER).map(|_| Vec::new()).collect();
    let mut waiting: VecDeque<usize> = VecDeque::new();
    for (i, w) in ws.iter().enumerate() {
        if w.revoke_at() <= w.key_from() {
            continue; // needs no key
        }
        let k = w.key_from();
        drain_waiting(ws, hold, &mut slots, &mut waiting, Some(k));
        match pick_slot(ws, &slots, k) {
            Some(s) => take_slot(ws, hold, &mut slots[s], i, k),
            None => waiting.push_back(i),
        }
    }
    drain_waiting(ws, hold, &mut slots, &mut waiting, None);
    slots
}

/// When the slot's key stops being active (`None`: never used).
fn active_until(ws: &[&Workshop], slot: &[Occupancy]) -> Option<DateTime<Utc>> {
    slot.last().map(|o| ws[o.workshop].revoke_at())
}

fn pick_slot(ws: &[&Workshop], slots: &[Vec<Occupancy>], t: DateTime<Utc>) -> Option<usize> {
    (0..slots.len())
        .filter(|&s| active_until(ws, &slots[s]).is_none_or(|a| a <= t))
        .min_by_key(|&s| match slots[s].last() {
            Some(o) if o.until > t => (true, Some(o.until), s),
            _ => (false, None, s),
        })
}

fn take_slot(
    ws: &[&Workshop],
    hold: TimeDelta,
    slot: &mut Vec<Occupancy>,
    i: usize,
    t: DateTime<Utc>,
) {
    if let Some(last) = slot.last_mut() {
        last.until = last.until.min(t);
    }
    slot.push(Occupancy {
        workshop: i,
        from: t,
        until: ws[i].revoke_at() + hold,
    });
}

/// Give waiting workshops the slots released up to `limit` (all of them with `None`).
fn drain_waiting(
    ws: &[&Workshop],
    hold: TimeDelta,
    slots: &mut [Vec<Occupancy>],
    waiting: &mut VecDeque<usize>,
    limit: Option<DateTime<Utc>>,
) {
    while let Some(&i) = waiting.front() {
        let released = slots
            .iter()
            .map(|s| active_until(ws, s))
            .min()
            .flatten()
            .unwrap_or(ws[i].key_from());
        if limit.is_some_and(|l| released > l) {
            break;
        }
        waiting.pop_front();
        let t = released.max(ws[i].key_from());
        if ws[i].revoke_at() <= t {
            continue; // its window ended before a slot came free
        }
        if let Some(s) = pick_slot(ws, slots, t) {
            take_slot(ws, hold, &mut slots[s], i, t);
        }
    }
}

/// Maximal spans during which `user` needs more keys than it has slots (keys are needed over
/// `[start - lead, end + grace)`, half-open, as in the capacity check of `validate`).
fn collision_spans(user: &str, ws: &[&Workshop]) -> Vec<CollisionSpan> {
    let needed = ws
        .iter()
        .enumerate()
        .map(|(i, w)| (w.key_from(), w.revoke_at(), i));
    occupancy::spans_over(needed, KEYS_PER_USER)
        .into_iter()
        .map(|span| CollisionSpan {
            user: user.to_string(),
            from: span.from,
            to: span.to,
            keys: span.peak,
            workshops: span.keys.into_iter().map(|i| ws[i].id.clone()).collect(),
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Shared by both renderings.
