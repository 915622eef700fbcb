//! `validate`: check the schedule file, print its warnings, and count what it holds.

use std::path::Path;

use super::{CommandError, Outcome};
use crate::schedule;

pub(super) fn validate(path: &Path) -> Result<Outcome, CommandError> {
    let text = schedule::read(path)?;
    let s = schedule::parse(path, &text)?;
    schedule::check_hook_programs(&s, &text)?;
    let warnings = schedule::warnings(&s);
    if !warnings.is_empty() {
        eprintln!("{}", schedule::render_warnings(&s.file, &warnings));
    }
    let noted = match warnings.len() {
        0 => String::new(),
        n => format!(", {}", crate::text::count(n, "warning", "warnings")),
    };
    println!(
        "ok: {}, {}{noted}",
        crate::text::count(s.workshops.len(), "workshop", "workshops"),
        crate::text::count(s.users().len(), "user", "users")
    );
    Ok(Outcome::Done)
}
