//! The decision: pure, no I/O and no clock. Schedule -> `desired`; IAM and records -> `observed`;
//! `planner::plan(desired, observed, now)` -> `plan::Plan`.

pub mod desired;
pub mod limits;
pub mod observed;
pub mod occupancy;
pub mod participants;
pub mod plan;
pub mod planner;
pub mod policy;
pub mod tags;
