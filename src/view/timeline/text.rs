//! The timeline drawn for a terminal: one character per time step, ANSI colours optional.

use std::fmt::Write as _;

use chrono::{DateTime, TimeDelta, Timelike, Utc};

use super::*;

pub(super) fn fmt_minute(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M").to_string()
}

pub(super) fn is_midnight(t: DateTime<Utc>) -> bool {
    t.num_seconds_from_midnight() == 0 && t.nanosecond() == 0
}

/// `2026-12-01 – 2026-12-07 UTC (7 days)`; with times when `from` is not a midnight.
pub(super) fn range_text(t: &Timeline) -> String {
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

pub(super) fn collision_text(c: &CollisionSpan) -> String {
    format!(
        "{} needs {} keys at once {} – {} UTC ({}); AWS allows two per user",
        c.user,
        c.keys,
        fmt_minute(c.from),
        fmt_minute(c.to),
        c.workshops.join(", ")
    )
}

pub(super) fn secs_since(from: DateTime<Utc>, t: DateTime<Utc>) -> i128 {
    i128::from((t - from).num_seconds())
}

// ---------------------------------------------------------------------------------------------
// Text.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Style {
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
pub(super) struct Line(Vec<(char, Style)>);

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
pub(super) fn clip_str(s: &str, width: usize) -> String {
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
pub(super) fn shorten_middle(name: &str, width: usize, peers: &[&str]) -> String {
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
pub(super) fn fit_label(row: &Row, width: usize, t: &Timeline) -> String {
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
pub(super) fn wrap(text: &str, width: usize, indent: usize) -> Vec<String> {
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
pub(super) struct Grid {
    pub(super) label_w: usize,
    /// Columns per day.
    cpd: usize,
    cols: usize,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
}

impl Grid {
    pub(super) fn new(t: &Timeline, width: usize) -> Grid {
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

pub(super) type Cell = Option<(Phase, Option<char>)>;

/// A row's cells. Where several phases fall into one cell the higher ranked shows; then each
/// phase left without a cell (a short grace next to the end of the workshop) takes one of its
/// columns from a phase that has more than one, so that every phase in range stays visible.
pub(super) fn row_cells(row: &Row, grid: &Grid) -> Vec<Cell> {
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
pub(super) fn day_labels(cpd: usize) -> (&'static str, usize) {
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
    let grid = Grid::new(t, opts.width);
    let mut lines: Vec<String> = Vec::new();
    header_lines(t, &grid, opts, &mut lines);
    row_lines(t, &grid, opts.color, &mut lines);
    legend_lines(opts, &mut lines);
    collision_lines(t, opts, &mut lines);
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

/// The title, the now marker and the day labels.
fn header_lines(t: &Timeline, grid: &Grid, opts: &TimelineOptions, lines: &mut Vec<String>) {
    let (width, color) = (opts.width, opts.color);
    let now_col = grid.col_of(t.now);
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
}

/// One line per row, with a blank line (crossed by the now line) before each user's slots.
fn row_lines(t: &Timeline, grid: &Grid, color: bool, lines: &mut Vec<String>) {
    let now_col = grid.col_of(t.now);
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
        for (c, cell) in row_cells(row, grid).into_iter().enumerate() {
            match cell {
                Some((phase, None)) => line.push(phase.glyph(), Style::Phase(phase)),
                Some((phase, Some(tag))) => line.push(tag, Style::Tag(phase)),
                None if Some(c) == now_col => line.push('│', Style::Now),
                None => line.push(' ', Style::Plain),
            }
        }
        lines.push(line.finish(color));
    }
}

fn legend_lines(opts: &TimelineOptions, lines: &mut Vec<String>) {
    let (width, color) = (opts.width, opts.color);
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
}

fn collision_lines(t: &Timeline, opts: &TimelineOptions, lines: &mut Vec<String>) {
    let (width, color) = (opts.width, opts.color);
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
}

// ---------------------------------------------------------------------------------------------
// SVG.
