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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::view::render;

    /// Declared out of alphabetical order: the output sorts it, as it always has.
    #[derive(Serialize)]
    struct Item {
        zeta: u8,
        alpha: &'static str,
    }

    /// The same bytes as the `json!` object the output used to be built from.
    #[test]
    fn matches_the_former_json_object_byte_for_byte() {
        let plan: Plan = serde_json::from_value(serde_json::json!({
            "at": "2026-12-02T09:00:00Z", "actions": [], "blocked": [], "warnings": ["w"],
        }))
        .unwrap();
        let results = [Item {
            zeta: 1,
            alpha: "a",
        }];
        let mut out = ReconcileOutput {
            deliveries: &[],
            notify: None,
            ok: false,
            plan: &plan,
            results: &results,
            verifications: &[],
        };
        let mut former = serde_json::json!({
            "plan": plan,
            "results": results,
            "verifications": Vec::<KeyCheck>::new(),
            "deliveries": Vec::<DeliveryResult>::new(),
            "ok": false,
        });
        // What `notify` reads: no "notify" field.
        assert_eq!(
            serde_json::to_vec(&out.to_value()).unwrap(),
            serde_json::to_vec(&former).unwrap()
        );
        let cases = [
            (None, serde_json::Value::Null),
            (Some(Ok(())), serde_json::json!({ "ok": true })),
            (
                Some(Err("exit status: 3".to_string())),
                serde_json::json!({ "ok": false, "detail": "exit status: 3" }),
            ),
        ];
        for (notified, value) in cases {
            out.notify = Some(NotifyResult::from(notified.as_ref()));
            former["notify"] = value;
            assert_eq!(render::json(&out.to_value()), render::json(&former));
        }
    }
}
