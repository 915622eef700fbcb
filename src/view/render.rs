//! Renderings for people (text) and machines (JSON) of plans, reconcile reports and status.
//! Nothing here sees a secret: plans, reports and status views hold none.

use std::fmt::Write;

use chrono::{DateTime, Utc};

use crate::apply::{Report, Status};
use crate::core::plan::{Action, Plan};
use crate::deliver::DeliveryResult;
use crate::text::count;
use crate::time::format_time;
use crate::time::human;
use crate::verify::check::KeyCheck;
use crate::view::status::StatusView;

pub const NO_CHANGES: &str = "No changes. IAM matches the schedule.";

fn action_line(a: &Action) -> String {
    let mut line = format!(
        "{} {:<18} {}",
        a.effect.symbol(),
        a.action.as_str(),
        a.target()
    );
    match (&a.workshop, &a.participant) {
        (Some(w), Some(p)) => {
            let _ = write!(line, " [workshop {w}, participant {p}]");
        }
        (Some(w), None) => {
            let _ = write!(line, " [workshop {w}]");
        }
        _ => {}
    }
    let _ = write!(line, ": {}", a.reason);
    line
}

/// One line per action (`+` create, `~` change, `-` delete or deactivate, `!` blocked), the
/// warnings, then the summary line.
pub fn plan_text(plan: &Plan) -> String {
    let mut out = format!("Plan for {}:\n", format_time(plan.at));
    for a in &plan.actions {
        let _ = writeln!(out, "  {}", action_line(a));
    }
    for r in &plan.reverify {
        let _ = writeln!(
            out,
            "  ~ reverify           key {} of user {} [workshop {}]: {}",
            r.access_key_id, r.user, r.workshop, r.reason
        );
    }
    for q in &plan.quarantined {
        let name = q.policy_arn.rsplit('/').next().unwrap_or(&q.policy_arn);
        let since = q
            .since
            .map(|t| format!(" since {}", format_time(t)))
            .unwrap_or_default();
        let keys = match q.keys.as_slice() {
            [] => "no keys left".to_string(),
            [key] => format!("exposed key {key}"),
            keys => format!("exposed keys {}", keys.join(", ")),
        };
        let _ = writeln!(
            out,
            "  ! quarantined        user {}: AWS attached {name}{since} (a key leaked); {keys}; never detached by reconcile: check CloudTrail, then run `workshop-keys release {}`",
            q.user, q.user
        );
    }
    for b in &plan.blocked {
        let _ = writeln!(
            out,
            "  ! blocked            workshop {}: {}",
            b.workshop, b.reason
        );
    }
    for m in &plan.models_not_ready {
        let _ = writeln!(
            out,
            "  ! model not ready    {} [workshop {}]: {}",
            m.model, m.workshop, m.fix
        );
    }
    for w in &plan.waiting {
        let _ = writeln!(
            out,
            "  … waiting            workshop {}: {}",
            w.workshop, w.reason
        );
    }

    for s in &plan.settled {
        let _ = writeln!(
            out,
            "  · settle             interrupted creation [workshop {}]: its key {} on user {} is listed now; nobody holds its secret, so it goes like any unclaimed key",
            s.workshop, s.access_key_id, s.user
        );
    }
    for d in &plan.deliveries {
        let key = d.access_key_id.as_deref().unwrap_or("(the new key)");
        let _ = writeln!(
            out,
            "  > deliver            key {key} of user {} [workshop {}]: {}",
            d.user, d.workshop, d.reason
        );
    }
    for w in &plan.warnings {
        let _ = writeln!(out, "warning: {w}");
    }
    out.push_str(&summary_line(plan));
    out.push('\n');
    if !plan.deliveries.is_empty() {
        let _ = writeln!(out, "Deliveries: {} to hand over.", plan.deliveries.len());
    }
    out
}

pub fn summary_line(plan: &Plan) -> String {
    if plan.is_clean() && !plan.waiting.is_empty() {
        return format!(
            "No changes. {} waiting for IAM to catch up (see above).",
            count(plan.waiting.len(), "workshop", "workshops")
        );
    }
    if plan.is_clean() {
        return NO_CHANGES.to_string();
    }
    let s = plan.summary();
    let mut line = format!(
        "Plan: {} to create, {} to change, {} to delete, {} blocked.",
        s.create, s.change, s.delete, s.blocked
    );
    if !plan.settled.is_empty() {
        let _ = write!(
            line,
            " {} settled.",
            count(
                plan.settled.len(),
                "interrupted creation",
                "interrupted creations"
            )
        );
    }
    if !plan.quarantined.is_empty() {
        let _ = write!(
            line,
            " {} quarantined by AWS.",
            count(plan.quarantined.len(), "user", "users")
        );
    }
    if !plan.models_not_ready.is_empty() {
        let _ = write!(
            line,
            " {} not ready.",
            count(plan.models_not_ready.len(), "model", "models")
        );
    }
    if !plan.reverify.is_empty() {
        let _ = write!(
            line,
            " {} to verify again before the start.",
            count(plan.reverify.len(), "key", "keys")
        );
    }
    line
}

pub fn json<T: serde::Serialize>(value: &T) -> String {
    let mut s = serde_json::to_string_pretty(value).expect("plain data serialises");
    s.push('\n');
    s
}

/// What happened to each action.
pub fn report_text(report: &Report) -> String {
    let mut out = String::new();
    if report.results.is_empty() {
        return out;
    }
    out.push_str("\nApplying:\n");
    for r in &report.results {
        let status = match r.status {
            Status::Ok => "ok",
            Status::Failed => "FAILED",
            Status::Skipped => "skipped",
        };
        let _ = write!(out, "  {status:<7} {}", action_line(&r.action));
        if let Some(id) = &r.created_key {
            let _ = write!(out, " -> key {id}");
        }
        if let (Some(path), Status::Ok) = (&r.credentials_file, r.status) {
            let _ = write!(out, " (credentials file {})", path.display());
        }
        if let Some(d) = &r.detail {
            let _ = write!(out, "\n          {d}");
        }
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "Reconcile: {} ok, {} failed, {} skipped.",
        report.count(Status::Ok),
        report.count(Status::Failed),
        report.count(Status::Skipped)
    );
    out
}

/// Verification results, one block per key.
pub fn checks_text(checks: &[KeyCheck]) -> String {
    let mut out = String::new();
    if checks.is_empty() {
        return out;
    }
    out.push_str("\nVerification (Bedrock InvokeModel with each new key):\n");
    for c in checks {
        let _ = writeln!(out, "  {}", c.line());
    }
    out
}

/// What happened to each hand-over.
pub fn deliveries_text(results: &[DeliveryResult]) -> String {
    let mut out = String::new();
    if results.is_empty() {
        return out;
    }
    out.push_str("\nDeliveries (settings.deliver):\n");
    for d in results {
        let key = d.access_key_id.as_deref().unwrap_or("-");
        let _ = write!(
            out,
            "  {:<7} workshop {}: key {key}",
            if d.ok { "ok" } else { "FAILED" },
            d.workshop
        );
        if let Some(detail) = &d.detail {
            let _ = write!(out, "\n          {detail}");
        }
        out.push('\n');
    }
    out
}

fn opt_time(t: Option<DateTime<Utc>>) -> String {
    t.map(format_time).unwrap_or_else(|| "-".into())
}

/// Users AWS quarantined, first: an incident outranks the tables.
fn quarantine_text(view: &StatusView) -> String {
    let mut out = String::new();
    if view.quarantined.is_empty() {
        return out;
    }
    out.push_str("\nQuarantined by AWS (a key leaked; reconcile never undoes this):\n");
    for q in &view.quarantined {
        let name = q.policy_arn.rsplit('/').next().unwrap_or(&q.policy_arn);
        let since = q.since.map(format_time).unwrap_or_else(|| "now".into());
        let keys = match q.keys.as_slice() {
            [] => "-".to_string(),
            keys => keys.join(", "),
        };
        let _ = writeln!(
            out,
            "  user {}: {name} since {since}\n    exposed keys: {keys}\n    next: check CloudTrail for unwanted use, then `workshop-keys release {}`",
            q.user, q.user
        );
    }
    out
}

/// A table of users and keys, then the workshops and their state.
pub fn status_text(view: &StatusView) -> String {
    let mut out = format!("Status at {}\n", format_time(view.at));
    out.push_str(&quarantine_text(view));
    let _ = writeln!(out, "\nKeys:");
    let header = [
        "USER",
        "KEY",
        "STATUS",
        "CREATED",
        "AGE",
        "WORKSHOP",
        "WINDOW",
        "LAST USED",
        "FILE",
        "VERIFIED",
    ];
    let mut rows: Vec<Vec<String>> = vec![header.iter().map(|s| s.to_string()).collect()];
    for u in &view.users {
        if !u.managed {
            rows.push(vec![
                u.name.clone(),
                "-".into(),
                "(not managed: no managed-by tag)".into(),
            ]);
            continue;
        }
        if u.keys.is_empty() {
            rows.push(vec![u.name.clone(), "-".into(), "(no keys)".into()]);
        }
        for k in &u.keys {
            let window = match (k.window_from, k.window_until) {
                (Some(a), Some(b)) => format!("{}..{}", format_time(a), format_time(b)),
                _ => "-".into(),
            };
            let last_used = match &k.last_used {
                Some(l) if l.at.is_some() => format!(
                    "{} {} {}",
                    opt_time(l.at),
                    l.service.as_deref().unwrap_or("-"),
                    l.region.as_deref().unwrap_or("-")
                ),
                _ => "never".into(),
            };
            rows.push(vec![
                u.name.clone(),
                k.access_key_id.clone(),
                k.status.as_str().into(),
                format_time(k.created),
                human(chrono::TimeDelta::seconds(k.age_seconds)),
                k.workshop.clone().unwrap_or_else(|| "(unclaimed)".into()),
                window,
                last_used,
                if k.credentials_file { "yes" } else { "MISSING" }.into(),
                k.verified.clone().unwrap_or_else(|| "-".into()),
            ]);
        }
    }
    if rows.len() == 1 {
        out.push_str("  (no managed users)\n");
    } else {
        out.push_str(&table(&rows, "  "));
    }
    let _ = writeln!(out, "\nWorkshops:");
    let mut rows: Vec<Vec<String>> = vec![["WORKSHOP", "USER", "START", "END", "STATE", "KEY"]
        .iter()
        .map(|s| s.to_string())
        .collect()];
    for w in &view.workshops {
        rows.push(vec![
            w.id.clone(),
            w.user.clone(),
            format_time(w.start),
            format_time(w.end),
            w.state.as_str().into(),
            w.access_key_id.clone().unwrap_or_else(|| "-".into()),
        ]);
    }
    if rows.len() == 1 {
        out.push_str("  (no workshops)\n");
    } else {
        out.push_str(&table(&rows, "  "));
    }
    for w in &view.warnings {
        let _ = writeln!(out, "warning: {w}");
    }
    out
}

/// `12-02 08:00` (UTC): the short times of the default `status` view.
fn short_time(t: DateTime<Utc>) -> String {
    t.format("%m-%d %H:%M").to_string()
}

/// How long before `now`, in its largest unit: `45s ago`, `12m ago`, `5h ago`, `3d ago`
/// (`in 2h` for a time after `now`).
fn ago(t: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let secs = (now - t).num_seconds();
    let a = secs.unsigned_abs();
    let amount = match a {
        0..60 => format!("{a}s"),
        60..3_600 => format!("{}m", a / 60),
        3_600..86_400 => format!("{}h", a / 3_600),
        _ => format!("{}d", a / 86_400),
    };
    if secs < 0 {
        format!("in {amount}")
    } else {
        format!("{amount} ago")
    }
}

/// The default `status` view, fitted to `width` columns: keys and workshops grouped under
/// their user, short times (`12-02 08:00`, UTC) and relative ages; `status_text` (`--wide`)
/// has exact times, key windows and last use with service and region.
pub fn status_text_fitted(view: &StatusView, width: usize) -> String {
    let at = view.at;
    let mut out = format!("Status at {}\n", format_time(at));
    out.push_str(&quarantine_text(view));
    let _ = writeln!(out, "\nKeys:");
    let mut rows: Vec<Vec<String>> = vec![[
        "KEY", "STATUS", "AGE", "WORKSHOP", "USED", "FILE", "VERIFIED",
    ]
    .map(String::from)
    .to_vec()];
    for u in &view.users {
        let note = if !u.managed {
            " (not managed: no managed-by tag)"
        } else if u.keys.is_empty() {
            " (no keys)"
        } else {
            ""
        };
        rows.push(vec![format!("user {}{note}", u.name)]);
        if !u.managed {
            continue;
        }
        for k in &u.keys {
            let used = match k.last_used.as_ref().and_then(|l| l.at) {
                Some(t) => ago(t, at),
                None => "never".into(),
            };
            // The tag holds `<time> <outcome>`.
            let verified = match k.verified.as_deref().map(|v| v.split_once(' ')) {
                Some(Some((t, outcome))) => match crate::time::parse_time(t) {
                    Some(t) => format!("{outcome} {}", ago(t, at)),
                    None => outcome.to_string(),
                },
                Some(None) => k.verified.clone().unwrap_or_default(),
                None => "-".into(),
            };
            rows.push(vec![
                format!("  {}", k.access_key_id),
                k.status.as_str().into(),
                human(chrono::TimeDelta::seconds(k.age_seconds)),
                k.workshop.clone().unwrap_or_else(|| "(unclaimed)".into()),
                used,
                if k.credentials_file { "yes" } else { "MISSING" }.into(),
                verified,
            ]);
        }
    }
    if rows.len() == 1 {
        out.push_str("  (no managed users)\n");
    } else {
        out.push_str(&fit_table(&rows, "  ", Some(width), &[6]));
    }
    let _ = writeln!(out, "\nWorkshops:");
    let mut rows: Vec<Vec<String>> = vec![["WORKSHOP", "STATE", "START", "END", "KEY"]
        .map(String::from)
        .to_vec()];
    let mut users: Vec<&str> = view.workshops.iter().map(|w| w.user.as_str()).collect();
    users.sort_unstable();
    users.dedup();
    for user in users {
        rows.push(vec![format!("user {user}")]);
        for w in view.workshops.iter().filter(|w| w.user == user) {
            rows.push(vec![
                format!("  {}", w.id),
                w.state.as_str().into(),
                short_time(w.start),
                short_time(w.end),
                w.access_key_id.clone().unwrap_or_else(|| "-".into()),
            ]);
        }
    }
    if rows.len() == 1 {
        out.push_str("  (no workshops)\n");
    } else {
        out.push_str(&fit_table(&rows, "  ", Some(width), &[]));
    }
    for w in &view.warnings {
        let _ = writeln!(out, "warning: {w}");
    }
    fit_lines(&out, Some(width))
}

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

    /// README's `status` example is this renderer's output for the repository's schedule and
    /// the IAM state it describes (built here: a real run's key ids and times differ), so the
    /// example cannot drift from the format.
    #[test]
    fn the_readme_status_example_is_what_status_prints() {
        use crate::core::observed::{
            CredentialsFile, KeyStatus, LastUsed, Observed, ObservedKey, ObservedUser,
        };
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let schedule = crate::schedule::load(&root.join("workshops.toml")).unwrap();
        // (user, key, status, created, workshop, last used)
        let keys = [
            (
                "workshop-bedrock-user",
                "AKIARZPUZDIK5IULCF5S",
                KeyStatus::Active,
                "2026-12-02T08:00:00Z",
                "context-engine-berlin",
                Some("2026-12-03T10:00:00Z"),
            ),
            (
                "workshop-bedrock-user",
                "AKIARZPUZDIKAJXZA7CY",
                KeyStatus::Active,
                "2026-12-03T08:00:00Z",
                "context-engine-berlin-2",
                None,
            ),
            (
                "workshop-bedrock-user-uk",
                "AKIARZPUZDIKQ3MFXW2N",
                KeyStatus::Inactive,
                "2026-12-01T09:00:00Z",
                "rag-basics-london",
                Some("2026-12-02T16:00:00Z"),
            ),
        ];
        let mut observed = Observed::default();
        for name in ["workshop-bedrock-user", "workshop-bedrock-user-uk"] {
            let mut user = ObservedUser {
                name: name.into(),
                path: "/workshop/".into(),
                tags: [(
                    crate::core::tags::MANAGED_BY_KEY.to_string(),
                    crate::core::tags::MANAGED_BY_VALUE.to_string(),
                )]
                .into(),
                keys: vec![],
                inline_policies: Default::default(),
                attached_policies: vec![],
            };
            for (_, id, status, created, workshop, used) in keys.iter().filter(|k| k.0 == name) {
                user.keys.push(ObservedKey {
                    access_key_id: id.to_string(),
                    status: *status,
                    created: at(created),
                    last_used: Some(LastUsed {
                        at: used.map(at),
                        service: used.map(|_| "bedrock".into()),
                        region: used.map(|_| "us-east-1".into()),
                    }),
                });
                user.tags.insert(id.to_string(), workshop.to_string());
                user.tags.insert(
                    crate::core::tags::verified_tag(id),
                    format!("{created} verified"),
                );
                observed.files.insert(
                    workshop.to_string(),
                    CredentialsFile {
                        access_key_id: id.to_string(),
                        written: Some(at(created)),
                    },
                );
            }
            observed.users.push(user);
        }
        let now = at("2026-12-03T12:00:00Z");
        let desired = crate::core::desired::Desired::from_schedule(&schedule);
        let view =
            crate::view::status::status_view(&schedule, &desired, &observed, vec![], vec![], now);
        let printed = status_text_fitted(&view, 100);

        let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
        let command = "$ COLUMNS=100 workshop-keys status --at 2026-12-03T12:00:00Z\n";
        let start = readme.find(command).expect("README shows a status example") + command.len();
        let shown = &readme[start..start + readme[start..].find("```").unwrap()];
        assert!(
            printed == shown,
            "README's status example differs from what status prints; replace it with:\n{printed}"
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
