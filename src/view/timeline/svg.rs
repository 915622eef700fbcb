//! The timeline as a standalone SVG document.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};

use super::text::*;
use super::*;

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

/// Where everything goes: the horizontal scale, the top of the first row, the y of each row and
/// the bottom of the last one (all in pixels, widths in tenths).
struct SvgLayout {
    x: SvgX,
    width10: i64,
    top: i64,
    row_y: Vec<i64>,
    bottom: i64,
}

/// The same picture as `render_text`, as a standalone SVG document (starts with `<svg`): rects
/// per phase with a `<title>` each (hover for times), row labels, day grid with weekends shaded,
/// a now line, collision highlights, a legend and the collisions spelled out.
pub fn render_svg(t: &Timeline, _opts: &TimelineOptions) -> String {
    let l = svg_layout(t);
    let mut body = String::new();
    let b = &mut body;
    svg_grid(b, t, &l);
    svg_collision_highlights(b, t, &l);
    svg_rows(b, t, &l);
    svg_now(b, t, &l);
    let ly = svg_legend(b, &l);
    let ly = svg_notes(b, t, &l, ly);
    svg_document(t, l.width10, ly + 16, &body)
}

fn svg_layout(t: &Timeline) -> SvgLayout {
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
    SvgLayout {
        x,
        width10,
        top,
        row_y,
        bottom,
    }
}

/// Day grid: weekends shaded, a line at each midnight, the day labels.
fn svg_grid(b: &mut String, t: &Timeline, l: &SvgLayout) {
    let (x, top, bottom) = (&l.x, l.top, l.bottom);
    let (days, day_w10) = (x.days, x.day_w);
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
}

/// Collision highlights behind each user's slot rows.
fn svg_collision_highlights(b: &mut String, t: &Timeline, l: &SvgLayout) {
    let (x, row_y) = (&l.x, &l.row_y);
    let _ = writeln!(b, "<g class=\"collisions\">");
    for c in &t.collisions {
        let ys: Vec<i64> = t
            .rows
            .iter()
            .zip(row_y)
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
}

/// The rows: a label, then the phase rects of each bar.
fn svg_rows(b: &mut String, t: &Timeline, l: &SvgLayout) {
    let top = l.top;
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
    for (row, &ry) in t.rows.iter().zip(&l.row_y) {
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
        for bar in &row.bars {
            svg_bar(b, t, &l.x, row, bar, ry);
        }
        let _ = writeln!(b, "</g>");
    }
    let _ = writeln!(b, "</g>");
}

/// One bar: a rect per phase inside the range, then the key's name on it when it fits.
fn svg_bar(b: &mut String, t: &Timeline, x: &SvgX, row: &Row, bar: &Bar, ry: i64) {
    let bar_y = ry + (SVG_ROW_H - SVG_BAR_H) / 2;
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
    if let (RowKind::Slot { .. } | RowKind::Collision { .. }, Some((x0, x1))) = (&row.kind, extent)
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

/// The now line and its label, or a note that now is outside the range.
fn svg_now(b: &mut String, t: &Timeline, l: &SvgLayout) {
    let (x, top, bottom) = (&l.x, l.top, l.bottom);
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
}

/// Legend, wrapped to the picture's width; returns the y of its last line.
fn svg_legend(b: &mut String, l: &SvgLayout) -> i64 {
    let width10 = l.width10;
    let mut ly = l.bottom + 30;
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
    ly
}

/// Collisions, spelled out below the legend; returns the y of the last line.
fn svg_notes(b: &mut String, t: &Timeline, l: &SvgLayout, mut ly: i64) -> i64 {
    let width10 = l.width10;
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
    ly
}

/// The document around the body: size, title, background and heading.
fn svg_document(t: &Timeline, width10: i64, height: i64, body: &str) -> String {
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
    out.push_str(body);
    out.push_str("</svg>\n");
    out
}
