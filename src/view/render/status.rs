//! The `status` views: `--wide` with exact times, and the default fitted to the terminal.

use std::fmt::Write;

use chrono::{DateTime, Utc};

use super::fit::{fit_lines, fit_table, table};
use crate::time::{format_time, human};
use crate::view::status::StatusView;

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
