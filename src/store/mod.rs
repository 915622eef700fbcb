//! Where secrets go: credentials files next to the schedule (today's only store).

pub mod files;
