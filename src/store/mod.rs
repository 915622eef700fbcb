//! Where secrets go: credentials files next to the schedule (today's only store).

pub mod files;
pub mod participant_files;
