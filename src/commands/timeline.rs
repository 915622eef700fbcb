//! `timeline`: the schedule's keys across the days, in the terminal or as an SVG file.

use std::io::IsTerminal;
use std::path::Path;

use chrono::{DateTime, Utc};

use super::{terminal_width, write_stdout, CommandError, Outcome};
use crate::cli::TimelineOutput;
use crate::schedule;
use crate::view::timeline::{self, TimelineOptions};

pub(super) fn timeline(
    path: &Path,
    from: Option<&str>,
    days: u32,
    output: Option<TimelineOutput>,
    file: Option<&Path>,
    now: DateTime<Utc>,
) -> Result<Outcome, CommandError> {
    let output = output_for(output, file)?;
    // A user needing a third key is what the picture is for: draw it, and say what validate says.
    let (s, clashes) = schedule::load_allowing_collisions(path)?;
    for clash in &clashes {
        eprintln!("{clash}");
    }
    let from = match from {
        Some(v) => timeline::parse_from(v).map_err(|message| CommandError::Usage { message })?,
        None => timeline::start_of_day(now),
    };
    let stdout = std::io::stdout();
    let opts = TimelineOptions {
        from,
        days,
        now,
        width: timeline::width_from(std::env::var("COLUMNS").ok().as_deref(), terminal_width()),
        color: timeline::use_color(
            stdout.is_terminal(),
            std::env::var_os("NO_COLOR").as_deref(),
        ),
    };
    let model = timeline::model(&s, &opts);
    match output {
        TimelineOutput::Text => write_stdout(timeline::render_text(&model, &opts).as_bytes()),
        TimelineOutput::Svg => {
            let svg = timeline::render_svg(&model, &opts);
            match file {
                Some(file) if file != Path::new("-") => {
                    std::fs::write(file, svg).map_err(|source| CommandError::WriteFile {
                        path: file.to_path_buf(),
                        source,
                    })?;
                    println!("Wrote {}.", file.display());
                    Ok(Outcome::Done)
                }
                _ => write_stdout(svg.as_bytes()),
            }
        }
    }
}

/// The format: as asked, else SVG for a `.svg` FILE and text without FILE. A FILE that would
/// not be written (text goes to stdout) is refused rather than ignored.
fn output_for(
    output: Option<TimelineOutput>,
    file: Option<&Path>,
) -> Result<TimelineOutput, CommandError> {
    let svg_name =
        file.is_some_and(|f| f.extension().is_some_and(|e| e.eq_ignore_ascii_case("svg")));
    match (output, file) {
        (Some(TimelineOutput::Svg), None) => Err(CommandError::Usage {
            message: "--output svg needs a FILE to write (`-` for standard output), e.g. `workshop-keys timeline --output svg december.svg`".into(),
        }),
        (Some(o), None) => Ok(o),
        (Some(TimelineOutput::Svg), Some(_)) => Ok(TimelineOutput::Svg),
        (None, Some(_)) if svg_name => Ok(TimelineOutput::Svg),
        (_, Some(f)) => Err(CommandError::Usage {
            message: format!(
                "timeline draws text on standard output and writes only SVG to a file, so {} would not be written; name it *.svg or add --output svg (for text, redirect: `workshop-keys timeline > {}`)",
                f.display(),
                f.display()
            ),
        }),
        (None, None) => Ok(TimelineOutput::Text),
    }
}
