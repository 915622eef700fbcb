//! `handout WORKSHOP --output csv|html --out FILE`: the workshop's live keys, read from its
//! credentials files, as a mail-merge CSV or a printable page of cards. No IAM call. The file
//! holds secrets: written atomically with mode 0600, never over an existing file without
//! `--force`; only its name and the number of cards are printed.

use std::path::Path;

use chrono::{DateTime, Utc};

use super::{CommandError, Outcome};
use crate::cli::HandoutOutput;
use crate::core::participants;
use crate::schedule::{Schedule, Workshop};
use crate::store::files::{participant_file, read_secret_at, CredentialsDir};
use crate::text::shell_quote;
use crate::view::handout::{self, Card, Handout};

pub(super) struct HandoutFlags<'a> {
    pub workshop: &'a str,
    pub output: HandoutOutput,
    pub out: &'a Path,
    pub force: bool,
}

pub(super) fn handout(
    s: &Schedule,
    flags: &HandoutFlags<'_>,
    now: DateTime<Utc>,
) -> Result<Outcome, CommandError> {
    let w = s
        .workshop(flags.workshop)
        .ok_or_else(|| CommandError::UnknownWorkshop {
            id: flags.workshop.to_string(),
        })?;
    if !flags.force && std::fs::symlink_metadata(flags.out).is_ok() {
        return Err(usage(format!(
            "{} already exists; refusing to overwrite it. Pass --force to replace it, or choose \
             another --out",
            flags.out.display()
        )));
    }
    let cards = live_cards(s, w, now)?;
    let h = Handout {
        workshop: w,
        region: &s.settings.region,
        timezone: s.settings.timezone,
        cards,
    };
    let text = match flags.output {
        HandoutOutput::Csv => handout::csv::render(&h),
        HandoutOutput::Html => handout::html::render(&h),
    };
    crate::atomic_file::write(
        flags.out,
        text.as_bytes(),
        crate::atomic_file::FileMode::Exactly(0o600),
    )
    .map_err(|e| CommandError::WriteFile {
        path: e.path,
        source: e.source,
    })?;
    println!(
        "wrote {} to {} (mode 0600)",
        crate::text::count(h.cards.len(), "card", "cards"),
        flags.out.display()
    );
    Ok(Outcome::Done)
}

/// The cards of every credentials file the workshop has while its keys still work (before
/// `end + grace`); an error saying why when there are none.
fn live_cards(s: &Schedule, w: &Workshop, now: DateTime<Utc>) -> Result<Vec<Card>, CommandError> {
    let dir = &s.settings.credentials_dir;
    if now >= w.revoke_at() {
        return Err(usage(format!(
            "workshop {} has no live keys: they stopped working at {} (end + grace)",
            w.id,
            crate::time::format_time(w.revoke_at())
        )));
    }
    let files = match w.participants {
        Some(n) => participants::labels(n)
            .into_iter()
            .map(|l| {
                let path = participant_file(dir, &w.id, &l);
                (Some(l), path)
            })
            .collect(),
        None => vec![(None, CredentialsDir::new(dir).path_for(&w.id)?)],
    };
    let mut cards = Vec::new();
    for (participant, path) in files {
        if let Some((access_key_id, secret)) = read_secret_at(&path)? {
            cards.push(Card {
                participant,
                access_key_id,
                secret,
            });
        }
    }
    if cards.is_empty() {
        let where_ = match w.participants {
            Some(_) => dir.join(&w.id),
            None => dir.to_path_buf(),
        };
        return Err(usage(format!(
            "workshop {} has no live keys: no credentials files in {}; the key window opens at \
             {} and reconcile writes them then",
            w.id,
            shell_quote(&where_),
            crate::time::format_time(w.key_from())
        )));
    }
    Ok(cards)
}

fn usage(message: String) -> CommandError {
    CommandError::Usage { message }
}
