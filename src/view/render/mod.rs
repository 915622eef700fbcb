//! Renderings for people (text) and machines (JSON) of plans, reconcile reports and status.
//! Nothing here sees a secret: plans, reports and status views hold none.
//!
//! `plan` holds plans and their summary, `report` what reconcile, verify and deliver did,
//! `status` the status views, `fit` the tables and line folding they share.

mod fit;
mod plan;
mod report;
mod status;

pub use fit::{clip, fit_lines, fit_table, table};
pub use plan::{plan_text, summary_line, NO_CHANGES};
pub use report::{checks_text, deliveries_text, report_text};
pub use status::{status_text, status_text_fitted};

pub fn json<T: serde::Serialize>(value: &T) -> String {
    let mut s = serde_json::to_string_pretty(value).expect("plain data serialises");
    s.push('\n');
    s
}
