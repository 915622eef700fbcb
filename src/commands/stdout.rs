//! Writing to standard output and fitting text to its width.

use super::{CommandError, Outcome};

/// Write `bytes` to stdout and flush, reporting a closed or failing stdout as an error.
pub(super) fn write_stdout(bytes: &[u8]) -> Result<Outcome, CommandError> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)
        .and_then(|()| out.flush())
        .map_err(|source| CommandError::Output { source })?;
    Ok(Outcome::Done)
}

/// The width text output should fit: `COLUMNS`, else the terminal's (the same detection as
/// `timeline`), else `None` (stdout is a pipe or a file).
pub(super) fn text_width() -> Option<usize> {
    crate::view::timeline::known_width(std::env::var("COLUMNS").ok().as_deref(), terminal_width())
}

/// The terminal's width, when stdout is one.
pub(super) fn terminal_width() -> Option<usize> {
    terminal_size::terminal_size_of(std::io::stdout()).map(|(w, _)| usize::from(w.0))
}
