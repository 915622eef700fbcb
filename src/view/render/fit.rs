//! Tables and line folding fitted to the terminal width.

use std::fmt::Write;

/// Left-aligned columns, two spaces apart, each line after `indent`; the last cell of a row is
/// not padded.
pub fn table(rows: &[Vec<String>], indent: &str) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..cols)
        .map(|c| {
            rows.iter()
                .filter(|r| r.len() > c + 1)
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for r in rows {
        out.push_str(indent);
        for (c, cell) in r.iter().enumerate() {
            if c + 1 == r.len() {
                out.push_str(cell);
            } else {
                let _ = write!(out, "{cell:<w$}  ", w = widths[c]);
            }
        }
        out.push('\n');
    }
    out
}

/// `text` with each line longer than `width` folded at spaces (no change without a width).
/// Continuation lines start under the line's text after its last padded gap (two or more
/// spaces) in the first half of the line, e.g. under the reason of a plan line; words are never
/// cut, so an id longer than the room left stays whole on a line of its own.
pub fn fit_lines(text: &str, width: Option<usize>) -> String {
    let Some(width) = width else {
        return text.to_string();
    };
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let (body, end) = match line.strip_suffix('\n') {
            Some(body) => (body, "\n"),
            None => (line, ""),
        };
        fold_line(&mut out, body, width);
        out.push_str(end);
    }
    out
}

fn fold_line(out: &mut String, line: &str, width: usize) {
    let chars: Vec<char> = line.chars().collect();
    if chars.len() <= width {
        out.push_str(line);
        return;
    }
    let lead = chars.iter().take_while(|c| **c == ' ').count();
    // The hanging indent: the end of the last gap of 2+ spaces after some text, in the first
    // half of the width; else the line's own indent plus two.
    let mut hang = lead + 2;
    let mut i = lead;
    while i < chars.len() && i < width / 2 {
        if chars[i] == ' ' && chars.get(i + 1) == Some(&' ') {
            let mut j = i;
            while j < chars.len() && chars[j] == ' ' {
                j += 1;
            }
            if j <= width / 2 {
                hang = j;
            }
            i = j;
        } else {
            i += 1;
        }
    }
    let hang = hang.min(chars.len());
    let prefix: String = chars[..hang].iter().collect();
    let rest: String = chars[hang..].iter().collect();
    let mut current = prefix.trim_end().to_string();
    let mut len = current.chars().count();
    let mut at_start = true; // nothing after the prefix yet
    let pad = " ".repeat(hang);
    for word in rest.split(' ').filter(|w| !w.is_empty()) {
        let n = word.chars().count();
        let sep = if at_start { hang - len } else { 1 };
        if !at_start && len + sep + n > width {
            out.push_str(&current);
            out.push('\n');
            current = pad.clone();
            len = hang;
            at_start = true;
        }
        let sep = if at_start { hang - len } else { 1 };
        current.push_str(&" ".repeat(sep));
        current.push_str(word);
        len += sep + n;
        at_start = false;
    }
    out.push_str(&current);
}

/// `s` in at most `max` characters, cut with `…` at the end.
pub fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// `table`, fitted to `width` where it can be: when a line is wider, the columns in `shrink`
/// (in that order) give way, their cells cut with `…`, down to the header's width (at least 6).
/// Other columns (ids, keys, times) are never cut: a table that cannot fit stays wider.
pub fn fit_table(
    rows: &[Vec<String>],
    indent: &str,
    width: Option<usize>,
    shrink: &[usize],
) -> String {
    let Some(width) = width else {
        return table(rows, indent);
    };
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut limit = vec![usize::MAX; cols];
    let clipped = |limit: &[usize]| -> Vec<Vec<String>> {
        rows.iter()
            .enumerate()
            .map(|(r, row)| {
                row.iter()
                    .enumerate()
                    .map(|(c, cell)| {
                        if r == 0 {
                            cell.clone()
                        } else {
                            clip(cell, limit[c])
                        }
                    })
                    .collect()
            })
            .collect()
    };
    let widest = |rows: &[Vec<String>]| -> usize {
        table(rows, indent)
            .lines()
            .map(|l| l.chars().count())
            .max()
            .unwrap_or(0)
    };
    for &c in shrink.iter().filter(|&&c| c < cols) {
        let min = rows
            .first()
            .and_then(|h| h.get(c))
            .map_or(0, |h| h.chars().count())
            .max(6);
        loop {
            let now = clipped(&limit);
            let over = widest(&now).saturating_sub(width);
            if over == 0 {
                return table(&now, indent);
            }
            let current = now
                .iter()
                .skip(1)
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0);
            let next = current.saturating_sub(over).max(min);
            if next >= current {
                break;
            }
            limit[c] = next;
        }
    }
    table(&clipped(&limit), indent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_lines_folds_under_the_reason_and_never_cuts_a_word() {
        let line = "  - deactivate_key     key AKIAEXAMPLEEXAMPLE01 of user workshop-bedrock-user: workshop x ended 20h ago; grace over\n";
        let folded = fit_lines(line, Some(60));
        assert_eq!(
            folded,
            "  - deactivate_key     key AKIAEXAMPLEEXAMPLE01 of user\n                       workshop-bedrock-user: workshop x\n                       ended 20h ago; grace over\n"
        );
        assert_eq!(fit_lines(line, None), line);
        // A word longer than the room stays whole, alone on its line.
        let long = format!("warning: {} is long", "x".repeat(30));
        assert_eq!(
            fit_lines(&long, Some(20)),
            format!("warning:\n  {}\n  is long", "x".repeat(30))
        );
    }

    #[test]
    fn fit_table_shortens_only_the_columns_it_may() {
        let rows: Vec<Vec<String>> = [
            vec!["ID", "NOTE"],
            vec!["a-long-identifier", "a note that is rather long"],
        ]
        .iter()
        .map(|r| r.iter().map(|s| s.to_string()).collect())
        .collect();
        assert_eq!(
            fit_table(&rows, "", Some(30), &[1]),
            "ID                 NOTE\na-long-identifier  a note tha\u{2026}\n"
        );
        // Not allowed to cut the id: wider than asked.
        assert_eq!(fit_table(&rows, "", Some(10), &[]), table(&rows, ""));
    }
}
