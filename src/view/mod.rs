//! What the operator reads: plan and status text, the timeline, health checks and metrics.

pub mod handout;
pub mod health;
pub mod list;
pub mod metrics;
pub mod participants;
pub mod render;
pub mod status;
pub mod timeline;
