//! `timeline`: the schedule's keys across the days, in the terminal or as an SVG file.

use std::io::IsTerminal;
use std::path::Path;

use chrono::{DateTime, Utc};

use super::{write_stdout, CommandError, EXIT_OK};
use crate::cli::TimelineOutput;
use crate::schedule;
use crate::timeline::{self, TimelineOptions};

pub(super) fn timeline(
    path: &Path,
    from: Option<&str>,
    days: u32,
    output: TimelineOutput,
    file: Option<&Path>,
    now: DateTime<Utc>,
) -> Result<u8, CommandError> {
    let s = schedule::load(path)?;
    let from = match from {
        Some(v) => timeline::parse_from(v).map_err(|message| CommandError::Usage { message })?,
        None => timeline::start_of_day(now),
    };
    let stdout = std::io::stdout();
    let terminal = terminal_width();
    let opts = TimelineOptions {
        from,
        days,
        now,
        width: timeline::width_from(std::env::var("COLUMNS").ok().as_deref(), terminal),
        color: timeline::use_color(
            stdout.is_terminal(),
            std::env::var_os("NO_COLOR").as_deref(),
        ),
    };
    let model = timeline::model(&s, &opts);
    match output {
        TimelineOutput::Text => write_stdout(timeline::render_text(&model, &opts).as_bytes()),
        TimelineOutput::Svg => {
            let file = file.ok_or_else(|| CommandError::Usage {
                message: "--output svg needs a FILE to write, e.g. `workshop-keys timeline --output svg december.svg`".into(),
            })?;
            std::fs::write(file, timeline::render_svg(&model, &opts)).map_err(|source| {
                CommandError::WriteFile {
                    path: file.to_path_buf(),
                    source,
                }
            })?;
            println!("Wrote {}.", file.display());
            Ok(EXIT_OK)
        }
    }
}

/// The terminal's width, when stdout is one.
fn terminal_width() -> Option<usize> {
    terminal_size::terminal_size_of(std::io::stdout()).map(|(w, _)| usize::from(w.0))
}
