//! `completions` and `man`: the command-line contract as a shell completion script or a man page.

use clap::CommandFactory;

use super::{write_stdout, CommandError, Outcome};
use crate::cli::Cli;

pub(super) fn completions(shell: clap_complete::Shell) -> Result<Outcome, CommandError> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "workshop-keys", &mut script);
    write_stdout(&script)
}

pub(super) fn man_page() -> Result<Outcome, CommandError> {
    let mut page = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut page)
        .map_err(|source| CommandError::Output { source })?;
    write_stdout(&page)
}
