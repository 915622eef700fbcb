//! Handouts: the live keys of one workshop as a CSV for a mail merge or a printable HTML page
//! of cards. Pure: the cards come in, the document's text goes out. Both texts hold secrets:
//! they are `Zeroizing`, reserved up front so no unwiped copy is left behind by growing.

pub mod csv;
pub mod html;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::schedule::Workshop;
use crate::store::files::Secret;

/// One participant's key (or the workshop's shared key).
pub struct Card {
    /// `p07`; `None` for a shared key.
    pub participant: Option<String>,
    pub access_key_id: String,
    pub secret: Secret,
}

/// What every card of a workshop shares.
pub struct Handout<'a> {
    pub workshop: &'a Workshop,
    pub region: &'a str,
    /// Times are shown here when set, else in UTC.
    pub timezone: Option<Tz>,
    pub cards: Vec<Card>,
}

impl Handout<'_> {
    /// When the keys stop working: `end + grace`.
    pub fn expires(&self) -> DateTime<Utc> {
        self.workshop.revoke_at()
    }
}
