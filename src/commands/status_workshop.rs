//! `status --workshop ID`: that workshop's participants (or its shared key), their keys, last
//! use and credentials files.

use std::collections::BTreeSet;

use super::{observe, CommandError, Outcome};
use crate::cli::{AwsArgs, Output};
use crate::core::participants;
use crate::schedule::Schedule;
use crate::store::files::{participant_file, CredentialsDir};
use crate::view::{participants as view, render};

pub(super) async fn status_workshop(
    s: &Schedule,
    id: &str,
    aws: &AwsArgs,
    output: Output,
) -> Result<Outcome, CommandError> {
    let w = s
        .workshop(id)
        .ok_or_else(|| CommandError::UnknownWorkshop { id: id.to_string() })?;
    let (observed, _) = observe(s, aws, true).await?;
    let v = view::view(w, &observed, &files_present(s, w)?);
    match output {
        Output::Text => print!("{}", view::text(&v)),
        Output::Json => print!("{}", render::json(&v)),
    }
    Ok(Outcome::Done)
}

/// The labels (for a shared key: the workshop id) whose credentials file exists.
fn files_present(
    s: &Schedule,
    w: &crate::schedule::Workshop,
) -> Result<BTreeSet<String>, CommandError> {
    let dir = &s.settings.credentials_dir;
    let present = |path: std::path::PathBuf| path.is_file();
    Ok(match w.participants {
        Some(n) => participants::labels(n)
            .into_iter()
            .filter(|l| present(participant_file(dir, &w.id, l)))
            .collect(),
        None => {
            let path = CredentialsDir::new(dir).path_for(&w.id)?;
            present(path).then(|| w.id.clone()).into_iter().collect()
        }
    })
}
