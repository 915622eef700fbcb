//! What `reconcile --output json` prints, and what `notify` reads on its standard input.

use serde::Serialize;

use crate::core::plan::Plan;
use crate::deliver::DeliveryResult;
use crate::verify::check::KeyCheck;

/// One reconcile run: the plan, what applying it did, the checks of new keys, the hand-overs
/// and whether the run succeeded. Generic over the report's items, which serialise as they are.
#[derive(Debug, Serialize)]
pub(super) struct ReconcileOutput<'a, R: Serialize> {
    pub deliveries: &'a [DeliveryResult],
    /// Only in the printed JSON (`null`: nobody was notified); absent from what `notify` reads.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notify: Option<Option<NotifyResult>>,
    pub ok: bool,
    pub plan: &'a Plan,
    pub results: &'a [R],
    pub verifications: &'a [KeyCheck],
}

impl<R: Serialize> ReconcileOutput<'_, R> {
    /// As a JSON value. The output has always had its keys sorted at every level (serde_json's
    /// map), unlike `plan --output json`; going through a value keeps it byte for byte.
    pub fn to_value(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("plain data serialises")
    }
}

/// Whether the `notify` program succeeded, and why not.
#[derive(Debug, Serialize)]
pub(super) struct NotifyResult {
    pub ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl NotifyResult {
    /// `None` when nobody was notified (nothing to say).
    pub fn from(notified: Option<&Result<(), String>>) -> Option<NotifyResult> {
        notified.map(|r| NotifyResult {
            ok: r.is_ok(),
            detail: r.as_ref().err().cloned(),
        })
    }
}
