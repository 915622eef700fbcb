//! The parts of the schedule text an edit touches: workshop entries, their boundaries and
//! comments, lines, and values written the way the file writes them.

use chrono::SecondsFormat;
use chrono_tz::Tz;
use toml_edit::{Document, Item, Table, TableLike, Value};

use crate::schedule::fields;

use super::*;

pub(super) fn parse_doc(text: &str) -> Result<Document<&str>, EditError> {
    Document::parse(text).map_err(|e| EditError::Toml {
        line: line_of(text, e.span().map_or(0, |s| s.start)),
        message: e.message().trim().replace('\n', " "),
    })
}

/// One workshop in the text.
pub(super) struct Entry<'d> {
    pub(super) table: &'d dyn TableLike,
    pub(super) id: Option<String>,
    /// Offset of its `[[workshop]]` header.
    pub(super) at: usize,
    /// Where its decor starts: the comments and blank lines above the header.
    pub(super) region_start: usize,
}

/// The workshops, in file order. Only `[[workshop]]` tables can be added and removed; the times
/// of workshops written as an inline array (`workshop = [{ ... }]`) can still be moved.
pub(super) fn workshop_entries<'d>(
    doc: &'d Document<&str>,
    text: &str,
    what: &str,
) -> Result<Vec<Entry<'d>>, EditError> {
    let id_of = |t: &dyn TableLike| t.get("id").and_then(Item::as_str).map(str::to_string);
    match doc.as_table().get("workshop") {
        None | Some(Item::None) => Ok(Vec::new()),
        Some(Item::ArrayOfTables(aot)) => Ok(aot
            .iter()
            .filter_map(|t| {
                let at = t.span()?.start;
                Some(Entry {
                    table: t,
                    id: id_of(t),
                    at,
                    region_start: region_start(t).unwrap_or(at),
                })
            })
            .collect()),
        Some(Item::Value(Value::Array(array))) if what == "move" => Ok(array
            .iter()
            .filter_map(|v| {
                let t = v.as_inline_table()?;
                let at = v.span()?.start;
                Some(Entry {
                    table: t,
                    id: id_of(t),
                    at,
                    region_start: at,
                })
            })
            .collect()),
        Some(item) => Err(EditError::Unsupported {
            reason: format!(
                "cannot {what} a workshop: the schedule writes `workshop` as {} (line {}), not as \
                 [[workshop]] tables",
                item.type_name(),
                line_of(text, item.span().map_or(0, |s| s.start))
            ),
            hint: "write each workshop as a [[workshop]] table (see the example workshops.toml), \
                   or edit the file by hand"
                .into(),
        }),
    }
}

pub(super) fn find_one<'e, 'd>(
    entries: &'e [Entry<'d>],
    text: &str,
    id: &str,
) -> Result<&'e Entry<'d>, EditError> {
    let found: Vec<&Entry<'d>> = entries
        .iter()
        .filter(|e| e.id.as_deref() == Some(id))
        .collect();
    match found.as_slice() {
        [one] => Ok(one),
        [] => Err(EditError::UnknownId {
            id: id.to_string(),
            suggestion: fields::did_you_mean(id, entries.iter().filter_map(|e| e.id.as_deref()))
                .map(str::to_string),
        }),
        many => Err(EditError::AmbiguousId {
            id: id.to_string(),
            lines: many.iter().map(|e| line_of(text, e.at)).collect(),
        }),
    }
}

/// Where a table's region starts: its decor (comments and blank lines above the header), or
/// the header itself.
pub(super) fn region_start(t: &Table) -> Option<usize> {
    let header = t.span()?.start;
    Some(
        t.decor()
            .prefix()
            .and_then(|p| p.span())
            .map_or(header, |s| s.start.min(header)),
    )
}

/// Sorted offsets where a table's region, or the comments after the last table, begin; plus
/// the end of the text. A table ends at the first of them after its header.
pub(super) fn boundaries(doc: &Document<&str>, text: &str) -> Vec<usize> {
    fn collect(t: &Table, out: &mut Vec<usize>) {
        for (_, item) in t.iter() {
            match item {
                Item::Table(sub) => {
                    if !sub.is_implicit() && !sub.is_dotted() {
                        out.extend(region_start(sub));
                    }
                    collect(sub, out);
                }
                Item::ArrayOfTables(aot) => {
                    for sub in aot.iter() {
                        out.extend(region_start(sub));
                        collect(sub, out);
                    }
                }
                _ => {}
            }
        }
    }
    let mut out = vec![
        text.len(),
        doc.trailing().span().map_or(text.len(), |s| s.start),
    ];
    collect(doc.as_table(), &mut out);
    out.sort_unstable();
    out
}

pub(super) fn next_boundary(bounds: &[usize], header: usize) -> usize {
    bounds
        .iter()
        .copied()
        .find(|&b| b > header)
        .unwrap_or(usize::MAX)
}

/// `end` moved past the comment lines directly below it when a blank line or the end of the
/// text follows them (they belong to the table above, e.g. commented-out keys).
pub(super) fn extend_below(text: &str, end: usize) -> usize {
    let end = end.min(text.len());
    let mut q = end;
    while q < text.len() {
        let next = next_line(text, q);
        if !is_comment(&text[q..next]) {
            break;
        }
        q = next;
    }
    if q > end && (q == text.len() || is_blank(&text[q..next_line(text, q)])) {
        q
    } else {
        end
    }
}

/// Start of the line holding `pos`.
pub(super) fn line_start(text: &str, pos: usize) -> usize {
    text[..pos].rfind('\n').map_or(0, |i| i + 1)
}

/// Start of the line after the one starting at `pos` (or the end of the text).
pub(super) fn next_line(text: &str, pos: usize) -> usize {
    text[pos..].find('\n').map_or(text.len(), |i| pos + i + 1)
}

/// Start of the line before the one starting at `pos`, if it is not before `floor`.
pub(super) fn prev_line(text: &str, pos: usize, floor: usize) -> Option<usize> {
    if pos == 0 || pos <= floor {
        return None;
    }
    let start = line_start(text, pos - 1);
    (start >= floor).then_some(start)
}

pub(super) fn is_comment(line: &str) -> bool {
    line.trim_start().starts_with('#')
}

pub(super) fn is_blank(line: &str) -> bool {
    line.trim().is_empty()
}

pub(super) fn ends_with_blank_line(before: &str) -> bool {
    let Some(body) = before.strip_suffix('\n') else {
        return false;
    };
    is_blank(&body[line_start(body, body.len())..])
}

pub(super) fn starts_with_blank_line(after: &str) -> bool {
    after.contains('\n') && is_blank(&after[..next_line(after, 0)])
}

pub(super) fn skip_blank_lines(mut text: &str) -> &str {
    while text.contains('\n') && is_blank(&text[..next_line(text, 0)]) {
        text = &text[next_line(text, 0)..];
    }
    text
}

/// 1-based line of a byte offset.
pub(super) fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// The file's line ending: CRLF when its first line ends so.
pub(super) fn newline_of(text: &str) -> &'static str {
    match text.find('\n') {
        Some(i) if text[..i].ends_with('\r') => "\r\n",
        _ => "\n",
    }
}

pub(super) fn string_value(s: &str) -> String {
    Value::from(s).to_string()
}

/// A command-line time as the TOML value to write: an offset date-time as given, or a local
/// date-time resolved in `timezone` and written with that zone's offset at that moment.
pub(super) fn time_value(
    name: &str,
    input: &str,
    timezone: Option<Tz>,
) -> Result<String, EditError> {
    let flag = format!("--{name}");
    let written = input.trim();
    let example = "2026-12-03T09:00:00+01:00";
    let dt: toml_edit::Datetime = written.parse().map_err(|_| EditError::Time {
        message: format!("{flag} {written:?} is not a date-time"),
        hint: format!(
            "write RFC 3339 with an offset, e.g. {flag} {example}, or a local date-time such as \
             {flag} 2026-12-03T09:00:00 (read in settings.timezone)"
        ),
    })?;
    // `validate`'s checks and words, with the flag in place of `start = `.
    let for_flag = |s: &str| s.replace(&format!("{name} = "), &format!("{flag} "));
    let instant = match fields::resolve_datetime(name, &dt, Ok(timezone)) {
        Ok(Some(t)) => t,
        Ok(None) => {
            return Err(EditError::Time {
                message: format!("{flag} {written} cannot be read"),
                hint: format!("write it with an offset, e.g. {flag} {example}"),
            })
        }
        Err(p) => {
            return Err(EditError::Time {
                message: for_flag(&p.message),
                hint: p
                    .hint
                    .map(|h| for_flag(&h))
                    .unwrap_or_else(|| format!("write it like {flag} {example}")),
            })
        }
    };
    match (dt.offset, timezone) {
        (Some(_), _) => Ok(dt.to_string()),
        (None, Some(tz)) => Ok(instant
            .with_timezone(&tz)
            .fixed_offset()
            .to_rfc3339_opts(SecondsFormat::AutoSi, false)),
        // resolve_datetime refuses local times without a zone.
        (None, None) => Ok(dt.to_string()),
    }
}
