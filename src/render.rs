//! Renderings for people (text) and machines (JSON) of plans, reconcile reports and status.
//! Nothing here sees a secret: plans, reports and status views hold none.

use std::fmt::Write;

use chrono::{DateTime, Utc};

use crate::apply::{Report, Status};
use crate::desired::human;
use crate::hooks::DeliveryResult;
use crate::plan::{Action, Plan};
use crate::status::StatusView;
use crate::tags::format_time;
use crate::verify::check::KeyCheck;

pub const NO_CHANGES: &str = "No changes. IAM matches the schedule.";

fn action_line(a: &Action) -> String {
    let mut line = format!(
        "{} {:<18} {}",
        a.effect.symbol(),
        a.action.as_str(),
        a.target()
    );
    if let Some(w) = &a.workshop {
        let _ = write!(line, " [workshop {w}]");
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
    for q in &plan.quarantined {
        let name = q.policy_arn.rsplit('/').next().unwrap_or(&q.policy_arn);
        let since = q
            .since
            .map(|t| format!(" since {}", format_time(t)))
            .unwrap_or_default();
        let keys = match q.keys.as_slice() {
            [] => "no keys left".to_string(),
            keys => format!("exposed key(s) {}", keys.join(", ")),
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
            "No changes. {} workshop(s) waiting for IAM to catch up (see above).",
            plan.waiting.len()
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
            " {} interrupted creation(s) settled.",
            plan.settled.len()
        );
    }
    if !plan.quarantined.is_empty() {
        let _ = write!(
            line,
            " {} user(s) quarantined by AWS.",
            plan.quarantined.len()
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

/// A table of users and keys, then the workshops and their state.
pub fn status_text(view: &StatusView) -> String {
    let mut out = format!("Status at {}\n", format_time(view.at));
    if !view.quarantined.is_empty() {
        let _ = writeln!(
            out,
            "\nQuarantined by AWS (a key leaked; reconcile never undoes this):"
        );
        for q in &view.quarantined {
            let name = q.policy_arn.rsplit('/').next().unwrap_or(&q.policy_arn);
            let since = q.since.map(format_time).unwrap_or_else(|| "now".into());
            let _ = writeln!(
                out,
                "  user {}: {name} since {since}; exposed key(s): {}\n    next: check CloudTrail for unwanted use, then `workshop-keys release {}`",
                q.user,
                if q.keys.is_empty() { "-".to_string() } else { q.keys.join(", ") },
                q.user
            );
        }
    }
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
