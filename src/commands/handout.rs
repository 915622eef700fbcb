//! `handout WORKSHOP --output csv|html --out FILE`: the workshop's live keys, read from the
//! configured store (its credentials files, or its secrets in Secrets Manager), as a
//! mail-merge CSV or a printable page of cards. No IAM call. The file holds secrets: written
//! atomically with mode 0600, never over an existing file without `--force`; only its name and
//! the number of cards are printed.

use std::path::Path;

use chrono::{DateTime, Utc};
use futures::StreamExt;

use super::{CommandError, Outcome};
use crate::cli::HandoutOutput;
use crate::core::participants;
use crate::schedule::{Schedule, Workshop};
use crate::store::{CredentialStore, SecretsError};
use crate::view::handout::{self, Card, Handout};

pub(super) struct HandoutFlags<'a> {
    pub workshop: &'a str,
    pub output: HandoutOutput,
    pub out: &'a Path,
    pub force: bool,
}

/// Bundles read from the store at once.
const READS_IN_FLIGHT: usize = 8;

pub(super) async fn handout(
    s: &Schedule,
    store: &dyn CredentialStore,
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
    let cards = live_cards(w, store, now).await?;
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

/// The cards of every bundle the workshop has in the configured store (credentials files, or
/// Secrets Manager) while its keys still work (before `end + grace`); an error saying why
/// when there are none.
async fn live_cards(
    w: &Workshop,
    store: &dyn CredentialStore,
    now: DateTime<Utc>,
) -> Result<Vec<Card>, CommandError> {
    if now >= w.revoke_at() {
        return Err(usage(format!(
            "workshop {} has no live keys: they stopped working at {} (end + grace)",
            w.id,
            crate::time::format_time(w.revoke_at())
        )));
    }
    let labels: Vec<Option<String>> = match w.participants {
        Some(n) => participants::labels(n).into_iter().map(Some).collect(),
        None => vec![None],
    };
    // In order, a few at a time: a remote store answers each read in a round trip.
    let read = futures::stream::iter(labels.iter().map(|label| async move {
        let claim = participants::claim(&w.id, label.as_deref());
        let found = store.read_secret(&claim).await?;
        Ok::<_, SecretsError>(found.map(|(access_key_id, secret)| Card {
            participant: label.clone(),
            access_key_id,
            secret,
        }))
    }))
    .buffered(READS_IN_FLIGHT)
    .collect::<Vec<_>>()
    .await;
    let mut cards = Vec::new();
    for card in read {
        cards.extend(card?);
    }
    if cards.is_empty() {
        let first = participants::claim(&w.id, labels[0].as_deref());
        let missing = match w.participants {
            Some(_) => format!(
                "{} does not exist, nor any other participant's",
                store.describe(&first)
            ),
            None => format!("{} does not exist", store.describe(&first)),
        };
        return Err(usage(format!(
            "workshop {} has no live keys: {missing}; the key window opens at {} and reconcile \
             writes them then",
            w.id,
            crate::time::format_time(w.key_from())
        )));
    }
    Ok(cards)
}

fn usage(message: String) -> CommandError {
    CommandError::Usage { message }
}
