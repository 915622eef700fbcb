//! The timeline: the schedule drawn across days, for an organiser to see a busy month at a
//! glance. One row per workshop (its key's phases: lead, live, grace, hold) and, per IAM user,
//! one row per key slot (AWS allows two keys per user: which workshop's key occupies each slot
//! over time), plus a `!` row where a user would need a third key.
//!
//! `model` computes the rows from a `Schedule`; `render_text` draws them for a terminal (ANSI
//! colours optional, any width) and `render_svg` as a standalone SVG. Pure: no I/O, no clock;
//! the same inputs give the same output byte for byte.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt::Write as _;

use chrono::{DateTime, NaiveDate, NaiveTime, TimeDelta, Timelike, Utc};

use crate::schedule::{Schedule, Workshop};

/// Days shown when `--days` is not given.
pub const DEFAULT_DAYS: u32 = 14;
/// Terminal width when neither `COLUMNS` nor the terminal tell.
pub const DEFAULT_WIDTH: usize = 100;
/// Longest range drawn (ten years); longer requests are cut to this.
pub const MAX_DAYS: u32 = 3660;
/// AWS allows two access keys per IAM user.
const KEY_SLOTS: usize = 2;
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
    let mut slots: Vec<Vec<Occupancy>> = (0..KEY_SLOTS).map(|_| Vec::new()).collect();
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
    let mut events: Vec<(DateTime<Utc>, u8, usize)> = Vec::new();
    for (i, w) in ws.iter().enumerate() {
        if w.key_from() < w.revoke_at() {
            events.push((w.key_from(), 1, i));
            events.push((w.revoke_at(), 0, i));
        }
    }
    events.sort_unstable();

    let mut out = Vec::new();
    let mut active: BTreeSet<usize> = BTreeSet::new();
    let mut open: Option<(DateTime<Utc>, BTreeSet<usize>, usize)> = None;
    let mut e = 0;
    while e < events.len() {
        let t = events[e].0;
        while e < events.len() && events[e].0 == t {
            let (_, kind, i) = events[e];
            if kind == 1 {
                active.insert(i);
            } else {
                active.remove(&i);
            }
            e += 1;
        }
        if active.len() > KEY_SLOTS {
            let o = open.get_or_insert_with(|| (t, BTreeSet::new(), 0));
            o.1.extend(active.iter().copied());
            o.2 = o.2.max(active.len());
        } else if let Some((from, involved, keys)) = open.take() {
            out.push(CollisionSpan {
                user: user.to_string(),
                from,
                to: t,
                keys,
                workshops: involved.into_iter().map(|i| ws[i].id.clone()).collect(),
            });
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Shared by both renderings.

fn fmt_minute(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M").to_string()
}

fn is_midnight(t: DateTime<Utc>) -> bool {
    t.num_seconds_from_midnight() == 0 && t.nanosecond() == 0
}

/// `2026-12-01 – 2026-12-07 UTC (7 days)`; with times when `from` is not a midnight.
fn range_text(t: &Timeline) -> String {
    let days = if t.days == 1 { "day" } else { "days" };
    if is_midnight(t.from) {
        let last = t.to - TimeDelta::days(1);
        format!(
            "{} – {} UTC ({} {days})",
            t.from.format("%Y-%m-%d"),
            last.format("%Y-%m-%d"),
            t.days
        )
    } else {
        format!(
            "{} – {} UTC ({} {days})",
            fmt_minute(t.from),
            fmt_minute(t.to),
            t.days
        )
    }
}

fn collision_text(c: &CollisionSpan) -> String {
    format!(
        "{} needs {} keys at once {} – {} UTC ({}); AWS allows two per user",
        c.user,
        c.keys,
        fmt_minute(c.from),
        fmt_minute(c.to),
        c.workshops.join(", ")
    )
}

fn secs_since(from: DateTime<Utc>, t: DateTime<Utc>) -> i128 {
    i128::from((t - from).num_seconds())
}

// ---------------------------------------------------------------------------------------------
// Text.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    Plain,
    Bold,
    Phase(Phase),
    Tag(Phase),
    Now,
    Alert,
}

impl Style {
    fn sgr(self) -> Option<&'static str> {
        match self {
            Style::Plain => None,
            Style::Bold => Some("1"),
            Style::Phase(p) => Some(p.sgr()),
            Style::Tag(p) => Some(p.bold_sgr()),
            Style::Now => Some("1;35"),
            Style::Alert => Some("31"),
        }
    }
}

/// A line of styled characters.
#[derive(Default)]
struct Line(Vec<(char, Style)>);

impl Line {
    fn push(&mut self, c: char, style: Style) {
        self.0.push((c, style));
    }

    fn push_str(&mut self, s: &str, style: Style) {
        self.0.extend(s.chars().map(|c| (c, style)));
    }

    fn pad_to(&mut self, width: usize) {
        while self.0.len() < width {
            self.0.push((' ', Style::Plain));
        }
    }

    /// The line, trailing blanks removed, with ANSI codes when `color`.
    fn finish(mut self, color: bool) -> String {
        while self
            .0
            .last()
            .is_some_and(|&(c, s)| c == ' ' && s == Style::Plain)
        {
            self.0.pop();
        }
        let mut out = String::new();
        let mut current = Style::Plain;
        for (c, style) in self.0 {
            if color && style != current {
                if current.sgr().is_some() {
                    out.push_str("\x1b[0m");
                }
                if let Some(sgr) = style.sgr() {
                    let _ = write!(out, "\x1b[{sgr}m");
                }
                current = style;
            }
            out.push(c);
        }
        if color && current.sgr().is_some() {
            out.push_str("\x1b[0m");
        }
        out
    }
}

/// `s` in at most `width` characters, cut with `…`.
fn clip_str(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        return s.to_string();
    }
    if width == 0 {
        return String::new();
    }
    let mut out: String = s.chars().take(width - 1).collect();
    out.push('…');
    out
}

/// `name` in at most `width` characters, cut in the middle (`works…er-uk`): as much of both
/// ends as fits, with the cut placed where `name` stays apart from each of `peers` cut the
/// same way (names that differ only at the end keep their ends).
fn shorten_middle(name: &str, width: usize, peers: &[&str]) -> String {
    let count = name.chars().count();
    if count <= width {
        return name.to_string();
    }
    if width < 3 {
        return clip_str(name, width);
    }
    let keep = width - 1;
    let cut = |s: &str, head: usize| -> String {
        let c: Vec<char> = s.chars().collect();
        if c.len() <= width {
            return s.to_string();
        }
        let tail = keep - head;
        let mut out: String = c[..head].iter().collect();
        out.push('…');
        out.extend(&c[c.len() - tail..]);
        out
    };
    let balanced = keep.div_ceil(2);
    // From the balanced cut outwards, giving the end more room first.
    let mut heads = vec![balanced];
    for d in 1..=keep {
        if let Some(h) = balanced.checked_sub(d).filter(|&h| h >= 1) {
            heads.push(h);
        }
        if balanced + d < keep {
            heads.push(balanced + d);
        }
    }
    for head in heads {
        let mine = cut(name, head);
        if peers
            .iter()
            .filter(|p| **p != name)
            .all(|p| cut(p, head) != mine)
        {
            return mine;
        }
    }
    cut(name, balanced)
}

/// A row's label in at most `width` characters: a long user name is shortened in the middle
/// (apart from the other users) before the slot suffix, which shortens to `/1` on narrow
/// terminals; a long workshop id is shortened in the middle apart from the other ids.
fn fit_label(row: &Row, width: usize, t: &Timeline) -> String {
    let full = row.label();
    if full.chars().count() <= width {
        return full;
    }
    let mut ids: Vec<&str> = Vec::new();
    let mut users: Vec<&str> = Vec::new();
    for r in &t.rows {
        match &r.kind {
            RowKind::Workshop { id, .. } => ids.push(id),
            RowKind::Slot { user, .. } | RowKind::Collision { user } => users.push(user),
        }
    }
    let (user, suffixes) = match &row.kind {
        RowKind::Workshop { id, tag, .. } => {
            return match width.checked_sub(2).filter(|&w| w >= 3) {
                Some(w) => format!("{tag} {}", shorten_middle(id, w, &ids)),
                None => clip_str(&full, width),
            }
        }
        RowKind::Slot { user, slot } => (
            user,
            vec![
                format!(" / slot {slot}"),
                format!(" /{slot}"),
                format!("/{slot}"),
            ],
        ),
        RowKind::Collision { user } => (user, vec![" / !".to_string(), "/!".to_string()]),
    };
    let keep = user.chars().count().min(4);
    for suffix in &suffixes {
        let n = suffix.chars().count();
        if width >= n + keep {
            return format!("{}{suffix}", shorten_middle(user, width - n, &users));
        }
    }
    let last = suffixes.last().map_or("", String::as_str);
    clip_str(&format!("{user}{last}"), width)
}

/// Words of `text` in lines of at most `width` characters (continuation lines indented by
/// `indent` spaces); words longer than a line are cut into pieces.
fn wrap(text: &str, width: usize, indent: usize) -> Vec<String> {
    let width = width.max(1);
    let indent = if indent < width { indent } else { 0 };
    let mut lines = Vec::new();
    let mut line = String::new();
    let mut len = 0;
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        let mut word: Vec<char> = word.chars().collect();
        loop {
            let start = if lines.is_empty() { 0 } else { indent };
            let sep = usize::from(len > start);
            if len + sep + word.len() <= width {
                if sep == 1 {
                    line.push(' ');
                }
                line.extend(word.iter());
                len += sep + word.len();
                break;
            }
            if len > start {
                lines.push(std::mem::take(&mut line));
                line = " ".repeat(indent);
                len = indent;
                continue;
            }
            // The word alone is too long for a line: cut it.
            let room = width - len;
            line.extend(word[..room].iter());
            lines.push(std::mem::take(&mut line));
            line = " ".repeat(indent);
            len = indent;
            word.drain(..room);
            if word.is_empty() {
                break;
            }
        }
    }
    if len > if lines.is_empty() { 0 } else { indent } {
        lines.push(line);
    }
    lines
}

/// Columns of the text rendering.
struct Grid {
    label_w: usize,
    /// Columns per day.
    cpd: usize,
    cols: usize,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
}

impl Grid {
    fn new(t: &Timeline, width: usize) -> Grid {
        let days = clamp_days(t.days) as usize;
        let natural = t
            .rows
            .iter()
            .map(|r| r.label().chars().count())
            .max()
            .unwrap_or(0)
            .max(MIN_LABEL);
        let cap = (width * 2 / 5).max(MIN_LABEL);
        let mut label_w = natural.min(cap);
        if label_w + 1 + days > width {
            label_w = width
                .saturating_sub(1 + days)
                .clamp(MIN_LABEL.min(label_w), label_w);
        }
        let cpd = (width.saturating_sub(label_w + 1) / days).max(1);
        // Columns left over (days do not divide the width) go to the labels.
        let label_w = label_w.max(natural.min(width.saturating_sub(1 + cpd * days)));
        Grid {
            label_w,
            cpd,
            cols: cpd * days,
            from: t.from,
            to: t.to,
        }
    }

    /// The column `t` falls in, if in range.
    fn col_of(&self, t: DateTime<Utc>) -> Option<usize> {
        if t < self.from || t >= self.to {
            return None;
        }
        let c = secs_since(self.from, t) * self.cpd as i128 / DAY_SECS;
        Some((c as usize).min(self.cols - 1))
    }

    /// The columns `[lo, hi)` that `[a, b)` touches, if any.
    fn cols_of(&self, a: DateTime<Utc>, b: DateTime<Utc>) -> Option<(usize, usize)> {
        let cpd = self.cpd as i128;
        let lo = (secs_since(self.from, a) * cpd).div_euclid(DAY_SECS);
        let hi = -(-secs_since(self.from, b) * cpd).div_euclid(DAY_SECS);
        let lo = lo.max(0);
        let hi = hi.min(self.cols as i128);
        (lo < hi).then_some((lo as usize, hi as usize))
    }
}

type Cell = Option<(Phase, Option<char>)>;

/// A row's cells. Where several phases fall into one cell the higher ranked shows; then each
/// phase left without a cell (a short grace next to the end of the workshop) takes one of its
/// columns from a phase that has more than one, so that every phase in range stays visible.
fn row_cells(row: &Row, grid: &Grid) -> Vec<Cell> {
    let spans: Vec<(&Span, usize, usize)> = row
        .bars
        .iter()
        .flat_map(|b| &b.spans)
        .filter_map(|s| grid.cols_of(s.from, s.to).map(|(lo, hi)| (s, lo, hi)))
        .collect();
    // Each cell's span (index into `spans`), and how many cells each span has.
    let mut owner: Vec<Option<usize>> = vec![None; grid.cols];
    let mut count = vec![0usize; spans.len()];
    for (i, &(span, lo, hi)) in spans.iter().enumerate() {
        for cell in &mut owner[lo..hi] {
            let wins = cell.is_none_or(|o| spans[o].0.phase.rank() < span.phase.rank());
            if wins {
                if let Some(o) = *cell {
                    count[o] -= 1;
                }
                *cell = Some(i);
                count[i] += 1;
            }
        }
    }
    let mut unseen: Vec<usize> = (0..spans.len()).filter(|&i| count[i] == 0).collect();
    unseen.sort_by_key(|&i| (std::cmp::Reverse(spans[i].0.phase.rank()), spans[i].1, i));
    for i in unseen {
        let (_, lo, hi) = spans[i];
        // Its own columns first, else the one just before or after it: a phase shifted by a
        // cell is better than a phase not drawn.
        let free = (lo..hi)
            .rev()
            .chain(lo.checked_sub(1))
            .chain(Some(hi).filter(|&c| c < grid.cols))
            .find(|&c| owner[c].is_none_or(|o| count[o] > 1));
        if let Some(c) = free {
            if let Some(o) = owner[c] {
                count[o] -= 1;
            }
            owner[c] = Some(i);
            count[i] += 1;
        }
    }
    let mut cells: Vec<Cell> = owner
        .iter()
        .map(|o| o.map(|i| (spans[i].0.phase, None)))
        .collect();
    if matches!(row.kind, RowKind::Slot { .. }) {
        // Mark where each workshop's key enters the slot (or the range) with its tag, on its
        // first cell unless that is the only cell of a phase: then on the cell before it.
        for bar in &row.bars {
            let first = cells
                .iter()
                .zip(&owner)
                .position(|(_, o)| o.is_some_and(|o| bar.spans.contains(spans[o].0)));
            let Some(c) = first else { continue };
            let only_cell = |c: usize| owner[c].is_some_and(|o| count[o] <= 1);
            let at = if !only_cell(c) {
                c
            } else {
                match c.checked_sub(1) {
                    Some(b) if !only_cell(b) && cells[b].is_none_or(|(_, tag)| tag.is_none()) => b,
                    _ => c,
                }
            };
            // Coloured as the key's first phase shown, wherever it sits.
            let phase = cells[c].map_or(Phase::Hold, |(p, _)| p);
            cells[at] = Some((phase, Some(bar.tag)));
        }
    }
    cells
}

/// The chosen day label format and how many days apart labels go.
fn day_labels(cpd: usize) -> (&'static str, usize) {
    match cpd {
        10.. => ("%a %m-%d", 1),
        7.. => ("%a %d", 1),
        3.. => ("%d", 1),
        _ => ("%d", 3usize.div_ceil(cpd.max(1))),
    }
}

/// The timeline for a terminal `opts.width` columns wide: a title, the now marker, the day
/// labels, one line per row, then the legend and the collisions. With `opts.color` false, no
/// escape code at all. The range and now come from `t` (`model` copied them from the options).
pub fn render_text(t: &Timeline, opts: &TimelineOptions) -> String {
    let width = opts.width;
    let color = opts.color;
    let grid = Grid::new(t, width);
    let now_col = grid.col_of(t.now);
    let mut lines: Vec<String> = Vec::new();

    // The title.
    let mut title = Line::default();
    title.push_str(
        &clip_str(&format!("Timeline {}", range_text(t)), width.max(1)),
        Style::Bold,
    );
    lines.push(title.finish(color));

    // The now marker.
    let mut marker = Line::default();
    let now_label = format!("now {}", t.now.format("%m-%d %H:%M"));
    marker.push_str(&clip_str(&now_label, grid.label_w), Style::Now);
    marker.pad_to(grid.label_w + 1);
    match now_col {
        Some(c) => {
            marker.pad_to(grid.label_w + 1 + c);
            marker.push('▼', Style::Now);
        }
        None if t.now < t.from => marker.push('◀', Style::Now),
        None => {
            marker.pad_to(grid.label_w + grid.cols);
            marker.push('▶', Style::Now);
        }
    }
    lines.push(marker.finish(color));

    // The day labels.
    let (format, step) = day_labels(grid.cpd);
    let mut header: Vec<(char, Style)> = vec![(' ', Style::Plain); grid.cols];
    for d in (0..clamp_days(t.days) as usize).step_by(step) {
        let day = t.from + TimeDelta::days(d as i64);
        let text = day.format(format).to_string();
        let start = d * grid.cpd;
        if start + text.chars().count() > grid.cols {
            continue; // a label cut short would name another day
        }
        for (k, ch) in text.chars().enumerate() {
            header[start + k] = (ch, Style::Plain);
        }
    }
    let mut dates = Line::default();
    dates.pad_to(grid.label_w + 1);
    for (c, (ch, style)) in header.into_iter().enumerate() {
        if ch == ' ' && Some(c) == now_col {
            dates.push('│', Style::Now);
        } else {
            dates.push(ch, style);
        }
    }
    lines.push(dates.finish(color));

    let blank_with_now = || {
        let mut l = Line::default();
        if let Some(c) = now_col {
            l.pad_to(grid.label_w + 1 + c);
            l.push('│', Style::Now);
        }
        l.finish(color)
    };

    if t.rows.is_empty() {
        lines.push(format!("no workshops in {}", range_text(t)));
    }
    for row in &t.rows {
        if matches!(row.kind, RowKind::Slot { slot: 1, .. }) {
            lines.push(blank_with_now());
        }
        let mut line = Line::default();
        let label_style = match row.kind {
            RowKind::Collision { .. } => Style::Alert,
            _ => Style::Plain,
        };
        line.push_str(&fit_label(row, grid.label_w, t), label_style);
        line.pad_to(grid.label_w + 1);
        for (c, cell) in row_cells(row, &grid).into_iter().enumerate() {
            match cell {
                Some((phase, None)) => line.push(phase.glyph(), Style::Phase(phase)),
                Some((phase, Some(tag))) => line.push(tag, Style::Tag(phase)),
                None if Some(c) == now_col => line.push('│', Style::Now),
                None => line.push(' ', Style::Plain),
            }
        }
        lines.push(line.finish(color));
    }

    // The legend, wrapped to the width.
    lines.push(String::new());
    let items: [(char, Style, &str); 7] = [
        ('░', Style::Phase(Phase::Lead), "lead"),
        ('█', Style::Phase(Phase::Live), "live"),
        ('▒', Style::Phase(Phase::Grace), "grace"),
        ('·', Style::Phase(Phase::Hold), "hold (deactivated)"),
        ('!', Style::Phase(Phase::Collision), "third key needed"),
        ('▼', Style::Now, "now"),
        ('A', Style::Tag(Phase::Live), "slot holds workshop A's key"),
    ];
    let mut legend = Line::default();
    for (glyph, style, text) in items {
        let text = clip_str(text, width.saturating_sub(2));
        let n = 2 + text.chars().count();
        if !legend.0.is_empty() && legend.0.len() + 2 + n > width {
            lines.push(std::mem::take(&mut legend).finish(color));
        }
        if !legend.0.is_empty() {
            legend.push_str("  ", Style::Plain);
        }
        legend.push(glyph, style);
        legend.push(' ', Style::Plain);
        legend.push_str(&text, Style::Plain);
    }
    lines.push(legend.finish(color));

    // The collisions, spelled out.
    for c in &t.collisions {
        for (k, text) in wrap(&format!("! {}", collision_text(c)), width, 2)
            .into_iter()
            .enumerate()
        {
            let mut line = Line::default();
            match text.strip_prefix('!') {
                Some(rest) if k == 0 => {
                    line.push('!', Style::Phase(Phase::Collision));
                    line.push_str(rest, Style::Plain);
                }
                _ => line.push_str(&text, Style::Plain),
            }
            lines.push(line.finish(color));
        }
    }

    let mut out = lines.join("\n");
    out.push('\n');
    out
}

// ---------------------------------------------------------------------------------------------
// SVG.

const SVG_MARGIN: i64 = 16;
const SVG_ROW_H: i64 = 22;
const SVG_BAR_H: i64 = 14;
const SVG_GAP_H: i64 = 10;
/// Estimated advance of one character at font-size 12 (monospace), in tenths of a pixel.
const SVG_CHAR_W10: i64 = 75;
const SVG_NOW: &str = "#7b3294";

/// Tenths of a pixel as an SVG number: `12`, `12.5`.
fn px(tenths: i64) -> String {
    if tenths % 10 == 0 {
        format!("{}", tenths / 10)
    } else {
        format!("{}.{}", tenths.div_euclid(10), tenths.rem_euclid(10))
    }
}

fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            _ => out.push(c),
        }
    }
    out
}

fn text_w10(s: &str) -> i64 {
    s.chars().count() as i64 * SVG_CHAR_W10
}

/// Horizontal geometry of the SVG, in tenths of a pixel.
struct SvgX {
    left: i64,
    day_w: i64,
    days: i64,
    from: DateTime<Utc>,
}

impl SvgX {
    fn of(&self, t: DateTime<Utc>) -> i64 {
        let s = secs_since(self.from, t).clamp(0, i128::from(self.days) * DAY_SECS);
        self.left + (s * i128::from(self.day_w) / DAY_SECS) as i64
    }

    fn right(&self) -> i64 {
        self.left + self.day_w * self.days
    }
}

/// The same picture as `render_text`, as a standalone SVG document (starts with `<svg`): rects
/// per phase with a `<title>` each (hover for times), row labels, day grid with weekends shaded,
/// a now line, collision highlights, a legend and the collisions spelled out.
pub fn render_svg(t: &Timeline, _opts: &TimelineOptions) -> String {
    let days = i64::from(clamp_days(t.days));
    let day_w10: i64 = (14_000 / days).clamp(240, 1200);
    let label_w10 = t
        .rows
        .iter()
        .map(|r| text_w10(&r.label()))
        .max()
        .unwrap_or(0)
        .max(text_w10("now 2026-12-01 00:00 UTC"));
    let x = SvgX {
        left: (SVG_MARGIN * 10 + label_w10 + 129) / 10 * 10,
        day_w: day_w10,
        days,
        from: t.from,
    };
    let width10 = x.right() + SVG_MARGIN * 10;

    // Vertical layout: rows, with a gap before each user's slots.
    let top: i64 = 72;
    let mut row_y: Vec<i64> = Vec::with_capacity(t.rows.len());
    let mut y = top;
    for row in &t.rows {
        if matches!(row.kind, RowKind::Slot { slot: 1, .. }) {
            y += SVG_GAP_H;
        }
        row_y.push(y);
        y += SVG_ROW_H;
    }
    if t.rows.is_empty() {
        y += SVG_ROW_H;
    }
    let bottom = y;

    let mut body = String::new();
    let b = &mut body;

    // Day grid: weekends shaded, a line at each midnight, the day labels.
    let _ = writeln!(b, "<g class=\"grid\">");
    for d in 0..days {
        let day = t.from + TimeDelta::days(d);
        let x0 = x.left + d * day_w10;
        let weekday = day.format("%u").to_string();
        if weekday == "6" || weekday == "7" {
            let _ = writeln!(
                b,
                "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"#f3f3f3\"/>",
                px(x0),
                top - 4,
                px(day_w10),
                bottom - top + 8
            );
        }
        let label = match day_w10 {
            700.. => day.format("%a %m-%d").to_string(),
            400.. => day.format("%m-%d").to_string(),
            _ => day.format("%d").to_string(),
        };
        let _ = writeln!(
            b,
            "<text x=\"{}\" y=\"{}\" fill=\"#444\">{}</text>",
            px(x0 + 30),
            top - 10,
            xml_escape(&label)
        );
    }
    for d in 0..=days {
        let x0 = px(x.left + d * day_w10);
        let _ = writeln!(
            b,
            "<line x1=\"{x0}\" y1=\"{}\" x2=\"{x0}\" y2=\"{}\" stroke=\"#d0d0d0\"/>",
            top - 24,
            bottom + 4
        );
    }
    let _ = writeln!(b, "</g>");

    // Collision highlights behind each user's slot rows.
    let _ = writeln!(b, "<g class=\"collisions\">");
    for c in &t.collisions {
        let ys: Vec<i64> = t
            .rows
            .iter()
            .zip(&row_y)
            .filter(|(r, _)| match &r.kind {
                RowKind::Slot { user, .. } | RowKind::Collision { user } => *user == c.user,
                RowKind::Workshop { .. } => false,
            })
            .map(|(_, &y)| y)
            .collect();
        if let (Some(&y0), Some(&y1)) = (ys.iter().min(), ys.iter().max()) {
            let (x0, x1) = (x.of(c.from), x.of(c.to));
            let _ = writeln!(
                b,
                "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\" \
                 fill-opacity=\"0.15\" stroke=\"{}\" stroke-dasharray=\"4 2\"/>",
                px(x0),
                y0,
                px((x1 - x0).max(10)),
                y1 - y0 + SVG_ROW_H,
                Phase::Collision.svg_fill(),
                Phase::Collision.svg_fill()
            );
        }
    }
    let _ = writeln!(b, "</g>");

    // The rows.
    let _ = writeln!(b, "<g class=\"rows\">");
    if t.rows.is_empty() {
        let _ = writeln!(
            b,
            "<text x=\"{}\" y=\"{}\">no workshops in {}</text>",
            SVG_MARGIN,
            top + 15,
            xml_escape(&range_text(t))
        );
    }
    for (row, &ry) in t.rows.iter().zip(&row_y) {
        let (class, label_fill) = match row.kind {
            RowKind::Workshop { .. } => ("workshop", "#222"),
            RowKind::Slot { .. } => ("slot", "#555"),
            RowKind::Collision { .. } => ("collision", Phase::Collision.svg_fill()),
        };
        let _ = writeln!(b, "<g class=\"{class}\">");
        let _ = writeln!(
            b,
            "<text x=\"{}\" y=\"{}\" fill=\"{label_fill}\">{}</text>",
            SVG_MARGIN,
            ry + 15,
            xml_escape(&row.label())
        );
        let bar_y = ry + (SVG_ROW_H - SVG_BAR_H) / 2;
        for bar in &row.bars {
            let mut extent: Option<(i64, i64)> = None;
            for span in &bar.spans {
                if span.to <= t.from || span.from >= t.to {
                    continue;
                }
                let (x0, x1) = (x.of(span.from), x.of(span.to));
                extent = Some(extent.map_or((x0, x1), |(a, z)| (a.min(x0), z.max(x1))));
                let what = match row.kind {
                    RowKind::Collision { .. } => format!("third key needed: {}", bar.workshop),
                    _ => format!("{} {}", bar.workshop, span.phase.name()),
                };
                let _ = writeln!(
                    b,
                    "<rect x=\"{}\" y=\"{bar_y}\" width=\"{}\" height=\"{SVG_BAR_H}\" \
                     fill=\"{}\"><title>{} {} – {} UTC</title></rect>",
                    px(x0),
                    px((x1 - x0).max(10)),
                    span.phase.svg_fill(),
                    xml_escape(&what),
                    fmt_minute(span.from),
                    fmt_minute(span.to)
                );
            }
            // Name the key in a slot row (the id when it fits, else the tag).
            if let (RowKind::Slot { .. } | RowKind::Collision { .. }, Some((x0, x1))) =
                (&row.kind, extent)
            {
                let text = if matches!(row.kind, RowKind::Collision { .. }) {
                    "!".to_string()
                } else if text_w10(&bar.workshop) + 80 <= x1 - x0 {
                    bar.workshop.clone()
                } else {
                    bar.tag.to_string()
                };
                if text_w10(&text) + 40 <= x1 - x0 {
                    let fill = if matches!(row.kind, RowKind::Collision { .. }) {
                        "#fff"
                    } else {
                        "#111"
                    };
                    let _ = writeln!(
                        b,
                        "<text x=\"{}\" y=\"{}\" font-size=\"11\" fill=\"{fill}\">{}</text>",
                        px(x0 + 30),
                        ry + 15,
                        xml_escape(&text)
                    );
                }
            }
        }
        let _ = writeln!(b, "</g>");
    }
    let _ = writeln!(b, "</g>");

    // Now.
    let now_text = format!("now {} UTC", fmt_minute(t.now));
    let _ = writeln!(b, "<g class=\"now\">");
    if t.now >= t.from && t.now < t.to {
        let nx = px(x.of(t.now));
        let _ = writeln!(
            b,
            "<line x1=\"{nx}\" y1=\"{}\" x2=\"{nx}\" y2=\"{}\" stroke=\"{SVG_NOW}\" \
             stroke-width=\"2\" stroke-dasharray=\"5 3\"/>",
            top - 26,
            bottom + 4
        );
        let anchor = if x.of(t.now) - x.left > x.right() - x.of(t.now) {
            "end"
        } else {
            "start"
        };
        let dx = if anchor == "end" { -40 } else { 40 };
        let _ = writeln!(
            b,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"{anchor}\" fill=\"{SVG_NOW}\">{}</text>",
            px(x.of(t.now) + dx),
            top - 28,
            xml_escape(&now_text)
        );
    } else {
        let side = if t.now < t.from {
            "before this range"
        } else {
            "after this range"
        };
        let _ = writeln!(
            b,
            "<text x=\"{}\" y=\"{}\" fill=\"{SVG_NOW}\">{} ({side})</text>",
            px(x.left),
            top - 28,
            xml_escape(&now_text)
        );
    }
    let _ = writeln!(b, "</g>");

    // Legend, wrapped to the picture's width.
    let mut ly = bottom + 30;
    let _ = writeln!(b, "<g class=\"legend\">");
    let items = [
        (Some(Phase::Lead), "lead"),
        (Some(Phase::Live), "live"),
        (Some(Phase::Grace), "grace"),
        (Some(Phase::Hold), "hold (deactivated)"),
        (Some(Phase::Collision), "third key needed"),
        (None, "now"),
    ];
    let mut lx = SVG_MARGIN * 10;
    for (phase, text) in items {
        let w = 180 + text_w10(text) + 200;
        if lx > SVG_MARGIN * 10 && lx + w > width10 {
            lx = SVG_MARGIN * 10;
            ly += 20;
        }
        match phase {
            Some(p) => {
                let _ = writeln!(
                    b,
                    "<rect x=\"{}\" y=\"{}\" width=\"12\" height=\"12\" fill=\"{}\"/>",
                    px(lx),
                    ly - 10,
                    p.svg_fill()
                );
            }
            None => {
                let _ = writeln!(
                    b,
                    "<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" stroke=\"{SVG_NOW}\" \
                     stroke-width=\"2\" stroke-dasharray=\"5 3\"/>",
                    px(lx + 60),
                    ly - 11,
                    ly + 3
                );
            }
        }
        let _ = writeln!(
            b,
            "<text x=\"{}\" y=\"{ly}\">{}</text>",
            px(lx + 180),
            xml_escape(text)
        );
        lx += w;
    }
    let _ = writeln!(b, "</g>");

    // Collisions, spelled out.
    let _ = writeln!(b, "<g class=\"notes\">");
    let chars = ((width10 - 2 * SVG_MARGIN * 10) / SVG_CHAR_W10).max(20) as usize;
    for c in &t.collisions {
        for line in wrap(&format!("! {}", collision_text(c)), chars, 2) {
            ly += 18;
            let _ = writeln!(
                b,
                "<text x=\"{}\" y=\"{ly}\" fill=\"{}\" xml:space=\"preserve\">{}</text>",
                SVG_MARGIN,
                Phase::Collision.svg_fill(),
                xml_escape(&line)
            );
        }
    }
    let _ = writeln!(b, "</g>");

    let height = ly + 16;
    let width = px(width10);
    let title = format!("workshop-keys timeline {}", range_text(t));
    let mut out = String::new();
    let _ = writeln!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
         viewBox=\"0 0 {width} {height}\" font-family=\"ui-monospace, Menlo, Consolas, \
         'DejaVu Sans Mono', monospace\" font-size=\"12\">"
    );
    let _ = writeln!(out, "<title>{}</title>", xml_escape(&title));
    let _ = writeln!(out, "<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>");
    let _ = writeln!(
        out,
        "<text x=\"{SVG_MARGIN}\" y=\"22\" font-size=\"14\" font-weight=\"bold\">{}</text>",
        xml_escape(&format!("Timeline {}", range_text(t)))
    );
    out.push_str(&body);
    out.push_str("</svg>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const U: &str = "workshop-bedrock-user";
    const UK: &str = "workshop-bedrock-user-uk";

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    /// A parsed schedule with one workshop: `Settings` and `Workshop` get new fields over
    /// time, so tests build theirs from these (struct update) rather than spelling every field.
    fn parsed() -> Schedule {
        let text = "[settings]\nuser = \"workshop-bedrock-user\"\nlead = \"24h\"\n\
                    grace = \"1h\"\nhold = \"24h\"\n\n[[workshop]]\nid = \"template\"\n\
                    start = 2026-12-01T09:00:00Z\nend = 2026-12-01T10:00:00Z\n";
        crate::schedule::parse(std::path::Path::new("workshops.toml"), text).unwrap()
    }

    fn ws(id: &str, user: &str, start: &str, end: &str, lead_h: i64, grace_m: i64) -> Workshop {
        Workshop {
            id: id.into(),
            title: None,
            start: at(start),
            end: at(end),
            user: user.into(),
            lead: TimeDelta::hours(lead_h),
            grace: TimeDelta::minutes(grace_m),
            ..parsed().workshops[0].clone()
        }
    }

    /// Four workshops in range on two users, with a collision on the first user (built here:
    /// `validate` refuses it) and a workshop long gone that is not shown.
    ///
    /// workshop-bedrock-user, keys needed (lead .. end + grace):
    ///   context-engine-berlin    12-02 08:00 .. 12-03 17:00 (deleted 12-04 17:00)
    ///   agents-lab-paris         12-03 07:00 .. 12-03 14:30 (lead 3h, grace 30m)
    ///   context-engine-berlin-2  12-03 08:00 .. 12-04 17:00: a third key 12-03 08:00 .. 14:30
    fn known() -> Schedule {
        Schedule {
            workshops: vec![
                ws(
                    "old-workshop",
                    U,
                    "2026-11-20T09:00:00Z",
                    "2026-11-20T17:00:00Z",
                    24,
                    60,
                ),
                ws(
                    "rag-basics-london",
                    UK,
                    "2026-12-02T09:00:00Z",
                    "2026-12-02T16:00:00Z",
                    24,
                    60,
                ),
                ws(
                    "context-engine-berlin",
                    U,
                    "2026-12-03T08:00:00Z",
                    "2026-12-03T16:00:00Z",
                    24,
                    60,
                ),
                ws(
                    "agents-lab-paris",
                    U,
                    "2026-12-03T10:00:00Z",
                    "2026-12-03T14:00:00Z",
                    3,
                    30,
                ),
                ws(
                    "context-engine-berlin-2",
                    U,
                    "2026-12-04T08:00:00Z",
                    "2026-12-04T16:00:00Z",
                    24,
                    60,
                ),
            ],
            ..parsed()
        }
    }

    fn opts(width: usize, color: bool) -> TimelineOptions {
        TimelineOptions {
            from: at("2026-12-01T00:00:00Z"),
            days: 7,
            now: at("2026-12-03T12:00:00Z"),
            width,
            color,
        }
    }

    fn check_snapshot(name: &str, actual: &str) {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/snapshots")
            .join(name);
        if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, actual).unwrap();
        }
        let expected = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (UPDATE_SNAPSHOTS=1 writes it)", path.display()));
        assert!(
            actual == expected,
            "{} differs (UPDATE_SNAPSHOTS=1 rewrites it); got:\n{actual}",
            path.display()
        );
    }

    fn labels(t: &Timeline) -> Vec<String> {
        t.rows.iter().map(Row::label).collect()
    }

    #[test]
    fn model_has_a_row_per_workshop_in_range_and_per_slot() {
        let t = model(&known(), &opts(100, false));
        assert_eq!(
            labels(&t),
            [
                "A rag-basics-london",
                "B context-engine-berlin",
                "C agents-lab-paris",
                "D context-engine-berlin-2",
                "workshop-bedrock-user / slot 1",
                "workshop-bedrock-user / slot 2",
                "workshop-bedrock-user / !",
                "workshop-bedrock-user-uk / slot 1",
                "workshop-bedrock-user-uk / slot 2",
            ]
        );
        assert_eq!(t.to, at("2026-12-08T00:00:00Z"));
        let paris = &t.rows[2].bars[0].spans;
        assert_eq!(
            paris
                .iter()
                .map(|s| (s.phase, s.from, s.to))
                .collect::<Vec<_>>(),
            [
                (
                    Phase::Lead,
                    at("2026-12-03T07:00:00Z"),
                    at("2026-12-03T10:00:00Z")
                ),
                (
                    Phase::Live,
                    at("2026-12-03T10:00:00Z"),
                    at("2026-12-03T14:00:00Z")
                ),
                (
                    Phase::Grace,
                    at("2026-12-03T14:00:00Z"),
                    at("2026-12-03T14:30:00Z")
                ),
                (
                    Phase::Hold,
                    at("2026-12-03T14:30:00Z"),
                    at("2026-12-04T14:30:00Z")
                ),
            ]
        );
    }

    #[test]
    fn slots_are_assigned_greedily_and_the_third_key_waits() {
        let t = model(&known(), &opts(100, false));
        let slot = |i: usize| -> Vec<(String, DateTime<Utc>, DateTime<Utc>)> {
            t.rows[i]
                .bars
                .iter()
                .map(|b| {
                    let first = b.spans.first().unwrap().from;
                    let last = b.spans.last().unwrap().to;
                    (b.workshop.clone(), first, last)
                })
                .collect()
        };
        assert_eq!(
            slot(4),
            [(
                "context-engine-berlin".to_string(),
                at("2026-12-02T08:00:00Z"),
                at("2026-12-04T17:00:00Z")
            )]
        );
        // Paris takes slot 2 at 07:00; berlin-2 waits for it (from 08:00) and gets it when
        // Paris's key is deactivated at 14:30, which deletes that key at once.
        assert_eq!(
            slot(5),
            [
                (
                    "agents-lab-paris".to_string(),
                    at("2026-12-03T07:00:00Z"),
                    at("2026-12-03T14:30:00Z")
                ),
                (
                    "context-engine-berlin-2".to_string(),
                    at("2026-12-03T14:30:00Z"),
                    at("2026-12-05T17:00:00Z")
                ),
            ]
        );
        assert_eq!(
            t.collisions,
            [CollisionSpan {
                user: U.into(),
                from: at("2026-12-03T08:00:00Z"),
                to: at("2026-12-03T14:30:00Z"),
                keys: 3,
                workshops: vec![
                    "context-engine-berlin".into(),
                    "agents-lab-paris".into(),
                    "context-engine-berlin-2".into()
                ],
            }]
        );
        assert_eq!(t.rows[6].bars[0].tag, '!');
        assert!(
            t.rows[8].bars.is_empty(),
            "the uk user's second slot is unused"
        );
    }

    #[test]
    fn a_held_key_gives_way_and_the_one_due_soonest_is_deleted() {
        let mut s = known();
        s.workshops = vec![
            ws("a", U, "2026-12-02T09:00:00Z", "2026-12-02T10:00:00Z", 1, 0), // held to 12-03 10:00
            ws("b", U, "2026-12-02T11:00:00Z", "2026-12-02T12:00:00Z", 1, 0), // held to 12-03 12:00
            ws("c", U, "2026-12-02T20:00:00Z", "2026-12-02T21:00:00Z", 1, 0),
        ];
        let t = model(&s, &opts(100, false));
        let slot1 = &t.rows[3].bars;
        assert_eq!(slot1.len(), 2);
        assert_eq!(
            slot1[0].spans.last().unwrap().to,
            at("2026-12-02T19:00:00Z")
        );
        assert_eq!(slot1[1].workshop, "c");
        assert_eq!(t.rows[4].bars[0].workshop, "b");
        assert!(t.collisions.is_empty());
        assert_eq!(t.rows.len(), 5, "no ! row without a collision");
    }

    #[test]
    fn only_workshops_overlapping_the_range_are_shown() {
        let mut o = opts(100, false);
        o.from = at("2026-11-20T00:00:00Z");
        o.days = 1;
        let t = model(&known(), &o);
        assert_eq!(
            labels(&t),
            [
                "A old-workshop",
                "workshop-bedrock-user / slot 1",
                "workshop-bedrock-user / slot 2"
            ]
        );
        o.from = at("2026-12-10T00:00:00Z");
        let t = model(&known(), &o);
        assert!(t.rows.is_empty());
        let text = render_text(&t, &o);
        assert!(
            text.contains("no workshops in 2026-12-10 – 2026-12-10 UTC (1 day)"),
            "{text}"
        );
    }

    #[test]
    fn text_snapshot() {
        let o = opts(100, false);
        check_snapshot("timeline.txt", &render_text(&model(&known(), &o), &o));
    }

    #[test]
    fn svg_snapshot() {
        let o = opts(100, false);
        check_snapshot("timeline.svg", &render_svg(&model(&known(), &o), &o));
    }

    #[test]
    fn no_color_means_no_escape_codes_and_color_adds_only_escape_codes() {
        let plain = opts(100, false);
        let t = model(&known(), &plain);
        let text = render_text(&t, &plain);
        assert!(!text.contains('\x1b'));

        let colored = render_text(&t, &opts(100, true));
        for sgr in [
            "\x1b[36m░",
            "\x1b[32m█",
            "\x1b[33m▒",
            "\x1b[90m·",
            "\x1b[1;31m!",
            "\x1b[1;35m▼",
        ] {
            assert!(colored.contains(sgr), "{sgr:?} missing");
        }
        assert_eq!(strip_ansi(&colored), text);
    }

    fn strip_ansi(s: &str) -> String {
        let mut out = String::new();
        let mut chars = s.chars();
        while let Some(c) = chars.next() {
            if c == '\x1b' {
                for c in chars.by_ref() {
                    if c == 'm' {
                        break;
                    }
                }
            } else {
                out.push(c);
            }
        }
        out
    }

    #[test]
    fn narrow_terminals_keep_every_row_within_the_width() {
        let s = known();
        let wide = opts(100, false);
        let t = model(&s, &wide);
        let wide_lines = render_text(&t, &wide).lines().count();
        for width in [20, 40] {
            let o = opts(width, false);
            let text = render_text(&t, &o);
            let lines: Vec<&str> = text.lines().collect();
            // Same rows; only the legend and the collision notes may wrap onto more lines.
            let body = 3 + t.rows.len() + 2; // header, rows, gaps before each user's slots
            assert!(
                lines.len() >= body && lines.len() >= wide_lines - 2,
                "{text}"
            );
            for (row, line) in t.rows.iter().zip(
                lines[3..]
                    .iter()
                    .filter(|l| !l.replace('│', " ").trim().is_empty()),
            ) {
                let label = fit_label(row, Grid::new(&t, width).label_w, &t);
                assert!(
                    line.starts_with(&label),
                    "{line:?} should start with {label:?}"
                );
            }
            for line in &lines {
                assert!(line.chars().count() <= width, "{line:?} wider than {width}");
            }
        }
    }

    #[test]
    fn any_width_and_range_renders_without_panicking() {
        let s = known();
        for width in (0..=420).step_by(7).chain([20, 21, 39, 40, 400]) {
            for days in [0, 1, 3, 7, 14, 31, 90] {
                let mut o = opts(width, width % 2 == 0);
                o.days = days;
                let t = model(&s, &o);
                let text = render_text(&t, &o);
                assert!(text.ends_with('\n'));
                if (20..=400).contains(&width) && days <= 7 {
                    assert!(text.lines().all(|l| strip_ansi(l).chars().count() <= width));
                }
                render_svg(&t, &o);
            }
        }
        // A range that does not start at midnight, now before and after it, a huge range.
        let mut o = opts(80, false);
        o.from = at("2026-12-02T06:30:00Z");
        o.now = at("2026-01-01T00:00:00Z");
        let text = render_text(&model(&s, &o), &o);
        assert!(text.starts_with("Timeline 2026-12-02 06:30 – 2026-12-09 06:30 UTC (7 days)"));
        assert!(text.lines().nth(1).unwrap().ends_with('◀'), "{text}");
        o.now = at("2027-01-01T00:00:00Z");
        let text = render_text(&model(&s, &o), &o);
        assert!(text.lines().nth(1).unwrap().ends_with('▶'), "{text}");
        o.days = u32::MAX;
        let t = model(&s, &o);
        assert_eq!(t.days, MAX_DAYS);
        render_svg(&t, &o);
    }

    #[test]
    fn labels_shorten_on_narrow_terminals() {
        let row = Row {
            kind: RowKind::Slot {
                user: "workshop-bedrock-user-uk".into(),
                slot: 2,
            },
            bars: vec![],
        };
        // Beside workshop-bedrock-user: shortened in the middle, the ends kept apart.
        let t = model(&known(), &opts(100, false));
        assert_eq!(fit_label(&row, 40, &t), "workshop-bedrock-user-uk / slot 2");
        assert_eq!(fit_label(&row, 20, &t), "works…er-uk / slot 2");
        assert_eq!(fit_label(&row, 10, &t), "wor…-uk /2");
        assert_eq!(fit_label(&row, 6, &t), "wo…k/2");
        assert_eq!(fit_label(&row, 4, &t), "wor…");
        let other = Row {
            kind: RowKind::Slot {
                user: U.into(),
                slot: 2,
            },
            bars: vec![],
        };
        assert_eq!(fit_label(&other, 20, &t), "works…-user / slot 2");
        assert_eq!(fit_label(&other, 10, &t), "wor…ser /2");
        assert_eq!(clip_str("agents-lab-paris", 8), "agents-…");
    }

    #[test]
    fn wrap_keeps_words_and_cuts_only_overlong_ones() {
        assert_eq!(wrap("aa bb cc", 5, 2), ["aa bb", "  cc"]);
        assert_eq!(wrap("abcdefghij", 4, 1), ["abcd", " efg", " hij"]);
        assert_eq!(wrap("", 4, 1), Vec::<String>::new());
        assert_eq!(wrap("a b", 0, 0), ["a", "b"]);
    }

    #[test]
    fn svg_is_well_formed() {
        let o = opts(100, false);
        let svg = render_svg(&model(&known(), &o), &o);
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.ends_with("</svg>\n"));
        assert_eq!(svg.matches("<svg").count(), 1);
        assert_balanced(&svg);
        // Every `&` starts an entity; no `<` inside text.
        for (i, _) in svg.match_indices('&') {
            let rest = &svg[i..];
            assert!(["&amp;", "&lt;", "&gt;", "&quot;", "&apos;"]
                .iter()
                .any(|e| rest.starts_with(e)));
        }
        // One rect per visible phase, a now line, a collision highlight and the legend.
        assert!(svg.contains("agents-lab-paris live 2026-12-03 10:00 – 2026-12-03 14:00 UTC"));
        assert!(svg.contains("stroke=\"#7b3294\" stroke-width=\"2\""));
        assert!(svg.contains("fill-opacity=\"0.15\""));
        assert!(svg.contains(">third key needed</text>"));
        assert!(!svg.contains('\x1b'));
    }

    /// Every element is closed, in order (a stack over the tags; no attribute holds `<`/`>`).
    fn assert_balanced(svg: &str) {
        let mut stack: Vec<&str> = Vec::new();
        let mut rest = svg;
        while let Some(i) = rest.find('<') {
            let end = rest[i..].find('>').expect("unclosed tag") + i;
            let tag = &rest[i + 1..end];
            if let Some(name) = tag.strip_prefix('/') {
                assert_eq!(stack.pop(), Some(name), "mismatched </{name}>");
            } else if !tag.ends_with('/') {
                let name = tag.split_whitespace().next().unwrap();
                stack.push(name);
            }
            rest = &rest[end + 1..];
            if stack.is_empty() {
                assert!(rest.trim().is_empty(), "content after the root element");
            }
        }
        assert!(stack.is_empty(), "unclosed {stack:?}");
    }

    #[test]
    fn svg_escapes_text() {
        let mut s = known();
        s.workshops[1].id = "a<b>&\"c\"".into();
        let o = opts(100, false);
        let svg = render_svg(&model(&s, &o), &o);
        assert!(svg.contains("a&lt;b&gt;&amp;&quot;c&quot;"));
        assert!(!svg.contains("a<b>"));
    }

    #[test]
    fn command_helpers() {
        assert_eq!(parse_from("2026-12-01"), Ok(at("2026-12-01T00:00:00Z")));
        assert_eq!(
            parse_from("2026-12-01T09:00:00+01:00"),
            Ok(at("2026-12-01T08:00:00Z"))
        );
        assert!(parse_from("tomorrow").unwrap_err().contains("`tomorrow`"));
        assert_eq!(
            start_of_day(at("2026-12-03T17:45:12Z")),
            at("2026-12-03T00:00:00Z")
        );
        assert_eq!(width_from(Some("80"), Some(120)), 80);
        assert_eq!(width_from(Some("x"), Some(120)), 120);
        assert_eq!(width_from(Some("0"), None), DEFAULT_WIDTH);
        assert_eq!(width_from(None, None), DEFAULT_WIDTH);
        let set = std::ffi::OsStr::new("1");
        let empty = std::ffi::OsStr::new("");
        assert!(use_color(true, None));
        assert!(use_color(true, Some(empty)));
        assert!(!use_color(true, Some(set)));
        assert!(!use_color(false, None));
    }
}
