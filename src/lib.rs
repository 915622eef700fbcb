//! workshop-keys: short-lived AWS access keys for workshops, reconciled from a schedule file.
//!
//! Modules in pipeline order: the schedule is read, turned into desired state, IAM and the local
//! records are observed, the pure planner decides, the executor applies, and views print.
//! Only `core` is pure (no I/O, no clock); everything else sits at its edges.

pub mod apply;
pub mod bedrock_api_key;
pub mod cli;
pub mod commands;
pub mod core;
pub mod deliver;
pub mod iam;
pub mod models;
pub mod observe;
pub mod saved_plan;
pub mod schedule;
pub mod state;
pub mod store;
pub mod time;
pub mod verify;
pub mod view;
