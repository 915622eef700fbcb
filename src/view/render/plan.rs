//! Plans as text: one line per action, the warnings, then the summary line.

use std::fmt::Write;

use crate::core::plan::{Action, Plan};
use crate::text::count;
use crate::time::format_time;

pub const NO_CHANGES: &str = "No changes. IAM matches the schedule.";

pub(super) fn action_line(a: &Action) -> String {
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
