//! workshop-keys: short-lived AWS access keys for workshops, reconciled from a schedule file.
//!
//! The pipeline, one module per step:
//! `schedule` (workshops.toml -> Schedule) -> `desired` (Schedule -> Desired) ->
//! `iam::observe` (IAM + credentials files -> Observed) -> `planner::plan(desired, observed, now)`
//! -> `plan::Plan` -> `render` (text | JSON) and `apply` (Plan -> Report, through `iam::Iam`).
//! Around it: `verify` (a new key calls Bedrock), `hooks` (deliver, notify), `saved_plan`,
//! `edit` (schedule edits), `timeline`, `status`, `health` (`status --check`), `metrics`
//! (`reconcile --metrics-file`). Only `iam::aws`, `verify`, `hooks`, `secrets`,
//! `edit` and `commands` touch the outside world; the planner reads no clock.

pub mod apply;
pub mod bedrock_api_key;
pub mod cli;
pub mod commands;
pub mod desired;
pub mod edit;
pub mod health;
pub mod hooks;
pub mod iam;
pub mod limits;
pub mod metrics;
pub mod models;
pub mod observed;
pub mod plan;
pub mod planner;
pub mod policy;
pub mod render;
pub mod saved_plan;
pub mod schedule;
pub mod secrets;
pub mod status;
pub mod tags;
pub mod timeline;
pub mod verify;
