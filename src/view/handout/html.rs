//! The printable handout: an A4 page of cards, one per participant, each with the workshop's
//! title and times, the region, the key id, the secret and when the key stops working. Plain
//! HTML and CSS, no script; everything from the schedule or the files is escaped.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use zeroize::Zeroizing;

use super::{Card, Handout};

/// Cards per row, and rows per printed page (the page breaks between rows).
const COLUMNS: usize = 2;
const ROWS_PER_PAGE: usize = 4;

const STYLE: &str = r#"
@page { size: A4; margin: 12mm; }
* { box-sizing: border-box; }
html { background: #fff; }
body { margin: 0; font: 10pt/1.35 "DejaVu Sans", Helvetica, Arial, sans-serif; color: #111; }
header { margin: 0 0 4mm; }
header h1 { font-size: 13pt; margin: 0; }
header p { margin: 1mm 0 0; color: #444; }
.page { break-after: page; page-break-after: always; }
.page:last-child { break-after: auto; page-break-after: auto; }
.row { display: flex; gap: 4mm; margin-bottom: 4mm; break-inside: avoid; page-break-inside: avoid; }
.card { flex: 1 1 0; min-width: 0; height: 58mm; border: 0.4mm dashed #555; border-radius: 2mm;
  padding: 3mm 4mm; overflow: hidden; display: flex; flex-direction: column; }
.card.empty { border-color: transparent; }
.card .head { display: flex; justify-content: space-between; align-items: baseline; gap: 3mm; }
.card h2 { font-size: 11pt; margin: 0 0 1mm; min-width: 0; overflow-wrap: anywhere; }
.card .who { font-size: 14pt; font-weight: bold; }
.card .when { margin: 0 0 2mm; color: #333; }
.card dl { margin: 0; display: grid; grid-template-columns: max-content 1fr; gap: 0.6mm 3mm;
  align-items: baseline; }
.card dt { color: #555; }
.card dd { margin: 0; min-width: 0; }
.card dd.secret { grid-column: 1 / -1; }
.mono { font-family: "DejaVu Sans Mono", "Liberation Mono", Menlo, Consolas, monospace;
  font-size: 9pt; overflow-wrap: anywhere; }
.card .expires { margin: auto 0 0; padding-top: 2mm; font-weight: bold; }
@media screen { body { padding: 12mm; max-width: 210mm; margin: 0 auto; } }
"#;

/// The whole page.
pub fn render(h: &Handout<'_>) -> Zeroizing<String> {
    let w = h.workshop;
    let title = esc(w.title.as_deref().unwrap_or(&w.id));
    let when = esc(&span(w.start, w.end, h.timezone));
    let expires = esc(&moment(h.expires(), h.timezone));
    let region = esc(h.region);
    // Reserved up front: growing the string would leave unwiped copies of the secrets.
    let per_card = 900 + title.len() + when.len() + expires.len() + region.len();
    let own: usize = h
        .cards
        .iter()
        .map(|c| 6 * (c.access_key_id.len() + c.secret.expose().len() + 8))
        .sum();
    let mut out = Zeroizing::new(String::with_capacity(
        STYLE.len() + 2_000 + per_card * (h.cards.len() + COLUMNS) + own,
    ));
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>Keys: {title}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
         <header><h1>{title}</h1><p>{when} &middot; {} &middot; cut along the dashed lines; \
         destroy this sheet after the workshop</p></header>\n",
        crate::text::count(h.cards.len(), "key", "keys")
    );
    let ctx = CardText {
        title: &title,
        when: &when,
        region: &region,
        expires: &expires,
    };
    for page in h.cards.chunks(COLUMNS * ROWS_PER_PAGE) {
        out.push_str("<section class=\"page\">\n");
        for row in page.chunks(COLUMNS) {
            out.push_str("<div class=\"row\">\n");
            for c in row {
                card(&mut out, c, &ctx);
            }
            for _ in row.len()..COLUMNS {
                out.push_str("<div class=\"card empty\"></div>\n");
            }
            out.push_str("</div>\n");
        }
        out.push_str("</section>\n");
    }
    out.push_str("</body>\n</html>\n");
    out
}

/// The escaped texts every card repeats.
struct CardText<'a> {
    title: &'a str,
    when: &'a str,
    region: &'a str,
    expires: &'a str,
}

fn card(out: &mut String, c: &Card, t: &CardText<'_>) {
    let who = c
        .participant
        .as_deref()
        .map(|p| format!("<span class=\"who\">{}</span>", esc(p)))
        .unwrap_or_default();
    let _ = write!(
        out,
        "<div class=\"card\"><div class=\"head\"><h2>{}</h2>{who}</div>\
         <p class=\"when\">{}</p>\n<dl>\
         <dt>Region</dt><dd class=\"mono\">{}</dd>\
         <dt>Key id</dt><dd class=\"mono\">{}</dd>\
         <dt>Secret</dt><dd></dd><dd class=\"mono secret\">",
        t.title,
        t.when,
        t.region,
        esc(&c.access_key_id),
    );
    push_escaped(out, c.secret.expose());
    let _ = write!(
        out,
        "</dd></dl>\n<p class=\"expires\">This key stops working at {}.</p></div>\n",
        t.expires
    );
}

/// `start` to `end` in `tz` (else UTC): one date when both are on the same day.
fn span(start: DateTime<Utc>, end: DateTime<Utc>, tz: Option<Tz>) -> String {
    match tz {
        Some(tz) => span_in(start.with_timezone(&tz), end.with_timezone(&tz)),
        None => span_in(start, end),
    }
}

fn span_in<Z: chrono::TimeZone>(start: DateTime<Z>, end: DateTime<Z>) -> String
where
    Z::Offset: std::fmt::Display,
{
    if start.date_naive() == end.date_naive() {
        format!(
            "{} \u{2013} {}",
            start.format("%a %-d %b %Y, %H:%M"),
            end.format("%H:%M %Z")
        )
    } else {
        format!(
            "{} \u{2013} {}",
            start.format("%a %-d %b %Y, %H:%M %Z"),
            end.format("%a %-d %b %Y, %H:%M %Z")
        )
    }
}

/// One moment in `tz` (else UTC).
fn moment(t: DateTime<Utc>, tz: Option<Tz>) -> String {
    const FORMAT: &str = "%a %-d %b %Y, %H:%M %Z";
    match tz {
        Some(tz) => t.with_timezone(&tz).format(FORMAT).to_string(),
        None => t.format(FORMAT).to_string(),
    }
}

/// `s` with `& < > " '` as character references.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    push_escaped(&mut out, s);
    out
}

fn push_escaped(out: &mut String, s: &str) {
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::Workshop;
    use crate::store::files::Secret;
    use chrono::TimeDelta;

    fn t(s: &str) -> DateTime<Utc> {
        crate::time::parse_time(s).unwrap()
    }

    fn workshop(title: &str) -> Workshop {
        Workshop {
            id: "room".into(),
            title: Some(title.into()),
            start: t("2026-12-03T08:00:00Z"),
            end: t("2026-12-03T16:00:00Z"),
            user: "u".into(),
            lead: TimeDelta::hours(1),
            grace: TimeDelta::hours(1),
            participants: Some(3),
            models: vec![],
            line: 1,
        }
    }

    fn cards(n: usize) -> Vec<Card> {
        (1..=n)
            .map(|i| Card {
                participant: Some(format!("p{i}")),
                access_key_id: format!("AKIA{i:016}"),
                secret: Secret::new(format!("s3cr<t>{i}")),
            })
            .collect()
    }

    #[test]
    fn everything_is_escaped_and_times_are_local() {
        let w = workshop("Agents & <Tools> \"live\"");
        let h = Handout {
            workshop: &w,
            region: "eu-central-1",
            timezone: Some(chrono_tz::Europe::Berlin),
            cards: cards(3),
        };
        let page = render(&h);
        assert!(page.contains("<h1>Agents &amp; &lt;Tools&gt; &quot;live&quot;</h1>"));
        assert!(!page.contains("<Tools>"));
        assert!(page.contains("s3cr&lt;t&gt;2"));
        assert!(
            page.contains("Thu 3 Dec 2026, 09:00 \u{2013} 17:00 CET"),
            "{}",
            *page
        );
        assert!(page.contains("This key stops working at Thu 3 Dec 2026, 18:00 CET."));
        assert_eq!(page.matches("<div class=\"card\">").count(), 3);
        assert_eq!(page.matches("card empty").count(), 1);
        assert!(!page.contains("<script"));
    }

    #[test]
    fn pages_hold_four_rows_and_utc_without_a_timezone() {
        let w = workshop("T");
        let h = Handout {
            workshop: &w,
            region: "us-east-1",
            timezone: None,
            cards: cards(12),
        };
        let page = render(&h);
        assert_eq!(page.matches("<section class=\"page\">").count(), 2);
        assert_eq!(page.matches("<div class=\"row\">").count(), 6);
        assert!(
            page.contains("Thu 3 Dec 2026, 08:00 \u{2013} 16:00 UTC"),
            "{}",
            *page
        );
        assert!(page.contains("stops working at Thu 3 Dec 2026, 17:00 UTC."));
    }
}
