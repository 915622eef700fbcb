//! A progress bar on stderr for long runs (many users to read, many actions to apply). Shown
//! only when stderr is a terminal, so cron logs, pipes and JSON output never see it.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Users read before a bar is worth showing.
pub const USERS_THRESHOLD: usize = 50;
/// Actions applied before a bar is worth showing.
pub const ACTIONS_THRESHOLD: usize = 20;

/// Off unless a command with text output turns it on: library callers and JSON runs never get
/// a bar.
static ENABLED: AtomicBool = AtomicBool::new(false);

/// Allow bars for the rest of this process (a command's text output), or not.
pub fn enable(on: bool) {
    ENABLED.store(on, Ordering::Relaxed);
}

/// A bar on stderr; clones tick the same bar.
#[derive(Debug, Clone)]
pub struct Progress(ProgressBar);

impl Progress {
    /// A bar for `total` steps when bars are enabled, stderr is a terminal and `total` exceeds
    /// `threshold`; `None` otherwise.
    pub fn start(what: &'static str, total: usize, threshold: usize) -> Option<Self> {
        if !ENABLED.load(Ordering::Relaxed)
            || total <= threshold
            || !std::io::stderr().is_terminal()
        {
            return None;
        }
        let bar = ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
        let style = ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} ({elapsed})")
            .map(|s| s.progress_chars("=> "))
            .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        bar.set_message(what);
        Some(Progress(bar))
    }

    pub fn inc(&self, n: u64) {
        self.0.inc(n);
    }

    /// Removes the bar, leaving stderr as it was.
    pub fn finish(&self) {
        self.0.finish_and_clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_bar_when_small_or_unwanted() {
        assert!(
            Progress::start("x", 1000, USERS_THRESHOLD).is_none(),
            "not enabled"
        );
        enable(true);
        assert!(Progress::start("x", 10, USERS_THRESHOLD).is_none());
        enable(false);
    }
}
