//! What reconcile, verify and deliver did, as text.

use std::fmt::Write;

use super::plan::action_line;
use crate::apply::{Report, Status};
use crate::deliver::DeliveryResult;
use crate::verify::check::KeyCheck;

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
